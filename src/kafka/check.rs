//! Start-up checks. librdkafka's own check of the properties, before anything runs: the
//! clients are created without bootstrap servers, so nothing connects anywhere, and dropped.
//! What librdkafka refuses is reported without any property's value. Then, on the cluster,
//! that every output topic exists ([`ensure_output_topics`]).

use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::BaseProducer;
use rdkafka::types::RDKafkaConfRes;

use super::{consumer_config, producer_config, Client, RunError};
use crate::config::{redact, ConfigError, RunConfig};
use crate::telemetry::events::{OutputTopicsUnchecked, TopicCreated};

/// How long start-up waits for a topic's metadata: a running broker answers in
/// milliseconds, and a pipeline whose brokers are away should not wait long to start.
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);

/// How long start-up waits for the topics it creates.
const CREATE_TIMEOUT: Duration = Duration::from_secs(30);

/// Fails with [`RunError::MissingTopics`] unless every output topic exists, or creates the
/// missing ones when `create_topics` is set. Without this, records for a missing topic wait
/// in librdkafka for minutes on a cluster without auto-creation, the in-flight window
/// fills and consumption stops without a word. When no broker answers, the check is left
/// to the running pipeline (an unreachable broker is retried, not a configuration error).
pub async fn ensure_output_topics(config: &RunConfig) -> Result<(), RunError> {
    let topics: Vec<String> = config.output_topics().into_iter().map(Into::into).collect();
    ensure_topics(config, &topics, config.create_topics, &[]).await
}

/// [`ensure_output_topics`] for any `topics`: those missing are created with the topic
/// `settings` when `create` is set, else named in the error.
pub(super) async fn ensure_topics(
    config: &RunConfig,
    topics: &[String],
    create: bool,
    settings: &[(&str, &str)],
) -> Result<(), RunError> {
    let mut properties = producer_config(config);
    // Describing and creating topics needs no transaction.
    properties.remove("transactional.id");
    let admin: Arc<AdminClient<DefaultClientContext>> = Arc::new(
        properties
            .create()
            .map_err(|error| RunError::client(config, Client::Producer, &error))?,
    );
    let lookup = {
        let admin = Arc::clone(&admin);
        let topics = topics.to_vec();
        // librdkafka's metadata call blocks.
        tokio::task::spawn_blocking(move || missing_topics(&admin, &topics))
            .await
            .unwrap_or(Err(KafkaError::Canceled))
    };
    let missing = match lookup {
        Ok(missing) => missing,
        Err(error) => {
            OutputTopicsUnchecked {
                error: &error.to_string(),
            }
            .emit();
            return Ok(());
        }
    };
    if missing.is_empty() {
        return Ok(());
    }
    if !create {
        return Err(RunError::MissingTopics(missing.join(", ")));
    }
    create_topics(config, &admin, &missing, settings).await
}

/// How many partitions `topic` has, as the cluster says.
pub(super) async fn partition_count(config: &RunConfig, topic: &str) -> Result<u32, RunError> {
    let consumer: BaseConsumer = consumer_config(config)
        .create()
        .map_err(|error| RunError::client(config, Client::Consumer, &error))?;
    let name = topic.to_owned();
    let counted = tokio::task::spawn_blocking(move || {
        let metadata = consumer.fetch_metadata(Some(&name), METADATA_TIMEOUT)?;
        Ok::<_, KafkaError>(
            metadata
                .topics()
                .iter()
                .find(|described| described.name() == name)
                .map_or(0, |described| described.partitions().len()),
        )
    })
    .await
    .unwrap_or(Err(KafkaError::Canceled));
    counted
        .map(|count| u32::try_from(count).unwrap_or(u32::MAX))
        .map_err(|source| RunError::Metadata {
            topic: topic.to_owned(),
            source,
        })
}

/// The topics among `topics` that the cluster says do not exist.
fn missing_topics(
    admin: &AdminClient<DefaultClientContext>,
    topics: &[String],
) -> Result<Vec<String>, KafkaError> {
    let mut missing = Vec::new();
    for topic in topics {
        let metadata = admin
            .inner()
            .fetch_metadata(Some(topic), METADATA_TIMEOUT)?;
        let error = metadata
            .topics()
            .iter()
            .find(|described| described.name() == topic)
            .map_or(
                Some(RDKafkaErrorCode::UnknownTopicOrPartition),
                |described| described.error().map(RDKafkaErrorCode::from),
            );
        if matches!(
            error,
            Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic)
        ) {
            missing.push(topic.clone());
        }
    }
    Ok(missing)
}

