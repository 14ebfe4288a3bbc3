//! `csp gdap terminate`: ends one relationship, after a confirmation. A relationship not yet
//! locked for approval is deleted; any other is terminated.

use super::list::{RelationshipList, RelationshipView};
use crate::cli::GdapTerminateArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::gdap;

pub async fn run(ctx: &Context, args: &GdapTerminateArgs) -> Result<(), CliError> {
    let graph = ctx.graph().await?;
    let id = args.id.trim();
    let r = super::relationship_by_id(&graph, id).await?;
    if gdap::has_ended(r.status()) {
        ctx.note(&format!(
            "the relationship is already {}: nothing to do",
            super::status_of(&r)
        ));
        return crate::commands::emit(
            ctx,
            &RelationshipList(vec![RelationshipView::of(&r, Vec::new())]),
        );
    }
    let question = format!(
        "End the GDAP relationship {:?} with {}? The partner loses every role it gives, at once.",
        r.display_name.clone().unwrap_or_else(|| r.id.clone()),
        super::customer_label(&super::customer_of(&r))
    );
    if !super::confirm(
        ctx,
        &question,
        args.yes,
        "pass --yes to terminate without a terminal",
    )? {
        return Err(CliError::usage("nothing ended: not confirmed", None));
    }
    if r.status() == "created" {
        graph.delete_relationship(&r.id, r.etag.as_deref()).await?;
        ctx.note("deleted (it was never sent for approval)");
        return crate::commands::emit(
            ctx,
            &RelationshipList(vec![RelationshipView::of(&r, Vec::new())]),
        );
    }
    graph.relationship_request(&r.id, "terminate").await?;
    let now = graph.relationship(&r.id).await?.unwrap_or(r);
    crate::commands::emit(
        ctx,
        &RelationshipList(vec![RelationshipView::of(&now, Vec::new())]),
    )
}
