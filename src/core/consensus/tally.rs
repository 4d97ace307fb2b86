//! Counting votes: the one rule every "who agrees" question of this crate is decided by
//! (verify's consensus and published majority, the pre-push judgement, the backend matrix).
//!
//! A candidate with no votes never wins. The largest count wins; what a tie means depends on
//! the question, so it is a named parameter instead of a second copy of the rule.

/// What a tie for the largest count means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTie {
    /// A tie is no winner (verify's consensus: two equal groups of keys decide nothing).
    NoWinner,
    /// Every tied candidate leads (the pre-push judgement: agreeing with any largest group
    /// of the other signers is agreeing).
    AllLead,
}

/// The candidates with the largest non-zero count, in input order: at most one for
/// [`OnTie::NoWinner`] (none on a tie or when nobody has a vote).
pub fn leaders<K>(counts: impl IntoIterator<Item = (K, usize)>, on_tie: OnTie) -> Vec<K> {
    let mut best = 0;
    let mut top: Vec<K> = Vec::new();
    for (k, n) in counts {
        if n == 0 || n < best {
            continue;
        }
        if n > best {
            best = n;
            top.clear();
        }
        top.push(k);
    }
    if on_tie == OnTie::NoWinner && top.len() > 1 {
        top.clear();
    }
    top
}

/// The candidate with strictly more votes than any other; `None` on a tie or when empty.
pub fn strict_winner<K>(counts: impl IntoIterator<Item = (K, usize)>) -> Option<K> {
    leaders(counts, OnTie::NoWinner).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_winner_needs_more_than_every_other() {
        assert_eq!(strict_winner([("a", 2), ("b", 1)]), Some("a"));
        assert_eq!(strict_winner([("a", 1), ("b", 3), ("c", 2)]), Some("b"));
        assert_eq!(strict_winner([("a", 2), ("b", 2)]), None);
        // A tie below the top does not matter; one above a first leader does.
        assert_eq!(strict_winner([("a", 1), ("b", 1), ("c", 2)]), Some("c"));
        assert_eq!(strict_winner([("a", 2), ("b", 3), ("c", 3)]), None);
        assert_eq!(strict_winner(Vec::<(&str, usize)>::new()), None);
        assert_eq!(strict_winner([("a", 0)]), None);
    }

    #[test]
    fn all_lead_keeps_every_tied_candidate() {
        assert_eq!(leaders([("a", 2), ("b", 1), ("c", 2)], OnTie::AllLead), vec!["a", "c"]);
        assert_eq!(leaders([("a", 0), ("b", 0)], OnTie::AllLead), Vec::<&str>::new());
        assert_eq!(leaders([("a", 1), ("b", 2)], OnTie::AllLead), vec!["b"]);
        assert_eq!(leaders([("a", 2), ("c", 2)], OnTie::NoWinner), Vec::<&str>::new());
    }
}
