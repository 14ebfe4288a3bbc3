//! The leak test: every command path, at the highest verbosity, with known secrets planted in
//! the mocked responses, or every secret the simulator issued; none may appear on stdout or
//! stderr, except what a command exists to print (`csp token`, `csp token --refresh-token`,
//! `csp setup --with-secret`'s one secret). Each scan first asserts the command ended as
//! intended: a leak test of a command that failed early proves nothing. Every new command adds
//! its paths here.

use wiremock::ResponseTemplate;

use crate::support::*;

/// The secrets of one scenario, and the one (if any) stdout may carry.
struct Secrets {
    all: Vec<String>,
}

impl Secrets {
    fn new() -> Secrets {
        Secrets {
            all: vec![
                REFRESH_TOKEN.into(),
                ROTATED_REFRESH_TOKEN.into(),
                DEVICE_CODE.into(),
                CLIENT_SECRET.into(),
            ],
        }
    }

    /// An access token to hand out in a response; it becomes a secret to look for.
    fn access(&mut self, marker: &str) -> String {
        let t = access_token(marker, true);
        self.all.push(t.clone());
        t
    }

    #[track_caller]
    fn assert_clean(&self, what: &str, out: &Output, allowed_on_stdout: Option<&str>) {
        for secret in &self.all {
            assert!(
                !out.stderr.contains(secret.as_str()),
                "{what}: a secret reached stderr: {out:#?}"
            );
            if Some(secret.as_str()) != allowed_on_stdout {
                assert!(
                    !out.stdout.contains(secret.as_str()),
                    "{what}: a secret reached stdout: {out:#?}"
                );
            }
            // Also in the pieces a JWT is made of, in case one is logged half-decoded.
            if let Some(payload) = secret.split('.').nth(1) {
                assert!(
                    !out.stderr.contains(payload),
                    "{what}: a token payload reached stderr"
                );
            }
        }
    }
}

#[tokio::test]
async fn no_secret_reaches_the_terminal_on_any_sign_in_path() {
    let mut secrets = Secrets::new();
    let env = TestEnv::new().await;
    let sign_in_token = secrets.access("sign-in");
    // The first sign-in goes to `organizations`; later ones to the tenant it learnt.
    for tenant in ["organizations", TENANT_ID] {
        device_code_request(tenant)
            .and(form("client_secret", CLIENT_SECRET))
            .respond_with(device_code_ok())
            .mount(&env.login)
            .await;
        device_poll(tenant)
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(token_body(&sign_in_token, Some(REFRESH_TOKEN))),
            )
            .mount(&env.login)
            .await;
    }
    for format in ["table", "json", "csv"] {
        let out = env
            .run_with_stdin(
                &[
                    "-vvv",
                    "-o",
                    format,
                    "authorize",
                    "--client-id",
                    CLIENT_ID,
                    "--client-secret-stdin",
                    "--insecure-storage",
                ],
                CLIENT_SECRET,
            )
            .await;
        out.assert_code(0);
        secrets.assert_clean(&format!("authorize -o {format}"), &out, None);
    }

    let status_token = secrets.access("status");
    // The first run rotates the refresh token and writes it back; later runs redeem the new one.
    env.mount_refresh(REFRESH_TOKEN, &status_token, Some(ROTATED_REFRESH_TOKEN))
        .await;
    env.mount_refresh(ROTATED_REFRESH_TOKEN, &status_token, None)
        .await;
    for format in ["table", "json", "csv"] {
        let out = env.run(&["-vvv", "-o", format, "status"]).await;
        out.assert_code(0);
        secrets.assert_clean(&format!("status -o {format}"), &out, None);
    }
    // Even with every crate's trace events on (CSP_LOG), requests are logged without secrets.
    let traced = TestEnv {
        extra_env: vec![("CSP_LOG".into(), "trace".into())],
        ..env
    };
    let out = traced.run(&["status"]).await;
    out.assert_code(0);
    assert!(out.stderr.contains("TRACE"), "CSP_LOG=trace was honoured");
    secrets.assert_clean("status with CSP_LOG=trace", &out, None);
    let env = TestEnv {
        extra_env: Vec::new(),
        ..traced
    };
    let out = env.run(&["-vvv", "status", "--offline"]).await;
    out.assert_code(0);
    secrets.assert_clean("status --offline", &out, None);

    let out = env.run(&["-vvv", "token"]).await;
    out.assert_code(0);
    secrets.assert_clean("token", &out, Some(&status_token));

    let out = env.run(&["-vvv", "token", "--refresh-token"]).await;
    out.assert_code(0);
    secrets.assert_clean("token --refresh-token", &out, Some(ROTATED_REFRESH_TOKEN));

    let out = env.run(&["-vvv", "logout"]).await;
    out.assert_code(0);
    secrets.assert_clean("logout", &out, None);
}

