//! `csp gdap request`: creates a relationship from a template and locks it for the customer's
//! approval, after checking the rules Microsoft enforces. A repeated request finds the
//! relationship it made (same name, still pending) and prints its link again.

use serde::Serialize;

use super::{CustomerRef, RoleRef};
use crate::cli::GdapRequestArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::gdap::rules::{self, Existing, NameChoice, Wanted};
use crate::gdap::{Template, templates};
use crate::graph::Graph;
use crate::graph::model::GdapRelationship;
use crate::graph::relationships::{NewRelationship, answer_lost};
use crate::output::Render;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestReport {
    pub id: String,
    pub display_name: String,
    pub customer: Option<CustomerRef>,
    pub status: String,
    pub roles: Vec<RoleRef>,
    pub auto_extend: bool,
    pub approval_link: Option<String>,
    /// False when an earlier request's pending relationship was found instead.
    pub created: bool,
}

impl Render for RequestReport {
    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec![
                "displayName",
                "id",
                "customer",
                "status",
                "roles",
                "autoExtend",
                "created",
                "approvalLink",
            ],
            vec![vec![
                self.display_name.clone(),
                self.id.clone(),
                super::customer_label(&self.customer),
                self.status.clone(),
                self.roles
                    .iter()
                    .map(|r| r.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
                self.auto_extend.to_string(),
                self.created.to_string(),
                self.approval_link.clone().unwrap_or_default(),
            ]],
        )
    }
    fn single(&self) -> bool {
        true
    }
}

/// What a request asks for, checked against Microsoft's rules before anything is sent.
pub struct Ask {
    pub template: Template,
    pub days: u32,
    pub auto_extend: bool,
    /// The customer's tenant id and name; `None` for a new customer.
    pub customer: Option<(String, String)>,
    /// `--name`, checked for length.
    pub name: Option<String>,
    /// What a generated name starts from.
    pub base: String,
}

pub async fn run(ctx: &Context, args: &GdapRequestArgs) -> Result<(), CliError> {
    let template = match &args.template {
        Some(name) => super::template(ctx, name)?,
        None => templates::from_roles(&args.role).map_err(|m| CliError::usage(m, None))?,
    };
    let days = match &args.duration {
        Some(d) => rules::duration_days(d).map_err(usage)?,
        None => template.days,
    };
    let name = args
        .name
        .as_deref()
        .map(rules::check_name)
        .transpose()
        .map_err(usage)?;
    let (auto_extend, warning) = rules::auto_extend(
        template.auto_extend && !args.no_auto_extend,
        &template.roles,
    );
    if let Some(w) = warning {
        ctx.warn(&w);
    }
    let graph = ctx.graph().await?;
    let existing = graph.gdap_relationships().await?;
    let customer = match &args.customer {
        None => None,
        Some(c) => {
            let target = crate::commands::resolve::customer_tenant(ctx, c).await?;
            let name = customer_name(ctx, &existing, &target.tenant_id)
                .await
                .unwrap_or(target.label);
            Some((target.tenant_id, name))
        }
    };
    let base = match &customer {
        Some((_, name)) => format!("{name} {}", template.name),
        None => format!("csp {} new customer", template.name),
    };
    let ask = Ask {
        template,
        days,
        auto_extend,
        customer,
        name,
        base,
    };
    // A customer that already has an active relationship with exactly these roles needs none.
    if let Some((tenant, _)) = &ask.customer
        && let Some(r) = existing.iter().find(|r| {
            r.is_active()
                && r.tenant_id().as_deref() == Some(tenant.as_str())
                && r.role_ids()
                    .map(str::to_ascii_lowercase)
                    .collect::<std::collections::BTreeSet<_>>()
                    == ask.template.role_ids()
        })
    {
        ctx.note(&format!(
            "{} already has an active relationship with these roles ({:?}): nothing to request",
            super::customer_label(&super::customer_of(r)),
            r.display_name.clone().unwrap_or_default()
        ));
        return crate::commands::emit(ctx, &report(r, &ask, false));
    }
    let (relationship, created) = request(&graph, &ask, &existing).await?;
    let report = report(&relationship, &ask, created);
    if let Some(link) = &report.approval_link {
        ctx.note(&format!(
            "{} the customer's Global Administrator to approve it: {link}",
            if created {
                "Send this link to"
            } else {
                "Still awaiting approval; send"
            }
        ));
        ctx.note(&format!(
            "Next: {} gdap wait {}",
            ctx.csp(),
            relationship.id
        ));
    }
    crate::commands::emit(ctx, &report)
}

