//! Renders command results: one `Render` impl per result type gives the table, the JSON and the
//! CSV, so the three never drift. JSON shapes are our own camelCase DTOs, never Microsoft's raw
//! payloads. Untrusted text is sanitised for the terminal.

pub mod sanitize;

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

use crate::cli::OutputFormat;
use crate::io::IoStreams;

/// A result that can be shown in each output format.
pub trait Render: Serialize {
    /// Column headers and rows, shared by the table and the CSV.
    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>);

    /// Whether the table shows the rows as a list of records (default) or, for a single object,
    /// as `key  value` lines.
    fn single(&self) -> bool {
        false
    }
}

/// Writes `value` to stdout in `format`.
pub fn emit<T: Render>(io: &IoStreams, format: OutputFormat, value: &T) -> std::io::Result<()> {
    let text = match format {
        OutputFormat::Json => json(value, io.stdout_tty)?,
        OutputFormat::Csv => csv(value)?,
        OutputFormat::Table => table(value, io.stdout_tty),
    };
    io.out(&text)
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

fn csv<T: Render>(value: &T) -> std::io::Result<String> {
    let (headers, rows) = value.rows();
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(&headers).map_err(std::io::Error::other)?;
    for row in rows {
        w.write_record(&row).map_err(std::io::Error::other)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn table<T: Render>(value: &T, tty: bool) -> String {
    let (headers, rows) = value.rows();
    let clean = |s: &str| sanitize::for_terminal(s);
    let mut t = Table::new();
    if !tty {
        t.force_no_tty();
    }
    if value.single() {
        t.load_style(presets::NOTHING);
        for (h, v) in headers
            .iter()
            .zip(rows.first().cloned().unwrap_or_default())
        {
            t.add_row(vec![format!("{h}:"), clean(&v)]);
        }
    } else {
        t.load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(headers.iter().map(|h| title(h)));
        for row in rows {
            t.add_row(row.iter().map(|c| clean(c)).collect::<Vec<_>>());
        }
    }
    let mut s = t.to_string();
    // comfy-table pads the first column of a borderless table with a leading space.
    if value.single() {
        s = s
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end())
            .collect::<Vec<_>>()
            .join("\n");
    }
    s.push('\n');
    s
}

/// A camelCase key as a table heading: `tenantId` → `TENANT ID`.
fn title(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_uppercase() && !out.is_empty() {
            out.push(' ');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
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
            (vec!["user"], vec![vec![self.user_name.clone()]])
        }
        fn single(&self) -> bool {
            true
        }
    }

    fn render(format: OutputFormat, v: &One) -> String {
        let (io, out, _) = IoStreams::memory("");
        emit(&io, format, v).unwrap();
        out.contents()
    }

    #[test]
    fn one_value_three_formats() {
        let v = One {
            user_name: "a,\"b\"\u{1b}".into(),
        };
        assert_eq!(
            render(OutputFormat::Json, &v),
            "{\"userName\":\"a,\\\"b\\\"\\u001b\"}\n"
        );
        assert_eq!(
            render(OutputFormat::Csv, &v),
            "user\n\"a,\"\"b\"\"\u{1b}\"\n"
        );
        assert_eq!(render(OutputFormat::Table, &v), "user:  a,\"b\"\u{FFFD}\n");
    }
}
