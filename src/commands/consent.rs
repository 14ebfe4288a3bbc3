//! `csp consent`: runs the consent reconciler over the chosen mapped customers, several at a
//! time within Partner Center's rate limit, with progress on stderr, and reports a result per
//! customer. On Ctrl-C it starts no new customer and reports every one: finished, abandoned in
//! flight (`interrupted`) or never started (`not_started`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;

use crate::cli::ConsentArgs;
use crate::consent::manifest::{Manifest, ManifestFlags};
use crate::consent::reconcile::{GrantResult, Options, Outcome, Reconciler, Status};
use crate::context::Context;
use crate::error::CliError;
use crate::failure::{Failure, FailureCode};
use crate::http::{RateLimits, tokio_sleeper};
use crate::mapping::{Mapping, MappingStore};
use crate::output::Render;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerResult {
    pub customer: String,
    pub tenant_id: String,
    pub status: Status,
    pub grants: Vec<GrantResult>,
    pub error: Option<Failure>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct ConsentReport(Vec<CustomerResult>);

impl Render for ConsentReport {
    fn fit(&self) -> crate::output::Fit {
        crate::output::Fit::dropping(&["tenantId"]).with_min_text(40)
    }

    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec!["customer", "tenantId", "status", "detail"],
            self.0
                .iter()
                .map(|r| {
                    let detail = match &r.error {
                        Some(e) => format!("{}: {}", e.code, e.message),
                        None => {
                            let mut parts: Vec<String> = r
                                .grants
                                .iter()
                                .map(|g| {
                                    format!(
                                        "{} {}",
                                        g.resource_name
                                            .clone()
                                            .unwrap_or_else(|| g.resource.clone()),
                                        g.scopes.join(" ")
                                    )
                                })
                                .collect();
                            parts.extend(r.warnings.iter().map(|w| format!("warning: {w}")));
                            parts.join("; ")
                        }
                    };
                    vec![
                        r.customer.clone(),
                        r.tenant_id.clone(),
                        r.status.as_str().to_string(),
                        detail,
                    ]
                })
                .collect(),
        )
    }
}

/// The mapped customers a run targets, in the order given (or the file's order for --all).
fn targets(ctx: &Context, args: &ConsentArgs) -> Result<Vec<Mapping>, CliError> {
    let mappings = MappingStore::new(&ctx.settings.mappings_path).load()?;
    if args.all {
        if mappings.all().is_empty() {
            return Err(CliError::usage(
                "--all: no client is mapped yet",
                Some("map clients first: csp map --customer CLIENT --domain DOMAIN"),
            ));
        }
        return Ok(mappings.all().to_vec());
    }
    let mut out: Vec<Mapping> = Vec::new();
    for name in &args.customer {
        let m = mappings
            .client(name)
            .ok_or_else(|| super::resolve::not_a_client(&mappings, name))?;
        if !out.iter().any(|o| o.tenant_id == m.tenant_id) {
            out.push(m.clone());
        }
    }
    Ok(out)
}

