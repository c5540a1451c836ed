//! Decoding of input records: the project's raw-article format and IPTC ninjs items.
//!
//! Decoding is strict about what the stages need (`id`, `body`, types, size) and lenient
//! about everything else: unknown fields are kept in `source_fields` and passed through.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::dates::parse_timestamp;
use super::embargo::take_embargo;
use super::kill::{kill_status, Kill};
use super::{DecodeError, Input};

/// How the body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContentType {
    #[serde(rename = "text/plain")]
    Text,
    #[serde(rename = "text/html")]
    Html,
}

impl ContentType {
    /// Parses a MIME type, ignoring parameters such as `; charset=utf-8`.
    pub fn from_mime(mime: &str) -> Option<Self> {
        let essence = mime.split(';').next().unwrap_or("").trim();
        match essence.to_ascii_lowercase().as_str() {
            "text/plain" | "text" | "plain" => Some(Self::Text),
            "text/html" | "html" | "application/xhtml+xml" => Some(Self::Html),
            _ => None,
        }
    }

    /// Guesses the type of a body that did not declare one: markup tags near the start
    /// or a fair number of tags overall mean HTML.
    pub fn sniff(body: &str) -> Self {
        let head = &body.as_bytes()[..floor_char_boundary(body, 2048)];
        // Looks only behind each '<': plain text has few or none, so this costs next to
        // nothing on the common case.
        const TAGS: [&[u8]; 8] = [
            b"p>", b"p ", b"div", b"br", b"body", b"article", b"span", b"h1",
        ];
        let mut tag_count = 0;
        for at in memchr::memchr_iter(b'<', head) {
            let after = &head[at + 1..];
            let opens = |name: &[u8]| {
                after
                    .get(..name.len())
                    .is_some_and(|start| start.eq_ignore_ascii_case(name))
            };
            if opens(b"!doctype html") || opens(b"html") {
                return Self::Html;
            }
            tag_count += TAGS.iter().filter(|tag| opens(tag)).count();
        }
        if tag_count >= 2 {
            Self::Html
        } else {
            Self::Text
        }
    }
}

/// The largest index `<= max` that falls on a character boundary of `s`.
pub fn floor_char_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Characters that show nothing: soft hyphens, zero-width spaces and joiners, word
/// joiners, byte-order marks, and the bidi controls.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'
    ) || is_bidi_control(c)
}

/// The bidi embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069): they
/// make text display other than it is stored.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Which input format a record arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputFormat {
    RawArticle,
    Ninjs,
}

impl InputFormat {
    /// The field that holds the article id: the key of every output.
    fn id_field(self) -> &'static str {
        match self {
            Self::RawArticle => "id",
            Self::Ninjs => "uri",
        }
    }
}

/// A decoded input article, ready for the stages.
#[derive(Debug, Clone, PartialEq)]
pub struct RawArticle {
    pub id: String,
    pub body: String,
    pub title: Option<String>,
    pub url: Option<String>,
    pub source: Option<String>,
    pub section: Option<String>,
    pub language: Option<String>,
    pub content_type: ContentType,
    pub published_at: Option<DateTime<FixedOffset>>,
    /// Not to be published before this time (`embargoed`, [`super::EMBARGO_FIELD`]).
    pub embargoed: Option<DateTime<FixedOffset>>,
    pub format: InputFormat,
    /// Fields the project does not interpret, kept as they came.
    pub source_fields: Map<String, Value>,
}

impl RawArticle {
    /// A plain-text article with only the required fields, for tests and tools.
    pub fn text(id: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            body: body.into(),
            title: None,
            url: None,
            source: None,
            section: None,
            language: None,
            content_type: ContentType::Text,
            published_at: None,
            embargoed: None,
            format: InputFormat::RawArticle,
            source_fields: Map::new(),
        }
    }

    /// Which version of its article this is.
    pub fn version(&self) -> super::ArticleVersion {
        super::ArticleVersion::of(
            &self.id,
            self.format,
            &self.source_fields,
            self.published_at,
        )
    }
}

