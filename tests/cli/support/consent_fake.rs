//! A stateful fake of the consent world for `csp consent` tests: Entra's token endpoint for
//! customer tenants (refusing with AADSTS65001 until the app is consented), Partner Center's
//! application-consent API, and Graph's readback (service principal, grants, resource service
//! principals), all sharing one state so a POST shows up in the readback.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::*;

pub const APP: &str = CLIENT_ID;
pub const GRAPH_APP: &str = "00000003-0000-0000-c000-000000000000";
pub const EXCHANGE_APP: &str = "00000002-0000-0ff1-ce00-000000000000";

/// The service-principal object id a resource app has in every fake tenant.
pub fn resource_sp(app: &str) -> String {
    format!("5{}", &app[1..])
}

#[derive(Debug, Default, Clone)]
pub struct TenantState {
    /// The app's service principal exists (a consent was ever made).
    pub consented: bool,
    /// Delegated scopes per resource app id.
    pub grants: BTreeMap<String, BTreeSet<String>>,
    /// Readbacks to answer with the old state before showing a change (propagation delay).
    pub lag: u32,
    /// What the readback shows while lagging.
    pub shown: Option<BTreeMap<String, BTreeSet<String>>>,
    /// A grant on a resource whose service principal cannot be resolved.
    pub unidentified_grant: bool,
    /// The grants are one user's (consentType Principal), not tenant-wide.
    pub principal_only: bool,
    /// One user's own consent (consentType Principal) besides the tenant-wide grants:
    /// (resource app id, scope).
    pub per_user: Option<(&'static str, &'static str)>,
    /// The app holds application permissions (app role assignments) there.
    pub app_roles: bool,
    /// Reading the app role assignments is refused (403).
    pub app_roles_forbidden: bool,
}

/// How the fake answers consent writes.
#[derive(Debug, Default, Clone)]
pub struct Behaviour {
    /// Answer POSTs with this status (and no state change), e.g. 403.
    pub post_status: Option<u16>,
    /// Answer POSTs for resources already held with 409 instead of 201.
    pub conflict_when_exists: bool,
    /// Fail POSTs of this resource with 400 AADSTS500011.
    pub missing_resource: Option<String>,
    /// Fail every POST made after the first DELETE (to test restores), n times.
    pub fail_posts_after_delete: u32,
    /// Answer DELETEs with 500 after doing them (a lost answer).
    pub delete_answer_lost: bool,
    /// Customer tenants refuse the sign-in as expired (AADSTS700082).
    pub sign_in_expired: bool,
    /// POSTs are recorded but answered only after this long (a hung request).
    pub post_hangs_for: Option<std::time::Duration>,
}

#[derive(Debug, Default)]
pub struct State {
    pub tenants: HashMap<String, TenantState>,
    pub behaviour: Behaviour,
    /// Every consent write: (method, tenant, resource or "", MS-RequestId, time).
    pub writes: Vec<(String, String, String, String, std::time::Instant)>,
    pub deleted: bool,
}

pub type Shared = Arc<Mutex<State>>;

pub struct ConsentWorld {
    pub env: TestEnv,
    pub pc: MockServer,
    pub graph: MockServer,
    pub state: Shared,
}

fn tenant_of_token(r: &Request) -> Option<String> {
    r.headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer AT-")
        .map(str::to_string)
}

