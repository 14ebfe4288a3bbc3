//! `csp audit` and `csp doctor` through the real binary: every check's pass and fail path, and
//! drift detection over a tenant set with seeded problems (and no false ones).

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::consent_fake::*;
use crate::support::*;

const GRANT: &str = "graph=Directory.Read.All,User.Read.All";
const APP_ADMIN: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
const GROUP: &str = "99999999-0000-0000-0000-00000000000a";
const OTHER_GROUP: &str = "99999999-0000-0000-0000-00000000000b";

fn t(n: u32) -> String {
    format!("a0000000-0000-0000-0000-{n:012}")
}

fn far() -> String {
    "2099-01-01T00:00:00Z".into()
}

/// A relationship and its access assignments.
struct Rel {
    tenant: String,
    status: &'static str,
    roles: Vec<&'static str>,
    end: String,
    auto_extend: bool,
    assignments: Vec<(&'static str, Vec<&'static str>, &'static str)>,
}

async fn mount_gdap(graph: &MockServer, rels: &[Rel], my_groups: Option<&[&str]>) {
    let value: Vec<Value> = rels
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut v = gdap_relationship(
                &r.tenant,
                &format!("Company {}", r.tenant),
                r.status,
                &r.roles,
                &r.end,
            );
            v["id"] = json!(format!("rel-{i}"));
            v["autoExtendDuration"] = json!(if r.auto_extend { "P180D" } else { "PT0S" });
            v
        })
        .collect();
    Mock::given(method("GET"))
        .and(path(
            "/v1.0/tenantRelationships/delegatedAdminRelationships",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": value})))
        .mount(graph)
        .await;
    for (i, r) in rels.iter().enumerate() {
        let assignments: Vec<Value> = r
            .assignments
            .iter()
            .enumerate()
            .map(|(j, (group, roles, status))| {
                json!({
                    "id": format!("asg-{i}-{j}"),
                    "status": status,
                    "accessContainer": {"accessContainerId": group, "accessContainerType": "securityGroup"},
                    "accessDetails": {"unifiedRoles": roles.iter().map(|x| json!({"roleDefinitionId": x})).collect::<Vec<_>>()}
                })
            })
            .collect();
        Mock::given(method("GET"))
            .and(path(format!(
                "/v1.0/tenantRelationships/delegatedAdminRelationships/rel-{i}/accessAssignments"
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": assignments})))
            .mount(graph)
            .await;
    }
    match my_groups {
        Some(groups) => {
            Mock::given(method("GET"))
                .and(path("/v1.0/me/transitiveMemberOf"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": groups.iter().map(|g| json!({"id": g})).collect::<Vec<_>>()})))
                .mount(graph)
                .await
        }
        None => {
            Mock::given(method("GET"))
                .and(path("/v1.0/me/transitiveMemberOf"))
                .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}})))
                .mount(graph)
                .await
        }
    }
}

fn good_rel(tenant: &str) -> Rel {
    Rel {
        tenant: tenant.into(),
        status: "active",
        roles: vec![CLOUD_APP_ADMIN],
        end: far(),
        auto_extend: true,
        assignments: vec![(GROUP, vec![CLOUD_APP_ADMIN], "active")],
    }
}

fn rows_by_customer(out: &Output) -> std::collections::BTreeMap<String, Value> {
    out.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["tenantId"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

#[tokio::test]
async fn audit_names_every_seeded_problem_and_no_false_one() {
    let both: &[&str] = &["Directory.Read.All", "User.Read.All"];
    let soon = (chrono::Utc::now() + chrono::Duration::days(10)).to_rfc3339();
    let world: Vec<(String, TenantState)> = vec![
        (t(1), held(&[(GRAPH_APP, both)])),                    // in order
        (t(2), held(&[(GRAPH_APP, &["Directory.Read.All"])])), // scopes missing
        (
            t(3),
            held(&[(
                GRAPH_APP,
                &["Directory.Read.All", "User.Read.All", "Mail.Read"],
            )]),
        ), // extra
        (t(4), TenantState::default()),                        // no service principal
        (t(5), held(&[(GRAPH_APP, both)])),                    // no GDAP
        (t(6), held(&[(GRAPH_APP, both)])),                    // GDAP without consent role
        (t(7), held(&[(GRAPH_APP, both)])),                    // role not assigned
        (t(8), held(&[(GRAPH_APP, both)])),                    // expiring soon
        (t(9), held(&[(GRAPH_APP, both)])),                    // App Admin (peers)
        (t(10), held(&[(GRAPH_APP, both)])),                   // user not in group
    ];
    let refs: Vec<(&str, TenantState)> =
        world.iter().map(|(a, b)| (a.as_str(), b.clone())).collect();
    let w = ConsentWorld::new(&refs).await;
    w.map_all();
    let rels = vec![
        good_rel(&t(1)),
        good_rel(&t(2)),
        good_rel(&t(3)),
        good_rel(&t(4)),
        Rel {
            roles: vec![EXCHANGE_ADMIN],
            assignments: vec![(GROUP, vec![EXCHANGE_ADMIN], "active")],
            ..good_rel(&t(6))
        },
        Rel {
            assignments: vec![
                (GROUP, vec![EXCHANGE_ADMIN], "active"),
                (GROUP, vec![CLOUD_APP_ADMIN], "pending"),
            ],
            ..good_rel(&t(7))
        },
        Rel {
            end: soon,
            auto_extend: false,
            ..good_rel(&t(8))
        },
        Rel {
            roles: vec![APP_ADMIN],
            assignments: vec![(GROUP, vec![APP_ADMIN], "active")],
            ..good_rel(&t(9))
        },
        Rel {
            assignments: vec![(OTHER_GROUP, vec![CLOUD_APP_ADMIN], "active")],
            ..good_rel(&t(10))
        },
    ];
    mount_gdap(&w.graph, &rels, Some(&[GROUP])).await;
    let out = w.env.run(&["audit", "--grant", GRANT, "-o", "json"]).await;
    out.assert_code(5);
    let rows = rows_by_customer(&out);
    let ok: Vec<(u32, bool)> = (1..=10)
        .map(|n| (n, rows[&t(n)]["ok"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        ok,
        vec![
            (1, true),
            (2, false),
            (3, true),
            (4, false),
            (5, false),
            (6, false),
            (7, false),
            (8, true),
            (9, true),
            (10, false)
        ]
    );
    let problems = |n: u32| rows[&t(n)]["problems"].to_string();
    let warnings = |n: u32| rows[&t(n)]["warnings"].to_string();
    assert_eq!(rows[&t(1)]["problems"], json!([]));
    assert_eq!(rows[&t(1)]["warnings"], json!([]));
    assert_eq!(rows[&t(1)]["gdap"]["userInGroup"], true);
    assert_eq!(rows[&t(1)]["servicePrincipal"], true);
    assert_eq!(
        rows[&t(2)]["missingScopes"],
        json!({"graph": ["User.Read.All"]})
    );
    assert!(rows[&t(2)]["repair"].as_str().unwrap().ends_with("--force"));
    assert_eq!(rows[&t(3)]["extraScopes"], json!({"graph": ["Mail.Read"]}));
    assert!(warnings(3).contains("beyond the manifest"));
    assert_eq!(rows[&t(4)]["servicePrincipal"], false);
    assert!(problems(4).contains("no service principal"));
    assert_eq!(
        rows[&t(4)]["repair"],
        format!("csp consent --customer 'Client {}'", t(4))
    );
    assert!(problems(5).contains("no GDAP relationship"));
    assert_eq!(rows[&t(5)]["gdap"]["status"], "none");
    assert!(problems(6).contains("role that can consent"));
    assert!(problems(7).contains("no active access assignment"));
    assert_eq!(rows[&t(7)]["gdap"]["roleAssigned"], false);
    assert_eq!(rows[&t(8)]["gdap"]["expiresSoon"], true);
    assert!(warnings(8).contains("auto-extend is off"));
    assert_eq!(rows[&t(9)]["gdap"]["consentRoleSource"], "peers_practice");
    assert!(warnings(9).contains("peers"));
    assert!(problems(10).contains("none of the groups"));
    assert_eq!(rows[&t(10)]["gdap"]["userInGroup"], false);
    assert!(
        out.stderr
            .contains("error: 6 of 10 customers need attention"),
        "{}",
        out.stderr
    );
    assert!(w.writes().is_empty(), "audit is read-only");

    let out = w.env.run(&["audit", "--grant", GRANT]).await;
    out.assert_code(5);
    assert!(out.stdout.contains("To repair:"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains(&format!("csp consent --customer 'Client {}' --force", t(2))),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("✗") && out.stdout.contains("✓"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn audit_of_customers_in_order_exits_0_even_without_group_insight() {
    let w = ConsentWorld::new(&[(
        &t(1),
        held(&[(GRAPH_APP, &["Directory.Read.All", "User.Read.All"])]),
    )])
    .await;
    w.map_all();
    mount_gdap(&w.graph, &[good_rel(&t(1))], None).await;
    let out = w
        .env
        .run(&[
            "audit",
            "--customer",
            &format!("Client {}", t(1)),
            "--grant",
            GRANT,
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()[0]["ok"], true);
    assert_eq!(
        out.json()[0]["gdap"]["userInGroup"],
        Value::Null,
        "Graph would not say"
    );
    let out = w
        .env
        .run(&["audit", "--customer", "Nobody", "--grant", GRANT])
        .await;
    out.assert_code(2);
}

/// A signed-in world where the partner tenant's own state answers doctor's questions.
const ADMIN_AGENTS: &str = "aa000000-0000-4000-8000-0000000000aa";

async fn doctor_world() -> (TestEnv, MockServer, MockServer) {
    let (env, pc, graph) = TestEnv::signed_in_with_apis().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .and(wiremock::matchers::query_param("size", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pc_page(vec![], None)))
        .mount(&pc)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"value": [{"id": ADMIN_AGENTS, "displayName": "AdminAgents"}]}),
            ),
        )
        .mount(&graph)
        .await;
    (env, pc, graph)
}

/// The signed-in user's groups: AdminAgents, or not.
async fn member_of_admin_agents(graph: &MockServer, member: bool) {
    let groups = if member {
        json!([{"id": ADMIN_AGENTS}])
    } else {
        json!([])
    };
    Mock::given(method("GET"))
        .and(path("/v1.0/me/transitiveMemberOf"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": groups})))
        .mount(graph)
        .await;
}

async fn partner_consent(graph: &MockServer, sp: bool, scope: &str) {
    let pc_sp = "5a3d9a0c-3fb0-42cc-9193-47c7ecd2edbd";
    Mock::given(method("GET"))
        .and(path_regex(r"^/v1\.0/servicePrincipals\(appId='[^']+'\)$"))
        .respond_with(if sp {
            ResponseTemplate::new(200).set_body_json(
                json!({"id": "51111111-2222-3333-4444-555555555555", "appId": CLIENT_ID}),
            )
        } else {
            ResponseTemplate::new(404).set_body_json(
                json!({"error": {"code": "Request_ResourceNotFound", "message": "not found"}}),
            )
        })
        .mount(graph)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"/oauth2PermissionGrants$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"clientId": "x", "consentType": "AllPrincipals", "resourceId": pc_sp, "scope": scope}
        ]})))
        .mount(graph)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/servicePrincipals/{pc_sp}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"id": pc_sp, "appId": "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"}),
            ),
        )
        .mount(graph)
        .await;
}

