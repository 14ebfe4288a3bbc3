//! `csp gdap` against a fake Graph for the exact requests Microsoft documents: what a
//! relationship request sends, the rules checked before anything is sent, a repeated or lost
//! request that never makes a second relationship, a stale ETag on renew, reserved groups, a
//! 409 for an assignment that exists, and the confirmation terminate needs. The whole
//! lifecycle runs on the simulator in tests/cli/sandbox.rs.

use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const REL: &str = "5d2b0a8e-0000-4000-8000-000000000001-cccccccc-0000-0000-0000-000000000001";
const GROUP: &str = "9a000000-0000-4000-8000-000000000001";
const ME: &str = "9b000000-0000-4000-8000-000000000001";
const LIST: &str = "/v1.0/tenantRelationships/delegatedAdminRelationships";

fn relationship(name: &str, status: &str, roles: &[&str], auto_extend: &str) -> Value {
    json!({
        "@odata.etag": "W/\"etag-1\"",
        "id": REL,
        "displayName": name,
        "duration": "P730D",
        "customer": {"tenantId": CUSTOMER_TENANT, "displayName": "Contoso Ltd"},
        "accessDetails": {"unifiedRoles": roles.iter().map(|r| json!({"roleDefinitionId": r})).collect::<Vec<_>>()},
        "status": status,
        "autoExtendDuration": auto_extend,
        "endDateTime": (chrono::Utc::now() + chrono::Duration::days(10)).to_rfc3339(),
    })
}

async fn relationships(graph: &MockServer, value: Vec<Value>) {
    Mock::given(method("GET"))
        .and(path(LIST))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": value})))
        .mount(graph)
        .await;
}

async fn requests(graph: &MockServer, path_suffix: &str) -> Vec<Value> {
    graph
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() != "GET" && r.url.path().ends_with(path_suffix))
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

async fn writes(graph: &MockServer) -> Vec<String> {
    graph
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() != "GET")
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

/// Created, then locked: the relationship as Graph answers each step.
async fn accepts_a_request(graph: &MockServer, expected: Value) {
    Mock::given(method("POST"))
        .and(path(LIST))
        .and(body_partial_json(expected))
        .respond_with(ResponseTemplate::new(201).set_body_json(relationship(
            "Contoso Ltd consent",
            "created",
            &[CLOUD_APP_ADMIN],
            "P180D",
        )))
        .expect(1)
        .mount(graph)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{LIST}/{REL}/requests")))
        .and(body_partial_json(json!({"action": "lockForApproval"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"id": "req-1", "action": "lockForApproval", "status": "created"}),
        ))
        .expect(1)
        .mount(graph)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{LIST}/{REL}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(relationship(
            "Contoso Ltd consent",
            "approvalPending",
            &[CLOUD_APP_ADMIN],
            "P180D",
        )))
        .mount(graph)
        .await;
}