#[tokio::test]
async fn no_secret_reaches_the_terminal_on_failure_paths() {
    let secrets = Secrets::new();
    let env = TestEnv::new().await;
    env.seed_file_sign_in(Some(CLIENT_SECRET));
    refresh(TENANT_ID, REFRESH_TOKEN, PC_SCOPE)
        .respond_with(ResponseTemplate::new(400).set_body_json(entra_error(
            "invalid_grant",
            700082,
            "The refresh token has expired due to inactivity.",
        )))
        .mount(&env.login)
        .await;
    let out = env.run(&["-vvv", "status"]).await;
    out.assert_code(4);
    assert!(out.stderr.contains("AADSTS700082"), "{}", out.stderr);
    secrets.assert_clean("status (expired)", &out, None);
    let out = env.run(&["-vvv", "token"]).await;
    out.assert_code(4);
    assert!(out.stderr.contains("AADSTS700082"), "{}", out.stderr);
    secrets.assert_clean("token (expired)", &out, None);

    // A token endpoint that echoes the refresh token in a body csp cannot parse.
    let env = TestEnv::new().await;
    env.seed_file_sign_in(None);
    refresh(TENANT_ID, REFRESH_TOKEN, PC_SCOPE)
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(format!("{{\"refresh_token\":\"{REFRESH_TOKEN}\", broken")),
        )
        .mount(&env.login)
        .await;
    let out = env.run(&["-vvv", "status"]).await;
    out.assert_code(1);
    assert!(out.stderr.contains("error:"), "{}", out.stderr);
    assert_eq!(
        env.login.received_requests().await.unwrap().len(),
        1,
        "it failed on the answer it reads"
    );
    secrets.assert_clean("status (malformed body)", &out, None);

    // A declined device-code sign-in.
    let env = TestEnv::new().await;
    device_code_mock("organizations").mount(&env.login).await;
    device_poll("organizations")
        .respond_with(ResponseTemplate::new(400).set_body_json(entra_error(
            "authorization_declined",
            70000,
            "declined",
        )))
        .mount(&env.login)
        .await;
    let out = env
        .run(&[
            "-vvv",
            "authorize",
            "--client-id",
            CLIENT_ID,
            "--insecure-storage",
        ])
        .await;
    out.assert_code(1);
    assert!(out.stderr.contains("declined"), "{}", out.stderr);
    secrets.assert_clean("authorize (declined)", &out, None);

    // The CI environment sign-in.
    let env = TestEnv::new()
        .await
        .env("CSP_REFRESH_TOKEN", REFRESH_TOKEN)
        .env("CSP_CLIENT_ID", CLIENT_ID)
        .env("CSP_CLIENT_SECRET", CLIENT_SECRET)
        .env("CSP_TENANT", TENANT_ID);
    refresh(TENANT_ID, REFRESH_TOKEN, PC_SCOPE)
        .respond_with(ResponseTemplate::new(503))
        .mount(&env.login)
        .await;
    for (args, code, said) in [
        (vec!["-vvv", "status"], 1, "503"),
        (vec!["-vvv", "logout"], 0, "CSP_REFRESH_TOKEN"),
        (vec!["-vvv", "authorize"], 2, "CSP_REFRESH_TOKEN"),
    ] {
        let out = env.run(&args).await;
        out.assert_code(code);
        assert!(out.stderr.contains(said), "{args:?}: {}", out.stderr);
        secrets.assert_clean(&format!("{args:?} (environment)"), &out, None);
    }
}

