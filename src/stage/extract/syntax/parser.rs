//! The dependency parser: arc-eager transitions chosen greedily by an averaged perceptron,
//! and a second perceptron naming the relation of every arc as it is made.
//!
//! A state is a stack, the rest of the sentence (the buffer) and the arcs so far. Moves:
//! SHIFT pushes the next word; REDUCE pops a word that has its head; LEFT makes the next
//! word the head of the stack's top and pops it; RIGHT makes the stack's top the head of
//! the next word and pushes it. The words left without a head at the end are joined under
//! one root. [`costs`] is the dynamic oracle training follows (Goldberg and Nivre, 2012):
//! how many correct arcs each move would make impossible.

use super::features::{key, Key, Word};
use super::tagger::best;
use super::weights::{ModelError, Reader, Table};
use super::{Rel, Tag};

const MAGIC: &str = "newsflow-parser-1";

/// The four moves, as the classes of the move model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Shift = 0,
    Reduce = 1,
    Left = 2,
    Right = 3,
}

impl Move {
    pub const ALL: [Move; 4] = [Move::Shift, Move::Reduce, Move::Left, Move::Right];
}

/// The value of a feature on a position that is not there (an empty stack, no child).
const NONE: u64 = 255;

/// A parse in progress.
#[derive(Debug, Clone)]
pub struct State {
    pub stack: Vec<usize>,
    /// The next word of the buffer; the buffer is `next..len`.
    pub next: usize,
    pub heads: Vec<Option<usize>>,
    pub rels: Vec<Rel>,
    /// The two leftmost and two rightmost children of each word, nearest the edge first.
    lefts: Vec<[Option<usize>; 2]>,
    rights: Vec<[Option<usize>; 2]>,
    left_count: Vec<u8>,
    right_count: Vec<u8>,
}

impl State {
    pub fn new(len: usize) -> Self {
        Self {
            stack: Vec::with_capacity(len),
            next: 0,
            heads: vec![None; len],
            rels: vec![Rel::ROOT; len],
            lefts: vec![[None; 2]; len],
            rights: vec![[None; 2]; len],
            left_count: vec![0; len],
            right_count: vec![0; len],
        }
    }

    fn len(&self) -> usize {
        self.heads.len()
    }

    pub fn done(&self) -> bool {
        self.next >= self.len()
    }

    fn top(&self) -> Option<usize> {
        self.stack.last().copied()
    }

    pub fn valid(&self, m: Move) -> bool {
        let buffer = self.next < self.len();
        match (m, self.top()) {
            (Move::Shift, _) => buffer,
            (Move::Reduce, Some(s0)) => self.heads[s0].is_some(),
            (Move::Left, Some(s0)) => buffer && self.heads[s0].is_none(),
            (Move::Right, Some(_)) => buffer,
            _ => false,
        }
    }

    /// The arc a move makes, (head, dependent), if it makes one.
    pub fn arc(&self, m: Move) -> Option<(usize, usize)> {
        let s0 = self.top()?;
        match m {
            Move::Left => Some((self.next, s0)),
            Move::Right => Some((s0, self.next)),
            _ => None,
        }
    }

    /// Applies a valid move; `rel` names the arc it makes.
    pub fn apply(&mut self, m: Move, rel: Rel) {
        if let Some((head, dependent)) = self.arc(m) {
            self.heads[dependent] = Some(head);
            self.rels[dependent] = rel;
            if dependent < head {
                self.lefts[head] = [Some(dependent), self.lefts[head][0]];
                self.left_count[head] = self.left_count[head].saturating_add(1);
            } else {
                self.rights[head] = [Some(dependent), self.rights[head][0]];
                self.right_count[head] = self.right_count[head].saturating_add(1);
            }
        }
        match m {
            Move::Shift | Move::Right => {
                self.stack.push(self.next);
                self.next += 1;
            }
            Move::Reduce | Move::Left => {
                self.stack.pop();
            }
        }
    }