/// Decodes one record's bytes, enforcing `max_bytes`: an article, or a [`super::Kill`],
/// which needs its id and nothing else.
pub fn decode(bytes: &[u8], max_bytes: usize) -> Result<Input, DecodeError> {
    let bytes = super::envelope::unframe(bytes)?;
    if bytes.len() > max_bytes {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::Empty);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| DecodeError::InvalidUtf8 {
        position: e.valid_up_to(),
    })?;
    // Editors and exporters on some systems start a file with a byte-order mark.
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    if text.trim_ascii().is_empty() {
        return Err(DecodeError::Empty);
    }
    let mut fields = super::envelope::open_cloudevent(json_object(text)?)?;
    let format = if is_ninjs(&fields) {
        InputFormat::Ninjs
    } else {
        InputFormat::RawArticle
    };
    if let Some(status) = kill_status(&fields)? {
        let id = required_id(&mut fields, format)?;
        return Ok(Input::Kill(Kill { id, status, format }));
    }
    match format {
        InputFormat::Ninjs => from_ninjs(fields),
        InputFormat::RawArticle => from_raw_article(fields),
    }
    .map(Input::Article)
}

/// The JSON object `text` holds, each key named once.
pub(super) fn json_object(text: &str) -> Result<Map<String, Value>, DecodeError> {
    let value = serde_json::from_str::<UniqueKeys>(text)
        .map_err(|e| DecodeError::InvalidJson {
            detail: e.to_string(),
        })?
        .0;
    match value {
        Value::Object(fields) => Ok(fields),
        other => Err(DecodeError::NotAnObject {
            found: json_type_name(&other),
        }),
    }
}

/// A record is a ninjs item when it has no `body` but a ninjs body (`bodies` in 2.x,
/// `body_html` or `body_text` in 1.x), or a `uri` and no `id`; its id is then its `uri`,
/// and a stray `id` passes through. Anything else is a raw article, so a record with an
/// `id`, a `uri` and no body of either kind is told that it misses `body`.
fn is_ninjs(fields: &Map<String, Value>) -> bool {
    let has = |field| fields.contains_key(field);
    !has("body")
        && (has("bodies") || has("body_html") || has("body_text") || (has("uri") && !has("id")))
}

/// A JSON value whose objects, at any depth, name each key once. JSON parsers disagree on
/// which of two equal keys wins, so a record with both would be read differently by
/// newsflow and by the next program: it is refused instead.
struct UniqueKeys(Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UniqueKeysVisitor)
            .map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let UniqueKeys(value) = map.next_value()?;
            if fields.contains_key(&key) {
                let shown = &key[..floor_char_boundary(&key, 64)];
                return Err(serde::de::Error::custom(format_args!(
                    "duplicate key `{shown}`"
                )));
            }
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }
}

fn from_raw_article(mut fields: Map<String, Value>) -> Result<RawArticle, DecodeError> {
    let id = required_id(&mut fields, InputFormat::RawArticle)?;
    let body = required_string(&mut fields, "body")?;
    let declared_type = optional_string(&mut fields, "content_type")?;
    let content_type = resolve_content_type(declared_type.as_deref(), &body)?;
    // A timestamp that cannot be read does not make the article unusable: it is treated as
    // unknown and passed through, as it came, among the unknown fields.
    let published_at = match optional_string(&mut fields, "published_at")? {
        Some(text) => {
            let parsed = parse_timestamp(&text);
            if parsed.is_none() {
                fields.insert("published_at".to_owned(), Value::String(text));
            }
            parsed
        }
        None => None,
    };
    Ok(RawArticle {
        id,
        title: optional_string(&mut fields, "title")?,
        url: optional_string(&mut fields, "url")?,
        source: optional_string(&mut fields, "source")?,
        section: optional_string(&mut fields, "section")?,
        language: optional_string(&mut fields, "language")?,
        body,
        content_type,
        published_at,
        embargoed: take_embargo(&mut fields)?,
        format: InputFormat::RawArticle,
        source_fields: fields,
    })
}

