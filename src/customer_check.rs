//! Whether a client's domain belongs to one of the partner's customers, before it is mapped: the
//! domain resolves to a tenant (Entra's public metadata), and that tenant is the partner's
//! customer in Partner Center or through an active GDAP relationship. One check asks Partner
//! Center about its tenant; many checks (`map import`) compare against one listing of every
//! customer instead, so a thousand rows cost a few pages, not a thousand reads.

use std::collections::HashMap;

use tokio::sync::OnceCell;

use crate::failure::FailureCode;
use crate::graph::Graph;
use crate::graph::model::GdapRelationship;
use crate::http::RemoteError;
use crate::mapping;
use crate::partner_center::PartnerCenter;
use crate::tenant_lookup::{LookupError, TenantLookup};

/// A client and domain that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The client name, trimmed.
    pub customer: String,
    /// The domain, in ASCII and lowercase.
    pub domain: String,
    pub tenant_id: String,
    /// The customer's company name, as Microsoft knows it.
    pub name: String,
}

/// Why a client and domain cannot be mapped.
#[derive(Debug)]
pub struct Refusal {
    pub code: FailureCode,
    pub message: String,
    /// The failed call behind it, when there is one (for the CLI's hint and exit code).
    pub remote: Option<RemoteError>,
}

impl Refusal {
    pub fn new(code: FailureCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
            remote: None,
        }
    }

    fn remote(e: RemoteError) -> Self {
        Refusal {
            code: FailureCode::of_remote(&e),
            message: e.to_string(),
            remote: Some(e),
        }
    }
}

/// Where the partner's Partner Center customers come from.
enum Customers {
    /// One read per checked tenant.
    Each,
    /// Every customer, listed up front: tenant id → company name.
    Listed(HashMap<String, String>),
}

pub struct CustomerCheck {
    lookup: TenantLookup,
    pc: PartnerCenter,
    graph: Graph,
    customers: Customers,
    /// The GDAP relationships, read once, when a tenant is not a Partner Center customer.
    gdap: OnceCell<Result<Vec<GdapRelationship>, String>>,
}

impl CustomerCheck {
    /// For a single check: Partner Center is asked about the one tenant.
    pub fn new(lookup: TenantLookup, pc: PartnerCenter, graph: Graph) -> Self {
        CustomerCheck {
            lookup,
            pc,
            graph,
            customers: Customers::Each,
            gdap: OnceCell::new(),
        }
    }

    /// For many checks: every Partner Center customer is listed once (all pages).
    pub async fn listed(
        lookup: TenantLookup,
        pc: PartnerCenter,
        graph: Graph,
    ) -> Result<Self, RemoteError> {
        let all = pc.customers(None).await?;
        let names = all.iter().map(|c| (c.tenant_id(), c.name())).collect();
        Ok(CustomerCheck {
            customers: Customers::Listed(names),
            ..CustomerCheck::new(lookup, pc, graph)
        })
    }

    /// Checks one client name and domain.
    pub async fn check(&self, raw_customer: &str, raw_domain: &str) -> Result<Checked, Refusal> {
        let customer = mapping::validate_client(raw_customer)
            .map_err(|m| Refusal::new(FailureCode::InvalidInput, m))?;
        let domain = mapping::validate_domain(raw_domain)
            .map_err(|m| Refusal::new(FailureCode::InvalidInput, m))?;
        let tenant_id = match self.lookup.tenant_of(&domain).await {
            Ok(t) => t,
            Err(e @ LookupError::UnknownDomain { .. }) => {
                return Err(Refusal::new(FailureCode::UnknownDomain, e.to_string()));
            }
            Err(LookupError::Api(e)) => return Err(Refusal::remote(e.into())),
            Err(e) => return Err(Refusal::new(FailureCode::RemoteError, e.to_string())),
        };
        let name = self.customer_name(&tenant_id, &domain).await?;
        Ok(Checked {
            customer,
            domain,
            tenant_id,
            name,
        })
    }

    /// The company name, if `tenant_id` is the partner's customer in Partner Center or through
    /// an active GDAP relationship.
    async fn customer_name(&self, tenant_id: &str, domain: &str) -> Result<String, Refusal> {
        match &self.customers {
            Customers::Listed(names) => {
                if let Some(name) = names.get(tenant_id) {
                    return Ok(name.clone());
                }
            }
            Customers::Each => match self.pc.customer(tenant_id).await {
                Ok(c) => return Ok(c.name()),
                // Not a Partner Center customer (404/60003, 403/20002): it may be a GDAP one.
                Err(RemoteError::Api(e))
                    if matches!(e.status(), Some(403 | 404)) && !e.is_mfa_required() => {}
                Err(e) => return Err(Refusal::remote(e)),
            },
        }
        let relationships = self
            .gdap
            .get_or_init(|| async {
                self.graph
                    .gdap_relationships()
                    .await
                    .map_err(|e| e.to_string())
            })
            .await;
        let relationships = relationships.as_ref().map_err(|reason| {
            Refusal::new(
                FailureCode::NotACustomer,
                format!(
                    "{domain} belongs to tenant {tenant_id}, which is not a Partner Center customer, and the GDAP relationships could not be read: {reason}; the partner app needs DelegatedAdminRelationship.Read.All (delegated) to find GDAP-only customers"
                ),
            )
        })?;
        relationships
            .iter()
            .find(|r| r.is_active() && r.tenant_id().as_deref() == Some(tenant_id))
            .map(|r| r.customer_name().unwrap_or_default().to_string())
            .ok_or_else(|| {
                Refusal::new(
                    FailureCode::NotACustomer,
                    format!(
                        "{domain} belongs to tenant {tenant_id}, which is not one of your customers (no Partner Center relationship, no active GDAP relationship)"
                    ),
                )
            })
    }
}
