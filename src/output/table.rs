//! Tables for people. On a terminal: identifiers, domains, dates and statuses are kept whole
//! (never split across lines); free text is wrapped to the space left, and shortened to a few
//! lines unless `-v`; when the kept-whole columns alone do not fit, the least useful columns
//! are left out and the caller says so. Marks and status words are coloured when colour is on.
//! Not a terminal: no wrapping, no colour, full text.

use comfy_table::{Cell, Color, ColumnConstraint, ContentArrangement, Table, Width, presets};
use unicode_width::UnicodeWidthStr;

use super::sanitize;
use super::{Emitted, Render, Style};

/// What a status or mark says about the thing it describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Done, in order (green).
    Good,
    /// Failed, ended (red).
    Bad,
    /// Needs a look, or is still on its way (yellow).
    Attention,
}

const GOOD: &[&str] = &[
    "granted",
    "unchanged",
    "regranted",
    "active",
    "pass",
    "added",
    "replaced",
    "removed",
    "assigned",
    "suggested",
    "auto_extend_enabled",
    "requested",
    "already_requested",
    "in order",
];
const BAD: &[&str] = &[
    "failed",
    "fail",
    "expired",
    "terminated",
    "terminating",
    "termination_requested",
];
const ATTENTION: &[&str] = &[
    "warn",
    "pending",
    "planned",
    "granted_unverified",
    "approval_pending",
    "created",
    "approved",
    "activating",
    "expiring",
    "ambiguous",
    "no_match",
    "already_mapped",
    "skipped",
    "unknown",
    "none",
];

/// The tone of a table cell: a mark (✓ ✗ !) at its start, or a status word as the whole cell.
pub fn tone_of(cell: &str) -> Option<Tone> {
    let c = cell.trim();
    if c.starts_with('✓') {
        return Some(Tone::Good);
    }
    if c.starts_with('✗') {
        return Some(Tone::Bad);
    }
    if c.starts_with('!') {
        return Some(Tone::Attention);
    }
    if GOOD.contains(&c) {
        Some(Tone::Good)
    } else if BAD.contains(&c) {
        Some(Tone::Bad)
    } else if ATTENTION.contains(&c) {
        Some(Tone::Attention)
    } else {
        None
    }
}

fn color_of(tone: Tone) -> Color {
    match tone {
        Tone::Good => Color::Green,
        Tone::Bad => Color::Red,
        Tone::Attention => Color::Yellow,
    }
}

/// `text` in the colour of `tone`, when colour is on (for lines outside tables).
pub fn paint(text: &str, tone: Tone, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let style = anstyle::Style::new().fg_color(Some(anstyle::Color::Ansi(match tone {
        Tone::Good => anstyle::AnsiColor::Green,
        Tone::Bad => anstyle::AnsiColor::Red,
        Tone::Attention => anstyle::AnsiColor::Yellow,
    })));
    format!("{}{text}{}", style.render(), style.render_reset())
}

