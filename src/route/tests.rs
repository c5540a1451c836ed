use std::sync::Arc;

use super::*;
use crate::record::RawArticle;
use crate::stage::reference::{for_tests, Reference};
use crate::stage::Pipeline;

fn reference() -> &'static Reference {
    for_tests()
}

/// An article about a protest in Paris, enriched by the standard pipeline.
fn paris_protest() -> EnrichedArticle {
    let pipeline = Pipeline::standard(Arc::clone(for_tests()));
    let mut raw = RawArticle::text(
        "paris-1",
        "Thousands of workers protested in Paris on Tuesday against the French government's \
         pension reform. Unions said more than 200,000 people marched through the capital, \
         and the police fired tear gas at demonstrators near the Place de la Nation.",
    );
    raw.title = Some("Workers protest pension reform in Paris".into());
    raw.source = Some("Example Wire".into());
    raw.language = Some("en".into());
    pipeline.run(raw).unwrap()
}

fn router(toml_routes: &str) -> Result<Router, ConfigError> {
    #[derive(Deserialize)]
    struct Routes {
        routes: Vec<RouteSpec>,
    }
    let routes: Routes = toml::from_str(toml_routes).expect("valid TOML");
    Router::new(
        &routes.routes,
        &reference().gazetteer,
        &reference().topics,
        "news.raw",
    )
}

fn topics_of(router: &Router, article: &EnrichedArticle) -> Vec<String> {
    router
        .destinations(article, &reference().gazetteer)
        .into_iter()
        .map(|d| d.topic)
        .collect()
}

#[test]
fn regional_desks_get_the_articles_of_their_regions() {
    let article = paris_protest();
    assert_eq!(article.regions.countries[0].code, "FR");
    let router = router(
        r#"
        [[routes]]
        name = "europe"
        topic = "news.desk.europe"
        when.region = ["150"]
        [[routes]]
        topic = "news.desk.asia"
        when.region = ["142"]
        [[routes]]
        topic = "news.region.{subregion}"
        [[routes]]
        topic = "news.country.{country}"
        when.country = ["fr", "DE"]
        "#,
    )
    .unwrap();
    assert_eq!(
        topics_of(&router, &article),
        [
            "news.desk.europe",
            "news.region.western-europe",
            "news.country.fr"
        ]
    );
}

#[test]
fn topic_and_event_desks_apply_their_thresholds() {
    let article = paris_protest();
    let protest = article
        .events
        .iter()
        .find(|e| e.plover == "PROTEST")
        .expect("a PROTEST event");
    let top = &article.topics[0];
    let routes = format!(
        r#"
        [[routes]]
        topic = "news.events.{{event}}"
        when.event = ["protest"]
        when.min_event_confidence = {confidence}
        [[routes]]
        topic = "news.events.sure"
        when.min_event_confidence = {above}
        [[routes]]
        topic = "news.topic.{{topic}}"
        when.topic = ["{qcode}"]
        when.min_topic_score = {score}
        [[routes]]
        topic = "news.topic.unsure"
        when.topic = ["{qcode}"]
        when.min_topic_score = {score_above}
        "#,
        confidence = protest.confidence,
        above = (protest.confidence + 0.01).min(1.0),
        qcode = top.parent.as_deref().unwrap_or(&top.qcode),
        score = top.score,
        score_above = (top.score + 0.01).min(1.0),
    );
    let router = router(&routes).unwrap();
    let topics = topics_of(&router, &article);
    assert_eq!(topics[0], "news.events.protest");
    assert!(
        !topics.contains(&"news.events.sure".to_owned()),
        "{topics:?}"
    );
    assert!(topics[1].starts_with("news.topic."), "{topics:?}");
    assert!(
        !topics.contains(&"news.topic.unsure".to_owned()),
        "{topics:?}"
    );
}

#[test]
fn a_wire_only_stream_takes_its_sources_and_languages() {
    let article = paris_protest();
    let router = router(
        r#"
        [[routes]]
        topic = "news.wire"
        when.source = ["example wire", "Other Agency"]
        when.language = ["en"]
        [[routes]]
        topic = "news.wire.french"
        when.source = ["Example Wire"]
        when.language = ["fr"]
        [[routes]]
        topic = "news.by-source.{source}"
        "#,
    )
    .unwrap();
    assert_eq!(
        topics_of(&router, &article),
        ["news.wire", "news.by-source.example-wire"]
    );
}

#[test]
fn a_bad_route_is_an_error_that_names_it() {
    for (routes, says) in [
        (
            "[[routes]]\nname = \"asia\"\ntopic = \"news.asia\"\nwhen.region = [\"999\"]",
            "route asia (routes[0]): when.region: \"999\"",
        ),
        (
            "[[routes]]\ntopic = \"a\"\n[[routes]]\ntopic = \"b\"\nwhen.country = [\"XX\"]",
            "route routes[1] (routes[1]): when.country",
        ),
        (
            "[[routes]]\ntopic = \"t\"\nwhen.topic = [\"medtop:99999999\"]",
            "when.topic",
        ),
        (
            "[[routes]]\ntopic = \"t\"\nwhen.event = [\"RIOT\"]",
            "PLOVER",
        ),
        (
            "[[routes]]\ntopic = \"t\"\nwhen.min_topic_score = 1.5",
            "min_topic_score must be between 0 and 1",
        ),
        ("[[routes]]\ntopic = \"news.raw\"\n", "input topic"),
        (
            "[[routes]]\ntopic = \"news.{desk}\"\n",
            "unknown placeholder",
        ),
        (
            "[[routes]]\nname = \"x\"\ntopic = \"a\"\n[[routes]]\nname = \"x\"\ntopic = \"b\"",
            "two routes are named \"x\"",
        ),
    ] {
        match router(routes) {
            Ok(_) => panic!("{routes} was accepted"),
            Err(error) => assert!(error.to_string().contains(says), "{routes}: {error}"),
        }
    }
}

#[test]
fn an_unknown_condition_is_refused_when_read() {
    let spec: Result<RouteSpec, _> = toml::from_str("topic = \"t\"\nwhen.regoin = [\"150\"]");
    assert!(spec.unwrap_err().to_string().contains("regoin"));
}
