//! Which librdkafka properties hold secrets, and keeping their values out of logs and
//! error messages.

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

/// `text` with the value of every secret property in `properties` replaced by [`MASK`]:
/// for messages that come from librdkafka, which may quote what it was given.
pub fn redact<'a>(text: &str, properties: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut secrets: Vec<&str> = properties
        .into_iter()
        .filter(|(name, value)| is_secret(name) && !value.is_empty())
        .map(|(_, value)| value)
        .collect();
    // The longest first, so that a secret containing another is masked whole.
    secrets.sort_by_key(|value| std::cmp::Reverse(value.len()));
    secrets
        .into_iter()
        .fold(text.to_owned(), |text, secret| text.replace(secret, MASK))
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

    #[test]
    fn redact_masks_secret_values_only() {
        let properties = [
            ("sasl.password", "hunter2"),
            ("ssl.key.password", "hunter2-longer"),
            ("ssl.ca.location", "/etc/ca.pem"),
            ("sasl.oauthbearer.config", ""),
        ];
        assert_eq!(
            redact(
                "bad password hunter2-longer or hunter2 for /etc/ca.pem",
                properties
            ),
            "bad password **** or **** for /etc/ca.pem"
        );
    }
}
