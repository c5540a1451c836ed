//! Story clustering, scored pairwise on a test set made from development articles: each
//! of 300 articles gets three copies, as another outlet would publish it (other
//! boilerplate and title; light edits and two paragraphs swapped; a rewrite changing half
//! the sentences and their order; a regional version trimmed and extended with local
//! paragraphs). Every article arrives in a shuffled order, so copies may come first. Two
//! articles are the same story when one is a copy of the other, or when the corpus itself
//! holds them twice (nine tenths of one text's shingles in the other).
//!
//! Tuned on BBC News (topics/), checked on the article-extraction gold texts (extraction/),
//! which it was not tuned on.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use newsflow::aggregate::{AggregateConfig, Families};
use newsflow::record::{Event, EventRecord, SCHEMA_VERSION};
use newsflow::stage::{Enrichment, Pipeline};
use newsflow::story::signature::shingle_hashes;
use newsflow::story::{Signature, StoryConfig, StoryIndex};
use serde_json::{json, Value};

use crate::score::{ratio, Prf};

const COPIED: usize = 300;
const KINDS: [Kind; 3] = [Kind::Light, Kind::Rewrite, Kind::Regional];

pub fn evaluate(pipeline: &Pipeline, data_dir: &Path) -> anyhow::Result<()> {
    println!("== stories: same-story pairs (copies of development articles) ==");
    let sets = [
        ("BBC News (tuned on)", "topics/bbc.articles.jsonl", "body"),
        (
            "extraction gold texts",
            "extraction/aeb.gold.jsonl",
            "article_body",
        ),
    ];
    for (name, file, body_field) in sets {
        let originals = read(&data_dir.join(file), body_field)?;
        score(pipeline, name, &originals);
    }
    window_of_a_million();
    Ok(())
}

/// The index's memory and speed with a full default window: a million distinct articles
/// of 200 words drawn from a 50,000-word vocabulary, Zipf-like.
fn window_of_a_million() {
    const ARTICLES: usize = 1_000_000;
    let mut rng = Rng(0x0001_0000_0000);
    let vocabulary: Vec<String> = (0..50_000).map(|n| format!("w{n:x}")).collect();
    let mut index = StoryIndex::new(StoryConfig::default());
    let start = DateTime::parse_from_rfc3339("2024-07-01T00:00:00Z")
        .expect("a time")
        .with_timezone(&Utc);
    let mut text = String::new();
    let mut assigning = std::time::Duration::ZERO;
    let mut joined = 0usize;
    for n in 0..ARTICLES {
        text.clear();
        for _ in 0..200 {
            // Zipf-like: the rank is the square of a uniform draw.
            let rank = (rng.unit() * rng.unit() * vocabulary.len() as f64) as usize;
            text.push_str(&vocabulary[rank]);
            text.push(' ');
        }
        let signature = Signature::of(&text);
        let started = std::time::Instant::now();
        let story = index.assign(
            &format!("article-{n:08}"),
            &signature,
            start + Duration::seconds(n as i64 / 2),
        );
        assigning += started.elapsed();
        joined += usize::from(story.duplicate_of.is_some());
    }
    println!(
        "window of {ARTICLES} distinct articles: {} kept, index {:.0} MB ({:.0} bytes each), \
         {:.1} µs per article to assign, {joined} wrongly joined",
        index.len(),
        index.heap_bytes() as f64 / 1e6,
        index.heap_bytes() as f64 / index.len() as f64,
        assigning.as_secs_f64() * 1e6 / ARTICLES as f64,
    );
}

/// Who an article of the test set is a copy of, and what kind of copy.
type CopyOf = Option<(String, Kind)>;

/// An article of the test set.
struct Article {
    id: String,
    /// The original's id, for a copy.
    copy_of: CopyOf,
    text: String,
    events: Vec<Event>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Light,
    Rewrite,
    Regional,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Light => "light edits",
            Self::Rewrite => "rewrite",
            Self::Regional => "regional",
        }
    }
}

fn read(path: &Path, body_field: &str) -> anyhow::Result<Vec<(String, String, String)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|v| {
            let id = v["id"].as_str()?.to_owned();
            let body = v[body_field].as_str()?.to_owned();
            let title = v["title"].as_str().unwrap_or_default().to_owned();
            Some((id, title, body))
        })
        .filter(|(_, _, body)| body.split_whitespace().count() >= 50)
        .collect())
}