#[cfg(unix)]
#[tokio::test]
async fn no_secret_reaches_the_terminal_in_the_browser_sign_in() {
    use std::os::unix::fs::PermissionsExt;
    let mut secrets = Secrets::new();
    secrets.all.push("AUTH-CODE-LeakCanary".into());
    let env = TestEnv::new().await;
    let browser = env.config_dir().join("fake-browser.sh");
    std::fs::write(
        &browser,
        "#!/bin/sh\nexec curl -sS -L --max-redirs 2 -o /dev/null \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = env.env("BROWSER", browser.to_str().unwrap());
    let fake = FakeAuthorize::new("AUTH-CODE-LeakCanary");
    let token = secrets.access("browser");
    code_redemption("organizations", "AUTH-CODE-LeakCanary", &fake)
        .respond_with(
            ResponseTemplate::new(200).set_body_json(token_body(&token, Some(REFRESH_TOKEN))),
        )
        .mount(&env.login)
        .await;
    wiremock::Mock::given(wiremock::matchers::path(
        "/organizations/oauth2/v2.0/authorize",
    ))
    .respond_with(fake)
    .mount(&env.login)
    .await;
    let out = env
        .run(&[
            "-vvv",
            "authorize",
            "--browser",
            "--client-id",
            CLIENT_ID,
            "--insecure-storage",
        ])
        .await;
    out.assert_code(0);
    secrets.assert_clean("authorize --browser", &out, None);
}

#[tokio::test]
async fn no_secret_reaches_the_terminal_when_reading_customers_and_domains() {
    use serde_json::json;
    use wiremock::Mock;
    use wiremock::matchers::{method, path};
    let mut secrets = Secrets::new();
    let _ = secrets.access("api");
    let (env, pc, graph) = TestEnv::signed_in_with_apis().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pc_page(
            vec![pc_customer(
                "11111111-aaaa-0000-0000-000000000003",
                "Contoso Ltd",
                "contoso.onmicrosoft.com",
                "reseller",
            )],
            None,
        )))
        .mount(&pc)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/v1.0/tenantRelationships/delegatedAdminRelationships",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/domains"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [{"id": "contoso.com", "isDefault": true}]})),
        )
        .mount(&graph)
        .await;
    for args in [
        vec!["-vvv", "customers"],
        vec![
            "-vvv",
            "-o",
            "json",
            "customers",
            "--gdap",
            "--search",
            "con",
        ],
        vec!["-vvv", "-o", "csv", "customers"],
        vec![
            "-vvv",
            "domains",
            "--customer",
            "11111111-aaaa-0000-0000-000000000003",
        ],
    ] {
        let out = env.run(&args).await;
        out.assert_code(0);
        secrets.assert_clean(&format!("{args:?}"), &out, None);
    }
    // Failure paths: throttled, then forbidden.
    Mock::given(method("GET"))
        .and(path("/v1/customers/11111111-aaaa-0000-0000-000000000009"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"code": "20002", "description": "no relationship"})),
        )
        .mount(&pc)
        .await;
    refresh(
        "11111111-aaaa-0000-0000-000000000009",
        REFRESH_TOKEN,
        GRAPH_SCOPE,
    )
    .respond_with(ResponseTemplate::new(400).set_body_json(entra_error(
        "invalid_grant",
        65001,
        "no consent",
    )))
    .with_priority(1)
    .mount(&env.login)
    .await;
    let out = env
        .run(&[
            "-vvv",
            "domains",
            "--customer",
            "11111111-aaaa-0000-0000-000000000009",
        ])
        .await;
    out.assert_code(1);
    assert!(out.stderr.contains("20002"), "{}", out.stderr);
    secrets.assert_clean("domains (forbidden)", &out, None);
}