pub async fn run(ctx: &Context, args: &ConsentArgs) -> Result<(), CliError> {
    let settings = &ctx.settings;
    let profile = settings.profile_config();
    let sign_in_client = settings
        .env_sign_in
        .client_id
        .clone()
        .or(profile.client_id.clone());
    let manifest = Manifest::resolve(
        profile.consent.as_ref(),
        &ManifestFlags {
            app_id: args.app_id.clone(),
            display_name: args.display_name.clone(),
            grants: args.grant.clone(),
        },
        sign_in_client.as_deref(),
    )
    .map_err(|m| CliError::usage(m, None))?;
    let targets = targets(ctx, args)?;
    let can_read_back = manifest.can_read_back();
    if args.force && !can_read_back {
        return Err(CliError::usage(
            "--force needs to read every grant before deleting the consent, but the manifest grants no Graph scope that can read them (Directory.Read.All, or Application.Read.All with DelegatedPermissionGrant.Read.All)",
            None,
        ));
    }
    if !can_read_back {
        ctx.warn("the manifest grants no Graph scope that can read the grants back (Directory.Read.All, or Application.Read.All with DelegatedPermissionGrant.Read.All): results will be granted_unverified");
    }
    if args.dry_run {
        ctx.note("dry run: reading only; no consent is posted or deleted");
    }

    let limits = Arc::new(RateLimits::with_consent_rate(args.rate));
    let pc = ctx.partner_center_with(limits).await?;
    let graph = ctx.graph().await?;
    let tokens = ctx.token_provider().await?;
    // In-flight work is left to finish: a --force customer between its DELETE and POST must not
    // be dropped. Without --force in-flight customers are abandoned after a few seconds.
    ctx.winds_down_on_interrupt(if args.force {
        // Long enough for a re-grant to finish through Retry-After waits.
        Duration::from_secs(600)
    } else {
        Duration::from_secs(10)
    });
    let interrupted = || ctx.interrupted();
    // Which customers have an active GDAP relationship, to tell a missing relationship from a
    // missing role when Partner Center refuses (403). Unreadable (no permission): not told.
    let active_gdap: Option<std::collections::BTreeSet<String>> =
        match graph.gdap_relationships().await {
            Ok(rels) => Some(
                rels.iter()
                    .filter(|r| r.is_active())
                    .filter_map(|r| r.tenant_id())
                    .collect(),
            ),
            Err(e) => {
                tracing::info!("cannot read the GDAP relationships: {e}");
                None
            }
        };
    let reconciler = Reconciler {
        pc: &pc,
        graph: &graph,
        tokens: &tokens,
        manifest: &manifest,
        options: Options {
            force: args.force,
            dry_run: args.dry_run,
            verify_timeout: (!args.no_verify).then(|| Duration::from_secs(args.verify_timeout)),
            can_read_back,
        },
        sleep: tokio_sleeper(),
        interrupted: &interrupted,
        active_gdap: active_gdap.as_ref(),
    };

    let total = targets.len();
    let what = if args.dry_run {
        "planning"
    } else {
        "consenting"
    };
    let bar = super::progress::bar(ctx, total as u64, what);
    let failures = AtomicUsize::new(0);
    // The code of a failure that stopped the run (MFA, a dead sign-in), once one has.
    let stopped_by: std::sync::Mutex<Option<FailureCode>> = std::sync::Mutex::new(None);
    let abandon_in_flight = !args.force;
    let mut results: Vec<(usize, CustomerResult)> =
        futures::stream::iter(targets.iter().enumerate())
            .map(|(i, target)| {
                let reconciler = &reconciler;
                let (bar, failures, stopped_by) = (&bar, &failures, &stopped_by);
                async move {
                    let stop = *stopped_by.lock().unwrap_or_else(|e| e.into_inner());
                    let outcome = if let Some(code) = stop {
                        not_started(&format!(
                            "the run stopped ({code} for another customer) before its turn"
                        ))
                    } else if ctx.interrupted() {
                        not_started("Ctrl-C came before its turn; run csp consent again to go on")
                    } else {
                        let work = reconciler.reconcile(&target.tenant_id);
                        let outcome = if abandon_in_flight {
                            tokio::select! {
                                o = work => o,
                                () = async {
                                    ctx.until_interrupted().await;
                                    tokio::time::sleep(Duration::from_secs(3)).await;
                                } => interrupted_outcome(),
                            }
                        } else {
                            work.await
                        };
                        if let Some(e) = outcome.error.as_ref().filter(|e| e.code.stops_run()) {
                            stopped_by
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .get_or_insert(e.code);
                        }
                        if !outcome.status.ok() {
                            let n = failures.fetch_add(1, Ordering::SeqCst) + 1;
                            bar.set_message(format!("{what} ({n} failed)"));
                        }
                        bar.inc(1);
                        outcome
                    };
                    (
                        i,
                        CustomerResult {
                            customer: target.customer.clone(),
                            tenant_id: target.tenant_id.clone(),
                            status: outcome.status,
                            grants: outcome.grants,
                            error: outcome.error,
                            warnings: outcome.warnings,
                        },
                    )
                }
            })
            .buffer_unordered(usize::from(args.jobs))
            .collect()
            .await;
    bar.finish_and_clear();
    results.sort_by_key(|(i, _)| *i);
    let results: Vec<CustomerResult> = results.into_iter().map(|(_, r)| r).collect();

    let counts = summary(&results);
    if !counts.is_empty() {
        ctx.note(&counts);
    }
    let finished = results
        .iter()
        .filter(|r| !r.error.as_ref().is_some_and(|e| e.code.unfinished()))
        .count();
    let report = ConsentReport(results);
    super::emit(ctx, &report)?;
    let stopped = report
        .0
        .iter()
        .any(|r| r.error.as_ref().is_some_and(|e| e.code.stops_run()));
    if ctx.interrupted() && !stopped {
        ctx.note(&format!(
            "interrupted: {finished} of {total} customers finished; the rest are listed as interrupted (abandoned in flight) or not_started"
        ));
    }
    CliError::for_run(
        report.0.iter().filter_map(|r| r.error.as_ref()),
        total,
        "customers failed",
        ctx.interrupted(),
    )
}

/// A customer abandoned in flight after Ctrl-C: reported, not dropped.
fn interrupted_outcome() -> Outcome {
    Outcome {
        status: Status::Failed,
        grants: Vec::new(),
        error: Some(Failure::new(
            FailureCode::Interrupted,
            "interrupted before it finished (a consent may already have been posted): run csp consent again to reconcile",
        )),
        warnings: Vec::new(),
    }
}

/// A customer Ctrl-C or a stopped run kept from starting: reported, not dropped.
fn not_started(message: &str) -> Outcome {
    Outcome {
        status: Status::Failed,
        grants: Vec::new(),
        error: Some(Failure::new(FailureCode::NotStarted, message)),
        warnings: Vec::new(),
    }
}

/// "2 granted, 1 unchanged, 1 failed, 3 not_started".
fn summary(results: &[CustomerResult]) -> String {
    let order = [
        Status::Granted,
        Status::Regranted,
        Status::Unchanged,
        Status::GrantedUnverified,
        Status::Planned,
        Status::WouldForce,
        Status::Failed,
    ]
    .map(Status::as_str);
    super::tally::line(
        &order,
        results
            .iter()
            .map(|r| super::tally::word(r.status.as_str(), r.error.as_ref())),
    )
}
