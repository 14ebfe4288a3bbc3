//! The simulated partner's world: its tenant, user and app, and its customers with their
//! domains, Partner Center relationship, GDAP relationships and consent state. Seeded from a
//! built-in set of Microsoft's fictitious companies, or generated to a size; serialisable so a
//! sandbox keeps its state between runs.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::consent::manifest::GRAPH_APP_ID;

pub const APP_ID: &str = "5a4d0000-c5b0-4c5b-9e5d-000000000001";
pub const PARTNER_CENTER_APP: &str = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd";
pub const EXCHANGE_APP: &str = "00000002-0000-0ff1-ce00-000000000000";
pub const ARM_APP: &str = "797f4846-ba00-4fd7-ba43-dac1f8f63013";
pub const USER: &str = "automation@contosopartner.onmicrosoft.com";
pub const PARTNER_DOMAIN: &str = "contosopartner.onmicrosoft.com";
/// The security group that GDAP assignments name and the partner user belongs to.
pub const ADMIN_GROUP: &str = "5a4d0000-9000-4000-8000-000000000001";
/// The scopes the sandbox's consent manifest declares.
pub const DEMO_SCOPES: [&str; 2] = ["Directory.Read.All", "User.Read.All"];

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const CLOUD_APP_ADMIN: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
const APP_ADMIN: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
const EXCHANGE_ADMIN: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
const HELPDESK_ADMIN: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct World {
    pub version: u32,
    pub seed: Option<u32>,
    pub partner: Tenant,
    pub customers: Vec<Tenant>,
    /// App registrations in the partner tenant.
    #[serde(default = "default_apps")]
    pub apps: Vec<App>,
}

/// An app registration in the partner tenant, as `csp setup` reads and writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct App {
    pub object_id: String,
    pub app_id: String,
    pub display_name: String,
    pub sign_in_audience: String,
    pub is_fallback_public_client: bool,
    pub redirect_uris: Vec<String>,
    pub required_resource_access: serde_json::Value,
    pub service_principal: bool,
}

/// Microsoft Graph Command Line Tools, the public client `csp setup` signs in with.
pub const BOOTSTRAP_APP: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

/// Delegated permission scopes the simulated resources offer, with their ids.
pub fn permission_scopes(resource: &str) -> Vec<(String, String)> {
    let names: &[&str] = match resource {
        PARTNER_CENTER_APP => &["user_impersonation"],
        GRAPH_APP_ID => &[
            "DelegatedAdminRelationship.Read.All",
            "DelegatedAdminRelationship.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
            "Directory.AccessAsUser.All",
            "User.Read",
            "User.Read.All",
            "Application.Read.All",
            "Application.ReadWrite.All",
            "DelegatedPermissionGrant.Read.All",
            "DelegatedPermissionGrant.ReadWrite.All",
            "GroupMember.Read.All",
            "Domain.Read.All",
            "Mail.Read",
        ],
        _ => &[],
    };
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                guid(0x5a4d_6000 + resource.len() as u32, i as u64 + 1),
                n.to_string(),
            )
        })
        .collect()
}