fn check(out: &Output, name: &str) -> (String, String) {
    let c = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap()
        .clone();
    (
        c["status"].as_str().unwrap().to_string(),
        c["detail"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn doctor_passes_a_healthy_set_up() {
    let (env, _pc, graph) = doctor_world().await;
    partner_consent(&graph, true, "user_impersonation").await;
    member_of_admin_agents(&graph, true).await;
    let out = env.run(&["doctor", "-o", "json"]).await;
    out.assert_code(0);
    let names: Vec<Value> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].clone())
        .collect();
    assert_eq!(
        names,
        vec![
            json!("config"),
            json!("token_store"),
            json!("sign_in"),
            json!("mfa"),
            json!("partner_center"),
            json!("public_client"),
            json!("partner_consent"),
            json!("admin_agents"),
            json!("gdap_write")
        ]
    );
    for c in out.json().as_array().unwrap() {
        // A profile without GDAP templates only hears that `csp gdap`'s writes need more.
        let expected = if c["check"] == "gdap_write" {
            "warn"
        } else {
            "pass"
        };
        assert_eq!(c["status"], expected, "{c}");
    }
    let out = env.run(&["doctor"]).await;
    assert!(out.stdout.contains("✓"), "{}", out.stdout);
}

#[tokio::test]
async fn doctor_checks_admin_agents_and_what_gdap_writes_need() {
    let (env, _pc, graph) = doctor_world().await;
    partner_consent(&graph, true, "user_impersonation").await;
    member_of_admin_agents(&graph, false).await;
    // A profile that uses GDAP templates needs the write permissions.
    let config = format!(
        "{}\n[profiles.default.gdap.templates.mine]\nroles = [\"Global Reader\"]\n",
        env.config_text()
    );
    std::fs::write(env.config_dir().join("config.toml"), config).unwrap();
    let out = env.run(&["doctor", "-o", "json"]).await;
    out.assert_code(5);
    let (status, detail) = check(&out, "admin_agents");
    assert_eq!(status, "fail", "{detail}");
    let (status, detail) = check(&out, "gdap_write");
    assert_eq!(status, "fail");
    assert!(
        detail.contains("DelegatedAdminRelationship.ReadWrite.All"),
        "{detail}"
    );
    assert!(out.stdout.contains("setup --gdap"), "{}", out.stdout);
}

#[tokio::test]
async fn doctor_pinpoints_each_broken_piece() {
    // Partner consent missing, then no service principal, then unreadable.
    let (env, _pc, graph) = doctor_world().await;
    partner_consent(&graph, true, "Directory.Read.All").await;
    let out = env.run(&["doctor", "-o", "json"]).await;
    out.assert_code(5);
    assert_eq!(check(&out, "partner_consent").0, "fail");
    let (env, _pc, graph) = doctor_world().await;
    partner_consent(&graph, false, "").await;
    let out = env.run(&["doctor", "-o", "json"]).await;
    assert!(
        check(&out, "partner_consent")
            .1
            .contains("no service principal")
    );
    let (env, _pc, graph) = doctor_world().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}})))
        .mount(&graph)
        .await;
    let out = env.run(&["doctor", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(check(&out, "partner_consent").0, "warn");

    // Partner Center refuses.
    let (env, pc, graph) = TestEnv::signed_in_with_apis().await;
    partner_consent(&graph, true, "user_impersonation").await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"code": "900421", "description": "MFA required"})),
        )
        .mount(&pc)
        .await;
    let out = env.run(&["doctor", "-o", "json"]).await;
    out.assert_code(5);
    assert_eq!(check(&out, "partner_center").0, "fail");

    // A sign-in without MFA.
    let (mut env, _pc, graph) = doctor_world().await;
    partner_consent(&graph, true, "user_impersonation").await;
    env.login.reset().await;
    refresh(TENANT_ID, REFRESH_TOKEN, PC_SCOPE)
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body(&access_token("no-mfa", false), None)),
        )
        .mount(&env.login)
        .await;
    env.extra_env.clear();
    let out = env.run(&["doctor", "-o", "json"]).await;
    out.assert_code(5);
    assert_eq!(check(&out, "mfa").0, "fail");

    // An app that does not allow public client flows.
    let (env, _pc, _graph) = doctor_world().await;
    env.login.reset().await;
    refresh(TENANT_ID, REFRESH_TOKEN, PC_SCOPE)
        .respond_with(ResponseTemplate::new(401).set_body_json(entra_error("invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")))
        .mount(&env.login)
        .await;
    let out = env.run(&["doctor", "-o", "json"]).await;
    out.assert_code(5);
    assert_eq!(check(&out, "sign_in").0, "fail");
    assert_eq!(check(&out, "public_client").0, "fail");
    assert_eq!(check(&out, "mfa").0, "warn");

    // An expired sign-in.
    let (env, _pc, _graph) = doctor_world().await;
    env.login.reset().await;
    refresh(TENANT_ID, REFRESH_TOKEN, PC_SCOPE)
        .respond_with(ResponseTemplate::new(400).set_body_json(entra_error(
            "invalid_grant",
            700082,
            "expired",
        )))
        .mount(&env.login)
        .await;
    let out = env.run(&["doctor", "-o", "json"]).await;
    assert!(
        check(&out, "sign_in").1.contains("expired"),
        "{:?}",
        check(&out, "sign_in")
    );
}

