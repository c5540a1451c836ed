//! Political persons by full name (data/extract/people.tsv): the country they act for and
//! the office they act in, for a person the text names with neither ("Levy Mwanawasa has
//! reneged on his commitment").

use rustc_hash::FxHashMap;

/// A person the reference data knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownPerson {
    /// ISO 3166-1 alpha-3.
    pub country: &'static str,
    /// The title that stands for the person's sector, as an agent word ("leader" for GOV).
    pub title: &'static str,
}

/// The agent word of each sector the data uses, so a known person acts as a titled one.
fn title_of(sector: &str) -> Option<&'static str> {
    Some(match sector {
        "GOV" => "leader",
        "PTY" => "politician",
        "MIL" => "commander",
        "REB" => "rebel",
        "OPP" => "opposition leader",
        "SPY" => "intelligence",
        "COP" => "police",
        "LEG" => "lawmaker",
        _ => return None,
    })
}

/// A name as the table keys it: lower case, words split by spaces only ("Jean-Bertrand
/// Aristide" is "jean bertrand aristide").
fn key(name: &str) -> String {
    name.split(|c: char| c.is_whitespace() || c == '-' || c == '.')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The known persons, by their names in lower case, words split by spaces only.
pub struct People(FxHashMap<String, KnownPerson>);

impl People {
    /// The table built into the binary.
    pub fn load() -> Self {
        Self(
            include_str!("../../../data/extract/people.tsv")
                .lines()
                .filter(|line| !line.starts_with('#'))
                .filter_map(|line| {
                    let mut fields = line.split('\t');
                    let name = fields.next()?;
                    let country = fields.next()?;
                    let title = title_of(fields.next()?)?;
                    Some((key(name), KnownPerson { country, title }))
                })
                .collect(),
        )
    }

    /// The known person with this full name.
    pub fn known(&self, name: &str) -> Option<KnownPerson> {
        self.0.get(&key(name)).copied()
    }
}

#[cfg(test)]
mod tests {
    use crate::stage::reference::for_tests;

    #[test]
    fn a_full_name_finds_the_country_and_office_in_any_spelling() {
        let known_person = |name| for_tests().extract.people.known(name);
        let aristide = known_person("Jean-Bertrand Aristide").expect("known");
        assert_eq!(
            aristide,
            known_person("JEAN BERTRAND  ARISTIDE").expect("known")
        );
        assert_eq!(aristide.country, "HTI");
        assert_eq!(aristide.title, "leader");
        assert_eq!(
            known_person("Aristide"),
            None,
            "a single name is too ambiguous"
        );
        assert_eq!(known_person("Jean Smith"), None);
    }
}
