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
    /// The version a change must name in `If-Match`.
    #[serde(default, rename = "@odata.etag")]
    pub etag: Option<String>,
    /// ISO 8601, `P730D`.
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub created_date_time: Option<String>,
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

/// The customer of a relationship. Optional on create, and filled in by Graph only once the
/// customer approves: a relationship still `created` or `approvalPending` may carry no
/// customer, or one without a tenant id.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GdapCustomer {
    #[serde(default)]
    pub tenant_id: Option<String>,
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
    /// The customer's tenant id, lowercase; `None` while the customer has not approved yet.
    pub fn tenant_id(&self) -> Option<String> {
        self.customer
            .as_ref()
            .and_then(|c| c.tenant_id.as_deref())
            .and_then(crate::ids::parse_guid)
    }

    /// The customer's name as Graph has it, when it has one.
    pub fn customer_name(&self) -> Option<&str> {
        self.customer
            .as_ref()
            .and_then(|c| c.display_name.as_deref())
            .filter(|n| !n.trim().is_empty())
    }

    /// Whether the relationship extends itself at its end: `autoExtendDuration` is a positive
    /// duration (`P180D`); `PT0S` and `P0D` both mean off.
    pub fn auto_extends(&self) -> bool {
        self.auto_extend_duration
            .as_deref()
            .is_some_and(is_positive_duration)
    }

    /// Whether the relationship gives access now: `active`, or `expiring` (Graph's word for
    /// one past its end date while auto-extend renews it).
    pub fn is_active(&self) -> bool {
        matches!(self.status.as_deref(), Some("active" | "expiring"))
    }

    /// Graph's status word (`approvalPending`), empty when absent.
    pub fn status(&self) -> &str {
        self.status.as_deref().unwrap_or_default()
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

/// Whether an ISO 8601 duration (`P180D`, `PT0S`, `P0D`, `P1Y2M`, `PT1.5H`) is longer than
/// zero. Anything that is not a duration counts as zero: never assume a relationship renews.
pub fn is_positive_duration(iso: &str) -> bool {
    let Some(body) = iso.trim().strip_prefix(['P', 'p']) else {
        return false;
    };
    let mut number = String::new();
    let mut positive = false;
    for c in body.chars() {
        match c {
            '0'..='9' | '.' | ',' => number.push(c),
            'Y' | 'M' | 'W' | 'D' | 'H' | 'S' | 'y' | 'm' | 'w' | 'd' | 'h' | 's' => {
                match number.replace(',', ".").parse::<f64>() {
                    Ok(n) => positive |= n > 0.0,
                    Err(_) => return false,
                }
                number.clear();
            }
            'T' | 't' if number.is_empty() => {}
            _ => return false,
        }
    }
    number.is_empty() && positive
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

    #[test]
    fn only_a_positive_duration_means_auto_extend() {
        for on in ["P180D", "PT1H", "P1Y", "P0DT1S", "PT0.5S"] {
            assert!(is_positive_duration(on), "{on}");
        }
        for off in [
            "PT0S",
            "P0D",
            "P0Y0M0DT0H0M0S",
            "",
            "P",
            "180",
            "P-1D",
            "PXD",
            "P1",
        ] {
            assert!(!is_positive_duration(off), "{off}");
        }
    }

    #[test]
    fn a_relationship_without_a_customer_parses_and_names_no_tenant() {
        let page: Collection<GdapRelationship> = serde_json::from_value(serde_json::json!({
            "value": [
                {"id": "a", "status": "approvalPending", "autoExtendDuration": "P0D"},
                {"id": "b", "status": "created", "customer": {"displayName": "New customer"}},
                {"id": "c", "status": "active", "autoExtendDuration": "P180D",
                 "customer": {"tenantId": "AAAAAAAA-0000-0000-0000-000000000001", "displayName": "Contoso"}},
            ]
        }))
        .unwrap();
        let tenants: Vec<Option<String>> = page.value.iter().map(|r| r.tenant_id()).collect();
        assert_eq!(
            tenants,
            [
                None,
                None,
                Some("aaaaaaaa-0000-0000-0000-000000000001".into())
            ]
        );
        assert!(!page.value[0].auto_extends(), "P0D is off");
        assert!(page.value[2].auto_extends());
        assert_eq!(page.value[1].customer_name(), Some("New customer"));
    }
}
