//! A client of the subset of the Confluent Schema Registry REST API that newsflow uses:
//! registering a JSON Schema under a subject, a schema by its id, and a subject's latest
//! version. Ids never change meaning, so each registration and each lookup by id goes to
//! the registry once per process; concurrent callers of the same one wait for a single
//! request.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::OnceCell;

use super::subject::SubjectError;
use super::{RegistryConfig, SubjectStrategy};
use crate::config::MASK;

const CONTENT_TYPE_V1: &str = "application/vnd.schemaregistry.v1+json";
const ACCEPTED: &str = "application/vnd.schemaregistry.v1+json, \
     application/vnd.schemaregistry+json; qs=0.9, application/json; qs=0.5";

/// Characters of a registry's error message kept in ours: enough for its reason, not a
/// whole HTML page from a proxy.
const MAX_MESSAGE_CHARS: usize = 300;

/// Why the registry did not do what was asked. Messages hold neither credentials nor the
/// schema.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid schema registry setting: {0}")]
    Config(String),
    #[error(
        "the schema registry refused access (HTTP {status}): check basic_auth_user and \
         basic_auth_password, or bearer_token, and what the registry lets them do"
    )]
    Unauthorized { status: u16 },
    #[error("the schema registry has no schema with id {0}")]
    SchemaNotFound(u32),
    #[error("the schema registry has no subject {0:?}")]
    SubjectNotFound(String),
    #[error(
        "the schema registry refused the schema for subject {subject:?} (HTTP {status}): {message}"
    )]
    Rejected {
        subject: String,
        status: u16,
        message: String,
    },
    #[error("the schema registry answered HTTP {status} to {action}: {message}")]
    Status {
        action: String,
        status: u16,
        /// The registry's `error_code` (40401: no such subject, 40403: no such schema).
        code: Option<u32>,
        message: String,
    },
    #[error("no answer from the schema registry within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach the schema registry: {0}")]
    Transport(String),
    #[error("the schema registry's answer to {action} is not what its API documents: {problem}")]
    BadResponse { action: String, problem: String },
    #[error("cannot name a subject for the schema: {0}")]
    Subject(#[from] SubjectError),
}

impl RegistryError {
    /// A short fixed name, for logs and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Config(_) => "config",
            Self::Unauthorized { .. } => "unauthorized",
            Self::SchemaNotFound(_) => "schema_not_found",
            Self::SubjectNotFound(_) => "subject_not_found",
            Self::Rejected { .. } => "rejected",
            Self::Status { .. } => "status",
            Self::Timeout(_) => "timeout",
            Self::Transport(_) => "transport",
            Self::BadResponse { .. } => "bad_response",
            Self::Subject(_) => "subject",
        }
    }

    /// Whether the same request may succeed later (retry with backoff): the registry was
    /// unreachable, slow, overloaded or failing. Anything else will fail again.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Transport(_) => true,
            Self::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// The serialization format a schema describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaType {
    Avro,
    Json,
    Protobuf,
    Other(String),
}

impl SchemaType {
    /// From the API's `schemaType`, which it leaves out for Avro.
    fn from_api(name: Option<String>) -> Self {
        match name.as_deref() {
            None | Some("AVRO") => Self::Avro,
            Some("JSON") => Self::Json,
            Some("PROTOBUF") => Self::Protobuf,
            Some(other) => Self::Other(other.to_owned()),
        }
    }
}

/// A schema as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredSchema {
    pub id: u32,
    pub schema_type: SchemaType,
    /// The schema's text.
    pub schema: String,
}

/// A version of a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectVersion {
    pub subject: String,
    pub version: u32,
    pub schema: RegisteredSchema,
}

#[derive(Deserialize)]
struct SchemaAnswer {
    schema: String,
    #[serde(rename = "schemaType")]
    schema_type: Option<String>,
}

#[derive(Deserialize)]
struct VersionAnswer {
    subject: String,
    version: u32,
    id: u32,
    #[serde(flatten)]
    schema: SchemaAnswer,
}

