//! How simulated worlds are made: the built-in one (Microsoft's fictitious companies, each
//! with a shape a real partner meets), one generated to a size, extra GDAP shapes real tenants
//! show, and the small builders tests use to set up exactly the customers they need.

use super::world::*;
use crate::consent::manifest::GRAPH_APP_ID;

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
    EndingSoon,
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
    ("Woodgrove Bank", "woodgrovebank.com", Shape::EndingSoon),
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

/// An RFC 3339 time `days` from now (negative: in the past).
pub fn days_from_now(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
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
        web_redirect_uris: Vec::new(),
        required_resource_access: serde_json::json!([
            {"resourceAppId": PARTNER_CENTER_APP, "resourceAccess": [{"id": scope(PARTNER_CENTER_APP, "user_impersonation"), "type": "Scope"}]},
            {"resourceAppId": GRAPH_APP_ID, "resourceAccess": graph},
        ]),
        passwords: Vec::new(),
    }]
}

fn tenant(n: u64, name: &str, domains: Vec<String>, initial: String) -> Tenant {
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
        resource_sps,
        service_principals: Default::default(),
        deleted_service_principals: 0,
    }
}

impl World {
    /// A partner with its app registered and consented, and no customers yet: tests add the
    /// customers they need with `add_customer`.
    pub fn empty() -> World {
        let mut partner = tenant(0, "Contoso Partner", vec![], PARTNER_DOMAIN.into());
        partner.grant(APP_ID, PARTNER_CENTER_APP, &["user_impersonation"]);
        // The sandbox app as `csp setup --gdap` leaves it: GDAP and its groups may be changed.
        partner.grant(
            APP_ID,
            GRAPH_APP_ID,
            &[
                "DelegatedAdminRelationship.Read.All",
                "Directory.Read.All",
                "User.Read.All",
                "DelegatedAdminRelationship.ReadWrite.All",
                "Group.Create",
                "GroupMember.ReadWrite.All",
                "User.ReadBasic.All",
            ],
        );
        World {
            version: VERSION,
            seed: None,
            partner,
            customers: Vec::new(),
            apps: default_apps(),
            relationships: Vec::new(),
            user_groups: vec![ADMIN_GROUP.into(), ADMIN_AGENTS.into()],
            groups: vec![
                Group {
                    id: ADMIN_AGENTS.into(),
                    display_name: "AdminAgents".into(),
                    members: Vec::new(),
                },
                Group {
                    id: ADMIN_GROUP.into(),
                    display_name: ADMIN_GROUP_NAME.into(),
                    members: Vec::new(),
                },
            ],
            users: vec![User {
                id: HELPDESK_USER_ID.into(),
                user_principal_name: HELPDESK_USER.into(),
            }],
            switches: Switches::default(),
            key_vault: Default::default(),
        }
    }

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
        let mut world = World::empty();
        world.seed = size;
        // A moment passes between a request and its approval, and before an assignment works.
        world.switches.approve_after_reads = 1;
        world.switches.activate_after_reads = 1;
        for (name, domain, shape) in shapes {
            world.add_shaped(&name, &domain, shape);
        }
        world
    }

    /// Adds customers whose GDAP relationships look as real ones do beyond the built-in
    /// shapes: `expiring` (past its end while auto-extend runs), auto-extend off written
    /// `P0D`, and relationships made for customers who have not approved yet (status
    /// `approvalPending` without a `customer`, status `created` with a `customer` that has no
    /// `tenantId`).
    pub fn with_gdap_shapes(mut self) -> World {
        let relecloud = self.add_customer("Relecloud", "relecloud.com");
        let r = self.relationship_mut(&relecloud);
        r.status = "expiring".into();
        r.end = Some(days_from_now(-3));
        let lamna = self.add_customer("Lamna Healthcare", "lamnahealthcare.com");
        let r = self.relationship_mut(&lamna);
        r.auto_extend_duration = "P0D".into();
        r.end = Some(days_from_now(30));
        for (status, customer) in [
            ("approvalPending", None),
            (
                "created",
                Some(RelationshipCustomer {
                    tenant_id: None,
                    display_name: Some("VanArsdel, Ltd.".into()),
                }),
            ),
        ] {
            let k = 20_000 + self.relationships.len() as u64;
            self.relationships.push(Relationship {
                id: format!("{}-{}", guid(0x5a4d_7000, k), guid(0x5a4d_7001, k)),
                display_name: format!("New customer {k}"),
                customer,
                status: status.into(),
                roles: vec![CLOUD_APP_ADMIN.into()],
                duration: "P730D".into(),
                auto_extend_duration: "P180D".into(),
                end: None,
                assignments: Vec::new(),
                version: 0,
                approval_reads: None,
            });
        }
        self
    }

    /// Adds a customer known to Partner Center (a reseller relationship), with an active GDAP
    /// relationship that assigns Cloud Application Administrator to the partner user's group;
    /// the app is not consented there yet. Returns its tenant id.
    pub fn add_customer(&mut self, name: &str, domain: &str) -> String {
        let id = self.add_customer_without_gdap(name, domain);
        self.add_relationship(&id, "active", &[CLOUD_APP_ADMIN], days_from_now(400), true);
        id
    }

    /// Adds a customer known to Partner Center without any GDAP relationship.
    pub fn add_customer_without_gdap(&mut self, name: &str, domain: &str) -> String {
        let n = self.customers.len() as u64 + 1;
        let initial = format!(
            "{}.onmicrosoft.com",
            slug(domain.split('.').next().unwrap_or(domain))
        );
        let mut t = tenant(n, name, vec![domain.to_ascii_lowercase()], initial);
        t.relationship = Some(if n % 7 == 5 { "advisor" } else { "reseller" }.into());
        let id = t.id.clone();
        self.customers.push(t);
        id
    }

    /// Adds a relationship with `tenant_id` whose one access assignment gives `roles` to the
    /// partner user's group.
    pub fn add_relationship(
        &mut self,
        tenant_id: &str,
        status: &str,
        roles: &[&str],
        end: String,
        auto_extend: bool,
    ) -> &mut Relationship {
        let name = self
            .customer(tenant_id)
            .map(|t| t.name.clone())
            .unwrap_or_default();
        // Numbered after the customer, so ids stay put when other customers change.
        let n = match self.customers.iter().position(|t| t.id == tenant_id) {
            Some(i) if self.relationships_of(tenant_id).next().is_none() => i as u64 + 1,
            _ => 10_000 + self.relationships.len() as u64,
        };
        let id = format!("{}-{}", guid(0x5a4d_7000, n), guid(0x5a4d_7001, n));
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        self.relationships.push(Relationship {
            id: id.clone(),
            display_name: format!("{name} admin relationship"),
            customer: Some(RelationshipCustomer {
                tenant_id: Some(tenant_id.to_string()),
                display_name: Some(name),
            }),
            status: status.into(),
            roles: roles.clone(),
            duration: "P730D".into(),
            auto_extend_duration: if auto_extend { "P180D" } else { "PT0S" }.into(),
            end: Some(end),
            assignments: vec![AccessAssignment {
                id: format!("{}-assignment", &id[..8]),
                group: ADMIN_GROUP.into(),
                roles,
                status: "active".into(),
                activation_reads: None,
                version: 0,
            }],
            version: 0,
            approval_reads: None,
        });
        self.relationships.last_mut().expect("just pushed")
    }

    /// The first relationship with `tenant_id`.
    pub fn relationship_mut(&mut self, tenant_id: &str) -> &mut Relationship {
        self.relationships
            .iter_mut()
            .find(|r| {
                r.customer
                    .as_ref()
                    .and_then(|c| c.tenant_id.as_deref())
                    .is_some_and(|t| t == tenant_id)
            })
            .expect("the customer has a relationship")
    }

    fn add_shaped(&mut self, name: &str, domain: &str, shape: Shape) {
        let id = self.add_customer_without_gdap(name, domain);
        let demo: Vec<&str> = DEMO_SCOPES.to_vec();
        let t = self.customers.last_mut().expect("just added");
        match shape {
            Shape::Ready => {
                self.add_relationship(&id, "active", &[CLOUD_APP_ADMIN], days_from_now(400), true);
            }
            Shape::GdapOnly => {
                t.relationship = None;
                self.add_relationship(
                    &id,
                    "active",
                    &[CLOUD_APP_ADMIN, EXCHANGE_ADMIN],
                    days_from_now(500),
                    true,
                );
            }
            Shape::Consented => {
                t.grant(APP_ID, GRAPH_APP_ID, &demo);
                self.add_relationship(&id, "active", &[CLOUD_APP_ADMIN], days_from_now(300), true);
            }
            Shape::Drifted => {
                t.grant(APP_ID, GRAPH_APP_ID, &["Directory.Read.All"]);
                self.add_relationship(&id, "active", &[CLOUD_APP_ADMIN], days_from_now(250), true);
            }
            Shape::NoConsentRole(role) => {
                self.add_relationship(&id, "active", &[role], days_from_now(200), true);
            }
            Shape::EndingSoon => {
                self.add_relationship(&id, "active", &[GLOBAL_ADMIN], days_from_now(20), false);
            }
            Shape::AppAdmin => {
                self.add_relationship(&id, "active", &[APP_ADMIN], days_from_now(365), true);
            }
            Shape::Expired => {
                self.add_relationship(
                    &id,
                    "expired",
                    &[CLOUD_APP_ADMIN],
                    days_from_now(-40),
                    false,
                );
            }
            Shape::NoGdap => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

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
                .any(|t| !w.can_consent(&t.id) && w.has_active_gdap(&t.id))
        );
        assert!(w.tenant("contoso.com").is_some());
        assert!(w.tenant("contoso.onmicrosoft.com").is_some());
        assert_eq!(w.tenant(PARTNER_DOMAIN).unwrap().id, w.partner.id);
        let tailspin = w.customer_named("Tailspin Toys").unwrap();
        assert_eq!(
            tailspin.granted(APP_ID)[GRAPH_APP_ID],
            DEMO_SCOPES.iter().map(|s| s.to_string()).collect()
        );
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

    #[test]
    fn the_extra_gdap_shapes_are_there_only_when_asked_for() {
        let plain = World::seeded(None);
        let shaped = World::seeded(None).with_gdap_shapes();
        assert!(
            !plain
                .relationships
                .iter()
                .any(|r| r.status == "expiring" || r.customer.is_none())
        );
        let relecloud = shaped.customer_named("Relecloud").unwrap();
        assert!(
            shaped.has_active_gdap(&relecloud.id),
            "expiring still grants access"
        );
        assert!(shaped.relationships.iter().any(|r| r.customer.is_none()));
        assert!(
            shaped
                .relationships
                .iter()
                .any(|r| r.customer.as_ref().is_some_and(|c| c.tenant_id.is_none()))
        );
        assert!(
            shaped
                .relationships
                .iter()
                .any(|r| r.auto_extend_duration == "P0D")
        );
    }
}