    /// The heads and relations, with the words left without a head joined under one root:
    /// the first verb among them, or the first of them.
    pub fn finish(mut self, tags: &[Tag]) -> (Vec<Option<usize>>, Vec<Rel>) {
        let headless: Vec<usize> = (0..self.len())
            .filter(|&i| self.heads[i].is_none())
            .collect();
        let root = headless
            .iter()
            .copied()
            .find(|&i| tags[i] == Tag::VERB)
            .or_else(|| headless.first().copied());
        for &i in &headless {
            if Some(i) == root {
                self.rels[i] = Rel::ROOT;
            } else {
                self.heads[i] = root;
                self.rels[i] = if tags[i] == Tag::PUNCT {
                    Rel::PUNCT
                } else {
                    Rel::DEP
                };
            }
        }
        (self.heads, self.rels)
    }
}

/// How many arcs of the gold tree (`gold[i]` is word `i`'s head) each valid move would
/// lose; `None` for a move that is not valid. Exact for projective trees.
pub fn costs(state: &State, gold: &[Option<usize>]) -> [Option<u32>; 4] {
    let next = state.next;
    let in_buffer = |i: usize| i >= next;
    let headless_on_stack = |head: usize| {
        state
            .stack
            .iter()
            .filter(|&&d| state.heads[d].is_none() && gold[d] == Some(head))
            .count() as u32
    };
    let children_in_buffer = |head: usize| {
        (next..state.len())
            .filter(|&d| gold[d] == Some(head))
            .count() as u32
    };
    let on_stack = |i: usize| state.stack.contains(&i);
    let mut out = [None; 4];
    for m in Move::ALL {
        if !state.valid(m) {
            continue;
        }
        let cost = match m {
            Move::Shift => headless_on_stack(next) + u32::from(gold[next].is_some_and(&on_stack)),
            Move::Reduce => children_in_buffer(state.stack[state.stack.len() - 1]),
            Move::Left => {
                let s0 = state.stack[state.stack.len() - 1];
                let head_lost = match gold[s0] {
                    None => true,
                    Some(h) => h != next && in_buffer(h),
                };
                children_in_buffer(s0) + u32::from(head_lost)
            }
            Move::Right => {
                let s0 = state.stack[state.stack.len() - 1];
                let head_lost = match gold[next] {
                    None => true,
                    Some(h) => h != s0 && (in_buffer(h) || on_stack(h)),
                };
                headless_on_stack(next) + u32::from(head_lost)
            }
        };
        out[m as usize] = Some(cost);
    }
    out
}

/// The highest-scoring move that `allowed` accepts, the first on ties (SHIFT when none is).
pub fn best_of(scores: &[i32; 4], allowed: impl Fn(Move) -> bool) -> Move {
    Move::ALL
        .into_iter()
        .filter(|&m| allowed(m))
        .max_by_key(|&m| (scores[m as usize], std::cmp::Reverse(m as usize)))
        .unwrap_or(Move::Shift)
}

/// Feature values of one position of the state.
struct View<'a> {
    words: &'a [Word],
    tags: &'a [Tag],
    state: &'a State,
}

impl View<'_> {
    fn w(&self, i: Option<usize>) -> u64 {
        i.map_or(NONE, |i| self.words[i].form)
    }

    fn t(&self, i: Option<usize>) -> u64 {
        i.map_or(NONE, |i| u64::from(self.tags[i].0))
    }

    /// The relation of a word to its head, if it has one.
    fn l(&self, i: Option<usize>) -> u64 {
        i.filter(|&i| self.state.heads[i].is_some())
            .map_or(NONE, |i| u64::from(self.state.rels[i].0))
    }

    fn left(&self, i: Option<usize>, k: usize) -> Option<usize> {
        i.and_then(|i| self.state.lefts[i][k])
    }

    fn right(&self, i: Option<usize>, k: usize) -> Option<usize> {
        i.and_then(|i| self.state.rights[i][k])
    }

    fn head(&self, i: Option<usize>) -> Option<usize> {
        i.and_then(|i| self.state.heads[i])
    }

    fn buffer(&self, k: usize) -> Option<usize> {
        Some(self.state.next + k).filter(|&i| i < self.words.len())
    }
}

