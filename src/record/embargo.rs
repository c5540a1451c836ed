//! Embargoes: an input whose `embargoed` time (ninjs, and the raw-article format alike) is
//! still to come may not be published before it.
//!
//! The time is read at decode ([`take_embargo`]) and kept in the enriched record's
//! `embargoed` field. `newsflow run` holds such a record on the embargo topic until the
//! time comes (`crate::kafka`'s releaser); `newsflow process` writes it like any other
//! line, `embargoed` set, since writing a file publishes nothing.

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Map, Value};

use super::dates::parse_timestamp;
use super::DecodeError;

/// The field that holds the embargo time, in both input formats and in enriched records.
pub const EMBARGO_FIELD: &str = "embargoed";

/// Takes the embargo time out of `fields`. Absent or null: no embargo. A time that cannot
/// be read is refused rather than ignored, since publishing an embargoed article early is
/// the harm the field exists to prevent.
pub(super) fn take_embargo(
    fields: &mut Map<String, Value>,
) -> Result<Option<DateTime<FixedOffset>>, DecodeError> {
    match fields.remove(EMBARGO_FIELD) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => parse_timestamp(&text)
            .map(Some)
            .ok_or(DecodeError::invalid(EMBARGO_FIELD, "an RFC 3339 time")),
        Some(_) => Err(DecodeError::invalid(EMBARGO_FIELD, "an RFC 3339 time")),
    }
}

/// The embargo time when it is still to come at `now`: the record must wait until then.
pub fn pending_embargo(
    embargoed: Option<DateTime<FixedOffset>>,
    now: DateTime<Utc>,
) -> Option<DateTime<FixedOffset>> {
    embargoed.filter(|until| *until > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embargo(json: &str) -> Result<Option<DateTime<FixedOffset>>, DecodeError> {
        match serde_json::from_str(json).unwrap() {
            Value::Object(mut fields) => {
                let taken = take_embargo(&mut fields);
                assert!(!fields.contains_key(EMBARGO_FIELD), "taken out");
                taken
            }
            _ => unreachable!("tests pass objects"),
        }
    }

    #[test]
    fn an_embargo_is_a_readable_time_or_nothing() {
        assert_eq!(embargo("{}"), Ok(None));
        assert_eq!(embargo(r#"{"embargoed":null}"#), Ok(None));
        let until = embargo(r#"{"embargoed":"2030-01-02T03:04:05+01:00"}"#).unwrap();
        assert_eq!(until.unwrap().to_rfc3339(), "2030-01-02T03:04:05+01:00");
        for bad in [
            r#""soon""#,
            "1893456000",
            "true",
            r#""2030-13-01T00:00:00Z""#,
        ] {
            let error = embargo(&format!(r#"{{"embargoed":{bad}}}"#)).unwrap_err();
            assert!(error.to_string().contains("`embargoed`"), "{error}");
        }
    }

    #[test]
    fn only_a_time_still_to_come_holds_the_record() {
        let now = "2030-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let at = |s: &str| Some(DateTime::parse_from_rfc3339(s).unwrap());
        assert_eq!(pending_embargo(None, now), None);
        assert_eq!(pending_embargo(at("2029-12-31T23:59:59Z"), now), None);
        assert_eq!(pending_embargo(at("2030-01-01T00:00:00Z"), now), None);
        let later = at("2030-01-01T01:00:01+01:00");
        assert_eq!(pending_embargo(later, now), later);
    }
}
