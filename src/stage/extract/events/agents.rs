//! The words an actor's sector comes from (data/extract/agents.tsv: "troops" MIL, "riot
//! police" COP, ...), and the capitals that act for their state
//! (data/extract/capitals.txt: "Beijing warned").

use rustc_hash::{FxHashMap, FxHashSet};

use super::triggers::noun_forms;

pub struct Agents {
    /// Agent words by lower-case form (plurals included), with their sector.
    sectors: FxHashMap<String, &'static str>,
    capitals: FxHashSet<&'static str>,
}

impl Agents {
    /// The dictionaries built into the binary.
    pub fn load() -> Self {
        let mut sectors = FxHashMap::default();
        for line in data_lines(include_str!("../../../../data/extract/agents.tsv")) {
            let Some((words, sector)) = line.split_once('\t') else {
                continue;
            };
            let (last, rest) = words.rsplit_once(' ').map_or(("", words), |(r, l)| (l, r));
            let forms = if last.is_empty() {
                noun_forms(rest)
            } else {
                noun_forms(last)
                    .into_iter()
                    .map(|plural| format!("{rest} {plural}"))
                    .collect()
            };
            for form in forms {
                sectors.entry(form).or_insert(sector);
            }
        }
        let capitals = data_lines(include_str!("../../../../data/extract/capitals.txt")).collect();
        Self { sectors, capitals }
    }

    /// The sector of an agent word or two-word phrase ("police", "riot police").
    pub fn sector_of(&self, lower: &str) -> Option<&'static str> {
        self.sectors.get(lower).copied()
    }

    /// The sector of a two-word agent phrase given as its words ("terror", "network").
    pub fn sector_of_pair(&self, first: &str, second: &str) -> Option<&'static str> {
        self.sector_of(&format!("{first} {second}"))
    }

    /// Whether a city, as the gazetteer matched it, is a capital.
    pub fn is_capital(&self, city: &str) -> bool {
        self.capitals.contains(city)
    }
}

/// The lines of a data file that are neither comments nor blank.
fn data_lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
}