async fn create_topics(
    config: &RunConfig,
    admin: &AdminClient<DefaultClientContext>,
    topics: &[String],
    settings: &[(&str, &str)],
) -> Result<(), RunError> {
    // -1 asks the broker for its default.
    let or_default = |n: i32| if n == 0 { -1 } else { n };
    let partitions = or_default(i32::try_from(config.topic_partitions).unwrap_or(i32::MAX));
    let replication = or_default(i32::from(config.topic_replication_factor));
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|topic| {
            settings.iter().fold(
                NewTopic::new(topic, partitions, TopicReplication::Fixed(replication)),
                |new, (key, value)| new.set(key, value),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(CREATE_TIMEOUT));
    let results = admin
        .create_topics(&new_topics, &options)
        .await
        .map_err(|error| RunError::CreateTopic {
            topic: topics.join(", "),
            reason: error.to_string(),
        })?;
    for result in results {
        match result {
            Ok(topic) => TopicCreated { topic: &topic }.emit(),
            // Another replica, starting at the same time, was first.
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(RunError::CreateTopic {
                    topic,
                    reason: code.to_string(),
                })
            }
        }
    }
    Ok(())
}

/// Creates the consumer and producer `newsflow run` would create, without bootstrap
/// servers, and drops them: librdkafka then checks every property (names, values, how they
/// combine, key and certificate files) before anything runs, without connecting anywhere.
pub fn check_run_clients(config: &RunConfig) -> Result<(), ConfigError> {
    check_clients(config, consumer_config(config), producer_config(config))
}

pub(super) fn check_clients(
    config: &RunConfig,
    consumer: ClientConfig,
    producer: ClientConfig,
) -> Result<(), ConfigError> {
    let offline = |mut properties: ClientConfig| {
        properties.remove("bootstrap.servers");
        // Its warnings (a property the other client ignores, no brokers) would only repeat
        // or contradict the real clients'.
        properties.set("log_level", "0");
        properties.set_log_level(RDKafkaLogLevel::Emerg);
        properties
    };
    offline(consumer)
        .create_with_context::<_, BaseConsumer<Silent>>(Silent)
        .map_err(|error| client_error(config, Client::Consumer, &error))?;
    offline(producer)
        .create_with_context::<_, BaseProducer<Silent>>(Silent)
        .map_err(|error| client_error(config, Client::Producer, &error))?;
    Ok(())
}

/// The checking clients' callbacks: silent. What they would report (a token that cannot
/// be made from `sasl.oauthbearer.config`, quoting it) the real clients report again,
/// with secrets masked.
struct Silent;

impl rdkafka::ClientContext for Silent {
    fn log(&self, _: RDKafkaLogLevel, _: &str, _: &str) {}

    fn error(&self, _: KafkaError, _: &str) {}
}

impl rdkafka::consumer::ConsumerContext for Silent {}

impl rdkafka::producer::ProducerContext for Silent {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &rdkafka::producer::DeliveryResult<'_>, (): ()) {}
}

/// What librdkafka refused, without any property's value: its messages quote the value
/// they reject (`Invalid value "..." for configuration property`), and a mistyped name
/// (`sasl.passwrd`) does not look like a secret. Names the property as the user wrote it.
pub(super) fn client_error(config: &RunConfig, client: Client, error: &KafkaError) -> ConfigError {
    match error {
        KafkaError::ClientConfig(result, description, key, value) => {
            let prefixed = format!("{}{key}", client.prefix());
            let property = [prefixed.as_str(), key]
                .into_iter()
                .find(|name| config.kafka.get(*name) == Some(value))
                .unwrap_or(key);
            let problem = if *result == RDKafkaConfRes::RD_KAFKA_CONF_UNKNOWN {
                "no such property".to_owned()
            } else {
                invalid_value(description) + build_hint(description)
            };
            ConfigError::KafkaProperty {
                property: property.to_owned(),
                problem,
            }
        }
        KafkaError::ClientCreation(reason) => ConfigError::KafkaClient {
            client: client.name(),
            reason: redact(reason.trim(), config.kafka_properties()) + build_hint(reason),
        },
        KafkaError::Nul(_) => ConfigError::KafkaClient {
            client: client.name(),
            reason: "a property name or value contains a NUL character".into(),
        },
        other => ConfigError::KafkaClient {
            client: client.name(),
            reason: redact(&other.to_string(), config.kafka_properties()),
        },
    }
}

/// What is wrong with a property's value, in librdkafka's words when they quote no value:
/// only its messages about a property as such are read (`Configuration property "x" not
/// supported in this build: ...`, `... value 0 is outside allowed range 1..3600000`, whose
/// value it printed as a number itself, and its fixed advice for Java client properties:
/// `Java JAAS configuration is not supported, ...`); the others may quote a string value.
/// What to build when librdkafka says this build lacks a SASL mechanism newsflow offers as
/// a Cargo feature (they need system libraries that a default build does not).
fn build_hint(said: &str) -> &'static str {
    if said.contains("SASL mechanism GSSAPI") {
        "; build newsflow with `--features kerberos` (see docs/configuration.md)"
    } else if said.contains("OIDC depends on libcurl") {
        "; build newsflow with `--features oidc` (see docs/configuration.md)"
    } else {
        ""
    }
}

