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
    let tmp = env.config_dir().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let env = env.env("TMPDIR", tmp.to_str().unwrap());
    let out = env.run(&["demo"]).await;
    out.assert_code(0);
    for step in [
        "$ csp --sandbox setup",
        "$ csp --sandbox authorize",
        "$ csp --sandbox customers --gdap",
        "$ csp --sandbox map --customer Contoso",
        "$ csp --sandbox map suggest",
        "$ csp --sandbox map import",
        "$ csp --sandbox consent --all",
        "$ csp --sandbox audit",
        "--force",
        "$ csp --sandbox gdap request --new --template consent",
        "$ csp --sandbox gdap wait ",
        "--create-groups --add-member me",
        "$ csp --sandbox consent --customer 'Adventure Works'",
    ] {
        assert!(out.stderr.contains(step), "{step}: {}", out.stderr);
    }
    assert!(out.stdout.contains("regranted"), "{}", out.stdout);
    assert!(out.stdout.contains("Northwind Traders"), "{}", out.stdout);
    assert!(out.stdout.contains("To repair:"), "{}", out.stdout);
    assert!(
        out.stderr.contains("5 of 14 customers need a look"),
        "the closing line counts them: {}",
        out.stderr
    );
    let written: Vec<_> = std::fs::read_dir(env.config_dir())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != "tmp")
        .collect();
    assert!(written.is_empty(), "the demo uses its own directory");
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "and leaves no temporary folder behind"
    );
}

#[tokio::test]
async fn the_demo_speaks_json_keeps_quiet_and_takes_a_seed() {
    let env = TestEnv::new().await;
    let out = env
        .run(&["demo", "-o", "json", "--sandbox-seed", "20"])
        .await;
    out.assert_code(0);
    let steps = out.json();
    let steps = steps.as_array().expect("one JSON document of the steps");
    let customers = steps
        .iter()
        .find(|s| s["command"] == "csp customers --gdap")
        .unwrap();
    assert_eq!(
        customers["result"].as_array().unwrap().len(),
        20,
        "--sandbox-seed sizes the demo's world"
    );
    let audit = steps
        .iter()
        .find(|s| s["command"] == "csp audit --customer 'Adventure Works'")
        .unwrap();
    assert_eq!(audit["exitCode"], 0);
    assert_eq!(
        audit["result"][0]["ok"], true,
        "the new customer audits green"
    );
    let last = steps.last().unwrap();
    assert_eq!(
        (
            last["exitCode"].as_i64(),
            last["result"]["tokenStore"].as_str()
        ),
        (Some(0), Some("azure-key-vault")),
        "the unattended run ends signed in from the vault: {last}"
    );
    let out = env.run(&["demo", "-q"]).await;
    out.assert_code(0);
    assert_eq!(out.stderr, "", "-q: nothing but errors");
}

/// Ctrl-C at a `--step` pause ends the demo at once (exit 130). `script` gives the demo a
/// terminal, whose Ctrl-C (byte 3) becomes SIGINT for it.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn ctrl_c_at_a_step_pause_exits_130_at_once() {
    use crate::support::terminal::ctrl_c_once_shown;
    let env = TestEnv::new().await;
    // The first pause names the command it will run.
    let output = ctrl_c_once_shown(
        env.on_terminal("demo --step", None),
        "press Enter to run it",
    )
    .await;
    let (status, text) = output;
    assert!(
        text.contains("$ csp --sandbox setup"),
        "the pause shows the command: {text}"
    );
    assert_eq!(status.code(), Some(130), "{text}");
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

/// An empty result is said on stderr, in words and with what to try; stdout holds no bare
/// table header, JSON stays `[]` and CSV stays empty.
#[tokio::test]
async fn empty_results_say_so_instead_of_printing_a_bare_header() {
    let env = sandboxed().await;
    env.run(&["authorize"]).await.assert_code(0);

    let out = env.run(&["customers", "--search", "zzz"]).await;
    out.assert_code(0);
    assert_eq!(out.stdout, "", "no bare header");
    assert!(
        out.stderr.contains("no customers match \"zzz\""),
        "{}",
        out.stderr
    );
    let out = env
        .run(&["customers", "--search", "zzz", "-o", "json"])
        .await;
    out.assert_code(0);
    assert_eq!(out.json(), serde_json::json!([]));
    let out = env
        .run(&["customers", "--search", "zzz", "-o", "csv"])
        .await;
    out.assert_code(0);
    assert_eq!(out.stdout, "");

    // -q: nothing at all. (An empty `map list` has its own test in mapping.rs.)
    let out = env.run(&["-q", "customers", "--search", "zzz"]).await;
    out.assert_code(0);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
}

/// `map suggest` and the client lookups as a new user meets them: a one-column list keeps no
/// quotes in names, a name every Toys customer shares is ambiguous (never a match), a tenant
/// mapped under another client name is `already_mapped`, and a company name given where a
/// client is expected names the client mapped to it.
#[tokio::test]
async fn suggest_and_client_lookups_read_names_as_people_write_them() {
    let env = sandboxed().await;
    env.run(&["authorize"]).await.assert_code(0);
    env.run(&["map", "--customer", "Contoso", "--domain", "contoso.com"])
        .await
        .assert_code(0);
    let clients = env.config_dir().join("clients.txt");
    std::fs::write(&clients, "\"Adatum Corporation\"\nToys\nContoso Ltd\n").unwrap();
    let out = env
        .run(&[
            "map",
            "suggest",
            "--clients",
            clients.to_str().unwrap(),
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    let rows = out.json();
    let row = |client: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["client"] == client)
            .cloned()
            .unwrap_or_else(|| panic!("no row for {client}: {rows}"))
    };
    assert_eq!(row("Adatum Corporation")["status"], "suggested");
    assert_eq!(row("Adatum Corporation")["match"], "Adatum Corporation");
    let toys = row("Toys");
    assert_eq!(toys["status"], "ambiguous", "{toys}");
    let both = [toys["match"].as_str(), toys["runnerUp"].as_str()];
    assert!(
        both.contains(&Some("Tailspin Toys")) && both.contains(&Some("Wingtip Toys")),
        "{toys}"
    );
    let contoso = row("Contoso Ltd");
    assert_eq!(contoso["status"], "already_mapped", "{contoso}");
    assert_eq!(contoso["mappedAs"], "Contoso", "{contoso}");

    let out = env.run(&["consent", "--customer", "Contoso Ltd"]).await;
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("\"Contoso Ltd\" is not a mapped client; it is the company name of the client \"Contoso\""),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: use --customer \"Contoso\""),
        "{}",
        out.stderr
    );
}
