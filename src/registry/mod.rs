//! Records framed by Confluent's Schema Registry serializers, and a client of the
//! registry's REST API (as Confluent's registry serves it, and Apicurio Registry under
//! `/apis/ccompat/v7`).
//!
//! - [`framing`]: the magic byte and schema id in front of each record, and telling a JSON
//!   payload from an Avro or Protobuf one.
//! - [`subject`]: subject naming strategies.
//! - [`client`]: registering JSON Schemas and looking schemas up, each once per process.
//! - [`schemas`]: the self-contained schemas of newsflow's outputs, as registered.
//!
//! See docs/registry.md.

pub mod client;
pub mod framing;
pub mod schemas;
pub mod subject;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, MASK};

pub use client::{RegisteredSchema, RegistryClient, RegistryError, SchemaType, SubjectVersion};
pub use framing::{frame, unframe, unframe_json, FrameError, PayloadKind};
pub use schemas::OutputSchema;
pub use subject::{record_name, SubjectError, SubjectStrategy};

/// Where the schema registry is and how to reach it.
// Debug is written by hand and the secrets are never serialized: the configuration is
// logged and printed.
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistryConfig {
    /// Base address of the registry's Confluent-compatible API, e.g.
    /// `https://registry.example:8081` or `http://127.0.0.1:8080/apis/ccompat/v7`
    /// (Apicurio). Empty: no registry, records are neither framed nor unframed.
    pub url: String,
    /// How the subject of a record's schema is named.
    pub subject_strategy: SubjectStrategy,
    /// User for HTTP basic authentication (with `basic_auth_password`).
    pub basic_auth_user: Option<String>,
    /// Password for HTTP basic authentication.
    #[serde(skip_serializing)]
    pub basic_auth_password: Option<String>,
    /// Token sent as `Authorization: Bearer`, instead of basic authentication.
    #[serde(skip_serializing)]
    pub bearer_token: Option<String>,
    /// PEM file of the certificate authorities trusted for an `https` registry, instead of
    /// the system's.
    pub ca_file: Option<PathBuf>,
    /// How long one request may take, connecting included.
    pub timeout_ms: u64,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            subject_strategy: SubjectStrategy::default(),
            basic_auth_user: None,
            basic_auth_password: None,
            bearer_token: None,
            ca_file: None,
            timeout_ms: 10_000,
        }
    }
}

impl fmt::Debug for RegistryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked = |secret: &Option<String>| secret.as_ref().map(|_| MASK);
        f.debug_struct("RegistryConfig")
            .field("url", &self.url)
            .field("subject_strategy", &self.subject_strategy)
            .field("basic_auth_user", &self.basic_auth_user)
            .field("basic_auth_password", &masked(&self.basic_auth_password))
            .field("bearer_token", &masked(&self.bearer_token))
            .field("ca_file", &self.ca_file)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// Environment variables that give the registry's secrets, so that they need not be in
/// the config file (a Kubernetes secret, say): they win over the file's.
pub const PASSWORD_ENV: &str = "NEWSFLOW_REGISTRY_BASIC_AUTH_PASSWORD";
pub const TOKEN_ENV: &str = "NEWSFLOW_REGISTRY_BEARER_TOKEN";

impl RegistryConfig {
    /// Takes the secrets [`PASSWORD_ENV`] and [`TOKEN_ENV`] give, from `env`.
    pub fn apply_env(
        &mut self,
        env: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    ) -> Result<(), ConfigError> {
        for (name, value) in env {
            let slot = if name == PASSWORD_ENV {
                &mut self.basic_auth_password
            } else if name == TOKEN_ENV {
                &mut self.bearer_token
            } else {
                continue;
            };
            let value = value.into_string().map_err(|_| ConfigError::NotUnicode {
                name: name.to_string_lossy().into_owned(),
            })?;
            *slot = Some(value);
        }
        Ok(())
    }

    /// Whether a registry is configured.
    pub fn enabled(&self) -> bool {
        !self.url.is_empty()
    }