/// Packs two small values (tags, relations, counts) into one.
fn pair(a: u64, b: u64) -> u64 {
    a << 16 | b
}

/// The features of a state for choosing the next move: those of the buffer's first words
/// (`buffer_features`), of the stack's top (`top_features`) and of the two together
/// (`pair_features`).
pub fn move_features(words: &[Word], tags: &[Tag], state: &State, out: &mut Vec<Key>) {
    let v = View { words, tags, state };
    out.clear();
    buffer_features(&v, out);
    top_features(&v, out);
    pair_features(&v, out);
}

/// Features of the next three words alone. They stay the same while the next word does,
/// through REDUCE and LEFT moves, so a parse looks them up once per word.
fn buffer_features(v: &View, out: &mut Vec<Key>) {
    let (b0, b1, b2) = (v.buffer(0), v.buffer(1), v.buffer(2));
    let (b0w, b0t, b1w, b1t, b2t) = (v.w(b0), v.t(b0), v.w(b1), v.t(b1), v.t(b2));
    out.extend_from_slice(&[
        key(0, 0, 0, 0),
        key(4, b0w, 0, 0),
        key(5, b0t, 0, 0),
        key(6, b0w, b0t, 0),
        key(7, b1w, 0, 0),
        key(8, b1t, 0, 0),
        key(9, b1w, b1t, 0),
        key(10, b2t, 0, 0),
        key(17, pair(b0t, b1t), 0, 0),
        key(18, pair(b0t, b1t), b2t, 0),
    ]);
}

/// Features of the stack's top alone. While a word is on the stack its head, its
/// relation, its left children and the words below it do not change (a head is given
/// only as a word is pushed or popped, left children only before it is pushed), so a
/// parse looks them up once per word however often it comes back to the top.
fn top_features(v: &View, out: &mut Vec<Key>) {
    let state = v.state;
    let s0 = state.top();
    let s1 = state.stack.len().checked_sub(2).map(|i| state.stack[i]);
    let (s0w, s0t) = (v.w(s0), v.t(s0));
    let s0h = v.head(s0);
    let (s0l, s0l2) = (v.left(s0, 0), v.left(s0, 1));
    let s0_lefts = s0.map_or(NONE, |i| u64::from(state.left_count[i]));
    out.extend_from_slice(&[
        key(1, s0w, 0, 0),
        key(2, s0t, 0, 0),
        key(3, s0w, s0t, 0),
        key(26, pair(s0t, v.t(s0l)), v.t(s0l2), 0),
        key(34, s0_lefts, s0w, 0),
        key(35, s0_lefts, s0t, 0),
        key(38, v.w(s0h), 0, 0),
        key(39, v.t(s0h), 0, 0),
        key(40, v.l(s0l), 0, 0),
        key(43, v.l(s0), s0t, 0),
        key(44, pair(s0t, v.l(s0l)), v.l(s0l2), 0),
        key(48, v.w(s1), 0, 0),
        key(49, pair(v.t(v.head(s0h)), v.t(s0h)), s0t, 0),
    ]);
}