fn score(pipeline: &Pipeline, name: &str, originals: &[(String, String, String)]) {
    let mut rng = Rng(0x005e_ed0f_5707);
    let mut records: Vec<(String, CopyOf, Value)> = originals
        .iter()
        .map(|(id, title, body)| {
            (
                id.clone(),
                None,
                json!({ "id": id, "title": title, "body": body }),
            )
        })
        .collect();
    for kind in KINDS {
        for (id, title, body) in originals.iter().take(COPIED) {
            let copy_id = format!("{id}~{}", kind.name());
            let body = copy(body, kind, &mut rng);
            let record =
                json!({ "id": copy_id, "title": format!("Report: {title}"), "body": body });
            records.push((copy_id, Some((id.clone(), kind)), record));
        }
    }
    let mut articles: Vec<Article> = records
        .into_iter()
        .filter_map(|(id, copy_of, record)| {
            let enriched = pipeline
                .enrich(record.to_string().as_bytes(), usize::MAX)
                .ok()
                .and_then(Enrichment::into_article)?;
            let text = enriched.clean.paragraphs.join("\n\n");
            let events = enriched.events.clone();
            Some(Article {
                id,
                copy_of,
                text,
                events,
            })
        })
        .collect();
    rng.shuffle(&mut articles);

    let signatures: Vec<Signature> = articles.iter().map(|a| Signature::of(&a.text)).collect();
    let in_order: Vec<usize> = (0..articles.len()).collect();
    let (clusters, index) = assign_in(&articles, &signatures, &in_order);
    let gold = gold_stories(&articles);
    let mut pairs = Prf::default();
    let mut found: HashMap<&str, (usize, usize)> = HashMap::new();
    for a in 0..articles.len() {
        for b in a + 1..articles.len() {
            let same = gold[a] == gold[b];
            let predicted = clusters[a] == clusters[b];
            match (same, predicted) {
                (true, true) => pairs.true_positives += 1.0,
                (false, true) => pairs.false_positives += 1.0,
                (true, false) => pairs.false_negatives += 1.0,
                _ => {}
            }
            for (copy, original) in [(a, b), (b, a)] {
                if let Some((of, kind)) = &articles[copy].copy_of {
                    if *of == articles[original].id {
                        let tally = found.entry(kind.name()).or_default();
                        tally.0 += usize::from(predicted);
                        tally.1 += 1;
                    }
                }
            }
        }
    }
    println!(
        "{name}: {} articles, {} copies: pairs {}",
        originals.len(),
        articles.iter().filter(|a| a.copy_of.is_some()).count(),
        pairs.summary()
    );
    report_events(&articles);
    let mut kinds: Vec<_> = found.into_iter().collect();
    kinds.sort();
    for (kind, (joined, total)) in kinds {
        println!(
            "  copy with its original, {kind}: {joined}/{total} ({:.3})",
            ratio(joined as f64, total as f64)
        );
    }
    println!(
        "  articles kept: {}, index {:.0} bytes per article kept",
        index.len(),
        ratio(index.heap_bytes() as f64, index.len() as f64)
    );
    report_order(&articles, &signatures, &clusters, &mut rng);
}

/// The stories when the articles, each with its own publication time, are decided in
/// `order` (as replicas interleave them on the story log); and the index.
fn assign_in(
    articles: &[Article],
    signatures: &[Signature],
    order: &[usize],
) -> (Vec<String>, StoryIndex) {
    let mut index = StoryIndex::new(StoryConfig::default());
    let start = DateTime::parse_from_rfc3339("2024-07-01T00:00:00Z")
        .expect("a time")
        .with_timezone(&Utc);
    let mut clusters = vec![String::new(); articles.len()];
    for &n in order {
        let time = start + Duration::minutes(n as i64);
        clusters[n] = index
            .assign(&articles[n].id, &signatures[n], time)
            .cluster_id;
    }
    (clusters, index)
}

/// How much the stories depend on the order the articles are decided in: against five
/// other orders, the share of article pairs told one story in one order and not in the
/// other, and the share of articles whose `cluster_id` differs (another copy founded it).
fn report_order(
    articles: &[Article],
    signatures: &[Signature],
    clusters: &[String],
    rng: &mut Rng,
) {
    let (mut pairs_differing, mut ids_differing) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let mut order: Vec<usize> = (0..articles.len()).collect();
        rng.shuffle(&mut order);
        let (other, _) = assign_in(articles, signatures, &order);
        let (mut differ, mut pairs) = (0usize, 0usize);
        for a in 0..articles.len() {
            for b in a + 1..articles.len() {
                let together = clusters[a] == clusters[b];
                if together || other[a] == other[b] {
                    pairs += 1;
                    differ += usize::from(together != (other[a] == other[b]));
                }
            }
        }
        pairs_differing.push(ratio(differ as f64, pairs as f64));
        let ids = clusters.iter().zip(&other).filter(|(a, b)| a != b).count();
        ids_differing.push(ratio(ids as f64, articles.len() as f64));
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    println!(
        "  in 5 other orders (medians): same-story pairs differing {:.4}, cluster ids differing {:.3}",
        median(&mut pairs_differing),
        median(&mut ids_differing)
    );
}

