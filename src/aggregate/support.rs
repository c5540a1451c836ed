//! Votes: which value of a field the most mentions of an event give.

use serde::{Deserialize, Serialize};

/// Values a field keeps votes for, at most: further values are left out once the list is
/// full, so that a field many articles disagree on stays small.
const MAX_VALUES: usize = 16;

/// A value and how many mentions give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vote<T> {
    pub value: T,
    pub mentions: u64,
}

/// Who acts and who is acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parties {
    pub actors: Vec<String>,
    pub targets: Vec<String>,
}

/// When, as a mention gives it (YYYY-MM-DD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateSpan {
    pub start: Option<String>,
    pub end: Option<String>,
}

/// One more mention for `value`.
pub fn vote<T: PartialEq>(votes: &mut Vec<Vote<T>>, value: T) {
    if let Some(vote) = votes.iter_mut().find(|vote| vote.value == value) {
        vote.mentions += 1;
    } else if votes.len() < MAX_VALUES {
        votes.push(Vote { value, mentions: 1 });
    }
}

/// The value with the most mentions; on a tie, the one given first.
pub fn best<T>(votes: &[Vote<T>]) -> Option<&T> {
    votes
        .iter()
        .rev()
        .max_by_key(|vote| vote.mentions)
        .map(|vote| &vote.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_given_value_wins_and_the_first_on_a_tie() {
        let mut votes = Vec::new();
        assert_eq!(best(&votes), None::<&&str>);
        vote(&mut votes, "a");
        vote(&mut votes, "b");
        assert_eq!(best(&votes), Some(&"a"));
        vote(&mut votes, "b");
        assert_eq!(best(&votes), Some(&"b"));
        assert_eq!(votes[1].mentions, 2);
    }

    #[test]
    fn a_field_keeps_a_bounded_number_of_values() {
        let mut votes = Vec::new();
        for n in 0..100 {
            vote(&mut votes, n);
        }
        assert_eq!(votes.len(), MAX_VALUES);
    }
}
