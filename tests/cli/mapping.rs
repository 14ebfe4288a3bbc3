//! `csp map` and its subcommands through the real binary: resolution by domain, the customer
//! check (Partner Center, then GDAP), conflicts, imports with good and bad rows, suggestions,
//! concurrent writers, and files that must stay byte-identical when input is bad.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const CONTOSO: &str = "11111111-aaaa-0000-0000-000000000003";
const FABRIKAM: &str = "11111111-aaaa-0000-0000-000000000002";
const NORTHWIND: &str = "22222222-bbbb-0000-0000-000000000009";
const STRANGER: &str = "99999999-0000-0000-0000-000000000099";

/// Microsoft's metadata for `domain` names `tenant`.
async fn owns(env: &TestEnv, domain: &str, tenant: &str) {
    Mock::given(method("GET"))
        .and(path(format!(
            "/{domain}/v2.0/.well-known/openid-configuration"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(openid_metadata(tenant)))
        .mount(&env.login)
        .await;
}

async fn unknown_domain(env: &TestEnv, domain: &str) {
    Mock::given(method("GET"))
        .and(path(format!(
            "/{domain}/v2.0/.well-known/openid-configuration"
        )))
        .respond_with(ResponseTemplate::new(400).set_body_json(entra_error(
            "invalid_tenant",
            90002,
            &format!("Tenant '{domain}' not found."),
        )))
        .mount(&env.login)
        .await;
}

/// Partner Center knows `tenant` as a customer named `name`.
async fn pc_knows(pc: &MockServer, tenant: &str, name: &str) {
    let mut c = fixture("pc-customer-get-by-id.json");
    c["id"] = json!(tenant);
    c["companyProfile"]["tenantId"] = json!(tenant);
    c["companyProfile"]["companyName"] = json!(name);
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{tenant}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(c))
        .mount(pc)
        .await;
}

async fn pc_does_not_know(pc: &MockServer, tenant: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{tenant}")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "code": "60003", "description": "Tenant not found", "source": "PartnerApiServiceControllers"
        })))
        .mount(pc)
        .await;
}

async fn gdap(graph: &MockServer, relationships: Vec<Value>) {
    Mock::given(method("GET"))
        .and(path(
            "/v1.0/tenantRelationships/delegatedAdminRelationships",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": relationships})))
        .mount(graph)
        .await;
}

fn mappings_path(env: &TestEnv) -> std::path::PathBuf {
    env.config_dir().join("mappings.json")
}

fn mappings_text(env: &TestEnv) -> String {
    std::fs::read_to_string(mappings_path(env)).unwrap_or_default()
}

/// A world where contoso.com is Contoso (Partner Center), fabrikam.com is Fabrikam (Partner
/// Center), northwind.com is reached only through GDAP, and stranger.com is nobody's.
async fn world() -> (TestEnv, MockServer, MockServer) {
    let (env, pc, graph) = TestEnv::signed_in_with_apis().await;
    owns(&env, "contoso.com", CONTOSO).await;
    owns(&env, "fabrikam.com", FABRIKAM).await;
    owns(&env, "northwind.com", NORTHWIND).await;
    owns(&env, "stranger.com", STRANGER).await;
    unknown_domain(&env, "nope.example").await;
    pc_knows(&pc, CONTOSO, "Contoso Ltd").await;
    pc_knows(&pc, FABRIKAM, "Fabrikam, Inc.").await;
    pc_does_not_know(&pc, STRANGER).await;
    // `map import` checks rows against one listing of every customer.
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pc_page(
            vec![
                pc_customer(
                    CONTOSO,
                    "Contoso Ltd",
                    "contoso.onmicrosoft.com",
                    "reseller",
                ),
                pc_customer(
                    FABRIKAM,
                    "Fabrikam, Inc.",
                    "fabrikam.onmicrosoft.com",
                    "reseller",
                ),
            ],
            None,
        )))
        .mount(&pc)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{NORTHWIND}")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "code": "20002", "description": "The partner id has no commerce relationship with the customer id.", "source": "x"
        })))
        .mount(&pc)
        .await;
    gdap(
        &graph,
        vec![
            gdap_relationship(
                NORTHWIND,
                "Northwind Traders",
                "active",
                &[CLOUD_APP_ADMIN],
                "2027-01-01T00:00:00Z",
            ),
            gdap_relationship(
                STRANGER,
                "Stranger Things Ltd",
                "expired",
                &[GLOBAL_ADMIN],
                "2025-01-01T00:00:00Z",
            ),
        ],
    )
    .await;
    (env, pc, graph)
}