#[tokio::test]
async fn no_secret_reaches_the_terminal_when_mapping() {
    use serde_json::json;
    use wiremock::Mock;
    use wiremock::matchers::{method, path};
    let mut secrets = Secrets::new();
    let _ = secrets.access("api");
    let (env, pc, graph) = TestEnv::signed_in_with_apis().await;
    let tenant = "11111111-aaaa-0000-0000-000000000003";
    Mock::given(method("GET"))
        .and(path("/contoso.com/v2.0/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(openid_metadata(tenant)))
        .mount(&env.login)
        .await;
    Mock::given(method("GET"))
        .and(path("/stranger.com/v2.0/.well-known/openid-configuration"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(openid_metadata("99999999-0000-0000-0000-000000000099")),
        )
        .mount(&env.login)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{tenant}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(pc_customer(
            tenant,
            "Contoso Ltd",
            "contoso.onmicrosoft.com",
            "reseller",
        )))
        .mount(&pc)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pc_page(
            vec![pc_customer(
                tenant,
                "Contoso Ltd",
                "contoso.onmicrosoft.com",
                "reseller",
            )],
            None,
        )))
        .mount(&pc)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/customers/99999999-0000-0000-0000-000000000099"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"code": "60003", "description": "Tenant not found"})),
        )
        .mount(&pc)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/v1.0/tenantRelationships/delegatedAdminRelationships",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&graph)
        .await;
    let csv = env.config_dir().join("import.csv");
    std::fs::write(
        &csv,
        "customer,domain\nContoso,contoso.com\nStranger,stranger.com\n",
    )
    .unwrap();
    let clients = env.config_dir().join("clients.txt");
    std::fs::write(&clients, "Contoso Limited\n").unwrap();
    for (args, code) in [
        (
            vec![
                "-vvv",
                "map",
                "--customer",
                "Contoso",
                "--domain",
                "contoso.com",
            ],
            0,
        ),
        (
            vec![
                "-vvv",
                "map",
                "--customer",
                "Stranger",
                "--domain",
                "stranger.com",
            ],
            1,
        ),
        (
            vec!["-vvv", "-o", "json", "map", "import", csv.to_str().unwrap()],
            5,
        ),
        (vec!["-vvv", "map", "list"], 0),
        (
            vec![
                "-vvv",
                "map",
                "suggest",
                "--clients",
                clients.to_str().unwrap(),
            ],
            0,
        ),
        (vec!["-vvv", "map", "remove", "--customer", "Contoso"], 0),
    ] {
        let out = env.run(&args).await;
        out.assert_code(code);
        secrets.assert_clean(&format!("{args:?}"), &out, None);
    }
}

/// Asserts that no secret the simulator issued reached stderr, nor stdout beyond `allowed`.
#[track_caller]
fn assert_sim_clean(secrets: &[String], what: &str, out: &Output, allowed: &[String]) {
    for secret in secrets {
        assert!(
            !out.stderr.contains(secret.as_str()),
            "{what}: a secret reached stderr: {out:#?}"
        );
        if !allowed.contains(secret) {
            assert!(
                !out.stdout.contains(secret.as_str()),
                "{what}: a secret reached stdout: {out:#?}"
            );
        }
        if let Some(payload) = secret.split('.').nth(1) {
            assert!(
                !out.stderr.contains(payload),
                "{what}: a token payload reached stderr"
            );
        }
    }
}

#[tokio::test]
async fn no_secret_reaches_the_terminal_when_consenting() {
    use crate::support::sim::*;
    let mut world = World::empty();
    world.add_customer("Contoso", "contoso.example.com");
    let held = world.add_customer("Fabrikam", "fabrikam.example.com");
    hold(&mut world, &held, GRAPH_APP, &["Directory.Read.All"]);
    let w = SimEnv::start(world).await;
    w.map_all();
    let grant = "graph=Directory.Read.All,User.Read.All";
    let mut outputs = Vec::new();
    for (args, code) in [
        (
            // Fabrikam holds fewer scopes: a plan (would_force), not a failure.
            vec!["-vvv", "consent", "--all", "--grant", grant, "--dry-run"],
            0,
        ),
        (vec!["-vvv", "consent", "--all", "--grant", grant], 5),
        (
            vec![
                "-vvv", "-o", "json", "consent", "--all", "--grant", grant, "--force",
            ],
            0,
        ),
        (
            vec!["-vvv", "-o", "csv", "consent", "--all", "--grant", grant],
            0,
        ),
    ] {
        let out = w.run(&args).await;
        out.assert_code(code);
        outputs.push((format!("{args:?}"), out));
    }
    w.sim.with_world(|w| w.switches.mfa_required = true);
    let out = w
        .run(&[
            "-vvv",
            "consent",
            "--all",
            "--grant",
            "graph=Directory.Read.All,User.Read.All,Mail.Read",
            "--force",
        ])
        .await;
    out.assert_code(4);
    assert!(out.stderr.contains("900421"), "{}", out.stderr);
    outputs.push(("consent (mfa)".into(), out));
    let secrets = w.sim.secrets();
    assert!(secrets.len() > 4, "tokens were issued: {}", secrets.len());
    for (what, out) in &outputs {
        assert_sim_clean(&secrets, what, out, &[]);
    }
}