#[derive(Deserialize)]
struct RegisteredAnswer {
    id: u32,
}

/// Error codes of the registry's 404 answers: whatever else answers 404 (a wrong path, a
/// proxy) is no proof that the schema or subject is missing.
const SUBJECT_NOT_FOUND: u32 = 40401;
const VERSION_NOT_FOUND: u32 = 40402;
const SCHEMA_NOT_FOUND: u32 = 40403;

#[derive(Deserialize)]
struct ErrorAnswer {
    error_code: Option<u32>,
    message: Option<String>,
}

enum Credentials {
    None,
    Basic { user: String, password: String },
    Bearer(String),
}

/// One result per key, fetched once: concurrent callers share the request in flight, and
/// a failure is not kept (the next caller tries again).
struct OncePerKey<K, V> {
    cells: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> OncePerKey<K, V> {
    fn new() -> Self {
        Self {
            cells: Mutex::new(HashMap::new()),
        }
    }

    fn cells(&self) -> std::sync::MutexGuard<'_, HashMap<K, Arc<OnceCell<V>>>> {
        self.cells
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn get_or_fetch<F>(&self, key: K, fetch: F) -> Result<V, RegistryError>
    where
        F: std::future::Future<Output = Result<V, RegistryError>>,
    {
        let cell = Arc::clone(self.cells().entry(key.clone()).or_default());
        let result = cell.get_or_try_init(|| fetch).await.cloned();
        if result.is_err() {
            // Forgotten, so that records naming ids the registry does not know (poison, or
            // from another registry) cannot grow the map without bound.
            let mut cells = self.cells();
            if cells
                .get(&key)
                .is_some_and(|current| Arc::ptr_eq(current, &cell) && current.get().is_none())
            {
                cells.remove(&key);
            }
        }
        result
    }
}

pub struct RegistryClient {
    http: reqwest::Client,
    base: Url,
    credentials: Credentials,
    strategy: SubjectStrategy,
    timeout: Duration,
    /// Ids by subject and schema text.
    registered: OncePerKey<(String, String), u32>,
    schemas: OncePerKey<u32, Arc<RegisteredSchema>>,
}

impl RegistryClient {
    /// A client for the registry of `config`, which must be valid
    /// ([`RegistryConfig::validate`]) and enabled.
    pub fn new(config: &RegistryConfig) -> Result<Self, RegistryError> {
        if !config.enabled() {
            return Err(RegistryError::Config("registry: url is empty".into()));
        }
        config
            .validate()
            .map_err(|error| RegistryError::Config(error.to_string()))?;
        let base = Url::parse(&config.url)
            .map_err(|_| RegistryError::Config("registry: url is not an address".into()))?;
        let timeout = Duration::from_millis(config.timeout_ms);
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("newsflow/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect could carry the credentials to another host.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &config.ca_file {
            let unreadable = |problem: String| {
                RegistryError::Config(format!("registry: ca_file {}: {problem}", path.display()))
            };
            let pem = std::fs::read(path).map_err(|error| unreadable(error.to_string()))?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|_| unreadable("not a PEM file of certificates".into()))?;
            if certificates.is_empty() {
                return Err(unreadable("holds no certificate".into()));
            }
            builder = builder.tls_certs_only(certificates);
        }
        let http = builder
            .build()
            .map_err(|error| RegistryError::Config(format!("registry: {}", chain(&error))))?;
        let credentials = match (&config.basic_auth_user, &config.basic_auth_password) {
            (Some(user), Some(password)) => Credentials::Basic {
                user: user.clone(),
                password: password.clone(),
            },
            _ => config
                .bearer_token
                .clone()
                .map_or(Credentials::None, Credentials::Bearer),
        };
        Ok(Self {
            http,
            base,
            credentials,
            strategy: config.subject_strategy,
            timeout,
            registered: OncePerKey::new(),
            schemas: OncePerKey::new(),
        })
    }

