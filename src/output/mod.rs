//! Renders command results in the three formats. JSON is the result's own camelCase DTO (never
//! Microsoft's raw payloads); CSV is derived from that JSON (its keys are the columns, its values
//! the cells, empty for null), so the two cannot disagree; the table is for people: it may
//! decorate (marks, colour, joined lists) but shows the same values. Tables fit the terminal:
//! identifiers, domains and timestamps are never split, free text is wrapped or shortened, and
//! when even that is not enough the least useful columns go (and a note says `-o json` has
//! them all). Untrusted text is sanitised for the terminal.

mod csv;
pub mod sanitize;
mod table;

use serde::Serialize;

use crate::cli::OutputFormat;
use crate::io::IoStreams;

pub use table::{Tone, paint, title, tone_of};

/// A result that can be shown in each output format.
pub trait Render: Serialize {
    /// The table for people: column keys (the JSON key a column shows, where it shows one)
    /// and rows. Cells may decorate the JSON value, never contradict it.
    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>);

    /// Whether the table shows the rows as a list of records (default) or, for a single object,
    /// as `key  value` lines.
    fn single(&self) -> bool {
        false
    }

    /// How the table fits a narrow terminal (see `Fit`).
    fn fit(&self) -> Fit {
        Fit::default()
    }

    /// What a table with no rows says instead, on stderr (JSON stays `[]`): what is empty,
    /// and what to do next, with commands written as `csp` (`invocation` in this run's mode).
    fn when_empty(&self, invocation: &str) -> String {
        let _ = invocation;
        "nothing to show".into()
    }
}

/// How a table fits a narrow terminal: which columns hold free text or lists, and which to
/// drop first when it cannot fit.
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    /// Columns of free text (messages, lists), wrapped and shortened to the terminal's width.
    /// Every other column is kept whole.
    pub text: &'static [&'static str],
    /// Columns holding a `, `-joined list of names (roles, groups): on a terminal too narrow
    /// for the list on one line, one name per line, so no name is split.
    pub lists: &'static [&'static str],
    /// Columns to drop when the kept-whole ones do not fit, least useful first.
    pub drop: &'static [&'static str],
    /// The narrowest a free-text column may get before columns are dropped.
    pub min_text: usize,
}

/// Free text in any table: wrapped, shortened, never allowed to push identifiers apart.
pub const TEXT_COLUMNS: &[&str] = &[
    "detail",
    "error",
    "errors",
    "problems",
    "warnings",
    "changes",
    "remedy",
    "roles",
    "description",
    "meaning",
    "accessAssignments",
    "groups",
];

/// Lists of names in any table.
pub const LIST_COLUMNS: &[&str] = &["roles", "groups", "accessAssignments"];

impl Fit {
    /// The usual free-text and list columns; `drop` says which columns go first.
    pub const fn dropping(drop: &'static [&'static str]) -> Fit {
        Fit {
            text: TEXT_COLUMNS,
            lists: LIST_COLUMNS,
            drop,
            min_text: 20,
        }
    }

    /// Free text at least `width` columns wide, dropping columns for it if need be.
    pub const fn with_min_text(mut self, width: usize) -> Fit {
        self.min_text = width;
        self
    }
}

impl Default for Fit {
    fn default() -> Self {
        Fit::dropping(&[])
    }
}

/// How to draw a table here: the terminal's width (`None`: not a terminal, no wrapping at
/// all), colour, and whether free text is shortened (not with `-v`).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub width: Option<u16>,
    pub color: bool,
    pub shorten: bool,
}

impl Style {
    /// Plain text for a pipe or a file.
    pub fn plain() -> Style {
        Style {
            width: None,
            color: false,
            shorten: false,
        }
    }
}

/// What was written, and what the caller should tell the user on stderr.
#[derive(Debug, Default)]
pub struct Emitted {
    /// Table columns left out to fit the terminal.
    pub hidden: Vec<String>,
}

/// Writes `value` to stdout in `format`.
pub fn emit<T: Render>(
    io: &IoStreams,
    format: OutputFormat,
    value: &T,
    style: Style,
) -> std::io::Result<Emitted> {
    let (text, emitted) = render(format, value, style, io.stdout_tty)?;
    io.out(&text)?;
    Ok(emitted)
}

/// The text `emit` writes.
pub fn render<T: Render>(
    format: OutputFormat,
    value: &T,
    style: Style,
    pretty_json: bool,
) -> std::io::Result<(String, Emitted)> {
    Ok(match format {
        OutputFormat::Json => (json(value, pretty_json)?, Emitted::default()),
        OutputFormat::Csv => (csv::of(value)?, Emitted::default()),
        OutputFormat::Table => table::of(value, style),
    })
}

fn json<T: Serialize>(value: &T, pretty: bool) -> std::io::Result<String> {
    let mut s = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .map_err(std::io::Error::other)?;
    s.push('\n');
    Ok(s)
}

/// `Option<String>` as table text.
pub fn or_dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct One {
        user_name: String,
    }
    impl Render for One {
        fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
            (vec!["userName"], vec![vec![self.user_name.clone()]])
        }
        fn single(&self) -> bool {
            true
        }
    }

    fn text(format: OutputFormat, v: &One) -> String {
        render(format, v, Style::plain(), false).unwrap().0
    }

    #[test]
    fn one_value_three_formats() {
        let v = One {
            user_name: "a,\"b\"\u{1b}".into(),
        };
        assert_eq!(
            text(OutputFormat::Json, &v),
            "{\"userName\":\"a,\\\"b\\\"\\u001b\"}\n"
        );
        assert_eq!(
            text(OutputFormat::Csv, &v),
            "userName\n\"a,\"\"b\"\"\u{1b}\"\n"
        );
        assert_eq!(
            text(OutputFormat::Table, &v),
            "userName:  a,\"b\"\u{FFFD}\n"
        );
    }
}
