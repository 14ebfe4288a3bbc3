//! Partner Center's JSON shapes, as far as `csp` reads them. Unknown fields are ignored; fields
//! Microsoft documents as optional are `Option`.

use serde::Deserialize;

/// A customer (Partner Center's Customer resource): `id` is the customer's tenant id.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub id: String,
    #[serde(default)]
    pub company_profile: Option<CompanyProfile>,
    #[serde(default)]
    pub relationship_to_partner: Option<String>,
    /// Only on a customer read by id.
    #[serde(default)]
    pub custom_domains: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanyProfile {
    pub tenant_id: Option<String>,
    pub domain: Option<String>,
    pub company_name: Option<String>,
}

impl Customer {
    pub fn tenant_id(&self) -> String {
        self.company_profile
            .as_ref()
            .and_then(|p| p.tenant_id.clone())
            .filter(|t| crate::ids::parse_guid(t).is_some())
            .unwrap_or_else(|| self.id.clone())
            .to_ascii_lowercase()
    }

    pub fn name(&self) -> String {
        self.company_profile
            .as_ref()
            .and_then(|p| p.company_name.clone())
            .unwrap_or_default()
    }

    pub fn domain(&self) -> Option<String> {
        self.company_profile.as_ref().and_then(|p| p.domain.clone())
    }
}

/// A page of a collection: `{totalCount, items, links:{next?}}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
    #[serde(default)]
    pub links: Option<Links>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Links {
    pub next: Option<Link>,
}

/// A link to the next page: a uri relative to the API root (with or without `/v1`), and the
/// headers to send with it (`MS-ContinuationToken`).
#[derive(Debug, Clone, Deserialize)]
pub struct Link {
    pub uri: String,
    #[serde(default)]
    pub headers: Vec<LinkHeader>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LinkHeader {
    pub key: String,
    pub value: String,
}
