//! The enriched article: what the stages produce (schemas/enriched-article.v1.json).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::InputFormat;

/// Version of the enriched-article and event schemas; bumped on incompatible changes.
/// 2: topic scores are calibrated probabilities with their evidence, `models` names the
/// trained models, and events carry their actors' and targets' sectors and words.
/// 3: `clean.paragraphs` is the article; `clean.text`, the same words joined, is left out
/// unless the `include_text` setting asks for it.
/// 4: a withdrawn article is retracted: a tombstone on the output topic, a kill marker on
/// the events topic, a kill line in files (`super::kill`).
/// 5: `embargoed`, the time before which the article may not be published
/// (`super::embargo`), and the superseded line (`super::version`).
pub const SCHEMA_VERSION: u32 = 5;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnrichedArticle {
    pub id: String,
    pub schema_version: u32,
    pub published_at: Option<DateTime<FixedOffset>>,
    /// Not to be published before this time: held on the embargo topic until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embargoed: Option<DateTime<FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub input_format: Option<InputFormat>,
    pub clean: Clean,
    pub regions: Regions,
    /// IPTC Media Topics, best first.
    pub topics: Vec<Topic>,
    /// Which trained models produced the fields above.
    pub models: Models,
    pub entities: Vec<Entity>,
    pub quotes: Vec<Quote>,
    pub events: Vec<Event>,
    /// The story the article belongs to, among the articles seen before it (`newsflow
    /// process`: those of its input).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub story: Option<crate::story::Story>,
    /// Input fields newsflow does not interpret, passed through unchanged.
    #[serde(skip_serializing_if = "Map::is_empty", default)]
    pub source_fields: Map<String, Value>,
}

impl EnrichedArticle {
    /// Drops `clean.text` from the record before it goes out; the paragraphs stay.
    pub fn leave_out_text(&mut self) {
        self.clean.text = String::new();
    }

    /// Which version of its article this is, as its input said.
    pub fn version(&self) -> super::ArticleVersion {
        super::ArticleVersion::of(
            &self.id,
            self.input_format.unwrap_or(InputFormat::RawArticle),
            &self.source_fields,
            self.published_at,
        )
    }
}

/// The article itself, without the page or feed furniture around it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Clean {
    pub title: Option<String>,
    /// Paragraphs joined by blank lines, as the stages read them. Records carry it only
    /// when the `include_text` setting is on ([`EnrichedArticle::leave_out_text`]): it
    /// repeats the paragraphs, and makes a record half as large again.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    pub paragraphs: Vec<String>,
    pub section: Option<String>,
    pub credits: Vec<String>,
    /// ISO 639-1 code, when it could be identified.
    pub language: Option<String>,
    pub word_count: usize,
    /// 64-bit SimHash of `text` as 16 hex digits: copies of one article differ in few bits.
    #[serde(default)]
    pub fingerprint: String,
    /// The publication date the page states, as written there (HTML input only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// What was taken out and why, for debugging a site's extraction.
    pub removed: Vec<Removal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    pub text: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Regions {
    /// Countries the article is about, best first.
    pub countries: Vec<Country>,
    /// UN M49 sub-regions of those countries, best first.
    pub subregions: Vec<Subregion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Country {
    /// ISO 3166-1 alpha-2.
    pub code: String,
    pub name: String,
    pub score: f64,
    pub mentions: u32,
    /// The matched spans, as written in the article.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subregion {
    /// UN M49 name, e.g. "Eastern Asia".
    pub name: String,
    /// UN M49 numeric code, e.g. "030".
    pub code: String,
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    /// IPTC Media Topic qcode, e.g. "medtop:11000000".
    pub qcode: String,
    pub name: String,
    /// The model's calibrated probability that the article is about this topic.
    pub score: f64,
    /// A second-level topic's top-level topic (which it follows in the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The article's terms that raised this topic most, as the model reads them
    /// (lower-cased, digits as 0).
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// The versions of the trained models that enriched an article.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Models {
    /// The topic model (`data/topics/model.bin`).
    pub topics: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityType {
    Person,
    Organization,
    Location,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub text: String,
    #[serde(rename = "type")]
    pub kind: EntityType,
    pub mentions: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub speaker: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    Occurred,
    Planned,
    Uncertain,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// PLOVER event class, e.g. "CONSULT".
    pub plover: String,
    /// CAMEO code, e.g. "042".
    pub cameo: String,
    /// ISO 3166-1 alpha-3 codes or organisation acronyms.
    pub actors: Vec<String>,
    pub targets: Vec<String>,
    /// Who acted, one entry per actor phrase: its code (`None` when its country is not
    /// known), CAMEO sector and words.
    #[serde(default)]
    pub actor_details: Vec<ActorDetail>,
    /// Who was acted on, likewise.
    #[serde(default)]
    pub target_details: Vec<ActorDetail>,
    pub location: Option<EventLocation>,
    /// YYYY-MM-DD.
    pub date_start: Option<String>,
    pub date_end: Option<String>,
    pub modality: Modality,
    /// The evidence sentence.
    pub sentence: String,
    pub confidence: f64,
    /// Stable id of the event's family, from its class and parties (not its place or date,
    /// which one article gives and another not): articles about the same event share it.
    /// `newsflow aggregate` tells a family's events apart by place, date and time.
    pub fingerprint: String,
}

/// An actor as the text names it: "Israeli riot police" is `ISR`, `COP`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorDetail {
    /// ISO 3166-1 alpha-3 code or organisation acronym.
    pub code: Option<String>,
    /// CAMEO sector: GOV, MIL, COP, JUD, LEG, OPP, REB, UAF, SPY, PTY, IGO, NGO (political),
    /// BUS, MED, CVL, EDU, LAB, REF, REL, HLH, CRM.
    pub sector: Option<String>,
    /// The phrase as written.
    pub words: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventLocation {
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub name: Option<String>,
}
