//! Turns a `--customer` argument (tenant id, mapped client name, or domain) into a tenant id.

use crate::context::Context;
use crate::error::CliError;
use crate::ids::TenantRef;
use crate::mapping::MappingStore;

/// A customer tenant as the user named it.
#[derive(Debug, Clone)]
pub struct Target {
    pub tenant_id: String,
    /// What the user typed, for messages.
    pub label: String,
}

/// A tenant id is taken as it is; a mapped client's name gives its tenant (a mapping wins over
/// a domain reading of the same text); a domain is resolved through Microsoft's metadata.
pub async fn customer_tenant(ctx: &Context, arg: &str) -> Result<Target, CliError> {
    let arg = arg.trim();
    let label = arg.to_string();
    let parsed = TenantRef::parse(arg);
    if let Some(TenantRef::Id(id)) = parsed {
        return Ok(Target {
            tenant_id: id,
            label,
        });
    }
    let mappings = MappingStore::new(&ctx.settings.mappings_path).load()?;
    if let Some(m) = mappings.client(arg) {
        return Ok(Target {
            tenant_id: m.tenant_id.clone(),
            label,
        });
    }
    match parsed {
        Some(TenantRef::Domain(domain)) => Ok(Target {
            tenant_id: ctx.tenant_lookup()?.tenant_of(&domain).await?,
            label,
        }),
        _ => Err(not_a_client(&mappings, arg)),
    }
}

/// "Not a mapped client", saying which client it is when `arg` is a mapped customer's company
/// name rather than the client's own name.
pub fn not_a_client(mappings: &crate::mapping::Mappings, arg: &str) -> CliError {
    let by_company = mappings
        .all()
        .iter()
        .find(|m| m.name.trim().eq_ignore_ascii_case(arg.trim()));
    match by_company {
        Some(m) => CliError::usage(
            format!(
                "{arg:?} is not a mapped client; it is the company name of the client {:?}",
                m.customer
            ),
            Some(&format!("use --customer {:?}", m.customer)),
        ),
        None => CliError::usage(
            format!("{arg:?} is not a tenant id, a domain, or a mapped client"),
            Some("`csp map list` shows the mapped clients; `csp map` adds one"),
        ),
    }
}