/// Features of the top and the next word together, and of the children they gain.
fn pair_features(v: &View, out: &mut Vec<Key>) {
    let state = v.state;
    let s0 = state.top();
    let s1 = state.stack.len().checked_sub(2).map(|i| state.stack[i]);
    let (b0, b1) = (v.buffer(0), v.buffer(1));
    let (s0w, s0t, b0w, b0t) = (v.w(s0), v.t(s0), v.w(b0), v.t(b0));
    let b1t = v.t(b1);
    let s0h = v.head(s0);
    let (s0l, s0r, s0r2) = (v.left(s0, 0), v.right(s0, 0), v.right(s0, 1));
    let (b0l, b0l2) = (v.left(b0, 0), v.left(b0, 1));
    let distance = match (s0, b0) {
        (Some(s), Some(b)) => (b - s).min(8) as u64,
        _ => NONE,
    };
    let count = |counts: &[u8], i: Option<usize>| i.map_or(NONE, |i| u64::from(counts[i]));
    let (s0_rights, b0_lefts) = (count(&state.right_count, s0), count(&state.left_count, b0));
    out.extend_from_slice(&[
        key(11, s0w, b0w, pair(s0t, b0t)),
        key(12, s0w, b0w, 0),
        key(13, pair(s0t, b0t), 0, 0),
        key(14, s0w, pair(s0t, b0t), 0),
        key(15, b0w, pair(s0t, b0t), 0),
        key(16, s0w, s0t, b0w),
        key(19, pair(s0t, b0t), b1t, 0),
        key(20, pair(s0t, b0t), v.t(s0h), 0),
        key(21, pair(s0t, b0t), v.t(s0l), 0),
        key(22, pair(s0t, b0t), v.t(s0r), 0),
        key(23, pair(s0t, b0t), v.t(b0l), 0),
        key(24, pair(s0t, v.t(b0l)), v.t(b0l2), 0),
        key(25, pair(s0t, v.t(s0r)), v.t(s0r2), 0),
        key(27, distance, s0w, 0),
        key(28, distance, s0t, 0),
        key(29, distance, b0w, 0),
        key(30, distance, b0t, 0),
        key(31, distance, pair(s0t, b0t), 0),
        key(32, s0_rights, s0w, 0),
        key(33, s0_rights, s0t, 0),
        key(36, b0_lefts, b0w, 0),
        key(37, b0_lefts, b0t, 0),
        key(41, v.l(s0r), 0, 0),
        key(42, v.l(b0l), 0, 0),
        key(45, pair(s0t, v.l(s0r)), v.l(s0r2), 0),
        key(46, pair(b0t, v.l(b0l)), v.l(b0l2), 0),
        key(47, pair(v.t(s1), s0t), b0t, 0),
        key(50, v.w(b0l), b0t, 0),
        key(51, v.w(s0r), s0t, 0),
    ]);
}

/// The features of an arc for naming its relation.
pub fn rel_features(
    words: &[Word],
    tags: &[Tag],
    state: &State,
    head: usize,
    dependent: usize,
    out: &mut Vec<Key>,
) {
    let v = View { words, tags, state };
    let (h, d) = (Some(head), Some(dependent));
    let direction: u64 = if dependent < head { 1 } else { 2 };
    let distance = head.abs_diff(dependent).min(8) as u64;
    let (hw, ht, dw, dt) = (v.w(h), v.t(h), v.w(d), v.t(d));
    // The first word before the dependent's own subtree: its preposition ("by", "against").
    let d_first = v.left(d, 0);
    out.clear();
    out.extend_from_slice(&[
        key(0, direction, 0, 0),
        key(1, direction, hw, 0),
        key(2, direction, ht, 0),
        key(3, direction, dw, 0),
        key(4, direction, dt, 0),
        key(5, direction, pair(ht, dt), 0),
        key(6, direction, hw, dt),
        key(7, direction, ht, dw),
        key(8, direction, pair(ht, dt), distance),
        key(9, direction, v.l(d_first), dt),
        key(10, direction, v.w(d_first), dt),
        key(11, direction, v.w(d_first), hw),
        key(12, direction, pair(v.l(v.right(h, 0)), ht), dt),
        key(13, direction, pair(v.l(v.left(h, 0)), ht), dt),
        key(14, direction, pair(v.l(v.right(d, 0)), dt), 0),
        key(
            15,
            direction,
            pair(ht, dt),
            u64::from(state.left_count[head]),
        ),
        key(16, direction, pair(v.t(v.head(h)), ht), dt),
    ]);
}

pub struct Parser {
    moves: Table,
    rels: Table,
}

