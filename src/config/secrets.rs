//! Which librdkafka properties hold secrets, so that their values stay out of logs.

/// A property whose name contains one of these (in any case) is a secret: passwords, keys
/// and their passphrases, OAuth client secrets and tokens, JAAS configurations, and the
/// OAUTHBEARER configuration and extensions, which carry client secrets too.
const SECRET_NAME_PARTS: &[&str] = &[
    "password",
    "secret",
    "token",
    "key",
    "credential",
    "oauthbearer.config",
    "oauthbearer.extensions",
    "jaas",
];

/// What a secret is logged as.
pub const MASK: &str = "****";

/// Whether the property `name` (`consumer.`/`producer.` prefixed or not) holds a secret.
pub fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAME_PARTS.iter().any(|part| name.contains(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_known_by_name() {
        for name in [
            "sasl.password",
            "consumer.sasl.password",
            "ssl.key.password",
            "ssl.keystore.password",
            "ssl.key.pem",
            "sasl.oauthbearer.config",
            "sasl.oauthbearer.client.secret",
            "sasl.oauthbearer.extensions",
            "sasl.oauthbearer.client.credentials.client.secret",
            "sasl.jaas.config",
            "SASL.PASSWORD",
        ] {
            assert!(is_secret(name), "{name}");
        }
        for name in [
            "sasl.username",
            "security.protocol",
            "linger.ms",
            "group.id",
        ] {
            assert!(!is_secret(name), "{name}");
        }
    }
}
