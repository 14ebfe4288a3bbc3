//! `csp consent` through the real binary against the sandbox simulator: every path of the
//! reconciler, the retries, the rate limit, dry runs and Ctrl-C, asserted on what the
//! simulator recorded and holds.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::sim::*;
use crate::support::*;

const GRANT: &str = "graph=Directory.Read.All,User.Read.All";
const EXCHANGE_GRANT: &str = "exchange=Exchange.Manage";
const BOTH: &[&str] = &["Directory.Read.All", "User.Read.All"];

async fn consent(w: &SimEnv, extra: &[&str]) -> Output {
    let mut args = vec!["consent", "--grant", GRANT, "-o", "json"];
    args.extend_from_slice(extra);
    w.run(&args).await
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

fn scopes(list: &[&str]) -> std::collections::BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// One customer ready for consent, holding `held` (resource, scopes) already.
async fn one_customer(held: &[(&str, &[&str])]) -> (SimEnv, String) {
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.example.com");
    for (resource, s) in held {
        hold(&mut world, &t, resource, s);
    }
    let w = SimEnv::start(world).await;
    w.map_all();
    (w, t)
}

#[tokio::test]
async fn a_first_consent_is_posted_per_resource_and_proven_by_readback() {
    let (w, t) = one_customer(&[]).await;
    let out = consent(&w, &["--all", "--grant", EXCHANGE_GRANT]).await;
    out.assert_code(0);
    let r = &out.json()[0];
    assert_eq!(r["customer"], "Contoso");
    assert_eq!(r["tenantId"], t);
    assert_eq!(r["status"], "granted");
    assert_eq!(r["error"], Value::Null);
    assert_eq!(r["grants"][0]["resourceName"], "graph");
    assert_eq!(r["grants"][0]["status"], "granted");
    let writes = w.writes();
    assert_eq!(writes.len(), 2, "one POST per resource: {writes:?}");
    assert_ne!(
        writes[0].request_id, writes[1].request_id,
        "each write has its own MS-RequestId"
    );
    for (call, body) in w
        .sim
        .calls_to("POST", CONSENTS)
        .iter()
        .zip(w.posted_bodies())
    {
        assert_eq!(
            body["applicationId"], APP_ID,
            "the sign-in app is consented"
        );
        assert_eq!(body["applicationGrants"].as_array().unwrap().len(), 1);
        assert_eq!(call.header("validatemfa"), Some("true"));
    }
    let held = w.granted(&t);
    assert_eq!(held[GRAPH_APP], scopes(BOTH));
    assert_eq!(held[EXCHANGE_APP], scopes(&["Exchange.Manage"]));

    // A second run finds everything in place and posts nothing.
    let out = consent(&w, &["--all", "--grant", EXCHANGE_GRANT]).await;
    out.assert_code(0);
    assert_eq!(statuses(&out), vec![("unchanged".into(), "".into())]);
    assert_eq!(w.writes().len(), 2, "no customer is granted twice");
}

/// Partner Center reads `scope` as comma-separated values; the simulator splits it without
/// trimming, so a space after a comma would lose every scope but the first.
#[tokio::test]
async fn scopes_are_posted_joined_by_a_bare_comma_and_all_of_them_arrive() {
    let (w, t) = one_customer(&[]).await;
    let out = consent(&w, &["--all"]).await;
    out.assert_code(0);
    assert_eq!(statuses(&out), vec![("granted".into(), "".into())]);
    assert_eq!(
        w.posted_bodies()[0]["applicationGrants"][0]["scope"],
        "Directory.Read.All,User.Read.All"
    );
    assert_eq!(w.granted(&t)[GRAPH_APP], scopes(BOTH));
}

#[tokio::test]
async fn the_profile_consent_section_is_the_default_manifest() {
    let (w, _) = one_customer(&[]).await;
    let cfg = w.env.config_dir().join("config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("\n[profiles.default.consent]\ndisplay_name = \"Contoso CSP Connector\"\n[[profiles.default.consent.grants]]\nresource = \"graph\"\nscopes = [\"Directory.Read.All\"]\n");
    std::fs::write(&cfg, text).unwrap();
    let out = w
        .run(&["consent", "--customer", "Contoso", "-o", "json"])
        .await;
    out.assert_code(0);
    assert_eq!(
        out.json()[0]["grants"][0]["scopes"],
        json!(["Directory.Read.All"])
    );
    let body = &w.posted_bodies()[0];
    assert_eq!(body["displayName"], "Contoso CSP Connector");
    assert_eq!(body["applicationGrants"][0]["scope"], "Directory.Read.All");
}

#[tokio::test]
async fn an_already_exists_answer_counts_only_after_the_readback_confirms_it() {
    // The readback lags: the pre-read sees nothing, Partner Center says 409, the readback then
    // shows the grants.
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.example.com");
    hold(&mut world, &t, GRAPH_APP, BOTH);
    world
        .customer_mut(&t)
        .unwrap()
        .service_principals
        .get_mut(APP_ID)
        .unwrap()
        .stale = Some((1, Vec::new()));
    let w = SimEnv::start(world).await;
    w.map_all();
    let out = consent(&w, &["--all"]).await;
    out.assert_code(0);
    assert_eq!(statuses(&out), vec![("unchanged".into(), "".into())]);
    assert_eq!(
        w.sim.calls_to("POST", CONSENTS)[0].status,
        Some(409),
        "Partner Center said it exists"
    );

    // A 409 for a grant that never shows is a failure, not a success.
    let (w, _) = one_customer(&[]).await;
    w.sim
        .inject(Fault::on("POST", CONSENTS).always().reply(409).json(
        &json!({"code": "409", "description": "Permission entry already exists.", "source": "x"}),
    ));
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
    let (w, t) = one_customer(&[
        (GRAPH_APP, &["Directory.Read.All"]),
        (EXCHANGE_APP, &["Exchange.Manage"]),
    ])
    .await;
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
    let writes: Vec<(String, String)> = w
        .writes()
        .into_iter()
        .map(|w| (w.method, w.resource))
        .collect();
    assert_eq!(
        writes,
        vec![
            ("DELETE".into(), "".into()),
            ("POST".into(), EXCHANGE_APP.into()),
            ("POST".into(), GRAPH_APP.into()),
        ],
        "DELETE first, then the union, one resource per POST"
    );
    let after = w.granted(&t);
    assert_eq!(after[GRAPH_APP], scopes(BOTH));
    assert_eq!(
        after[EXCHANGE_APP],
        scopes(&["Exchange.Manage"]),
        "the grant outside the manifest is back"
    );
}

/// Microsoft leaves unconfirmed whether the DELETE takes the service principal too; when it
/// does, the re-POST makes a new one with every grant.
#[tokio::test]
async fn force_regrants_even_when_the_delete_takes_the_service_principal() {
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.example.com");
    hold(&mut world, &t, GRAPH_APP, &["Directory.Read.All"]);
    world.switches.delete_removes_service_principal = true;
    let old_sp = world.customer(&t).unwrap().service_principals[APP_ID]
        .id
        .clone();
    let w = SimEnv::start(world).await;
    w.map_all();
    let out = consent(&w, &["--all", "--force"]).await;
    out.assert_code(0);
    assert_eq!(statuses(&out), vec![("regranted".into(), "".into())]);
    assert_eq!(w.granted(&t)[GRAPH_APP], scopes(BOTH));
    let new_sp = &w.tenant(&t).service_principals[APP_ID].id;
    assert_ne!(*new_sp, old_sp, "a new service principal");
}

#[tokio::test]
async fn a_failed_post_after_the_delete_restores_what_was_there() {
    let start: &[(&str, &[&str])] = &[
        (GRAPH_APP, &["Directory.Read.All"]),
        (EXCHANGE_APP, &["Exchange.Manage"]),
    ];
    let refused =
        json!({"code": "1000", "description": "Something went wrong.", "source": "PartnerCenter"});
    let (w, t) = one_customer(start).await;
    let before = w.granted(&t);
    w.sim
        .inject(Fault::on("POST", CONSENTS).reply(400).json(&refused));
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
    assert_eq!(w.granted(&t), before, "restored");

    // When even the restore fails, the message says exactly what the tenant lost.
    let (w, _) = one_customer(start).await;
    w.sim.inject(
        Fault::on("POST", CONSENTS)
            .times(10)
            .reply(400)
            .json(&refused),
    );
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
    // GDAP reaches the customer, but with no role that can consent: Partner Center says 403.
    let mut world = World::empty();
    let t = world.add_customer_without_gdap("Adatum", "adatum.example.com");
    world.add_relationship(
        &t,
        "active",
        &[world::EXCHANGE_ADMIN],
        days_from_now(300),
        true,
    );
    let w = SimEnv::start(world).await;
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
    assert_eq!(w.sim.calls_to("POST", CONSENTS)[0].status, Some(403));

    // A resource the tenant lacks fails alone; the others go on.
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.example.com");
    world
        .customer_mut(&t)
        .unwrap()
        .resource_sps
        .remove(EXCHANGE_APP);
    let w = SimEnv::start(world).await;
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
    let (w, _) = SimEnv::with_customers(&["Contoso", "Fabrikam", "Northwind"]).await;
    w.sim.with_world(|w| w.switches.mfa_required = true);
    let out = consent(&w, &["--all", "--jobs", "1"]).await;
    out.assert_code(4);
    // The customers the stop kept from starting are listed too, as not_started.
    assert_eq!(
        statuses(&out),
        vec![
            ("failed".into(), "mfa_required".into()),
            ("failed".into(), "not_started".into()),
            ("failed".into(), "not_started".into())
        ]
    );
    assert!(
        out.json()[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the run stopped (mfa_required"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("1 failed, 2 not_started"),
        "{}",
        out.stderr
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
        let (w, t) = one_customer(&[]).await;
        let mut fault = Fault::on("POST", CONSENTS)
            .reply(first)
            .json(&json!({"code": "x", "description": "busy"}));
        if let Some(h) = header {
            fault = fault.header("Retry-After", h);
        }
        w.sim.inject(fault);
        let out = consent(&w, &["--all"]).await;
        out.assert_code(0);
        let ids: Vec<String> = w
            .writes()
            .into_iter()
            .filter(|w| w.method == "POST")
            .map(|w| w.request_id)
            .collect();
        assert_eq!(ids.len(), 2, "{first}");
        assert_eq!(
            ids[0], ids[1],
            "{first}: a retry reuses the write's MS-RequestId"
        );
        assert_eq!(w.granted(&t)[GRAPH_APP], scopes(BOTH));
    }
}

/// A POST whose answer is lost after Partner Center made the consent (a 503, or a connection
/// cut before any answer): csp cannot know whether it arrived, so it asks again only under the
/// same MS-RequestId, and Partner Center answers the retry with its first answer, not a 409.
#[tokio::test]
async fn a_post_whose_answer_is_lost_is_retried_under_its_request_id() {
    for (lost, first) in [
        (
            Fault::on("POST", CONSENTS).after_effect().reply(503),
            Some(503),
        ),
        (Fault::on("POST", CONSENTS).after_effect().cut(), None),
    ] {
        let (w, t) = one_customer(&[]).await;
        w.sim.inject(lost);
        let out = consent(&w, &["--all"]).await;
        out.assert_code(0);
        assert_eq!(statuses(&out), vec![("granted".into(), "".into())]);
        let posts = w.sim.calls_to("POST", CONSENTS);
        let answers: Vec<Option<u16>> = posts.iter().map(|c| c.status).collect();
        assert_eq!(answers, vec![first, Some(201)], "then the first answer");
        assert_eq!(
            posts[0].header("ms-requestid"),
            posts[1].header("ms-requestid")
        );
        assert_eq!(w.granted(&t)[GRAPH_APP], scopes(BOTH));
    }
}

#[tokio::test]
async fn a_grant_that_shows_on_the_second_readback_is_granted() {
    let (w, _) = one_customer(&[]).await;
    w.sim.with_world(|w| w.switches.propagation_reads = 1);
    let out = consent(&w, &["--all"]).await;
    out.assert_code(0);
    assert_eq!(statuses(&out), vec![("granted".into(), "".into())]);
    let reads = w
        .sim
        .calls_to("GET", "/v1.0/servicePrincipals/*/oauth2PermissionGrants");
    assert!(reads.len() >= 2, "read until it showed: {}", reads.len());
}

#[tokio::test]
async fn a_dry_run_reads_but_never_writes() {
    let mut world = World::empty();
    world.add_customer("Contoso", "contoso.example.com");
    let held = world.add_customer("Fabrikam", "fabrikam.example.com");
    hold(&mut world, &held, GRAPH_APP, BOTH);
    let w = SimEnv::start(world).await;
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
    assert_eq!(w.partner_center_writes(), 0);
    assert!(
        !w.sim
            .calls_to("GET", "/**/oauth2PermissionGrants")
            .is_empty(),
        "it read"
    );
}

/// A dry run over a customer that holds fewer scopes is a plan (`would_force`, exit 0), not a
/// failure: the warning says a real run needs --force.
#[tokio::test]
async fn a_dry_run_plans_force_where_scopes_differ() {
    let (w, _) = one_customer(&[(GRAPH_APP, &["Directory.Read.All"])]).await;
    let out = consent(&w, &["--all", "--dry-run"]).await;
    out.assert_code(0);
    assert_eq!(statuses(&out), vec![("would_force".into(), "".into())]);
    let r = &out.json()[0];
    assert_eq!(r["grants"][0]["status"], "would_force");
    assert!(
        r["warnings"][0].as_str().unwrap().contains("--force"),
        "{r}"
    );
    assert!(out.stderr.contains("1 would_force"), "{}", out.stderr);
    assert_eq!(w.partner_center_writes(), 0);

    // With --force the dry run plans the re-grant.
    let out = consent(&w, &["--all", "--dry-run", "--force"]).await;
    out.assert_code(0);
    assert_eq!(statuses(&out), vec![("planned".into(), "".into())]);
    assert_eq!(w.partner_center_writes(), 0);
}

#[tokio::test]
async fn bad_targets_and_manifests_are_refused_before_any_call() {
    let (w, _) = one_customer(&[]).await;
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
        let out = w.run(&args).await;
        out.assert_code(2);
        assert!(out.stderr.contains("error:"), "{args:?}: {}", out.stderr);
    }
    let out = w
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
    assert!(w.sim.calls().is_empty(), "{:?}", w.sim.calls());
}

#[tokio::test]
async fn without_a_readback_scope_results_are_granted_unverified() {
    let (w, t) = one_customer(&[]).await;
    let out = w
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
    assert_eq!(w.granted(&t)[EXCHANGE_APP], scopes(&["Exchange.Manage"]));
}

#[tokio::test]
async fn the_rate_limit_holds_in_every_second() {
    let names: Vec<String> = (0..120).map(|i| format!("Customer {i:03}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (w, _) = SimEnv::with_customers(&refs).await;
    let out = consent(&w, &["--all", "--jobs", "64", "--no-verify"]).await;
    out.assert_code(0);
    let times: Vec<std::time::Instant> = w.writes().iter().map(|w| w.at).collect();
    assert_eq!(times.len(), 120, "no write was throttled and sent again");
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
    let mut world = World::empty();
    world.add_customer("Contoso", "contoso.example.com");
    let held = world.add_customer("Fabrikam", "fabrikam.example.com");
    hold(&mut world, &held, GRAPH_APP, BOTH);
    let w = SimEnv::start(world).await;
    w.map_all();
    let out = w.run(&["consent", "--all", "--grant", GRANT]).await;
    out.assert_code(0);
    assert!(out.stdout.contains("STATUS"), "{}", out.stdout);
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

/// Runs `csp` with `args`, sends it Ctrl-C after `after`, and returns its output.
#[cfg(unix)]
async fn interrupted(w: &SimEnv, args: &[&str], after: Duration) -> std::process::Output {
    let mut cmd = w.env.std_cmd();
    cmd.args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    tokio::task::spawn_blocking(move || {
        std::thread::sleep(after);
        std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_reports_what_finished_and_exits_130() {
    let names: Vec<String> = (0..12).map(|i| format!("Customer {i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (w, _) = SimEnv::with_customers(&refs).await;
    // The readback never catches up: every customer waits in verification.
    w.sim
        .with_world(|w| w.switches.propagation_reads = 1_000_000);
    let started = std::time::Instant::now();
    let output = interrupted(
        &w,
        &[
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
        ],
        Duration::from_millis(2000),
    )
    .await;
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stopped within seconds"
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = report.as_array().unwrap();
    assert_eq!(rows.len(), 12, "every customer is listed: {report}");
    let code = |r: &Value| r["error"]["code"].as_str().unwrap_or("").to_string();
    let not_started = rows.iter().filter(|r| code(r) == "not_started").count();
    let in_flight = rows.iter().filter(|r| code(r) == "interrupted").count();
    assert!(not_started >= 1, "some never started: {report}");
    assert_eq!(
        rows.iter().filter(|r| code(r) != "not_started").count(),
        w.writes().len(),
        "exactly the customers that were started are not not_started"
    );
    assert!(w.writes().len() < 12, "no new customer after Ctrl-C");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{not_started} not_started")),
        "{stderr}"
    );
    assert!(stderr.contains("interrupted: "), "{stderr}");
    assert!(
        in_flight + not_started + w.writes().len() >= 12,
        "the rest finished"
    );
}

/// After Ctrl-C the unfinished customers are in every format: the table and the CSV list them
/// with their codes, as the JSON does.
#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_lists_unfinished_customers_in_the_table_and_the_csv() {
    let names: Vec<String> = (0..6).map(|i| format!("Customer {i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (w, _) = SimEnv::with_customers(&refs).await;
    // Every POST hangs: one customer in flight, the rest never started.
    w.sim.inject(
        Fault::on("POST", CONSENTS)
            .always()
            .hang(Duration::from_secs(60)),
    );
    for format in ["table", "csv"] {
        let posts = w.sim.calls_to("POST", CONSENTS).len();
        let mut cmd = w.env.std_cmd();
        cmd.args([
            "consent", "--all", "--grant", GRANT, "--jobs", "1", "-o", format,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().unwrap();
        // Ctrl-C once the first customer's POST hangs: it is in flight, the rest wait.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while w.sim.calls_to("POST", CONSENTS).len() == posts {
            assert!(std::time::Instant::now() < deadline, "no POST was sent");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: signals the child this test started and has not reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
        let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(130), "{output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        for name in &names {
            assert!(stdout.contains(name.as_str()), "{format}: {name}: {stdout}");
        }
        let lines = |word: &str| stdout.lines().filter(|l| l.contains(word)).count();
        assert_eq!(lines("interrupted"), 1, "{format}: {stdout}");
        assert_eq!(lines("not_started"), 5, "{format}: {stdout}");
        if format == "csv" {
            assert!(stdout.starts_with("customer,tenantId,status,"), "{stdout}");
        }
    }
}

/// A customer whose request hangs when Ctrl-C arrives is given a few seconds, then reported
/// as failed `interrupted` rather than left out of the report.
#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_reports_customers_abandoned_in_flight_as_interrupted() {
    let (w, _) = SimEnv::with_customers(&["Contoso", "Fabrikam"]).await;
    w.sim.inject(
        Fault::on("POST", CONSENTS)
            .always()
            .hang(Duration::from_secs(60)),
    );
    let started = std::time::Instant::now();
    let output = interrupted(
        &w,
        &[
            "consent", "--all", "--grant", GRANT, "--jobs", "2", "-o", "json",
        ],
        Duration::from_millis(1500),
    )
    .await;
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
    assert!(
        w.sim
            .calls_to("POST", CONSENTS)
            .iter()
            .all(|c| c.status.is_none()),
        "neither POST was answered"
    );
}

#[tokio::test]
async fn one_users_consent_is_not_the_tenants() {
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.example.com");
    let tenant = world.customer_mut(&t).unwrap();
    let graph_sp = tenant.resource_sps[GRAPH_APP].clone();
    tenant
        .ensure_service_principal(APP_ID)
        .add_user_grant(&graph_sp, world::USER_ID, BOTH);
    let w = SimEnv::start(world).await;
    w.map_all();
    let out = consent(&w, &["--all"]).await;
    out.assert_code(0);
    assert_eq!(statuses(&out), vec![("granted".into(), "".into())]);
    assert_eq!(w.writes().len(), 1, "the tenant-wide consent was posted");
    assert_eq!(w.granted(&t)[GRAPH_APP], scopes(BOTH));
}

#[tokio::test]
async fn a_lost_delete_answer_still_ends_with_every_grant_back() {
    let (w, t) = one_customer(&[
        (GRAPH_APP, &["Directory.Read.All"]),
        (EXCHANGE_APP, &["Exchange.Manage"]),
    ])
    .await;
    // Every DELETE is done, and every answer to it lost.
    w.sim.inject(
        Fault::on("DELETE", CONSENT)
            .always()
            .after_effect()
            .reply(500),
    );
    let out = consent(&w, &["--all", "--force"]).await;
    out.assert_code(0);
    assert_eq!(statuses(&out), vec![("regranted".into(), "".into())]);
    assert!(
        out.json()[0]["warnings"]
            .to_string()
            .contains("answer was lost")
    );
    let after = w.granted(&t);
    assert_eq!(after[GRAPH_APP], scopes(BOTH));
    assert_eq!(after[EXCHANGE_APP], scopes(&["Exchange.Manage"]));
}

#[tokio::test]
async fn an_expired_sign_in_stops_the_run_with_exit_4() {
    let (w, _) = SimEnv::with_customers(&["Contoso", "Fabrikam"]).await;
    w.sim.with_world(|w| w.switches.sign_in_expired = true);
    let out = consent(&w, &["--all", "--jobs", "1"]).await;
    out.assert_code(4);
    assert_eq!(
        statuses(&out),
        vec![
            ("failed".into(), "sign_in_expired".into()),
            ("failed".into(), "not_started".into())
        ]
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
    let (w, _) = one_customer(&[]).await;
    w.sim.inject(
        Fault::on("POST", CONSENTS)
            .always()
            .reply(403)
            .json(&json!({"code": "20002", "description": "The partner id has no commerce relationship with the customer id.", "source": "x"})),
    );
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
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.example.com");
    hold(&mut world, &t, GRAPH_APP, &["Directory.Read.All"]);
    let tenant = world.customer_mut(&t).unwrap();
    let graph_sp = tenant.resource_sps[GRAPH_APP].clone();
    tenant
        .service_principals
        .get_mut(APP_ID)
        .unwrap()
        .app_roles
        .push(AppRoleAssignment {
            id: "role-1".into(),
            resource_sp: graph_sp,
            resource_display_name: "Microsoft Graph".into(),
            app_role_id: "df021288-bdef-4463-88db-98f22de89214".into(),
        });
    let w = SimEnv::start(world).await;
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
        w.granted(&t)[GRAPH_APP],
        scopes(&["Directory.Read.All"]),
        "the grant is untouched"
    );
}

#[tokio::test]
async fn force_refuses_to_delete_one_users_consent() {
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.example.com");
    hold(&mut world, &t, GRAPH_APP, &["Directory.Read.All"]);
    let tenant = world.customer_mut(&t).unwrap();
    let graph_sp = tenant.resource_sps[GRAPH_APP].clone();
    tenant
        .service_principals
        .get_mut(APP_ID)
        .unwrap()
        .add_user_grant(&graph_sp, world::USER_ID, &["Mail.Read"]);
    let w = SimEnv::start(world).await;
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
    let (w, _) = one_customer(&[(GRAPH_APP, &["Directory.Read.All"])]).await;
    w.sim.inject(
        Fault::on("GET", "/v1.0/servicePrincipals/*/appRoleAssignments")
            .always()
            .reply(403)
            .json(&json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}})),
    );
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

/// A grant whose resource Graph cannot identify (its service principal is gone) is something
/// `--force` could not post back.
#[tokio::test]
async fn force_deletes_nothing_while_a_grant_is_unidentified() {
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.example.com");
    hold(&mut world, &t, GRAPH_APP, &["Directory.Read.All"]);
    world
        .customer_mut(&t)
        .unwrap()
        .service_principals
        .get_mut(APP_ID)
        .unwrap()
        .grants
        .push(world::PermissionGrant {
            id: "orphan".into(),
            resource_sp: "77777777-0000-0000-0000-000000000000".into(),
            principal: None,
            scopes: vec!["Mystery.Read".into()],
        });
    let w = SimEnv::start(world).await;
    w.map_all();
    let out = consent(&w, &["--all", "--force"]).await;
    out.assert_code(5);
    let message = out.json()[0]["error"]["message"].to_string();
    assert!(message.contains("cannot identify"), "{message}");
    assert!(w.writes().is_empty(), "no DELETE and no POST");
}
