//! Completions, the man page, `--version`, `exit-codes`, and every command's help text pinned
//! by snapshots, so help changes show up in review.

use clap::CommandFactory;

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
    }
    let out = env.run(&["--help"]).await;
    assert!(out.stdout.contains("csp help exit-codes"));
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
