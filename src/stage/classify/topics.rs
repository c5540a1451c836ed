//! IPTC Media Topics from weighted term lists (`data/topics/lexicon.tsv`): each matched
//! term adds its weight to its topic, title terms count more, and the topics within reach
//! of the best are kept, best first.

use std::cmp::Reverse;
use std::sync::LazyLock;

use crate::folded::{self, Folded, Hit, Patterns};
use crate::record::Topic;

const LEXICON_TSV: &str = include_str!("../../../data/topics/lexicon.tsv");

/// A title term says more about the topic than a body term.
const TITLE_FACTOR: f64 = 3.0;
/// Topics below this share of the best topic's score are left out.
const MIN_SHARE: f64 = 0.3;
/// Below this total weight the text says too little to name any topic.
const MIN_SCORE: f64 = 1.5;
/// At most this many topics are reported.
const MAX_TOPICS: usize = 4;
/// Politics leads a facet topic (see [`Lexicon::put_policy_first`]) when it scores at
/// least this share of the facet's score.
const POLICY_SHARE: f64 = 0.6;
const POLITICS: &str = "medtop:11000000";

struct TopicInfo {
    qcode: String,
    name: String,
    /// Multiplies the topic's score. Facets that often run through stories of another
    /// desk (crime in politics, jobs in business) rank first only when they dominate.
    prior: f64,
}

#[derive(Clone, Copy)]
struct Term {
    topic: usize,
    weight: f64,
    /// The term is a stem ("elect*") and may be followed by more letters.
    stem: bool,
    /// An acronym ("WHO", "EU") matches only as written, not as the word "who".
    acronym: bool,
}

pub struct Lexicon {
    topics: Vec<TopicInfo>,
    /// The terms, folded ([`folded::pattern`]); the classify stage matches them together
    /// with the country terms.
    patterns: Patterns,
    /// By index of `patterns`.
    terms: Vec<Term>,
}

static GLOBAL: LazyLock<Lexicon> = LazyLock::new(|| Lexicon::parse(LEXICON_TSV));

impl Lexicon {
    /// The lexicon, loaded once on first use.
    pub fn global() -> &'static Lexicon {
        &GLOBAL
    }

    /// Lines are `topic<TAB>CODE<TAB>NAME<TAB>PRIOR` to declare a topic, or
    /// `CODE<TAB>WEIGHT<TAB>term|term|stem*` to add terms to it.
    fn parse(tsv: &str) -> Self {
        let mut topics: Vec<TopicInfo> = Vec::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut terms: Vec<Term> = Vec::new();
        let rows = tsv
            .lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .map(|line| line.split('\t').collect::<Vec<_>>());
        for fields in rows {
            match fields[..] {
                ["topic", code, name, prior] => topics.push(TopicInfo {
                    qcode: format!("medtop:{code}"),
                    name: name.to_owned(),
                    prior: prior.parse().unwrap_or(1.0),
                }),
                [code, weight, list] => {
                    let qcode = format!("medtop:{code}");
                    let (Some(topic), Ok(weight)) = (
                        topics.iter().position(|t| t.qcode == qcode),
                        weight.parse::<f64>(),
                    ) else {
                        continue;
                    };
                    for term in list.split('|').map(str::trim).filter(|t| !t.is_empty()) {
                        let stem = term.ends_with('*');
                        let pattern = term.trim_end_matches('*');
                        let acronym = pattern.chars().filter(|c| c.is_alphabetic()).count() > 1
                            && !pattern.chars().any(char::is_lowercase);
                        patterns.push(folded::pattern(pattern));
                        terms.push(Term {
                            topic,
                            weight,
                            stem,
                            acronym,
                        });
                    }
                }
                _ => {}
            }
        }
        Self {
            topics,
            patterns: Patterns::new(patterns),
            terms,
        }
    }

    /// The terms, for a [`Dictionary`] (see [`Self::classify_in`]).
    pub fn patterns(&self) -> &[String] {
        self.patterns.as_slice()
    }

    /// The topics of an article, best first, with scores that sum to one.
    pub fn classify(&self, title: &str, body: &str) -> Vec<Topic> {
        let (title, body) = (Folded::new(title), Folded::new(body));
        let (title_hits, body_hits) = (self.patterns.scan(&title), self.patterns.scan(&body));
        self.classify_in((&title, &title_hits), (&body, &body_hits), 0)
    }

    /// [`Self::classify`] from scans of the folded title and body by a dictionary whose
    /// list `list` is [`Self::patterns`].
    pub fn classify_in(
        &self,
        title: (&Folded, &[Hit]),
        body: (&Folded, &[Hit]),
        list: usize,
    ) -> Vec<Topic> {
        let mut scores = vec![0.0; self.topics.len()];
        let mut seen = vec![0u32; self.terms.len()];
        for ((folded, hits), factor) in [(title, TITLE_FACTOR), (body, 1.0)] {
            let text = folded.text();
            for hit in leftmost_longest(hits, list) {
                let (index, words) = (hit.term, hit.words.clone());
                let term = self.terms[index];
                let written = &text[words.clone()];
                let whole = term.stem || folded.is_word_end(words.end);
                if !whole || (term.acronym && written.chars().any(char::is_lowercase)) {
                    continue;
                }
                // Repeats of one term add less and less: the n-th counts 1/n.
                seen[index] += 1;
                scores[term.topic] +=
                    term.weight * factor / f64::from(seen[index]) * self.topics[term.topic].prior;
            }
        }
        let best = scores.iter().copied().fold(0.0, f64::max);
        if best < MIN_SCORE {
            return Vec::new();
        }
        let mut ranked: Vec<(usize, f64)> = scores
            .into_iter()
            .enumerate()
            .filter(|(_, score)| *score >= MIN_SHARE * best)
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        self.put_policy_first(&mut ranked);
        ranked.truncate(MAX_TOPICS);
        let total: f64 = ranked.iter().map(|(_, s)| s).sum();
        ranked
            .into_iter()
            .map(|(topic, score)| Topic {
                qcode: self.topics[topic].qcode.clone(),
                name: self.topics[topic].name.clone(),
                score: (score / total * 1000.0).round() / 1000.0,
            })
            .collect()
    }

    /// A facet led by government ("ministers plan exam reform") is a policy story: when the
    /// leading topic is a facet and politics scores close behind, politics leads.
    fn put_policy_first(&self, ranked: &mut [(usize, f64)]) {
        let Some(&(first, first_score)) = ranked.first() else {
            return;
        };
        if self.topics[first].prior >= 1.0 {
            return;
        }
        if let Some(position) = ranked.iter().position(|(topic, score)| {
            self.topics[*topic].qcode == POLITICS && *score >= POLICY_SHARE * first_score
        }) {
            ranked[..=position].rotate_right(1);
        }
    }
}

/// The hits of `list` that a left-to-right reading takes: at each place the longest term
/// (the first of equal ones), then on after its end. "prime minister" counts once, not
/// also as "minister".
fn leftmost_longest(hits: &[Hit], list: usize) -> Vec<&Hit> {
    let mut ordered: Vec<&Hit> = hits.iter().filter(|hit| hit.list == list).collect();
    ordered.sort_unstable_by_key(|hit| (hit.words.start, Reverse(hit.words.end), hit.term));
    let mut covered_to = 0;
    ordered.retain(|hit| {
        let taken = hit.words.start >= covered_to;
        if taken {
            covered_to = hit.words.end;
        }
        taken
    });
    ordered
}

#[cfg(test)]
mod tests;