    /// The id of JSON Schema `schema` for the values of `topic`, registered under the
    /// subject the configured strategy names. Meant for start-up, once per output topic:
    /// a repeated call costs no request, but does hash the schema (and parse it, under the
    /// record-name strategies), so the writer keeps the id.
    pub async fn register_value(&self, topic: &str, schema: &str) -> Result<u32, RegistryError> {
        let subject = self.strategy.subject(topic, schema)?;
        self.register(&subject, schema).await
    }

    /// The id of JSON Schema `schema` under `subject`, registering it if the registry does
    /// not hold it yet (the registry answers with the existing id when it does).
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let key = (subject.to_owned(), schema.to_owned());
        self.registered
            .get_or_fetch(key, async {
                let action = format!("registering a schema under subject {subject:?}");
                let body = json!({ "schemaType": "JSON", "schema": schema });
                let url = self.url(&["subjects", subject, "versions"]);
                let answer = self.request(Method::POST, url, Some(body), &action).await;
                let answer: RegisteredAnswer = match answer {
                    // 409: incompatible with the subject's history; 422: not a valid schema.
                    Err(RegistryError::Status {
                        status, message, ..
                    }) if status == 409 || status == 422 => {
                        return Err(RegistryError::Rejected {
                            subject: subject.to_owned(),
                            status,
                            message,
                        })
                    }
                    answer => parse(&answer?, &action)?,
                };
                Ok(answer.id)
            })
            .await
    }

    /// The schema with id `id`.
    pub async fn schema(&self, id: u32) -> Result<Arc<RegisteredSchema>, RegistryError> {
        self.schemas
            .get_or_fetch(id, async {
                let action = format!("looking up schema id {id}");
                let url = self.url(&["schemas", "ids", &id.to_string()]);
                let answer = match self.request(Method::GET, url, None, &action).await {
                    Err(RegistryError::Status {
                        code: Some(SCHEMA_NOT_FOUND),
                        ..
                    }) => return Err(RegistryError::SchemaNotFound(id)),
                    answer => parse::<SchemaAnswer>(&answer?, &action)?,
                };
                Ok(Arc::new(RegisteredSchema {
                    id,
                    schema_type: SchemaType::from_api(answer.schema_type),
                    schema: answer.schema,
                }))
            })
            .await
    }

    /// The latest version of `subject`, asked anew each time (it changes).
    pub async fn latest(&self, subject: &str) -> Result<SubjectVersion, RegistryError> {
        let action = format!("looking up the latest version of subject {subject:?}");
        let url = self.url(&["subjects", subject, "versions", "latest"]);
        let answer = match self.request(Method::GET, url, None, &action).await {
            Err(RegistryError::Status {
                code: Some(SUBJECT_NOT_FOUND | VERSION_NOT_FOUND),
                ..
            }) => return Err(RegistryError::SubjectNotFound(subject.to_owned())),
            answer => parse::<VersionAnswer>(&answer?, &action)?,
        };
        Ok(SubjectVersion {
            subject: answer.subject,
            version: answer.version,
            schema: RegisteredSchema {
                id: answer.id,
                schema_type: SchemaType::from_api(answer.schema.schema_type),
                schema: answer.schema.schema,
            },
        })
    }

    /// The base address with `segments` appended, each percent-encoded (subjects may hold
    /// `/`, spaces or `?`).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // A base that cannot be a base (`mailto:`) is refused by validate().
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// The body of a successful answer; any other answer as an error.
    async fn request(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
        action: &str,
    ) -> Result<Vec<u8>, RegistryError> {
        let mut request = self
            .http
            .request(method, url)
            .header(ACCEPT, HeaderValue::from_static(ACCEPTED));
        request = match &self.credentials {
            Credentials::None => request,
            Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
            Credentials::Bearer(token) => request.bearer_auth(token),
        };
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_V1))
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|error| self.transport(error))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|error| self.transport(error))?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(RegistryError::Unauthorized {
                status: status.as_u16(),
            });
        }
        let (code, mut message) = self.message(&body);
        // The registry's own 404s carry a code of five digits (40401, 40403, ...).
        if status == StatusCode::NOT_FOUND && !matches!(code, Some(40400..=40499)) {
            message.push_str(" (is url the base address of the registry's API?)");
        }
        Err(RegistryError::Status {
            action: action.to_owned(),
            status: status.as_u16(),
            code,
            message,
        })
    }

    /// The registry's error code and own words from an error answer
    /// (`{"error_code":…, "message":…}`), shortened, with any credential it might echo
    /// masked.
    fn message(&self, body: &[u8]) -> (Option<u32>, String) {
        let (code, text) = match serde_json::from_slice::<ErrorAnswer>(body) {
            Ok(ErrorAnswer {
                error_code,
                message: Some(message),
            }) => (error_code, message),
            _ => (None, String::from_utf8_lossy(body).into_owned()),
        };
        let mut text: String = text.trim().chars().take(MAX_MESSAGE_CHARS).collect();
        let secrets: &[&str] = match &self.credentials {
            Credentials::None => &[],
            Credentials::Basic { password, .. } => &[password],
            Credentials::Bearer(token) => &[token],
        };
        for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
            text = text.replace(secret, MASK);
        }
        if text.is_empty() {
            text = "no reason given".into();
        }
        (code, text)
    }

    fn transport(&self, error: reqwest::Error) -> RegistryError {
        if error.is_timeout() {
            RegistryError::Timeout(self.timeout)
        } else {
            RegistryError::Transport(chain(&error.without_url()))
        }
    }
}

