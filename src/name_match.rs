//! Company-name matching for `map suggest`: names are normalised (case, accents, punctuation,
//! legal suffixes such as Ltd, Inc, GmbH, B.V., Pty) and compared by Jaro-Winkler similarity.

use icu_normalizer::DecomposingNormalizerBorrowed;

/// Scores at or above this are proposed; below it a name is listed as unmatched.
pub const GOOD_MATCH: f64 = 0.88;

/// Legal forms and filler words that do not tell companies apart.
const NOISE: &[&str] = &[
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "llc",
    "llp",
    "lp",
    "plc",
    "corp",
    "corporation",
    "co",
    "company",
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "bv",
    "nv",
    "pty",
    "pte",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "ab",
    "as",
    "asa",
    "oy",
    "oyj",
    "aps",
    "kk",
    "bhd",
    "sdn",
    "the",
    "and",
    "group",
    "holding",
    "holdings",
];

/// Lowercase, without accents, punctuation or legal suffixes; words joined by single spaces.
pub fn normalise(name: &str) -> String {
    let decomposed = DecomposingNormalizerBorrowed::new_nfkd().normalize(name);
    let mut plain = String::with_capacity(decomposed.len());
    for c in decomposed.chars() {
        if is_combining_mark(c) {
            continue;
        }
        if c == '&' {
            plain.push_str(" and ");
        } else if c.is_alphanumeric() {
            plain.extend(c.to_lowercase());
        } else if c == '.' {
            // "B.V." and "S.A." are one word each.
        } else {
            plain.push(' ');
        }
    }
    let words: Vec<&str> = plain
        .split_whitespace()
        .filter(|w| !NOISE.contains(w))
        .collect();
    if words.is_empty() {
        // A name made only of noise ("The Company Ltd") is compared as it is.
        plain.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        words.join(" ")
    }
}

fn is_combining_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Similarity of two company names, 0.0 to 1.0.
pub fn score(a: &str, b: &str) -> f64 {
    let (a, b) = (normalise(a), normalise(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    // Word order should not matter much ("Toys Tailspin"), so take the better of the two.
    let sorted = |s: &str| {
        let mut w: Vec<&str> = s.split(' ').collect();
        w.sort_unstable();
        w.join(" ")
    };
    let spelling = strsim::jaro_winkler(&a, &b).max(strsim::jaro_winkler(&sorted(&a), &sorted(&b)));
    spelling.max(words_contained(&a, &b))
}

/// When every word of one name is a whole word of the other ("Toys" in "Wingtip Toys"), a
/// score that says so, higher the less the longer name adds: two names that both contain the
/// word tie, so neither is proposed over the other.
fn words_contained(a: &str, b: &str) -> f64 {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let long_words: Vec<&str> = long.split(' ').collect();
    let short_words: Vec<&str> = short.split(' ').collect();
    if short_words.iter().all(|w| long_words.contains(w)) {
        0.9 + 0.1 * short_words.len() as f64 / long_words.len() as f64
    } else {
        0.0
    }
}

/// A candidate and its score.
pub type Scored<'a, T> = Option<(&'a T, f64)>;

/// The best and second-best candidates for `name`, with their scores.
pub fn best_two<'a, T>(
    name: &str,
    candidates: &'a [T],
    candidate_name: impl Fn(&T) -> &str,
) -> (Scored<'a, T>, Scored<'a, T>) {
    let mut scored: Vec<(&T, f64)> = candidates
        .iter()
        .map(|c| (c, score(name, candidate_name(c))))
        .collect();
    scored.sort_by(|x, y| y.1.total_cmp(&x.1));
    let mut it = scored.into_iter();
    (it.next(), it.next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_forms_punctuation_and_accents_are_ignored() {
        assert_eq!(normalise("Contoso Ltd."), "contoso");
        assert_eq!(normalise("Contoso Limited"), "contoso");
        assert_eq!(normalise("Fabrikam, Inc."), "fabrikam");
        assert_eq!(normalise("Müller & Söhne GmbH"), "muller sohne");
        assert_eq!(normalise("Wingtip B.V."), "wingtip");
        assert_eq!(normalise("Tailspin Toys Pty Ltd"), "tailspin toys");
        assert_eq!(normalise("The Company Ltd"), "the company ltd");
    }

    #[test]
    fn the_right_company_wins_on_a_realistic_list() {
        let customers = [
            "Contoso Limited",
            "Contoso Pharmaceuticals Inc",
            "Fabrikam",
            "Fabrikam Residences LLC",
            "Northwind Traders",
            "Tailspin Toys Pty Ltd",
            "Wide World Importers",
            "Müller & Söhne GmbH",
        ];
        for (client, expected) in [
            ("Contoso Ltd.", "Contoso Limited"),
            ("Fabrikam, Inc.", "Fabrikam"),
            ("Northwind", "Northwind Traders"),
            ("Tailspin Toys", "Tailspin Toys Pty Ltd"),
            ("Muller und Sohne", "Müller & Söhne GmbH"),
        ] {
            let (best, runner) = best_two(client, &customers, |c| c);
            let (best, s) = best.unwrap();
            assert_eq!(*best, expected, "{client}");
            assert!(runner.unwrap().1 <= s);
        }
        let (best, _) = best_two("Contoso Ltd.", &customers, |c| c);
        assert!(best.unwrap().1 >= GOOD_MATCH);
        let (best, _) = best_two("Adventure Works Cycles", &customers, |c| c);
        assert!(best.unwrap().1 < GOOD_MATCH, "no guess for a stranger");
    }

    #[test]
    fn a_word_two_companies_share_is_a_tie_not_a_guess() {
        let customers = ["Wingtip Toys", "Tailspin Toys", "Trey Research"];
        let (best, runner) = best_two("Toys", &customers, |c| c);
        let ((b, bs), (r, rs)) = (best.unwrap(), runner.unwrap());
        let mut both = [*b, *r];
        both.sort_unstable();
        assert_eq!(both, ["Tailspin Toys", "Wingtip Toys"]);
        assert!(bs >= GOOD_MATCH && (bs - rs).abs() < 1e-9, "{bs} {rs}");
    }
}
