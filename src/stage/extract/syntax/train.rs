//! Training: averaged perceptrons for the tagger, the parser's moves and its relations.
//!
//! Everything is deterministic: sentences are visited in an order shuffled by a seeded
//! generator, weights are integers until they are averaged, and ties go to the first
//! class. The parser learns from the dynamic oracle: after a wrong move it is updated
//! toward the best move that loses no more arcs, and from the third epoch on it mostly
//! follows its own (possibly wrong) move, so that it learns to recover from mistakes. It
//! is trained on tags predicted by taggers that did not see the sentence (four folds), so
//! that it learns from tags as wrong as they will be when it runs.

use rustc_hash::FxHashMap;

use super::features::{Key, Word};
use super::parser::{best_of, costs, move_features, rel_features, Move, Parser, State};
use super::tagger::{self, best, Tagger};
use super::treebank::Tree;
use super::weights::{quantise, Table};
use super::{Rel, Tag};

/// How long and how the models are trained.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub tagger_epochs: usize,
    pub parser_epochs: usize,
    pub seed: u64,
    /// Features updated fewer times than this are left out of the model.
    pub min_updates: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            tagger_epochs: 8,
            parser_epochs: 12,
            seed: 0x6e65_7773_666c_6f77,
            min_updates: 2,
        }
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in 0..n.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// A multi-class perceptron whose weights are averaged over every step of training.
struct Perceptron {
    classes: usize,
    rows: FxHashMap<Key, usize>,
    keys: Vec<Key>,
    weights: Vec<i32>,
    /// The sum of each weight over the steps before its last change, and that step.
    totals: Vec<i64>,
    stamps: Vec<u64>,
    updates: Vec<u32>,
    step: u64,
}

impl Perceptron {
    fn new(classes: usize) -> Self {
        Self {
            classes,
            rows: FxHashMap::default(),
            keys: Vec::new(),
            weights: Vec::new(),
            totals: Vec::new(),
            stamps: Vec::new(),
            updates: Vec::new(),
            step: 0,
        }
    }

    fn scores(&self, keys: &[Key], scores: &mut [i32]) {
        scores.fill(0);
        for key in keys {
            if let Some(&row) = self.rows.get(key) {
                let weights = &self.weights[row * self.classes..(row + 1) * self.classes];
                for (score, weight) in scores.iter_mut().zip(weights) {
                    *score += weight;
                }
            }
        }
    }

    /// One more example seen.
    fn tick(&mut self) {
        self.step += 1;
    }

    fn update(&mut self, keys: &[Key], good: usize, bad: usize) {
        for &key in keys {
            let row = match self.rows.get(&key) {
                Some(&row) => row,
                None => {
                    let row = self.keys.len();
                    self.rows.insert(key, row);
                    self.keys.push(key);
                    self.weights.resize((row + 1) * self.classes, 0);
                    self.totals.resize((row + 1) * self.classes, 0);
                    self.stamps.resize((row + 1) * self.classes, 0);
                    self.updates.push(0);
                    row
                }
            };
            self.updates[row] += 1;
            for (class, delta) in [(good, 1), (bad, -1)] {
                let at = row * self.classes + class;
                self.totals[at] +=
                    (self.step - self.stamps[at]) as i64 * i64::from(self.weights[at]);
                self.stamps[at] = self.step;
                self.weights[at] += delta;
            }
        }
    }

    /// The averaged weights of the features updated at least `min_updates` times.
    fn averaged(self, min_updates: u32) -> Table {
        let steps = self.step.max(1) as f64;
        let mut rows: Vec<(Key, Vec<f64>)> = Vec::new();
        for (row, &key) in self.keys.iter().enumerate() {
            if self.updates[row] < min_updates {
                continue;
            }
            let weights = (0..self.classes)
                .map(|class| {
                    let at = row * self.classes + class;
                    let total = self.totals[at]
                        + (self.step - self.stamps[at]) as i64 * i64::from(self.weights[at]);
                    total as f64 / steps
                })
                .collect();
            rows.push((key, weights));
        }
        rows.sort_by_key(|(key, _)| *key);
        let rows: Vec<(Key, Vec<i16>)> = quantise(rows)
            .into_iter()
            .filter(|(_, weights)| weights.iter().any(|&w| w != 0))
            .collect();
        Table::new(self.classes, &rows)
    }
}

