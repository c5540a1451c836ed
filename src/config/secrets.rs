//! Which librdkafka properties hold secrets, and keeping their values out of logs and
//! error messages.

use std::borrow::Cow;
use std::sync::OnceLock;

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

/// Pieces of a message this long that a secret value also contains are masked: librdkafka
/// may quote only part of a value ("Unrecognized sasl.oauthbearer.config beginning at:
/// ..."); shorter pieces ("true", " = ") are too common to tell a secret by.
const MIN_FRAGMENT: usize = 6;

/// `text` with the value of every secret property in `properties`, and every piece of one
/// at least `MIN_FRAGMENT` bytes long, replaced by [`MASK`]: for messages that come
/// from librdkafka, which may quote what it was given.
pub fn redact<'a>(text: &str, properties: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let secrets: Vec<&str> = secret_values(properties).collect();
    mask_fragments(text, &secrets)
}

fn secret_values<'a>(
    properties: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> impl Iterator<Item = &'a str> {
    properties
        .into_iter()
        .filter(|(name, value)| is_secret(name) && !value.is_empty())
        .map(|(_, value)| value)
}

fn mask_fragments<S: AsRef<str>>(text: &str, secrets: &[S]) -> String {
    let mut masked = vec![false; text.len()];
    for secret in secrets.iter().map(AsRef::as_ref) {
        if secret.len() < MIN_FRAGMENT {
            for (at, found) in text.match_indices(secret) {
                masked[at..at + found.len()].fill(true);
            }
            continue;
        }
        for (at, _) in text.char_indices() {
            let end = at + MIN_FRAGMENT;
            if text.is_char_boundary(end) && end <= text.len() && secret.contains(&text[at..end]) {
                masked[at..end].fill(true);
            }
        }
    }
    let mut out = String::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        if !masked[at] {
            out.push(c);
        } else if at == 0 || !masked[at - 1] {
            out.push_str(MASK);
        }
    }
    out
}

/// The secret values of the running configuration, masked in whatever the Kafka clients
/// report while running (their errors and log lines).
static RUNTIME_SECRETS: OnceLock<Vec<String>> = OnceLock::new();

/// Remembers the secret values among `properties` for [`scrub`]; the first call wins.
pub fn keep_out_of_logs<'a>(properties: impl IntoIterator<Item = (&'a str, &'a str)>) {
    let _ = RUNTIME_SECRETS.set(secret_values(properties).map(str::to_owned).collect());
}

/// `text` with the secrets given to [`keep_out_of_logs`] masked, as [`redact`] does.
pub fn scrub(text: &str) -> Cow<'_, str> {
    match RUNTIME_SECRETS.get() {
        Some(secrets) if !secrets.is_empty() => Cow::Owned(mask_fragments(text, secrets)),
        _ => Cow::Borrowed(text),
    }
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

    #[test]
    fn a_quoted_piece_of_a_secret_is_masked() {
        let properties = [(
            "sasl.oauthbearer.config",
            "principal=admin clientSecret=S3CRETVALUE scope=x",
        )];
        assert_eq!(
            redact(
                "Unrecognized sasl.oauthbearer.config beginning at: clientSecret=S3CRETVALUE scope=x",
                properties
            ),
            // The space before the quoted part is in the value too.
            "Unrecognized sasl.oauthbearer.config beginning at:****"
        );
        assert_eq!(
            redact("a short one: abc", [("sasl.password", "abc")]),
            "a short one: ****"
        );
    }
}