/// An error and its causes, which say what failed (refused, reset, bad certificate).
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8], action: &str) -> Result<T, RegistryError> {
    serde_json::from_slice(body).map_err(|error| RegistryError::BadResponse {
        action: action.to_owned(),
        problem: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_results_and_forgets_failures() {
        let once = OncePerKey::<u32, u32>::new();
        assert_eq!(once.get_or_fetch(1, async { Ok(10) }).await.unwrap(), 10);
        assert_eq!(once.get_or_fetch(1, async { Ok(11) }).await.unwrap(), 10);
        for id in 2..100 {
            let failed =
                once.get_or_fetch(id, async move { Err(RegistryError::SchemaNotFound(id)) });
            assert!(failed.await.is_err());
        }
        assert_eq!(once.cells().len(), 1);
        assert_eq!(once.get_or_fetch(2, async { Ok(20) }).await.unwrap(), 20);
    }

    #[test]
    fn error_messages_are_short_and_mask_credentials() {
        let client = RegistryClient::new(&RegistryConfig {
            url: "http://127.0.0.1:1".into(),
            basic_auth_user: Some("newsflow".into()),
            basic_auth_password: Some("hunter2-secret".into()),
            ..RegistryConfig::default()
        })
        .unwrap();
        let echoed = br#"{"error_code":50001,"message":"bad login hunter2-secret"}"#;
        assert_eq!(
            client.message(echoed),
            (Some(50001), "bad login ****".into())
        );
        let page = format!("<html>{}</html>", "x".repeat(1000));
        let (code, text) = client.message(page.as_bytes());
        assert_eq!((code, text.chars().count()), (None, MAX_MESSAGE_CHARS));
        assert_eq!(client.message(b" "), (None, "no reason given".into()));
    }

    #[test]
    fn needs_a_registry_to_talk_to() {
        let error = RegistryClient::new(&RegistryConfig::default())
            .err()
            .unwrap();
        assert_eq!(
            error.to_string(),
            "invalid schema registry setting: registry: url is empty"
        );
    }

    #[test]
    fn reads_the_schema_type_as_the_api_gives_it() {
        assert_eq!(SchemaType::from_api(None), SchemaType::Avro);
        assert_eq!(SchemaType::from_api(Some("JSON".into())), SchemaType::Json);
        assert_eq!(
            SchemaType::from_api(Some("PROTOBUF".into())),
            SchemaType::Protobuf
        );
        assert_eq!(
            SchemaType::from_api(Some("XML".into())),
            SchemaType::Other("XML".into())
        );
    }
}