/// How many of the events of each kind of copy have a fingerprint among its original's
/// events, and how many `newsflow aggregate` would count in one of its original's events
/// (same fingerprint, and place and date agreeing).
fn report_events(articles: &[Article]) {
    let by_id: HashMap<&str, &Article> = articles.iter().map(|a| (a.id.as_str(), a)).collect();
    let config = AggregateConfig::default();
    let record = |article: &Article, event: &Event| EventRecord {
        schema_version: SCHEMA_VERSION,
        article_id: article.id.clone(),
        published_at: None,
        url: None,
        source: None,
        event: event.clone(),
    };
    let now = Utc::now();
    for kind in KINDS {
        let (mut fingerprinted, mut aggregated, mut total, mut original_events) = (0, 0, 0, 0);
        for article in articles {
            let Some((of, copy_kind)) = &article.copy_of else {
                continue;
            };
            let Some(original) = by_id.get(of.as_str()) else {
                continue;
            };
            if *copy_kind != kind || original.events.is_empty() {
                continue;
            }
            original_events += original.events.len();
            total += article.events.len();
            let mut families = Families::default();
            for event in &original.events {
                families.count(&record(original, event), now, &config, 0);
            }
            for event in &article.events {
                fingerprinted += usize::from(
                    original
                        .events
                        .iter()
                        .any(|o| o.fingerprint == event.fingerprint),
                );
                let (_, id) = families.count(&record(article, event), now, &config, 0);
                let joined = families.get(&id).expect("counted");
                aggregated += usize::from(joined.article_ids.contains(&original.id));
            }
        }
        println!(
            "  events of {} copies ({total}; the originals have {original_events}): with a \
             fingerprint of their original's {:.3}, aggregated with one of its events {:.3}",
            kind.name(),
            ratio(fingerprinted as f64, total as f64),
            ratio(aggregated as f64, total as f64)
        );
    }
}

/// Each article's gold story: its original's, joined with originals the corpus holds
/// twice (nine tenths of the smaller one's shingles in the other).
fn gold_stories(articles: &[Article]) -> Vec<usize> {
    let position: HashMap<&str, usize> = articles
        .iter()
        .enumerate()
        .map(|(n, a)| (a.id.as_str(), n))
        .collect();
    let mut parent: Vec<usize> = (0..articles.len()).collect();
    fn root(parent: &mut [usize], mut n: usize) -> usize {
        while parent[n] != n {
            parent[n] = parent[parent[n]];
            n = parent[n];
        }
        n
    }
    let originals: Vec<(usize, Vec<u64>)> = articles
        .iter()
        .enumerate()
        .filter(|(_, a)| a.copy_of.is_none())
        .map(|(n, a)| (n, shingle_hashes(&a.text)))
        .collect();
    for (i, (a, sa)) in originals.iter().enumerate() {
        for (b, sb) in &originals[i + 1..] {
            let smaller = sa.len().min(sb.len());
            if smaller > 0 && shared(sa, sb) * 10 >= smaller * 9 {
                let (ra, rb) = (root(&mut parent, *a), root(&mut parent, *b));
                parent[ra] = rb;
            }
        }
    }
    for (n, article) in articles.iter().enumerate() {
        if let Some((of, _)) = &article.copy_of {
            if let Some(&original) = position.get(of.as_str()) {
                let (ra, rb) = (root(&mut parent, n), root(&mut parent, original));
                parent[ra] = rb;
            }
        }
    }
    (0..articles.len()).map(|n| root(&mut parent, n)).collect()
}

/// How many values two ascending lists share.
fn shared(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut count) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                count += 1;
                i += 1;
                j += 1;
            }
        }
    }
    count
}