#[tokio::test]
async fn no_secret_reaches_the_terminal_in_audit_and_doctor() {
    use crate::support::sim::*;
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.example.com");
    hold(&mut world, &t, GRAPH_APP, &["Directory.Read.All"]);
    let w = SimEnv::start(world).await;
    w.map_all();
    let mut outputs = Vec::new();
    for (args, code) in [
        (
            vec![
                "-vvv",
                "audit",
                "--grant",
                "graph=Directory.Read.All,User.Read.All",
            ],
            5,
        ),
        (
            vec![
                "-vvv",
                "-o",
                "json",
                "audit",
                "--grant",
                "graph=Directory.Read.All",
            ],
            0,
        ),
        (vec!["-vvv", "doctor"], 0),
        (vec!["-vvv", "-o", "json", "doctor"], 0),
    ] {
        let out = w.run(&args).await;
        out.assert_code(code);
        assert!(!out.stdout.is_empty(), "{args:?} reported");
        outputs.push((format!("{args:?}"), out));
    }
    let secrets = w.sim.secrets();
    for (what, out) in &outputs {
        assert_sim_clean(&secrets, what, out, &[]);
    }
}

/// The whole flow against the simulator at -vvv, from the first sign-in to the last logout:
/// none of the secrets it handed out (refresh, access and id tokens, device and authorization
/// codes, client secrets) reaches the terminal, except what `csp token` and `csp setup
/// --with-secret` exist to print.
#[tokio::test]
async fn no_secret_the_simulator_issued_reaches_the_terminal_in_the_whole_flow() {
    use crate::support::sim::*;
    let sim = Simulator::start(World::seeded(None)).await.unwrap();
    let mut env = TestEnv::new().await;
    env.authority_url = Some(sim.url());
    env.partner_center_url = sim.url();
    env.graph_url = sim.url();
    let dir = env.config_dir().to_path_buf();
    let csv = dir.join("import.csv");
    std::fs::write(
        &csv,
        "customer,domain\nFabrikam,fabrikam.com\nTailspin,tailspintoys.com\nWingtip,wingtiptoys.com\nAdatum,adatum.com\n",
    )
    .unwrap();
    let clients = dir.join("clients.txt");
    std::fs::write(&clients, "Alpine Ski House Ltd\nTrey Research\n").unwrap();
    #[cfg(unix)]
    let env = {
        use std::os::unix::fs::PermissionsExt;
        let browser = dir.join("fake-browser.sh");
        std::fs::write(
            &browser,
            "#!/bin/sh\nexec curl -sS -L --max-redirs 2 -o /dev/null \"$1\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
        env.env("BROWSER", browser.to_str().unwrap())
    };
    let grant = "graph=Directory.Read.All,User.Read.All";
    let (csv, clients) = (csv.to_str().unwrap(), clients.to_str().unwrap());
    // An expired relationship, for terminate (which then says so and changes nothing).
    let coho = {
        let world = sim.world();
        let t = world.customer_named("Coho Winery").unwrap().id.clone();
        world.relationships_of(&t).next().unwrap().id.clone()
    };
    // (args, exit code, what stdout may carry: nothing, or one secret the command prints).
    #[derive(PartialEq)]
    enum Prints {
        Nothing,
        OneSecret,
    }
    let mut steps: Vec<(Vec<&str>, i32, Prints)> = vec![(
        vec![
            "authorize",
            "--client-id",
            APP_ID,
            "--tenant",
            world::PARTNER_DOMAIN,
            "--insecure-storage",
        ],
        0,
        Prints::Nothing,
    )];
    #[cfg(unix)]
    steps.push((
        vec![
            "authorize",
            "--browser",
            "--client-id",
            APP_ID,
            "--insecure-storage",
        ],
        0,
        Prints::Nothing,
    ));
    steps.extend([
        (vec!["status"], 0, Prints::Nothing),
        (vec!["-o", "json", "status"], 0, Prints::Nothing),
        (vec!["token"], 0, Prints::OneSecret),
        (vec!["token", "--resource", "graph"], 0, Prints::OneSecret),
        (vec!["token", "--refresh-token"], 0, Prints::OneSecret),
        (vec!["customers"], 0, Prints::Nothing),
        (
            vec!["-o", "json", "customers", "--gdap"],
            0,
            Prints::Nothing,
        ),
        (
            vec!["domains", "--customer", "contoso.com"],
            0,
            Prints::Nothing,
        ),
        (
            vec!["domains", "--customer", "tailspintoys.com"],
            0,
            Prints::Nothing,
        ),
        (
            vec!["map", "--customer", "Contoso", "--domain", "contoso.com"],
            0,
            Prints::Nothing,
        ),
        (vec!["-o", "json", "map", "import", csv], 0, Prints::Nothing),
        (vec!["map", "list"], 0, Prints::Nothing),
        (
            vec!["map", "suggest", "--clients", clients],
            0,
            Prints::Nothing,
        ),
        (
            vec!["consent", "--all", "--grant", grant],
            5,
            Prints::Nothing,
        ),
        (
            vec![
                "consent",
                "--customer",
                "Wingtip",
                "--grant",
                grant,
                "--force",
            ],
            0,
            Prints::Nothing,
        ),
        (vec!["audit", "--grant", grant], 5, Prints::Nothing),
        (vec!["doctor"], 0, Prints::Nothing),
        (vec!["gdap", "roles"], 0, Prints::Nothing),
        (vec!["gdap", "templates"], 0, Prints::Nothing),
        (vec!["-o", "json", "gdap", "list"], 0, Prints::Nothing),
        (
            vec![
                "gdap",
                "request",
                "--customer",
                "fourthcoffee.com",
                "--template",
                "consent",
            ],
            0,
            Prints::Nothing,
        ),
        (
            vec!["gdap", "wait", "--customer", "fourthcoffee.com"],
            0,
            Prints::Nothing,
        ),
        (
            vec![
                "gdap",
                "assign",
                "--customer",
                "fourthcoffee.com",
                "--create-groups",
                "--add-member",
                "me",
            ],
            0,
            Prints::Nothing,
        ),
        (vec!["gdap", "renew", "--yes"], 0, Prints::Nothing),
        (
            vec!["gdap", "terminate", &coho, "--yes"],
            0,
            Prints::Nothing,
        ),
        (
            vec!["setup", "--with-secret", "--update", "--insecure-storage"],
            0,
            Prints::OneSecret,
        ),
        // The app is a confidential client now: the sign-in sends the stored secret.
        (vec!["authorize", "--insecure-storage"], 0, Prints::Nothing),
        (vec!["-o", "json", "status"], 0, Prints::Nothing),
        (vec!["logout"], 0, Prints::Nothing),
    ]);
    let mut outputs = Vec::new();
    for (args, code, prints) in steps {
        let mut full = vec!["-vvv"];
        full.extend(args.iter().copied());
        let out = env.run(&full).await;
        assert_eq!(out.code, Some(code), "{args:?}: {out:#?}");
        assert!(!out.stdout.trim().is_empty(), "{args:?} printed its result");
        outputs.push((args.join(" "), out, prints));
    }
    let secrets = sim.secrets();
    for (what, out, prints) in &outputs {
        let allowed: Vec<String> = match prints {
            Prints::Nothing => Vec::new(),
            Prints::OneSecret => {
                let shown: Vec<String> = secrets
                    .iter()
                    .filter(|s| out.stdout.contains(s.as_str()))
                    .cloned()
                    .collect();
                assert_eq!(shown.len(), 1, "{what} prints exactly one secret: {out:#?}");
                shown
            }
        };
        assert_sim_clean(&secrets, what, out, &allowed);
    }
    for kind in ["simrt-", "simdc-", "simac-", "simsecret~", "eyJ"] {
        assert!(
            secrets.iter().any(|s| s.starts_with(kind)),
            "the flow was handed a {kind}… secret"
        );
    }

    // The demo runs its own simulator in the csp process: scan for what marks its secrets.
    let out = TestEnv::new().await.run(&["-vvv", "demo"]).await;
    out.assert_code(0);
    for marker in csp::sandbox::secret_markers() {
        assert!(
            !out.stdout.contains(&marker) && !out.stderr.contains(&marker),
            "demo: a sandbox secret ({marker}…) reached the terminal"
        );
    }
}

/// The vault store's paths at -vvv: the Azure CLI's vault token, the tokens Entra and the
/// managed identity endpoint issue for the vault, the refresh token read from and written back
/// to the vault, a client assertion, and the refusals: none reaches the terminal.
#[cfg(all(unix, feature = "sandbox"))]
#[tokio::test]
async fn no_secret_reaches_the_terminal_on_the_vault_paths() {
    use crate::key_vault::VaultWorld;
    use csp::sandbox::world::{IDENTITY_HEADER, VAULT_IDENTITY};
    let mut v = VaultWorld::start().await;
    v.with_az();
    let mut outs = Vec::new();
    outs.push(("status", ended(v.run(&["-vvv", "status"]).await, 0)));
    outs.push(("doctor", v.run(&["-vvv", "doctor"]).await));
    outs.push((
        "status json",
        ended(v.run(&["-vvv", "-o", "json", "status"]).await, 0),
    ));
    v.w.sim
        .with_world(|w| w.switches.vault_denied = vec!["set".into()]);
    outs.push((
        "failed write-back",
        ended(v.run(&["-vvv", "status"]).await, 0),
    ));
    v.w.sim.with_world(|w| {
        w.switches.vault_denied = vec!["get".into()];
    });
    outs.push(("forbidden", ended(v.run(&["-vvv", "status"]).await, 1)));
    v.w.sim.with_world(|w| w.switches.vault_denied.clear());
    let tenant = v.w.sim.world().partner.id.clone();
    let url = v.w.sim.url();
    let assertion = "federated-assertion-LeakCanary";
    let token_file = v.bin.path().join("token");
    std::fs::write(&token_file, assertion).unwrap();
    let file = token_file.to_str().unwrap().to_string();
    let workload = [
        ("AZURE_CLIENT_ID", VAULT_IDENTITY),
        ("AZURE_TENANT_ID", tenant.as_str()),
        ("AZURE_FEDERATED_TOKEN_FILE", file.as_str()),
        ("AZURE_AUTHORITY_HOST", url.as_str()),
    ];
    outs.push((
        "workload identity",
        ended(v.run_env(&workload, &["-vvv", "status"]).await, 0),
    ));
    let client_secret = "simsecret~ci-LeakCanary";
    let sp = [
        ("AZURE_CLIENT_ID", VAULT_IDENTITY),
        ("AZURE_TENANT_ID", tenant.as_str()),
        ("AZURE_CLIENT_SECRET", client_secret),
        ("AZURE_AUTHORITY_HOST", url.as_str()),
    ];
    outs.push((
        "client secret",
        ended(v.run_env(&sp, &["-vvv", "status"]).await, 0),
    ));
    let endpoint = format!("{url}/msi/token");
    let msi = [
        ("IDENTITY_ENDPOINT", endpoint.as_str()),
        ("IDENTITY_HEADER", IDENTITY_HEADER),
    ];
    outs.push((
        "managed identity",
        ended(v.run_env(&msi, &["-vvv", "status"]).await, 0),
    ));
    outs.push(("logout", ended(v.run(&["-vvv", "logout"]).await, 0)));
    let mut secrets = v.w.sim.secrets();
    secrets.extend(v.versions());
    secrets.push(assertion.into());
    secrets.push(client_secret.into());
    secrets.push(IDENTITY_HEADER.into());
    assert!(secrets.iter().any(|s| s.starts_with("simrt-")));
    for (what, out) in &outs {
        assert_sim_clean(&secrets, what, out, &[]);
    }
}

/// The output of a run that ended with `code` (a leak scan of a run that failed early proves
/// nothing).
#[track_caller]
fn ended(out: Output, code: i32) -> Output {
    out.assert_code(code);
    out
}