fn from_ninjs(mut fields: Map<String, Value>) -> Result<RawArticle, DecodeError> {
    let id = required_id(&mut fields, InputFormat::Ninjs)?;
    let (body, declared_type) = ninjs_body(&mut fields)?;
    let content_type = resolve_content_type(declared_type.as_deref(), &body)?;
    let title = match fields.remove("headlines") {
        Some(headlines) => pick_by_role(&headlines, "headlines")?.map(|(value, _)| value),
        None => optional_string(&mut fields, "headline")?,
    };
    // The ninjs timestamps stay among the passed-through fields; one that cannot be read
    // leaves the publication time unknown.
    let published_at = ["versioncreated", "firstcreated", "contentcreated"]
        .iter()
        .find_map(|key| fields.get(*key).and_then(Value::as_str))
        .and_then(parse_timestamp);
    let url = fields
        .get("altids")
        .and_then(|ids| ids.get("url").or_else(|| ids.get("web")))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(RawArticle {
        id,
        title,
        url,
        source: None,
        section: None,
        language: optional_string(&mut fields, "language")?,
        body,
        content_type,
        published_at,
        embargoed: take_embargo(&mut fields)?,
        format: InputFormat::Ninjs,
        source_fields: fields,
    })
}

/// The main body of a ninjs item: `bodies` (2.x, role "main" preferred) or
/// `body_html`/`body_text` (1.x).
fn ninjs_body(fields: &mut Map<String, Value>) -> Result<(String, Option<String>), DecodeError> {
    if let Some(bodies) = fields.remove("bodies") {
        return pick_by_role(&bodies, "bodies")?
            .ok_or(DecodeError::MissingField { field: "bodies" });
    }
    if let Some(html) = optional_string(fields, "body_html")? {
        return Ok((html, Some("text/html".to_owned())));
    }
    if let Some(text) = optional_string(fields, "body_text")? {
        return Ok((text, Some("text/plain".to_owned())));
    }
    Err(DecodeError::MissingField { field: "bodies" })
}

/// From a ninjs array of `{role, contenttype, value}` objects, the one with role "main"
/// (or else the first), as its value and content type.
fn pick_by_role(
    list: &Value,
    field: &'static str,
) -> Result<Option<(String, Option<String>)>, DecodeError> {
    let items = list
        .as_array()
        .ok_or(DecodeError::invalid(field, "an array of objects"))?;
    let chosen = items
        .iter()
        .find(|item| item.get("role").and_then(Value::as_str) == Some("main"))
        .or_else(|| items.first());
    let Some(item) = chosen else { return Ok(None) };
    let value = item
        .get("value")
        .and_then(Value::as_str)
        .ok_or(DecodeError::invalid(field, "objects with a string `value`"))?;
    let content_type = item
        .get("contenttype")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(Some((value.to_owned(), content_type)))
}

fn resolve_content_type(declared: Option<&str>, body: &str) -> Result<ContentType, DecodeError> {
    match declared {
        None => Ok(ContentType::sniff(body)),
        Some(mime) => ContentType::from_mime(mime).ok_or(DecodeError::invalid(
            "content_type",
            "text/plain or text/html",
        )),
    }
}

fn required_string(
    fields: &mut Map<String, Value>,
    field: &'static str,
) -> Result<String, DecodeError> {
    match fields.remove(field) {
        None | Some(Value::Null) => Err(DecodeError::MissingField { field }),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(DecodeError::invalid(field, "a string")),
    }
}

/// The article id of a record in `format`. It becomes the Kafka key of every output: it
/// must be something a person can read and type.
fn required_id(
    fields: &mut Map<String, Value>,
    format: InputFormat,
) -> Result<String, DecodeError> {
    let field = format.id_field();
    let id = required_string(fields, field)?;
    if id.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
        Err(DecodeError::invalid(
            field,
            "a string with visible characters",
        ))
    } else if id.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        Err(DecodeError::invalid(
            field,
            "a string without control characters",
        ))
    } else {
        Ok(id)
    }
}

fn optional_string(
    fields: &mut Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, DecodeError> {
    match fields.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(DecodeError::invalid(field, "a string or null")),
    }
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests;
