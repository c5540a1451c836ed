//! Stories in `newsflow run` through the story log: the sample feed's articles, each with
//! two copies (other boilerplate; retitled, and trimmed when long enough), spread over
//! three partitions. One replica, three replicas (at-least-once and exactly-once), and
//! replicas SIGKILLed and restarted, each on their own topics, give every article the same
//! story, founded by the smallest id of the copies published at the same time; a replica
//! started after a kill finds in the log the stories decided before it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rdkafka::message::Message;
use serde_json::Value;

use crate::support::{
    articles, free_port, pipeline_command, reader, terminate, wait_exit, wait_ready, Broker,
    Guarantee, Keyed, Running, SpawnRunning, Topics,
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

/// Long enough for all of a story's copies to be enriched within it, on a debug build and
/// a machine busy with other tests: the identity the test asks for holds within it.
const SETTLE_MS: &str = "5000";

fn start(broker: &Broker, topics: &Topics, story_topic: &str, port: u16) -> Running {
    start_as(broker, topics, story_topic, port, Guarantee::AtLeastOnce)
}

fn start_as(
    broker: &Broker,
    topics: &Topics,
    story_topic: &str,
    port: u16,
    guarantee: Guarantee,
) -> Running {
    let mut command = pipeline_command(broker.address(), topics, port);
    command.args(["--story-topic", story_topic, "--story-settle-ms", SETTLE_MS]);
    guarantee
        .apply(&mut command, &format!("{story_topic}-{port}"))
        .spawn_running("newsflow run")
}

/// The stories three replicas give `input`, each holding a partition before it arrives
/// (so copies of a story are enriched on different replicas), on topics of their own.
fn by_three_replicas(
    broker: &Broker,
    name: &str,
    guarantee: Guarantee,
    input: &[Keyed],
    ids: &BTreeSet<String>,
) -> HashMap<String, Vec<Value>> {
    let timeout = Duration::from_secs(90);
    let topics = Topics::create(broker, name, PARTITIONS as u32);
    let log = format!("{name}.log");
    let ports = [free_port(), free_port(), free_port()];
    let mut replicas: Vec<Running> = ports
        .iter()
        .map(|&port| start_as(broker, &topics, &log, port, guarantee))
        .collect();
    for port in ports {
        wait_ready(port, timeout);
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(broker.produce(&topics.input, input));
    let stories = stories_of(broker, &topics, guarantee.isolation(), ids, timeout);
    for replica in &mut replicas {
        terminate(replica);
        assert_eq!(wait_exit(replica, timeout), Some(0));
    }
    stories
}

/// Every story the output topic gives each article id (all of its records), until each of
/// `ids` has one or `timeout` passes.
fn stories_of(
    broker: &Broker,
    topics: &Topics,
    isolation: &str,
    ids: &BTreeSet<String>,
    timeout: Duration,
) -> HashMap<String, Vec<Value>> {
    let consumer = reader(broker.address(), &topics.output, PARTITIONS, isolation);
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
fn one_replica_three_under_either_guarantee_and_a_restart_tell_the_same_stories() {
    let broker = Broker::shared();
    let input = stories_input();
    let ids: BTreeSet<String> = input.iter().filter_map(|(k, _)| k.clone()).collect();
    let timeout = Duration::from_secs(90);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let uncommitted = Guarantee::AtLeastOnce.isolation();

    // One replica.
    let one = Topics::create(broker, "stories-one", PARTITIONS as u32);
    runtime.block_on(broker.produce(&one.input, &input));
    let port = free_port();
    let mut replica = start(broker, &one, "stories-one.log", port);
    let by_one = stories_of(broker, &one, uncommitted, &ids, timeout);
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

    // Three replicas, under either guarantee: the same stories to the letter. Of copies
    // enriched within the settling time, on one replica or three, the earliest published
    // founds the story, the smallest id on a tie.
    for (name, guarantee) in [
        ("stories-three", Guarantee::AtLeastOnce),
        ("stories-three-eos", Guarantee::ExactlyOnce),
    ] {
        let by_three = by_three_replicas(broker, name, guarantee, &input, &ids);
        assert_eq!(grouping(&by_three), expected, "{name}");
        for (id, told) in &by_one {
            assert_eq!(told[0], by_three[id][0], "{name}: {id}");
            let founder = told[0]["duplicate_of"].as_str().unwrap_or(id);
            assert!(founder.ends_with("-site"), "{id}: {told:?}");
        }
    }

    // A replica enriches the copies that found the stories and commits. The next appends
    // the other copies to the log and is SIGKILLed while they settle, so the replica
    // started last enriches them again, and finds their stories' first articles only in
    // the log it reads back: every article's story is the one-replica run's.
    let killed = Topics::create(broker, "stories-kill", PARTITIONS as u32);
    let (founders, others): (Vec<Keyed>, Vec<Keyed>) = input
        .iter()
        .cloned()
        .partition(|(key, _)| key.as_deref().is_some_and(|k| k.ends_with("-site")));
    let founder_ids: BTreeSet<String> = founders.iter().filter_map(|(k, _)| k.clone()).collect();
    let port = free_port();
    runtime.block_on(broker.produce(&killed.input, &founders));
    let mut replica = start(broker, &killed, "stories-kill.log", port);
    stories_of(broker, &killed, uncommitted, &founder_ids, timeout);
    terminate(&replica);
    assert_eq!(wait_exit(&mut replica, timeout), Some(0));
    runtime.block_on(broker.produce(&killed.input, &others));
    let mut replica = start(broker, &killed, "stories-kill.log", port);
    let log = reader(broker.address(), "stories-kill.log", 1, "read_uncommitted");
    let (mut entries, started) = (0, Instant::now());
    while entries < ids.len() {
        assert!(started.elapsed() < timeout, "{entries} entries on the log");
        entries += usize::from(matches!(log.poll(Duration::from_millis(100)), Some(Ok(_))));
    }
    replica.kill().unwrap();
    replica.wait().unwrap();
    let mut replica = start(broker, &killed, "stories-kill.log", port);
    let after_kill = stories_of(broker, &killed, uncommitted, &ids, timeout);
    terminate(&replica);
    assert_eq!(wait_exit(&mut replica, timeout), Some(0));
    assert_eq!(after_kill.len(), ids.len());
    for (id, told) in &after_kill {
        assert!(
            told.iter().all(|story| story == &by_one[id][0]),
            "{id}: {told:?}"
        );
        assert_eq!(told.len(), 1, "{id}: {told:?}");
    }
}
