//! The count line a run over many items ends with on stderr ("2 granted, 1 unchanged,
//! 1 failed, 3 not_started"), shared by `consent` and `map import` so both count alike.

use crate::failure::Failure;

/// The word an item is counted under: its status, or for an item Ctrl-C or a stopped run cut
/// short, its code (`interrupted`, `not_started`), so those are not counted as failures.
pub fn word<'a>(status: &'a str, error: Option<&Failure>) -> &'a str {
    match error {
        Some(e) if e.code.unfinished() => e.code.as_str(),
        _ => status,
    }
}

/// "2 granted, 1 failed": how many items have each word, in `order` (words not in it come
/// last, in the order first seen); empty when there are no items.
pub fn line<'a>(order: &[&str], words: impl IntoIterator<Item = &'a str>) -> String {
    let mut counts: Vec<(&str, usize)> = order.iter().map(|w| (*w, 0)).collect();
    for word in words {
        match counts.iter_mut().find(|(w, _)| *w == word) {
            Some((_, n)) => *n += 1,
            None => counts.push((word, 1)),
        }
    }
    counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(w, n)| format!("{n} {w}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::FailureCode;

    #[test]
    fn counts_follow_the_given_order_and_skip_zeros() {
        let words = ["failed", "granted", "granted", "odd", "unchanged"];
        assert_eq!(
            line(&["granted", "regranted", "unchanged", "failed"], words),
            "2 granted, 1 unchanged, 1 failed, 1 odd"
        );
        assert_eq!(line(&["granted"], []), "");
    }

    #[test]
    fn cut_short_items_count_under_their_code_not_as_failed() {
        let not_started = Failure::new(FailureCode::NotStarted, "x");
        let interrupted = Failure::new(FailureCode::Interrupted, "x");
        let refused = Failure::new(FailureCode::Conflict, "x");
        assert_eq!(word("failed", Some(&not_started)), "not_started");
        assert_eq!(word("failed", Some(&interrupted)), "interrupted");
        assert_eq!(word("failed", Some(&refused)), "failed");
        assert_eq!(word("added", None), "added");
    }
}
