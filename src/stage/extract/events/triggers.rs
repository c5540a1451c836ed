//! The trigger lexicon (data/extract/triggers.tsv): the words that can name an event, with
//! their PLOVER class, CAMEO code and form, looked up by the lower-case word they start
//! with. Verbs are inflected here ("attack", "attacks", "attacked", "attacking"), nouns
//! take their plural.

use rustc_hash::FxHashMap;

/// How a trigger names its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A verb whose subject acts on its object.
    Verb,
    /// A noun: "the summit", "air strikes on the city".
    Noun,
    /// A verb that governs another action: "threatened to strike", "refused to meet".
    Governor,
    /// An adjective that governs an action: "willing to withdraw".
    Adjective,
}

/// One trigger phrase.
#[derive(Debug)]
pub struct Trigger {
    /// The words as they appear in text, the first (verbs) or last (nouns) inflected.
    pub words: Vec<String>,
    pub class: &'static str,
    pub cameo: &'static str,
    pub form: Form,
    /// The object it needs ("impose" needs sanctions, a curfew, ...); empty: none needed.
    pub objects: Vec<&'static str>,
}

impl Trigger {
    /// The word the parse knows the trigger by: the verb of a verb phrase ("pull" of "pull
    /// out"), the last word of a noun phrase ("strike" of "air strike").
    pub fn head(&self) -> usize {
        match self.form {
            Form::Noun => self.words.len() - 1,
            _ => 0,
        }
    }

    /// Any object will do, but there must be one.
    pub fn needs_any_object(&self) -> bool {
        self.objects == ["*"]
    }

    /// Whether the lower-case words of an object fit what the trigger needs.
    pub fn takes_object(&self, object: &str) -> bool {
        if self.objects.is_empty() || self.needs_any_object() {
            return true;
        }
        self.objects.iter().any(|wanted| {
            object
                .match_indices(wanted)
                .any(|(at, _)| is_word_at(object, at, wanted.len()))
        })
    }

    /// Governs another action without being an event of its own ("plan to", "deny").
    pub fn only_governs(&self) -> bool {
        matches!(self.class, "INTENT" | "NEGATE")
    }
}

