//! The trainer's inputs: the labelled open corpora (`scripts/fetch-corpora.sh` writes them
//! as one JSON Lines file), the BBC development articles with their gold topics, the IPTC
//! code list, and the distilled word embeddings.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, ensure, Context};
use newsflow::stage::classify::topics::first_sentences;
use serde::Deserialize;

/// A labelled text: a corpus item or a BBC article.
#[derive(Debug, Clone)]
pub struct Item {
    pub corpus: String,
    pub title: String,
    pub text: String,
    /// Index of its top-level topic in [`Taxonomy::top`].
    pub top: usize,
    /// Index of its second-level topic in [`Taxonomy::second`], if it has one.
    pub second: Option<usize>,
}

/// The IPTC Media Topics that the model may name.
pub struct Taxonomy {
    /// Top-level topics: (qcode, name).
    pub top: Vec<(String, String)>,
    /// Second-level topics: (qcode, name, index of the top-level topic).
    pub second: Vec<(String, String, usize)>,
}

impl Taxonomy {
    /// Reads `data/topics/iptc-media-topics.tsv`.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let rows: Vec<Vec<&str>> = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| line.split('\t').collect())
            .collect();
        let top: Vec<(String, String)> = rows
            .iter()
            .filter(|row| row[1] == "1")
            .map(|row| (row[0].to_owned(), row[4].to_owned()))
            .collect();
        let mut second = Vec::new();
        for row in rows.iter().filter(|row| row[1] == "2") {
            let parent = top
                .iter()
                .position(|(qcode, _)| qcode == row[2])
                .with_context(|| {
                    format!("{}: parent {} is not a top-level topic", row[0], row[2])
                })?;
            second.push((row[0].to_owned(), row[4].to_owned(), parent));
        }
        ensure!(top.len() == 17, "{} top-level topics, not 17", top.len());
        Ok(Self { top, second })
    }

    fn top_index(&self, qcode: &str) -> Option<usize> {
        self.top.iter().position(|(code, _)| code == qcode)
    }

    fn second_index(&self, qcode: &str) -> Option<usize> {
        self.second.iter().position(|(code, _, _)| code == qcode)
    }
}

#[derive(Deserialize)]
struct CorpusLine {
    corpus: String,
    title: String,
    text: String,
    topics: Vec<String>,
}

/// The open corpora, in file order (the preparation script sorts them).
pub fn open_corpora(path: &Path, taxonomy: &Taxonomy) -> anyhow::Result<Vec<Item>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading {} (scripts/fetch-corpora.sh makes it)",
            path.display()
        )
    })?;
    let mut items = Vec::new();
    for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let line: CorpusLine = serde_json::from_str(line)
            .with_context(|| format!("{}:{}", path.display(), number + 1))?;
        let Some(top) = line.topics.first().and_then(|q| taxonomy.top_index(q)) else {
            bail!("{}:{}: no top-level topic", path.display(), number + 1);
        };
        let second = line.topics.get(1).and_then(|q| taxonomy.second_index(q));
        items.push(Item {
            corpus: line.corpus,
            title: line.title,
            text: line.text,
            top,
            second,
        });
    }
    Ok(items)
}

#[derive(Deserialize)]
struct BbcArticle {
    id: String,
    title: String,
    body: String,
}

#[derive(Deserialize)]
struct BbcGold {
    id: String,
    topics: Vec<String>,
}

/// The BBC development articles (`DIR/bbc.articles.jsonl` and `DIR/bbc.gold.jsonl`), by id.
pub fn bbc(dir: &Path, taxonomy: &Taxonomy) -> anyhow::Result<Vec<Item>> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    };
    let mut gold = HashMap::new();
    for line in read("bbc.gold.jsonl")?.lines().filter(|l| !l.is_empty()) {
        let line: BbcGold = serde_json::from_str(line)?;
        let top = line
            .topics
            .first()
            .and_then(|q| taxonomy.top_index(q))
            .with_context(|| format!("{}: no top-level topic", line.id))?;
        gold.insert(line.id, top);
    }
    let mut items: Vec<(String, Item)> = Vec::new();
    for line in read("bbc.articles.jsonl")?
        .lines()
        .filter(|l| !l.is_empty())
    {
        let article: BbcArticle = serde_json::from_str(line)?;
        let Some(&top) = gold.get(&article.id) else {
            continue;
        };
        items.push((
            article.id,
            Item {
                corpus: "bbc".into(),
                title: article.title,
                text: article.body,
                top,
                second: None,
            },
        ));
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(items.into_iter().map(|(_, item)| item).collect())
}

/// The short form of an article: its title and first two sentences.
pub fn short_form(item: &Item) -> Item {
    Item {
        text: first_sentences(&item.text, 2).to_owned(),
        ..item.clone()
    }
}

/// Word embeddings distilled from a sentence encoder (`scripts/topics/distil_embeddings.py`):
/// normalised words and their vectors.
pub struct Embeddings {
    pub words: Vec<String>,
    pub dimensions: usize,
    /// `word * dimensions + d`.
    pub vectors: Vec<f32>,
}

impl Embeddings {
    /// Reads the file: the magic `NFEMBED1`, the word count and dimensions (`u32`), then
    /// each word as a `u32` length and UTF-8 bytes, an `f32` scale and its `i8` vector.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        ensure!(
            bytes.starts_with(b"NFEMBED1"),
            "{}: not an embeddings file",
            path.display()
        );
        let mut at = 8;
        let u32_at = |at: &mut usize| -> anyhow::Result<usize> {
            let value = bytes
                .get(*at..*at + 4)
                .context("embeddings file ends early")?;
            *at += 4;
            Ok(u32::from_le_bytes(value.try_into()?) as usize)
        };
        let count = u32_at(&mut at)?;
        let dimensions = u32_at(&mut at)?;
        let mut words = Vec::with_capacity(count);
        let mut vectors = Vec::with_capacity(count * dimensions);
        for _ in 0..count {
            let length = u32_at(&mut at)?;
            let word = bytes
                .get(at..at + length)
                .context("embeddings file ends early")?;
            words.push(String::from_utf8(word.to_vec())?);
            at += length;
            let scale = f32::from_bits(u32_at(&mut at)? as u32);
            let vector = bytes
                .get(at..at + dimensions)
                .context("embeddings file ends early")?;
            vectors.extend(vector.iter().map(|&b| f32::from(b as i8) * scale));
            at += dimensions;
        }
        ensure!(
            at == bytes.len(),
            "{}: bytes after the last word",
            path.display()
        );
        Ok(Self {
            words,
            dimensions,
            vectors,
        })
    }

    pub fn vector(&self, word: usize) -> &[f32] {
        &self.vectors[word * self.dimensions..(word + 1) * self.dimensions]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_short_form_is_the_title_and_two_sentences() {
        let item = Item {
            corpus: "bbc".into(),
            title: "Title".into(),
            text: "One is 3.5 long. Two! Three? Four.".into(),
            top: 0,
            second: None,
        };
        assert_eq!(short_form(&item).text, "One is 3.5 long. Two!");
        assert_eq!(short_form(&item).title, "Title");
    }
}
