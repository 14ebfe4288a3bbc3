//! The simulated partner's world: its tenant, user and app registrations, its customers with
//! their domains, Partner Center relationship and the service principals (with their grants)
//! that consents made there, the GDAP relationships, and the switches that make the simulator
//! behave as some real tenants do. Plain data, serialisable so a sandbox keeps its state
//! between runs; `seed.rs` builds the worlds, the services read and change them.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::consent::manifest::GRAPH_APP_ID;

pub const APP_ID: &str = "5a4d0000-c5b0-4c5b-9e5d-000000000001";
pub const PARTNER_CENTER_APP: &str = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd";
pub const EXCHANGE_APP: &str = "00000002-0000-0ff1-ce00-000000000000";
pub const ARM_APP: &str = "797f4846-ba00-4fd7-ba43-dac1f8f63013";
pub const USER: &str = "automation@contosopartner.onmicrosoft.com";
/// The partner user's object id.
pub const USER_ID: &str = "5a4d0000-0000-4000-8000-00000000000a";
pub const PARTNER_DOMAIN: &str = "contosopartner.onmicrosoft.com";
/// The security group that GDAP assignments name and the partner user belongs to.
pub const ADMIN_GROUP: &str = "5a4d0000-9000-4000-8000-000000000001";
/// Its display name: not one csp's templates name, so onboarding a new customer (`csp gdap
/// assign --create-groups`) makes the groups they do.
pub const ADMIN_GROUP_NAME: &str = "M365 GDAP Admins";
/// The partner tenant's AdminAgents group, which the partner user belongs to.
pub const ADMIN_AGENTS: &str = "5a4d0000-9000-4000-8000-0000000000aa";
/// Another user of the partner tenant, for `--add-member UPN`.
pub const HELPDESK_USER: &str = "helpdesk@contosopartner.onmicrosoft.com";
pub const HELPDESK_USER_ID: &str = "5a4d0000-0000-4000-8000-00000000000b";
/// The scopes the sandbox's consent manifest declares.
pub const DEMO_SCOPES: [&str; 2] = ["Directory.Read.All", "User.Read.All"];
/// Microsoft Graph Command Line Tools, the public client `csp setup` signs in with.
pub const BOOTSTRAP_APP: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
/// The shape of the saved world; a saved world of another version is seeded afresh.
pub const VERSION: u32 = 2;
/// The sandbox's own Azure identity (a service principal) that reaches the simulated vault.
pub const VAULT_IDENTITY: &str = "5a4d0000-7a17-4000-8000-000000000001";
/// The resource of Key Vault tokens (public cloud).
pub const VAULT_RESOURCE: &str = "https://vault.azure.net";
/// What the simulated managed identity endpoint wants in `X-IDENTITY-HEADER`.
pub const IDENTITY_HEADER: &str = "sandbox-identity-header";

pub const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
pub const CLOUD_APP_ADMIN: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
pub const APP_ADMIN: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
pub const EXCHANGE_ADMIN: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
pub const HELPDESK_ADMIN: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct World {
    pub version: u32,
    pub seed: Option<u32>,
    pub partner: Tenant,
    pub customers: Vec<Tenant>,
    /// App registrations in the partner tenant.
    pub apps: Vec<App>,
    /// The partner's GDAP relationships, whatever their status.
    pub relationships: Vec<Relationship>,
    /// The security groups the partner user belongs to (`me/transitiveMemberOf`).
    pub user_groups: Vec<String>,
    /// The partner tenant's security groups by name (AdminAgents, the groups GDAP assignments
    /// name, and those `csp gdap assign --create-groups` makes).
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Users of the partner tenant other than the signed-in one.
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub switches: Switches,
    /// The partner's Azure Key Vault (the token store of unattended runs).
    #[serde(default)]
    pub key_vault: KeyVault,
}

/// The simulated Azure Key Vault: secrets by name with their versions (oldest first), and the
/// names deleted but still recoverable (soft delete).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyVault {
    pub secrets: BTreeMap<String, Vec<SecretVersion>>,
    #[serde(default)]
    pub deleted: BTreeSet<String>,
}