fn is_word_at(text: &str, at: usize, len: usize) -> bool {
    let before = text[..at].chars().next_back();
    let after = text[at + len..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// The trigger phrases, by their first word.
pub struct Lexicon {
    by_first: FxHashMap<String, Vec<Trigger>>,
}

/// Past forms that do not end in -ed.
const IRREGULAR: &[(&str, &[&str])] = &[
    ("meet", &["met"]),
    ("hold", &["held"]),
    ("seek", &["sought"]),
    ("fight", &["fought"]),
    ("shoot", &["shot"]),
    ("fly", &["flew", "flown"]),
    ("withdraw", &["withdrew", "withdrawn"]),
    ("undertake", &["undertook", "undertaken"]),
    ("forgive", &["forgave", "forgiven"]),
    ("break", &["broke", "broken"]),
    ("go", &["went", "gone"]),
    ("build", &["built"]),
    ("strike", &["struck"]),
    ("freeze", &["froze", "frozen"]),
    ("stand", &["stood"]),
    ("cut", &["cut"]),
    ("put", &["put"]),
    ("send", &["sent"]),
    ("lead", &["led"]),
    ("beat", &["beat", "beaten"]),
    ("take", &["took", "taken"]),
    ("overrun", &["overran"]),
    ("retake", &["retook", "retaken"]),
    ("seize", &["seized"]),
    ("give", &["gave", "given"]),
    ("sign", &["signed"]),
    ("shell", &["shelled"]),
    ("open", &["opened"]),
    ("fire", &["fired"]),
    ("gun", &["gunned"]),
    ("begin", &["began", "begun"]),
    ("make", &["made"]),
    ("pay", &["paid"]),
];

/// Verbs that double their last consonant: "ban" → "banned", "banning".
#[rustfmt::skip]
const DOUBLING: &[&str] = &[
    "ban", "commit", "plan", "stop", "cut", "ship", "bar", "drop", "step", "slam", "kidnap",
    "expel", "compel", "control", "occur", "admit", "submit", "regret", "shut", "hit", "put",
    "rebut", "gun", "rebuff", "begin",
];

pub fn verb_forms(lemma: &str) -> Vec<String> {
    let mut forms = vec![lemma.to_owned()];
    if let Some((_, past)) = IRREGULAR.iter().find(|(l, _)| *l == lemma) {
        forms.extend(past.iter().map(|p| (*p).to_owned()));
    }
    let (stem, last) = lemma.split_at(lemma.len() - 1);
    if DOUBLING.contains(&lemma) && !lemma.ends_with("ff") {
        forms.push(format!("{lemma}{last}ed"));
        forms.push(format!("{lemma}{last}ing"));
        forms.push(format!("{lemma}s"));
    } else if last == "e" {
        forms.push(format!("{lemma}s"));
        forms.push(format!("{lemma}d"));
        forms.push(if lemma.ends_with("ee") {
            format!("{lemma}ing")
        } else {
            format!("{stem}ing")
        });
    } else if last == "y" && !stem.ends_with(['a', 'e', 'o', 'u']) {
        forms.push(format!("{stem}ies"));
        forms.push(format!("{stem}ied"));
        forms.push(format!("{lemma}ing"));
    } else {
        let sibilant = ["s", "x", "z", "ch", "sh", "o"]
            .iter()
            .any(|e| lemma.ends_with(e));
        forms.push(if sibilant {
            format!("{lemma}es")
        } else {
            format!("{lemma}s")
        });
        forms.push(format!("{lemma}ed"));
        forms.push(format!("{lemma}ing"));
    }
    forms.sort();
    forms.dedup();
    forms
}

pub fn noun_forms(noun: &str) -> Vec<String> {
    if noun.ends_with('s') && !noun.ends_with("ss") {
        // Already plural ("talks", "reinforcements").
        return vec![noun.to_owned()];
    }
    let plural = if noun.ends_with('y') && !noun.ends_with("ey") {
        format!("{}ies", &noun[..noun.len() - 1])
    } else if ["s", "x", "ch", "sh"].iter().any(|e| noun.ends_with(e)) {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    };
    vec![noun.to_owned(), plural]
}

impl Lexicon {
    /// The lexicon built into the binary.
    pub fn load() -> Self {
        Self::parse(include_str!("../../../../data/extract/triggers.tsv"))
    }

    fn parse(tsv: &'static str) -> Self {
        let mut by_first: FxHashMap<String, Vec<Trigger>> = FxHashMap::default();
        for line in tsv.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&'static str> = line.split('\t').collect();
            let (phrase, class, cameo, form) = match fields[..] {
                [phrase, class, cameo, form, ..] => (phrase, class, cameo, form),
                _ => continue,
            };
            let objects: Vec<&'static str> = fields
                .get(4)
                .map(|o| o.split('|').filter(|w| !w.is_empty()).collect())
                .unwrap_or_default();
            let words: Vec<&str> = phrase.split(' ').collect();
            let form = match form {
                "n" => Form::Noun,
                "g" => Form::Governor,
                "a" => Form::Adjective,
                _ => Form::Verb,
            };
            let variants: Vec<Vec<String>> = match form {
                Form::Noun => {
                    let (last, rest) = words.split_last().expect("a phrase has a word");
                    noun_forms(last)
                        .into_iter()
                        .map(|plural| {
                            rest.iter()
                                .map(|w| (*w).to_owned())
                                .chain(std::iter::once(plural))
                                .collect()
                        })
                        .collect()
                }
                Form::Adjective => vec![words.iter().map(|w| (*w).to_owned()).collect()],
                Form::Verb | Form::Governor => verb_forms(words[0])
                    .into_iter()
                    .map(|head| {
                        std::iter::once(head)
                            .chain(words[1..].iter().map(|w| (*w).to_owned()))
                            .collect()
                    })
                    .collect(),
            };
            for words in variants {
                by_first.entry(words[0].clone()).or_default().push(Trigger {
                    words,
                    class,
                    cameo,
                    form,
                    objects: objects.clone(),
                });
            }
        }
        for triggers in by_first.values_mut() {
            // Longest first, then those that need a particular object before the rest.
            triggers.sort_by_key(|t| {
                (
                    std::cmp::Reverse(t.words.len()),
                    t.objects.is_empty() || t.needs_any_object(),
                )
            });
        }
        Self { by_first }
    }

    /// The triggers that start with a lower-case word, longest first.
    pub fn starting_with(&self, lower: &str) -> &[Trigger] {
        self.by_first.get(lower).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::reference::for_tests;

    #[test]
    fn verbs_inflect_and_nouns_take_plurals() {
        assert!(verb_forms("agree").contains(&"agreed".to_owned()));
        assert!(verb_forms("agree").contains(&"agreeing".to_owned()));
        assert!(verb_forms("accuse").contains(&"accusing".to_owned()));
        assert!(verb_forms("deny").contains(&"denied".to_owned()));
        assert!(verb_forms("ban").contains(&"banned".to_owned()));
        assert!(verb_forms("meet").contains(&"met".to_owned()));
        assert_eq!(noun_forms("talks"), vec!["talks"]);
        assert_eq!(noun_forms("strike"), vec!["strike", "strikes"]);
    }

    #[test]
    fn triggers_are_found_by_their_first_word_with_what_they_need() {
        let lexicon = &for_tests().extract.lexicon;
        let imposed = lexicon.starting_with("imposed");
        assert!(imposed.iter().any(|t| t.class == "SANCTION"));
        let sanction = imposed.iter().find(|t| t.class == "SANCTION").unwrap();
        assert!(sanction.takes_object("new economic sanctions"));
        assert!(!sanction.takes_object("a new tax"));
        let air = lexicon.starting_with("air");
        let strikes = air.iter().find(|t| t.words == ["air", "strikes"]).unwrap();
        assert_eq!((strikes.class, strikes.head()), ("ASSAULT", 1));
        let threatened = &lexicon.starting_with("threatened")[0];
        assert_eq!(threatened.form, Form::Governor);
        assert!(lexicon
            .starting_with("planned")
            .iter()
            .all(Trigger::only_governs));
        assert!(lexicon.starting_with("banana").is_empty());
    }
}
