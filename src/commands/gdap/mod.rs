//! `csp gdap`: GDAP relationships from nothing to consent-ready, one file per verb. Shared
//! here: the templates of the profile, the view of a relationship that `list`, `request` and
//! `renew` print, and the confirmation that `renew` and `terminate` ask for.

mod assign;
mod list;
mod renew;
mod request;
mod roles;
mod terminate;
mod wait;

use serde::Serialize;

use crate::cli::{GdapArgs, GdapCommand};
use crate::context::Context;
use crate::error::CliError;
use crate::gdap::{self, Template, templates};
use crate::graph::model::{GdapRelationship, snake_case};

pub async fn run(ctx: &Context, args: &GdapArgs) -> Result<(), CliError> {
    match &args.command {
        GdapCommand::Roles(_) => roles::roles(ctx),
        GdapCommand::Templates(_) => roles::templates(ctx),
        GdapCommand::List(a) => list::run(ctx, a).await,
        GdapCommand::Request(a) => request::run(ctx, a).await,
        GdapCommand::Wait(a) => wait::run(ctx, a).await,
        GdapCommand::Assign(a) => assign::run(ctx, a).await,
        GdapCommand::Renew(a) => renew::run(ctx, a).await,
        GdapCommand::Terminate(a) => terminate::run(ctx, a).await,
    }
}

/// Every template the profile can use (a broken one in config.toml is a usage error).
fn all_templates(ctx: &Context) -> Result<Vec<Template>, CliError> {
    templates::all(ctx.settings.profile_config().gdap.as_ref())
        .map_err(|m| CliError::usage(m, Some("fix the template in config.toml")))
}

fn template(ctx: &Context, name: &str) -> Result<Template, CliError> {
    templates::find(name, ctx.settings.profile_config().gdap.as_ref())
        .map_err(|m| CliError::usage(m, Some("`csp gdap templates` lists them")))
}

/// A role as csp's JSON names it.
#[derive(Debug, Clone, Serialize)]
pub struct RoleRef {
    pub id: String,
    pub name: String,
}

impl RoleRef {
    fn of(id: &str) -> RoleRef {
        RoleRef {
            id: id.to_ascii_lowercase(),
            name: crate::roles::name(id),
        }
    }
}

/// The customer of a relationship.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerRef {
    pub tenant_id: Option<String>,
    pub name: Option<String>,
}

/// The customer, or `None` while nobody has approved a relationship made for a new customer.
fn customer_of(r: &GdapRelationship) -> Option<CustomerRef> {
    let (tenant_id, name) = (r.tenant_id(), r.customer_name().map(str::to_string));
    (tenant_id.is_some() || name.is_some()).then_some(CustomerRef { tenant_id, name })
}

/// The customer for people: its name, else its tenant id, else that it has none yet.
fn customer_label(c: &Option<CustomerRef>) -> String {
    match c {
        Some(CustomerRef { name: Some(n), .. }) => n.clone(),
        Some(CustomerRef {
            tenant_id: Some(t), ..
        }) => t.clone(),
        _ => "(awaiting a customer)".into(),
    }
}

/// A relationship's status as csp's JSON writes it (snake_case).
fn status_of(r: &GdapRelationship) -> String {
    snake_case(r.status())
}

/// The approval link, while the customer can still approve.
/// The relationship with this id; an id Graph does not know is a usage error (exit 2).
async fn relationship_by_id(
    graph: &crate::graph::Graph,
    id: &str,
) -> Result<GdapRelationship, CliError> {
    let id = id.trim();
    graph.relationship(id).await?.ok_or_else(|| {
        CliError::usage(
            format!("no GDAP relationship has the id {id}"),
            Some("`csp gdap list` shows them"),
        )
    })
}

fn approval_link_of(r: &GdapRelationship) -> Option<String> {
    matches!(r.status(), "created" | "approvalPending").then(|| gdap::approval_link(&r.id))
}

/// Asks `question` on the terminal; `--yes` answers for the user; without a terminal and
/// without `--yes` the command refuses (nothing is changed unasked).
fn confirm(ctx: &Context, question: &str, yes: bool, flag_hint: &str) -> Result<bool, CliError> {
    if yes {
        return Ok(true);
    }
    if !(ctx.io.stdin_tty && ctx.io.stderr_tty) {
        return Err(CliError::usage(
            format!("{question} needs a confirmation, and there is no terminal to ask on"),
            Some(flag_hint),
        ));
    }
    ctx.io.err_line(&format!("{question} [y/N] "));
    let answer = ctx.io.read_line().map_err(|source| CliError::Io {
        action: "read the answer",
        source,
    })?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
