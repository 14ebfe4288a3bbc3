//! `csp audit` and `csp doctor` through the real binary against the sandbox simulator: every
//! check's pass and fail path, and drift detection over a tenant set with seeded problems (and
//! no false ones).

use serde_json::{Value, json};

use crate::support::sim::*;
use crate::support::*;

const GRANT: &str = "graph=Directory.Read.All,User.Read.All";
const BOTH: &[&str] = &["Directory.Read.All", "User.Read.All"];
const GROUP: &str = world::ADMIN_GROUP;
const OTHER_GROUP: &str = "99999999-0000-0000-0000-00000000000b";

fn name(n: u32) -> String {
    format!("Customer {n:02}")
}

fn rows_by_customer(out: &Output) -> std::collections::BTreeMap<String, Value> {
    out.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["customer"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

/// An access assignment of `roles` to `group`.
fn assignment(id: &str, group: &str, roles: &[&str], status: &str) -> world::AccessAssignment {
    world::AccessAssignment {
        id: id.into(),
        group: group.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        status: status.into(),
        activation_reads: None,
        version: 0,
    }
}

#[tokio::test]
async fn audit_names_every_seeded_problem_and_no_false_one() {
    let mut world = World::empty();
    let mut ids = Vec::new();
    for n in 1..=10 {
        let id = match n {
            // No GDAP at all; GDAP without a role that can consent; Application Administrator.
            5 => world.add_customer_without_gdap(&name(n), &domain_of(&name(n))),
            6 | 9 => {
                let id = world.add_customer_without_gdap(&name(n), &domain_of(&name(n)));
                let role = if n == 6 {
                    world::EXCHANGE_ADMIN
                } else {
                    world::APP_ADMIN
                };
                world.add_relationship(&id, "active", &[role], days_from_now(3000), true);
                id
            }
            _ => world.add_customer(&name(n), &domain_of(&name(n))),
        };
        match n {
            2 => hold(&mut world, &id, GRAPH_APP, &["Directory.Read.All"]),
            3 => hold(
                &mut world,
                &id,
                GRAPH_APP,
                &["Directory.Read.All", "User.Read.All", "Mail.Read"],
            ),
            4 => {} // no service principal
            _ => hold(&mut world, &id, GRAPH_APP, BOTH),
        }
        ids.push(id);
    }
    let cloud_app_admin = world::CLOUD_APP_ADMIN;
    // The consent role assigned, but only pending; another role active.
    world.relationship_mut(&ids[6]).assignments = vec![
        assignment("a7-1", GROUP, &[world::EXCHANGE_ADMIN], "active"),
        assignment("a7-2", GROUP, &[cloud_app_admin], "pending"),
    ];
    // Ending soon, without auto-extend.
    let r = world.relationship_mut(&ids[7]);
    r.end = Some(days_from_now(10));
    r.auto_extend_duration = "PT0S".into();
    // The role assigned to a group the user is not in.
    world.relationship_mut(&ids[9]).assignments =
        vec![assignment("a10", OTHER_GROUP, &[cloud_app_admin], "active")];
    let w = SimEnv::start(world).await;
    w.map_all();
    let out = w.run(&["audit", "--grant", GRANT, "-o", "json"]).await;
    out.assert_code(5);
    let rows = rows_by_customer(&out);
    let ok: Vec<(u32, bool)> = (1..=10)
        .map(|n| (n, rows[&name(n)]["ok"].as_bool().unwrap()))
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
    let row = |n: u32| rows[&name(n)].clone();
    let problems = |n: u32| row(n)["problems"].to_string();
    let warnings = |n: u32| row(n)["warnings"].to_string();
    assert_eq!(row(1)["problems"], json!([]));
    assert_eq!(row(1)["warnings"], json!([]));
    assert_eq!(row(1)["gdap"]["userInGroup"], true);
    assert_eq!(row(1)["servicePrincipal"], true);
    assert_eq!(row(2)["missingScopes"], json!({"graph": ["User.Read.All"]}));
    assert!(row(2)["repair"].as_str().unwrap().ends_with("--force"));
    assert_eq!(row(3)["extraScopes"], json!({"graph": ["Mail.Read"]}));
    assert!(warnings(3).contains("beyond the manifest"));
    assert_eq!(row(4)["servicePrincipal"], false);
    assert!(problems(4).contains("no service principal"));
    assert_eq!(
        row(4)["repair"],
        format!("csp consent --customer '{}'", name(4))
    );
    assert!(problems(5).contains("no GDAP relationship"));
    assert_eq!(row(5)["gdap"]["status"], "none");
    assert!(problems(6).contains("role that can consent"));
    assert!(problems(7).contains("no active access assignment"));
    assert_eq!(row(7)["gdap"]["roleAssigned"], false);
    assert_eq!(row(8)["gdap"]["expiresSoon"], true);
    assert!(warnings(8).contains("auto-extend is off"));
    assert_eq!(row(9)["gdap"]["consentRoleSource"], "peers_practice");
    assert!(warnings(9).contains("peers"));
    assert!(problems(10).contains("none of the groups"));
    assert_eq!(row(10)["gdap"]["userInGroup"], false);
    assert!(
        out.stderr
            .contains("error: 6 of 10 customers need attention"),
        "{}",
        out.stderr
    );
    assert_eq!(w.partner_center_writes(), 0, "audit is read-only");
    assert!(
        w.sim
            .calls()
            .iter()
            .all(|c| c.method == "GET" || c.path.ends_with("/oauth2/v2.0/token")),
        "audit only reads"
    );

    let out = w.run(&["audit", "--grant", GRANT]).await;
    out.assert_code(5);
    assert!(out.stdout.contains("To repair:"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains(&format!("csp consent --customer '{}' --force", name(2))),
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
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.example.com");
    hold(&mut world, &t, GRAPH_APP, BOTH);
    let w = SimEnv::start(world).await;
    w.map_all();
    w.sim.inject(
        Fault::on("GET", "/v1.0/me/transitiveMemberOf")
            .always()
            .reply(403)
            .json(&json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}})),
    );
    let out = w
        .run(&[
            "audit",
            "--customer",
            "Contoso",
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
        .run(&["audit", "--customer", "Nobody", "--grant", GRANT])
        .await;
    out.assert_code(2);
}

/// Every Graph collection audit reads may come in pages: audit follows them all.
#[tokio::test]
async fn audit_reads_every_page_graph_gives() {
    let mut world = World::empty();
    for n in 1..=3 {
        let id = world.add_customer(&name(n), &domain_of(&name(n)));
        hold(&mut world, &id, GRAPH_APP, BOTH);
        // The user's group is the second of three, and the consent role the last assignment.
        world.relationship_mut(&id).assignments.insert(
            0,
            assignment(
                &format!("x{n}"),
                OTHER_GROUP,
                &[world::EXCHANGE_ADMIN],
                "active",
            ),
        );
    }
    world.user_groups.insert(0, OTHER_GROUP.into());
    world
        .user_groups
        .push("99999999-0000-0000-0000-00000000000c".into());
    world.switches.graph_page_size = Some(1);
    let w = SimEnv::start(world).await;
    w.map_all();
    let out = w.run(&["audit", "--grant", GRANT, "-o", "json"]).await;
    out.assert_code(0);
    for row in out.json().as_array().unwrap() {
        assert_eq!(row["ok"], true, "{row}");
        assert_eq!(row["gdap"]["userInGroup"], true, "{row}");
    }
    assert!(
        w.sim
            .calls()
            .iter()
            .any(|c| c.query.as_deref().is_some_and(|q| q.contains("skiptoken"))),
        "it followed @odata.nextLink"
    );
}

/// A partner tenant whose own state answers doctor's questions.
async fn doctor_world(change: impl FnOnce(&mut World)) -> SimEnv {
    let mut world = World::empty();
    change(&mut world);
    SimEnv::start(world).await
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
    let w = doctor_world(|_| {}).await;
    let out = w.run(&["doctor", "-o", "json"]).await;
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
        assert_eq!(c["status"], "pass", "{c}");
    }
    let out = w.run(&["doctor"]).await;
    out.assert_code(0);
    assert!(out.stdout.contains("✓"), "{}", out.stdout);
}

#[tokio::test]
async fn doctor_checks_admin_agents_and_what_gdap_writes_need() {
    // The signed-in user is not in AdminAgents, and the profile uses GDAP templates while the
    // app holds only the permission to read relationships.
    let w = doctor_world(|world| {
        world.user_groups.retain(|g| g != world::ADMIN_AGENTS);
        let app = world.partner.service_principals.get_mut(APP_ID).unwrap();
        for g in &mut app.grants {
            g.scopes
                .retain(|s| !csp::commands::setup::GDAP_WRITE_SCOPES.contains(&s.as_str()));
        }
    })
    .await;
    let config = format!(
        "{}\n[profiles.default.gdap.templates.mine]\nroles = [\"Global Reader\"]\n",
        w.env.config_text()
    );
    std::fs::write(w.env.config_dir().join("config.toml"), config).unwrap();
    let out = w.run(&["doctor", "-o", "json"]).await;
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
    // With the permissions `setup --gdap` adds, the check passes.
    w.sim.with_world(|world| {
        world.user_groups.push(world::ADMIN_AGENTS.into());
        world
            .partner
            .grant(APP_ID, GRAPH_APP, &csp::commands::setup::GDAP_WRITE_SCOPES);
    });
    let out = w.run(&["doctor", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(check(&out, "gdap_write").0, "pass");
    assert_eq!(check(&out, "admin_agents").0, "pass");
}

#[tokio::test]
async fn doctor_pinpoints_each_broken_piece() {
    let partner_sp = |w: &mut World| {
        w.partner
            .service_principals
            .get_mut(APP_ID)
            .unwrap()
            .clone()
    };
    // Partner consent missing, then no service principal, then unreadable.
    let w = doctor_world(|w| {
        let pc_sp = w.partner.resource_sps[world::PARTNER_CENTER_APP].clone();
        let mut sp = partner_sp(w);
        sp.grants.retain(|g| g.resource_sp != pc_sp);
        w.partner.service_principals.insert(APP_ID.into(), sp);
    })
    .await;
    let out = w.run(&["doctor", "-o", "json"]).await;
    out.assert_code(5);
    assert_eq!(check(&out, "partner_consent").0, "fail");
    let w = doctor_world(|w| {
        w.partner.service_principals.remove(APP_ID);
    })
    .await;
    let out = w.run(&["doctor", "-o", "json"]).await;
    out.assert_code(5);
    assert!(
        check(&out, "partner_consent")
            .1
            .contains("no service principal")
    );
    let w = doctor_world(|_| {}).await;
    w.sim.inject(
        Fault::on("GET", "/v1.0/**")
            .always()
            .reply(403)
            .json(&json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}})),
    );
    let out = w.run(&["doctor", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(check(&out, "partner_consent").0, "warn");

    // Partner Center refuses for lack of MFA.
    let w = doctor_world(|w| w.switches.mfa_required = true).await;
    let out = w.run(&["doctor", "-o", "json"]).await;
    out.assert_code(5);
    assert_eq!(check(&out, "partner_center").0, "fail");
    assert!(check(&out, "partner_center").1.contains("900421"));

    // A sign-in without MFA.
    let w = doctor_world(|w| w.switches.no_mfa_claim = true).await;
    let out = w.run(&["doctor", "-o", "json"]).await;
    out.assert_code(5);
    assert_eq!(check(&out, "mfa").0, "fail");

    // An app that does not allow public client flows.
    let w = doctor_world(|w| w.apps[0].is_fallback_public_client = false).await;
    let out = w.run(&["doctor", "-o", "json"]).await;
    out.assert_code(5);
    assert_eq!(check(&out, "sign_in").0, "fail");
    assert_eq!(check(&out, "public_client").0, "fail");
    assert_eq!(check(&out, "mfa").0, "warn");

    // An expired sign-in.
    let w = doctor_world(|w| w.switches.sign_in_expired = true).await;
    let out = w.run(&["doctor", "-o", "json"]).await;
    out.assert_code(5);
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
