//! What can wrap an article on the way in: the Confluent Schema Registry's wire format (a
//! zero byte and a 4-byte schema id before the payload, as its serializers write), and a
//! CloudEvents envelope in structured mode (`application/cloudevents+json`: the article is
//! the event's `data`). Both are recognised by their shape, so a topic may mix them with
//! bare JSON: a JSON text never starts with a zero byte, and an article has no
//! `specversion`.
//!
//! CloudEvents in binary mode (`ce_*` headers) need nothing here: the record's value is
//! the article itself.

use serde_json::{Map, Value};

use super::raw::json_object;
use super::DecodeError;

/// The Confluent wire format's first byte.
const MAGIC_BYTE: u8 = 0;
/// The magic byte and the schema id.
const FRAMING_BYTES: usize = 5;

/// The payload of a record framed for a schema registry, or the record itself. A framed
/// payload that is not JSON (Avro, or Protobuf with its message indexes) is refused with
/// its schema id: newsflow does not decode those.
pub fn unframe(bytes: &[u8]) -> Result<&[u8], DecodeError> {
    if bytes.len() < FRAMING_BYTES || bytes[0] != MAGIC_BYTE {
        return Ok(bytes);
    }
    let schema_id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    let payload = &bytes[FRAMING_BYTES..];
    let starts_json = payload
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['));
    if starts_json {
        Ok(payload)
    } else {
        Err(DecodeError::NotJsonFramed { schema_id })
    }
}

/// The article of a structured-mode CloudEvent (its `data`, or `data_base64` decoded),
/// with the event's attributes under `cloudevent` (the article's unknown fields pass
/// through to the enriched record). The event's `id` is the article's when the article
/// has none. Any other object is returned as it is.
pub fn open_cloudevent(mut fields: Map<String, Value>) -> Result<Map<String, Value>, DecodeError> {
    if !fields.get("specversion").is_some_and(Value::is_string) {
        return Ok(fields);
    }
    if let Some(media_type) = fields.get("datacontenttype") {
        let media_type = media_type.as_str().unwrap_or_default();
        let essence = media_type.split(';').next().unwrap_or_default().trim();
        if !(essence == "application/json" || essence.ends_with("+json")) {
            return Err(DecodeError::invalid(
                "datacontenttype",
                "a JSON media type (the event's data is the article)",
            ));
        }
    }
    let mut article = match (fields.remove("data"), fields.remove("data_base64")) {
        (Some(Value::Object(data)), None) => data,
        (None, Some(Value::String(encoded))) => {
            let decoded = data_encoding::BASE64
                .decode(encoded.as_bytes())
                .map_err(|_| DecodeError::invalid("data_base64", "base64"))?;
            let text = std::str::from_utf8(&decoded)
                .map_err(|_| DecodeError::invalid("data_base64", "base64 of UTF-8 JSON"))?;
            json_object(text)?
        }
        (None, None) => return Err(DecodeError::MissingField { field: "data" }),
        (Some(_), None) => return Err(DecodeError::invalid("data", "a JSON object")),
        (_, Some(_)) => {
            return Err(DecodeError::invalid(
                "data_base64",
                "a base64 string, without `data` beside it",
            ))
        }
    };
    if !article.contains_key("id") && !article.contains_key("uri") {
        if let Some(id) = fields.get("id").cloned() {
            article.insert("id".into(), id);
        }
    }
    article.entry("cloudevent").or_insert(Value::Object(fields));
    Ok(article)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{decode, Input};
    use super::*;

    fn article(bytes: &[u8]) -> Result<super::super::RawArticle, DecodeError> {
        decode(bytes, usize::MAX).map(|input| match input {
            Input::Article(article) => article,
            Input::Kill(kill) => panic!("a kill: {kill:?}"),
        })
    }

    const ARTICLE: &str = r#"{"id":"a1","body":"Parliament passed the budget."}"#;

    #[test]
    fn a_record_framed_for_a_schema_registry_is_read_through_its_framing() {
        let mut framed = vec![0, 0, 0, 1, 44];
        framed.extend_from_slice(ARTICLE.as_bytes());
        assert_eq!(
            article(&framed).unwrap(),
            article(ARTICLE.as_bytes()).unwrap()
        );
    }

    #[test]
    fn an_avro_or_protobuf_framed_record_is_refused_with_its_schema_id() {
        let avro = [0, 0, 0, 0, 7, 2, b'a', b'1'];
        let error = article(&avro).unwrap_err();
        assert_eq!(error, DecodeError::NotJsonFramed { schema_id: 7 });
        assert!(error.to_string().contains("schema id 7"), "{error}");
        assert_eq!(error.reason().as_str(), "unsupported_encoding");
        // Too short for the framing: read as it is, and refused as not UTF-8 JSON.
        assert_eq!(
            article(&[0, 1]).unwrap_err().reason().as_str(),
            "invalid_json"
        );
    }

    #[test]
    fn a_structured_cloudevent_yields_its_data_with_its_attributes_kept() {
        let event = json!({
            "specversion": "1.0", "type": "org.example.article", "source": "/wire",
            "id": "ev-9", "time": "2024-07-01T09:00:00Z",
            "datacontenttype": "application/json",
            "data": {"body": "Parliament passed the budget.", "title": "Budget"}
        });
        let read = article(event.to_string().as_bytes()).unwrap();
        assert_eq!(
            read.id, "ev-9",
            "the event's id stands in for the article's"
        );
        assert_eq!(read.title.as_deref(), Some("Budget"));
        assert_eq!(
            read.source_fields["cloudevent"]["type"],
            "org.example.article"
        );
        let encoded = data_encoding::BASE64.encode(ARTICLE.as_bytes());
        let event = json!({"specversion": "1.0", "type": "t", "source": "s", "id": "e",
            "data_base64": encoded});
        assert_eq!(article(event.to_string().as_bytes()).unwrap().id, "a1");
    }

    #[test]
    fn a_cloudevent_without_an_article_is_refused_clearly() {
        for (event, says) in [
            (json!({"specversion": "1.0", "id": "e"}), "`data`"),
            (
                json!({"specversion": "1.0", "data": "text"}),
                "`data` must be a JSON object",
            ),
            (
                json!({"specversion": "1.0", "datacontenttype": "application/avro", "data": {}}),
                "datacontenttype",
            ),
            (
                json!({"specversion": "1.0", "data_base64": "%%%"}),
                "base64",
            ),
        ] {
            let error = article(event.to_string().as_bytes()).unwrap_err();
            assert!(error.to_string().contains(says), "{event}: {error}");
            assert_eq!(error.reason().as_str(), "schema_violation");
        }
    }
}
