//! `csp gdap list`: every GDAP relationship of the partner, with its roles, its access
//! assignments (group names and status) and, while pending, its approval link.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::StreamExt;
use serde::Serialize;

use super::{CustomerRef, RoleRef};
use crate::cli::GdapListArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::graph::Graph;
use crate::graph::model::{GdapRelationship, snake_case};
use crate::output::Render;

/// The statuses Graph gives a relationship, as csp's JSON writes them.
const STATUSES: [&str; 10] = [
    "created",
    "approval_pending",
    "approved",
    "activating",
    "active",
    "expiring",
    "expired",
    "termination_requested",
    "terminating",
    "terminated",
];

#[derive(Debug, Clone, Serialize)]
pub struct GroupRef {
    pub id: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AssignmentView {
    pub id: String,
    pub group: GroupRef,
    pub roles: Vec<RoleRef>,
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipView {
    pub id: String,
    pub display_name: Option<String>,
    pub customer: Option<CustomerRef>,
    pub status: String,
    pub roles: Vec<RoleRef>,
    pub duration: Option<String>,
    pub end_date: Option<String>,
    pub auto_extend: bool,
    pub access_assignments: Vec<AssignmentView>,
    pub approval_link: Option<String>,
}

impl RelationshipView {
    pub fn of(r: &GdapRelationship, assignments: Vec<AssignmentView>) -> Self {
        RelationshipView {
            id: r.id.clone(),
            display_name: r.display_name.clone(),
            customer: super::customer_of(r),
            status: super::status_of(r),
            roles: r.role_ids().map(RoleRef::of).collect(),
            duration: r.duration.clone(),
            end_date: r.end_date_time.clone(),
            auto_extend: r.auto_extends(),
            access_assignments: assignments,
            approval_link: super::approval_link_of(r),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct RelationshipList(pub Vec<RelationshipView>);

impl Render for RelationshipList {
    fn when_empty(&self, invocation: &str) -> String {
        format!(
            "no GDAP relationships (`{invocation} gdap request --customer CLIENT` asks a customer for one)"
        )
    }

    fn fit(&self) -> crate::output::Fit {
        crate::output::Fit::dropping(&[
            "displayName",
            "accessAssignments",
            "autoExtend",
            "endDate",
            "approvalLink",
        ])
    }

    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec![
                "customer",
                "displayName",
                "status",
                "roles",
                "endDate",
                "autoExtend",
                "accessAssignments",
                "approvalLink",
            ],
            self.0
                .iter()
                .map(|r| {
                    vec![
                        super::customer_label(&r.customer),
                        r.display_name.clone().unwrap_or_default(),
                        r.status.clone(),
                        r.roles
                            .iter()
                            .map(|x| x.name.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                        r.end_date.clone().unwrap_or_default(),
                        r.auto_extend.to_string(),
                        r.access_assignments
                            .iter()
                            .map(|a| {
                                format!(
                                    "{}: {}",
                                    a.group.name.clone().unwrap_or_else(|| a.group.id.clone()),
                                    a.status
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("; "),
                        r.approval_link.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        )
    }
}

pub async fn run(ctx: &Context, args: &GdapListArgs) -> Result<(), CliError> {
    let statuses: Vec<String> = args
        .status
        .iter()
        .map(|s| {
            let word = snake_case(s.trim());
            if STATUSES.contains(&word.as_str()) {
                Ok(word)
            } else {
                Err(CliError::usage(
                    format!("--status {s:?} is not a relationship status"),
                    Some(&format!("use one of: {}", STATUSES.join(", "))),
                ))
            }
        })
        .collect::<Result<_, _>>()?;
    let tenant = match &args.customer {
        Some(c) => Some(
            crate::commands::resolve::customer_tenant(ctx, c)
                .await?
                .tenant_id,
        ),
        None => None,
    };
    let graph = ctx.graph().await?;
    let now = chrono::Utc::now();
    let chosen: Vec<GdapRelationship> = graph
        .gdap_relationships()
        .await?
        .into_iter()
        .filter(|r| tenant.is_none() || r.tenant_id() == tenant)
        .filter(|r| statuses.is_empty() || statuses.contains(&super::status_of(r)))
        .filter(|r| match args.expiring {
            None => true,
            Some(days) => ends_within(r, days, now),
        })
        .collect();
    let views = views(&graph, chosen).await?;
    if views.is_empty() {
        ctx.note("no GDAP relationship matches");
    }
    crate::commands::emit(ctx, &RelationshipList(views))
}

/// Whether an active relationship ends within `days` days of `now`.
pub fn ends_within(r: &GdapRelationship, days: u32, now: chrono::DateTime<chrono::Utc>) -> bool {
    matches!(r.status(), "active" | "expiring")
        && r.end_date_time
            .as_deref()
            .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
            .is_some_and(|end| {
                end.with_timezone(&chrono::Utc) <= now + chrono::Duration::days(days.into())
            })
}

/// The views of `relationships`, sorted by customer then name, with the access assignments of
/// those that can have any (active ones), read several at a time, and group names read once.
pub async fn views(
    graph: &Graph,
    relationships: Vec<GdapRelationship>,
) -> Result<Vec<RelationshipView>, CliError> {
    let names: Mutex<HashMap<String, Option<String>>> = Mutex::new(HashMap::new());
    let mut views: Vec<RelationshipView> = futures::stream::iter(relationships)
        .map(|r| {
            let names = &names;
            async move {
                let assignments = if matches!(r.status(), "active" | "expiring") {
                    let found = graph.access_assignments(&r.id).await?;
                    let mut out = Vec::new();
                    for a in found {
                        let group = a.group().unwrap_or_default().to_ascii_lowercase();
                        out.push(AssignmentView {
                            group: GroupRef {
                                name: group_name(graph, names, &group).await,
                                id: group,
                            },
                            roles: a.role_ids().map(RoleRef::of).collect(),
                            status: a.status.clone().unwrap_or_default(),
                            id: a.id.clone(),
                        });
                    }
                    out
                } else {
                    Vec::new()
                };
                Ok::<_, CliError>(RelationshipView::of(&r, assignments))
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    views.sort_by_cached_key(|v| {
        (
            super::customer_label(&v.customer).to_lowercase(),
            v.display_name.clone().unwrap_or_default().to_lowercase(),
        )
    });
    Ok(views)
}

/// A group's display name, read once per run; `None` when it cannot be read.
async fn group_name(
    graph: &Graph,
    names: &Mutex<HashMap<String, Option<String>>>,
    id: &str,
) -> Option<String> {
    if let Some(known) = names.lock().unwrap_or_else(|e| e.into_inner()).get(id) {
        return known.clone();
    }
    let name = graph
        .groups_named(id)
        .await
        .ok()
        .and_then(|g| g.into_iter().next())
        .and_then(|g| g.display_name);
    names
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.to_string(), name.clone());
    name
}
