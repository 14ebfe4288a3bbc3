//! `csp gdap renew`: relationships that end soon stay alive. Where the roles allow it,
//! auto-extend is turned on (with the relationship's ETag); where they do not (Global
//! Administrator), a new relationship with the same roles is requested and its approval link
//! printed.

use std::collections::BTreeSet;

use futures::StreamExt;
use serde::Serialize;

use super::CustomerRef;
use super::request::{self, Ask};
use crate::cli::GdapRenewArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::failure::{Failure, FailureCode};
use crate::gdap::{rules, templates};
use crate::graph::Graph;
use crate::graph::model::GdapRelationship;
use crate::http::RemoteError;
use crate::output::Render;
use crate::roles::GLOBAL_ADMINISTRATOR;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    AutoExtendEnabled,
    Requested,
    /// A renewal with the same roles is already pending or active: nothing new is asked.
    AlreadyRequested,
    None,
    Failed,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::AutoExtendEnabled => "auto_extend_enabled",
            Action::Requested => "requested",
            Action::AlreadyRequested => "already_requested",
            Action::None => "none",
            Action::Failed => "failed",
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewResult {
    pub relationship_id: String,
    pub customer: Option<CustomerRef>,
    pub action: Action,
    pub approval_link: Option<String>,
    pub error: Option<Failure>,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct RenewReport(Vec<RenewResult>);

impl Render for RenewReport {
    fn fit(&self) -> crate::output::Fit {
        crate::output::Fit::dropping(&["relationshipId"])
    }

    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec![
                "customer",
                "relationshipId",
                "action",
                "approvalLink",
                "error",
            ],
            self.0
                .iter()
                .map(|r| {
                    vec![
                        super::customer_label(&r.customer),
                        r.relationship_id.clone(),
                        r.action.as_str().to_string(),
                        r.approval_link.clone().unwrap_or_default(),
                        r.error
                            .as_ref()
                            .map(|e| format!("{}: {}", e.code, e.message))
                            .unwrap_or_default(),
                    ]
                })
                .collect(),
        )
    }
}

/// What renewing one relationship takes.
#[derive(Debug, Clone, Copy)]
enum Plan<'a> {
    /// Auto-extend is already on.
    Nothing,
    Extend,
    /// Global Administrator cannot auto-extend: ask for a new relationship.
    Request,
    /// That was asked already (by an earlier run): this relationship takes over.
    Renewed(&'a GdapRelationship),
}

fn plan<'a>(r: &GdapRelationship, all: &'a [GdapRelationship]) -> Plan<'a> {
    if r.auto_extends() {
        Plan::Nothing
    } else if r
        .role_ids()
        .any(|id| id.eq_ignore_ascii_case(GLOBAL_ADMINISTRATOR))
    {
        match successor(r, all) {
            Some(next) => Plan::Renewed(next),
            None => Plan::Request,
        }
    } else {
        Plan::Extend
    }
}

/// Another relationship with the same customer and at least the same roles that is still on
/// its way (created, awaiting approval, approved, activating) or active until later: a
/// renewal an earlier run requested. Without this check every run of a weekly job would
/// request one more.
fn successor<'a>(
    r: &GdapRelationship,
    all: &'a [GdapRelationship],
) -> Option<&'a GdapRelationship> {
    let tenant = r.tenant_id()?;
    let roles: BTreeSet<String> = r.role_ids().map(str::to_ascii_lowercase).collect();
    let ends = r.end_date_time.as_deref().unwrap_or_default();
    all.iter().find(|o| {
        o.id != r.id
            && o.tenant_id().as_deref() == Some(tenant.as_str())
            && roles.is_subset(&o.role_ids().map(str::to_ascii_lowercase).collect())
            && match o.status() {
                "created" | "approvalPending" | "approved" | "activating" => true,
                "active" => o.end_date_time.as_deref().unwrap_or_default() > ends,
                _ => false,
            }
    })
}