#[tokio::test]
async fn a_request_sends_the_template_and_prints_the_approval_link() {
    let (env, _pc, graph) = TestEnv::signed_in_with_apis().await;
    relationships(&graph, vec![]).await;
    accepts_a_request(
        &graph,
        json!({
            "displayName": "Contoso Ltd consent",
            "duration": "P730D",
            "customer": {"tenantId": CUSTOMER_TENANT, "displayName": "Contoso Ltd"},
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": CLOUD_APP_ADMIN}]},
            "autoExtendDuration": "P180D",
        }),
    )
    .await;
    // The customer is named by tenant id; its name comes from a mapping.
    std::fs::write(
        env.config_dir().join("mappings.json"),
        json!({"version": 1, "mappings": [{"customer": "Contoso", "tenantId": CUSTOMER_TENANT, "domain": "contoso.com", "name": "Contoso Ltd", "mappedAt": "2026-01-01T00:00:00Z"}]}).to_string(),
    )
    .unwrap();
    let out = env
        .run(&[
            "gdap",
            "request",
            "--customer",
            "Contoso",
            "--template",
            "consent",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    let r = out.json();
    assert_eq!(r["created"], true);
    assert_eq!(r["status"], "approval_pending");
    assert_eq!(r["customer"]["tenantId"], CUSTOMER_TENANT);
    assert_eq!(r["roles"][0]["name"], "Cloud Application Administrator");
    assert_eq!(
        r["approvalLink"],
        format!(
            "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/{REL}"
        )
    );
    assert!(out.stderr.contains("Send this link"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("Next: csp gdap wait {REL}")),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn microsofts_rules_are_checked_before_anything_is_sent() {
    let (env, _pc, graph) = TestEnv::signed_in_with_apis().await;
    relationships(
        &graph,
        vec![relationship(
            "Taken name",
            "active",
            &[CLOUD_APP_ADMIN],
            "P180D",
        )],
    )
    .await;
    let long = "x".repeat(51);
    for (args, expect) in [
        (
            vec!["--new", "--template", "consent", "--name", long.as_str()],
            "51 characters",
        ),
        (
            vec!["--new", "--template", "consent", "--duration", "P3Y"],
            "P2Y",
        ),
        (
            vec!["--new", "--template", "consent", "--duration", "730"],
            "not a duration",
        ),
        (vec!["--new", "--role", "Cloud App Admin"], "unknown role"),
        (vec!["--new", "--template", "nope"], "no GDAP template"),
        (
            vec!["--new", "--template", "consent", "--name", "taken NAME"],
            "already exists",
        ),
    ] {
        let mut all = vec!["gdap", "request"];
        all.extend(args.iter().copied());
        let out = env.run(&all).await;
        out.assert_code(2);
        assert!(out.stderr.contains(expect), "{args:?}: {}", out.stderr);
    }
    assert!(writes(&graph).await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn global_administrator_is_requested_without_auto_extend_and_says_why() {
    let (env, _pc, graph) = TestEnv::signed_in_with_apis().await;
    relationships(&graph, vec![]).await;
    accepts_a_request(
        &graph,
        json!({"autoExtendDuration": "PT0S", "accessDetails": {"unifiedRoles": [{"roleDefinitionId": GLOBAL_ADMIN}]}}),
    )
    .await;
    let out = env
        .run(&[
            "gdap",
            "request",
            "--new",
            "--role",
            "Global Administrator",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(0);
    assert!(
        out.stderr
            .contains("warning: Global Administrator is among the roles"),
        "{}",
        out.stderr
    );
    let sent = requests(&graph, LIST).await;
    assert!(
        sent[0].get("customer").is_none(),
        "a new customer: no customer sent"
    );
}

#[tokio::test]
async fn a_repeated_request_finds_the_pending_relationship_and_sends_nothing() {
    let (env, _pc, graph) = TestEnv::signed_in_with_apis().await;
    let mut pending = relationship(
        "csp consent new customer",
        "approvalPending",
        &[CLOUD_APP_ADMIN],
        "P180D",
    );
    pending["customer"] = Value::Null;
    relationships(&graph, vec![pending]).await;
    let out = env
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
    assert_eq!(out.json()["id"], REL);
    assert!(out.json()["approvalLink"].as_str().unwrap().ends_with(REL));
    assert!(writes(&graph).await.is_empty());
}

#[tokio::test]
async fn a_lost_answer_is_read_back_and_never_makes_a_second_relationship() {
    let (env, _pc, graph) = TestEnv::signed_in_with_apis().await;
    // The first listing (for the name) is empty; the read-back after the lost answer finds it.
    Mock::given(method("GET"))
        .and(path(LIST))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&graph)
        .await;
    relationships(
        &graph,
        vec![relationship(
            "csp consent new customer",
            "created",
            &[CLOUD_APP_ADMIN],
            "P180D",
        )],
    )
    .await;
    Mock::given(method("POST"))
        .and(path(LIST))
        .respond_with(ResponseTemplate::new(504))
        .expect(1)
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{LIST}/{REL}/requests")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "req-1"})))
        .expect(1)
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{LIST}/{REL}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(relationship(
            "csp consent new customer",
            "approvalPending",
            &[CLOUD_APP_ADMIN],
            "P180D",
        )))
        .mount(&graph)
        .await;
    let out = env
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
    assert_eq!(out.json()["status"], "approval_pending");
    let posts: Vec<String> = writes(&graph).await;
    assert_eq!(
        posts
            .iter()
            .filter(|w| w.as_str() == format!("POST {LIST}"))
            .count(),
        1,
        "one create, read back, never re-sent: {posts:?}"
    );
}

#[tokio::test]
async fn renew_turns_auto_extend_on_and_reads_again_after_a_stale_etag() {
    let (env, _pc, graph) = TestEnv::signed_in_with_apis().await;
    relationships(
        &graph,
        vec![relationship(
            "Contoso consent",
            "active",
            &[CLOUD_APP_ADMIN],
            "PT0S",
        )],
    )
    .await;
    // The listed ETag is stale: 412; the relationship is read again and patched with the new one.
    Mock::given(method("PATCH"))
        .and(path(format!("{LIST}/{REL}")))
        .and(header("if-match", "W/\"etag-1\""))
        .respond_with(ResponseTemplate::new(412).set_body_json(
            json!({"error": {"code": "PreconditionFailed", "message": "The ETag does not match."}}),
        ))
        .expect(1)
        .mount(&graph)
        .await;
    let mut fresh = relationship("Contoso consent", "active", &[CLOUD_APP_ADMIN], "PT0S");
    fresh["@odata.etag"] = json!("W/\"etag-2\"");
    Mock::given(method("GET"))
        .and(path(format!("{LIST}/{REL}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fresh))
        .mount(&graph)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{LIST}/{REL}")))
        .and(header("if-match", "W/\"etag-2\""))
        .and(body_partial_json(json!({"autoExtendDuration": "P180D"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&graph)
        .await;
    // Without a terminal, renewing needs --yes.
    let out = env.run(&["gdap", "renew"]).await;
    out.assert_code(2);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    let out = env.run(&["gdap", "renew", "--yes", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(out.json()[0]["action"], "auto_extend_enabled");
}

#[tokio::test]
async fn renewing_global_administrator_requests_a_new_relationship_with_its_link() {
    let (env, _pc, graph) = TestEnv::signed_in_with_apis().await;
    relationships(
        &graph,
        vec![relationship(
            "Contoso GA",
            "active",
            &[GLOBAL_ADMIN],
            "PT0S",
        )],
    )
    .await;
    accepts_a_request(
        &graph,
        json!({"displayName": "Contoso Ltd renewal", "autoExtendDuration": "PT0S",
               "customer": {"tenantId": CUSTOMER_TENANT},
               "accessDetails": {"unifiedRoles": [{"roleDefinitionId": GLOBAL_ADMIN}]}}),
    )
    .await;
    let out = env.run(&["gdap", "renew", "--yes", "-o", "csv"]).await;
    out.assert_code(0);
    // The CSV is the JSON's keys and values: one row per relationship, for a mail merge.
    assert!(
        out.stdout.starts_with(
            "relationshipId,customer.tenantId,customer.name,action,approvalLink,error\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(",Contoso Ltd,requested,https://admin.microsoft.com/"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn terminate_needs_a_confirmation_and_sends_the_terminate_request() {
    let (env, _pc, graph) = TestEnv::signed_in_with_apis().await;
    Mock::given(method("GET"))
        .and(path(format!("{LIST}/{REL}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(relationship(
            "Contoso consent",
            "active",
            &[CLOUD_APP_ADMIN],
            "P180D",
        )))
        .mount(&graph)
        .await;
    let out = env.run(&["gdap", "terminate", REL]).await;
    out.assert_code(2);
    assert!(out.stderr.contains("pass --yes"), "{}", out.stderr);
    assert!(writes(&graph).await.is_empty());
    Mock::given(method("POST"))
        .and(path(format!("{LIST}/{REL}/requests")))
        .and(body_partial_json(json!({"action": "terminate"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "req-2"})))
        .expect(1)
        .mount(&graph)
        .await;
    env.run(&["gdap", "terminate", REL, "--yes"])
        .await
        .assert_code(0);
}

async fn active_relationship_with_group(graph: &MockServer, group_name: &str) {
    let active = relationship("Contoso consent", "active", &[CLOUD_APP_ADMIN], "P180D");
    relationships(graph, vec![active.clone()]).await;
    Mock::given(method("GET"))
        .and(path(format!("{LIST}/{REL}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(active))
        .mount(graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": GROUP, "displayName": group_name, "securityEnabled": true}
        ]})))
        .mount(graph)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/groups/{GROUP}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": GROUP, "displayName": group_name, "securityEnabled": true}),
        ))
        .mount(graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me/transitiveMemberOf"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": GROUP}]})))
        .mount(graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": ME, "userPrincipalName": USER})),
        )
        .mount(graph)
        .await;
}

/// The access assignment that gives the group Cloud Application Administrator, active.
fn active_assignment() -> Value {
    json!({"@odata.etag": "W/\"a\"", "id": "asg-1", "status": "active",
        "accessContainer": {"accessContainerId": GROUP, "accessContainerType": "securityGroup"},
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": CLOUD_APP_ADMIN}]}})
}

async fn assign_the_relationship(env: &TestEnv) -> Output {
    env.run(&[
        "gdap",
        "assign",
        "--relationship",
        REL,
        "--wait",
        "0",
        "-o",
        "json",
    ])
    .await
}

#[tokio::test]
async fn an_existing_assignment_answered_409_is_read_back_not_failed() {
    let (env, _pc, graph) = TestEnv::signed_in_with_apis().await;
    active_relationship_with_group(&graph, "GDAP Cloud Application Administrator").await;
    let assignment = active_assignment();
    // The first read shows none (a stale view); the POST says it exists; the read-back finds it.
    Mock::given(method("GET"))
        .and(path(format!("{LIST}/{REL}/accessAssignments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{LIST}/{REL}/accessAssignments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [assignment]})))
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{LIST}/{REL}/accessAssignments")))
        .and(body_partial_json(json!({"accessContainer": {"accessContainerId": GROUP, "accessContainerType": "securityGroup"}})))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({"error": {"code": "Conflict", "message": "The resource already exists."}})))
        .expect(1)
        .mount(&graph)
        .await;
    let out = assign_the_relationship(&env).await;
    out.assert_code(0);
    let r = &out.json()[0];
    assert_eq!(r["status"], "unchanged", "{r}");
    assert_eq!(
        r["roles"][0]["group"],
        "GDAP Cloud Application Administrator"
    );
}

/// Graph may answer a create with an assignment that is already active: it is still this
/// run's doing, so `assigned`, not `unchanged`.
#[tokio::test]
async fn an_assignment_created_active_at_once_is_assigned_not_unchanged() {
    let (env, _pc, graph) = TestEnv::signed_in_with_apis().await;
    active_relationship_with_group(&graph, "GDAP Cloud Application Administrator").await;
    let assignment = active_assignment();
    Mock::given(method("GET"))
        .and(path(format!("{LIST}/{REL}/accessAssignments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{LIST}/{REL}/accessAssignments")))
        .respond_with(ResponseTemplate::new(201).set_body_json(assignment))
        .expect(1)
        .mount(&graph)
        .await;
    let out = assign_the_relationship(&env).await;
    out.assert_code(0);
    let r = &out.json()[0];
    assert_eq!(r["status"], "assigned", "{r}");
    assert_eq!(r["roles"][0]["status"], "assigned", "{r}");
}

/// A create whose answer is lost (5xx) is read back: the assignment found for the group is
/// reported `assigned` (this run may well have made it), never `unchanged` or failed, and the
/// POST is not sent again.
#[tokio::test]
async fn an_assignment_whose_answer_was_lost_is_read_back_as_assigned() {
    let (env, _pc, graph) = TestEnv::signed_in_with_apis().await;
    active_relationship_with_group(&graph, "GDAP Cloud Application Administrator").await;
    Mock::given(method("GET"))
        .and(path(format!("{LIST}/{REL}/accessAssignments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{LIST}/{REL}/accessAssignments")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"value": [active_assignment()]})),
        )
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{LIST}/{REL}/accessAssignments")))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&graph)
        .await;
    let out = assign_the_relationship(&env).await;
    out.assert_code(0);
    let r = &out.json()[0];
    assert_eq!(r["status"], "assigned", "{r}");
}

#[tokio::test]
async fn reserved_groups_are_refused_and_nothing_is_assigned() {
    let (env, _pc, graph) = TestEnv::signed_in_with_apis().await;
    active_relationship_with_group(&graph, "AdminAgents").await;
    Mock::given(method("GET"))
        .and(path(format!("{LIST}/{REL}/accessAssignments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&graph)
        .await;
    std::fs::write(
        env.config_dir().join("config.toml"),
        format!("{}\n[profiles.default.gdap.templates.bad]\nroles = [\"Cloud Application Administrator\"]\n[profiles.default.gdap.templates.bad.groups]\n\"Cloud Application Administrator\" = \"{GROUP}\"\n", env.config_text()),
    )
    .unwrap();
    let out = env
        .run(&[
            "gdap",
            "assign",
            "--relationship",
            REL,
            "--template",
            "bad",
            "-o",
            "json",
        ])
        .await;
    out.assert_code(5);
    assert_eq!(out.json()[0]["error"]["code"], "reserved_group");
    assert!(writes(&graph).await.is_empty());
}

#[tokio::test]
async fn roles_and_templates_are_listed() {
    let env = TestEnv::new().await;
    let out = env.run(&["gdap", "roles", "-o", "json"]).await;
    out.assert_code(0);
    let roles = out.json();
    let caa = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Cloud Application Administrator")
        .unwrap();
    assert_eq!(caa["id"], CLOUD_APP_ADMIN);
    assert_eq!(caa["canConsent"], true);
    let out = env.run(&["gdap", "templates", "-o", "json"]).await;
    out.assert_code(0);
    let names: Vec<&str> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .leak()
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(names, ["consent", "standard"]);
}

/// An id Graph does not know (404) is a usage error naming it, for every command that takes
/// one, and nothing is changed.
#[tokio::test]
async fn an_unknown_relationship_id_is_exit_2_for_wait_assign_and_terminate() {
    let (env, _pc, graph) = TestEnv::signed_in_with_apis().await;
    Mock::given(method("GET"))
        .and(path(format!("{LIST}/{REL}")))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"error": {"code": "NotFound", "message": "The relationship was not found."}}),
        ))
        .mount(&graph)
        .await;
    for args in [
        vec!["gdap", "wait", REL, "--timeout", "1"],
        vec!["gdap", "assign", "--relationship", REL],
        vec!["gdap", "terminate", REL, "--yes"],
    ] {
        let out = env.run(&args).await;
        out.assert_code(2);
        assert!(
            out.stderr
                .contains(&format!("error: no GDAP relationship has the id {REL}")),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("hint: `csp gdap list` shows them"),
            "{}",
            out.stderr
        );
    }
    assert!(
        writes(&graph).await.is_empty(),
        "nothing was sent but reads"
    );
}
