//! The per-customer consent reconciler. It reads what the app holds in the customer tenant,
//! grants what the manifest declares and the tenant lacks (one Partner Center POST per
//! resource), re-grants with DELETE + POST only when told to (`--force`) and never losing a
//! grant that existed, and proves the result by reading it back through Graph.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::manifest::{Grant, Manifest, alias_of, missing};
use crate::auth::TokenProvider;
use crate::graph::Graph;
use crate::graph::readback::{Held, ReadbackError};
use crate::http::{ApiError, RemoteError, Sleeper};
use crate::partner_center::PartnerCenter;
use crate::partner_center::consents::Posted;

/// A customer's result, as CONTRACT.md names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Granted,
    Unchanged,
    Regranted,
    GrantedUnverified,
    Planned,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Granted => "granted",
            Status::Unchanged => "unchanged",
            Status::Regranted => "regranted",
            Status::GrantedUnverified => "granted_unverified",
            Status::Planned => "planned",
            Status::Failed => "failed",
        }
    }

    pub fn ok(self) -> bool {
        self != Status::Failed
    }
}

/// One resource's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantResult {
    /// The resource's enterprise application id.
    pub resource: String,
    /// Its alias (graph, exchange, …), when it has one.
    pub resource_name: Option<String>,
    pub scopes: Vec<String>,
    pub status: Status,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub code: &'static str,
    pub message: String,
}

/// What happened in one customer tenant.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub grants: Vec<GrantResult>,
    pub error: Option<Failure>,
    pub warnings: Vec<String>,
    /// Partner Center refused for lack of MFA: the whole run must stop.
    pub stop_run: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub force: bool,
    pub dry_run: bool,
    /// `None`: do not verify (`--no-verify`, or no Graph scope to read with).
    pub verify_timeout: Option<Duration>,
    pub can_read_back: bool,
}

pub struct Reconciler<'a> {
    pub pc: &'a PartnerCenter,
    pub graph: &'a Graph,
    pub tokens: &'a TokenProvider,
    pub manifest: &'a Manifest,
    pub options: Options,
    pub sleep: Sleeper,
    /// True once the user pressed Ctrl-C: stop waiting, start nothing new.
    pub interrupted: &'a (dyn Fn() -> bool + Send + Sync),
}

/// What to do for one resource.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// Held with every declared scope.
    Held,
    /// Not held (or the state could not be read): POST it.
    Post,
    /// Held with fewer scopes than declared.
    Differs(Vec<String>),
}

fn result(g: &Grant, status: Status, error: Option<String>) -> GrantResult {
    GrantResult {
        resource: g.resource.clone(),
        resource_name: alias_of(&g.resource).map(str::to_string),
        scopes: g.scopes.clone(),
        status,
        error,
    }
}

fn failed(code: &'static str, message: impl Into<String>, grants: Vec<GrantResult>) -> Outcome {
    Outcome {
        status: Status::Failed,
        grants,
        error: Some(Failure {
            code,
            message: message.into(),
        }),
        warnings: Vec::new(),
        stop_run: false,
    }
}

/// The error code for a Partner Center refusal of a consent write.
fn classify(e: &RemoteError, resource: &str) -> &'static str {
    match e {
        RemoteError::Api(a) if a.is_mfa_required() => "mfa_required",
        RemoteError::Api(ApiError::Throttled { .. }) => "throttled",
        RemoteError::Api(a) => match a.status() {
            // 403/20002: no commerce relationship, so not a customer of this partner.
            Some(403) if a.code() == Some("20002") => "not_a_customer",
            Some(403) => "gdap_role_missing",
            Some(404) => "not_a_customer",
            Some(400) if !resource.is_empty() && resource_missing(a, resource) => {
                "resource_missing"
            }
            _ => "remote_error",
        },
        RemoteError::Auth(a) if sign_in_gone(a) => "sign_in_expired",
        RemoteError::Auth(_) => "remote_error",
    }
}

/// The partner's sign-in itself is gone (exit 4): every other customer would fail alike.
fn sign_in_gone(a: &crate::auth::AuthError) -> bool {
    crate::CliError::auth_exit(a) == crate::ExitCode::NotSignedIn
}

/// Codes that stop the whole run.
fn stops_run(code: &str) -> bool {
    matches!(code, "mfa_required" | "sign_in_expired")
}

