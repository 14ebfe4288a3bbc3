//! Completions, the man pages, `--version`, `exit-codes`, every command's help text pinned by
//! snapshots (so help changes show up in review), and the documentation checked against the
//! code: the tables in docs/ that mirror code, and every relative link in the markdown.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use csp::ExitCode;
use csp::advice::AADSTS;
use csp::failure::FailureCode;

use crate::support::*;

#[tokio::test]
async fn completions_generate_for_every_shell() {
    let env = TestEnv::new().await;
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = env.run(&["completions", shell]).await;
        out.assert_code(0);
        assert!(
            out.stdout.len() > 1000,
            "{shell}: {} bytes",
            out.stdout.len()
        );
        for word in ["csp", "consent", "customer"] {
            assert!(out.stdout.contains(word), "{shell} completion lacks {word}");
        }
    }
    env.run(&["completions", "tcsh"]).await.assert_code(2);
}

#[tokio::test]
async fn the_man_page_renders() {
    let env = TestEnv::new().await;
    let out = env.run(&["man"]).await;
    out.assert_code(0);
    assert!(
        out.stdout.contains(".TH csp 1"),
        "{}",
        &out.stdout[..200.min(out.stdout.len())]
    );
    for word in ["authorize", "consent", "audit", "config\\-dir"] {
        assert!(out.stdout.contains(word), "the man page lacks {word}");
    }
    // The page links only to pages `man --dir` writes: there is none for `help`.
    assert!(!out.stdout.contains("csp\\-help(1)"), "{}", out.stdout);
}

#[tokio::test]
async fn man_dir_writes_one_page_per_command_creating_the_directory() {
    let env = TestEnv::new().await;
    let dir = env.config_dir().join("new/man1");
    let out = env.run(&["man", "--dir", dir.to_str().unwrap()]).await;
    out.assert_code(0);

    let mut paths = Vec::new();
    command_paths(&csp::cli::Cli::command(), Vec::new(), &mut paths);
    let expected: BTreeSet<String> = paths
        .iter()
        .map(|p| {
            let mut name = vec!["csp".to_string()];
            name.extend(p.iter().cloned());
            format!("{}.1", name.join("-"))
        })
        .collect();
    for name in ["csp.1", "csp-authorize.1", "csp-map.1", "csp-map-import.1"] {
        assert!(expected.contains(name), "{expected:?}");
    }
    let written: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(written, expected);

    for name in &expected {
        let page = std::fs::read_to_string(dir.join(name)).unwrap();
        let title = name.trim_end_matches(".1");
        // A roff page whose title is the page's own name, in section 1.
        assert!(
            page.lines()
                .any(|l| l.starts_with(&format!(".TH {title} 1 "))),
            "{name}: {}",
            &page[..300.min(page.len())]
        );
        assert!(page.contains(".SH NAME"), "{name}");
        assert!(
            page.contains(&format!("csp {}", env!("CARGO_PKG_VERSION"))),
            "{name}"
        );
        // stdout lists every file written.
        assert!(
            out.stdout
                .lines()
                .any(|l| Path::new(l) == dir.join(name).as_path()),
            "{}",
            out.stdout
        );
    }
    let import = std::fs::read_to_string(dir.join("csp-map-import.1")).unwrap();
    assert!(import.contains("customer,domain") && import.contains("\\-\\-jobs"));

    // A second run replaces the pages with the same text.
    env.run(&["man", "--dir", dir.to_str().unwrap()])
        .await
        .assert_code(0);
    assert_eq!(
        std::fs::read_to_string(dir.join("csp-map-import.1")).unwrap(),
        import
    );
}

