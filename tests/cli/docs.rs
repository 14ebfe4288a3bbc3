//! Completions, the man pages, `--version`, `exit-codes`, and every command's help text pinned
//! by snapshots, so help changes show up in review.

use std::collections::BTreeSet;
use std::path::Path;

use clap::CommandFactory;
use csp::ExitCode;

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
