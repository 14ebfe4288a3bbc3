//! The real binary: authorize → status → token → logout, the CI environment sign-in, and every
//! way a user can get it wrong, asserting exit codes, stdout and stderr.

use serde_json::json;
use wiremock::ResponseTemplate;

use crate::support::*;

#[tokio::test]
async fn sign_in_check_use_and_forget_with_the_file_store() {
    let env = TestEnv::new().await;
    env.mount_sign_in("organizations", true).await;
    let out = env
        .run(&[
            "authorize",
            "--client-id",
            CLIENT_ID,
            "--insecure-storage",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    assert_eq!(
        out.json(),
        json!({"profile": "default", "user": USER, "tenantId": TENANT_ID, "clientId": CLIENT_ID,
               "cloud": "public", "tokenStore": "file", "mfa": true})
    );
    assert!(
        out.stderr.contains("https://microsoft.com/devicelogin"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("FRWQDE7YL"),
        "the user code is shown: {}",
        out.stderr
    );
    assert_eq!(env.stored_refresh_token().as_deref(), Some(REFRESH_TOKEN));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.credentials_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let config = env.config_text();
    assert!(
        config.contains(&format!("client_id = \"{CLIENT_ID}\"")),
        "{config}"
    );
    assert!(config.contains("token_store = \"file\""), "{config}");
    assert!(
        config.contains(&format!("tenant_id = \"{TENANT_ID}\"")),
        "{config}"
    );
    assert!(
        !config.contains("LeakCanary"),
        "config.toml holds no secret: {config}"
    );

    // status: the profile remembers the file store; the live check rotates the refresh token.
    let status_token = access_token("status", true);
    env.mount_refresh(REFRESH_TOKEN, &status_token, Some(ROTATED_REFRESH_TOKEN))
        .await;
    let out = env.run(&["status", "-o", "json"]).await;
    out.assert_code(0);
    let status = out.json();
    assert_eq!(status["signedIn"], json!(true));
    assert_eq!(status["tokenStore"], json!("file"));
    assert_eq!(status["user"], json!(USER));
    assert_eq!(status["mfa"], json!(true));
    assert!(
        status["accessTokenExpiresAt"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(
        env.stored_refresh_token().as_deref(),
        Some(ROTATED_REFRESH_TOKEN)
    );

    // token: only the access token on stdout, from the rotated refresh token.
    let token = access_token("token", true);
    env.mount_refresh(ROTATED_REFRESH_TOKEN, &token, None).await;
    let out = env.run(&["token"]).await;
    out.assert_code(0);
    assert_eq!(out.stdout, format!("{token}\n"));

    let out = env.run(&["logout", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(
        out.json(),
        json!({"profile": "default", "tokenStore": "file", "removed": true})
    );
    assert!(!env.credentials_path().exists());
    assert!(
        env.config_text().contains("client_id"),
        "logout keeps the app settings"
    );

    let out = env.run(&["status"]).await;
    out.assert_code(4);
    assert!(
        out.stderr
            .contains("error: profile `default` is not signed in"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: run `csp authorize`"),
        "{}",
        out.stderr
    );

    let out = env.run(&["logout"]).await;
    out.assert_code(0);
    assert!(out.stdout.contains("removed:"), "{}", out.stdout);
}

#[tokio::test]
async fn the_table_output_is_readable() {
    let env = TestEnv::new().await;
    env.mount_sign_in("contoso.onmicrosoft.com", true).await;
    let out = env
        .run(&[
            "authorize",
            "--client-id",
            CLIENT_ID,
            "--tenant",
            "contoso.onmicrosoft.com",
            "--insecure-storage",
        ])
        .await;
    out.assert_code(0);
    assert!(out.stdout.contains("user:"), "{}", out.stdout);
    assert!(out.stdout.contains(USER), "{}", out.stdout);
    assert!(out.stdout.contains("tokenStore:  file"), "{}", out.stdout);
    assert!(
        env.config_text()
            .contains("tenant = \"contoso.onmicrosoft.com\"")
    );
}

#[tokio::test]
async fn ci_signs_in_from_the_environment_and_writes_nothing() {
    let env = TestEnv::new()
        .await
        .env("CSP_REFRESH_TOKEN", REFRESH_TOKEN)
        .env("CSP_CLIENT_ID", CLIENT_ID)
        .env("CSP_TENANT", TENANT_ID);
    let token = access_token("ci", true);
    env.mount_refresh(REFRESH_TOKEN, &token, Some(ROTATED_REFRESH_TOKEN))
        .await;
    let out = env.run(&["status", "-o", "json"]).await;
    out.assert_code(0);
    let status = out.json();
    assert_eq!(status["tokenStore"], json!("environment"));
    assert_eq!(status["signedIn"], json!(true));
    assert_eq!(status["clientId"], json!(CLIENT_ID));
    let out = env.run(&["token"]).await;
    out.assert_code(0);
    assert_eq!(out.stdout, format!("{token}\n"));
    let out = env.run(&["logout"]).await;
    out.assert_code(0);
    assert!(out.stderr.contains("CSP_REFRESH_TOKEN"), "{}", out.stderr);
    let written: Vec<_> = std::fs::read_dir(env.config_dir()).unwrap().collect();
    assert!(
        written.is_empty(),
        "the environment sign-in writes nothing: {written:?}"
    );
    let out = env.run(&["authorize"]).await;
    out.assert_code(2);
    assert!(
        out.stderr.contains("CSP_REFRESH_TOKEN is set"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_confidential_client_secret_from_stdin_is_stored_and_used() {
    let env = TestEnv::new().await;
    device_code_request("organizations")
        .and(form("client_secret", CLIENT_SECRET))
        .respond_with(device_code_ok())
        .expect(1)
        .mount(&env.login)
        .await;
    device_poll("organizations")
        .and(form("client_secret", CLIENT_SECRET))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body(&access_token("a", true), Some(REFRESH_TOKEN))),
        )
        .expect(1)
        .mount(&env.login)
        .await;
    let out = env
        .run_with_stdin(
            &[
                "authorize",
                "--client-id",
                CLIENT_ID,
                "--client-secret-stdin",
                "--insecure-storage",
            ],
            &format!("{CLIENT_SECRET}\n"),
        )
        .await;
    out.assert_code(0);
    assert!(env.config_text().contains("confidential = true"));
    refresh(TENANT_ID, REFRESH_TOKEN, PC_SCOPE)
        .and(form("client_secret", CLIENT_SECRET))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("at", None)))
        .expect(1)
        .mount(&env.login)
        .await;
    env.run(&["status"]).await.assert_code(0);
}

#[tokio::test]
async fn the_sign_in_scope_names_the_clouds_resource_under_an_override() {
    let env = TestEnv::new().await;
    let china = "https://partner.partnercenterapi.microsoftonline.cn/user_impersonation offline_access openid profile";
    wiremock::Mock::given(wiremock::matchers::path(
        "/organizations/oauth2/v2.0/devicecode",
    ))
    .and(form("scope", china))
    .respond_with(ResponseTemplate::new(200).set_body_json({
        let mut b = fixture("entra-v2-devicecode-response.json");
        b["device_code"] = json!(DEVICE_CODE);
        b
    }))
    .expect(1)
    .mount(&env.login)
    .await;
    device_poll("organizations")
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body(&access_token("a", true), Some(REFRESH_TOKEN))),
        )
        .expect(1)
        .mount(&env.login)
        .await;
    let out = env
        .run(&[
            "--cloud",
            "china",
            "authorize",
            "--client-id",
            CLIENT_ID,
            "--insecure-storage",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()["cloud"], json!("china"));
    assert!(env.config_text().contains("cloud = \"china\""));
}

#[tokio::test]
async fn a_sign_in_without_mfa_is_stored_with_a_warning() {
    let env = TestEnv::new().await;
    env.mount_sign_in("organizations", false).await;
    let out = env
        .run(&[
            "authorize",
            "--client-id",
            CLIENT_ID,
            "--insecure-storage",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()["mfa"], json!(false));
    assert!(
        out.stderr
            .contains("warning: this sign-in did not use multi-factor"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_declined_sign_in_fails_and_stores_nothing() {
    let env = TestEnv::new().await;
    device_code_mock("organizations")
        .expect(1)
        .mount(&env.login)
        .await;
    device_poll("organizations")
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "authorization_declined", "error_description": "declined", "error_codes": [70000]
        })))
        .expect(1)
        .mount(&env.login)
        .await;
    let out = env
        .run(&["authorize", "--client-id", CLIENT_ID, "--insecure-storage"])
        .await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("error: the sign-in was declined"),
        "{}",
        out.stderr
    );
    assert!(!env.credentials_path().exists());
    assert_eq!(env.config_text(), "");
}

#[tokio::test]
async fn without_a_client_id_authorize_explains_the_partner_app() {
    let env = TestEnv::new().await;
    let out = env.run(&["authorize", "--insecure-storage"]).await;
    out.assert_code(2);
    assert!(out.stderr.contains("error: no client id"), "{}", out.stderr);
    assert!(
        out.stderr.contains("hint: run `csp setup` first"),
        "{}",
        out.stderr
    );
    let out = env.run(&["authorize", "--client-id", "not-a-guid"]).await;
    out.assert_code(2);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn without_a_keyring_service_the_default_store_refuses_plainly() {
    // No D-Bus session bus at this address: the Secret Service is missing.
    let env = TestEnv::new().await.env(
        "DBUS_SESSION_BUS_ADDRESS",
        &format!("unix:path={}/no-bus", std::env::temp_dir().display()),
    );
    // No device code may be requested: the store is checked first.
    device_code_mock("organizations")
        .expect(0)
        .mount(&env.login)
        .await;
    let out = env.run(&["authorize", "--client-id", CLIENT_ID]).await;
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("error: the OS keyring is not available"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--insecure-storage"), "{}", out.stderr);
    assert!(out.stderr.contains("CSP_REFRESH_TOKEN"), "{}", out.stderr);
    assert!(
        !env.credentials_path().exists(),
        "never a silent plaintext fallback"
    );
    // A first run: nothing was ever stored, so the missing keyring is not asked at all.
    let out = env.run(&["status", "-o", "json"]).await;
    out.assert_code(4);
    assert_eq!(out.json()["signedIn"], false);
    assert!(
        out.stderr.contains("is not signed in") && !out.stderr.contains("keyring"),
        "{}",
        out.stderr
    );
    let out = env.run(&["logout", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(out.json()["removed"], false);
    env.run(&["customers"]).await.assert_code(4);

    // A profile that recorded the keyring needs it: then its absence is the error.
    std::fs::write(
        env.config_dir().join("config.toml"),
        format!("[profiles.default]\nclient_id = \"{CLIENT_ID}\"\ntoken_store = \"keyring\"\n"),
    )
    .unwrap();
    for args in [vec!["status"], vec!["logout"]] {
        let out = env.run(&args).await;
        out.assert_code(1);
        assert!(
            out.stderr
                .contains("error: the OS keyring is not available"),
            "{args:?}: {}",
            out.stderr
        );
    }
}

#[tokio::test]
async fn an_expired_sign_in_exits_4_and_still_reports_the_status() {
    let env = TestEnv::new().await;
    env.seed_file_sign_in(None);
    refresh(TENANT_ID, REFRESH_TOKEN, PC_SCOPE)
        .respond_with(ResponseTemplate::new(400).set_body_json(entra_error(
            "invalid_grant",
            700082,
            "The refresh token has expired due to inactivity.",
        )))
        .expect(2)
        .mount(&env.login)
        .await;
    let out = env.run(&["status", "-o", "json"]).await;
    out.assert_code(4);
    assert_eq!(out.json()["signedIn"], json!(false));
    assert!(out.stderr.contains("AADSTS700082"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("hint: the refresh token expired after 90 days"),
        "{}",
        out.stderr
    );
    let out = env.run(&["token"]).await;
    out.assert_code(4);
    assert_eq!(out.stdout, "");
    // --offline does not ask Microsoft.
    let out = env.run(&["status", "--offline", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(out.json()["signedIn"], json!(true));
}

#[tokio::test]
async fn token_for_a_customer_tenant_and_another_resource() {
    let env = TestEnv::new().await;
    env.seed_file_sign_in(None);
    refresh(
        "contoso.com",
        REFRESH_TOKEN,
        "https://graph.microsoft.com/.default",
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(token_body("graph-at", None)))
    .expect(1)
    .mount(&env.login)
    .await;
    let out = env
        .run(&["token", "--resource", "graph", "--tenant", "Contoso.com"])
        .await;
    out.assert_code(0);
    assert_eq!(out.stdout, "graph-at\n");
    for bad in [
        vec!["token", "--tenant", "not a tenant"],
        vec!["token", "--resource", "http://management.azure.com"],
        vec!["token", "--resource", "arm"],
        vec!["token", "--refresh-token", "--tenant", "contoso.com"],
    ] {
        let out = env.run(&bad).await;
        out.assert_code(2);
        assert_eq!(out.stdout, "", "{bad:?}");
    }
}

#[tokio::test]
async fn the_refresh_token_is_printed_only_on_request_with_a_warning() {
    let env = TestEnv::new().await;
    env.seed_file_sign_in(None);
    let out = env.run(&["token", "--refresh-token", "-q"]).await;
    out.assert_code(0);
    assert_eq!(out.stdout, format!("{REFRESH_TOKEN}\n"));
    assert!(
        out.stderr
            .contains("warning: this is the partner's refresh token"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn endpoint_overrides_must_not_send_tokens_in_clear_text() {
    let env = TestEnv::new()
        .await
        .env("CSP_AUTHORITY_HOST", "http://login.example.com");
    let out = env.run(&["status"]).await;
    out.assert_code(2);
    assert!(
        out.stderr.contains("CSP_AUTHORITY_HOST must use https://"),
        "{}",
        out.stderr
    );
    for (var, value) in [
        ("CSP_GRAPH_URL", "http://10.0.0.1:8080"),
        ("CSP_PARTNER_CENTER_URL", "not a url"),
    ] {
        let env = TestEnv::new().await.env(var, value);
        env.run(&["status", "--offline"]).await.assert_code(2);
    }
}

#[tokio::test]
async fn parse_errors_exit_2_help_and_version_exit_0() {
    let env = TestEnv::new().await;
    env.run(&["--help"]).await.assert_code(0);
    env.run(&["authorize", "--help"]).await.assert_code(0);
    let out = env.run(&["--version"]).await;
    out.assert_code(0);
    assert!(out.stdout.starts_with("csp "), "{}", out.stdout);
    for bad in [
        vec![],
        vec!["--bogus"],
        vec!["frobnicate"],
        vec!["-o", "yaml", "status"],
        vec!["--cloud", "mars", "status"],
        vec!["status", "-v", "-q"],
        vec!["--profile", "bad name", "status"],
    ] {
        env.run(&bad).await.assert_code(2);
    }
    let env = TestEnv::new().await.env("CSP_TOKEN_STORE", "plaintext");
    env.run(&["status"]).await.assert_code(2);
}

#[tokio::test]
async fn broken_files_exit_2_and_are_left_as_they_were() {
    let env = TestEnv::new().await;
    let broken_config = "[profiles.default\nclient_id = 1\n";
    std::fs::write(env.config_dir().join("config.toml"), broken_config).unwrap();
    let out = env.run(&["status"]).await;
    out.assert_code(2);
    assert!(
        out.stderr.contains("config.toml is not valid TOML"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("line 1"), "{}", out.stderr);
    assert_eq!(env.config_text(), broken_config);

    let env = TestEnv::new().await;
    env.seed_file_sign_in(None);
    std::fs::write(env.credentials_path(), "{not json").unwrap();
    let out = env.run(&["logout"]).await;
    out.assert_code(2);
    assert!(
        out.stderr.contains("is not a valid credentials file"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(env.credentials_path()).unwrap(),
        "{not json"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_credentials_file_readable_by_others_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new().await;
    env.seed_file_sign_in(None);
    std::fs::set_permissions(
        env.credentials_path(),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = env.run(&["status", "--offline"]).await;
    out.assert_code(0);
    assert!(
        out.stderr.contains("readable by other users"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("chmod 600"), "{}", out.stderr);
}

#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_while_waiting_exits_130_and_stores_nothing() {
    let env = TestEnv::new().await;
    device_code_mock("organizations")
        .expect(1)
        .mount(&env.login)
        .await;
    device_poll("organizations")
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(fixture("entra-v2-token-error-authorization-pending.json")),
        )
        .mount(&env.login)
        .await;
    let mut cmd = env.std_cmd();
    cmd.args(["authorize", "--client-id", CLIENT_ID, "--insecure-storage"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let output = tokio::task::spawn_blocking(move || {
        // Let it start polling, then interrupt it as a terminal's Ctrl-C would.
        std::thread::sleep(std::time::Duration::from_millis(2500));
        std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    assert!(!env.credentials_path().exists());
    assert_eq!(env.config_text(), "");
    let polls = env
        .login
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/token"))
        .count();
    assert!(polls >= 1, "it was polling when interrupted");
}

/// `csp authorize --browser` end to end: a `BROWSER` helper (curl) plays the browser, following
/// the authorize URL to the fake Entra and its redirect back to csp's loopback listener.
#[cfg(unix)]
#[tokio::test]
async fn authorize_in_the_browser_with_pkce() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new().await;
    let browser = env.config_dir().join("fake-browser.sh");
    std::fs::write(
        &browser,
        "#!/bin/sh\nexec curl -sS -L --max-redirs 2 -o /dev/null \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = env.env("BROWSER", browser.to_str().unwrap());
    let fake = FakeAuthorize::new("browser-code");
    code_redemption("organizations", "browser-code", &fake)
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(
            &access_token("browser", true),
            Some(REFRESH_TOKEN),
        )))
        .expect(1)
        .mount(&env.login)
        .await;
    wiremock::Mock::given(wiremock::matchers::path(
        "/organizations/oauth2/v2.0/authorize",
    ))
    .respond_with(fake)
    .expect(1)
    .mount(&env.login)
    .await;
    let out = env
        .run(&[
            "authorize",
            "--browser",
            "--client-id",
            CLIENT_ID,
            "--insecure-storage",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()["user"], json!(USER));
    assert!(
        out.stderr.contains("Opening your browser"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("/organizations/oauth2/v2.0/authorize?"),
        "the URL is printed: {}",
        out.stderr
    );
    assert_eq!(env.stored_refresh_token().as_deref(), Some(REFRESH_TOKEN));
}
