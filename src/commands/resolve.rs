//! Turns a `--customer` argument (tenant id, domain, or mapped client name) into a tenant id.

use crate::context::Context;
use crate::error::CliError;
use crate::ids::TenantRef;

/// A customer tenant as the user named it.
#[derive(Debug, Clone)]
pub struct Target {
    pub tenant_id: String,
    /// What the user typed, for messages.
    pub label: String,
}

pub async fn customer_tenant(ctx: &Context, arg: &str) -> Result<Target, CliError> {
    let arg = arg.trim();
    let tenant_id = match TenantRef::parse(arg) {
        Some(TenantRef::Id(id)) => id,
        Some(TenantRef::Domain(domain)) => ctx.tenant_lookup()?.tenant_of(&domain).await?,
        None => {
            return Err(CliError::usage(
                format!(
                    "{arg:?} is not a tenant id or a domain, and no client of that name is mapped"
                ),
                Some("name the customer by tenant id or by one of its domains"),
            ));
        }
    };
    Ok(Target {
        tenant_id,
        label: arg.to_string(),
    })
}