fn invalid_value(description: &str) -> String {
    let description = description.trim();
    if description.starts_with("Java ") {
        return description.to_owned();
    }
    let about_property = description
        .strip_prefix("Configuration property \"")
        .and_then(|rest| rest.split_once("\" "))
        .map(|(_, said)| said);
    let unsupported = about_property.filter(|said| said.starts_with("not supported in this build"));
    let range = about_property
        .and_then(|said| said.split_once(" is outside allowed range "))
        .map(|(_, range)| range);
    match (unsupported, range) {
        (Some(unsupported), _) => unsupported.to_owned(),
        (None, Some(range)) => format!("invalid value (allowed range {range})"),
        (None, None) => "invalid value".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Guarantee;

    /// Kerberos and OIDC are Cargo features: without them librdkafka refuses the
    /// mechanism, and the error says which feature builds it.
    #[test]
    fn secured_cluster_mechanisms_need_their_feature() {
        let kerberos = with_properties(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "GSSAPI"),
            ("sasl.kerberos.principal", "newsflow@EXAMPLE.ORG"),
            ("sasl.kerberos.keytab", "/etc/newsflow.keytab"),
        ]);
        let oidc = with_properties(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.oauthbearer.method", "oidc"),
            ("sasl.oauthbearer.client.id", "newsflow"),
            ("sasl.oauthbearer.client.secret", "s3cret"),
            (
                "sasl.oauthbearer.token.endpoint.url",
                "https://127.0.0.1/token",
            ),
        ]);
        for (config, built, feature) in [
            (kerberos, cfg!(feature = "kerberos"), "kerberos"),
            (oidc, cfg!(feature = "oidc"), "oidc"),
        ] {
            match check_run_clients(&config) {
                Ok(()) => assert!(built, "{feature} accepted without its feature"),
                Err(error) => {
                    let error = error.to_string();
                    assert!(!built, "{feature} refused with its feature: {error}");
                    assert!(error.contains(&format!("--features {feature}")), "{error}");
                    assert!(!error.contains("s3cret"), "{error}");
                }
            }
        }
    }
    use crate::kafka::tests::with_properties;

    const SECRET: &str = "Zq9-secret-value";

    fn check_error(properties: &[(&str, &str)]) -> String {
        let message = check_run_clients(&with_properties(properties))
            .unwrap_err()
            .to_string();
        assert!(!message.contains(SECRET), "{message}");
        message
    }

    #[test]
    fn librdkafka_checks_the_properties_without_quoting_values() {
        let message = check_error(&[("sasl.passwrd", SECRET)]);
        assert_eq!(
            message,
            "librdkafka property `sasl.passwrd`: no such property"
        );
        // Named as given, prefix and all.
        let message = check_error(&[("producer.sasl.passwrd", SECRET)]);
        assert!(message.contains("`producer.sasl.passwrd`"), "{message}");
        let message = check_error(&[("security.protocol", SECRET)]);
        assert_eq!(
            message,
            "librdkafka property `security.protocol`: invalid value"
        );
        let message = check_error(&[("sasl.jaas.config", SECRET)]);
        assert!(
            message.contains("`sasl.jaas.config`: Java JAAS configuration is not supported"),
            "{message}"
        );
        let message = check_error(&[("consumer.session.timeout.ms", "0")]);
        assert!(
            message.ends_with(
                "`consumer.session.timeout.ms`: invalid value (allowed range 1..3600000)"
            ),
            "{message}"
        );
        // Refused when the client is created: the key cannot be read.
        let message = check_error(&[("security.protocol", "SSL"), ("ssl.key.pem", SECRET)]);
        assert!(message.contains("ssl.key.pem"), "{message}");
        let message = check_error(&[("sasl.password", &format!("{SECRET}\0"))]);
        assert!(message.contains("NUL"), "{message}");
    }

    #[test]
    fn valid_properties_pass_the_check_in_both_modes() {
        let mut config = with_properties(&[
            ("sasl.password", SECRET),
            ("sasl.oauthbearer.config", SECRET),
            ("consumer.fetch.wait.max.ms", "10"),
            ("producer.linger.ms", "5"),
        ]);
        check_run_clients(&config).unwrap();
        config.guarantee = Guarantee::ExactlyOnce;
        config.transactional_id = Some("replica-0".into());
        check_run_clients(&config).unwrap();
    }

    #[test]
    fn an_error_from_a_client_never_quotes_a_secret_value() {
        let config = with_properties(&[("ssl.key.password", SECRET)]);
        let error = KafkaError::ClientCreation(format!("cannot decrypt key with {SECRET}"));
        let message = client_error(&config, Client::Producer, &error).to_string();
        assert_eq!(
            message,
            "librdkafka refuses the producer's properties: cannot decrypt key with ****"
        );
    }
}