impl Parser {
    pub fn new(moves: Table, rels: Table) -> Self {
        Self { moves, rels }
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let mut input = Reader::new(bytes);
        input.magic(MAGIC)?;
        let moves = Table::read(&mut input, Move::ALL.len())?;
        let rels = Table::read(&mut input, Rel::NAMES.len())?;
        Ok(Self { moves, rels })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.as_bytes().to_vec();
        self.moves.write(&mut out);
        self.rels.write(&mut out);
        out
    }

    pub fn move_weights(&self) -> &Table {
        &self.moves
    }

    pub fn rel_weights(&self) -> &Table {
        &self.rels
    }

    /// The relation of the arc `head` → `dependent`.
    pub fn best_rel(&self, keys: &[Key]) -> Rel {
        let mut scores = [0i32; Rel::NAMES.len()];
        self.rels.add_scores(keys, &mut scores);
        // The root relation is only given at the end.
        scores[usize::from(Rel::ROOT.0)] = i32::MIN;
        Rel(best(&scores).0)
    }

    /// The move scores of one group of features.
    fn move_scores(
        &self,
        view: &View,
        features: fn(&View, &mut Vec<Key>),
        keys: &mut Vec<Key>,
    ) -> [i32; 4] {
        let mut scores = [0i32; 4];
        keys.clear();
        features(view, keys);
        self.moves.add_scores(keys, &mut scores);
        scores
    }

    /// Heads and relations of a tagged sentence.
    ///
    /// The scores of the buffer's and the top's own features are kept per word (see
    /// `buffer_features`, `top_features`): the weight lookups are most of a parse's
    /// time, and these would otherwise be repeated move after move. Integer sums, so the
    /// scores are the same as from [`move_features`] whole.
    pub fn parse(&self, words: &[Word], tags: &[Tag]) -> (Vec<Option<usize>>, Vec<Rel>) {
        let mut state = State::new(words.len());
        let mut keys = Vec::with_capacity(64);
        // By word; the top's last entry stands for an empty stack.
        let mut buffer_scores: Vec<Option<[i32; 4]>> = vec![None; words.len()];
        let mut top_scores: Vec<Option<[i32; 4]>> = vec![None; words.len() + 1];
        while !state.done() {
            let view = View {
                words,
                tags,
                state: &state,
            };
            let top = state.top().unwrap_or(words.len());
            let mut scores = *buffer_scores[state.next]
                .get_or_insert_with(|| self.move_scores(&view, buffer_features, &mut keys));
            let own = *top_scores[top]
                .get_or_insert_with(|| self.move_scores(&view, top_features, &mut keys));
            let rest = self.move_scores(&view, pair_features, &mut keys);
            for ((score, own), rest) in scores.iter_mut().zip(own).zip(rest) {
                *score += own + rest;
            }
            let m = best_of(&scores, |m| state.valid(m));
            self.apply_labelled(words, tags, &mut state, m, &mut keys);
        }
        state.finish(tags)
    }

