//! `csp consent` through the real binary against a stateful fake of Entra, Partner Center and
//! Graph: every path of the reconciler, the retries, the rate limit, dry runs and Ctrl-C.

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, ResponseTemplate};

use crate::support::consent_fake::*;
use crate::support::*;

const T1: &str = "c0000000-0000-0000-0000-000000000001";
const T2: &str = "c0000000-0000-0000-0000-000000000002";
const T3: &str = "c0000000-0000-0000-0000-000000000003";
const GRANT: &str = "graph=Directory.Read.All,User.Read.All";
const EXCHANGE_GRANT: &str = "exchange=Exchange.Manage";

fn client(t: &str) -> String {
    format!("Client {t}")
}

async fn consent(w: &ConsentWorld, extra: &[&str]) -> Output {
    let mut args = vec!["consent", "--grant", GRANT, "-o", "json"];
    args.extend_from_slice(extra);
    w.env.run(&args).await
}

fn statuses(out: &Output) -> Vec<(String, String)> {
    out.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_string(),
                r["error"]["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_first_consent_is_posted_per_resource_and_proven_by_readback() {
    let w = ConsentWorld::new(&[(T1, TenantState::default())]).await;
    w.map_all();
    let out = consent(&w, &["--all", "--grant", EXCHANGE_GRANT]).await;
    out.assert_code(0);
    let r = &out.json()[0];
    assert_eq!(r["customer"], client(T1));
    assert_eq!(r["tenantId"], T1);
    assert_eq!(r["status"], "granted");
    assert_eq!(r["error"], Value::Null);
    assert_eq!(r["grants"][0]["resourceName"], "graph");
    assert_eq!(r["grants"][0]["status"], "granted");
    let writes = w.writes();
    assert_eq!(writes.len(), 2, "one POST per resource: {writes:?}");
    assert_ne!(
        writes[0].3, writes[1].3,
        "each write has its own MS-RequestId"
    );
    let held = w.tenant(T1);
    assert_eq!(held.grants[GRAPH_APP].len(), 2);
    assert!(held.grants.contains_key(EXCHANGE_APP));

    // A second run finds everything in place and posts nothing.
    let out = consent(&w, &["--all", "--grant", EXCHANGE_GRANT]).await;
    out.assert_code(0);
    assert_eq!(statuses(&out), vec![("unchanged".into(), "".into())]);
    assert_eq!(w.writes().len(), 2, "no customer is granted twice");
}

#[tokio::test]
async fn the_profile_consent_section_is_the_default_manifest() {
    let w = ConsentWorld::new(&[(T1, TenantState::default())]).await;
    w.map_all();
    let cfg = w.env.config_dir().join("config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("\n[profiles.default.consent]\ndisplay_name = \"Contoso CSP Connector\"\n[[profiles.default.consent.grants]]\nresource = \"graph\"\nscopes = [\"Directory.Read.All\"]\n");
    std::fs::write(&cfg, text).unwrap();
    let out = w
        .env
        .run(&["consent", "--customer", &client(T1), "-o", "json"])
        .await;
    out.assert_code(0);
    assert_eq!(
        out.json()[0]["grants"][0]["scopes"],
        json!(["Directory.Read.All"])
    );
    let body: Value = serde_json::from_slice(
        &w.pc
            .received_requests()
            .await
            .unwrap()
            .iter()
            .find(|r| r.method.as_str() == "POST")
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(body["displayName"], "Contoso CSP Connector");
    assert_eq!(body["applicationGrants"][0]["scope"], "Directory.Read.All");
}

#[tokio::test]
async fn an_already_exists_answer_counts_only_after_the_readback_confirms_it() {
    // The readback lags: the pre-read sees nothing, Partner Center says 409, the readback then
    // shows the grants.
    let mut t = held(&[(GRAPH_APP, &["Directory.Read.All", "User.Read.All"])]);
    t.lag = 1;
    t.shown = Some(Default::default());
    let w = ConsentWorld::new(&[(T1, t)]).await;
    w.state.lock().unwrap().behaviour.conflict_when_exists = true;
    w.map_all();
    let out = consent(&w, &["--all"]).await;
    out.assert_code(0);
    assert_eq!(statuses(&out), vec![("unchanged".into(), "".into())]);

    // A 409 for a grant that never shows is a failure, not a success.
    let w = ConsentWorld::new(&[(T2, TenantState::default())]).await;
    w.map_all();
    Mock::given(method("POST"))
        .and(path_regex(r"applicationconsents$"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({"code": "409", "description": "Permission entry already exists.", "source": "x"})))
        .with_priority(1)
        .mount(&w.pc)
        .await;
    let out = consent(&w, &["--all", "--verify-timeout", "2"]).await;
    out.assert_code(5);
    // Never a success; and since Partner Center may keep one consent per app, the advice is
    // the way to add a resource: --force.
    assert_eq!(
        statuses(&out),
        vec![("failed".into(), "scopes_differ".into())]
    );
    assert!(
        out.json()[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--force")
    );
}

#[tokio::test]
async fn fewer_scopes_need_force_which_keeps_every_earlier_grant() {
    let start = held(&[
        (GRAPH_APP, &["Directory.Read.All"]),
        (EXCHANGE_APP, &["Exchange.Manage"]),
    ]);
    let w = ConsentWorld::new(&[(T1, start)]).await;
    w.map_all();
    let out = consent(&w, &["--all"]).await;
    out.assert_code(5);
    assert_eq!(
        statuses(&out),
        vec![("failed".into(), "scopes_differ".into())]
    );
    assert!(
        out.json()[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--force")
    );
    assert!(w.writes().is_empty(), "nothing changed without --force");
    assert!(
        out.json()[0]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("beyond the manifest")
    );

    let out = consent(&w, &["--all", "--force"]).await;
    out.assert_code(0);
    assert_eq!(statuses(&out), vec![("regranted".into(), "".into())]);
    let writes: Vec<(String, String)> = w.writes().into_iter().map(|(m, _, r, _)| (m, r)).collect();
    assert_eq!(
        writes,
        vec![
            ("DELETE".into(), "".into()),
            ("POST".into(), EXCHANGE_APP.into()),
            ("POST".into(), GRAPH_APP.into()),
        ],
        "DELETE first, then the union, one resource per POST"
    );
    let after = w.tenant(T1);
    assert_eq!(after.grants[GRAPH_APP].len(), 2);
    assert_eq!(
        after.grants[EXCHANGE_APP].len(),
        1,
        "the grant outside the manifest is back"
    );
}

#[tokio::test]
async fn a_failed_post_after_the_delete_restores_what_was_there() {
    let start = held(&[
        (GRAPH_APP, &["Directory.Read.All"]),
        (EXCHANGE_APP, &["Exchange.Manage"]),
    ]);
    let w = ConsentWorld::new(&[(T1, start.clone())]).await;
    w.state.lock().unwrap().behaviour.fail_posts_after_delete = 1;
    w.map_all();
    let out = consent(&w, &["--all", "--force"]).await;
    out.assert_code(5);
    let r = &out.json()[0];
    assert_eq!(r["status"], "failed");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("posted back"),
        "{r}"
    );
    assert_eq!(w.tenant(T1).grants, start.grants, "restored");

    // When even the restore fails, the message says exactly what the tenant lost.
    let w = ConsentWorld::new(&[(T1, start)]).await;
    w.state.lock().unwrap().behaviour.fail_posts_after_delete = 10;
    w.map_all();
    let out = consent(&w, &["--all", "--force"]).await;
    out.assert_code(5);
    let r = &out.json()[0];
    assert_eq!(r["error"]["code"], "regrant_failed");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("LOST")
            && msg.contains("Exchange.Manage")
            && msg.contains("Directory.Read.All"),
        "{msg}"
    );
}

#[tokio::test]
async fn partner_center_refusals_become_actionable_codes() {
    let w = ConsentWorld::new(&[(T1, TenantState::default())]).await;
    w.state.lock().unwrap().behaviour.post_status = Some(403);
    w.map_all();
    let out = consent(&w, &["--all"]).await;
    out.assert_code(5);
    assert_eq!(
        statuses(&out),
        vec![("failed".into(), "gdap_role_missing".into())]
    );
    assert!(
        out.json()[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Cloud Application Administrator")
    );
    assert!(
        out.stderr.contains("error: 1 of 1 customers failed"),
        "{}",
        out.stderr
    );

    // A resource the tenant lacks fails alone; the others go on.
    let w = ConsentWorld::new(&[(T1, TenantState::default())]).await;
    w.state.lock().unwrap().behaviour.missing_resource = Some(EXCHANGE_APP.into());
    w.map_all();
    let out = consent(&w, &["--all", "--grant", EXCHANGE_GRANT]).await;
    out.assert_code(5);
    let r = &out.json()[0];
    assert_eq!(r["error"]["code"], "resource_missing");
    let grant_status: Vec<_> = r["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["status"].clone())
        .collect();
    assert_eq!(grant_status, vec![json!("granted"), json!("failed")]);
}

#[tokio::test]
async fn missing_mfa_stops_the_whole_run_with_exit_4() {
    let w = ConsentWorld::new(&[
        (T1, TenantState::default()),
        (T2, TenantState::default()),
        (T3, TenantState::default()),
    ])
    .await;
    w.state.lock().unwrap().behaviour.post_status = Some(401);
    w.map_all();
    let out = consent(&w, &["--all", "--jobs", "1"]).await;
    out.assert_code(4);
    assert_eq!(
        statuses(&out),
        vec![("failed".into(), "mfa_required".into())]
    );
    assert_eq!(w.writes().len(), 1, "no further customer is tried");
    assert!(
        out.stderr
            .contains("hint: run `csp authorize` again and complete MFA"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn throttled_and_failed_writes_are_retried_under_the_same_request_id() {
    for (first, header) in [(429u16, Some("1")), (500, None)] {
        let w = ConsentWorld::new(&[(T1, TenantState::default())]).await;
        w.map_all();
        let mut r =
            ResponseTemplate::new(first).set_body_json(json!({"code": "x", "description": "busy"}));
        if let Some(h) = header {
            r = r.insert_header("Retry-After", h);
        }
        Mock::given(method("POST"))
            .and(path_regex(r"applicationconsents$"))
            .respond_with(r)
            .up_to_n_times(1)
            .with_priority(1)
            .expect(1)
            .mount(&w.pc)
            .await;
        let out = consent(&w, &["--all"]).await;
        out.assert_code(0);
        let ids: Vec<String> =
            w.pc.received_requests()
                .await
                .unwrap()
                .iter()
                .filter(|r| r.method.as_str() == "POST")
                .map(|r| {
                    r.headers
                        .get("ms-requestid")
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
        assert_eq!(ids.len(), 2, "{first}");
        assert_eq!(
            ids[0], ids[1],
            "{first}: a retry reuses the write's MS-RequestId"
        );
    }
}

#[tokio::test]
async fn a_grant_that_shows_on_the_second_readback_is_granted() {
    let t = TenantState {
        lag: 1,
        shown: Some(Default::default()),
        ..Default::default()
    };
    let w = ConsentWorld::new(&[(T1, t)]).await;
    w.map_all();
    let out = consent(&w, &["--all"]).await;
    out.assert_code(0);
    assert_eq!(statuses(&out), vec![("granted".into(), "".into())]);
}

#[tokio::test]
async fn a_dry_run_reads_but_never_writes() {
    let w = ConsentWorld::new(&[
        (T1, TenantState::default()),
        (
            T2,
            held(&[(GRAPH_APP, &["Directory.Read.All", "User.Read.All"])]),
        ),
    ])
    .await;
    w.map_all();
    let out = consent(&w, &["--all", "--dry-run"]).await;
    out.assert_code(0);
    assert_eq!(
        statuses(&out),
        vec![
            ("planned".into(), "".into()),
            ("unchanged".into(), "".into())
        ]
    );
    assert!(w.writes().is_empty());
    let writes =
        w.pc.received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() != "GET")
            .count();
    assert_eq!(writes, 0);
}

#[tokio::test]
async fn bad_targets_and_manifests_are_refused_before_any_call() {
    let w = ConsentWorld::new(&[(T1, TenantState::default())]).await;
    w.map_all();
    for args in [
        vec!["consent", "--grant", GRANT],
        vec!["consent", "--all", "--customer", "x", "--grant", GRANT],
        vec!["consent", "--customer", "Nobody", "--grant", GRANT],
        vec!["consent", "--all", "--grant", "graph=Directory Read"],
        vec!["consent", "--all", "--grant", "mars=X.Read"],
        vec!["consent", "--all"],
        vec![
            "consent",
            "--all",
            "--grant",
            GRANT,
            "--app-id",
            "99999999-2222-3333-4444-555555555555",
        ],
        vec!["consent", "--all", "--grant", EXCHANGE_GRANT, "--force"],
        vec!["consent", "--all", "--grant", GRANT, "--rate", "51"],
    ] {
        let out = w.env.run(&args).await;
        out.assert_code(2);
        assert!(out.stderr.contains("error:"), "{args:?}: {}", out.stderr);
    }
    let out = w
        .env
        .run(&[
            "consent",
            "--all",
            "--grant",
            GRANT,
            "--app-id",
            "99999999-2222-3333-4444-555555555555",
        ])
        .await;
    assert!(
        out.stderr.contains("sign in with that app"),
        "{}",
        out.stderr
    );
    assert!(w.pc.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn without_a_readback_scope_results_are_granted_unverified() {
    let w = ConsentWorld::new(&[(T1, TenantState::default())]).await;
    w.map_all();
    let out = w
        .env
        .run(&["consent", "--all", "--grant", EXCHANGE_GRANT, "-o", "json"])
        .await;
    out.assert_code(0);
    assert_eq!(
        statuses(&out),
        vec![("granted_unverified".into(), "".into())]
    );
    assert!(
        out.stderr.contains("results will be granted_unverified"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn the_rate_limit_holds_in_every_second() {
    let tenants: Vec<(String, TenantState)> = (0..120)
        .map(|i| {
            (
                format!("d0000000-0000-0000-0000-{i:012}"),
                TenantState::default(),
            )
        })
        .collect();
    let refs: Vec<(&str, TenantState)> = tenants
        .iter()
        .map(|(t, s)| (t.as_str(), s.clone()))
        .collect();
    let w = ConsentWorld::new(&refs).await;
    w.map_all();
    let out = consent(&w, &["--all", "--jobs", "64", "--no-verify"]).await;
    out.assert_code(0);
    let times: Vec<std::time::Instant> =
        w.state.lock().unwrap().writes.iter().map(|w| w.4).collect();
    assert_eq!(times.len(), 120);
    for (i, t) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .filter(|u| **u < *t + Duration::from_secs(1))
            .count();
        assert!(
            in_window <= 50,
            "{in_window} consent writes within one second"
        );
    }
}

#[tokio::test]
async fn the_table_names_each_customer_and_the_counts() {
    let w = ConsentWorld::new(&[
        (T1, TenantState::default()),
        (
            T2,
            held(&[(GRAPH_APP, &["Directory.Read.All", "User.Read.All"])]),
        ),
    ])
    .await;
    w.map_all();
    let out = w.env.run(&["consent", "--all", "--grant", GRANT]).await;
    out.assert_code(0);
    assert!(out.stdout.contains("RESULT"), "{}", out.stdout);
    assert!(
        out.stdout.contains("granted") && out.stdout.contains("unchanged"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("1 granted, 1 unchanged"),
        "{}",
        out.stderr
    );
}

#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_reports_what_finished_and_exits_130() {
    let tenants: Vec<(String, TenantState)> = (0..12)
        .map(|i| {
            // The readback never catches up: every customer waits in verification.
            let t = TenantState {
                lag: 1_000,
                shown: Some(Default::default()),
                ..Default::default()
            };
            (format!("e0000000-0000-0000-0000-{i:012}"), t)
        })
        .collect();
    let refs: Vec<(&str, TenantState)> = tenants
        .iter()
        .map(|(t, s)| (t.as_str(), s.clone()))
        .collect();
    let w = ConsentWorld::new(&refs).await;
    w.map_all();
    let mut cmd = w.env.std_cmd();
    cmd.args([
        "consent",
        "--all",
        "--grant",
        GRANT,
        "--jobs",
        "2",
        "--verify-timeout",
        "600",
        "-o",
        "json",
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let started = std::time::Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(2000));
        std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stopped within seconds"
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let n = report.as_array().unwrap().len();
    assert!((1..12).contains(&n), "reports what finished: {n}");
    assert!(w.writes().len() < 12, "no new customer after Ctrl-C");
    assert!(String::from_utf8_lossy(&output.stderr).contains("interrupted"));
}

/// A customer whose request hangs when Ctrl-C arrives is given a few seconds, then reported
/// as failed `interrupted` rather than left out of the report.
#[tokio::test]
async fn ctrl_c_reports_customers_abandoned_in_flight_as_interrupted() {
    let w = ConsentWorld::new(&[(T1, TenantState::default()), (T2, TenantState::default())]).await;
    w.state.lock().unwrap().behaviour.post_hangs_for = Some(Duration::from_secs(60));
    w.map_all();
    let mut cmd = w.env.std_cmd();
    cmd.args([
        "consent", "--all", "--grant", GRANT, "--jobs", "2", "-o", "json",
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let started = std::time::Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(1500));
        std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "did not wait for the hung requests"
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = report.as_array().unwrap();
    assert_eq!(rows.len(), 2, "both customers are in the report: {report}");
    for row in rows {
        assert_eq!(row["status"], "failed", "{row}");
        assert_eq!(row["error"]["code"], "interrupted", "{row}");
    }
    assert_eq!(w.writes().len(), 2, "each customer's POST was sent");
}

#[tokio::test]
async fn one_users_consent_is_not_the_tenants() {
    let t = TenantState {
        principal_only: true,
        ..held(&[(GRAPH_APP, &["Directory.Read.All", "User.Read.All"])])
    };
    let w = ConsentWorld::new(&[(T1, t)]).await;
    w.map_all();
    let out = consent(&w, &["--all"]).await;
    out.assert_code(0);
    assert_eq!(statuses(&out), vec![("granted".into(), "".into())]);
    assert_eq!(w.writes().len(), 1, "the tenant-wide consent was posted");
}

#[tokio::test]
async fn a_lost_delete_answer_still_ends_with_every_grant_back() {
    let start = held(&[
        (GRAPH_APP, &["Directory.Read.All"]),
        (EXCHANGE_APP, &["Exchange.Manage"]),
    ]);
    let w = ConsentWorld::new(&[(T1, start)]).await;
    w.state.lock().unwrap().behaviour.delete_answer_lost = true;
    w.map_all();
    let out = consent(&w, &["--all", "--force"]).await;
    out.assert_code(0);
    assert_eq!(statuses(&out), vec![("regranted".into(), "".into())]);
    assert!(
        out.json()[0]["warnings"]
            .to_string()
            .contains("answer was lost")
    );
    let after = w.tenant(T1);
    assert_eq!(after.grants[GRAPH_APP].len(), 2);
    assert_eq!(after.grants[EXCHANGE_APP].len(), 1);
}

#[tokio::test]
async fn an_expired_sign_in_stops_the_run_with_exit_4() {
    let w = ConsentWorld::new(&[(T1, TenantState::default()), (T2, TenantState::default())]).await;
    w.state.lock().unwrap().behaviour.sign_in_expired = true;
    w.map_all();
    let out = consent(&w, &["--all", "--jobs", "1"]).await;
    out.assert_code(4);
    assert_eq!(
        statuses(&out),
        vec![("failed".into(), "sign_in_expired".into())]
    );
    assert!(
        out.stderr.contains("hint: run `csp authorize` again"),
        "{}",
        out.stderr
    );
    assert!(w.writes().is_empty());
}

#[tokio::test]
async fn no_commerce_relationship_is_not_a_customer() {
    let w = ConsentWorld::new(&[(T1, TenantState::default())]).await;
    w.map_all();
    Mock::given(method("POST"))
        .and(path_regex(r"applicationconsents$"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"code": "20002", "description": "The partner id has no commerce relationship with the customer id.", "source": "x"})))
        .with_priority(1)
        .mount(&w.pc)
        .await;
    let out = consent(&w, &["--all"]).await;
    out.assert_code(5);
    assert_eq!(
        statuses(&out),
        vec![("failed".into(), "not_a_customer".into())]
    );
}

/// `--force` DELETEs the consent, which may remove the app's service principal (UNCONFIRMED):
/// application permissions and per-user consents would go with it and csp cannot restore them.
#[tokio::test]
async fn force_refuses_to_delete_when_application_permissions_would_be_lost() {
    let start = TenantState {
        app_roles: true,
        ..held(&[(GRAPH_APP, &["Directory.Read.All"])])
    };
    let w = ConsentWorld::new(&[(T1, start)]).await;
    w.map_all();
    let out = consent(&w, &["--all", "--force"]).await;
    out.assert_code(5);
    assert_eq!(
        statuses(&out),
        vec![("failed".into(), "force_unsafe".into())]
    );
    let message = out.json()[0]["error"]["message"].to_string();
    assert!(
        message.contains("application permission Microsoft Graph"),
        "{message}"
    );
    assert!(message.contains("Nothing was deleted"), "{message}");
    assert!(w.writes().is_empty(), "no DELETE and no POST");
    assert_eq!(
        w.tenant(T1).grants[GRAPH_APP].len(),
        1,
        "the grant is untouched"
    );
}

#[tokio::test]
async fn force_refuses_to_delete_one_users_consent() {
    let start = TenantState {
        per_user: Some((GRAPH_APP, "Mail.Read")),
        ..held(&[(GRAPH_APP, &["Directory.Read.All"])])
    };
    let w = ConsentWorld::new(&[(T1, start)]).await;
    w.map_all();
    let out = consent(&w, &["--all", "--force"]).await;
    out.assert_code(5);
    assert_eq!(
        statuses(&out),
        vec![("failed".into(), "force_unsafe".into())]
    );
    let message = out.json()[0]["error"]["message"].to_string();
    assert!(
        message.contains("per-user consent on graph: Mail.Read"),
        "{message}"
    );
    assert!(w.writes().is_empty(), "no DELETE and no POST");
}

#[tokio::test]
async fn force_deletes_nothing_when_it_cannot_check_application_permissions() {
    let start = TenantState {
        app_roles_forbidden: true,
        ..held(&[(GRAPH_APP, &["Directory.Read.All"])])
    };
    let w = ConsentWorld::new(&[(T1, start)]).await;
    w.map_all();
    let out = consent(&w, &["--all", "--force"]).await;
    out.assert_code(5);
    let report = out.json();
    assert_eq!(report[0]["status"], "failed");
    assert!(
        report[0]["error"]["message"]
            .to_string()
            .contains("nothing was deleted"),
        "{report}"
    );
    assert!(w.writes().is_empty(), "no DELETE and no POST");
}