fn usage(e: rules::RuleError) -> CliError {
    CliError::usage(e.to_string(), None)
}

/// Finds the relationship an earlier identical request made, or creates one; either way it
/// ends locked for approval. Returns it and whether this call created it.
pub async fn request(
    graph: &Graph,
    ask: &Ask,
    existing: &[GdapRelationship],
) -> Result<(GdapRelationship, bool), CliError> {
    let seen: Vec<Existing<'_>> = existing
        .iter()
        .filter_map(|r| {
            Some(Existing {
                id: &r.id,
                name: r.display_name.as_deref()?,
                status: r.status(),
                tenant_id: r.customer.as_ref().and_then(|c| c.tenant_id.as_deref()),
                role_ids: r.role_ids().map(str::to_ascii_lowercase).collect(),
            })
        })
        .collect();
    let wanted = Wanted {
        tenant_id: ask.customer.as_ref().map(|(t, _)| t.as_str()),
        role_ids: ask.template.role_ids(),
    };
    let choice =
        rules::choose_name(ask.name.as_deref(), &ask.base, &wanted, &seen).map_err(usage)?;
    let (relationship, created) = match choice {
        NameChoice::Reuse { id, .. } => {
            let r = existing
                .iter()
                .find(|r| r.id == id)
                .cloned()
                .expect("choose_name reuses a listed relationship");
            (r, false)
        }
        NameChoice::Fresh(display_name) => {
            let new = NewRelationship {
                display_name,
                duration: format!("P{}D", ask.days),
                customer: ask.customer.clone(),
                role_ids: ask
                    .template
                    .roles
                    .iter()
                    .map(|r| r.id.to_string())
                    .collect(),
                auto_extend: ask.auto_extend,
            };
            (graph.create_relationship(&new).await?, true)
        }
    };
    if relationship.status() != "created" {
        return Ok((relationship, created));
    }
    Ok((lock_for_approval(graph, relationship).await?, created))
}

/// Locks a `created` relationship for approval. An answer lost on the way is read back: a
/// relationship already pending approval is not locked twice.
async fn lock_for_approval(
    graph: &Graph,
    relationship: GdapRelationship,
) -> Result<GdapRelationship, CliError> {
    if let Err(e) = graph
        .relationship_request(&relationship.id, "lockForApproval")
        .await
    {
        if !answer_lost(&e) {
            return Err(e.into());
        }
        let now = graph.relationship(&relationship.id).await?;
        if now.as_ref().is_none_or(|r| r.status() == "created") {
            graph
                .relationship_request(&relationship.id, "lockForApproval")
                .await?;
        }
    }
    Ok(graph
        .relationship(&relationship.id)
        .await?
        .unwrap_or(relationship))
}

/// The customer's name: from a relationship with it, the mapping, or Partner Center.
async fn customer_name(
    ctx: &Context,
    existing: &[GdapRelationship],
    tenant: &str,
) -> Option<String> {
    if let Some(n) = existing
        .iter()
        .filter(|r| r.tenant_id().as_deref() == Some(tenant))
        .find_map(|r| r.customer_name())
    {
        return Some(n.to_string());
    }
    let mappings = crate::mapping::MappingStore::new(&ctx.settings.mappings_path)
        .load()
        .ok()?;
    if let Some(m) = mappings.tenant(tenant).filter(|m| !m.name.is_empty()) {
        return Some(m.name.clone());
    }
    let pc = ctx.partner_center().await.ok()?;
    pc.customer(tenant).await.ok().map(|c| c.name())
}

fn report(r: &GdapRelationship, ask: &Ask, created: bool) -> RequestReport {
    RequestReport {
        id: r.id.clone(),
        display_name: r.display_name.clone().unwrap_or_default(),
        customer: super::customer_of(r).or_else(|| {
            ask.customer.as_ref().map(|(t, n)| CustomerRef {
                tenant_id: Some(t.clone()),
                name: Some(n.clone()),
            })
        }),
        status: super::status_of(r),
        roles: r.role_ids().map(RoleRef::of).collect(),
        auto_extend: r.auto_extends(),
        approval_link: super::approval_link_of(r),
        created,
    }
}
