//! GDAP relationships as csp asks for them: the templates (which roles, for how long, with
//! auto-extend or not, and which partner security group holds each role) and the rules
//! Microsoft enforces on a request, checked before anything is sent. Pure: no HTTP here
//! (the calls are in `graph::gdap`), so every rule is tested without a server.

pub mod rules;
pub mod templates;

pub use rules::{NameChoice, RuleError};
pub use templates::Template;

/// The link a customer's admin opens to approve a relationship (Microsoft 365 admin center).
pub fn approval_link(relationship_id: &str) -> String {
    format!(
        "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/{relationship_id}"
    )
}

/// Relationship statuses (Graph's words) that still wait for the customer.
pub fn is_pending(status: &str) -> bool {
    matches!(
        status,
        "created" | "approvalPending" | "approved" | "activating"
    )
}

/// Relationship statuses from which a relationship never becomes active again.
pub fn has_ended(status: &str) -> bool {
    matches!(
        status,
        "expired" | "terminated" | "terminating" | "terminationRequested"
    )
}

/// Groups Microsoft reserves in a partner tenant, which cannot hold GDAP roles.
pub const RESERVED_GROUPS: [&str; 3] = ["AdminAgents", "HelpdeskAgents", "SalesAgents"];

/// Whether `name` is one of the groups Microsoft reserves.
pub fn is_reserved_group(name: &str) -> bool {
    RESERVED_GROUPS
        .iter()
        .any(|g| g.eq_ignore_ascii_case(name.trim()))
}
