//! The README's routing examples, each run by `newsflow run` through Apache Kafka over the
//! sample feed (its wire stories given the source "Reuters"): every route topic gets
//! exactly the articles its rules select (as `newsflow::route` computes them from the
//! articles `newsflow process` enriches), every route takes at least one, and a templated
//! topic that does not exist is left out without holding anything back. A malformed rule
//! fails start-up with exit code 2 and names the route.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use newsflow::record::EnrichedArticle;
use newsflow::route::{RouteSpec, Router};
use newsflow::stage::Reference;
use serde_json::Value;

use crate::support::{
    free_port, newsflow, pipeline_command, repo_path, terminate, wait_exit, Broker, Keyed,
    SpawnRunning, Topics,
};

/// The TOML blocks of the README that define routes.
fn readme_examples() -> Vec<String> {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    readme
        .split("```toml\n")
        .skip(1)
        .filter_map(|block| block.split_once("```").map(|(toml, _)| toml.to_owned()))
        .filter(|toml| toml.contains("[[routes]]"))
        .collect()
}

/// The sample feed's articles, the wire stories as if from Reuters.
fn articles() -> Vec<Keyed> {
    std::fs::read_to_string(repo_path("data/sample-feed.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|article| article["id"].is_string() && article["body"].is_string())
        .map(|mut article| {
            let id = article["id"].as_str().unwrap().to_owned();
            if id.starts_with("wire-") {
                article["source"] = "Reuters".into();
            }
            (Some(id), serde_json::to_vec(&article).unwrap())
        })
        .collect()
}

/// The articles as `newsflow process` enriches them.
fn enriched(articles: &[Keyed]) -> Vec<EnrichedArticle> {
    let mut process = newsflow()
        .args(["process", "--dlq", "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = process.stdin.take().unwrap();
    for (_, value) in articles {
        input.write_all(value).unwrap();
        input.write_all(b"\n").unwrap();
    }
    drop(input);
    let output = process.wait_with_output().unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// For each route topic, the ids of the articles that go there.
fn expected(
    routes: &str,
    input_topic: &str,
    articles: &[EnrichedArticle],
) -> BTreeMap<String, BTreeSet<String>> {
    #[derive(serde::Deserialize)]
    struct Routes {
        routes: Vec<RouteSpec>,
    }
    let routes: Routes = toml::from_str(routes).unwrap();
    let reference = Reference::load();
    let router = Router::new(
        &routes.routes,
        &reference.gazetteer,
        &reference.topics,
        input_topic,
    )
    .unwrap();
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut routes_taken = BTreeSet::new();
    for article in articles {
        for destination in router.destinations(article, &reference.gazetteer) {
            routes_taken.insert(destination.route.to_owned());
            expected
                .entry(destination.topic)
                .or_default()
                .insert(article.id.clone());
        }
    }
    for route in router.routes() {
        assert!(
            routes_taken.contains(&route.name),
            "route {} takes no sample article",
            route.name
        );
    }
    expected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_routing_examples_route_through_kafka() {
    let broker = Broker::shared();
    let articles = articles();
    let enriched = enriched(&articles);
    assert_eq!(enriched.len(), articles.len());
    let examples = readme_examples();
    assert_eq!(examples.len(), 3, "the README's three routing examples");
    for (n, example) in examples.iter().enumerate() {
        let name = format!("routing-{n}");
        let topics = Topics::create(broker, &name, 1);
        // Topics of their own, so that the examples keep apart on the shared broker.
        let example = example.replace("\"news.", &format!("\"{name}.news."));
        let expected = expected(&example, &topics.input, &enriched);
        // A templated topic nobody created is left out; the others exist.
        let left_out = expected
            .keys()
            .find(|topic| topic.contains(".region."))
            .cloned();
        for topic in expected
            .keys()
            .filter(|topic| Some(*topic) != left_out.as_ref())
        {
            broker.create_topic(topic, 1);
        }
        let mut config = tempfile::NamedTempFile::new().unwrap();
        config.write_all(example.as_bytes()).unwrap();
        let metrics_port = free_port();
        let mut pipeline = pipeline_command(broker.address(), &topics, metrics_port)
            .arg("--config")
            .arg(config.path())
            .spawn_running("newsflow run");
        broker.produce(&topics.input, &articles).await;
        let timeout = Duration::from_secs(60);
        let out = broker.consume(&topics.output, 1, articles.len(), timeout);
        assert_eq!(
            out.len(),
            articles.len(),
            "example {n}: every article enriched"
        );
        for (topic, ids) in &expected {
            if Some(topic) == left_out.as_ref() {
                continue;
            }
            let routed = broker.consume(topic, 1, ids.len() + 1, Duration::from_secs(3));
            let keys: Vec<String> = routed
                .iter()
                .map(|r| String::from_utf8(r.key.clone().unwrap()).unwrap())
                .collect();
            assert_eq!(keys.len(), ids.len(), "example {n}, {topic}: {keys:?}");
            assert_eq!(
                keys.into_iter().collect::<BTreeSet<_>>(),
                *ids,
                "example {n}, {topic}"
            );
        }
        terminate(&pipeline);
        assert_eq!(wait_exit(&mut pipeline, timeout), Some(0), "example {n}");
    }
}

#[test]
fn a_malformed_route_fails_start_up_naming_it() {
    let mut config = tempfile::NamedTempFile::new().unwrap();
    config
        .write_all(b"[[routes]]\nname = \"asia\"\ntopic = \"news.asia\"\nwhen.region = [\"999\"]\n")
        .unwrap();
    let output = newsflow()
        .args(["run", "--brokers", "127.0.0.1:9", "--metrics-addr"])
        .arg(format!("127.0.0.1:{}", free_port()))
        .arg("--config")
        .arg(config.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(
        logs.contains("route asia (routes[0]): when.region"),
        "{logs}"
    );
}
