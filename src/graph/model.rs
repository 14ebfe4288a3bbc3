//! Graph's JSON shapes, as far as `csp` reads them.

use serde::Deserialize;

/// A page of a collection: `{value, @odata.nextLink?}`.
#[derive(Debug, Deserialize)]
pub struct Collection<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GdapRelationship {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub customer: Option<GdapCustomer>,
    #[serde(default)]
    pub access_details: Option<AccessDetails>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub auto_extend_duration: Option<String>,
    #[serde(default)]
    pub end_date_time: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GdapCustomer {
    pub tenant_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessDetails {
    #[serde(default)]
    pub unified_roles: Vec<UnifiedRole>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRole {
    pub role_definition_id: String,
}

impl GdapRelationship {
    pub fn tenant_id(&self) -> Option<String> {
        self.customer
            .as_ref()
            .map(|c| c.tenant_id.to_ascii_lowercase())
    }

    pub fn is_active(&self) -> bool {
        self.status.as_deref() == Some("active")
    }

    pub fn role_ids(&self) -> impl Iterator<Item = &str> {
        self.access_details.iter().flat_map(|a| {
            a.unified_roles
                .iter()
                .map(|r| r.role_definition_id.as_str())
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    pub id: String,
    #[serde(default)]
    pub is_default: Option<bool>,
    #[serde(default)]
    pub is_initial: Option<bool>,
    #[serde(default)]
    pub is_verified: Option<bool>,
}

/// Graph's status words (`approvalPending`) as the snake_case words of csp's JSON.
pub fn snake_case(word: &str) -> String {
    let mut out = String::new();
    for (i, c) in word.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsofts_sample_relationships_parse() {
        let page: Collection<GdapRelationship> = serde_json::from_str(include_str!(
            "../../tests/fixtures/graph-delegatedadminrelationships-list.json"
        ))
        .unwrap();
        assert!(page.value.len() >= 3);
        assert!(page.value[0].is_active());
        assert_eq!(page.value[1].role_ids().count(), 2);
        assert_eq!(snake_case("approvalPending"), "approval_pending");
        assert_eq!(snake_case("active"), "active");
    }
}