#[tokio::test]
async fn a_client_is_mapped_by_a_domain_its_tenant_verified() {
    let (env, _pc, _graph) = world().await;
    let out = env
        .run(&[
            "map",
            "--customer",
            "  Contoso  ",
            "--domain",
            "Contoso.COM",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    let m = out.json();
    assert_eq!(m["customer"], "Contoso");
    assert_eq!(m["tenantId"], CONTOSO);
    assert_eq!(m["domain"], "contoso.com");
    assert_eq!(m["name"], "Contoso Ltd");
    assert_eq!(m["status"], "added");
    assert!(m["mappedAt"].as_str().unwrap().ends_with('Z'));
    let file: Value = serde_json::from_str(&mappings_text(&env)).unwrap();
    assert_eq!(file["version"], 1);
    assert_eq!(file["mappings"][0]["tenantId"], CONTOSO);

    // The same again changes nothing, not even the date.
    let before = mappings_text(&env);
    let out = env
        .run(&[
            "map",
            "--customer",
            "contoso",
            "--domain",
            "contoso.com",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    assert_eq!(
        out.json()["status"],
        "replaced",
        "the client's spelling changed"
    );
    let out = env
        .run(&[
            "map",
            "--customer",
            "contoso",
            "--domain",
            "contoso.com",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(out.json()["status"], "unchanged");
    assert_ne!(before, "");

    let out = env.run(&["map", "list", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(out.json().as_array().unwrap().len(), 1);
    let out = env.run(&["map", "list"]).await;
    assert!(out.stdout.contains("MAPPED AT"), "{}", out.stdout);
}

#[tokio::test]
async fn a_gdap_only_customer_is_accepted_and_a_stranger_is_not() {
    let (env, _pc, _graph) = world().await;
    let out = env
        .run(&[
            "map",
            "--customer",
            "Northwind",
            "--domain",
            "northwind.com",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()["name"], "Northwind Traders");

    let before = mappings_text(&env);
    let out = env
        .run(&["map", "--customer", "Stranger", "--domain", "stranger.com"])
        .await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("is not one of your customers"),
        "{}",
        out.stderr
    );
    assert_eq!(mappings_text(&env), before);
}

#[tokio::test]
async fn an_unknown_domain_is_a_usage_error() {
    let (env, _pc, _graph) = world().await;
    let out = env
        .run(&["map", "--customer", "X", "--domain", "nope.example"])
        .await;
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("nope.example is not registered with Microsoft Entra"),
        "{}",
        out.stderr
    );
    assert!(!mappings_path(&env).exists());
}

#[tokio::test]
async fn conflicts_need_replace() {
    let (env, _pc, _graph) = world().await;
    env.run(&["map", "--customer", "Contoso", "--domain", "contoso.com"])
        .await
        .assert_code(0);
    let before = mappings_text(&env);
    // The same client to another tenant.
    let out = env
        .run(&["map", "--customer", "CONTOSO", "--domain", "fabrikam.com"])
        .await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("is already mapped to tenant"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: pass --replace"),
        "{}",
        out.stderr
    );
    // Another client to the same tenant.
    let out = env
        .run(&[
            "map",
            "--customer",
            "Contoso Group",
            "--domain",
            "contoso.com",
        ])
        .await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("is already mapped to client"),
        "{}",
        out.stderr
    );
    assert_eq!(mappings_text(&env), before, "refusals change nothing");

    let out = env
        .run(&[
            "map",
            "--customer",
            "Contoso Group",
            "--domain",
            "contoso.com",
            "--replace",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()["status"], "replaced");
    let list = env.run(&["map", "list", "-o", "json"]).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["customer"], "Contoso Group");
}

#[tokio::test]
async fn bad_input_is_refused_before_any_call_and_leaves_the_file_as_it_was() {
    let (env, _pc, _graph) = world().await;
    env.run(&["map", "--customer", "Contoso", "--domain", "contoso.com"])
        .await
        .assert_code(0);
    let before = mappings_text(&env);
    let calls_before = env.login.received_requests().await.unwrap().len();
    let long = "x".repeat(129);
    for args in [
        vec!["map", "--customer", "   ", "--domain", "a.com"],
        vec!["map", "--customer", &long, "--domain", "a.com"],
        vec!["map", "--customer", "tab\there", "--domain", "a.com"],
        vec!["map", "--customer", "A", "--domain", "not_a_domain"],
        vec!["map", "--customer", "A", "--domain", "localhost"],
        vec!["map", "--customer", "A", "--domain", "-bad.com"],
        vec!["map", "remove", "--customer", "Nobody"],
        vec!["map", "--customer", "A"],
    ] {
        let out = env.run(&args).await;
        out.assert_code(2);
        assert!(
            out.stderr.starts_with("error: "),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(mappings_text(&env), before, "{args:?}");
    }
    assert_eq!(
        env.login.received_requests().await.unwrap().len(),
        calls_before,
        "no network call for bad input"
    );
    let out = env
        .run(&["map", "remove", "--customer", "contoso", "-o", "json"])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()["status"], "removed");
    assert_eq!(
        env.run(&["map", "list", "-o", "json"]).await.json(),
        json!([])
    );
}

#[tokio::test]
async fn import_tries_every_row_and_keeps_the_good_ones() {
    let (env, _pc, _graph) = world().await;
    env.run(&["map", "--customer", "Fabrikam", "--domain", "fabrikam.com"])
        .await
        .assert_code(0);
    let csv = env.config_dir().join("clients.csv");
    std::fs::write(
        &csv,
        "\u{feff}customer,domain\r\n\"Contoso, the client\",contoso.com\r\n\r\nStranger,stranger.com\r\nTypo,nope.example\r\n,contoso.com\r\n\"Fab 2\",fabrikam.com\r\nNorthwind,NORTHWIND.com\r\n",
    )
    .unwrap();
    let out = env
        .run(&["map", "import", csv.to_str().unwrap(), "-o", "json"])
        .await;
    out.assert_code(5);
    assert!(
        out.stderr.contains("error: 4 of 6 rows failed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.lines().any(|l| l == "2 added, 4 failed"),
        "the count line, as consent's: {}",
        out.stderr
    );
    let report = out.json();
    let by_line: Vec<(u64, String, String)> = report
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
                r["error"]["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        by_line,
        vec![
            (2, "added".into(), "".into()),
            (4, "failed".into(), "not_a_customer".into()),
            (5, "failed".into(), "unknown_domain".into()),
            (6, "failed".into(), "invalid_input".into()),
            (7, "failed".into(), "conflict".into()),
            (8, "added".into(), "".into()),
        ]
    );
    let clients: Vec<Value> = env
        .run(&["map", "list", "-o", "json"])
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["customer"].clone())
        .collect();
    assert_eq!(
        clients,
        vec![
            json!("Contoso, the client"),
            json!("Fabrikam"),
            json!("Northwind")
        ]
    );

    let out = env.run(&["map", "import", csv.to_str().unwrap()]).await;
    out.assert_code(5);
    assert!(out.stdout.contains("unchanged"), "{}", out.stdout);
}

#[tokio::test]
async fn an_import_file_without_the_header_changes_nothing() {
    let (env, _pc, _graph) = world().await;
    env.run(&["map", "--customer", "Contoso", "--domain", "contoso.com"])
        .await
        .assert_code(0);
    let before = mappings_text(&env);
    let csv = env.config_dir().join("bad.csv");
    for content in [
        "name,domain\nA,contoso.com\n",
        "customer,host\nA,contoso.com\n",
        "Contoso,contoso.com\n",
        "",
    ] {
        std::fs::write(&csv, content).unwrap();
        let out = env.run(&["map", "import", csv.to_str().unwrap()]).await;
        out.assert_code(2);
        assert!(
            out.stderr.contains("as in `customer,domain`"),
            "{}",
            out.stderr
        );
        assert_eq!(mappings_text(&env), before);
    }
    let out = env.run(&["map", "import", "/nonexistent/file.csv"]).await;
    out.assert_code(2);
}

#[tokio::test]
async fn suggestions_pair_names_and_their_csv_imports() {
    let (env, pc, _graph) = world().await;
    // Replaces the world's listing.
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pc_page(
            vec![
                pc_customer(CONTOSO, "Contoso Limited", "contoso.com", "reseller"),
                pc_customer(
                    "11111111-aaaa-0000-0000-000000000007",
                    "Contoso Pharmaceuticals Inc",
                    "contosopharma.onmicrosoft.com",
                    "reseller",
                ),
                pc_customer(FABRIKAM, "Fabrikam", "fabrikam.com", "reseller"),
                pc_customer(
                    "11111111-aaaa-0000-0000-000000000008",
                    "Wide World Importers",
                    "wideworld.onmicrosoft.com",
                    "reseller",
                ),
            ],
            None,
        )))
        .with_priority(1)
        .mount(&pc)
        .await;
    let clients = env.config_dir().join("clients.txt");
    std::fs::write(
        &clients,
        "Contoso Ltd.\nFabrikam, Inc.\n\nAdventure Works Cycles\n",
    )
    .unwrap();
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
    let s = out.json();
    assert_eq!(s[0]["client"], "Contoso Ltd.");
    assert_eq!(s[0]["status"], "suggested");
    assert_eq!(s[0]["match"], "Contoso Limited");
    assert_eq!(s[0]["runnerUp"], "Contoso Pharmaceuticals Inc");
    assert!(s[0]["score"].as_f64().unwrap() > s[0]["runnerUpScore"].as_f64().unwrap());
    assert_eq!(s[1]["match"], "Fabrikam");
    assert_eq!(s[2]["status"], "no_match");
    assert_eq!(s[2]["domain"], Value::Null, "no guess for a stranger");
    assert!(
        out.stderr
            .contains("map these yourself: Adventure Works Cycles"),
        "{}",
        out.stderr
    );

    let out = env
        .run(&[
            "map",
            "suggest",
            "--clients",
            clients.to_str().unwrap(),
            "-o",
            "csv",
        ])
        .await;
    out.assert_code(0);
    // The CSV is the JSON's columns and rows; map import takes it as it is, proposals only.
    assert!(
        out.stdout.starts_with(
            "client,status,match,domain,tenantId,score,runnerUp,runnerUpScore,mappedAs\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Adventure Works Cycles,no_match,"),
        "{}",
        out.stdout
    );
    let csv = env.config_dir().join("suggested.csv");
    std::fs::write(&csv, &out.stdout).unwrap();
    let out = env
        .run(&["map", "import", csv.to_str().unwrap(), "-o", "json"])
        .await;
    out.assert_code(0);
    assert_eq!(out.json().as_array().unwrap().len(), 2);
    assert!(
        out.stderr.contains(
            "left out 1 row(s) that map suggest did not propose: Adventure Works Cycles (no_match)"
        ),
        "{}",
        out.stderr
    );
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
    assert_eq!(out.json()[0]["status"], "already_mapped");
}

#[tokio::test]
async fn twenty_concurrent_map_commands_leave_twenty_mappings() {
    let (env, pc, _graph) = TestEnv::signed_in_with_apis().await;
    let mut cmds = Vec::new();
    for i in 0..20 {
        let tenant = format!("33333333-0000-0000-0000-{i:012}");
        let domain = format!("client{i}.com");
        owns(&env, &domain, &tenant).await;
        pc_knows(&pc, &tenant, &format!("Client {i} Ltd")).await;
        let mut cmd = env.std_cmd();
        cmd.args([
            "map",
            "--customer",
            &format!("Client {i}"),
            "--domain",
            &domain,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
        cmds.push(cmd);
    }
    let results = tokio::task::spawn_blocking(move || {
        let children: Vec<_> = cmds.iter_mut().map(|c| c.spawn().unwrap()).collect();
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for r in &results {
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    }
    let list = env.run(&["map", "list", "-o", "json"]).await.json();
    assert_eq!(list.as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn a_corrupt_mapping_file_stops_every_command_that_reads_it() {
    let (env, _pc, _graph) = world().await;
    let corrupt = "{\"version\": 1,\n  \"mappings\": [\n    {\"customer\": \"A\",\n";
    std::fs::write(mappings_path(&env), corrupt).unwrap();
    let csv = env.config_dir().join("c.csv");
    std::fs::write(&csv, "customer,domain\nContoso,contoso.com\n").unwrap();
    for args in [
        vec!["map", "list"],
        vec!["map", "--customer", "Contoso", "--domain", "contoso.com"],
        vec!["map", "remove", "--customer", "A"],
        vec!["map", "import", csv.to_str().unwrap()],
        vec!["domains", "--customer", "Some Client"],
    ] {
        let out = env.run(&args).await;
        out.assert_code(2);
        assert!(
            out.stderr
                .contains("mappings.json is not a valid mappings file: line 4"),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(mappings_text(&env), corrupt, "{args:?}");
    }
    std::fs::write(mappings_path(&env), "{\"version\": 2, \"mappings\": []}").unwrap();
    let out = env.run(&["map", "list"]).await;
    out.assert_code(2);
    assert!(out.stderr.contains("has version 2"), "{}", out.stderr);
}

#[tokio::test]
async fn domains_resolves_a_mapped_client() {
    let (env, _pc, graph) = world().await;
    env.run(&["map", "--customer", "Contoso", "--domain", "contoso.com"])
        .await
        .assert_code(0);
    Mock::given(method("GET"))
        .and(path("/v1.0/domains"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": "contoso.com", "isDefault": true, "isInitial": false, "isVerified": true}]})))
        .expect(1)
        .mount(&graph)
        .await;
    let out = env
        .run(&["domains", "--customer", "contoso", "-o", "json"])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()[0]["domain"], "contoso.com");
    let token_paths: Vec<String> = env
        .login
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_string())
        .collect();
    assert!(token_paths.contains(&format!("/{CONTOSO}/oauth2/v2.0/token")));
}

#[tokio::test]
async fn mfa_required_stops_an_import_before_any_row() {
    let (env, pc, _graph) = TestEnv::signed_in_with_apis().await;
    owns(&env, "contoso.com", CONTOSO).await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({"code": "900421", "description": "MFA required", "source": "x"}),
            ),
        )
        .expect(1)
        .mount(&pc)
        .await;
    let csv = env.config_dir().join("c.csv");
    std::fs::write(&csv, "customer,domain\nContoso,contoso.com\n").unwrap();
    let out = env
        .run(&["map", "import", csv.to_str().unwrap(), "-o", "json"])
        .await;
    out.assert_code(4);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("hint: Partner Center requires multi-factor authentication"),
        "{}",
        out.stderr
    );
    assert!(!mappings_path(&env).exists());
}

#[tokio::test]
async fn an_import_reads_the_customer_list_once_not_once_per_row() {
    let (env, pc, _graph) = world().await;
    let csv = env.config_dir().join("c.csv");
    std::fs::write(
        &csv,
        "customer,domain\nContoso,contoso.com\nFabrikam,fabrikam.com\n",
    )
    .unwrap();
    env.run(&["map", "import", csv.to_str().unwrap(), "-o", "json"])
        .await
        .assert_code(0);
    let reads: Vec<String> = pc
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_string())
        .collect();
    assert_eq!(reads, ["/v1/customers"], "one listing, no per-tenant read");
}

/// An empty `map list` says so on stderr, with the commands that map clients, and leaves
/// stdout empty (`[]` for JSON); under --sandbox the hint says `csp --sandbox`.
#[tokio::test]
async fn an_empty_list_says_how_to_map_and_prints_no_bare_header() {
    let env = TestEnv::new().await;
    for (format, stdout) in [("table", ""), ("csv", ""), ("json", "[]\n")] {
        let out = env.run(&["map", "list", "-o", format]).await;
        out.assert_code(0);
        assert_eq!(out.stdout, stdout, "{format}");
        assert!(
            out.stderr
                .contains("no mappings yet (try `csp map suggest --clients FILE`, or `csp map --customer CLIENT --domain DOMAIN`)"),
            "{format}: {}",
            out.stderr
        );
    }
    let out = env.run(&["--sandbox", "map", "list"]).await;
    out.assert_code(0);
    assert!(
        out.stderr.contains("(try `csp --sandbox map suggest"),
        "{}",
        out.stderr
    );
    let out = env.run(&["-q", "map", "list"]).await;
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
}

/// Ctrl-C during `map import`: the rows checked by then are mapped (in one atomic write), the
/// row in flight is `interrupted`, the rest `not_started`; stderr says how many were mapped
/// and which lines were not; exit 130.
#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_during_an_import_maps_what_checked_out_and_lists_the_rest() {
    use crate::support::sim::*;
    let mut world = World::empty();
    let mut file = String::from("customer,domain\n");
    for i in 1..=8 {
        world.add_customer(&format!("Client {i}"), &format!("client{i}.example.com"));
        file.push_str(&format!("Client {i},client{i}.example.com\n"));
    }
    let w = SimEnv::start(world).await;
    // Row 3's domain lookup never answers: with --jobs 2, rows 1, 2 and 4 are checked, row 3
    // is in flight and rows 5 to 8 wait.
    let hung = "/client3.example.com/v2.0/.well-known/openid-configuration";
    w.sim.inject(
        Fault::on("GET", hung)
            .always()
            .hang(std::time::Duration::from_secs(120)),
    );
    let csv = w.env.config_dir().join("clients.csv");
    std::fs::write(&csv, file).unwrap();
    let mut child = w
        .env
        .std_cmd()
        .args([
            "map",
            "import",
            csv.to_str().unwrap(),
            "--jobs",
            "2",
            "-o",
            "json",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let answered = |path: &str| {
        w.sim
            .calls_to("GET", path)
            .iter()
            .any(|c| c.status.is_some())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let row4_done = || answered("/client4.example.com/v2.0/.well-known/openid-configuration");
    while !row4_done() || w.sim.calls_to("GET", hung).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the import never reached row 4"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: signals the child this test started and has not reaped yet.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let output = tokio::task::spawn_blocking(move || {
        let read = |mut r: Box<dyn std::io::Read + Send>| {
            let mut s = String::new();
            r.read_to_string(&mut s).unwrap();
            s
        };
        let err = std::thread::spawn(move || read(Box::new(stderr)));
        let out = read(Box::new(stdout));
        (child.wait().unwrap(), out, err.join().unwrap())
    })
    .await
    .unwrap();
    let (status, stdout, stderr) = output;
    assert_eq!(status.code(), Some(130), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let rows: Vec<(u64, String)> = report
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["error"]["code"]
                    .as_str()
                    .unwrap_or(r["status"].as_str().unwrap())
                    .to_string(),
            )
        })
        .collect();
    let expected: Vec<(u64, String)> = [
        "added",
        "added",
        "interrupted",
        "added",
        "not_started",
        "not_started",
        "not_started",
        "not_started",
    ]
    .iter()
    .enumerate()
    .map(|(i, s)| (i as u64 + 2, s.to_string()))
    .collect();
    assert_eq!(rows, expected);
    assert!(
        stderr.contains("3 added, 1 interrupted, 4 not_started"),
        "{stderr}"
    );
    assert!(
        stderr.contains("interrupted: 3 of 8 rows mapped; not mapped: lines 4, 6-9"),
        "{stderr}"
    );
    let mapped: Vec<String> = serde_json::from_str::<Value>(
        &std::fs::read_to_string(w.env.config_dir().join("mappings.json")).unwrap(),
    )
    .unwrap()["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["customer"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(mapped, ["Client 1", "Client 2", "Client 4"]);
}

/// Many rows are checked against one listing of the customers and one of the GDAP
/// relationships: no Partner Center read per row, however many rows are GDAP-only.
#[tokio::test]
async fn an_import_lists_customers_and_relationships_once_for_all_rows() {
    use crate::support::sim::*;
    let mut world = World::empty();
    let mut file = String::from("customer,domain\n");
    for i in 0..30 {
        let t = world.add_customer(&format!("Client {i}"), &format!("client{i}.example.com"));
        if i % 3 == 0 {
            // GDAP only: Partner Center does not list it.
            world.customer_mut(&t).unwrap().relationship = None;
        }
        file.push_str(&format!("Client {i},client{i}.example.com\n"));
    }
    let w = SimEnv::start(world).await;
    let csv = w.env.config_dir().join("clients.csv");
    std::fs::write(&csv, file).unwrap();
    let out = w
        .run(&["map", "import", csv.to_str().unwrap(), "-o", "json"])
        .await;
    out.assert_code(0);
    assert_eq!(out.json().as_array().unwrap().len(), 30);
    assert!(out.stderr.contains("30 added"), "{}", out.stderr);
    assert_eq!(
        w.sim.calls_to("GET", "/v1/customers").len(),
        1,
        "one listing"
    );
    let per_customer: Vec<String> = w
        .sim
        .calls()
        .iter()
        .filter(|c| c.path.starts_with("/v1/customers/"))
        .map(|c| c.path.clone())
        .collect();
    assert!(
        per_customer.is_empty(),
        "no per-customer read: {per_customer:?}"
    );
    assert_eq!(
        w.sim
            .calls_to("GET", "/**/tenantRelationships/delegatedAdminRelationships")
            .len(),
        1,
        "one listing of the GDAP relationships"
    );
}

/// On a terminal, the progress bar of an import cut short by Ctrl-C is cleared, not left on
/// the screen above the report. `script` gives csp a terminal, whose Ctrl-C (byte 3) becomes
/// SIGINT.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn ctrl_c_clears_the_import_progress_bar_from_the_terminal() {
    use crate::support::sim::*;
    use crate::support::terminal::ctrl_c_once_shown;
    let mut world = World::empty();
    let mut file = String::from("customer,domain\n");
    for i in 1..=4 {
        world.add_customer(&format!("Client {i}"), &format!("client{i}.example.com"));
        file.push_str(&format!("Client {i},client{i}.example.com\n"));
    }
    let w = SimEnv::start(world).await;
    w.sim.inject(
        Fault::on(
            "GET",
            "/client3.example.com/v2.0/.well-known/openid-configuration",
        )
        .always()
        .hang(std::time::Duration::from_secs(120)),
    );
    let csv = w.env.config_dir().join("clients.csv");
    std::fs::write(&csv, file).unwrap();
    // The bar is drawn; rows 1, 2 and 4 are checked while row 3 hangs.
    let (status, text) = ctrl_c_once_shown(
        w.env
            .on_terminal(&format!("map import {} --jobs 2", csv.display()), None),
        "] 3/4",
    )
    .await;
    assert_eq!(status.code(), Some(130), "{text:?}");
    // After the last frame of the bar, the line is cleared (ESC [2K) before anything else.
    let last_frame = text.rfind("checking [").unwrap();
    let after = &text[last_frame..];
    let cleared = after.find("\u{1b}[2K").expect("the bar line is cleared");
    assert!(
        !after[cleared..].contains("checking ["),
        "the bar is drawn again after it was cleared: {text:?}"
    );
    assert!(
        after[cleared..].contains("interrupted: 3 of 4 rows mapped"),
        "{text:?}"
    );
}
