//! Domain → tenant id, through Entra's anonymous OpenID metadata document
//! `{authority}/{domain}/v2.0/.well-known/openid-configuration`, whose `issuer` holds the tenant
//! id. Needs no token and no consent, so it works for any domain Microsoft knows.

use serde::Deserialize;

use crate::http::{ApiClient, ApiError};

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("{domain} is not registered with Microsoft Entra (no tenant has verified it)")]
    UnknownDomain { domain: String },
    #[error("Microsoft's metadata for {domain} names no tenant id")]
    NoTenantId { domain: String },
    #[error(transparent)]
    Api(#[from] ApiError),
}

#[derive(Deserialize)]
struct OpenIdMetadata {
    issuer: Option<String>,
    token_endpoint: Option<String>,
}

pub struct TenantLookup {
    api: ApiClient,
}

impl TenantLookup {
    /// `api` is a `Service::Discovery` client on the cloud's authority host.
    pub fn new(api: ApiClient) -> Self {
        TenantLookup { api }
    }

    /// The tenant id of the tenant that has verified `domain` (lowercase, ASCII).
    pub async fn tenant_of(&self, domain: &str) -> Result<String, LookupError> {
        let url = self
            .api
            .url(&format!("{domain}/v2.0/.well-known/openid-configuration"));
        let meta: OpenIdMetadata = match self.api.get_json(url, None, Vec::new()).await {
            Ok(m) => m,
            // AADSTS90002: "Tenant … not found" — no tenant owns the domain.
            Err(e) if e.status() == Some(400) || e.status() == Some(404) => {
                let unknown = e
                    .code()
                    .is_some_and(|c| c == "AADSTS90002" || c == "invalid_tenant")
                    || e.status() == Some(404);
                if unknown {
                    return Err(LookupError::UnknownDomain {
                        domain: domain.to_string(),
                    });
                }
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        [meta.issuer, meta.token_endpoint]
            .into_iter()
            .flatten()
            .find_map(|u| u.split('/').find_map(crate::ids::parse_guid))
            .ok_or_else(|| LookupError::NoTenantId {
                domain: domain.to_string(),
            })
    }
}
