//! `csp gdap wait`: polls relationships until the customer has approved them and they are
//! active, or they end otherwise, or the time runs out. Ctrl-C stops at once.

use std::time::{Duration, Instant};

use super::list::{RelationshipList, RelationshipView};
use crate::cli::GdapWaitArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::gdap;
use crate::graph::model::GdapRelationship;

/// The first pause between polls, and the longest.
const FIRST_POLL: Duration = Duration::from_secs(2);
const LONGEST_POLL: Duration = Duration::from_secs(15);

pub async fn run(ctx: &Context, args: &GdapWaitArgs) -> Result<(), CliError> {
    let graph = ctx.graph().await?;
    let mut waiting: Vec<String> = match (&args.id, &args.customer) {
        (Some(id), _) => vec![id.trim().to_string()],
        (None, Some(c)) => {
            let tenant = crate::commands::resolve::customer_tenant(ctx, c).await?;
            let theirs: Vec<GdapRelationship> = graph
                .gdap_relationships()
                .await?
                .into_iter()
                .filter(|r| r.tenant_id().as_deref() == Some(tenant.tenant_id.as_str()))
                .collect();
            let pending: Vec<String> = theirs
                .iter()
                .filter(|r| gdap::is_pending(r.status()))
                .map(|r| r.id.clone())
                .collect();
            if pending.is_empty() {
                let active: Vec<GdapRelationship> =
                    theirs.into_iter().filter(|r| r.is_active()).collect();
                if active.is_empty() {
                    return Err(CliError::Refused {
                        message: format!(
                            "{} has no relationship awaiting approval and none active",
                            tenant.label
                        ),
                        hint: Some(format!(
                            "request one: {} gdap request --customer {} --template consent",
                            ctx.csp(),
                            tenant.label
                        )),
                    });
                }
                ctx.note("nothing awaits approval: the customer's relationship is active");
                return emit(ctx, &active);
            }
            pending
        }
        (None, None) => unreachable!("clap requires an id or --customer"),
    };
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let spinner = crate::commands::progress::spinner(
        ctx,
        format!(
            "Waiting for the customer to approve {} relationship(s) (up to {})…",
            waiting.len(),
            humanise(Duration::from_secs(args.timeout))
        ),
    );
    let mut done: Vec<GdapRelationship> = Vec::new();
    let mut pause = FIRST_POLL;
    loop {
        let mut still = Vec::new();
        for id in &waiting {
            let r = super::relationship_by_id(&graph, id).await?;
            if gdap::has_ended(r.status()) {
                drop(spinner);
                return Err(CliError::Refused {
                    message: format!(
                        "the relationship {:?} ({}) is {}: it will not become active",
                        r.display_name.clone().unwrap_or_default(),
                        r.id,
                        super::status_of(&r)
                    ),
                    hint: Some(format!(
                        "request a new one: {} gdap request --customer … --template …",
                        ctx.csp()
                    )),
                });
            }
            if r.is_active() {
                done.push(r);
            } else {
                still.push(id.clone());
            }
        }
        waiting = still;
        if waiting.is_empty() {
            drop(spinner);
            return emit(ctx, &done);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            drop(spinner);
            return Err(CliError::Refused {
                message: format!(
                    "{} relationship(s) still await approval after {}: {}",
                    waiting.len(),
                    humanise(Duration::from_secs(args.timeout)),
                    waiting.join(", ")
                ),
                hint: Some("send the customer the approval link again (csp gdap list shows it), then wait again; an unapproved request expires after 90 days".into()),
            });
        }
        tokio::select! {
            () = tokio::time::sleep(pause.min(left)) => {}
            () = ctx.until_interrupted() => return Err(CliError::Interrupted),
        }
        pause = (pause * 3 / 2).min(LONGEST_POLL);
    }
}

fn emit(ctx: &Context, relationships: &[GdapRelationship]) -> Result<(), CliError> {
    let views: Vec<RelationshipView> = relationships
        .iter()
        .map(|r| RelationshipView::of(r, Vec::new()))
        .collect();
    crate::commands::emit(ctx, &RelationshipList(views))
}

/// `15 min`, `90 s`, `2 h`.
fn humanise(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{} h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}
