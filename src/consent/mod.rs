//! Consenting the CPV app in customer tenants: the manifest of what to grant, and the
//! per-customer reconciler that reads what exists, grants what is missing through Partner
//! Center, and proves the result by reading it back through Graph.

pub mod manifest;
pub mod reconcile;