/// One version of a secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecretVersion {
    pub version: String,
    pub value: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Unix seconds.
    pub created: i64,
}

impl KeyVault {
    /// The newest version of `name`, unless it was deleted.
    pub fn latest(&self, name: &str) -> Option<&SecretVersion> {
        if self.deleted.contains(name) {
            return None;
        }
        self.secrets.get(name)?.last()
    }

    /// How many versions `name` has.
    pub fn versions(&self, name: &str) -> usize {
        self.secrets.get(name).map_or(0, Vec::len)
    }
}

/// A security group of the partner tenant. The signed-in user's memberships are `user_groups`;
/// `members` holds the other users'.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub user_principal_name: String,
}

/// Behaviours some real tenants show, off in the built-in world.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Switches {
    /// Partner Center answers every call 401 with error 900421 (MFA required).
    pub mfa_required: bool,
    /// Entra issues tokens whose `amr` claim lacks `mfa` (Partner Center then refuses them).
    pub no_mfa_claim: bool,
    /// Every refresh-token redemption fails with AADSTS700082 (expired by inactivity).
    pub sign_in_expired: bool,
    /// A consent DELETE removes the app's service principal too, not only its tenant-wide
    /// grants (Microsoft leaves this unconfirmed).
    pub delete_removes_service_principal: bool,
    /// Caps every Graph page at this many items, below what `$top` asks, so paging shows.
    pub graph_page_size: Option<usize>,
    /// After a consent write, this many reads of the app's grants still show the grants as
    /// they were before it (Microsoft's propagation delay).
    pub propagation_reads: u32,
    /// Consent writes a second per application above which Partner Center answers 429, when
    /// not the 50 it publishes (benchmarks).
    pub consent_rate: Option<usize>,
    /// Reads of a relationship locked for approval before its customer approves it (0: at
    /// once).
    pub approve_after_reads: u32,
    /// The customer never approves: a relationship locked for approval ends `expired` instead.
    pub approvals_expire: bool,
    /// Reads of an access assignment before it turns from `pending` to `active` (0: at once).
    pub activate_after_reads: u32,
    /// Secret permissions the vault's access policy lacks for every caller (`get`, `set`,
    /// `delete`): those calls answer 403.
    pub vault_denied: Vec<String>,
    /// The vault's firewall refuses every caller (403 ForbiddenByFirewall).
    pub vault_firewall: bool,
}

/// An app registration in the partner tenant, as `csp setup` reads and writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct App {
    pub object_id: String,
    pub app_id: String,
    pub display_name: String,
    pub sign_in_audience: String,
    pub is_fallback_public_client: bool,
    /// The `publicClient` platform's redirect URIs.
    pub redirect_uris: Vec<String>,
    /// The `web` platform's redirect URIs (a confidential client's loopback redirect).
    #[serde(default)]
    pub web_redirect_uris: Vec<String>,
    pub required_resource_access: serde_json::Value,
    /// Client secrets added with `addPassword`, without the secret itself.
    #[serde(default)]
    pub passwords: Vec<Password>,
}

/// A client secret's public facts (`passwordCredentials`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Password {
    pub key_id: String,
    pub display_name: Option<String>,
    pub end_date_time: Option<String>,
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
    /// Service-principal object ids of the resource apps present here, by appId.
    pub resource_sps: BTreeMap<String, String>,
    /// Service principals of client apps here (the CPV app once consented), by appId.
    pub service_principals: BTreeMap<String, ServicePrincipal>,
    /// How many client service principals were deleted here: a new one gets a new id.
    #[serde(default)]
    pub deleted_service_principals: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServicePrincipal {
    pub id: String,
    pub grants: Vec<PermissionGrant>,
    /// Application permissions (app role assignments) the app holds here.
    #[serde(default)]
    pub app_roles: Vec<AppRoleAssignment>,
    /// Grant reads left that show `shown` instead of `grants` (propagation delay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<(u32, Vec<PermissionGrant>)>,
}