/// A camelCase key as a table heading: `tenantId` → `TENANT ID`.
pub fn title(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_uppercase() && !out.is_empty() {
            out.push(' ');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The widest line of a cell, in terminal columns.
fn width_of(s: &str) -> usize {
    s.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

/// Free text cut to about `lines` lines of `width` columns, ending in "…".
fn shorten(text: &str, width: usize, lines: usize) -> String {
    let budget = width.saturating_mul(lines).max(8);
    if UnicodeWidthStr::width(text) <= budget {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = UnicodeWidthStr::width(c.encode_utf8(&mut [0; 4]) as &str);
        if used + w + 1 > budget {
            break;
        }
        out.push(c);
        used += w;
    }
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// Border and padding columns a table of `n` columns adds (UTF8_FULL_CONDENSED).
fn frame(n: usize) -> usize {
    3 * n + 1
}

/// How many lines a shortened free-text cell may take.
const TEXT_LINES: usize = 3;

pub fn of<T: Render>(value: &T, style: Style) -> (String, Emitted) {
    let (keys, rows) = value.rows();
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.iter().map(|c| sanitize::for_terminal(c)).collect())
        .collect();
    if value.single() {
        return (single(&keys, rows.first(), style), Emitted::default());
    }
    let fit = value.fit();
    let min_text = fit.min_text;
    let mut keep: Vec<usize> = (0..keys.len()).collect();
    let mut hidden = Vec::new();
    let is_text = |i: usize| fit.text.contains(&keys[i]);
    let whole_width = |i: usize| {
        rows.iter()
            .map(|r| r.get(i).map_or(0, |c| width_of(c)))
            .max()
            .unwrap_or(0)
            .max(UnicodeWidthStr::width(title(keys[i]).as_str()))
    };
    // A list's narrowest is its longest name, which is never split.
    let widest_item = |i: usize| {
        rows.iter()
            .filter_map(|r| r.get(i))
            .flat_map(|c| c.split(", "))
            .map(UnicodeWidthStr::width)
            .max()
            .unwrap_or(0)
    };
    let is_list = |i: usize| fit.lists.contains(&keys[i]);
    if let Some(total) = style.width.map(usize::from) {
        // Leave out the least useful columns until the ones kept whole fit.
        let need = |keep: &[usize]| {
            keep.iter()
                .map(|&i| {
                    if is_list(i) {
                        whole_width(i).min(min_text.max(widest_item(i)))
                    } else if is_text(i) {
                        whole_width(i).min(min_text)
                    } else {
                        whole_width(i)
                    }
                })
                .sum::<usize>()
                + frame(keep.len())
        };
        for drop in fit.drop {
            if need(&keep) <= total {
                break;
            }
            if let Some(pos) = keep.iter().position(|&i| keys[i] == *drop) {
                hidden.push(keys[keep.remove(pos)].to_string());
            }
        }
    }
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .set_header(keep.iter().map(|&i| title(keys[i])));
    let text_cols: Vec<usize> = keep.iter().copied().filter(|&i| is_text(i)).collect();
    // What the free-text columns share once the whole ones are laid out.
    let text_share = style.width.map(|w| {
        let whole: usize = keep
            .iter()
            .filter(|&&i| !is_text(i))
            .map(|&i| whole_width(i))
            .sum();
        let left = usize::from(w).saturating_sub(whole + frame(keep.len()));
        (left / text_cols.len().max(1)).max(min_text)
    });
    match style.width {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(w);
        }
        None => {
            t.force_no_tty()
                .set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    if style.color {
        t.enforce_styling();
    }
    for row in &rows {
        let cells = keep.iter().map(|&i| {
            let mut text = row.get(i).cloned().unwrap_or_default();
            if let Some(share) = text_share {
                // A list too wide for its share: one name per line, so no name is split.
                if is_list(i) && width_of(&text) > share {
                    text = text.replace(", ", "\n");
                }
                if style.shorten && is_text(i) && !is_list(i) {
                    text = shorten(&text, share, TEXT_LINES);
                }
            }
            let cell = Cell::new(&text);
            match tone_of(&text) {
                Some(tone) if style.color => cell.fg(color_of(tone)),
                _ => cell,
            }
        });
        t.add_row(cells.collect::<Vec<_>>());
    }
    if style.width.is_some() {
        for (col, &i) in keep.iter().enumerate() {
            let Some(c) = t.column_mut(col) else {
                continue;
            };
            if !is_text(i) {
                c.set_constraint(ColumnConstraint::ContentWidth);
            } else if is_list(i) {
                let least = u16::try_from(widest_item(i)).unwrap_or(u16::MAX);
                c.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(least)));
            }
        }
    }
    let mut s = t.to_string();
    s.push('\n');
    (s, Emitted { hidden })
}

/// A single record as `key:  value` lines.
fn single(keys: &[&'static str], row: Option<&Vec<String>>, style: Style) -> String {
    let row = row.cloned().unwrap_or_default();
    let pad = keys.iter().map(|k| k.len()).max().unwrap_or(0) + 1;
    let mut out = String::new();
    for (k, v) in keys.iter().zip(row) {
        let v = match tone_of(&v) {
            Some(tone) if style.color => paint(&v, tone, true),
            _ => v,
        };
        out.push_str(format!("{:<pad$}  {v}", format!("{k}:")).trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;
    use crate::output::Fit;

    #[derive(Serialize)]
    struct Rows(Vec<(String, String, String)>);

    impl Render for Rows {
        fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
            (
                vec!["tenantId", "domain", "detail"],
                self.0
                    .iter()
                    .map(|(a, b, c)| vec![a.clone(), b.clone(), c.clone()])
                    .collect(),
            )
        }
        fn fit(&self) -> Fit {
            Fit {
                text: &["detail", "roles"],
                lists: &["roles"],
                drop: &["domain"],
                min_text: 20,
            }
        }
    }

    fn sample() -> Rows {
        Rows(vec![(
            "5a4d0001-b54c-46ec-82fb-000000000006".into(),
            "alpineskihouse.onmicrosoft.com".into(),
            "AADSTS65001: The user or administrator has not consented to use the application with ID 'x' named 'y'. Send an interactive authorization request for this user and resource. Trace ID: 1 Correlation ID: 2".into(),
        )])
    }

    fn at(width: u16) -> (String, Emitted) {
        of(
            &sample(),
            Style {
                width: Some(width),
                color: false,
                shorten: true,
            },
        )
    }

    #[test]
    fn identifiers_stay_whole_and_free_text_wraps_to_the_width() {
        for width in [100, 200] {
            let (text, emitted) = at(width);
            assert!(
                text.contains("5a4d0001-b54c-46ec-82fb-000000000006"),
                "{text}"
            );
            assert!(text.contains("alpineskihouse.onmicrosoft.com"), "{text}");
            assert!(emitted.hidden.is_empty());
            for line in text.lines() {
                assert!(line.width() <= usize::from(width), "{width}: {line}");
            }
        }
    }

    #[test]
    fn a_table_too_narrow_drops_the_least_useful_column_and_says_so() {
        let (text, emitted) = at(70);
        assert_eq!(emitted.hidden, ["domain"]);
        assert!(!text.contains("alpineskihouse"), "{text}");
        assert!(
            text.contains("5a4d0001-b54c-46ec-82fb-000000000006"),
            "{text}"
        );
    }

    #[test]
    fn free_text_is_shortened_on_a_terminal_and_whole_elsewhere() {
        let (narrow, _) = at(100);
        assert!(narrow.contains('…'), "{narrow}");
        let (plain, _) = of(&sample(), Style::plain());
        assert!(plain.contains("Correlation ID: 2"), "{plain}");
        assert_eq!(plain.lines().count(), 5, "the row is one line: {plain}");
    }

    #[derive(Serialize)]
    struct Roles(Vec<String>);

    impl Render for Roles {
        fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
            (
                vec!["tenantId", "roles"],
                vec![vec![
                    "5a4d0001-b54c-46ec-82fb-000000000006".into(),
                    self.0.join(", "),
                ]],
            )
        }
    }

    #[test]
    fn a_list_too_wide_for_its_column_puts_one_name_per_line() {
        let names = [
            "Cloud Application Administrator",
            "Exchange Administrator",
            "Privileged Role Administrator",
        ];
        let roles = Roles(names.iter().map(|n| n.to_string()).collect());
        let style = |width| Style {
            width: Some(width),
            color: false,
            shorten: true,
        };
        let (narrow, _) = of(&roles, style(80));
        for name in names {
            assert!(narrow.contains(name), "{name} split in\n{narrow}");
        }
        assert!(narrow.lines().count() >= 6, "{narrow}");
        let (wide, _) = of(&roles, style(200));
        assert!(wide.contains(&names.join(", ")), "{wide}");
    }

    #[test]
    fn colour_only_when_asked() {
        let coloured = paint("failed", Tone::Bad, true);
        assert!(coloured.contains("\u{1b}["), "{coloured:?}");
        assert_eq!(paint("failed", Tone::Bad, false), "failed");
        assert_eq!(tone_of("✓ active"), Some(Tone::Good));
        assert_eq!(tone_of("approval_pending"), Some(Tone::Attention));
        assert_eq!(tone_of("Contoso"), None);
    }
}
