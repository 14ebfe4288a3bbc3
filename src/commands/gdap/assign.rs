//! `csp gdap assign`: every role of each chosen active relationship sits in an active access
//! assignment to the partner security group its template names. Groups are found by name or
//! id (and created with `--create-groups`), the integration account is made a member with
//! `--add-member`, roles already assigned are left alone, and assignments that stay pending
//! are polled for a while.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::cli::GdapAssignArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::failure::{Failure, FailureCode};
use crate::gdap::{self, Template, templates};
use crate::graph::Graph;
use crate::graph::gdap::AccessAssignment;
use crate::graph::groups::Group;
use crate::graph::model::GdapRelationship;
use crate::graph::relationships::Made;
use crate::http::RemoteError;
use crate::output::Render;
use crate::roles::{self, Role};

/// How one role of a relationship (and the relationship as a whole) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleStatus {
    Assigned,
    Unchanged,
    Pending,
    Failed,
}

impl RoleStatus {
    fn as_str(self) -> &'static str {
        match self {
            RoleStatus::Assigned => "assigned",
            RoleStatus::Unchanged => "unchanged",
            RoleStatus::Pending => "pending",
            RoleStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RoleResult {
    pub role: String,
    pub group: String,
    pub status: RoleStatus,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignResult {
    pub relationship_id: String,
    pub customer: Option<super::CustomerRef>,
    pub status: RoleStatus,
    pub roles: Vec<RoleResult>,
    pub error: Option<Failure>,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct AssignReport(Vec<AssignResult>);

impl Render for AssignReport {
    fn fit(&self) -> crate::output::Fit {
        crate::output::Fit::dropping(&["relationshipId"])
    }

    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec!["customer", "relationshipId", "status", "roles", "error"],
            self.0
                .iter()
                .map(|r| {
                    vec![
                        super::customer_label(&r.customer),
                        r.relationship_id.clone(),
                        r.status.as_str().to_string(),
                        r.roles
                            .iter()
                            .map(|x| format!("{} → {}: {}", x.role, x.group, x.status.as_str()))
                            .collect::<Vec<_>>()
                            .join("; "),
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

/// A group as resolved for this run, or why it cannot be used.
type GroupSlot = Arc<OnceCell<Result<Group, Failure>>>;
/// A membership made for this run, or why it could not be.
type MemberSlot = Arc<OnceCell<Result<(), Failure>>>;

/// What is shared by every relationship of a run: groups found or created once, memberships
/// made once.
struct Run<'a> {
    graph: &'a Graph,
    templates: Vec<Template>,
    chosen: Option<Template>,
    create_groups: bool,
    member: Option<String>,
    wait: Duration,
    groups: Mutex<HashMap<String, GroupSlot>>,
    members: Mutex<HashMap<String, MemberSlot>>,
}

pub async fn run(ctx: &Context, args: &GdapAssignArgs) -> Result<(), CliError> {
    let all_templates = super::all_templates(ctx)?;
    let chosen = args
        .template
        .as_deref()
        .map(|t| super::template(ctx, t))
        .transpose()?;
    let graph = ctx.graph().await?;
    let member = match args.add_member.as_deref().map(str::trim) {
        None => None,
        Some(m) if m.eq_ignore_ascii_case("me") => Some(graph.me().await?.id),
        Some(upn) => Some(
            graph
                .user(upn)
                .await?
                .ok_or_else(|| {
                    CliError::usage(
                        format!("--add-member: no user {upn:?} in the partner tenant"),
                        Some(
                            "give `me` or the user principal name of a user of the partner tenant",
                        ),
                    )
                })?
                .id,
        ),
    };
    let relationships = targets(ctx, &graph, args).await?;
    warn_unless_admin_agent(ctx, &graph).await;
    let run = Run {
        graph: &graph,
        templates: all_templates,
        chosen,
        create_groups: args.create_groups,
        member,
        wait: Duration::from_secs(args.wait),
        groups: Mutex::new(HashMap::new()),
        members: Mutex::new(HashMap::new()),
    };
    let total = relationships.len();
    let bar = crate::commands::progress::bar(ctx, total as u64, "assigning");
    let mut results: Vec<(usize, AssignResult)> =
        futures::stream::iter(relationships.iter().enumerate())
            .map(|(i, r)| {
                let (run, bar) = (&run, &bar);
                async move {
                    let result = run.assign(r).await;
                    bar.inc(1);
                    (i, result)
                }
            })
            .buffer_unordered(usize::from(args.jobs))
            .collect()
            .await;
    bar.finish_and_clear();
    results.sort_by_key(|(i, _)| *i);
    let results: Vec<AssignResult> = results.into_iter().map(|(_, r)| r).collect();
    let pending = results
        .iter()
        .filter(|r| r.status == RoleStatus::Pending)
        .count();
    if pending > 0 {
        ctx.warn(&format!(
            "{pending} relationship(s) have assignments still pending; Microsoft usually activates them within minutes: run the same command again to check"
        ));
    }
    let report = AssignReport(results);
    crate::commands::emit(ctx, &report)?;
    CliError::for_run(
        report.0.iter().filter_map(|r| r.error.as_ref()),
        total,
        "relationships failed",
        false,
    )
}

/// The active relationships `--relationship`, `--customer` or `--all` name.
async fn targets(
    ctx: &Context,
    graph: &Graph,
    args: &GdapAssignArgs,
) -> Result<Vec<GdapRelationship>, CliError> {
    if let Some(id) = &args.relationship {
        let r = super::relationship_by_id(graph, id).await?;
        if !r.is_active() {
            return Err(not_active(ctx, &r));
        }
        return Ok(vec![r]);
    }
    let all = graph.gdap_relationships().await?;
    let tenant = match &args.customer {
        Some(c) => Some(crate::commands::resolve::customer_tenant(ctx, c).await?),
        None => None,
    };
    let theirs: Vec<GdapRelationship> = all
        .into_iter()
        .filter(|r| {
            tenant
                .as_ref()
                .is_none_or(|t| r.tenant_id().as_deref() == Some(t.tenant_id.as_str()))
        })
        .collect();
    let active: Vec<GdapRelationship> = theirs.iter().filter(|r| r.is_active()).cloned().collect();
    if active.is_empty() {
        if let Some(pending) = theirs
            .iter()
            .find(|r| tenant.is_some() && gdap::is_pending(r.status()))
        {
            return Err(not_active(ctx, pending));
        }
        return Err(CliError::Refused {
            message: match &tenant {
                Some(t) => format!("{} has no active GDAP relationship", t.label),
                None => "there is no active GDAP relationship".into(),
            },
            hint: Some(format!(
                "request one first: {} gdap request --customer … --template consent",
                ctx.csp()
            )),
        });
    }
    Ok(active)
}

fn not_active(ctx: &Context, r: &GdapRelationship) -> CliError {
    CliError::Refused {
        message: format!(
            "the relationship {:?} is {}: roles can be assigned only once it is active",
            r.display_name.clone().unwrap_or_else(|| r.id.clone()),
            super::status_of(r)
        ),
        hint: gdap::is_pending(r.status()).then(|| {
            format!(
                "wait for the customer's approval: {} gdap wait {}",
                ctx.csp(),
                r.id
            )
        }),
    }
}

/// Consent needs the signed-in account in AdminAgents: say so early when it is not.
async fn warn_unless_admin_agent(ctx: &Context, graph: &Graph) {
    let (Ok(agents), Ok(mine)) = (
        graph.groups_named("AdminAgents").await,
        graph.my_group_ids().await,
    ) else {
        return;
    };
    if let Some(g) = agents.first()
        && !mine.iter().any(|m| m.eq_ignore_ascii_case(&g.id))
    {
        ctx.warn("the signed-in account is not in the AdminAgents group of the partner tenant; Partner Center refuses its consents until it is (Partner Center > Account settings > User management)");
    }
}

impl Run<'_> {
    async fn assign(&self, r: &GdapRelationship) -> AssignResult {
        let mut result = AssignResult {
            relationship_id: r.id.clone(),
            customer: super::customer_of(r),
            status: RoleStatus::Unchanged,
            roles: Vec::new(),
            error: None,
        };
        match self.assign_roles(r).await {
            Ok(roles) => result.roles = roles,
            Err((roles, failure)) => {
                result.roles = roles;
                result.error = Some(failure);
            }
        }
        result.status = overall(&result.roles, result.error.is_some());
        result
    }

    /// The template whose groups this relationship's roles go to.
    fn template_for(&self, r: &GdapRelationship) -> Option<&Template> {
        self.chosen.as_ref().or_else(|| {
            let ids: BTreeSet<String> = r.role_ids().map(str::to_ascii_lowercase).collect();
            templates::matching(&self.templates, &ids)
        })
    }

    async fn assign_roles(
        &self,
        r: &GdapRelationship,
    ) -> Result<Vec<RoleResult>, (Vec<RoleResult>, Failure)> {
        let template = self.template_for(r);
        // Role → the group that holds it (by the template, else one group per role).
        let mut wanted: BTreeMap<String, Vec<&'static Role>> = BTreeMap::new();
        let mut unknown = Vec::new();
        for id in r.role_ids() {
            match roles::by_id(id) {
                Some(role) => {
                    let group = template.map_or_else(
                        || templates::default_group_name(role),
                        |t| t.group_for(role),
                    );
                    wanted.entry(group).or_default().push(role);
                }
                None => unknown.push(id.to_string()),
            }
        }
        let mut results = Vec::new();
        let fail = |results: &mut Vec<RoleResult>, roles: &[&Role], group: &str| {
            for role in roles {
                results.push(RoleResult {
                    role: role.name.to_string(),
                    group: group.to_string(),
                    status: RoleStatus::Failed,
                });
            }
        };
        if !unknown.is_empty() {
            return Err((
                results,
                Failure::new(
                    FailureCode::RemoteError,
                    format!(
                        "the relationship holds roles csp does not know ({}), so csp cannot tell which group holds them: assign them in Partner Center",
                        unknown.join(", ")
                    ),
                ),
            ));
        }
        let existing = self
            .graph
            .access_assignments(&r.id)
            .await
            .map_err(|e| (Vec::new(), remote(e)))?;
        let mut first_failure: Option<Failure> = None;
        let mut to_watch = Vec::new();
        for (group_ref, roles) in &wanted {
            let group = match self.group(group_ref).await {
                Ok(g) => g,
                Err(f) => {
                    fail(&mut results, roles, group_ref);
                    first_failure.get_or_insert(f);
                    continue;
                }
            };
            let label = group
                .display_name
                .clone()
                .unwrap_or_else(|| group.id.clone());
            if let Some(user) = &self.member
                && let Err(f) = self.membership(&group, user).await
            {
                fail(&mut results, roles, &label);
                first_failure.get_or_insert(f);
                continue;
            }
            let role_ids: Vec<String> = roles.iter().map(|x| x.id.to_string()).collect();
            let current = existing.iter().find(|a| {
                a.group().is_some_and(|g| g.eq_ignore_ascii_case(&group.id))
                    && !matches!(a.status.as_deref(), Some("deleted" | "deleting"))
            });
            let outcome = match current {
                Some(a) if holds_all(a, &role_ids) => {
                    if a.is_active() {
                        Ok(RoleStatus::Unchanged)
                    } else {
                        to_watch.push(group.id.clone());
                        Ok(RoleStatus::Pending)
                    }
                }
                Some(a) => {
                    // One assignment per group: add the roles to it.
                    let mut all: Vec<String> = a.role_ids().map(str::to_ascii_lowercase).collect();
                    for id in &role_ids {
                        if !all.iter().any(|x| x.eq_ignore_ascii_case(id)) {
                            all.push(id.clone());
                        }
                    }
                    self.graph
                        .update_assignment(&r.id, a, &all)
                        .await
                        .map(|()| {
                            to_watch.push(group.id.clone());
                            RoleStatus::Assigned
                        })
                }
                None => self
                    .graph
                    .create_assignment(&r.id, &group.id, &role_ids)
                    .await
                    .map(|(a, made)| {
                        let in_place = a.is_active() && holds_all(&a, &role_ids);
                        if !in_place {
                            to_watch.push(group.id.clone());
                        }
                        // Only what was there before this run is unchanged, even when Graph
                        // answers the create with an assignment that is already active.
                        if in_place && made == Made::AlreadyThere {
                            RoleStatus::Unchanged
                        } else {
                            RoleStatus::Assigned
                        }
                    }),
            };
            match outcome {
                Ok(status) => {
                    for role in roles {
                        results.push(RoleResult {
                            role: role.name.to_string(),
                            group: label.clone(),
                            status,
                        });
                    }
                }
                Err(e) => {
                    fail(&mut results, roles, &label);
                    first_failure.get_or_insert(remote(e));
                }
            }
        }
        if !to_watch.is_empty() {
            let still = self.watch(&r.id, &to_watch).await;
            for role_result in &mut results {
                if matches!(
                    role_result.status,
                    RoleStatus::Assigned | RoleStatus::Pending
                ) {
                    role_result.status = if still.contains(&role_result.group) {
                        RoleStatus::Pending
                    } else {
                        RoleStatus::Assigned
                    };
                }
            }
        }
        match first_failure {
            Some(f) => Err((results, f)),
            None => Ok(results),
        }
    }

    /// Polls the relationship's assignments to the `groups` (ids) until they are active or
    /// `--wait` passes; returns the labels of those still pending.
    async fn watch(&self, relationship: &str, groups: &[String]) -> BTreeSet<String> {
        let deadline = Instant::now() + self.wait;
        let mut pause = Duration::from_secs(2);
        loop {
            let Ok(now) = self.graph.access_assignments(relationship).await else {
                return BTreeSet::new();
            };
            let pending: BTreeSet<String> = now
                .iter()
                .filter(|a| {
                    a.group()
                        .is_some_and(|g| groups.iter().any(|w| w.eq_ignore_ascii_case(g)))
                        && !a.is_active()
                })
                .filter_map(|a| a.group().map(str::to_ascii_lowercase))
                .collect();
            if pending.is_empty() || Instant::now() + pause > deadline {
                return self.labels(&pending);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(10));
        }
    }

    /// The display names (as results show them) of the groups with these ids.
    fn labels(&self, ids: &BTreeSet<String>) -> BTreeSet<String> {
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        groups
            .values()
            .filter_map(|slot| slot.get().and_then(|g| g.as_ref().ok()))
            .filter(|g| ids.contains(&g.id.to_ascii_lowercase()))
            .map(|g| g.display_name.clone().unwrap_or_else(|| g.id.clone()))
            .collect()
    }

    /// The group a template names, found (or created) once per run.
    async fn group(&self, name_or_id: &str) -> Result<Group, Failure> {
        let slot = {
            let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(groups.entry(name_or_id.to_ascii_lowercase()).or_default())
        };
        slot.get_or_init(|| self.find_or_create(name_or_id))
            .await
            .clone()
    }

    async fn find_or_create(&self, name_or_id: &str) -> Result<Group, Failure> {
        if gdap::is_reserved_group(name_or_id) {
            return Err(reserved(name_or_id));
        }
        let mut found = self.graph.groups_named(name_or_id).await.map_err(remote)?;
        match found.len() {
            1 => {
                let g = found.pop().expect("one");
                if g.display_name
                    .as_deref()
                    .is_some_and(gdap::is_reserved_group)
                {
                    return Err(reserved(g.display_name.as_deref().unwrap_or_default()));
                }
                Ok(g)
            }
            0 if self.create_groups && crate::ids::parse_guid(name_or_id).is_none() => {
                self.graph.create_group(name_or_id).await.map_err(remote)
            }
            0 => Err(Failure::new(
                FailureCode::GroupMissing,
                format!(
                    "the partner tenant has no security group {name_or_id:?}: pass --create-groups to create it, or name an existing group in the template"
                ),
            )),
            n => Err(Failure::new(
                FailureCode::GroupMissing,
                format!(
                    "{n} groups are named {name_or_id:?}: name the group by its object id in the template"
                ),
            )),
        }
    }

    /// Makes the `--add-member` user a member of `group`, once per group per run.
    async fn membership(&self, group: &Group, user: &str) -> Result<(), Failure> {
        let slot = {
            let mut members = self.members.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(members.entry(group.id.to_ascii_lowercase()).or_default())
        };
        slot.get_or_init(|| async {
            self.graph
                .add_member(&group.id, user)
                .await
                .map(|_| ())
                .map_err(remote)
        })
        .await
        .clone()
    }
}

fn holds_all(a: &AccessAssignment, role_ids: &[String]) -> bool {
    role_ids
        .iter()
        .all(|id| a.role_ids().any(|x| x.eq_ignore_ascii_case(id)))
}

fn overall(roles: &[RoleResult], failed: bool) -> RoleStatus {
    if failed || roles.iter().any(|r| r.status == RoleStatus::Failed) {
        RoleStatus::Failed
    } else if roles.iter().any(|r| r.status == RoleStatus::Pending) {
        RoleStatus::Pending
    } else if roles.iter().any(|r| r.status == RoleStatus::Assigned) {
        RoleStatus::Assigned
    } else {
        RoleStatus::Unchanged
    }
}

fn reserved(name: &str) -> Failure {
    Failure::new(
        FailureCode::ReservedGroup,
        format!(
            "{name} is a group Microsoft reserves (AdminAgents, HelpdeskAgents, SalesAgents): it cannot hold GDAP roles; name another group in the template"
        ),
    )
}

fn remote(e: RemoteError) -> Failure {
    Failure::new(FailureCode::of_remote(&e), e.to_string())
}