    /// Settings that fit together; names settings, never shows a value but the address
    /// (which may hold no credentials).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |problem: &str| Err(ConfigError::Invalid(format!("registry: {problem}")));
        if !self.enabled() {
            return Ok(());
        }
        match reqwest::Url::parse(&self.url) {
            Err(_) => return invalid("url is not an address"),
            Ok(url) if !matches!(url.scheme(), "http" | "https") => {
                return invalid("url must start with http:// or https://")
            }
            Ok(url) if !url.username().is_empty() || url.password().is_some() => {
                return invalid(
                    "url holds credentials: give them as basic_auth_user and \
                     basic_auth_password instead",
                )
            }
            Ok(url) if url.query().is_some() || url.fragment().is_some() => {
                return invalid("url must have no query or fragment")
            }
            Ok(_) => {}
        }
        match (&self.basic_auth_user, &self.basic_auth_password) {
            (Some(_), None) => {
                return invalid("basic_auth_user is set without basic_auth_password")
            }
            (None, Some(_)) => {
                return invalid("basic_auth_password is set without basic_auth_user")
            }
            (Some(_), Some(_)) if self.bearer_token.is_some() => {
                return invalid(
                    "give basic_auth_user/basic_auth_password or bearer_token, not both",
                )
            }
            _ => {}
        }
        if self.timeout_ms == 0 {
            return invalid("timeout_ms must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> RegistryConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn secrets_from_the_environment_win_over_the_files() {
        let mut read = config("url = \"http://127.0.0.1:8081\"\nbearer_token = \"file-token\"");
        let env = [
            (PASSWORD_ENV.into(), "env-password".into()),
            (TOKEN_ENV.into(), "env-token".into()),
            ("NEWSFLOW_OTHER".into(), "x".into()),
        ];
        read.apply_env(env).unwrap();
        assert_eq!(read.bearer_token.as_deref(), Some("env-token"));
        assert_eq!(read.basic_auth_password.as_deref(), Some("env-password"));
    }

    #[test]
    fn reads_every_setting_and_refuses_unknown_ones() {
        let read = config(
            r#"
            url = "https://registry.example:8081"
            subject_strategy = "record-name"
            basic_auth_user = "newsflow"
            basic_auth_password = "hunter2-secret"
            ca_file = "/etc/ssl/registry.pem"
            timeout_ms = 2500
            "#,
        );
        assert_eq!(read.subject_strategy, SubjectStrategy::RecordName);
        assert_eq!(read.timeout_ms, 2500);
        read.validate().unwrap();
        assert!(toml::from_str::<RegistryConfig>("user = \"x\"").is_err());
        assert_eq!(config(""), RegistryConfig::default());
        assert!(!RegistryConfig::default().enabled());
    }

    #[test]
    fn keeps_secrets_out_of_debug_and_serialized_output() {
        let read = config(
            r#"
            url = "https://registry.example"
            basic_auth_user = "newsflow"
            basic_auth_password = "hunter2-secret"
            bearer_token = "token-secret"
            "#,
        );
        let shown = format!("{read:?} {}", toml::to_string(&read).unwrap());
        assert!(
            !shown.contains("hunter2") && !shown.contains("token-secret"),
            "{shown}"
        );
        assert!(shown.contains("newsflow"));
    }

    #[test]
    fn refuses_settings_that_do_not_fit() {
        for (text, problem) in [
            (r#"url = "registry:8081""#, "http:// or https://"),
            (r#"url = "not an address""#, "not an address"),
            (r#"url = "https://u:hunter2-secret@registry.example""#, "holds credentials"),
            (r#"url = "https://registry.example/?a=b""#, "no query"),
            (
                "url = \"http://127.0.0.1\"\nbasic_auth_user = \"u\"",
                "without basic_auth_password",
            ),
            (
                "url = \"http://127.0.0.1\"\nbasic_auth_password = \"hunter2-secret\"",
                "without basic_auth_user",
            ),
            (
                "url = \"http://127.0.0.1\"\nbasic_auth_user = \"u\"\nbasic_auth_password = \"p\"\nbearer_token = \"t\"",
                "not both",
            ),
            ("url = \"http://127.0.0.1\"\ntimeout_ms = 0", "timeout_ms"),
        ] {
            let error = config(text).validate().unwrap_err().to_string();
            assert!(error.contains(problem), "{text}: {error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }
}
