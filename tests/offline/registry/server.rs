//! A schema registry on 127.0.0.1 serving the part of the Confluent Schema Registry REST API
//! that newsflow uses, with the answers and error codes Confluent documents:
//!
//! - `POST /subjects/{subject}/versions` (`{"schema": …, "schemaType": …}`) → `{"id": N}`;
//!   the same schema text and type get the same id under every subject; 422 (42201) for a
//!   JSON schema that is not JSON.
//! - `GET /schemas/ids/{id}` → `{"schema": …, "schemaType": …}` (no `schemaType` for Avro);
//!   404 (40403).
//! - `GET /subjects/{subject}/versions/latest` → `{"subject", "version", "id", "schema",
//!   "schemaType"}`; 404 (40401).
//! - 401 (`{"error_code":401,…}`) to a request without the configured credentials.
//!
//! It stands in for a real registry, which cannot be built on this project's machines
//! (docs/registry.md says why). It records each request, so tests can tell what reached it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// The credentials the registry asks for.
#[derive(Clone)]
pub enum Auth {
    None,
    Basic { user: String, password: String },
    Bearer(String),
}

#[derive(Default)]
struct Registry {
    /// (schemaType, schema text); id = index + 1.
    schemas: Vec<(String, String)>,
    /// Each subject's versions, as schema ids.
    subjects: BTreeMap<String, Vec<u32>>,
    /// "METHOD path", in order of arrival.
    requests: Vec<String>,
}

struct Shared {
    auth: Auth,
    delay: Duration,
    registry: Mutex<Registry>,
}

pub struct FakeRegistry {
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeRegistry {
    pub async fn start(auth: Auth) -> Self {
        Self::start_slow(auth, Duration::ZERO).await
    }

    /// A registry that waits `delay` before each answer.
    pub async fn start_slow(auth: Auth, delay: Duration) -> Self {
        let shared = Arc::new(Shared {
            auth,
            delay,
            registry: Mutex::default(),
        });
        let app = Router::new()
            .route("/subjects/{subject}/versions", post(register))
            .route("/schemas/ids/{id}", get(schema))
            .route("/subjects/{subject}/versions/latest", get(latest))
            .fallback(unknown)
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&shared),
                admit,
            ))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url,
            shared,
            server,
        }
    }

    /// Every request so far, as "METHOD path".
    pub fn requests(&self) -> Vec<String> {
        self.shared.registry.lock().unwrap().requests.clone()
    }

    /// Registers `schema` of `schema_type` under `subject` as another producer would, and
    /// returns its id.
    pub fn add(&self, subject: &str, schema_type: &str, schema: &str) -> u32 {
        self.shared
            .registry
            .lock()
            .unwrap()
            .register(subject, schema_type, schema)
    }
}

impl Registry {
    fn register(&mut self, subject: &str, schema_type: &str, schema: &str) -> u32 {
        let entry = (schema_type.to_owned(), schema.to_owned());
        let id = match self.schemas.iter().position(|known| *known == entry) {
            Some(index) => index as u32 + 1,
            None => {
                self.schemas.push(entry);
                self.schemas.len() as u32
            }
        };
        let versions = self.subjects.entry(subject.to_owned()).or_default();
        if !versions.contains(&id) {
            versions.push(id);
        }
        id
    }

    /// The schema's fields of an answer: `schemaType` only when it is not Avro.
    fn schema_fields(&self, id: u32) -> Option<serde_json::Map<String, Value>> {
        let (schema_type, schema) = self.schemas.get(id.checked_sub(1)? as usize)?;
        let mut fields = serde_json::Map::new();
        fields.insert("schema".into(), schema.clone().into());
        if schema_type != "AVRO" {
            fields.insert("schemaType".into(), schema_type.clone().into());
        }
        Some(fields)
    }
}

fn answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        body.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, code: u32, message: String) -> Response {
    answer(status, json!({ "error_code": code, "message": message }))
}

/// Before every request: records it, waits the delay and checks the credentials, answering
/// 401 when they are wrong.
async fn admit(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let line = format!("{} {}", request.method(), request.uri().path());
    shared.registry.lock().unwrap().requests.push(line);
    tokio::time::sleep(shared.delay).await;
    let expected = match &shared.auth {
        Auth::None => None,
        Auth::Basic { user, password } => Some(format!(
            "Basic {}",
            data_encoding::BASE64.encode(format!("{user}:{password}").as_bytes())
        )),
        Auth::Bearer(token) => Some(format!("Bearer {token}")),
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    if expected.is_some() && given != expected.as_deref() {
        return error(StatusCode::UNAUTHORIZED, 401, "Unauthorized".into());
    }
    next.run(request).await
}

async fn register(
    State(shared): State<Arc<Shared>>,
    Path(subject): Path<String>,
    body: String,
) -> Response {
    let mut registry = shared.registry.lock().unwrap();
    let request: Value = match serde_json::from_str(&body) {
        Ok(request) => request,
        Err(_) => return error(StatusCode::BAD_REQUEST, 400, "Unrecognized request".into()),
    };
    let Some(schema) = request["schema"].as_str() else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            42201,
            "Empty schema".into(),
        );
    };
    let schema_type = request["schemaType"].as_str().unwrap_or("AVRO");
    if schema_type == "JSON" && serde_json::from_str::<Value>(schema).is_err() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            42201,
            "Invalid schema: not a JSON document".into(),
        );
    }
    let id = registry.register(&subject, schema_type, schema);
    answer(StatusCode::OK, json!({ "id": id }))
}

async fn schema(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let registry = shared.registry.lock().unwrap();
    match id.parse().ok().and_then(|id| registry.schema_fields(id)) {
        Some(fields) => answer(StatusCode::OK, fields.into()),
        None => error(
            StatusCode::NOT_FOUND,
            40403,
            format!("Schema {id} not found"),
        ),
    }
}

async fn latest(State(shared): State<Arc<Shared>>, Path(subject): Path<String>) -> Response {
    let registry = shared.registry.lock().unwrap();
    let Some(versions) = registry.subjects.get(&subject) else {
        return error(
            StatusCode::NOT_FOUND,
            40401,
            format!("Subject '{subject}' not found."),
        );
    };
    let id = *versions.last().expect("a subject has a version");
    let mut fields = registry
        .schema_fields(id)
        .expect("a version's schema is known");
    fields.insert("subject".into(), subject.clone().into());
    fields.insert("version".into(), versions.len().into());
    fields.insert("id".into(), id.into());
    answer(StatusCode::OK, fields.into())
}

async fn unknown() -> Response {
    error(StatusCode::NOT_FOUND, 404, "HTTP 404 Not Found".into())
}
