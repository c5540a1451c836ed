//! Stories in `newsflow run` through the story log: the sample feed's articles, each with
//! two copies (other boilerplate; retitled, and trimmed when long enough), spread over three partitions.
//! One replica, three replicas, and one replica SIGKILLed half-way and restarted, each on
//! its own topics, tell the same stories apart; an article enriched again after the kill
//! keeps its story.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rdkafka::message::Message;
use serde_json::Value;

use crate::support::{
    articles, free_port, pipeline_command, reader, terminate, wait_exit, wait_ready, Broker, Keyed,
    Running, SpawnRunning, Topics,
};

const PARTITIONS: i32 = 3;

/// Each sample article as published an hour ago, and its two copies.
fn stories_input() -> Vec<Keyed> {
    let published = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let mut records = Vec::new();
    for (key, value) in articles(29) {
        let original: Value = serde_json::from_slice(&value).unwrap();
        let n = key.unwrap();
        let body = original["body"].as_str().unwrap().to_owned();
        // Short texts keep their last paragraph: too little would be left to tell them by.
        let mut trimmed: Vec<&str> = body.split("\n\n").collect();
        if body.split_whitespace().count() > 70 && trimmed.len() > 3 {
            trimmed.pop();
        }
        let variants = [
            (format!("{n}-wire"), body.clone(), String::new()),
            (
                format!("{n}-site"),
                format!(
                    "{body}\n\nCopyright 2024. All rights reserved. Sign up for our newsletter."
                ),
                String::new(),
            ),
            (
                format!("{n}-trim"),
                trimmed.join("\n\n"),
                "Updated: ".into(),
            ),
        ];
        for (id, body, title_prefix) in variants {
            let mut copy = original.clone();
            copy["id"] = id.clone().into();
            copy["body"] = body.into();
            copy["published_at"] = published.clone().into();
            copy["content_type"] = "text/plain".into();
            if let Some(title) = original["title"].as_str() {
                copy["title"] = format!("{title_prefix}{title}").into();
            }
            records.push((Some(id), serde_json::to_vec(&copy).unwrap()));
        }
    }
    records
}

fn start(broker: &Broker, topics: &Topics, story_topic: &str, port: u16) -> Running {
    pipeline_command(broker.address(), topics, port)
        .args(["--story-topic", story_topic])
        .spawn_running("newsflow run")
}

/// Every story the output topic gives each article id (all of its records), until each of
/// `ids` has one or `timeout` passes.
fn stories_of(
    broker: &Broker,
    topics: &Topics,
    ids: &BTreeSet<String>,
    timeout: Duration,
) -> HashMap<String, Vec<Value>> {
    let consumer = reader(
        broker.address(),
        &topics.output,
        PARTITIONS,
        "read_uncommitted",
    );
    let mut stories: HashMap<String, Vec<Value>> = HashMap::new();
    let started = Instant::now();
    while stories.len() < ids.len() && started.elapsed() < timeout {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            keep_story(&mut stories, message.payload().unwrap());
        }
    }
    // Records still on their way (a redelivery) are read too.
    while let Some(Ok(message)) = consumer.poll(Duration::from_secs(1)) {
        keep_story(&mut stories, message.payload().unwrap());
    }
    stories
}

/// Adds an enriched record's story to those of its article.
fn keep_story(stories: &mut HashMap<String, Vec<Value>>, enriched: &[u8]) {
    let article: Value = serde_json::from_slice(enriched).unwrap();
    let id = article["id"].as_str().unwrap().to_owned();
    stories
        .entry(id)
        .or_default()
        .push(article["story"].clone());
}

/// The articles grouped by story: what must not depend on replicas or restarts.
fn grouping(stories: &HashMap<String, Vec<Value>>) -> BTreeSet<BTreeSet<String>> {
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (id, told) in stories {
        let cluster = told[0]["cluster_id"].as_str().expect("a story").to_owned();
        groups.entry(cluster).or_default().insert(id.clone());
    }
    groups.into_values().collect()
}

#[test]
fn one_replica_three_replicas_and_a_restart_tell_the_same_stories() {
    let broker = Broker::shared();
    let input = stories_input();
    let ids: BTreeSet<String> = input.iter().filter_map(|(k, _)| k.clone()).collect();
    let timeout = Duration::from_secs(90);
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // One replica.
    let one = Topics::create(broker, "stories-one", PARTITIONS as u32);
    runtime.block_on(broker.produce(&one.input, &input));
    let port = free_port();
    let mut replica = start(broker, &one, "stories-one.log", port);
    let by_one = stories_of(broker, &one, &ids, timeout);
    terminate(&replica);
    assert_eq!(wait_exit(&mut replica, timeout), Some(0));
    assert_eq!(by_one.len(), ids.len());
    let expected = grouping(&by_one);
    // Each sample article and its two copies are one story; the others are not one.
    assert_eq!(expected.len(), 29, "{expected:?}");
    for group in &expected {
        let prefixes: BTreeSet<&str> = group
            .iter()
            .map(|id| &id[..id.rfind('-').unwrap()])
            .collect();
        assert_eq!((group.len(), prefixes.len()), (3, 1), "{group:?}");
    }

    // Three replicas, each holding a partition before the input arrives: copies of a story
    // are enriched on different replicas.
    let three = Topics::create(broker, "stories-three", PARTITIONS as u32);
    let ports = [free_port(), free_port(), free_port()];
    let mut replicas: Vec<Running> = ports
        .iter()
        .map(|&port| start(broker, &three, "stories-three.log", port))
        .collect();
    for port in ports {
        wait_ready(port, timeout);
    }
    runtime.block_on(broker.produce(&three.input, &input));
    let by_three = stories_of(broker, &three, &ids, timeout);
    for replica in &mut replicas {
        terminate(replica);
        assert_eq!(wait_exit(replica, timeout), Some(0));
    }
    assert_eq!(grouping(&by_three), expected);

    // One replica enriches the originals and commits; the copies come after, and it is
    // SIGKILLed among them, so that some are enriched again by the replica started next,
    // which finds the originals' stories in the log.
    let killed = Topics::create(broker, "stories-kill", PARTITIONS as u32);
    let (originals, copies): (Vec<Keyed>, Vec<Keyed>) = input
        .iter()
        .cloned()
        .partition(|(key, _)| key.as_deref().is_some_and(|k| k.ends_with("-wire")));
    let original_ids: BTreeSet<String> = originals.iter().filter_map(|(k, _)| k.clone()).collect();
    let port = free_port();
    let mut replica = start(broker, &killed, "stories-kill.log", port);
    wait_ready(port, timeout);
    runtime.block_on(broker.produce(&killed.input, &originals));
    stories_of(broker, &killed, &original_ids, timeout);
    // Past the commit interval (1 s), so the originals are not enriched again.
    std::thread::sleep(Duration::from_secs(3));
    runtime.block_on(broker.produce(&killed.input, &copies));
    let some: BTreeSet<String> = ids.iter().take(original_ids.len() + 10).cloned().collect();
    stories_of(broker, &killed, &some, timeout);
    replica.kill().unwrap();
    replica.wait().unwrap();
    let mut replica = start(broker, &killed, "stories-kill.log", port);
    let after_kill = stories_of(broker, &killed, &ids, timeout);
    terminate(&replica);
    assert_eq!(wait_exit(&mut replica, timeout), Some(0));
    assert_eq!(grouping(&after_kill), expected);
    for (id, told) in &after_kill {
        assert!(told.iter().all(|story| story == &told[0]), "{id}: {told:?}");
    }
}
