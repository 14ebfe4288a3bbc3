//! `csp gdap` on the simulator, from no relationship to a consented, audited customer: request
//! for a new customer, the customer's approval, wait, assign with new groups and the user added,
//! consent, audit — each step repeated to prove it changes nothing the second time — and the
//! ways the lifecycle goes wrong (no permission to write, an approval that never comes).

use serde_json::Value;

use crate::support::sim::*;
use crate::support::{Output, TestEnv};

const GRANT: &str = "graph=Directory.Read.All,User.Read.All";

async fn partner_only() -> SimEnv {
    let mut world = World::empty();
    // The customer approves a few reads after the request (not within it), and assignments
    // take a read to work.
    world.switches.approve_after_reads = 2;
    world.switches.activate_after_reads = 1;
    SimEnv::start(world).await
}

#[tokio::test]
async fn a_brand_new_customer_is_onboarded_end_to_end_and_every_step_repeats_harmlessly() {
    let w = partner_only().await;
    // 1. Request: a relationship for whoever approves the link.
    let out = w
        .run(&[
            "gdap",
            "request",
            "--new",
            "--template",
            "consent",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    let first = out.json();
    assert_eq!(first["created"], true);
    assert_eq!(first["status"], "approval_pending");
    assert_eq!(first["customer"], Value::Null);
    let id = first["id"].as_str().unwrap().to_string();
    assert!(first["approvalLink"].as_str().unwrap().ends_with(&id));
    // Repeated: the same relationship, nothing sent.
    let before = w.sim.calls().len();
    let out = w
        .run(&[
            "gdap",
            "request",
            "--new",
            "--template",
            "consent",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()["created"], false);
    assert_eq!(out.json()["id"], id.as_str());
    assert!(
        w.sim.calls()[before..]
            .iter()
            .all(|c| c.method == "GET" || c.path.contains("oauth2")),
        "a repeat only reads"
    );
    // 2. The customer approves after a moment; wait sees it.
    let out = w.run(&["gdap", "wait", &id, "-o", "json"]).await;
    out.assert_code(0);
    let active = &out.json()[0];
    assert_eq!(active["status"], "active");
    let tenant = active["customer"]["tenantId"].as_str().unwrap().to_string();
    assert_eq!(active["customer"]["name"], "Adventure Works Cycles");
    // 3. Assign: a new group per role, the signed-in user in it.
    w.sim.with_world(|world| {
        world.groups.retain(|g| g.id != world::ADMIN_GROUP);
        world.user_groups.retain(|g| g != world::ADMIN_GROUP);
    });
    let out = w
        .run(&[
            "gdap",
            "assign",
            "--relationship",
            &id,
            "--create-groups",
            "--add-member",
            "me",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    let r = &out.json()[0];
    assert_eq!(r["status"], "assigned", "{r}");
    assert_eq!(
        r["roles"][0]["group"],
        "GDAP Cloud Application Administrator"
    );
    let world = w.sim.world();
    let group = world
        .groups
        .iter()
        .find(|g| g.display_name == "GDAP Cloud Application Administrator")
        .expect("the group was created");
    assert!(world.in_group(&group.id), "the user was added");
    drop(world);
    let out = w
        .run(&[
            "gdap",
            "assign",
            "--relationship",
            &id,
            "--add-member",
            "me",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()[0]["status"], "unchanged");
    // 4. Map, consent, audit.
    w.run(&[
        "map",
        "--customer",
        "Adventure Works",
        "--domain",
        "adventure-works.com",
    ])
    .await
    .assert_code(0);
    let out = w
        .run(&[
            "consent",
            "--customer",
            "Adventure Works",
            "--grant",
            GRANT,
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()[0]["status"], "granted");
    assert_eq!(out.json()[0]["tenantId"], tenant.as_str());
    let out = w
        .run(&[
            "audit",
            "--customer",
            "Adventure Works",
            "--grant",
            GRANT,
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()[0]["ok"], true, "{}", out.stdout);
    // The relationship lists with its assignment and no link any more.
    let out = w
        .run(&["gdap", "list", "--customer", &tenant, "-o", "json"])
        .await;
    out.assert_code(0);
    let listed = &out.json()[0];
    assert_eq!(listed["approvalLink"], Value::Null);
    assert_eq!(listed["accessAssignments"][0]["status"], "active");
    assert_eq!(
        listed["accessAssignments"][0]["group"]["name"],
        "GDAP Cloud Application Administrator"
    );
}

#[tokio::test]
async fn a_customer_with_an_active_relationship_of_those_roles_is_not_asked_again() {
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.example.com");
    let w = SimEnv::start(world).await;
    let out = w
        .run(&[
            "gdap",
            "request",
            "--customer",
            &t,
            "--template",
            "consent",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()["created"], false);
    assert_eq!(out.json()["status"], "active");
    assert!(
        out.stderr.contains("already has an active relationship"),
        "{}",
        out.stderr
    );
    assert_eq!(w.sim.world().relationships.len(), 1, "nothing requested");
}

#[tokio::test]
async fn an_approval_that_never_comes_ends_the_wait_with_exit_1() {
    let w = partner_only().await;
    w.sim
        .with_world(|world| world.switches.approvals_expire = true);
    let out = w
        .run(&[
            "gdap",
            "request",
            "--new",
            "--role",
            "Global Reader",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    let id = out.json()["id"].as_str().unwrap().to_string();
    let out = w.run(&["gdap", "wait", &id]).await;
    out.assert_code(1);
    assert!(out.stderr.contains("is expired"), "{}", out.stderr);
    // Assigning a relationship that is not active is refused, and says what to do.
    let out = w.run(&["gdap", "assign", "--relationship", &id]).await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("only once it is active"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_wait_that_times_out_says_what_still_awaits_approval() {
    let w = partner_only().await;
    w.sim
        .with_world(|world| world.switches.approve_after_reads = 1_000);
    let out = w
        .run(&[
            "gdap",
            "request",
            "--new",
            "--template",
            "consent",
            "-o",
            "json",
        ])
        .await;
    let id = out.json()["id"].as_str().unwrap().to_string();
    let out = w.run(&["gdap", "wait", &id, "--timeout", "1"]).await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("still await approval"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&id), "{}", out.stderr);
}

#[tokio::test]
async fn without_the_write_permission_a_request_says_which_one_is_missing() {
    let mut world = World::empty();
    let app = world.partner.service_principals.get_mut(APP_ID).unwrap();
    for g in &mut app.grants {
        g.scopes
            .retain(|s| s != "DelegatedAdminRelationship.ReadWrite.All");
    }
    let w = SimEnv::start(world).await;
    let out = w
        .run(&["gdap", "request", "--new", "--template", "consent"])
        .await;
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("DelegatedAdminRelationship.ReadWrite.All")
            && out.stderr.contains("csp setup --gdap"),
        "{}",
        out.stderr
    );
    assert!(w.sim.world().relationships.is_empty());
}

#[tokio::test]
async fn an_existing_customer_is_requested_with_its_name_and_global_admin_stays_off_auto_extend() {
    let mut world = World::empty();
    let t = world.add_customer_without_gdap("Contoso Ltd", "contoso.example.com");
    let w = SimEnv::start(world).await;
    let out = w
        .run(&[
            "gdap",
            "request",
            "--customer",
            "contoso.example.com",
            "--role",
            "Global Administrator",
            "--role",
            "Cloud Application Administrator",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    assert!(
        out.stderr
            .contains("Global Administrator is among the roles")
    );
    let r = out.json();
    assert_eq!(r["customer"]["tenantId"], t.as_str());
    assert_eq!(r["autoExtend"], false);
    assert_eq!(r["displayName"], "Contoso Ltd custom");
    let made = &w.sim.world().relationships[0];
    assert_eq!(made.auto_extend_duration, "PT0S");
}

#[tokio::test]
async fn renew_and_terminate_change_what_they_say_and_nothing_else() {
    let mut world = World::empty();
    let ending = world.add_customer("Ending Soon", "ending.example.com");
    world.relationship_mut(&ending).auto_extend_duration = "PT0S".into();
    world.relationship_mut(&ending).end = Some(days_from_now(10));
    let far = world.add_customer("Far Away", "far.example.com");
    world.relationship_mut(&far).auto_extend_duration = "PT0S".into();
    let w = SimEnv::start(world).await;
    let out = w.run(&["gdap", "renew", "--yes", "-o", "json"]).await;
    out.assert_code(0);
    let rows = out.json();
    assert_eq!(
        rows.as_array().unwrap().len(),
        1,
        "only the one ending soon"
    );
    assert_eq!(rows[0]["action"], "auto_extend_enabled");
    let world = w.sim.world();
    assert_eq!(
        world
            .relationships_of(&ending)
            .next()
            .unwrap()
            .auto_extend_duration,
        "P180D"
    );
    assert_eq!(
        world
            .relationships_of(&far)
            .next()
            .unwrap()
            .auto_extend_duration,
        "PT0S"
    );
    let id = world.relationships_of(&far).next().unwrap().id.clone();
    drop(world);
    w.run(&["gdap", "terminate", &id, "--yes"])
        .await
        .assert_code(0);
    assert_eq!(
        w.sim.world().relationships_of(&far).next().unwrap().status,
        "terminated"
    );
    // Terminating again says so and changes nothing.
    let out = w.run(&["gdap", "terminate", &id, "--yes"]).await;
    out.assert_code(0);
    assert!(out.stderr.contains("already terminated"), "{}", out.stderr);
}

/// A weekly `gdap renew --yes` asks for a Global Administrator renewal once: the next run
/// finds the renewal it requested (pending or active) and asks for nothing more.
#[tokio::test]
async fn renewing_global_administrator_twice_requests_one_renewal() {
    let env = TestEnv::new().await.env("CSP_SANDBOX", "1");
    env.run(&["authorize"]).await.assert_code(0);
    let count = |out: &Output| {
        out.json()
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["customer"]["name"] == "Woodgrove Bank")
            .count()
    };
    let before = count(&env.run(&["gdap", "list", "-o", "json"]).await);

    let out = env.run(&["gdap", "renew", "--yes", "-o", "json"]).await;
    out.assert_code(0);
    let woodgrove = |out: &Output| {
        out.json()
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["customer"]["name"] == "Woodgrove Bank")
            .cloned()
            .unwrap_or_else(|| panic!("{}", out.stdout))
    };
    assert_eq!(woodgrove(&out)["action"], "requested", "{}", out.stdout);
    let after_one = count(&env.run(&["gdap", "list", "-o", "json"]).await);
    assert_eq!(after_one, before + 1);

    for _ in 0..2 {
        let out = env.run(&["gdap", "renew", "--yes", "-o", "json"]).await;
        out.assert_code(0);
        assert_eq!(
            woodgrove(&out)["action"],
            "already_requested",
            "{}",
            out.stdout
        );
    }
    let after_three = count(&env.run(&["gdap", "list", "-o", "json"]).await);
    assert_eq!(after_three, after_one, "a second renewal was requested");
}