    /// Applies a move, naming the arc it makes by the relation model.
    fn apply_labelled(
        &self,
        words: &[Word],
        tags: &[Tag],
        state: &mut State,
        m: Move,
        keys: &mut Vec<Key>,
    ) {
        let rel = match state.arc(m) {
            Some((head, dependent)) => {
                rel_features(words, tags, state, head, dependent, keys);
                self.best_rel(keys)
            }
            None => Rel::DEP,
        };
        state.apply(m, rel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Follows the zero-cost moves to the end.
    fn oracle_parse(gold: &[Option<usize>]) -> Vec<Option<usize>> {
        let tags = vec![Tag::NOUN; gold.len()];
        let mut state = State::new(gold.len());
        while !state.done() {
            let costs = costs(&state, gold);
            let m = Move::ALL
                .into_iter()
                .find(|&m| costs[m as usize] == Some(0))
                .expect("a projective tree always has a zero-cost move");
            state.apply(m, Rel::DEP);
        }
        state.finish(&tags).0
    }

    #[test]
    fn the_oracle_rebuilds_projective_trees() {
        // "Israeli troops arrested 100 Palestinians on Saturday ."
        let gold = vec![
            Some(1),
            Some(2),
            None,
            Some(4),
            Some(2),
            Some(6),
            Some(2),
            Some(2),
        ];
        assert_eq!(oracle_parse(&gold), gold);
        // A chain to the right and one to the left.
        let right = vec![None, Some(0), Some(1), Some(2)];
        assert_eq!(oracle_parse(&right), right);
        let left = vec![Some(1), Some(2), Some(3), None];
        assert_eq!(oracle_parse(&left), left);
    }

    #[test]
    fn costs_count_the_arcs_a_move_loses() {
        // Words 0 ← 1 → 2 with 1 the root: LEFT now is right, SHIFT loses nothing yet,
        // RIGHT makes 0 the head of 1 (losing 1 as root and 0's arc).
        let gold = vec![Some(1), None, Some(1)];
        let mut state = State::new(3);
        state.apply(Move::Shift, Rel::DEP);
        let costs = costs(&state, &gold);
        assert_eq!(costs[Move::Left as usize], Some(0));
        assert_eq!(costs[Move::Right as usize], Some(2));
        assert_eq!(costs[Move::Shift as usize], Some(1));
        assert_eq!(costs[Move::Reduce as usize], None);
    }

    #[test]
    fn words_left_without_a_head_join_one_root() {
        let mut state = State::new(3);
        for m in [Move::Shift, Move::Shift, Move::Shift] {
            state.apply(m, Rel::DEP);
        }
        let (heads, rels) = state.finish(&[Tag::NOUN, Tag::VERB, Tag::PUNCT]);
        assert_eq!(heads, vec![Some(1), None, Some(1)]);
        assert_eq!(rels, vec![Rel::DEP, Rel::ROOT, Rel::PUNCT]);
    }

    /// Every move chosen from all the move features at once, as training scores them.
    fn parse_unremembered(
        parser: &Parser,
        words: &[Word],
        tags: &[Tag],
    ) -> (Vec<Option<usize>>, Vec<Rel>) {
        let mut state = State::new(words.len());
        let mut keys = Vec::new();
        while !state.done() {
            let mut scores = [0i32; 4];
            move_features(words, tags, &state, &mut keys);
            parser.moves.add_scores(&keys, &mut scores);
            let m = best_of(&scores, |m| state.valid(m));
            parser.apply_labelled(words, tags, &mut state, m, &mut keys);
        }
        state.finish(tags)
    }

    #[test]
    fn remembered_scores_parse_as_the_whole_features_do() {
        let syntax = &crate::stage::reference::for_tests().extract.syntax;
        for sentence in [
            "Israeli troops arrested 100 Palestinians on Saturday in the West Bank .",
            "The minister , who had resigned in May , said on Tuesday that the talks with \
             the rebels , which Kenya and Uganda had brokered , would resume next week .",
            "Protesters who gathered outside the embassy demanded that the government \
             release the journalists it detained and end the curfew .",
        ] {
            let words: Vec<Word> = sentence.split(' ').map(Word::new).collect();
            let tags = syntax.tagger().tag(&words);
            assert_eq!(
                syntax.parser().parse(&words, &tags),
                parse_unremembered(syntax.parser(), &words, &tags),
                "{sentence}"
            );
        }
    }

    #[test]
    fn a_model_survives_its_file_format() {
        let parser = Parser::new(
            Table::new(4, &[(5, vec![1, 2, 3, 4])]),
            Table::new(Rel::NAMES.len(), &[(9, vec![1; Rel::NAMES.len()])]),
        );
        let read = Parser::from_bytes(&parser.to_bytes()).expect("read");
        assert_eq!(read.move_weights().row(5), Some(&[1, 2, 3, 4][..]));
        assert_eq!(read.rel_weights().rows(), 1);
    }
}