/// Partner Center's 400 for a resource the customer tenant does not have: AADSTS500011, or a
/// message naming the resource.
fn resource_missing(e: &ApiError, resource: &str) -> bool {
    let msg = e
        .fault()
        .and_then(|f| f.message.as_deref())
        .unwrap_or_default()
        .to_ascii_lowercase();
    msg.contains("aadsts500011")
        || msg.contains("resource principal")
        || msg.contains(&resource.to_ascii_lowercase())
}

fn explain(code: &str, e: &RemoteError) -> String {
    let base = e.to_string();
    match code {
        "gdap_role_missing" => format!(
            "{base}; the partner user needs Cloud Application Administrator or Application Administrator in this customer through an active GDAP relationship, and membership of AdminAgents"
        ),
        "not_a_customer" => {
            format!("{base}; Partner Center does not know this tenant as your customer")
        }
        "mfa_required" => format!("{base}; run csp authorize again and complete MFA"),
        _ => base,
    }
}

impl Reconciler<'_> {
    pub async fn reconcile(&self, tenant: &str) -> Outcome {
        let m = self.manifest;
        // 1. What is there now.
        let held = if self.options.can_read_back {
            match self.graph.held_by(tenant, &m.application_id).await {
                Ok(h) => Some(h),
                Err(ReadbackError::NotConsented) => Some(Held::default()),
                Err(ReadbackError::Remote(e)) => return self.read_failure(&e),
            }
        } else {
            None
        };
        // 2. What to do per resource.
        let steps: Vec<(Grant, Step)> = m
            .grants
            .iter()
            .map(|g| {
                // Only tenant-wide (admin) grants count: one user's consent is not the tenant's.
                let step = match held.as_ref().map(|h| h.tenant_wide.get(&g.resource)) {
                    None | Some(None) => Step::Post,
                    Some(Some(have)) => {
                        let lacking = missing(&g.scopes, have);
                        if lacking.is_empty() {
                            Step::Held
                        } else {
                            Step::Differs(lacking)
                        }
                    }
                };
                (g.clone(), step)
            })
            .collect();
        let mut warnings = Vec::new();
        if let Some(h) = &held {
            warnings.extend(extra_scopes(m, h));
        }
        let differs: Vec<&(Grant, Step)> = steps
            .iter()
            .filter(|(_, s)| matches!(s, Step::Differs(_)))
            .collect();
        if steps.iter().all(|(_, s)| *s == Step::Held) {
            return Outcome {
                status: Status::Unchanged,
                grants: steps
                    .iter()
                    .map(|(g, _)| result(g, Status::Unchanged, None))
                    .collect(),
                error: None,
                warnings,
                stop_run: false,
            };
        }
        if !differs.is_empty() && !self.options.force {
            let what: Vec<String> = differs
                .iter()
                .map(|(g, s)| match s {
                    Step::Differs(lacking) => format!("{} lacks {}", g.label(), lacking.join(", ")),
                    _ => String::new(),
                })
                .collect();
            let mut o = failed(
                "scopes_differ",
                format!(
                    "already consented with fewer scopes than declared ({}); nothing changed. Adding scopes means deleting and re-posting the consent: run again with --force",
                    what.join("; ")
                ),
                steps
                    .iter()
                    .map(|(g, s)| {
                        let st = if *s == Step::Held {
                            Status::Unchanged
                        } else {
                            Status::Failed
                        };
                        result(
                            g,
                            st,
                            (st == Status::Failed).then(|| "scopes_differ".to_string()),
                        )
                    })
                    .collect(),
            );
            o.warnings = warnings;
            return o;
        }
        if self.options.dry_run {
            return Outcome {
                status: Status::Planned,
                grants: steps
                    .iter()
                    .map(|(g, s)| {
                        result(
                            g,
                            if *s == Step::Held {
                                Status::Unchanged
                            } else {
                                Status::Planned
                            },
                            None,
                        )
                    })
                    .collect(),
                error: None,
                warnings,
                stop_run: false,
            };
        }
        let mut outcome = if differs.is_empty() {
            self.grant_missing(tenant, &steps).await
        } else {
            let held = held.expect("--force requires a readback");
            self.regrant(tenant, &held).await
        };
        outcome.warnings.splice(0..0, warnings);
        outcome
    }

    fn read_failure(&self, e: &RemoteError) -> Outcome {
        let code = match e {
            RemoteError::Auth(a) if matches!(a.aadsts(), Some(50020 | 50177)) => {
                "gdap_role_missing"
            }
            other => classify(other, ""),
        };
        let mut o = failed(
            code,
            format!(
                "could not read what the app holds in the tenant: {}",
                explain(code, e)
            ),
            Vec::new(),
        );
        o.stop_run = stops_run(code);
        o
    }

    /// POSTs every resource not yet granted, then verifies.
    async fn grant_missing(&self, tenant: &str, steps: &[(Grant, Step)]) -> Outcome {
        let m = self.manifest;
        let mut results = Vec::new();
        let mut first_failure: Option<Failure> = None;
        let mut stop_run = false;
        let mut posted = Vec::new();
        for (g, step) in steps {
            if *step == Step::Held {
                results.push(result(g, Status::Unchanged, None));
                continue;
            }
            if stop_run
                || first_failure
                    .as_ref()
                    .is_some_and(|f| f.code != "resource_missing")
            {
                results.push(result(g, Status::Failed, Some("not_attempted".into())));
                continue;
            }
            match self
                .pc
                .post_consent(tenant, &m.application_id, &m.display_name, g)
                .await
            {
                Ok(p) => {
                    posted.push((g.clone(), p));
                    results.push(result(g, Status::Granted, None));
                }
                Err(e) => {
                    let code = classify(&e, &g.resource);
                    stop_run |= stops_run(code);
                    results.push(result(g, Status::Failed, Some(code.to_string())));
                    first_failure.get_or_insert(Failure {
                        code,
                        message: format!("{}: {}", g.label(), explain(code, &e)),
                    });
                }
            }
        }
        if posted.is_empty() {
            return Outcome {
                status: Status::Failed,
                grants: results,
                error: first_failure,
                warnings: Vec::new(),
                stop_run,
            };
        }
        let all_existed = posted
            .iter()
            .all(|(_, p)| matches!(p, Posted::AlreadyExists));
        let mut outcome = self
            .verify(
                tenant,
                &posted.iter().map(|(g, _)| g.clone()).collect::<Vec<_>>(),
            )
            .await;
        // Carry the per-resource results into the verified outcome.
        for r in &mut results {
            if r.status == Status::Granted {
                r.status = match outcome.status {
                    Status::Failed => Status::Failed,
                    Status::GrantedUnverified => Status::GrantedUnverified,
                    _ => Status::Granted,
                };
                if outcome.status == Status::Failed {
                    r.error = Some("not_verified".into());
                }
            }
        }
        if outcome.status == Status::Granted && all_existed {
            // Every POST said "already exists" and the readback confirms it.
            outcome.status = Status::Unchanged;
            for r in &mut results {
                if r.status == Status::Granted {
                    r.status = Status::Unchanged;
                }
            }
        }
        let existed: Vec<String> = posted
            .iter()
            .filter(|(_, p)| matches!(p, Posted::AlreadyExists))
            .map(|(g, _)| g.label())
            .collect();
        if !existed.is_empty()
            && outcome.status == Status::Failed
            && outcome
                .error
                .as_ref()
                .is_some_and(|e| e.code == "not_verified")
        {
            // Partner Center may keep one consent per application: a resource cannot be added
            // to it by another POST (API.md §3.1 leaves this unconfirmed).
            outcome.error = Some(Failure {
                code: "scopes_differ",
                message: format!(
                    "Partner Center answered that the app's consent already exists, but {} never appeared in the tenant: adding a resource to an app already consented there needs --force (delete and post again)",
                    existed.join(", ")
                ),
            });
        }
        if all_existed && outcome.status == Status::GrantedUnverified {
            outcome.warnings.push("Partner Center said the consent already exists; without a readback csp cannot confirm it".into());
        }
        if let Some(f) = first_failure {
            outcome.status = Status::Failed;
            outcome.error = Some(f);
        }
        outcome.grants = results;
        outcome.stop_run |= stop_run;
        outcome
    }

    /// `--force`: DELETE the consent and POST the union of what was held and what is declared,
    /// one resource per POST; if a POST fails, POST back what was there before.
    async fn regrant(&self, tenant: &str, held: &Held) -> Outcome {
        let m = self.manifest;
        if !held.unidentified.is_empty() {
            return failed(
                "remote_error",
                format!(
                    "the app holds grants on resources csp cannot identify (service principals {}); nothing was deleted",
                    held.unidentified.join(", ")
                ),
                Vec::new(),
            );
        }
        // Microsoft does not say whether the DELETE removes only the delegated grants or the
        // service principal too (API.md §3.2, UNCONFIRMED). If it removes the service
        // principal, per-user consents and application permissions go with it, and csp can
        // restore neither: refuse rather than risk them.
        let mut at_risk: Vec<String> = held
            .scopes
            .iter()
            .filter_map(|(resource, scopes)| {
                let wide = held.tenant_wide.get(resource);
                let per_user: Vec<&str> = scopes
                    .iter()
                    .filter(|s| !wide.is_some_and(|w| w.iter().any(|x| x.eq_ignore_ascii_case(s))))
                    .map(String::as_str)
                    .collect();
                (!per_user.is_empty()).then(|| {
                    format!(
                        "per-user consent on {}: {}",
                        alias_of(resource).unwrap_or(resource),
                        per_user.join(" ")
                    )
                })
            })
            .collect();
        if let Some(sp) = &held.service_principal_id {
            match self.graph.app_role_assignments(tenant, sp).await {
                Ok(roles) => at_risk.extend(
                    roles
                        .into_iter()
                        .map(|r| format!("application permission {r}")),
                ),
                Err(e) => {
                    let mut o = self.read_failure(&e);
                    if let Some(f) = o.error.as_mut() {
                        f.message = format!(
                            "{}; --force checks the app's application permissions before it deletes anything, so nothing was deleted",
                            f.message
                        );
                    }
                    return o;
                }
            }
        }
        if !at_risk.is_empty() {
            return failed(
                "force_unsafe",
                format!(
                    "--force would delete the consent, which may take the app's service principal with it, and csp could not restore: {}. Nothing was deleted. Add the missing scopes to the tenant-wide grant with Graph instead (PATCH /oauth2PermissionGrants/{{id}}), or remove these first",
                    at_risk.join("; ")
                ),
                Vec::new(),
            );
        }
        let before: Vec<Grant> = held
            .tenant_wide
            .iter()
            .filter(|(_, s)| !s.is_empty())
            .map(|(r, s)| Grant {
                resource: r.clone(),
                scopes: s.iter().cloned().collect(),
            })
            .collect();
        let mut union: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for g in &m.grants {
            union.insert(g.resource.clone(), g.scopes.clone());
        }
        for g in &before {
            let entry = union.entry(g.resource.clone()).or_default();
            for s in &g.scopes {
                if !entry.iter().any(|x| x.eq_ignore_ascii_case(s)) {
                    entry.push(s.clone());
                }
            }
        }
        let union: Vec<Grant> = union
            .into_iter()
            .map(|(resource, scopes)| Grant { resource, scopes })
            .collect();
        let mut notes = Vec::new();
        if let Err(e) = self.pc.delete_consent(tenant, &m.application_id).await {
            // A lost answer (a timeout, a 5xx, or a 404 on the retry of a DELETE that did
            // happen) may hide a deletion: then re-post, which is safe, rather than claim that
            // nothing changed. A clear refusal means nothing was deleted.
            let maybe_deleted = match &e {
                RemoteError::Api(ApiError::Network { .. }) => true,
                RemoteError::Api(a) => matches!(a.status(), Some(404 | 500..=599)),
                RemoteError::Auth(_) => false,
            };
            if !maybe_deleted {
                let code = classify(&e, "");
                let mut o = failed(
                    code,
                    format!(
                        "could not delete the consent to re-grant it (nothing changed): {}",
                        explain(code, &e)
                    ),
                    Vec::new(),
                );
                o.stop_run = stops_run(code);
                return o;
            }
            notes.push(format!(
                "the DELETE's answer was lost ({e}); the consent may be gone, so every grant is posted again"
            ));
        }
        let mut results = Vec::new();
        let mut reposted: BTreeSet<String> = BTreeSet::new();
        let mut failure: Option<Failure> = None;
        let mut stop_run = false;
        for g in &union {
            if failure
                .as_ref()
                .is_some_and(|f| f.code != "resource_missing")
            {
                results.push(result(g, Status::Failed, Some("not_attempted".into())));
                continue;
            }
            match self
                .pc
                .post_consent(tenant, &m.application_id, &m.display_name, g)
                .await
            {
                Ok(_) => {
                    reposted.insert(g.resource.clone());
                    results.push(result(g, Status::Regranted, None));
                }
                Err(e) => {
                    let code = classify(&e, &g.resource);
                    stop_run |= stops_run(code);
                    results.push(result(g, Status::Failed, Some(code.to_string())));
                    failure.get_or_insert(Failure {
                        code,
                        message: format!("{}: {}", g.label(), explain(code, &e)),
                    });
                }
            }
        }
        // What the tenant held before and has not got back.
        let lost: Vec<&Grant> = before
            .iter()
            .filter(|g| !reposted.contains(&g.resource))
            .collect();
        if !lost.is_empty() {
            let mut still_lost = Vec::new();
            for g in lost {
                if self
                    .pc
                    .post_consent(tenant, &m.application_id, &m.display_name, g)
                    .await
                    .is_err()
                {
                    still_lost.push(format!("{}: {}", g.label(), g.scopes.join(" ")));
                }
            }
            let cause = failure
                .as_ref()
                .map(|f| f.message.clone())
                .unwrap_or_default();
            if !still_lost.is_empty() {
                return Outcome {
                    status: Status::Failed,
                    grants: results,
                    error: Some(Failure {
                        code: "regrant_failed",
                        message: format!(
                            "ACT NOW: the consent was deleted and could not be restored; this tenant has LOST these delegated grants: {}. Cause: {cause}. Grant them again (csp consent --force once the cause is fixed) before anything that depends on them runs",
                            still_lost.join("; ")
                        ),
                    }),
                    warnings: Vec::new(),
                    stop_run,
                };
            }
            return Outcome {
                status: Status::Failed,
                grants: results,
                error: failure.map(|f| Failure {
                    code: f.code,
                    message: format!("{}; the grants held before were posted back", f.message),
                }),
                warnings: Vec::new(),
                stop_run,
            };
        }
        let reposted_grants: Vec<Grant> = union
            .iter()
            .filter(|g| reposted.contains(&g.resource))
            .cloned()
            .collect();
        let mut outcome = self.verify(tenant, &reposted_grants).await;
        if outcome.status == Status::Granted {
            outcome.status = Status::Regranted;
        }
        if let Some(f) = failure {
            // The POST's own failure says more than a verification of what was not posted.
            outcome.status = Status::Failed;
            outcome.error = Some(f);
        }
        outcome.warnings.extend(notes);
        outcome.grants = results;
        outcome.stop_run |= stop_run;
        outcome
    }

    /// Reads the grants back until `expected` is all there, or the verify timeout passes.
    async fn verify(&self, tenant: &str, expected: &[Grant]) -> Outcome {
        let ok = |status| Outcome {
            status,
            grants: Vec::new(),
            error: None,
            warnings: Vec::new(),
            stop_run: false,
        };
        let Some(timeout) = self
            .options
            .verify_timeout
            .filter(|_| self.options.can_read_back)
        else {
            return ok(Status::GrantedUnverified);
        };
        // New scopes only appear in newly issued tokens.
        self.tokens.forget_tenant(tenant);
        let started = Instant::now();
        let mut wait = Duration::from_secs(1);
        let mut last: String;
        loop {
            match self
                .graph
                .held_by(tenant, &self.manifest.application_id)
                .await
            {
                Ok(held) => {
                    let lacking: Vec<String> = expected
                        .iter()
                        .filter_map(|g| {
                            let have = held
                                .tenant_wide
                                .get(&g.resource)
                                .cloned()
                                .unwrap_or_default();
                            let l = missing(&g.scopes, &have);
                            (!l.is_empty()).then(|| format!("{} lacks {}", g.label(), l.join(", ")))
                        })
                        .collect();
                    if lacking.is_empty() {
                        return ok(Status::Granted);
                    }
                    last = lacking.join("; ");
                }
                Err(ReadbackError::NotConsented) => {
                    last = "the tenant still refuses the app's token (AADSTS65001)".into();
                }
                Err(ReadbackError::Remote(e)) => last = crate::CliError::from(e).to_string(),
            }
            // A fresh token next time: the last one may predate the grant.
            self.tokens.forget_tenant(tenant);
            if (self.interrupted)() {
                let mut o = ok(Status::GrantedUnverified);
                o.warnings.push("verification interrupted".into());
                return o;
            }
            if started.elapsed() + wait > timeout {
                return failed(
                    "not_verified",
                    format!(
                        "Partner Center accepted the consent, but it did not show in the tenant within {} s ({last}); Microsoft can take minutes to propagate: run again later, or raise --verify-timeout",
                        timeout.as_secs()
                    ),
                    Vec::new(),
                );
            }
            (self.sleep)(wait).await;
            wait = (wait * 2).min(Duration::from_secs(15));
        }
    }
}

/// Warnings for scopes the app holds beyond the manifest.
fn extra_scopes(m: &Manifest, held: &Held) -> Vec<String> {
    m.extra_scopes(&held.scopes)
        .into_iter()
        .map(|(resource, extra)| {
            let label = alias_of(&resource).map_or_else(|| resource.clone(), str::to_string);
            format!(
                "{label} also holds scopes beyond the manifest: {}",
                extra.join(", ")
            )
        })
        .collect()
}