/// A delegated permission grant (`oauth2PermissionGrant`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionGrant {
    pub id: String,
    /// The resource's service-principal object id in the tenant (it may name none).
    pub resource_sp: String,
    /// `None`: tenant-wide (`AllPrincipals`); `Some(user id)`: one user's own consent.
    pub principal: Option<String>,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppRoleAssignment {
    pub id: String,
    pub resource_sp: String,
    pub resource_display_name: String,
    pub app_role_id: String,
}

/// A GDAP relationship.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Relationship {
    pub id: String,
    pub display_name: String,
    /// As Graph shows it: absent, or without a tenant id, until the customer approves.
    pub customer: Option<RelationshipCustomer>,
    pub status: String,
    pub roles: Vec<String>,
    pub duration: String,
    /// `P180D` on; `PT0S` or `P0D` off.
    pub auto_extend_duration: String,
    pub end: Option<String>,
    pub assignments: Vec<AccessAssignment>,
    /// Bumped by every change: the ETag a change must name.
    #[serde(default)]
    pub version: u32,
    /// Reads left before the customer's answer, once locked for approval.
    #[serde(default)]
    pub approval_reads: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RelationshipCustomer {
    pub tenant_id: Option<String>,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessAssignment {
    pub id: String,
    /// The partner security group the roles are assigned to.
    pub group: String,
    pub roles: Vec<String>,
    /// `pending`, `active`, `deleting`, `deleted` or `error`.
    pub status: String,
    /// Reads left before a pending assignment made through the API turns active (`None`: it
    /// stays as it is).
    #[serde(default)]
    pub activation_reads: Option<u32>,
    #[serde(default)]
    pub version: u32,
}

/// Delegated permission scopes the simulated resources offer, with their ids.
pub fn permission_scopes(resource: &str) -> Vec<(String, String)> {
    let names: &[&str] = match resource {
        PARTNER_CENTER_APP | ARM_APP => &["user_impersonation"],
        EXCHANGE_APP => &["Exchange.Manage", "EWS.AccessAsUser.All"],
        GRAPH_APP_ID => &[
            "DelegatedAdminRelationship.Read.All",
            "DelegatedAdminRelationship.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
            "Directory.AccessAsUser.All",
            "User.Read",
            "User.Read.All",
            "User.ReadWrite.All",
            "Application.Read.All",
            "Application.ReadWrite.All",
            "AppRoleAssignment.ReadWrite.All",
            "DelegatedPermissionGrant.Read.All",
            "DelegatedPermissionGrant.ReadWrite.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
            "GroupMember.Read.All",
            "GroupMember.ReadWrite.All",
            "Domain.Read.All",
            "Mail.Read",
            "Mail.Send",
            // Added later: at the end, so the ids of the others stay as saved sandboxes know them.
            "Group.Create",
            "User.ReadBasic.All",
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

/// The published name of `name` (compared without regard to case) among `resource`'s scopes.
pub fn published_scope(resource: &str, name: &str) -> Option<String> {
    permission_scopes(resource)
        .into_iter()
        .map(|(_, n)| n)
        .find(|n| n.eq_ignore_ascii_case(name))
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

/// A deterministic GUID derived from any text (FNV-1a), for objects made while running.
pub fn derived_guid(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    guid(0x5a4d_4100, hash & 0xffff_ffff_ffff)
}

/// A grant id as Graph forms them: the client's, the resource's (and the user's) object ids
/// in base64url.
pub fn grant_id(client_sp: &str, resource_sp: &str, principal: Option<&str>) -> String {
    let mut bytes = Vec::new();
    for id in std::iter::once(client_sp)
        .chain(std::iter::once(resource_sp))
        .chain(principal)
    {
        match uuid::Uuid::parse_str(id) {
            Ok(u) => bytes.extend_from_slice(u.as_bytes()),
            Err(_) => bytes.extend_from_slice(id.as_bytes()),
        }
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

impl World {
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

    pub fn customer_mut(&mut self, id: &str) -> Option<&mut Tenant> {
        self.customers.iter_mut().find(|t| t.id == id)
    }

    /// The customer named `name` or owning the domain `name` (for tests).
    pub fn customer_named(&self, name: &str) -> Option<&Tenant> {
        self.customers
            .iter()
            .find(|t| t.name == name || t.domains.iter().any(|d| d == name))
    }

    /// The relationships with `tenant_id`, as far as Graph shows the customer.
    pub fn relationships_of<'a>(
        &'a self,
        tenant_id: &'a str,
    ) -> impl Iterator<Item = &'a Relationship> + 'a {
        self.relationships.iter().filter(move |r| {
            r.customer
                .as_ref()
                .and_then(|c| c.tenant_id.as_deref())
                .is_some_and(|t| t.eq_ignore_ascii_case(tenant_id))
        })
    }

    /// The partner user reaches the tenant through GDAP: a relationship that grants access now
    /// (`active`, or `expiring`: past its end while auto-extend runs).
    pub fn has_active_gdap(&self, tenant_id: &str) -> bool {
        self.relationships_of(tenant_id)
            .any(Relationship::grants_access)
    }

    /// The partner user holds a role that can consent in the tenant: through an active
    /// relationship, an active assignment of such a role to a group the user is in.
    pub fn can_consent(&self, tenant_id: &str) -> bool {
        self.relationships_of(tenant_id)
            .filter(|r| r.grants_access())
            .flat_map(|r| r.assignments.iter())
            .filter(|a| a.status == "active" && self.user_groups.contains(&a.group))
            .flat_map(|a| a.roles.iter())
            .any(|id| {
                crate::roles::by_id(id)
                    .is_some_and(|role| role.consent != crate::roles::ConsentCapability::None)
            })
    }

    /// The groups the signed-in partner user is in.
    pub fn in_group(&self, group: &str) -> bool {
        self.user_groups
            .iter()
            .any(|g| g.eq_ignore_ascii_case(group))
    }

    /// Time passes for GDAP, one read at a time: relationships locked for approval are
    /// approved (or expire) when their reads run out, pending assignments turn active. A
    /// relationship made for a new customer gets one at approval.
    pub fn advance_gdap(&mut self) {
        let expire = self.switches.approvals_expire;
        let mut approved: Vec<usize> = Vec::new();
        for (i, r) in self.relationships.iter_mut().enumerate() {
            if r.status == "approvalPending" {
                match r.approval_reads {
                    Some(0) => {
                        r.approval_reads = None;
                        r.version += 1;
                        if expire {
                            r.status = "expired".into();
                        } else {
                            approved.push(i);
                        }
                    }
                    Some(n) => r.approval_reads = Some(n - 1),
                    None => {}
                }
            }
            for a in r.assignments.iter_mut().filter(|a| a.status == "pending") {
                match a.activation_reads {
                    Some(0) => {
                        a.status = "active".into();
                        a.activation_reads = None;
                        a.version += 1;
                    }
                    Some(n) => a.activation_reads = Some(n - 1),
                    None => {}
                }
            }
        }
        for i in approved {
            self.approve(i);
        }
    }

    /// The customer approves relationship `i`: it is active from now for its duration, and a
    /// relationship made for no customer gets a brand-new one.
    fn approve(&mut self, i: usize) {
        let known = self.relationships[i]
            .customer
            .as_ref()
            .and_then(|c| c.tenant_id.clone());
        let customer = match known {
            Some(t) => t,
            None => self.new_customer(),
        };
        let name = self.customer(&customer).map(|t| t.name.clone());
        let r = &mut self.relationships[i];
        let days = crate::gdap::rules::duration_days(&r.duration).unwrap_or(730);
        r.status = "active".into();
        r.end = Some(crate::sandbox::days_from_now(days.into()));
        r.customer = Some(RelationshipCustomer {
            tenant_id: Some(customer),
            display_name: name,
        });
    }

    /// A tenant that becomes the partner's customer by approving a relationship: not in
    /// Partner Center's list (no reseller relationship), reached only through GDAP.
    fn new_customer(&mut self) -> String {
        let n = self
            .customers
            .iter()
            .filter(|t| t.name.starts_with("Adventure Works"))
            .count();
        let (name, domain) = if n == 0 {
            (
                "Adventure Works Cycles".to_string(),
                "adventure-works.com".to_string(),
            )
        } else {
            (
                format!("Adventure Works {}", n + 1),
                format!("adventure-works{}.com", n + 1),
            )
        };
        let id = self.add_customer_without_gdap(&name, &domain);
        if let Some(t) = self.customer_mut(&id) {
            t.relationship = None;
        }
        id
    }

    /// An app registered in the partner tenant, by appId.
    pub fn app(&self, app_id: &str) -> Option<&App> {
        self.apps
            .iter()
            .find(|a| a.app_id.eq_ignore_ascii_case(app_id))
    }
}

impl Relationship {
    pub fn grants_access(&self) -> bool {
        matches!(self.status.as_str(), "active" | "expiring")
    }

    /// The ETag Graph shows for this version of the relationship.
    pub fn etag(&self) -> String {
        format!("W/\"{}-{}\"", &self.id[..8], self.version)
    }
}

impl AccessAssignment {
    pub fn etag(&self) -> String {
        format!(
            "W/\"{}-{}\"",
            &self.id[..self.id.len().min(8)],
            self.version
        )
    }
}

impl Tenant {
    /// The resource app whose service principal has this object id.
    pub fn resource_by_sp(&self, sp: &str) -> Option<&str> {
        self.resource_sps
            .iter()
            .find(|(_, id)| id.eq_ignore_ascii_case(sp))
            .map(|(app, _)| app.as_str())
    }

    /// The client app (appId) and service principal with this object id.
    pub fn client_by_sp(&self, sp: &str) -> Option<(&str, &ServicePrincipal)> {
        self.service_principals
            .iter()
            .find(|(_, p)| p.id.eq_ignore_ascii_case(sp))
            .map(|(app, p)| (app.as_str(), p))
    }

    /// `app`'s tenant-wide delegated scopes here, by resource appId (empty when the app has
    /// no service principal).
    pub fn granted(&self, app: &str) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let Some(sp) = self.service_principals.get(app) else {
            return out;
        };
        for g in sp.grants.iter().filter(|g| g.principal.is_none()) {
            if let Some(resource) = self.resource_by_sp(&g.resource_sp) {
                out.entry(resource.to_string())
                    .or_default()
                    .extend(g.scopes.iter().cloned());
            }
        }
        out
    }

    /// Gives `app` a service principal here (if it has none) and a tenant-wide grant of
    /// `scopes` on `resource` (an appId with a service principal here), merged with any
    /// grant it already has there.
    pub fn grant(&mut self, app: &str, resource: &str, scopes: &[&str]) -> &mut ServicePrincipal {
        let resource_sp = self
            .resource_sps
            .get(resource)
            .cloned()
            .unwrap_or_else(|| derived_guid(&format!("{}/{resource}", self.id)));
        let sp = self.ensure_service_principal(app);
        let client = sp.id.clone();
        match sp
            .grants
            .iter_mut()
            .find(|g| g.principal.is_none() && g.resource_sp == resource_sp)
        {
            Some(g) => {
                for s in scopes {
                    if !g.scopes.iter().any(|x| x.eq_ignore_ascii_case(s)) {
                        g.scopes.push(s.to_string());
                    }
                }
            }
            None => sp.grants.push(PermissionGrant {
                id: grant_id(&client, &resource_sp, None),
                resource_sp,
                principal: None,
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
            }),
        }
        sp
    }

    /// `app`'s service principal here, created when missing.
    pub fn ensure_service_principal(&mut self, app: &str) -> &mut ServicePrincipal {
        let id = derived_guid(&format!(
            "sp/{}/{app}/{}",
            self.id, self.deleted_service_principals
        ));
        self.service_principals
            .entry(app.to_ascii_lowercase())
            .or_insert_with(|| ServicePrincipal {
                id,
                grants: Vec::new(),
                app_roles: Vec::new(),
                stale: None,
            })
    }
}

impl ServicePrincipal {
    /// One user's own consent (`consentType: Principal`) of `scopes` on the resource with
    /// service principal `resource_sp`.
    pub fn add_user_grant(&mut self, resource_sp: &str, user: &str, scopes: &[&str]) {
        self.grants.push(PermissionGrant {
            id: grant_id(&self.id, resource_sp, Some(user)),
            resource_sp: resource_sp.to_string(),
            principal: Some(user.to_string()),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        });
    }
}
