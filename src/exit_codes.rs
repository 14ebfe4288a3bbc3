//! The exit codes: the `ExitCode` enum and the one table of what each code means. `csp
//! exit-codes`, the help texts that mention exit codes and the check of docs/exit-codes.md all
//! read this table; nothing else spells the meanings out.

/// Declares `ExitCode` and its table from one list, so a code cannot exist without its meaning.
macro_rules! exit_codes {
    ($($variant:ident = $code:literal, $summary:literal, $meaning:literal;)+) => {
        /// How a run of `csp` ended, as the process exit status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ExitCode {
            $($variant = $code,)+
        }

        impl ExitCode {
            /// Every code, in ascending order.
            pub const ALL: &[ExitCode] = &[$(ExitCode::$variant,)+];

            /// A few words, for the one-line summary in `csp --help`.
            pub fn summary(self) -> &'static str {
                match self {
                    $(ExitCode::$variant => $summary,)+
                }
            }

            /// What the code means and, where there is something to do, what.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(ExitCode::$variant => $meaning,)+
                }
            }
        }
    };
}

exit_codes! {
    Success = 0, "success", "success";
    Failure = 1, "failure",
        "the command failed (remote error, I/O, unexpected response, keyring missing or locked, a tenant that is not your customer, a mapping conflict without `--replace`, an app that differs without `setup --update`)";
    Usage = 2, "usage error or invalid input",
        "usage error or invalid input (bad flag, GUID, client name, domain, URL, a domain Microsoft does not know, an unmapped client, or a file that does not parse)";
    NotSignedIn = 4, "not signed in (run `csp authorize`)",
        "not signed in, the sign-in expired or was revoked, it was issued to another app than the profile's (after `csp setup` changed the app), or Partner Center requires MFA (error 900421): run `csp authorize`";
    Partial = 5, "partial failure",
        "partial: some customers (or `map import` rows) of a multi-item command failed; `audit` found customers that need attention; `doctor` found a failed check";
    Interrupted = 130, "interrupted",
        "interrupted (Ctrl-C); what finished before is kept and reported";
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The line `csp --help` ends with: every code in a few words.
    pub fn help_summary() -> String {
        let codes: Vec<String> = ExitCode::ALL
            .iter()
            .map(|c| format!("{} {}", c.code(), c.summary()))
            .collect();
        format!(
            "Exit codes: {}. Run `csp help exit-codes` for what each means.",
            codes.join(", ")
        )
    }

    /// The table `csp exit-codes` and `csp help exit-codes` print: one code a row, its meaning
    /// wrapped under a hanging indent to fit the help's width.
    pub fn table_text() -> String {
        Self::table_wrapped(92)
    }

    fn table_wrapped(width: usize) -> String {
        let indent = 2 + 5;
        let mut out = String::new();
        for c in ExitCode::ALL {
            let lines = wrap(c.meaning(), width.saturating_sub(indent).max(20));
            for (i, line) in lines.iter().enumerate() {
                if i == 0 {
                    out.push_str(&format!("  {:<5}{line}\n", c.code()));
                } else {
                    out.push_str(&format!("{:indent$}{line}\n", ""));
                }
            }
        }
        out
    }
}

/// Greedy word wrap: no line longer than `width` unless a single word is.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_the_documented_numbers_in_order() {
        let codes: Vec<i32> = ExitCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes, [0, 1, 2, 4, 5, 130]);
        assert_eq!(ExitCode::NotSignedIn.code(), 4);
    }

    #[test]
    fn the_table_wraps_under_a_hanging_indent_and_loses_no_word() {
        let text = ExitCode::table_wrapped(60);
        assert!(text.starts_with("  0    success\n  1    the command failed"));
        assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
        let words: Vec<&str> = text
            .lines()
            .flat_map(|l| l.split_whitespace())
            .filter(|w| w.parse::<i32>().is_err())
            .collect();
        let expected: Vec<&str> = ExitCode::ALL
            .iter()
            .flat_map(|c| c.meaning().split_whitespace())
            .filter(|w| w.parse::<i32>().is_err())
            .collect();
        assert_eq!(words, expected);
        // Continuation lines start under the meaning, not under the code.
        let second = text.lines().nth(2).unwrap();
        assert!(second.starts_with("       ") && !second.starts_with("        "));
    }

    #[test]
    fn the_help_summary_names_every_code() {
        let s = ExitCode::help_summary();
        assert!(s.starts_with("Exit codes: 0 success, 1 failure, 2 usage error"));
        for c in ExitCode::ALL {
            assert!(s.contains(&format!("{} {}", c.code(), c.summary())), "{s}");
        }
    }
}