fn scopes_of(v: &str) -> BTreeSet<String> {
    v.split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl ConsentWorld {
    pub async fn new(tenants: &[(&str, TenantState)]) -> ConsentWorld {
        let pc = MockServer::start().await;
        let graph = MockServer::start().await;
        let mut env = TestEnv::new().await;
        env.partner_center_url = pc.uri();
        env.graph_url = graph.uri();
        env.seed_file_sign_in(None);
        let state: Shared = Arc::new(Mutex::new(State::default()));
        for (t, s) in tenants {
            state
                .lock()
                .unwrap()
                .tenants
                .insert(t.to_string(), s.clone());
        }
        let world = ConsentWorld {
            env,
            pc,
            graph,
            state,
        };
        world.mount().await;
        world
    }

    /// Maps every tenant of the world to a client named after it.
    pub fn map_all(&self) {
        let tenants: Vec<String> = self.state.lock().unwrap().tenants.keys().cloned().collect();
        let mut mappings: Vec<Value> = tenants
            .iter()
            .map(|t| {
                json!({"customer": format!("Client {t}"), "tenantId": t, "domain": format!("{}.example.com", &t[..8]), "name": format!("Company {t}"), "mappedAt": "2026-11-27T10:00:00Z"})
            })
            .collect();
        mappings.sort_by_key(|m| m["customer"].as_str().unwrap().to_lowercase());
        std::fs::write(
            self.env.config_dir().join("mappings.json"),
            serde_json::to_string_pretty(&json!({"version": 1, "mappings": mappings})).unwrap(),
        )
        .unwrap();
    }

    pub fn tenant(&self, t: &str) -> TenantState {
        self.state.lock().unwrap().tenants[t].clone()
    }

    pub fn writes(&self) -> Vec<(String, String, String, String)> {
        self.state
            .lock()
            .unwrap()
            .writes
            .iter()
            .map(|(m, t, r, id, _)| (m.clone(), t.clone(), r.clone(), id.clone()))
            .collect()
    }

    async fn mount(&self) {
        // Entra: the partner tenant always; a customer tenant only once the app is consented.
        let s = Arc::clone(&self.state);
        Mock::given(method("POST"))
            .and(path_regex(r"^/[^/]+/oauth2/v2\.0/token$"))
            .and(form("grant_type", "refresh_token"))
            .respond_with(move |r: &Request| {
                let tenant = r.url.path().split('/').nth(1).unwrap().to_string();
                if tenant == TENANT_ID {
                    return ResponseTemplate::new(200)
                        .set_body_json(token_body(&access_token("pc", true), None));
                }
                let st = s.lock().unwrap();
                if st.behaviour.sign_in_expired {
                    return ResponseTemplate::new(400).set_body_json(entra_error(
                        "invalid_grant",
                        700082,
                        "The refresh token has expired due to inactivity.",
                    ));
                }
                match st.tenants.get(&tenant) {
                    Some(t) if t.consented => ResponseTemplate::new(200)
                        .set_body_json(token_body(&format!("AT-{tenant}"), None)),
                    _ => ResponseTemplate::new(400).set_body_json(entra_error(
                        "invalid_grant",
                        65001,
                        "The user or administrator has not consented to use the application.",
                    )),
                }
            })
            .mount(&self.env.login)
            .await;

        // Graph: the app's service principal in the token's tenant.
        let s = Arc::clone(&self.state);
        Mock::given(method("GET"))
            .and(path_regex(r"^/v1\.0/servicePrincipals\(appId='[^']+'\)$"))
            .respond_with(move |r: &Request| {
                let tenant = tenant_of_token(r).unwrap_or_default();
                let st = s.lock().unwrap();
                if st.behaviour.sign_in_expired {
                    return ResponseTemplate::new(400).set_body_json(entra_error(
                        "invalid_grant",
                        700082,
                        "The refresh token has expired due to inactivity.",
                    ));
                }
                match st.tenants.get(&tenant) {
                    Some(t) if t.consented => ResponseTemplate::new(200)
                        .set_body_json(json!({"id": resource_sp(APP), "appId": APP})),
                    _ => ResponseTemplate::new(404).set_body_json(json!({"error": {"code": "Request_ResourceNotFound", "message": "Resource not found"}})),
                }
            })
            .mount(&self.graph)
            .await;
        // Graph: the app's grants, as the readback shows them (with lag).
        let s = Arc::clone(&self.state);
        Mock::given(method("GET"))
            .and(path_regex(r"^/v1\.0/servicePrincipals/[^/]+/oauth2PermissionGrants$"))
            .respond_with(move |r: &Request| {
                let tenant = tenant_of_token(r).unwrap_or_default();
                let mut st = s.lock().unwrap();
                let Some(t) = st.tenants.get_mut(&tenant) else {
                    return ResponseTemplate::new(403);
                };
                let shown = if t.lag > 0 {
                    t.lag -= 1;
                    t.shown.clone().unwrap_or_default()
                } else {
                    t.grants.clone()
                };
                let mut value: Vec<Value> = shown
                    .iter()
                    .map(|(res, scopes)| {
                        json!({
                            "clientId": resource_sp(APP),
                            "consentType": if t.principal_only { "Principal" } else { "AllPrincipals" },
                            "principalId": null,
                            "resourceId": resource_sp(res),
                            "scope": scopes.iter().cloned().collect::<Vec<_>>().join(" "),
                        })
                    })
                    .collect();
                if let Some((res, scope)) = t.per_user {
                    value.push(json!({"clientId": resource_sp(APP), "consentType": "Principal", "principalId": "99999999-0000-0000-0000-000000000000", "resourceId": resource_sp(res), "scope": scope}));
                }
                if t.unidentified_grant {
                    value.push(json!({"clientId": "x", "consentType": "AllPrincipals", "resourceId": "77777777-0000-0000-0000-000000000000", "scope": "Mystery.Read"}));
                }
                ResponseTemplate::new(200).set_body_json(json!({"value": value}))
            })
            .mount(&self.graph)
            .await;
        // Graph: the app's application permissions.
        let s = Arc::clone(&self.state);
        Mock::given(method("GET"))
            .and(path_regex(r"^/v1\.0/servicePrincipals/[^/]+/appRoleAssignments$"))
            .respond_with(move |r: &Request| {
                let tenant = tenant_of_token(r).unwrap_or_default();
                let st = s.lock().unwrap();
                let Some(t) = st.tenants.get(&tenant) else {
                    return ResponseTemplate::new(403);
                };
                if t.app_roles_forbidden {
                    return ResponseTemplate::new(403).set_body_json(json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}));
                }
                let value = if t.app_roles {
                    json!([{"resourceDisplayName": "Microsoft Graph", "resourceId": resource_sp(GRAPH_APP), "appRoleId": "df021288-bdef-4463-88db-98f22de89214"}])
                } else {
                    json!([])
                };
                ResponseTemplate::new(200).set_body_json(json!({"value": value}))
            })
            .mount(&self.graph)
            .await;
        // Graph: a resource service principal by object id.
        Mock::given(method("GET"))
            .and(path_regex(r"^/v1\.0/servicePrincipals/[0-9a-f-]{36}$"))
            .respond_with(move |r: &Request| {
                let id = r.url.path().rsplit('/').next().unwrap().to_string();
                if !id.starts_with('5') {
                    return ResponseTemplate::new(404).set_body_json(json!({"error": {"code": "Request_ResourceNotFound", "message": "not found"}}));
                }
                // Undo resource_sp: the first hex digit of the app id is lost; these fakes only
                // use app ids starting with 0 or 1.
                let app = if id == resource_sp(APP) { APP.to_string() } else { format!("0{}", &id[1..]) };
                ResponseTemplate::new(200).set_body_json(json!({"id": id, "appId": app}))
            })
            .mount(&self.graph)
            .await;

        // Partner Center: consent POST.
        let s = Arc::clone(&self.state);
        Mock::given(method("POST"))
            .and(path_regex(r"^/v1/customers/[^/]+/applicationconsents$"))
            .respond_with(move |r: &Request| {
                let tenant = r.url.path().split('/').nth(3).unwrap().to_string();
                let body: Value = serde_json::from_slice(&r.body).unwrap();
                let grant = &body["applicationGrants"][0];
                let resource = grant["enterpriseApplicationId"].as_str().unwrap().to_string();
                let scopes = scopes_of(grant["scope"].as_str().unwrap());
                let request_id = r
                    .headers
                    .get("ms-requestid")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default();
                assert_eq!(body["applicationId"], APP, "the sign-in app is consented");
                assert_eq!(body["applicationGrants"].as_array().unwrap().len(), 1, "one resource per POST");
                assert_eq!(r.headers.get("validatemfa").map(|v| v.to_str().unwrap()), Some("true"));
                let mut st = s.lock().unwrap();
                st.writes.push(("POST".into(), tenant.clone(), resource.clone(), request_id, std::time::Instant::now()));
                if let Some(hang) = st.behaviour.post_hangs_for {
                    return ResponseTemplate::new(201).set_body_json(body).set_delay(hang);
                }
                if let Some(code) = st.behaviour.post_status {
                    return match code {
                        401 => ResponseTemplate::new(401).set_body_json(json!({"code": "900421", "description": "Multi-factor authentication is required for this request.", "source": "PartnerCenter"})),
                        c => ResponseTemplate::new(c).set_body_json(json!({"code": "403", "description": "The caller is not authorized to perform this operation.", "source": "PartnerCenter"})),
                    };
                }
                if st.behaviour.missing_resource.as_deref() == Some(resource.as_str()) {
                    return ResponseTemplate::new(400).set_body_json(json!({"code": "600049", "description": format!("AADSTS500011: The resource principal named {resource} was not found in the tenant."), "source": "PartnerCenter"}));
                }
                if st.deleted && st.behaviour.fail_posts_after_delete > 0 {
                    st.behaviour.fail_posts_after_delete -= 1;
                    return ResponseTemplate::new(400).set_body_json(json!({"code": "1000", "description": "Something went wrong.", "source": "PartnerCenter"}));
                }
                let conflict = st.behaviour.conflict_when_exists;
                let t = st.tenants.entry(tenant).or_default();
                let existed = t.grants.contains_key(&resource) && !t.principal_only;
                // An admin consent makes every grant tenant-wide.
                t.principal_only = false;
                t.consented = true;
                t.grants.entry(resource).or_default().extend(scopes);
                if existed && conflict {
                    return ResponseTemplate::new(409).set_body_json(json!({"code": "409", "description": "Permission entry already exists.", "source": "PartnerCenter"}));
                }
                ResponseTemplate::new(201).set_body_json(body)
            })
            .mount(&self.pc)
            .await;
        // Partner Center: consent DELETE.
        let s = Arc::clone(&self.state);
        Mock::given(method("DELETE"))
            .and(path_regex(
                r"^/v1/customers/[^/]+/applicationconsents/[^/]+$",
            ))
            .respond_with(move |r: &Request| {
                let tenant = r.url.path().split('/').nth(3).unwrap().to_string();
                let mut st = s.lock().unwrap();
                let request_id = r
                    .headers
                    .get("ms-requestid")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default();
                st.writes.push((
                    "DELETE".into(),
                    tenant.clone(),
                    String::new(),
                    request_id,
                    std::time::Instant::now(),
                ));
                st.deleted = true;
                if let Some(t) = st.tenants.get_mut(&tenant) {
                    t.grants.clear();
                }
                if st.behaviour.delete_answer_lost {
                    return ResponseTemplate::new(500);
                }
                ResponseTemplate::new(204)
            })
            .mount(&self.pc)
            .await;
    }
}

pub fn held(grants: &[(&str, &[&str])]) -> TenantState {
    TenantState {
        consented: true,
        grants: grants
            .iter()
            .map(|(r, s)| (r.to_string(), s.iter().map(|x| x.to_string()).collect()))
            .collect(),
        ..Default::default()
    }
}
