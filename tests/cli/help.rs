//! The command line as clap presents it: options grouped (a command's own first, the global
//! ones under their own heading), values set in the environment never shown in a usage line
//! as if typed, a tip for long options written with one dash, and clap's colour following
//! csp's (`--no-color`, `NO_COLOR`, `TERM=dumb`, a pipe).

use crate::support::*;

#[tokio::test]
async fn a_commands_own_options_come_before_the_global_ones() {
    let env = TestEnv::new().await;
    let out = env.run(&["consent", "--help"]).await;
    out.assert_code(0);
    let at = |needle: &str| {
        out.stdout
            .find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in\n{}", out.stdout))
    };
    assert!(at("--customer <CLIENT>") < at("Global options:"));
    assert!(at("--dry-run") < at("Global options:"));
    assert!(at("Global options:") < at("--profile <NAME>"));
    assert!(at("Global options:") < at("--sandbox"));
    // Each variable is still named where its option is described.
    assert!(
        out.stdout.contains("[env: CSP_CONFIG_DIR]"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn values_from_the_environment_stay_out_of_the_usage_line() {
    let env = TestEnv::new()
        .await
        .env("CSP_OUTPUT", "json")
        .env("CSP_PROFILE", "other")
        .env("CSP_CLOUD", "public")
        .env("CSP_SANDBOX", "1")
        .env("CSP_SANDBOX_SEED", "20");
    let out = env.run(&["consent"]).await;
    out.assert_code(2);
    let usage = out
        .stderr
        .lines()
        .find(|l| l.starts_with("Usage:"))
        .unwrap_or_else(|| panic!("no usage line: {}", out.stderr));
    assert_eq!(usage, "Usage: csp consent <--customer <CLIENT>|--all>");
}

#[tokio::test]
async fn the_environment_still_sets_what_no_flag_sets_and_a_flag_beats_it() {
    let env = TestEnv::new().await.env("CSP_OUTPUT", "json");
    let out = env.run(&["exit-codes"]).await;
    out.assert_code(0);
    assert!(out.json().is_array(), "{}", out.stdout);

    let env = TestEnv::new().await.env("CSP_OUTPUT", "xml");
    let out = env.run(&["exit-codes", "-o", "csv"]).await;
    out.assert_code(0);
    assert!(out.stdout.starts_with("code,"), "{}", out.stdout);
}

#[tokio::test]
async fn a_bad_value_in_the_environment_is_a_usage_error_naming_the_variable() {
    for (var, value, expected) in [
        (
            "CSP_OUTPUT",
            "xml",
            "CSP_OUTPUT must be table, json, csv, not \"xml\"",
        ),
        (
            "CSP_CLOUD",
            "mars",
            "CSP_CLOUD must be public, usgov, china",
        ),
        ("CSP_SANDBOX", "maybe", "CSP_SANDBOX must be 1 or 0"),
        (
            "CSP_SANDBOX_SEED",
            "0",
            "CSP_SANDBOX_SEED must be a number from 1 to 100000",
        ),
    ] {
        let env = TestEnv::new().await.env(var, value);
        let out = env.run(&["status"]).await;
        out.assert_code(2);
        assert!(
            out.stderr.starts_with(&format!("error: {expected}")),
            "{var}={value}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        assert!(
            !env.config_dir().join("config.toml").exists(),
            "{var}: a file was written"
        );
    }
}

#[tokio::test]
async fn a_long_option_written_with_one_dash_gets_a_tip() {
    let env = TestEnv::new().await;
    let out = env.run(&["consent", "-all"]).await;
    out.assert_code(2);
    assert!(
        out.stderr.contains("unexpected argument '-all'"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("'--all'"), "{}", out.stderr);
    // A global option too, and only a long option the command has.
    let out = env.run(&["customers", "-sandbox"]).await;
    out.assert_code(2);
    assert!(out.stderr.contains("'--sandbox'"), "{}", out.stderr);
    let out = env.run(&["status", "-force"]).await;
    out.assert_code(2);
    assert!(!out.stderr.contains("'--force'"), "{}", out.stderr);
}

/// What a terminal shows of `csp {line}`, with these variables set too.
#[cfg(target_os = "linux")]
fn on_a_terminal(env: &TestEnv, line: &str, extra: &[(&str, &str)]) -> String {
    let mut cmd = env.on_terminal(line, None);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    crate::support::terminal::shown(cmd)
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn clap_colours_only_when_csp_would() {
    let env = TestEnv::new().await;
    let esc = '\u{1b}';
    // On a terminal with nothing said, clap colours its error and its help.
    let error = on_a_terminal(&env, "consent -all", &[]);
    assert!(error.contains("-all"), "{error:?}");
    assert!(error.contains(esc), "expected colour: {error:?}");
    let help = on_a_terminal(&env, "consent --help", &[]);
    assert!(help.contains(esc), "expected colour: {help:?}");

    for (why, line, extra) in [
        ("--no-color", "--no-color consent -all", vec![]),
        ("--no-color after", "consent --no-color --help", vec![]),
        ("NO_COLOR", "consent -all", vec![("NO_COLOR", "1")]),
        ("TERM=dumb", "consent --help", vec![("TERM", "dumb")]),
    ] {
        let seen = on_a_terminal(&env, line, &extra);
        assert!(seen.contains("consent"), "{why}: {seen:?}");
        assert!(!seen.contains(esc), "{why}: colour in {seen:?}");
    }
    // Not a terminal: plain.
    let out = env.run(&["consent", "-all"]).await;
    assert!(!out.stderr.contains(esc), "{:?}", out.stderr);
}

#[cfg(feature = "sandbox")]
#[tokio::test]
async fn error_hints_name_commands_in_the_mode_of_the_run() {
    let env = TestEnv::new().await;
    let out = env
        .run(&[
            "--sandbox",
            "--profile",
            "x",
            "consent",
            "--customer",
            "Nope",
        ])
        .await;
    out.assert_code(2);
    let hint = out
        .stderr
        .lines()
        .find(|l| l.starts_with("hint:"))
        .unwrap_or_else(|| panic!("no hint: {}", out.stderr));
    assert!(
        hint.contains("`csp --sandbox --profile x map list`"),
        "{hint}"
    );
    assert!(!hint.contains("`csp map"), "{hint}");
}

/// csp's own colour: statuses and marks on a terminal, none with `--no-color`, `NO_COLOR`,
/// `TERM=dumb`, or when stdout is not a terminal.
#[cfg(all(target_os = "linux", feature = "sandbox"))]
#[tokio::test]
async fn tables_are_coloured_on_a_terminal_only_when_allowed() {
    let env = TestEnv::new().await.env("CSP_SANDBOX", "1");
    env.run(&["authorize"]).await.assert_code(0);
    let esc = '\u{1b}';
    let seen = on_a_terminal(&env, "customers --gdap 2>/dev/null", &[]);
    assert!(seen.contains("Contoso Ltd"), "{seen:?}");
    assert!(
        seen.contains(&format!("{esc}[")),
        "expected colour: {seen:?}"
    );
    for (why, line, extra) in [
        (
            "--no-color",
            "--no-color customers --gdap 2>/dev/null",
            vec![],
        ),
        (
            "NO_COLOR",
            "customers --gdap 2>/dev/null",
            vec![("NO_COLOR", "1")],
        ),
        (
            "TERM=dumb",
            "customers --gdap 2>/dev/null",
            vec![("TERM", "dumb")],
        ),
    ] {
        let seen = on_a_terminal(&env, line, &extra);
        assert!(seen.contains("Contoso Ltd"), "{why}: {seen:?}");
        assert!(!seen.contains(esc), "{why}: colour in {seen:?}");
    }
    let out = env.run(&["customers", "--gdap"]).await;
    assert!(!out.stdout.contains(esc), "a pipe got colour");
}