fn words_of(tree: &Tree) -> Vec<Word> {
    tree.words.iter().map(|w| Word::new(w)).collect()
}

/// Words seen at least 20 times, with one tag at least 97% of the time, and that tag.
fn tag_dictionary(trees: &[Tree], words: &[Vec<Word>]) -> Vec<(u64, Tag)> {
    let mut counts: FxHashMap<u64, [u32; Tag::NAMES.len()]> = FxHashMap::default();
    for (tree, words) in trees.iter().zip(words) {
        for (word, tag) in words.iter().zip(&tree.tags) {
            counts.entry(word.form).or_insert([0; Tag::NAMES.len()])[usize::from(tag.0)] += 1;
        }
    }
    let mut known: Vec<(u64, Tag)> = counts
        .into_iter()
        .filter_map(|(form, counts)| {
            let total: u32 = counts.iter().sum();
            let (tag, &most) = counts
                .iter()
                .enumerate()
                .max_by_key(|(i, c)| (**c, usize::MAX - i))?;
            (total >= 20 && f64::from(most) / f64::from(total) >= 0.97)
                .then_some((form, Tag(tag as u8)))
        })
        .collect();
    known.sort_unstable();
    known
}

pub fn train_tagger(trees: &[Tree], settings: &Settings) -> Tagger {
    let words: Vec<Vec<Word>> = trees.iter().map(words_of).collect();
    let known = tag_dictionary(trees, &words);
    let lookup: FxHashMap<u64, Tag> = known.iter().copied().collect();
    let mut model = Perceptron::new(Tag::NAMES.len());
    let mut rng = Rng(settings.seed);
    let mut order: Vec<usize> = (0..trees.len()).collect();
    let (mut keys, mut scores) = (Vec::new(), [0i32; Tag::NAMES.len()]);
    for _ in 0..settings.tagger_epochs {
        rng.shuffle(&mut order);
        for &s in &order {
            let (words, gold) = (&words[s], &trees[s].tags);
            let mut tags = Vec::with_capacity(words.len());
            for i in 0..words.len() {
                if let Some(&tag) = lookup.get(&words[i].form) {
                    tags.push(tag);
                    continue;
                }
                tagger::features(words, i, &tags, &mut keys);
                model.scores(&keys, &mut scores);
                let guess = best(&scores);
                model.tick();
                if guess != gold[i] {
                    model.update(&keys, usize::from(gold[i].0), usize::from(guess.0));
                }
                tags.push(guess);
            }
        }
    }
    Tagger::new(model.averaged(settings.min_updates), &known)
}

/// The tags of every sentence as predicted by a tagger trained on the other three quarters.
fn held_out_tags(trees: &[Tree], settings: &Settings) -> Vec<Vec<Tag>> {
    const FOLDS: usize = 4;
    let mut tags = vec![Vec::new(); trees.len()];
    for fold in 0..FOLDS {
        let training: Vec<Tree> = trees
            .iter()
            .enumerate()
            .filter(|(i, _)| i % FOLDS != fold)
            .map(|(_, t)| t.clone())
            .collect();
        let tagger = train_tagger(&training, settings);
        for (i, tree) in trees.iter().enumerate().filter(|(i, _)| i % FOLDS == fold) {
            tags[i] = tagger.tag(&words_of(tree));
        }
    }
    tags
}

/// Whether no two arcs of the tree cross.
pub fn is_projective(heads: &[Option<usize>]) -> bool {
    let arcs: Vec<(usize, usize)> = heads
        .iter()
        .enumerate()
        .filter_map(|(d, h)| h.map(|h| (d.min(h), d.max(h))))
        .collect();
    arcs.iter().all(|&(a, b)| {
        arcs.iter()
            .all(|&(c, d)| !((a < c && c < b && b < d) || (c < a && a < d && d < b)))
    })
}