#[tokio::test]
async fn doctor_reports_local_problems_instead_of_stopping() {
    // Not signed in at all.
    let env = TestEnv::new().await.env("CSP_TOKEN_STORE", "file");
    let out = env.run(&["doctor", "-o", "json"]).await;
    out.assert_code(5);
    assert_eq!(check(&out, "sign_in").0, "fail");
    assert_eq!(check(&out, "token_store").0, "pass");

    // A config.toml that does not parse is a failed check, not a stop.
    let env = TestEnv::new().await.env("CSP_TOKEN_STORE", "file");
    std::fs::write(env.config_dir().join("config.toml"), "[profiles.default\n").unwrap();
    let out = env.run(&["doctor", "-o", "json"]).await;
    out.assert_code(5);
    assert_eq!(check(&out, "config").0, "fail");
    let env2 = TestEnv::new().await.env("CSP_TOKEN_STORE", "file");
    std::fs::write(env2.config_dir().join("mappings.json"), "{").unwrap();
    let out = env2.run(&["doctor", "-o", "json"]).await;
    assert_eq!(check(&out, "config").0, "fail");

    // A credentials file others can read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let env = TestEnv::new().await;
        env.seed_file_sign_in(None);
        std::fs::set_permissions(
            env.credentials_path(),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let out = env.run(&["doctor", "-o", "json"]).await;
        assert_eq!(check(&out, "token_store").0, "fail");
    }

    // No keyring service.
    #[cfg(target_os = "linux")]
    {
        let env = TestEnv::new()
            .await
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
        let out = env.run(&["doctor", "-o", "json"]).await;
        assert_eq!(check(&out, "token_store").0, "fail");
        assert!(check(&out, "token_store").1.contains("keyring"));
    }
}
