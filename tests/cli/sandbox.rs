//! End to end on the built-in simulator: the real binary with `--sandbox` through the whole
//! flow (authorize → customers → map → consent → audit), `csp demo`, and the promise that a
//! sandbox never reads or touches the real sign-in, config or mappings.

use serde_json::Value;

use crate::support::*;

/// A world with no fake servers: the sandbox brings its own.
async fn sandboxed() -> TestEnv {
    TestEnv::new()
        .await
        .env("CSP_SANDBOX", "1")
        // A real sign-in in the environment must be ignored by the sandbox.
        .env("CSP_REFRESH_TOKEN", REFRESH_TOKEN)
        .env("CSP_CLIENT_ID", CLIENT_ID)
}

#[tokio::test]
async fn the_full_flow_runs_on_the_sandbox() {
    let env = sandboxed().await;
    let out = env.run(&["authorize", "-o", "json"]).await;
    out.assert_code(0);
    assert!(
        out.stderr.contains("sandbox: simulated Microsoft services"),
        "{}",
        out.stderr
    );
    assert_eq!(out.json()["tokenStore"], "file");
    assert_eq!(out.json()["mfa"], true);
    assert!(env.config_dir().join("sandbox/credentials.json").exists());
    assert!(
        !env.credentials_path().exists(),
        "nothing outside the sandbox dir"
    );
    assert!(!env.config_dir().join("config.toml").exists());

    let out = env.run(&["status", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(out.json()["signedIn"], true);

    let out = env.run(&["customers", "--gdap", "-o", "json"]).await;
    out.assert_code(0);
    let customers = out.json();
    let rows = customers.as_array().unwrap();
    assert_eq!(rows.len(), 14);
    assert!(rows.iter().any(|r| r["relationship"] == "gdap_only"));

    let out = env
        .run(&["domains", "--customer", "contoso.com", "-o", "json"])
        .await;
    out.assert_code(0);
    let domains: Vec<(Value, Value)> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["domain"].clone(), d["source"].clone()))
        .collect();
    assert_eq!(
        domains,
        vec![
            ("contoso.onmicrosoft.com".into(), "partner_center".into()),
            ("contoso.com".into(), "partner_center".into()),
        ],
        "not consented yet: Partner Center's view"
    );

    for (client, domain) in [
        ("Contoso", "contoso.com"),
        ("Adatum", "adatum.com"),
        ("Wingtip", "wingtiptoys.com"),
    ] {
        env.run(&["map", "--customer", client, "--domain", domain])
            .await
            .assert_code(0);
    }
    let out = env
        .run(&["map", "--customer", "Nobody", "--domain", "example.org"])
        .await;
    out.assert_code(2);
    assert!(
        out.stderr.contains("not registered with Microsoft Entra"),
        "{}",
        out.stderr
    );

    let out = env.run(&["consent", "--all", "-o", "json"]).await;
    out.assert_code(5);
    let results: Vec<(String, String, String)> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["customer"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["error"]["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        results,
        vec![
            ("Adatum".into(), "failed".into(), "gdap_role_missing".into()),
            ("Contoso".into(), "granted".into(), "".into()),
            ("Wingtip".into(), "failed".into(), "scopes_differ".into()),
        ]
    );

    // The consents persist for the next run: Graph now answers in Contoso's tenant.
    let out = env
        .run(&["domains", "--customer", "Contoso", "-o", "json"])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()[0]["source"], "graph");

    let out = env.run(&["audit", "-o", "json"]).await;
    out.assert_code(5);
    let audit: Vec<Value> = out.json().as_array().unwrap().clone();
    let ok: Vec<(String, bool)> = audit
        .iter()
        .map(|r| {
            (
                r["customer"].as_str().unwrap().to_string(),
                r["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ok,
        vec![
            ("Adatum".into(), false),
            ("Contoso".into(), true),
            ("Wingtip".into(), false)
        ]
    );
    assert_eq!(
        audit[2]["repair"], "csp --sandbox consent --customer Wingtip --force",
        "repairs say how to run csp in this mode"
    );
    assert_eq!(
        audit[0]["repair"], "csp --sandbox gdap request --customer Adatum --template consent",
        "no role that can consent: a relationship with one"
    );
    env.run(&["consent", "--customer", "Wingtip", "--force"])
        .await
        .assert_code(0);
    let out = env
        .run(&["audit", "--customer", "Wingtip", "-o", "json"])
        .await;
    out.assert_code(0);

    let out = env.run(&["doctor", "-o", "json"]).await;
    out.assert_code(0);
    let out = env.run(&["logout"]).await;
    out.assert_code(0);
    env.run(&["status"]).await.assert_code(4);

    // Nothing of the real sign-in leaked into any of it.
    assert!(!out.stdout.contains(REFRESH_TOKEN) && !out.stderr.contains(REFRESH_TOKEN));
    let top: Vec<String> = std::fs::read_dir(env.config_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        top,
        vec!["sandbox".to_string()],
        "the real config dir is untouched"
    );
}

#[tokio::test]
async fn a_seeded_sandbox_pages_through_hundreds_of_customers() {
    let env = sandboxed().await.env("CSP_SANDBOX_SEED", "250");
    env.run(&["authorize"]).await.assert_code(0);
    let out = env.run(&["customers", "-o", "json"]).await;
    out.assert_code(0);
    let n = out.json().as_array().unwrap().len();
    // Every tenth or so is GDAP-only and absent from Partner Center's list.
    assert!(n > 200 && n < 250, "{n}");
    let out = env.run(&["customers", "--gdap", "-o", "json"]).await;
    assert_eq!(out.json().as_array().unwrap().len(), 250);
}

#[tokio::test]
async fn the_demo_tells_the_whole_story_and_exits_0() {
    let env = TestEnv::new().await;
    let out = env.run(&["demo"]).await;
    out.assert_code(0);
    for step in [
        "$ csp setup",
        "$ csp authorize",
        "$ csp customers --gdap",
        "$ csp map --customer Contoso",
        "$ csp map suggest",
        "$ csp map import",
        "$ csp consent --all",
        "$ csp audit",
        "--force",
    ] {
        assert!(out.stderr.contains(step), "{step}: {}", out.stderr);
    }
    assert!(out.stdout.contains("regranted"), "{}", out.stdout);
    assert!(out.stdout.contains("Northwind Traders"), "{}", out.stdout);
    assert!(out.stdout.contains("To repair:"), "{}", out.stdout);
    let written: Vec<_> = std::fs::read_dir(env.config_dir()).unwrap().collect();
    assert!(written.is_empty(), "the demo uses its own directory");
}

/// The simulator runs inside csp here, so the test cannot ask it for its secrets: it scans for
/// what marks every one of them (`csp::sandbox::secret_markers`).
#[tokio::test]
async fn no_secret_reaches_the_terminal_in_the_sandbox() {
    let env = sandboxed().await;
    let markers = csp::sandbox::secret_markers();
    let count = |text: &str| -> usize {
        markers
            .iter()
            .map(|m| text.matches(m.as_str()).count())
            .sum()
    };
    let csv = env.config_dir().join("import.csv");
    std::fs::write(&csv, "customer,domain\nFabrikam,fabrikam.com\n").unwrap();
    let clients = env.config_dir().join("clients.txt");
    std::fs::write(&clients, "Trey Research\n").unwrap();
    let (csv, clients) = (csv.to_str().unwrap(), clients.to_str().unwrap());
    for (args, code, printed) in [
        (vec!["-vvv", "authorize"], 0, 0),
        (vec!["-vvv", "status"], 0, 0),
        (vec!["-vvv", "token"], 0, 1),
        (vec!["-vvv", "customers", "--gdap"], 0, 0),
        (vec!["-vvv", "domains", "--customer", "contoso.com"], 0, 0),
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
            0,
        ),
        (vec!["-vvv", "map", "import", csv], 0, 0),
        (vec!["-vvv", "map", "suggest", "--clients", clients], 0, 0),
        (vec!["-vvv", "consent", "--all"], 0, 0),
        (vec!["-vvv", "audit"], 0, 0),
        (vec!["-vvv", "doctor"], 0, 0),
        (vec!["-vvv", "logout"], 0, 0),
    ] {
        let out = env.run(&args).await;
        assert_eq!(out.code, Some(code), "{args:?}: {out:#?}");
        assert_eq!(
            count(&out.stderr),
            0,
            "{args:?}: a sandbox secret on stderr"
        );
        assert_eq!(count(&out.stdout), printed, "{args:?}: {}", out.stdout);
        assert!(
            !out.stdout.contains(REFRESH_TOKEN) && !out.stderr.contains(REFRESH_TOKEN),
            "{args:?}: the real sign-in"
        );
    }
}