const BOILERPLATE: [[&str; 3]; 3] = [
    ["Share this article", "Related Topics", "More on this story"],
    ["Advertisement", "Sign up for our newsletter", "Read more:"],
    [
        "© 2024 Example News. All rights reserved.",
        "Follow us on social media",
        "Comments",
    ],
];
const SYNONYMS: [(&str, &str); 24] = [
    ("said", "stated"),
    ("says", "states"),
    ("big", "large"),
    ("rise", "increase"),
    ("rose", "climbed"),
    ("fell", "dropped"),
    ("company", "firm"),
    ("government", "administration"),
    ("people", "individuals"),
    ("also", "additionally"),
    ("but", "however"),
    ("new", "fresh"),
    ("would", "will"),
    ("could", "might"),
    ("because", "as"),
    ("about", "around"),
    ("more", "further"),
    ("expected", "forecast"),
    ("told", "informed"),
    ("added", "continued"),
    ("major", "big"),
    ("many", "numerous"),
    ("help", "assist"),
    ("chief", "head"),
];
const LOCAL: [&str; 4] = [
    "Local businesses in the region said they were watching the developments closely.",
    "Our correspondent in the capital said reaction had so far been muted.",
    "The story was updated with further reaction from officials on Tuesday.",
    "Readers can follow the latest developments on our live page.",
];

/// A copy of `body` as another outlet would publish it.
fn copy(body: &str, kind: Kind, rng: &mut Rng) -> String {
    let paragraphs: Vec<&str> = body
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .collect();
    let mut out = match kind {
        Kind::Light => {
            let mut out = edit(&paragraphs, 0.05 + rng.unit() * 0.15, 1, rng);
            if out.len() > 3 && rng.unit() < 0.7 {
                let (i, j) = (1 + rng.below(out.len() - 1), 1 + rng.below(out.len() - 1));
                out.swap(i, j);
            }
            out
        }
        Kind::Rewrite => {
            let mut out = edit(&paragraphs, 0.4 + rng.unit() * 0.2, 3, rng);
            if out.len() > 1 {
                rng.shuffle(&mut out[1..]);
            }
            out
        }
        Kind::Regional => {
            let mut out = edit(&paragraphs, 0.1, 1, rng);
            let keep = ((out.len() as f64) * (0.6 + rng.unit() * 0.3)) as usize;
            out.truncate(keep.max(2));
            let first = rng.below(LOCAL.len());
            out.push(LOCAL[first].to_owned());
            out.push(LOCAL[(first + 1) % LOCAL.len()].to_owned());
            out
        }
    };
    let boilerplate = BOILERPLATE[rng.below(BOILERPLATE.len())];
    out.insert(0, boilerplate[0].to_owned());
    out.extend(boilerplate[1..].iter().map(|line| (*line).to_owned()));
    out.join("\n\n")
}

/// The paragraphs with a share `changed` of their sentences edited: half of those dropped,
/// half rewritten with `strength` words dropped and synonyms put in.
fn edit(paragraphs: &[&str], changed: f64, strength: usize, rng: &mut Rng) -> Vec<String> {
    paragraphs
        .iter()
        .filter_map(|paragraph| {
            let kept: Vec<String> = sentences(paragraph)
                .into_iter()
                .filter_map(|sentence| {
                    let draw = rng.unit();
                    if draw < changed / 2.0 {
                        None
                    } else if draw < changed {
                        Some(rewrite(sentence, strength, rng))
                    } else {
                        Some(sentence.to_owned())
                    }
                })
                .collect();
            (!kept.is_empty()).then(|| kept.join(" "))
        })
        .collect()
}

fn sentences(paragraph: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (at, c) in paragraph.char_indices() {
        let next = paragraph[at + c.len_utf8()..].chars().next();
        if matches!(c, '.' | '!' | '?') && next.is_some_and(char::is_whitespace) {
            out.push(paragraph[start..=at].trim());
            start = at + 1;
        }
    }
    let rest = paragraph[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

fn rewrite(sentence: &str, strength: usize, rng: &mut Rng) -> String {
    let mut words: Vec<&str> = sentence
        .split_whitespace()
        .map(|word| {
            SYNONYMS
                .iter()
                .find(|(from, _)| *from == word)
                .map_or(word, |(_, to)| to)
        })
        .collect();
    for _ in 0..strength {
        if words.len() > 8 {
            words.remove(rng.below(words.len() - 1));
        }
    }
    let text = words.join(" ");
    // A stronger rewrite also swaps the clauses around the first comma.
    match text.split_once(", ") {
        Some((first, second)) if strength > 1 && rng.unit() < 0.5 => {
            format!("{}, {}.", second.trim_end_matches('.'), first)
        }
        _ => text,
    }
}

/// splitmix64: the same test set on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}