#[tokio::test]
async fn man_dir_on_a_file_fails_and_leaves_it_alone() {
    let env = TestEnv::new().await;
    let file = env.config_dir().join("not-a-dir");
    std::fs::write(&file, "keep me").unwrap();
    let out = env.run(&["man", "--dir", file.to_str().unwrap()]).await;
    out.assert_code(1);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

#[tokio::test]
async fn the_version_names_the_commit() {
    let env = TestEnv::new().await;
    let out = env.run(&["--version"]).await;
    out.assert_code(0);
    let line = out.stdout.trim();
    assert!(
        line.starts_with(&format!("csp {} (", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    let commit = line.rsplit('(').next().unwrap().trim_end_matches(')');
    let git = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match git {
        // Built from this checkout: the commit it names is this checkout's (or its parent's
        // while a commit is being made).
        Some(head) => assert!(
            commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit()),
            "{commit} vs {head}"
        ),
        None => assert_eq!(commit, "unknown"),
    }
}

#[tokio::test]
async fn exit_codes_are_explained() {
    let env = TestEnv::new().await;
    for args in [vec!["exit-codes"], vec!["help", "exit-codes"]] {
        let out = env.run(&args).await;
        out.assert_code(0);
        for code in ["  0 ", "  1 ", "  2 ", "  4 ", "  5 ", "  130 "] {
            assert!(out.stdout.contains(code), "{args:?} lacks {code:?}");
        }
        assert!(out.stdout.contains("run `csp authorize`"), "{}", out.stdout);
    }
    let out = env.run(&["--help"]).await;
    assert!(out.stdout.contains("csp help exit-codes"));
    assert!(
        out.stdout.contains("4 not signed in (run `csp"),
        "{}",
        out.stdout
    );

    // For scripts: the same table as JSON.
    let out = env.run(&["exit-codes", "-o", "json"]).await;
    out.assert_code(0);
    let rows = out.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), ExitCode::ALL.len());
    for (row, code) in rows.iter().zip(ExitCode::ALL) {
        assert_eq!(row["code"], code.code());
        assert_eq!(row["meaning"], code.meaning());
        assert_eq!(row["summary"], code.summary());
    }
}

/// Every command path: `[]`, `["map"]`, `["map", "import"]`, …
fn command_paths(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let mut p = prefix.clone();
        p.push(sub.get_name().to_string());
        command_paths(sub, p, out);
    }
}

#[tokio::test]
async fn every_commands_help_is_snapshotted() {
    let env = TestEnv::new().await;
    let mut paths = Vec::new();
    command_paths(&csp::cli::Cli::command(), Vec::new(), &mut paths);
    assert!(paths.len() >= 20, "{paths:?}");
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = env.run(&args).await;
        out.assert_code(0);
        let name = if path.is_empty() {
            "help_csp".to_string()
        } else {
            format!("help_csp_{}", path.join("_"))
        };
        insta::assert_snapshot!(name, out.stdout);
    }
}

// ---- The documentation, checked against the code ----

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of a markdown file outside fenced code blocks, with their line numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| t.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(f), Some(m)) if f == m => fence = None,
            (None, None) => out.push((i + 1, line)),
            _ => {}
        }
    }
    out
}

/// The rows of the first table whose header row is `header` (cells trimmed, outer pipes
/// dropped), or a panic naming the file.
fn table_rows(file: &Path, header: &[&str]) -> Vec<Vec<String>> {
    let text = read(file);
    let cells = |line: &str| -> Vec<String> {
        let line = line.trim();
        let inner = line.strip_prefix('|').unwrap_or(line);
        let inner = inner.strip_suffix('|').unwrap_or(inner);
        inner.split('|').map(|c| c.trim().to_string()).collect()
    };
    let lines = prose_lines(&text);
    let start = lines
        .iter()
        .position(|(_, l)| l.trim_start().starts_with('|') && cells(l) == header)
        .unwrap_or_else(|| panic!("{} has no table with the header {header:?}", file.display()));
    lines[start + 2..]
        .iter()
        .take_while(|(_, l)| l.trim_start().starts_with('|'))
        .map(|(_, l)| cells(l))
        .collect()
}