pub async fn run(ctx: &Context, args: &GdapRenewArgs) -> Result<(), CliError> {
    let graph = ctx.graph().await?;
    let all = graph.gdap_relationships().await?;
    let now = chrono::Utc::now();
    let ending: Vec<GdapRelationship> = all
        .iter()
        .filter(|r| super::list::ends_within(r, args.expiring, now))
        .cloned()
        .collect();
    let extend = ending
        .iter()
        .filter(|r| matches!(plan(r, &all), Plan::Extend))
        .count();
    let new = ending
        .iter()
        .filter(|r| matches!(plan(r, &all), Plan::Request))
        .count();
    if extend + new == 0 {
        ctx.note(&format!(
            "no relationship that ends within {} days needs renewing",
            args.expiring
        ));
    } else {
        let question = format!(
            "Turn on auto-extend for {extend} relationship(s) and request {new} new one(s) (Global Administrator cannot auto-extend)?"
        );
        if !super::confirm(
            ctx,
            &question,
            args.yes,
            "pass --yes to renew without a terminal",
        )? {
            return Err(CliError::usage("nothing renewed: not confirmed", None));
        }
    }
    let templates = super::all_templates(ctx)?;
    let bar = crate::commands::progress::bar(ctx, ending.len() as u64, "renewing");
    let mut results: Vec<(usize, RenewResult)> = futures::stream::iter(ending.iter().enumerate())
        .map(|(i, r)| {
            let (graph, all, templates, bar) = (&graph, &all, &templates, &bar);
            async move {
                let result = renew(graph, r, all, templates).await;
                bar.inc(1);
                (i, result)
            }
        })
        .buffer_unordered(usize::from(args.jobs))
        .collect()
        .await;
    bar.finish_and_clear();
    results.sort_by_key(|(i, _)| *i);
    let total = results.len();
    let report = RenewReport(results.into_iter().map(|(_, r)| r).collect());
    crate::commands::emit(ctx, &report)?;
    CliError::for_run(
        report.0.iter().filter_map(|r| r.error.as_ref()),
        total,
        "relationships failed",
        false,
    )
}

async fn renew(
    graph: &Graph,
    r: &GdapRelationship,
    all: &[GdapRelationship],
    templates: &[templates::Template],
) -> RenewResult {
    let mut result = RenewResult {
        relationship_id: r.id.clone(),
        customer: super::customer_of(r),
        action: Action::None,
        approval_link: None,
        error: None,
    };
    let outcome = match plan(r, all) {
        Plan::Nothing => Ok(Action::None),
        Plan::Renewed(next) => {
            result.approval_link = super::approval_link_of(next);
            Ok(Action::AlreadyRequested)
        }
        Plan::Extend => extend(graph, r).await.map(|()| Action::AutoExtendEnabled),
        Plan::Request => match request_again(graph, r, all, templates).await {
            Ok(new) => {
                result.approval_link = super::approval_link_of(&new);
                Ok(Action::Requested)
            }
            Err(f) => Err(f),
        },
    };
    match outcome {
        Ok(action) => result.action = action,
        Err(f) => {
            result.action = Action::Failed;
            result.error = Some(f);
        }
    }
    result
}

/// Turns auto-extend on. A stale ETag (412: someone changed the relationship meanwhile) is
/// read again and tried once more.
async fn extend(graph: &Graph, r: &GdapRelationship) -> Result<(), Failure> {
    let mut etag = r.etag.clone();
    for attempt in 0..2 {
        if etag.is_none() || attempt > 0 {
            let fresh = graph.relationship(&r.id).await.map_err(remote)?;
            let Some(fresh) = fresh else {
                return Err(Failure::new(
                    FailureCode::RemoteError,
                    format!("the relationship {} is gone", r.id),
                ));
            };
            if fresh.auto_extends() {
                return Ok(());
            }
            etag = fresh.etag;
        }
        match graph.enable_auto_extend(&r.id, etag.as_deref()).await {
            Ok(()) => return Ok(()),
            Err(RemoteError::Api(e)) if e.status() == Some(412) && attempt == 0 => continue,
            Err(e) => return Err(remote(e)),
        }
    }
    Err(Failure::new(
        FailureCode::RemoteError,
        "the relationship kept changing while csp tried to turn auto-extend on (412 twice)",
    ))
}

/// Requests a new relationship with the same customer and roles.
async fn request_again(
    graph: &Graph,
    r: &GdapRelationship,
    all: &[GdapRelationship],
    templates: &[templates::Template],
) -> Result<GdapRelationship, Failure> {
    let ids: BTreeSet<String> = r.role_ids().map(str::to_ascii_lowercase).collect();
    let template = match templates::matching(templates, &ids) {
        Some(t) => t.clone(),
        None => templates::from_roles(&ids.iter().cloned().collect::<Vec<_>>())
            .map_err(|m| Failure::new(FailureCode::RemoteError, m))?,
    };
    let days = r
        .duration
        .as_deref()
        .and_then(|d| rules::duration_days(d).ok())
        .unwrap_or(template.days);
    let customer = r
        .tenant_id()
        .map(|t| (t, r.customer_name().unwrap_or_default().to_string()));
    let label = customer
        .as_ref()
        .map(|(t, n)| if n.is_empty() { t.clone() } else { n.clone() })
        .unwrap_or_else(|| "customer".into());
    let ask = Ask {
        template,
        days,
        auto_extend: false,
        customer,
        name: None,
        base: format!("{label} renewal"),
    };
    request::request(graph, &ask, all)
        .await
        .map(|(new, _)| new)
        .map_err(|e| Failure::new(FailureCode::RemoteError, e.to_string()))
}

fn remote(e: RemoteError) -> Failure {
    Failure::new(FailureCode::of_remote(&e), e.to_string())
}
