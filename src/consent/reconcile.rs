//! The per-customer consent reconciler. It reads what the app holds in the customer tenant,
//! grants what the manifest declares and the tenant lacks (one Partner Center POST per
//! resource), re-grants with DELETE + POST only when told to (`--force`) and never losing a
//! grant that existed, and proves the result by reading it back through Graph.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::manifest::{Grant, Manifest, alias_of, missing};
use crate::auth::TokenProvider;
use crate::failure::{Failure, FailureCode};
use crate::graph::Graph;
use crate::graph::readback::{Held, ReadbackError};
use crate::http::{ApiError, RemoteError, Sleeper};
use crate::partner_center::PartnerCenter;
use crate::partner_center::consents::Posted;

/// A customer's result, as docs/commands/consent.md names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Granted,
    Unchanged,
    Regranted,
    GrantedUnverified,
    Planned,
    /// `--dry-run`: present with fewer scopes than declared; a real run needs `--force`.
    WouldForce,
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
            Status::WouldForce => "would_force",
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
    pub error: Option<FailureCode>,
}

/// What happened in one customer tenant.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub grants: Vec<GrantResult>,
    pub error: Option<Failure>,
    pub warnings: Vec<String>,
}

impl Outcome {
    fn new(status: Status, grants: Vec<GrantResult>, error: Option<Failure>) -> Outcome {
        Outcome {
            status: if error.is_some() {
                Status::Failed
            } else {
                status
            },
            grants,
            error,
            warnings: Vec::new(),
        }
    }

    fn failed(code: FailureCode, message: impl Into<String>, grants: Vec<GrantResult>) -> Outcome {
        Outcome::new(Status::Failed, grants, Some(Failure::new(code, message)))
    }

    /// Partner Center refused for lack of MFA, or the sign-in is gone: the whole run must stop.
    pub fn stops_run(&self) -> bool {
        self.error.as_ref().is_some_and(|e| e.code.stops_run())
    }