fn as_markdown(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!(
        "| {} |\n|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    for r in rows {
        s.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    s
}

#[test]
fn the_exit_code_table_in_the_docs_is_the_codes_table() {
    let header = ["code", "in short", "meaning"];
    let expected: Vec<Vec<String>> = ExitCode::ALL
        .iter()
        .map(|c| {
            vec![
                c.code().to_string(),
                c.summary().to_string(),
                c.meaning().to_string(),
            ]
        })
        .collect();
    let file = repo().join("docs/exit-codes.md");
    let found = table_rows(&file, &header);
    assert!(
        found == expected,
        "{} differs from src/exit_codes.rs; the table should read:\n\n{}",
        file.display(),
        as_markdown(&header, &expected)
    );
}

#[test]
fn the_aadsts_table_in_the_docs_is_the_advice_table() {
    let header = ["code", "what it means", "what to do"];
    let expected: Vec<Vec<String>> = AADSTS
        .iter()
        .map(|a| {
            let codes: Vec<String> = a.codes.iter().map(|c| format!("`AADSTS{c}`")).collect();
            vec![
                codes.join(", "),
                a.meaning.to_string(),
                a.action.to_string(),
            ]
        })
        .collect();
    let file = repo().join("docs/troubleshooting.md");
    let found = table_rows(&file, &header);
    assert!(
        found == expected,
        "{} differs from src/advice.rs; the table should read:\n\n{}",
        file.display(),
        as_markdown(&header, &expected)
    );
    // And what csp prints is the two columns joined.
    for a in AADSTS {
        for c in a.codes {
            assert_eq!(
                csp::advice::aadsts(*c),
                Some(format!("{}: {}", a.meaning, a.action).as_str())
            );
        }
    }
}

/// The anchors GitHub gives a file's headings: lowercased, punctuation other than `-` and `_`
/// dropped, spaces turned into `-`, and `-1`, `-2`, … added to repeats.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let Some(title) = line
            .strip_prefix('#')
            .map(|l| l.trim_start_matches('#'))
            .filter(|l| l.starts_with(' '))
        else {
            continue;
        };
        let slug: String = title
            .trim()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                '-' | '_' => Some(c),
                c if c.is_alphanumeric() => Some(c.to_lowercase().next().unwrap_or(c)),
                _ => None,
            })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        out.insert(if *n == 0 {
            slug.clone()
        } else {
            format!("{slug}-{n}")
        });
        *n += 1;
    }
    out
}

/// The link targets of a markdown line: `[text](target)`, `![alt](target)` and reference
/// definitions `[label]: target`, outside inline code.
fn link_targets(line: &str) -> Vec<String> {
    // Inline code is not a link: drop what is between backticks.
    let mut prose = String::new();
    for (i, part) in line.split('`').enumerate() {
        if i % 2 == 0 {
            prose.push_str(part);
        }
    }
    let mut targets = Vec::new();
    let trimmed = prose.trim_start();
    if trimmed.starts_with('[')
        && let Some(end) = trimmed.find("]:")
    {
        let rest = trimmed[end + 2..].trim();
        targets.push(rest.split_whitespace().next().unwrap_or("").to_string());
    }
    let mut rest = prose.as_str();
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let mut depth = 0;
        let mut end = after.len();
        for (j, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = j;
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        let target = after[..end].split_whitespace().next().unwrap_or("");
        targets.push(target.trim_matches(|c| c == '<' || c == '>').to_string());
        rest = &after[end.min(after.len())..];
    }
    targets
}

