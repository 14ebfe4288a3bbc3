//! The OS keyring for real: the Secret Service of a throwaway gnome-keyring. These tests are
//! `#[ignore]`d in a plain `cargo test`; `.ci/run` runs them inside `dbus-run-session`, the
//! `unlocked` ones with an unlocked keyring and the `locked` one with a keyring never unlocked.

use std::path::Path;

use serde_json::json;

use crate::support::*;

/// True when a file under `dir` contains `needle` in clear text.
fn found_in_files(dir: &Path, needle: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(p) = found_in_files(&path, needle) {
                return Some(p);
            }
        } else if std::fs::read(&path)
            .map(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .unwrap_or(false)
        {
            return Some(path);
        }
    }
    None
}

#[tokio::test]
#[ignore = "needs an unlocked Secret Service: run by .ci/run"]
async fn unlocked_keyring_holds_the_sign_in_and_nothing_else_does() {
    let env = TestEnv::new().await;
    env.mount_sign_in("organizations", true).await;
    let out = env
        .run(&["authorize", "--client-id", CLIENT_ID, "-o", "json"])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()["tokenStore"], json!("keyring"));
    assert!(!env.credentials_path().exists());
    assert!(env.config_text().contains("token_store = \"keyring\""));
    assert_eq!(
        found_in_files(env.config_dir(), REFRESH_TOKEN),
        None,
        "no file holds the refresh token"
    );
    #[allow(clippy::disallowed_methods)] // the keyring's own HOME, set by .ci/keyring-tests.sh
    let home = std::env::var_os("HOME");
    if let Some(home) = home {
        assert_eq!(found_in_files(Path::new(&home), REFRESH_TOKEN), None);
    }

    // A new process reads it back, and redeems it.
    env.mount_refresh(REFRESH_TOKEN, &access_token("status", true), None)
        .await;
    let out = env.run(&["status", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(out.json()["tokenStore"], json!("keyring"));
    assert_eq!(out.json()["signedIn"], json!(true));
    let out = env.run(&["token", "--refresh-token"]).await;
    out.assert_code(0);
    assert_eq!(out.stdout, format!("{REFRESH_TOKEN}\n"));

    let out = env.run(&["logout", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(out.json()["removed"], json!(true));
    env.run(&["status", "--offline"]).await.assert_code(4);
    let out = env.run(&["logout", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(out.json()["removed"], json!(false));
}

#[tokio::test]
#[ignore = "needs an unlocked Secret Service: run by .ci/run"]
async fn unlocked_keyring_keeps_profiles_apart() {
    let env = TestEnv::new().await;
    env.mount_sign_in("organizations", true).await;
    env.run(&[
        "--profile",
        "keyring-a",
        "authorize",
        "--client-id",
        CLIENT_ID,
    ])
    .await
    .assert_code(0);
    env.run(&["--profile", "keyring-b", "status", "--offline"])
        .await
        .assert_code(4);
    env.run(&["--profile", "keyring-a", "status", "--offline"])
        .await
        .assert_code(0);
    env.run(&["--profile", "keyring-a", "logout"])
        .await
        .assert_code(0);
}

#[tokio::test]
#[ignore = "needs a Secret Service that was never unlocked: run by .ci/run"]
async fn locked_keyring_fails_fast_naming_the_alternatives() {
    let env = TestEnv::new().await;
    // The store is checked before the user is asked to sign in.
    device_code_mock("organizations")
        .expect(0)
        .mount(&env.login)
        .await;
    let started = std::time::Instant::now();
    let out = env.run(&["authorize", "--client-id", CLIENT_ID]).await;
    out.assert_code(1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        out.stderr
            .contains("error: the OS keyring is not available"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--insecure-storage"), "{}", out.stderr);
    assert!(
        out.stderr.contains("CSP_TOKEN_STORE=file"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("CSP_REFRESH_TOKEN"), "{}", out.stderr);
    assert!(
        !env.credentials_path().exists(),
        "never a silent plaintext fallback"
    );
}
