//! International organisations by name and acronym (data/extract/organisations.tsv): the
//! actor code and category of an organisation the text names, with or without its
//! definition ("... Organisation (SCO)").

use super::entities::Found;

/// A known international organisation: its actor code and category (IGO, NGO).
#[derive(Debug, Clone)]
pub struct KnownOrganisation {
    pub name: String,
    pub acronym: String,
    pub category: String,
}

pub struct Organisations(Vec<KnownOrganisation>);

impl Organisations {
    /// The table built into the binary.
    pub fn load() -> Self {
        Self(
            include_str!("../../../data/extract/organisations.tsv")
                .lines()
                .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
                .filter_map(|line| {
                    let mut fields = line.split('\t');
                    Some(KnownOrganisation {
                        name: fields.next()?.to_owned(),
                        acronym: fields.next()?.to_owned(),
                        category: fields.next()?.to_owned(),
                    })
                })
                .collect(),
        )
    }

    /// The known organisation with this name or acronym.
    pub fn named(&self, name: &str) -> Option<&KnownOrganisation> {
        self.0
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name) || o.acronym == name)
    }

    /// The known organisation an entity is, by its acronym or its name.
    pub fn of(&self, entity: &Found) -> Option<&KnownOrganisation> {
        entity
            .acronym
            .as_deref()
            .and_then(|acronym| self.named(acronym))
            .or_else(|| self.named(&entity.text))
    }
}