fn markdown_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut files = vec![repo().join("README.md"), repo().join("SECURITY.md")];
    walk(&repo().join("docs"), &mut files);
    files.sort();
    files
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let files = markdown_files();
    assert!(files.len() > 10, "{files:?}");
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = read(file);
        for (n, line) in prose_lines(&text) {
            for target in link_targets(line) {
                if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (path, anchor) = match target.split_once('#') {
                    Some((p, a)) => (p, Some(a)),
                    None => (target.as_str(), None),
                };
                let dest = if path.is_empty() {
                    file.clone()
                } else {
                    file.parent().unwrap().join(path)
                };
                let at = format!("{}:{n}: {target}", file.display());
                if !dest.exists() {
                    broken.push(format!("{at}: no such file"));
                    continue;
                }
                if let Some(anchor) = anchor
                    && dest.extension().is_some_and(|e| e == "md")
                    && !anchors(&read(&dest)).contains(anchor)
                {
                    broken.push(format!("{at}: no heading with this anchor"));
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} links found");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_checker_sees_links_and_anchors_as_github_does() {
    assert_eq!(
        link_targets("see [a](docs/a.md#x-y) and `[not](a link)` and ![i](img.png \"t\")"),
        ["docs/a.md#x-y", "img.png"]
    );
    assert_eq!(link_targets("[ref]: ../LICENSE"), ["../LICENSE"]);
    let a = anchors(
        "# `csp map import FILE`\n## The partner app (do this once)\n## Hi\n## Hi\n```\n# not a heading\n```\n",
    );
    let want: BTreeSet<String> = [
        "csp-map-import-file",
        "the-partner-app-do-this-once",
        "hi",
        "hi-1",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(a, want);
}

#[test]
fn the_dead_sign_in_codes_are_all_named_in_the_troubleshooting_page() {
    let text = read(&repo().join("docs/troubleshooting.md"));
    let start = text
        .find("**Dead sign-ins.**")
        .expect("docs/troubleshooting.md explains dead sign-ins");
    let paragraph = &text[start..start + text[start..].find("\n\n").unwrap_or(text.len() - start)];
    let named: BTreeSet<u32> = paragraph
        .split("`AADSTS")
        .skip(1)
        .filter_map(|s| s.split('`').next()?.parse().ok())
        .collect();
    // Exactly the codes that end the sign-in (exit 4) are named, and each has advice.
    let dead: BTreeSet<u32> = csp::auth::error::DEAD_SIGN_IN_CODES.into_iter().collect();
    assert_eq!(named, dead, "{paragraph}");
    for code in &named {
        assert!(
            csp::advice::aadsts(*code).is_some_and(|a| a.contains("csp authorize")),
            "AADSTS{code}"
        );
    }
}

#[test]
fn the_failure_code_table_in_the_docs_lists_every_failure_code_and_no_other() {
    let file = repo().join("docs/troubleshooting.md");
    let rows = table_rows(&file, &["code", "from", "what it means and what to do"]);
    let documented: Vec<String> = rows
        .iter()
        .map(|r| r[0].trim_matches('`').to_string())
        .collect();
    let unique: BTreeSet<&String> = documented.iter().collect();
    assert_eq!(unique.len(), documented.len(), "a code is listed twice");
    let codes: BTreeSet<String> = FailureCode::ALL
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    let documented: BTreeSet<String> = documented.into_iter().collect();
    let undocumented: Vec<&String> = codes.difference(&documented).collect();
    let unknown: Vec<&String> = documented.difference(&codes).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "{}: codes of src/failure.rs missing from its failure-code table: {undocumented:?}; codes in the table that src/failure.rs lacks: {unknown:?}",
        file.display()
    );
}

#[test]
fn every_gdap_subcommand_has_a_section_in_the_gdap_page() {
    let cli = csp::cli::Cli::command();
    let gdap = cli.find_subcommand("gdap").expect("csp has a gdap command");
    let names: Vec<&str> = gdap
        .get_subcommands()
        .map(clap::Command::get_name)
        .filter(|n| *n != "help")
        .collect();
    assert!(names.len() >= 8, "{names:?}");
    let file = repo().join("docs/commands/gdap.md");
    let text = read(&file);
    let headings: Vec<&str> = prose_lines(&text)
        .into_iter()
        .map(|(_, l)| l)
        .filter(|l| l.starts_with("## ") || l.starts_with("### "))
        .collect();
    let missing: Vec<&&str> = names
        .iter()
        .filter(|n| {
            !headings
                .iter()
                .any(|h| h.contains(&format!("`csp gdap {n}`")))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{} has no `## `csp gdap NAME`` section for {missing:?}",
        file.display()
    );
}

/// The built-in templates' roles, and the task table that says why `standard` has each role,
/// mirror src/gdap/templates.rs.
#[test]
fn the_gdap_page_names_the_built_in_templates_roles() {
    let file = repo().join("docs/commands/gdap.md");
    let built_in = csp::gdap::templates::BUILT_IN;
    let rows = table_rows(&file, &["template", "roles", "for"]);
    let documented: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r[0].trim_matches('`').to_string(), r[1].clone()))
        .collect();
    let expected: Vec<(String, String)> = built_in
        .iter()
        .map(|(name, _, roles)| (name.to_string(), roles.join(", ")))
        .collect();
    assert_eq!(
        documented,
        expected,
        "{}: the built-in templates differ from src/gdap/templates.rs",
        file.display()
    );

    let (_, _, standard) = built_in
        .iter()
        .find(|(name, _, _)| *name == "standard")
        .expect("a built-in `standard` template");
    let tasks = table_rows(&file, &["task", "least-privileged role"]);
    let in_table: BTreeSet<&str> = tasks.iter().map(|r| r[1].as_str()).collect();
    let in_template: BTreeSet<&str> = standard.iter().copied().collect();
    assert_eq!(
        in_table,
        in_template,
        "{}: the task table names other roles than the `standard` template",
        file.display()
    );
}
