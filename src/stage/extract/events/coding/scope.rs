//! Where a trigger stands in its sentence, and whether that leaves it an event of its own:
//! the content of a governing trigger ("threatened to strike"), what a demand or a
//! rejection is about, or a condition ("if", "unless").

use super::super::super::syntax::Rel;
use super::super::triggers::{Form, Trigger};
use super::Sentence;

impl<'d> Sentence<'_, 'd> {
    /// Whether the trigger at `i` makes no event of its own: another trigger codes it, it
    /// is what a demand or a rejection is about, or it is a condition.
    pub(in super::super) fn is_coded_elsewhere(&self, i: usize) -> bool {
        self.is_governed(i)
            || self.is_unrealised_content(i)
            || self.is_conditional(i)
            || self.is_obligation(i)
            || self.is_protest_goal(i)
    }

    /// Whether the trigger at `i` is what someone must or should do ("the rebels must agree
    /// to changes", "must reach an agreement"): a demand, coded as one where it is reported
    /// ([`Sentence::code_demands`]), not the action.
    fn is_obligation(&self, i: usize) -> bool {
        let verb = match self.rel(i) {
            Rel::OBJ | Rel::NSUBJ_PASS => self.head_of(i),
            _ => Some(i),
        };
        verb.is_some_and(|verb| {
            self.parse().children(verb).any(|c| {
                self.rel(c) == Rel::AUX && matches!(&*self.lower(c), "must" | "should" | "ought")
            })
        })
    }

    /// Whether the trigger at `i` is a demand that is a protest's goal ("staged
    /// demonstrations to demand reforms", "a hunger strike to demand his resignation"): the
    /// protest is the event.
    fn is_protest_goal(&self, i: usize) -> bool {
        let is = |at: usize, class: &str| {
            self.hit_at(at)
                .is_some_and(|hit| self.readings(hit).any(|t| t.class == class))
        };
        let Some(head) = self.head_of(i) else {
            return false;
        };
        is(i, "DEMAND")
            && matches!(self.rel(i), Rel::XCOMP | Rel::ADVCL | Rel::ACL)
            && (is(head, "PROTEST")
                || self
                    .parse()
                    .children(head)
                    .any(|c| self.rel(c) == Rel::OBJ && is(c, "PROTEST")))
    }

    /// Whether token `i` lies inside what a rejection, a demand or a threat is about
    /// ("rejected a UN proposal for a ceasefire", "called for sanctions against Nigeria"),
    /// or what an accusation alleges ("accused X of attacking"):
    /// an action nobody has taken, not an event of its own. The way up from `i` to the
    /// nearest trigger must pass only through objects, complements and noun modifiers: an
    /// adjunct ("threatened to respond after the attack") tells what did happen.
    fn is_unrealised_content(&self, i: usize) -> bool {
        let mut child = i;
        // A parse is a tree, but a bound keeps a malformed one from looping.
        for _ in 0..self.parse().len() {
            let Some(head) = self.head_of(child) else {
                return false;
            };
            let rel = self.rel(child);
            let argument = matches!(
                rel,
                Rel::OBJ | Rel::XCOMP | Rel::CCOMP | Rel::NMOD | Rel::ACL
            );
            if let Some(hit) = self.hit_at(head) {
                // "call for", "appeal to": a phrasal trigger's preposition marks its object.
                let phrasal_object = rel == Rel::OBL && hit.tokens.len() > 1;
                // "accused the US of restoring blackmail in the negotiations": alleged.
                let alleged = rel == Rel::ADVCL && self.is_marked_by(child, &["of"]);
                // Any reading counts: "an appeal for" is a demand as a noun too.
                let class =
                    |classes: &[&str]| hit.triggers.iter().any(|t| classes.contains(&t.class));
                return ((argument || phrasal_object) && class(&["REJECT", "DEMAND", "THREATEN"]))
                    || (alleged && class(&["ACCUSE"]));
            }
            if !argument {
                return false;
            }
            child = head;
        }
        false
    }

    /// Whether token `i` is inside a condition ("if the United States goes ahead with the
    /// deployment", "unless rebels lay down arms"): what it tells has not happened.
    fn is_conditional(&self, i: usize) -> bool {
        let mut node = i;
        for _ in 0..self.parse().len() {
            if self.rel(node) == Rel::ADVCL && self.is_marked_by(node, &["if", "unless"]) {
                return true;
            }
            match self.head_of(node) {
                Some(head) => node = head,
                None => return false,
            }
        }
        false
    }

    /// Whether the hit at `i` is the content of another trigger, which codes it.
    fn is_governed(&self, i: usize) -> bool {
        let Some(head) = self.head_of(i) else {
            return false;
        };
        let Some(governor) = self.hit_at(head) else {
            return false;
        };
        self.readings(governor).any(|trigger| match trigger.form {
            Form::Governor | Form::Adjective => {
                matches!(self.rel(i), Rel::XCOMP | Rel::CCOMP)
                    || (self.rel(i) == Rel::OBJ && takes_object_content(trigger))
            }
            // "imposed sanctions", "launched attacks": the verb codes its object.
            Form::Verb => matches!(self.rel(i), Rel::OBJ | Rel::NSUBJ_PASS),
            Form::Noun => matches!(self.rel(i), Rel::ACL),
        })
    }

    /// The action a governor governs (its clausal complement, or its object for some), as
    /// the head token and the reading that fits it.
    pub(super) fn content(
        &self,
        governor: usize,
        trigger: &Trigger,
    ) -> Option<(usize, &'d Trigger)> {
        let parse = self.parse();
        let takes_object = takes_object_content(trigger);
        parse
            .children(governor)
            .filter(|&c| matches!(self.rel(c), Rel::XCOMP | Rel::CCOMP) && !self.is_question(c))
            .chain(
                parse
                    .children(governor)
                    .filter(|&c| takes_object && self.rel(c) == Rel::OBJ),
            )
            .find_map(|c| {
                let hit = self.hit_at(c)?;
                self.readings(hit).next().map(|t| (c, t))
            })
    }

    /// "... unless the Kremlin closed its base": a conditional action is a threat.
    pub(super) fn conditional(&self, i: usize) -> bool {
        self.children_with(i, &[Rel::ADVCL])
            .into_iter()
            .any(|c| self.is_marked_by(c, &["unless"]))
    }

    /// "asks if ID cards could help", "asked whether": a question, not an action asked for.
    pub(super) fn is_question(&self, clause: usize) -> bool {
        self.rel(clause) == Rel::CCOMP && self.is_marked_by(clause, &["if", "whether"])
    }

    /// Whether what a governor governs is a question ("asks whether ...").
    pub(super) fn governs_a_question(&self, governor: usize) -> bool {
        self.parse().children(governor).any(|c| self.is_question(c))
    }

    /// Whether the clause at `clause` is introduced by one of `words` ("if", "unless",
    /// "of" in "accused of attacking").
    fn is_marked_by(&self, clause: usize, words: &[&str]) -> bool {
        self.parse()
            .children(clause)
            .any(|c| self.rel(c) == Rel::MARK && words.contains(&&*self.lower(c)))
    }
}

/// Governors whose object can be the action they govern ("threatened an attack",
/// "demanded a ceasefire", "plans an offensive").
fn takes_object_content(trigger: &Trigger) -> bool {
    matches!(trigger.class, "INTENT" | "NEGATE" | "THREATEN" | "DEMAND")
}