pub fn train_parser(trees: &[Tree], settings: &Settings) -> Parser {
    let tags = held_out_tags(trees, settings);
    let usable: Vec<usize> = (0..trees.len())
        .filter(|&i| is_projective(&trees[i].heads))
        .collect();
    let words: Vec<Vec<Word>> = trees.iter().map(words_of).collect();
    let mut moves = Perceptron::new(Move::ALL.len());
    let mut rels = Perceptron::new(Rel::NAMES.len());
    let mut rng = Rng(settings.seed ^ 0x7061_7273_6572);
    let mut order = usable;
    let (mut keys, mut move_scores, mut rel_scores) =
        (Vec::new(), [0i32; 4], [0i32; Rel::NAMES.len()]);
    for epoch in 0..settings.parser_epochs {
        rng.shuffle(&mut order);
        for &s in &order {
            let (tree, words, tags) = (&trees[s], &words[s], &tags[s]);
            let mut state = State::new(words.len());
            while !state.done() {
                move_features(words, tags, &state, &mut keys);
                moves.scores(&keys, &mut move_scores);
                let guess = best_of(&move_scores, |m| state.valid(m));
                let costs = costs(&state, &tree.heads);
                let right = best_of(&move_scores, |m| costs[m as usize] == Some(0));
                moves.tick();
                let guess_right = costs[guess as usize] == Some(0);
                if !guess_right {
                    moves.update(&keys, right as usize, guess as usize);
                }
                let explore = epoch >= 2 && rng.below(10) < 9;
                let taken = if guess_right || explore { guess } else { right };
                let rel = match state.arc(taken) {
                    Some((head, dependent)) => {
                        rel_features(words, tags, &state, head, dependent, &mut keys);
                        rels.scores(&keys, &mut rel_scores);
                        rel_scores[usize::from(Rel::ROOT.0)] = i32::MIN;
                        let guess = Rel(best(&rel_scores).0);
                        if tree.heads[dependent] == Some(head) {
                            let gold = tree.rels[dependent];
                            rels.tick();
                            if guess != gold {
                                rels.update(&keys, usize::from(gold.0), usize::from(guess.0));
                            }
                            gold
                        } else {
                            guess
                        }
                    }
                    None => Rel::DEP,
                };
                state.apply(taken, rel);
            }
        }
    }
    Parser::new(
        moves.averaged(settings.min_updates),
        rels.averaged(settings.min_updates),
    )
}

#[cfg(test)]
mod tests {
    use super::super::Syntax;
    use super::*;

    fn tree(words: &str, tags: &[Tag], heads: &[Option<usize>], rels: &[Rel]) -> Tree {
        Tree {
            words: words.split(' ').map(str::to_owned).collect(),
            tags: tags.to_vec(),
            heads: heads.to_vec(),
            rels: rels.to_vec(),
        }
    }

    /// Sentences of one pattern: "<name> <verb> <name> ." with different words.
    fn toy_treebank() -> Vec<Tree> {
        let names = ["Russia", "China", "Iran", "Kenya", "Peru", "Chad"];
        let verbs = ["attacked", "praised", "blamed", "visited"];
        let mut trees = Vec::new();
        for (i, a) in names.iter().enumerate() {
            for (j, verb) in verbs.iter().enumerate() {
                let b = names[(i + j + 1) % names.len()];
                trees.push(tree(
                    &format!("{a} {verb} {b} ."),
                    &[Tag::PROPN, Tag::VERB, Tag::PROPN, Tag::PUNCT],
                    &[Some(1), None, Some(1), Some(1)],
                    &[Rel::NSUBJ, Rel::ROOT, Rel::OBJ, Rel::PUNCT],
                ));
            }
        }
        trees
    }

    #[test]
    fn training_learns_a_toy_treebank_the_same_way_twice() {
        let trees = toy_treebank();
        let settings = Settings {
            tagger_epochs: 5,
            parser_epochs: 5,
            min_updates: 1,
            ..Settings::default()
        };
        let tagger = train_tagger(&trees, &settings);
        let parser = train_parser(&trees, &settings);
        let syntax = Syntax::new(tagger, parser);
        let parse = syntax.parse(&["Kenya", "blamed", "Iran", "."]);
        assert_eq!(parse.tags, trees[0].tags);
        assert_eq!(parse.heads, trees[0].heads);
        assert_eq!(parse.rels, trees[0].rels);
        let again = train_tagger(&trees, &settings);
        assert_eq!(again.to_bytes(), syntax.tagger().to_bytes());
    }

    #[test]
    fn crossing_arcs_are_not_projective() {
        assert!(is_projective(&[Some(1), None, Some(1)]));
        assert!(!is_projective(&[Some(2), Some(3), None, Some(2)]));
    }
}