fn default_apps() -> Vec<App> {
    let scope = |resource: &str, name: &str| {
        permission_scopes(resource)
            .into_iter()
            .find(|(_, n)| n == name)
            .map(|(id, _)| id)
            .unwrap_or_default()
    };
    let graph: Vec<serde_json::Value> = [
        "DelegatedAdminRelationship.Read.All",
        "Directory.Read.All",
        "User.Read.All",
    ]
    .iter()
    .map(|n| serde_json::json!({"id": scope(GRAPH_APP_ID, n), "type": "Scope"}))
    .collect();
    vec![App {
        object_id: "5a4d0000-0000-4000-8000-0000000000a1".into(),
        app_id: APP_ID.into(),
        display_name: "csp".into(),
        sign_in_audience: "AzureADMultipleOrgs".into(),
        is_fallback_public_client: true,
        redirect_uris: vec!["http://localhost".into()],
        required_resource_access: serde_json::json!([
            {"resourceAppId": PARTNER_CENTER_APP, "resourceAccess": [{"id": scope(PARTNER_CENTER_APP, "user_impersonation"), "type": "Scope"}]},
            {"resourceAppId": GRAPH_APP_ID, "resourceAccess": graph},
        ]),
        service_principal: true,
    }]
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    /// Verified custom domains; the first is the default.
    pub domains: Vec<String>,
    pub initial_domain: String,
    /// Partner Center knows the customer (a reseller or advisor relationship).
    pub relationship: Option<String>,
    pub gdap: Vec<Relationship>,
    /// The partner app's service principal exists here.
    pub app_consented: bool,
    pub app_sp_id: String,
    /// The app's delegated scopes per resource app id (tenant-wide).
    pub grants: BTreeMap<String, BTreeSet<String>>,
    /// Service-principal object ids of the resource apps present here.
    pub resource_sps: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Relationship {
    pub id: String,
    pub status: String,
    pub roles: Vec<String>,
    pub end: String,
    pub auto_extend: bool,
    pub assignment_status: String,
}

/// A deterministic GUID from a namespace and a number.
pub fn guid(ns: u32, n: u64) -> String {
    let h = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(ns).rotate_left(17);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        ns,
        (h >> 48) & 0xffff,
        (h >> 36) & 0xfff,
        (h >> 24) & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

fn days_from_now(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// How a seeded customer is set up.
#[derive(Clone, Copy)]
enum Shape {
    /// GDAP with Cloud Application Administrator, not consented yet.
    Ready,
    /// Reached only through GDAP (not in Partner Center's list).
    GdapOnly,
    /// Already consented with the manifest's scopes.
    Consented,
    /// Consented with fewer scopes than the manifest (drift).
    Drifted,
    /// GDAP without a role that can consent.
    NoConsentRole(&'static str),
    /// GDAP with Global Administrator, ending soon without auto-extend.
    Expiring,
    /// GDAP with Application Administrator (the peers' practice).
    AppAdmin,
    /// The only GDAP relationship has expired.
    Expired,
    /// No GDAP relationship at all.
    NoGdap,
}

const BUILT_IN: &[(&str, &str, Shape)] = &[
    ("Contoso Ltd", "contoso.com", Shape::Ready),
    ("Fabrikam, Inc.", "fabrikam.com", Shape::Ready),
    ("Northwind Traders", "northwindtraders.com", Shape::GdapOnly),
    ("Tailspin Toys", "tailspintoys.com", Shape::Consented),
    ("Wingtip Toys", "wingtiptoys.com", Shape::Drifted),
    (
        "Adatum Corporation",
        "adatum.com",
        Shape::NoConsentRole(EXCHANGE_ADMIN),
    ),
    (
        "Litware, Inc.",
        "litwareinc.com",
        Shape::NoConsentRole(HELPDESK_ADMIN),
    ),
    ("Woodgrove Bank", "woodgrovebank.com", Shape::Expiring),
    ("Alpine Ski House", "alpineskihouse.com", Shape::AppAdmin),
    ("Coho Winery", "cohowinery.com", Shape::Expired),
    ("Fourth Coffee", "fourthcoffee.com", Shape::NoGdap),
    (
        "Wide World Importers",
        "wideworldimporters.com",
        Shape::Ready,
    ),
    ("Proseware, Inc.", "proseware.com", Shape::Ready),
    ("Trey Research", "treyresearch.net", Shape::Consented),
];

const ADJECTIVES: &[&str] = &[
    "Blue",
    "Northern",
    "Silver",
    "Bright",
    "Summit",
    "Harbor",
    "Redwood",
    "Granite",
    "Maple",
    "Coastal",
    "Pioneer",
    "Evergreen",
    "Golden",
    "Riverside",
    "Highland",
    "Union",
];
const NOUNS: &[&str] = &[
    "Logistics",
    "Dental",
    "Foods",
    "Legal",
    "Builders",
    "Clinic",
    "Accounting",
    "Motors",
    "Design",
    "Energy",
    "Realty",
    "Pharmacy",
    "Media",
    "Freight",
    "Bakery",
    "Consulting",
];
const SUFFIXES: &[&str] = &[
    "Ltd", "Inc.", "LLC", "GmbH", "Pty Ltd", "B.V.", "Limited", "Co.",
];

fn slug(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

impl World {
    /// The built-in world, or one of `size` customers.
    pub fn seeded(size: Option<u32>) -> World {
        let shapes: Vec<(String, String, Shape)> = match size {
            None => BUILT_IN
                .iter()
                .map(|(n, d, s)| (n.to_string(), d.to_string(), *s))
                .collect(),
            Some(n) => (0..n as usize)
                .map(|i| {
                    if i < BUILT_IN.len() {
                        let (n, d, s) = BUILT_IN[i];
                        (n.to_string(), d.to_string(), s)
                    } else {
                        let a = ADJECTIVES[i % ADJECTIVES.len()];
                        let b = NOUNS[(i / ADJECTIVES.len()) % NOUNS.len()];
                        let round = i / (ADJECTIVES.len() * NOUNS.len());
                        let suffix = SUFFIXES[i % SUFFIXES.len()];
                        let base = if round == 0 {
                            format!("{a} {b}")
                        } else {
                            format!("{a} {b} {round}")
                        };
                        let name = format!("{base} {suffix}");
                        let domain = format!("{}.com", slug(&base));
                        (name, domain, BUILT_IN[i % BUILT_IN.len()].2)
                    }
                })
                .collect(),
        };
        let mut partner = Tenant::new(0, "Contoso Partner", vec![], PARTNER_DOMAIN.into());
        partner.app_consented = true;
        partner.grants.insert(
            PARTNER_CENTER_APP.into(),
            ["user_impersonation".to_string()].into(),
        );
        partner.grants.insert(
            GRAPH_APP_ID.into(),
            [
                "DelegatedAdminRelationship.Read.All",
                "Directory.Read.All",
                "User.Read.All",
            ]
            .map(String::from)
            .into(),
        );
        let customers = shapes
            .into_iter()
            .enumerate()
            .map(|(i, (name, domain, shape))| Tenant::shaped(i as u64 + 1, &name, &domain, shape))
            .collect();
        World {
            version: 1,
            seed: size,
            partner,
            customers,
            apps: default_apps(),
        }
    }

    /// The tenant a path segment names: an id or a verified or initial domain.
    pub fn tenant(&self, key: &str) -> Option<&Tenant> {
        let key = key.to_ascii_lowercase();
        std::iter::once(&self.partner)
            .chain(self.customers.iter())
            .find(|t| t.id == key || t.initial_domain == key || t.domains.contains(&key))
    }

    pub fn tenant_mut(&mut self, id: &str) -> Option<&mut Tenant> {
        if self.partner.id == id {
            return Some(&mut self.partner);
        }
        self.customers.iter_mut().find(|t| t.id == id)
    }

    pub fn customer(&self, id: &str) -> Option<&Tenant> {
        self.customers.iter().find(|t| t.id == id)
    }
}

impl Tenant {
    fn new(n: u64, name: &str, domains: Vec<String>, initial: String) -> Tenant {
        let resource_sps = [GRAPH_APP_ID, EXCHANGE_APP, PARTNER_CENTER_APP, ARM_APP]
            .iter()
            .enumerate()
            .map(|(j, app)| (app.to_string(), guid(0x5a4d_5000 + j as u32, n)))
            .collect();
        Tenant {
            id: guid(0x5a4d_0001, n),
            name: name.into(),
            domains,
            initial_domain: initial,
            relationship: None,
            gdap: Vec::new(),
            app_consented: false,
            app_sp_id: guid(0x5a4d_4000, n),
            grants: BTreeMap::new(),
            resource_sps,
        }
    }

    fn shaped(n: u64, name: &str, domain: &str, shape: Shape) -> Tenant {
        let initial = format!(
            "{}.onmicrosoft.com",
            slug(domain.split('.').next().unwrap_or(domain))
        );
        let mut t = Tenant::new(n, name, vec![domain.to_string()], initial);
        t.relationship = Some(if n % 7 == 5 { "advisor" } else { "reseller" }.into());
        let rel = |status: &str, roles: &[&str], end: String, auto_extend: bool| Relationship {
            id: format!("{}-{}", guid(0x5a4d_7000, n), guid(0x5a4d_7001, n)),
            status: status.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            end,
            auto_extend,
            assignment_status: "active".into(),
        };
        let demo: BTreeSet<String> = DEMO_SCOPES.iter().map(|s| s.to_string()).collect();
        match shape {
            Shape::Ready => {
                t.gdap
                    .push(rel("active", &[CLOUD_APP_ADMIN], days_from_now(400), true))
            }
            Shape::GdapOnly => {
                t.relationship = None;
                t.gdap.push(rel(
                    "active",
                    &[CLOUD_APP_ADMIN, EXCHANGE_ADMIN],
                    days_from_now(500),
                    true,
                ));
            }
            Shape::Consented => {
                t.gdap
                    .push(rel("active", &[CLOUD_APP_ADMIN], days_from_now(300), true));
                t.app_consented = true;
                t.grants.insert(GRAPH_APP_ID.into(), demo);
            }
            Shape::Drifted => {
                t.gdap
                    .push(rel("active", &[CLOUD_APP_ADMIN], days_from_now(250), true));
                t.app_consented = true;
                t.grants.insert(
                    GRAPH_APP_ID.into(),
                    ["Directory.Read.All".to_string()].into(),
                );
            }
            Shape::NoConsentRole(role) => {
                t.gdap
                    .push(rel("active", &[role], days_from_now(200), true))
            }
            Shape::Expiring => {
                t.gdap
                    .push(rel("active", &[GLOBAL_ADMIN], days_from_now(20), false))
            }
            Shape::AppAdmin => t
                .gdap
                .push(rel("active", &[APP_ADMIN], days_from_now(365), true)),
            Shape::Expired => t.gdap.push(rel(
                "expired",
                &[CLOUD_APP_ADMIN],
                days_from_now(-40),
                false,
            )),
            Shape::NoGdap => {}
        }
        t
    }

    /// An active relationship holds a role that can consent, in an active assignment.
    pub fn can_consent(&self) -> bool {
        self.gdap.iter().any(|r| {
            r.status == "active"
                && r.assignment_status == "active"
                && r.roles.iter().any(|id| {
                    crate::roles::by_id(id)
                        .is_some_and(|role| role.consent != crate::roles::ConsentCapability::None)
                })
        })
    }

    pub fn has_active_gdap(&self) -> bool {
        self.gdap.iter().any(|r| r.status == "active")
    }

    /// The resource app whose service principal has this object id.
    pub fn resource_by_sp(&self, sp: &str) -> Option<&str> {
        self.resource_sps
            .iter()
            .find(|(_, id)| id.as_str() == sp)
            .map(|(app, _)| app.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_world_has_every_shape() {
        let w = World::seeded(None);
        assert_eq!(w.customers.len(), BUILT_IN.len());
        let ids: BTreeSet<_> = w.customers.iter().map(|t| t.id.clone()).collect();
        assert_eq!(ids.len(), w.customers.len(), "tenant ids are unique");
        assert!(
            w.customers
                .iter()
                .all(|t| crate::ids::parse_guid(&t.id).is_some())
        );
        assert!(
            w.customers.iter().any(|t| t.relationship.is_none()),
            "a GDAP-only customer"
        );
        assert!(
            w.customers
                .iter()
                .any(|t| !t.can_consent() && t.has_active_gdap())
        );
        assert!(w.tenant("contoso.com").is_some());
        assert!(w.tenant("contoso.onmicrosoft.com").is_some());
        assert_eq!(w.tenant(PARTNER_DOMAIN).unwrap().id, w.partner.id);
    }

    #[test]
    fn a_sized_world_is_deterministic_and_unique() {
        let a = World::seeded(Some(600));
        let b = World::seeded(Some(600));
        assert_eq!(a.customers.len(), 600);
        assert_eq!(a.customers[500].id, b.customers[500].id);
        let domains: BTreeSet<_> = a.customers.iter().map(|t| t.domains[0].clone()).collect();
        assert_eq!(domains.len(), 600, "domains are unique");
        let names: BTreeSet<_> = a.customers.iter().map(|t| t.name.clone()).collect();
        assert_eq!(names.len(), 600);
    }
}
