//! On input, the type of the schema a framed record names, asked of the schema registry
//! once per id: a record framed for an Avro or Protobuf schema is refused by what the
//! registry holds, not only by how its payload looks (an Avro record can start with `{`).
//! An id the registry does not know, or a registry that does not answer, leaves the
//! payload's look to decide, and that id is not asked again for a minute.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use crate::record::DecodeError;
use crate::registry::{self, FrameError, RegistryClient, RegistryConfig, RegistryError};
use crate::stage::Rejection;
use crate::telemetry::events::RegistryFailed;

const RETRY_AFTER: Duration = Duration::from_secs(60);

pub struct InputSchemas {
    client: RegistryClient,
    runtime: Handle,
    /// Ids whose schema is not JSON Schema, with its type; JSON Schema ids as `None`.
    known: RwLock<HashMap<u32, Option<String>>>,
    /// When asking for an id last failed.
    failed: Mutex<HashMap<u32, Instant>>,
}

impl InputSchemas {
    /// The registry of `config`, when one is configured.
    pub fn new(config: &RegistryConfig) -> Result<Option<Self>, RegistryError> {
        if !config.enabled() {
            return Ok(None);
        }
        Ok(Some(Self {
            client: RegistryClient::new(config)?,
            runtime: Handle::current(),
            known: RwLock::default(),
            failed: Mutex::default(),
        }))
    }

    /// Why `value` is refused, when it is framed for a schema the registry holds as
    /// another type than JSON Schema. Waits for the registry the first time an id is
    /// met: call it off the async runtime (from a worker thread).
    pub fn refusal(&self, value: &[u8]) -> Option<Rejection> {
        let (schema_id, _) = registry::unframe(value)?;
        let schema_type = self.type_of(schema_id)?;
        let error = FrameError::NotJsonSchema {
            schema_id,
            schema_type,
        };
        Some(Rejection::from(DecodeError::Framed(error)))
    }

    /// The type of schema `id` when it is not JSON Schema; `None` for JSON Schema and
    /// for what cannot be told.
    fn type_of(&self, id: u32) -> Option<String> {
        if let Some(known) = self.known.read().expect("known lock").get(&id) {
            return known.clone();
        }
        let mut failed = self.failed.lock().expect("failed lock");
        if failed
            .get(&id)
            .is_some_and(|when| when.elapsed() < RETRY_AFTER)
        {
            return None;
        }
        match self.runtime.block_on(self.client.schema(id)) {
            Ok(schema) => {
                let other = match &schema.schema_type {
                    registry::SchemaType::Json => None,
                    registry::SchemaType::Avro => Some("AVRO".to_owned()),
                    registry::SchemaType::Protobuf => Some("PROTOBUF".to_owned()),
                    registry::SchemaType::Other(name) => Some(name.clone()),
                };
                self.known
                    .write()
                    .expect("known lock")
                    .insert(id, other.clone());
                other
            }
            Err(error) => {
                RegistryFailed {
                    request: &format!("looking up schema id {id} of an input record"),
                    error: &error,
                }
                .emit();
                failed.insert(id, Instant::now());
                None
            }
        }
    }
}