    fn with_warnings(mut self, mut earlier: Vec<String>) -> Outcome {
        earlier.append(&mut self.warnings);
        self.warnings = earlier;
        self
    }
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
    /// The customer tenants with an active GDAP relationship, when they could be read: a 403
    /// for a tenant outside it is `gdap_missing`, inside it `gdap_role_missing`.
    pub active_gdap: Option<&'a BTreeSet<String>>,
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

fn result(g: &Grant, status: Status, error: Option<FailureCode>) -> GrantResult {
    GrantResult {
        resource: g.resource.clone(),
        resource_name: alias_of(&g.resource).map(str::to_string),
        scopes: g.scopes.clone(),
        status,
        error,
    }
}

/// The error code for a Partner Center refusal of a consent write in `tenant`.
fn classify(
    e: &RemoteError,
    resource: &str,
    tenant: &str,
    active_gdap: Option<&BTreeSet<String>>,
) -> FailureCode {
    match e {
        RemoteError::Api(a) if FailureCode::of_api(a) != FailureCode::RemoteError => {
            FailureCode::of_api(a)
        }
        RemoteError::Api(a) => match a.status() {
            // 403/20002: no commerce relationship, so not a customer of this partner.
            Some(403) if a.code() == Some("20002") => FailureCode::NotACustomer,
            // Without an active relationship no role can help; with one, a role is missing.
            Some(403)
                if active_gdap.is_some_and(|set| !set.contains(&tenant.to_ascii_lowercase())) =>
            {
                FailureCode::GdapMissing
            }
            Some(403) => FailureCode::GdapRoleMissing,
            Some(404) => FailureCode::NotACustomer,
            Some(400) if !resource.is_empty() && resource_missing(a, resource) => {
                FailureCode::ResourceMissing
            }
            _ => FailureCode::RemoteError,
        },
        RemoteError::Auth(_) => FailureCode::of_remote(e),
    }
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

/// The failure in words: what it means and what to do first (a table shortens the message
/// to a few lines, so the advice leads), then Microsoft's own answer.
fn explain(code: FailureCode, e: &RemoteError) -> String {
    let base = e.to_string();
    let advice = match code {
        FailureCode::GdapRoleMissing => {
            "the partner user needs Cloud Application Administrator or Application Administrator in this customer through an active GDAP relationship, and membership of AdminAgents"
        }
        FailureCode::GdapMissing => {
            "there is no active GDAP relationship with this customer: request one (csp gdap request --template consent), have the customer approve it, then assign its roles (csp gdap assign)"
        }
        FailureCode::NotACustomer => "Partner Center does not know this tenant as your customer",
        FailureCode::MfaRequired => "run csp authorize again and complete MFA",
        _ => return base,
    };
    format!("{advice}; {base}")
}

/// The outcome of posting a set of grants one by one.
struct Posting {
    /// One result per grant, in order.
    results: Vec<GrantResult>,
    /// What was accepted, and how.
    posted: Vec<(Grant, Posted)>,
    /// The failure that decides the customer's result: a run-stopping one over the first.
    failure: Option<Failure>,
}

impl Reconciler<'_> {
    pub async fn reconcile(&self, tenant: &str) -> Outcome {
        let m = self.manifest;
        // 1. What is there now.
        let held = if self.options.can_read_back {
            match self.graph.held_by(tenant, &m.application_id).await {
                Ok(h) => Some(h),
                Err(ReadbackError::NotConsented) => Some(Held::default()),
                Err(ReadbackError::Remote(e)) => return read_failure(&e, tenant, None, ""),
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
        let warnings = held
            .as_ref()
            .map(|h| extra_scopes(m, h))
            .unwrap_or_default();
        let unchanged_or = |s: &Step, other: Status| {
            if *s == Step::Held {
                Status::Unchanged
            } else {
                other
            }
        };
        let differs: Vec<String> = steps
            .iter()
            .filter_map(|(g, s)| match s {
                Step::Differs(lacking) => {
                    Some(format!("{} lacks {}", g.label(), lacking.join(", ")))
                }
                _ => None,
            })
            .collect();
        // 3. Decide.
        let outcome = if steps.iter().all(|(_, s)| *s == Step::Held) {
            let grants = steps
                .iter()
                .map(|(g, _)| result(g, Status::Unchanged, None));
            Outcome::new(Status::Unchanged, grants.collect(), None)
        } else if !differs.is_empty() && !self.options.force && self.options.dry_run {
            // A plan, not a failure: say what a real run would need.
            let grants = steps.iter().map(|(g, s)| {
                let st = match s {
                    Step::Differs(_) => Status::WouldForce,
                    other => unchanged_or(other, Status::Planned),
                };
                result(g, st, None)
            });
            let mut planned = Outcome::new(Status::WouldForce, grants.collect(), None);
            planned.warnings.push(format!(
                "consented with fewer scopes than declared ({}): a real run fails with scopes_differ; adding scopes needs --force",
                differs.join("; ")
            ));
            planned
        } else if !differs.is_empty() && !self.options.force {
            let grants = steps.iter().map(|(g, s)| {
                let st = unchanged_or(s, Status::Failed);
                result(
                    g,
                    st,
                    (st == Status::Failed).then_some(FailureCode::ScopesDiffer),
                )
            });
            Outcome::failed(
                FailureCode::ScopesDiffer,
                format!(
                    "already consented with fewer scopes than declared ({}); nothing changed. Adding scopes means deleting and re-posting the consent: run again with --force",
                    differs.join("; ")
                ),
                grants.collect(),
            )
        } else if self.options.dry_run {
            let grants = steps
                .iter()
                .map(|(g, s)| result(g, unchanged_or(s, Status::Planned), None));
            Outcome::new(Status::Planned, grants.collect(), None)
        } else if differs.is_empty() {
            self.grant_missing(tenant, &steps).await
        } else {
            let held = held.expect("--force requires a readback");
            self.regrant(tenant, &held).await
        };
        outcome.with_warnings(warnings)
    }

    /// POSTs each grant marked `true`, one resource per POST, in order. After a failure the
    /// rest are not attempted (except after a missing resource: the others may still exist),
    /// unless `keep_going` (restoring what a `--force` deleted: every grant is worth a try).
    async fn post_all(
        &self,
        tenant: &str,
        grants: &[(Grant, bool)],
        success: Status,
        keep_going: bool,
    ) -> Posting {
        let m = self.manifest;
        let mut posting = Posting {
            results: Vec::new(),
            posted: Vec::new(),
            failure: None,
        };
        for (g, post) in grants {
            if !post {
                posting.results.push(result(g, Status::Unchanged, None));
                continue;
            }
            let blocked = !keep_going
                && posting
                    .failure
                    .as_ref()
                    .is_some_and(|f| f.code != FailureCode::ResourceMissing);
            if blocked {
                posting
                    .results
                    .push(result(g, Status::Failed, Some(FailureCode::NotAttempted)));
                continue;
            }
            match self
                .pc
                .post_consent(tenant, &m.application_id, &m.display_name, g)
                .await
            {
                Ok(p) => {
                    posting.posted.push((g.clone(), p));
                    posting.results.push(result(g, success, None));
                }
                Err(e) => {
                    let code = classify(&e, &g.resource, tenant, self.active_gdap);
                    posting.results.push(result(g, Status::Failed, Some(code)));
                    let failure =
                        Failure::new(code, format!("{}: {}", g.label(), explain(code, &e)));
                    // The first failure explains the customer, unless a later one stops the run.
                    if posting.failure.is_none() || code.stops_run() {
                        posting.failure = Some(failure);
                    }
                }
            }
        }
        posting
    }

    /// POSTs every resource not yet granted, then verifies.
    async fn grant_missing(&self, tenant: &str, steps: &[(Grant, Step)]) -> Outcome {
        let plan: Vec<(Grant, bool)> = steps
            .iter()
            .map(|(g, s)| (g.clone(), *s != Step::Held))
            .collect();
        let Posting {
            mut results,
            posted,
            failure,
        } = self.post_all(tenant, &plan, Status::Granted, false).await;
        if posted.is_empty() {
            return Outcome::new(Status::Failed, results, failure);
        }
        let all_existed = posted
            .iter()
            .all(|(_, p)| matches!(p, Posted::AlreadyExists));
        let existed: Vec<String> = posted
            .iter()
            .filter(|(_, p)| matches!(p, Posted::AlreadyExists))
            .map(|(g, _)| g.label())
            .collect();
        let expected: Vec<Grant> = posted.into_iter().map(|(g, _)| g).collect();
        let verified = self.verify(tenant, &expected).await;
        let mut warnings = verified.warnings;
        let (status, mut error) = match verified.error {
            // Partner Center may keep one consent per application: a resource cannot be added to
            // it by another POST (its docs leave this open). Say so rather than "not verified".
            Some(f) if f.code == FailureCode::NotVerified && !existed.is_empty() => (
                Status::Failed,
                Some(Failure::new(
                    FailureCode::ScopesDiffer,
                    format!(
                        "Partner Center answered that the app's consent already exists, but {} never appeared in the tenant: adding a resource to an app already consented there needs --force (delete and post again)",
                        existed.join(", ")
                    ),
                )),
            ),
            Some(f) => (Status::Failed, Some(f)),
            // Every POST said "already exists" and the readback confirms it.
            None if verified.status == Status::Granted && all_existed => (Status::Unchanged, None),
            None => (verified.status, None),
        };
        if all_existed && status == Status::GrantedUnverified {
            warnings.push("Partner Center said the consent already exists; without a readback csp cannot confirm it".into());
        }
        for r in results.iter_mut().filter(|r| r.status == Status::Granted) {
            r.status = if error.is_some() {
                r.error = Some(FailureCode::NotVerified);
                Status::Failed
            } else if status == Status::Unchanged {
                Status::Unchanged
            } else {
                status
            };
        }
        // The POST's own failure says more than a verification of what was posted.
        if failure.is_some() {
            error = failure;
        }
        let mut outcome = Outcome::new(status, results, error);
        outcome.warnings = warnings;
        outcome
    }

    /// `--force`: DELETE the consent and POST the union of what was held and what is declared,
    /// one resource per POST; if a POST fails, POST back what was there before.
    async fn regrant(&self, tenant: &str, held: &Held) -> Outcome {
        let m = self.manifest;
        if let Some(refusal) = self.unsafe_to_delete(tenant, held).await {
            return refusal;
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
        let union: Vec<(Grant, bool)> = union
            .into_iter()
            .map(|(resource, scopes)| (Grant { resource, scopes }, true))
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
                let code = classify(&e, "", tenant, self.active_gdap);
                return Outcome::failed(
                    code,
                    format!(
                        "could not delete the consent to re-grant it (nothing changed): {}",
                        explain(code, &e)
                    ),
                    Vec::new(),
                );
            }
            notes.push(format!(
                "the DELETE's answer was lost ({e}); the consent may be gone, so every grant is posted again"
            ));
        }
        let Posting {
            results,
            posted,
            failure,
        } = self
            .post_all(tenant, &union, Status::Regranted, false)
            .await;
        let reposted: BTreeSet<String> = posted.iter().map(|(g, _)| g.resource.clone()).collect();
        // What the tenant held before and has not got back.
        let lost: Vec<(Grant, bool)> = before
            .iter()
            .filter(|g| !reposted.contains(&g.resource))
            .map(|g| (g.clone(), true))
            .collect();
        if !lost.is_empty() {
            let restore = self.post_all(tenant, &lost, Status::Regranted, true).await;
            let still_lost: Vec<String> = restore
                .results
                .iter()
                .filter(|r| r.status == Status::Failed)
                .map(|r| {
                    let label = alias_of(&r.resource).unwrap_or(&r.resource);
                    format!("{label}: {}", r.scopes.join(" "))
                })
                .collect();
            let cause = failure
                .as_ref()
                .map(|f| f.message.clone())
                .unwrap_or_default();
            let error = if still_lost.is_empty() {
                failure.map(|f| {
                    Failure::new(
                        f.code,
                        format!("{}; the grants held before were posted back", f.message),
                    )
                })
            } else {
                Some(Failure::new(
                    FailureCode::RegrantFailed,
                    format!(
                        "ACT NOW: the consent was deleted and could not be restored; this tenant has LOST these delegated grants: {}. Cause: {cause}. Grant them again (csp consent --force once the cause is fixed) before anything that depends on them runs",
                        still_lost.join("; ")
                    ),
                ))
            };
            return Outcome::new(Status::Failed, results, error);
        }
        let reposted_grants: Vec<Grant> = posted.into_iter().map(|(g, _)| g).collect();
        let verified = self.verify(tenant, &reposted_grants).await;
        let status = match verified.status {
            Status::Granted => Status::Regranted,
            other => other,
        };
        // The POST's own failure says more than a verification of what was not posted.
        let error = failure.or(verified.error);
        let mut outcome = Outcome::new(status, results, error);
        outcome.warnings = verified.warnings;
        outcome.warnings.extend(notes);
        outcome
    }

    /// Before `--force` deletes: what could not be restored afterwards. Microsoft does not say
    /// whether the DELETE removes only the delegated grants or the service principal too; if
    /// it removes the service principal, per-user consents and application permissions go
    /// with it, and csp can restore neither: refuse rather than risk them.
    async fn unsafe_to_delete(&self, tenant: &str, held: &Held) -> Option<Outcome> {
        if !held.unidentified.is_empty() {
            return Some(Outcome::failed(
                FailureCode::RemoteError,
                format!(
                    "the app holds grants on resources csp cannot identify (service principals {}); nothing was deleted",
                    held.unidentified.join(", ")
                ),
                Vec::new(),
            ));
        }
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
                    return Some(read_failure(
                        &e,
                        tenant,
                        self.active_gdap,
                        "; --force checks the app's application permissions before it deletes anything, so nothing was deleted",
                    ));
                }
            }
        }
        (!at_risk.is_empty()).then(|| {
            Outcome::failed(
                FailureCode::ForceUnsafe,
                format!(
                    "--force would delete the consent, which may take the app's service principal with it, and csp could not restore: {}. Nothing was deleted. Add the missing scopes to the tenant-wide grant with Graph instead (PATCH /oauth2PermissionGrants/{{id}}), or remove these first",
                    at_risk.join("; ")
                ),
                Vec::new(),
            )
        })
    }

    /// Reads the grants back until `expected` is all there, or the verify timeout passes. The
    /// outcome carries only a status, an error and warnings; callers add the grants.
    async fn verify(&self, tenant: &str, expected: &[Grant]) -> Outcome {
        let Some(timeout) = self
            .options
            .verify_timeout
            .filter(|_| self.options.can_read_back)
        else {
            return Outcome::new(Status::GrantedUnverified, Vec::new(), None);
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
                        return Outcome::new(Status::Granted, Vec::new(), None);
                    }
                    last = lacking.join("; ");
                }
                Err(ReadbackError::NotConsented) => {
                    last = "the tenant still refuses the app's token (AADSTS65001)".into();
                }
                Err(ReadbackError::Remote(e)) => last = e.to_string(),
            }
            // A fresh token next time: the last one may predate the grant.
            self.tokens.forget_tenant(tenant);
            if (self.interrupted)() {
                let mut o = Outcome::new(Status::GrantedUnverified, Vec::new(), None);
                o.warnings.push("verification interrupted".into());
                return o;
            }
            if started.elapsed() + wait > timeout {
                return Outcome::failed(
                    FailureCode::NotVerified,
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

/// A customer whose state could not be read: nothing was changed.
fn read_failure(
    e: &RemoteError,
    tenant: &str,
    active_gdap: Option<&BTreeSet<String>>,
    suffix: &str,
) -> Outcome {
    let code = match e {
        RemoteError::Auth(a) if matches!(a.aadsts(), Some(50020 | 50177)) => {
            FailureCode::GdapMissing
        }
        other => classify(other, "", tenant, active_gdap),
    };
    let message = match code {
        FailureCode::GdapMissing => format!(
            "the partner user has no access to this tenant: no active GDAP relationship reaches it, or the user is not in the security group assigned to it; could not read what the app holds in the tenant: {e}{suffix}"
        ),
        _ => format!(
            "could not read what the app holds in the tenant: {}{suffix}",
            explain(code, e)
        ),
    };
    Outcome::failed(code, message, Vec::new())
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
