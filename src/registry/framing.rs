//! The wire format of Confluent's Schema Registry serializers: a magic byte 0, the schema
//! id as 4 big-endian bytes, then the serialized record. Avro and Protobuf payloads are
//! binary (Protobuf's also start with message indexes); JSON Schema payloads are the
//! record's JSON text.

/// First byte of every framed record.
pub const MAGIC_BYTE: u8 = 0;

/// Magic byte and schema id.
pub const HEADER_LEN: usize = 5;

/// `payload` framed for schema `schema_id`.
pub fn frame(schema_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(HEADER_LEN + payload.len());
    framed.push(MAGIC_BYTE);
    framed.extend_from_slice(&schema_id.to_be_bytes());
    framed.extend_from_slice(payload);
    framed
}

/// The schema id and the payload of a framed record; `None` when `bytes` do not start with
/// the magic byte or are shorter than the header.
pub fn unframe(bytes: &[u8]) -> Option<(u32, &[u8])> {
    match bytes {
        [MAGIC_BYTE, a, b, c, d, payload @ ..] => {
            Some((u32::from_be_bytes([*a, *b, *c, *d]), payload))
        }
        _ => None,
    }
}

/// What a record's payload holds, told from its first bytes without parsing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// Starts, after optional JSON whitespace, with `{` or `[`.
    Json,
    /// Nothing, or only whitespace.
    Empty,
    /// Anything else: Avro or Protobuf, which carry no mark of their own.
    Binary,
}

impl PayloadKind {
    pub fn of(payload: &[u8]) -> Self {
        match payload
            .iter()
            .find(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | b'\r'))
        {
            Some(b'{' | b'[') => Self::Json,
            Some(_) => Self::Binary,
            None => Self::Empty,
        }
    }
}

/// Why a record is not a framed JSON record, in words for a dead letter's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error(
        "not framed by a schema registry serializer: the first byte is {first_byte:#04x}, \
         not the magic byte 0"
    )]
    NotFramed { first_byte: u8 },
    #[error("empty record where a schema registry framed one was expected")]
    EmptyRecord,
    #[error(
        "the record starts with the schema registry's magic byte but is only {len} bytes \
         long, shorter than the {HEADER_LEN}-byte header"
    )]
    Truncated { len: usize },
    #[error("framed for schema id {schema_id} with an empty payload")]
    EmptyPayload { schema_id: u32 },
    #[error(
        "framed for schema id {schema_id}, but the payload is not JSON: Avro or Protobuf \
         framed, which newsflow does not decode"
    )]
    NotJson { schema_id: u32 },
    #[error(
        "framed for schema id {schema_id}, a {schema_type} schema in the schema registry: \
         newsflow reads JSON Schema records only"
    )]
    NotJsonSchema { schema_id: u32, schema_type: String },
}

impl FrameError {
    /// A short fixed name, for logs and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFramed { .. } | Self::EmptyRecord => "not_framed",
            Self::Truncated { .. } => "truncated_frame",
            Self::EmptyPayload { .. } => "empty_payload",
            Self::NotJson { .. } => "not_json_framed",
            Self::NotJsonSchema { .. } => "not_json_schema",
        }
    }
}

/// The schema id and JSON payload of a record framed by a JSON Schema serializer, or why
/// it is not one.
pub fn unframe_json(bytes: &[u8]) -> Result<(u32, &[u8]), FrameError> {
    let Some((schema_id, payload)) = unframe(bytes) else {
        return Err(match bytes.first() {
            None => FrameError::EmptyRecord,
            Some(&MAGIC_BYTE) => FrameError::Truncated { len: bytes.len() },
            Some(&first_byte) => FrameError::NotFramed { first_byte },
        });
    };
    match PayloadKind::of(payload) {
        PayloadKind::Json => Ok((schema_id, payload)),
        PayloadKind::Empty => Err(FrameError::EmptyPayload { schema_id }),
        PayloadKind::Binary => Err(FrameError::NotJson { schema_id }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_with_magic_byte_and_big_endian_id() {
        assert_eq!(frame(0x0102_0304, b"{}"), [0, 1, 2, 3, 4, b'{', b'}']);
        assert_eq!(frame(7, b""), [0, 0, 0, 0, 7]);
    }

    #[test]
    fn unframes_what_it_framed() {
        for id in [0, 1, 255, 256, 65_536, u32::MAX] {
            let framed = frame(id, br#"{"id":"a"}"#);
            assert_eq!(unframe(&framed), Some((id, &br#"{"id":"a"}"#[..])));
        }
        assert_eq!(unframe(&[0, 0, 0, 0, 9]), Some((9, &[][..])));
    }

    #[test]
    fn leaves_unframed_bytes_alone() {
        assert_eq!(unframe(b""), None);
        assert_eq!(unframe(&[0, 0, 0, 1]), None);
        assert_eq!(unframe(br#"{"id":"a"}"#), None);
        assert_eq!(unframe(&[1, 0, 0, 0, 1, b'{']), None);
    }

    #[test]
    fn tells_json_from_binary_payloads() {
        assert_eq!(PayloadKind::of(b"{}"), PayloadKind::Json);
        assert_eq!(PayloadKind::of(b" \r\n\t[1]"), PayloadKind::Json);
        assert_eq!(PayloadKind::of(b""), PayloadKind::Empty);
        assert_eq!(PayloadKind::of(b" \n"), PayloadKind::Empty);
        // An Avro record whose first field is a string of 3 bytes; a Protobuf message index.
        assert_eq!(
            PayloadKind::of(&[0x06, b'a', b'b', b'c']),
            PayloadKind::Binary
        );
        assert_eq!(PayloadKind::of(&[0x00, 0x0a, 0x01]), PayloadKind::Binary);
        // JSON that is not an object or array is no record.
        assert_eq!(PayloadKind::of(b"\"text\""), PayloadKind::Binary);
    }

    #[test]
    fn unframes_json_records_and_says_why_others_are_not() {
        let framed = frame(42, b"\n{\"id\":\"a\"}");
        assert_eq!(unframe_json(&framed), Ok((42, &b"\n{\"id\":\"a\"}"[..])));
        assert_eq!(unframe_json(b""), Err(FrameError::EmptyRecord));
        assert_eq!(
            unframe_json(b"{\"id\":\"a\"}"),
            Err(FrameError::NotFramed { first_byte: b'{' })
        );
        assert_eq!(
            unframe_json(&[0, 0, 1]),
            Err(FrameError::Truncated { len: 3 })
        );
        assert_eq!(
            unframe_json(&frame(5, b"")),
            Err(FrameError::EmptyPayload { schema_id: 5 })
        );
        let avro = unframe_json(&frame(6, &[0x06, b'a', b'b', b'c'])).unwrap_err();
        assert_eq!(avro, FrameError::NotJson { schema_id: 6 });
        assert_eq!(avro.kind(), "not_json_framed");
        assert_eq!(
            avro.to_string(),
            "framed for schema id 6, but the payload is not JSON: Avro or Protobuf framed, \
             which newsflow does not decode"
        );
        assert_eq!(
            FrameError::NotFramed { first_byte: b'{' }.to_string(),
            "not framed by a schema registry serializer: the first byte is 0x7b, not the \
             magic byte 0"
        );
    }
}
