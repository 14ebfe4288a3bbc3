//! The simulator's HTTP face: Entra (device code approved automatically, token endpoint with
//! refresh-token rotation and customer-tenant authorities that work only where the app is
//! consented, OpenID metadata, an authorize endpoint that approves at once), Partner Center
//! (customers with continuation paging, customer by id, application consents with
//! 201/409/403/429 and DELETE) and Graph (domains, GDAP, service principals and the grants the
//! consents made), shaped like Microsoft's answers (API.md, api/samples).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::world::{self, World};
use crate::consent::manifest::GRAPH_APP_ID;

/// How long the simulated user takes to approve a device code.
pub const APPROVE_AFTER: Duration = Duration::from_millis(1500);
/// Consent writes allowed per second per application, as Partner Center publishes.
pub const CONSENT_RATE: usize = 50;
const PAGE_SIZE: usize = 100;

pub struct SimState {
    pub world: Mutex<World>,
    runtime: Mutex<Runtime>,
}

#[derive(Default)]
struct Runtime {
    /// Device codes: when issued, and the scope asked for.
    device_codes: HashMap<String, (Instant, String)>,
    auth_codes: HashMap<String, ()>,
    consent_writes: VecDeque<Instant>,
    /// Partner Center answers a repeated MS-RequestId with the first answer.
    answered: HashMap<String, (u16, Value)>,
    counter: u64,
}

impl SimState {
    pub fn new(world: World) -> Self {
        SimState {
            world: Mutex::new(world),
            runtime: Mutex::new(Runtime::default()),
        }
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn runtime(&self) -> std::sync::MutexGuard<'_, Runtime> {
        self.runtime.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next(&self) -> u64 {
        let mut r = self.runtime();
        r.counter += 1;
        r.counter
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn entra_error(status: StatusCode, error: &str, code: u32, text: &str) -> Response {
    let correlation = uuid::Uuid::new_v4();
    json_response(
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: {}\r\nCorrelation ID: {correlation}\r\nTimestamp: {}", uuid::Uuid::new_v4(), chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ")),
            "error_codes": [code],
            "timestamp": chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
            "trace_id": uuid::Uuid::new_v4().to_string(),
            "correlation_id": correlation.to_string(),
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

fn api_fault(status: StatusCode, code: &str, description: &str) -> Response {
    json_response(
        status,
        json!({"code": code, "description": description, "data": [], "source": "PartnerApiServiceControllers"}),
    )
}

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        json!({"error": {"code": code, "message": message, "innerError": {
            "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "request-id": uuid::Uuid::new_v4().to_string(),
            "client-request-id": uuid::Uuid::new_v4().to_string()
        }}}),
    )
}

/// A JWT-shaped token (unsigned: the simulator reads its own claims back).
fn jwt(claims: Value) -> String {
    format!(
        "{}.{}.c2FuZGJveA",
        URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"none","kid":"sandbox"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn claims_of(headers: &HeaderMap) -> Option<Value> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// The resource a scope names: `https://host/user_impersonation` → `https://host`.
fn resource_of(scope: &str) -> String {
    let first = scope
        .split_whitespace()
        .find(|s| s.contains("://"))
        .unwrap_or_default();
    match first.rfind('/') {
        Some(i) if i > "https://".len() => first[..i].to_string(),
        _ => first.to_string(),
    }
}

fn form(body: &Bytes) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn query(uri: &Uri) -> HashMap<String, String> {
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

pub async fn handle(
    axum::extract::State(sim): axum::extract::State<Arc<SimState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.clone(), segments.as_slice()) {
        (Method::POST, [tenant, "oauth2", "v2.0", "devicecode"]) => {
            device_code(&sim, tenant, &form(&body))
        }
        (Method::POST, [tenant, "oauth2", "v2.0", "token"]) => token(&sim, tenant, &form(&body)),
        (Method::GET, [_, "oauth2", "v2.0", "authorize"]) => authorize(&sim, &query(&uri)),
        (Method::GET, [domain, "v2.0", ".well-known", "openid-configuration"]) => {
            openid(&sim, domain)
        }
        (_, ["v1", ..]) => partner_center(&sim, &method, &segments[1..], &uri, &headers, &body),
        (Method::GET, ["v1.0", ..]) => graph(&sim, &segments[1..], &uri, &headers),
        (Method::POST | Method::PATCH, ["v1.0", ..]) => {
            graph_write(&sim, &method, &segments[1..], &headers, &body)
        }
        _ => graph_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("no such endpoint: {method} {path}"),
        ),
    }
}

// ---------- Entra ----------

fn device_code(sim: &SimState, tenant: &str, f: &HashMap<String, String>) -> Response {
    if sim.world().tenant(tenant).is_none() && !matches!(tenant, "organizations" | "common") {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_tenant",
            90002,
            &format!("Tenant '{tenant}' not found."),
        );
    }
    if !known_client(f.get("client_id")) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            "Application was not found in the directory of the sandbox. The sandbox's app is preconfigured; run csp --sandbox authorize without --client-id.",
        );
    }
    let code = format!("simdc-{}", uuid::Uuid::new_v4().simple());
    let user_code: String = uuid::Uuid::new_v4().simple().to_string()[..9].to_ascii_uppercase();
    sim.runtime().device_codes.insert(
        code.clone(),
        (Instant::now(), f.get("scope").cloned().unwrap_or_default()),
    );
    json_response(
        StatusCode::OK,
        json!({
            "user_code": user_code,
            "device_code": code,
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900,
            "interval": 1,
            "message": format!("To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code {user_code} to authenticate. (Sandbox: the code is approved by itself in a moment.)"),
        }),
    )
}

fn token(sim: &SimState, tenant: &str, f: &HashMap<String, String>) -> Response {
    if !known_client(f.get("client_id")) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            "Application was not found in the directory of the sandbox.",
        );
    }
    let scope = f.get("scope").cloned().unwrap_or_default();
    let world = sim.world().clone();
    let partner = world.partner.id.clone();
    // The tenant the token is for: the partner for its own names, else a customer.
    let tid = if matches!(tenant, "organizations" | "common") {
        partner.clone()
    } else {
        match world.tenant(tenant) {
            Some(t) => t.id.clone(),
            None => {
                return entra_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_tenant",
                    90002,
                    &format!("Tenant '{tenant}' not found."),
                );
            }
        }
    };
    match f.get("grant_type").map(String::as_str) {
        Some("urn:ietf:params:oauth:grant-type:device_code") => {
            let code = f.get("device_code").cloned().unwrap_or_default();
            let issued = sim.runtime().device_codes.get(&code).cloned();
            match issued {
                None => entra_error(
                    StatusCode::BAD_REQUEST,
                    "bad_verification_code",
                    70018,
                    "Invalid verification code.",
                ),
                Some((t, _)) if t.elapsed() > Duration::from_secs(900) => entra_error(
                    StatusCode::BAD_REQUEST,
                    "expired_token",
                    70019,
                    "Verification code expired.",
                ),
                Some((t, _)) if t.elapsed() < APPROVE_AFTER => entra_error(
                    StatusCode::BAD_REQUEST,
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                ),
                Some((_, asked)) => {
                    sim.runtime().device_codes.remove(&code);
                    let client = f.get("client_id").cloned().unwrap_or_default();
                    issue(sim, &partner, &asked, true, &client)
                }
            }
        }
        Some("authorization_code") => {
            let code = f.get("code").cloned().unwrap_or_default();
            if sim.runtime().auth_codes.remove(&code).is_none() || !f.contains_key("code_verifier")
            {
                return entra_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    70000,
                    "The provided authorization code is invalid.",
                );
            }
            issue(sim, &partner, &scope, true, world::APP_ID)
        }
        Some("refresh_token") => {
            if !f
                .get("refresh_token")
                .is_some_and(|r| r.starts_with("simrt-"))
            {
                return entra_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    70008,
                    "The provided authorization code or refresh token has expired due to inactivity.",
                );
            }
            if tid != partner {
                let t = world.customer(&tid).expect("resolved above");
                if !t.has_active_gdap() {
                    return entra_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        50020,
                        &format!(
                            "User account '{}' from identity provider does not exist in tenant '{}' and cannot access the application.",
                            world::USER,
                            t.name
                        ),
                    );
                }
                if !t.app_consented {
                    return entra_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        65001,
                        "The user or administrator has not consented to use the application.",
                    );
                }
            }
            issue(sim, &tid, &scope, true, world::APP_ID)
        }
        _ => entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        ),
    }
}

/// The sandbox's own app, or the public client `csp setup` signs in with.
fn known_client(client: Option<&String>) -> bool {
    matches!(
        client.map(String::as_str),
        Some(world::APP_ID | world::BOOTSTRAP_APP)
    )
}

fn issue(sim: &SimState, tid: &str, scope: &str, refresh: bool, client: &str) -> Response {
    let now = chrono::Utc::now().timestamp();
    let aud = resource_of(scope);
    let n = sim.next();
    let access = jwt(json!({
        "aud": aud, "iss": format!("https://sts.windows.net/{tid}/"), "iat": now, "nbf": now, "exp": now + 3599,
        "tid": tid, "upn": world::USER, "unique_name": world::USER, "name": "Automation Account",
        "oid": "5a4d0000-0000-4000-8000-00000000000a", "appid": client, "amr": ["pwd", "mfa"],
        "scp": scope.split_whitespace().filter(|s| s.contains("://")).map(|s| s.rsplit('/').next().unwrap_or(s)).collect::<Vec<_>>().join(" "),
        "ver": "1.0", "sandbox": true,
    }));
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": access,
        "id_token": jwt(json!({"aud": client, "tid": tid, "preferred_username": world::USER, "name": "Automation Account", "iat": now, "exp": now + 3599})),
    });
    if refresh {
        body["refresh_token"] = json!(format!("simrt-{n}-{}", uuid::Uuid::new_v4().simple()));
    }
    json_response(StatusCode::OK, body)
}

fn authorize(sim: &SimState, q: &HashMap<String, String>) -> Response {
    let Some(redirect) = q.get("redirect_uri").and_then(|r| url::Url::parse(r).ok()) else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90014,
            "The request must contain a redirect_uri.",
        );
    };
    let code = format!("simac-{}", uuid::Uuid::new_v4().simple());
    sim.runtime().auth_codes.insert(code.clone(), ());
    let mut to = redirect;
    to.query_pairs_mut().append_pair("code", &code).append_pair(
        "state",
        q.get("state").map(String::as_str).unwrap_or_default(),
    );
    (StatusCode::FOUND, [("location", to.to_string())]).into_response()
}

fn openid(sim: &SimState, domain: &str) -> Response {
    let world = sim.world();
    match world.tenant(domain) {
        Some(t) => json_response(
            StatusCode::OK,
            json!({
                "token_endpoint": format!("https://login.microsoftonline.com/{}/oauth2/v2.0/token", t.id),
                "authorization_endpoint": format!("https://login.microsoftonline.com/{}/oauth2/v2.0/authorize", t.id),
                "issuer": format!("https://login.microsoftonline.com/{}/v2.0", t.id),
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
            }),
        ),
        None => entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_tenant",
            90002,
            &format!(
                "Tenant '{domain}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        ),
    }
}

// ---------- Partner Center ----------

fn customer_json(t: &world::Tenant, by_id: bool) -> Value {
    let mut c = json!({
        "id": t.id,
        "companyProfile": {
            "tenantId": t.id, "domain": t.initial_domain, "companyName": t.name,
            "attributes": {"objectType": "CustomerCompanyProfile"}
        },
        "relationshipToPartner": t.relationship.clone().unwrap_or_else(|| "none".into()),
        "attributes": {"objectType": "Customer"}
    });
    if by_id {
        c["customDomains"] = json!(t.domains);
        c["allowDelegatedAccess"] = json!(true);
    }
    c
}

fn partner_center(
    sim: &SimState,
    method: &Method,
    segments: &[&str],
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let partner = sim.world().partner.id.clone();
    let Some(claims) = claims_of(headers) else {
        return api_fault(
            StatusCode::UNAUTHORIZED,
            "401",
            "Access denied: the request carries no valid access token.",
        );
    };
    if !claims["aud"]
        .as_str()
        .is_some_and(|a| a.contains("partnercenter"))
        || claims["tid"] != partner.as_str()
    {
        return api_fault(
            StatusCode::UNAUTHORIZED,
            "401",
            "Access denied: the token is not for Partner Center in the partner tenant.",
        );
    }
    match (method.clone(), segments) {
        (Method::GET, ["customers"]) => list_customers(sim, uri, headers),
        (Method::GET, ["customers", id]) => {
            let world = sim.world();
            match world.customer(&id.to_ascii_lowercase()) {
                Some(t) if t.relationship.is_some() => {
                    json_response(StatusCode::OK, customer_json(t, true))
                }
                Some(_) => api_fault(
                    StatusCode::FORBIDDEN,
                    "20002",
                    &format!(
                        "The partner id {} has no commerce relationship with the customer id {id}.",
                        world.partner.id
                    ),
                ),
                None => api_fault(StatusCode::NOT_FOUND, "60003", "Tenant not found"),
            }
        }
        (Method::POST, ["customers", id, "applicationconsents"]) => {
            with_request_id(sim, headers, |sim| {
                post_consent(sim, &id.to_ascii_lowercase(), &claims, body)
            })
        }
        (Method::DELETE, ["customers", id, "applicationconsents", app]) => {
            with_request_id(sim, headers, |sim| {
                delete_consent(sim, &id.to_ascii_lowercase(), app)
            })
        }
        _ => api_fault(StatusCode::NOT_FOUND, "1000", "Not found"),
    }
}

fn list_customers(sim: &SimState, uri: &Uri, headers: &HeaderMap) -> Response {
    let q = query(uri);
    let size = q
        .get("size")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(PAGE_SIZE)
        .min(PAGE_SIZE);
    let filter: Option<Value> = q.get("filter").and_then(|f| serde_json::from_str(f).ok());
    if let Some(f) = &filter
        && f["Operator"] != "starts_with"
    {
        return api_fault(
            StatusCode::BAD_REQUEST,
            "2000",
            "Customer search only allows starts with and equals operation.",
        );
    }
    let world = sim.world();
    let mut all: Vec<&world::Tenant> = world
        .customers
        .iter()
        .filter(|t| t.relationship.is_some())
        .filter(|t| match &filter {
            None => true,
            Some(f) => {
                let value = f["Value"].as_str().unwrap_or_default().to_lowercase();
                match f["Field"].as_str() {
                    Some("Domain") => t.initial_domain.starts_with(&value),
                    _ => t.name.to_lowercase().starts_with(&value),
                }
            }
        })
        .collect();
    all.sort_by_key(|t| t.id.clone());
    let offset = headers
        .get("ms-continuationtoken")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sim-ct-"))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(size)
        .map(|t| customer_json(t, false))
        .collect();
    let mut links =
        json!({"self": {"uri": format!("/customers?size={size}"), "method": "GET", "headers": []}});
    if offset + size < all.len() {
        let mut next = format!("/customers?size={size}&seekOperation=Next");
        if let Some(f) = q.get("filter") {
            next.push_str(&format!(
                "&filter={}",
                url::form_urlencoded::byte_serialize(f.as_bytes()).collect::<String>()
            ));
        }
        links["next"] = json!({
            "uri": next, "method": "GET",
            "headers": [{"key": "MS-ContinuationToken", "value": format!("sim-ct-{}", offset + size)}]
        });
    }
    json_response(
        StatusCode::OK,
        json!({"totalCount": page.len(), "items": page, "links": links, "attributes": {"objectType": "Collection"}}),
    )
}

/// Answers a repeated `MS-RequestId` with the first answer, as Partner Center does.
fn with_request_id(
    sim: &SimState,
    headers: &HeaderMap,
    f: impl FnOnce(&SimState) -> (u16, Value),
) -> Response {
    let id = headers
        .get("ms-requestid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(id) = &id
        && let Some((status, body)) = sim.runtime().answered.get(id).cloned()
    {
        return reply(status, body);
    }
    // 429 above the per-application rate; a throttled write is not remembered.
    {
        let mut rt = sim.runtime();
        let now = Instant::now();
        while rt
            .consent_writes
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            rt.consent_writes.pop_front();
        }
        if rt.consent_writes.len() >= CONSENT_RATE {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1"), ("content-type", "application/json")],
                json!({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."}).to_string(),
            )
                .into_response();
        }
        rt.consent_writes.push_back(now);
    }
    let (status, body) = f(sim);
    if let Some(id) = id {
        sim.runtime().answered.insert(id, (status, body.clone()));
    }
    reply(status, body)
}

fn reply(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if body.is_null() {
        return status.into_response();
    }
    json_response(status, body)
}

fn fault(code: &str, description: &str) -> Value {
    json!({"code": code, "description": description, "data": [], "source": "PartnerApiServiceControllers"})
}

fn post_consent(sim: &SimState, tenant: &str, claims: &Value, body: &Bytes) -> (u16, Value) {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return (400, fault("400", "The request body is not valid JSON."));
    };
    let app = request["applicationId"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if app != claims["appid"].as_str().unwrap_or_default() {
        return (
            403,
            fault(
                "403",
                "The caller can consent only the application the access token was issued to.",
            ),
        );
    }
    let mut world = sim.world();
    let Some(t) = world.tenant_mut(tenant) else {
        return (404, fault("60003", "Tenant not found"));
    };
    if !t.can_consent() {
        return (
            403,
            fault(
                "403",
                "The caller is authenticated but does not have the rights to invoke this operation in the customer tenant.",
            ),
        );
    }
    let Some(grants) = request["applicationGrants"].as_array() else {
        return (400, fault("400", "applicationGrants is required."));
    };
    for g in grants {
        let resource = g["enterpriseApplicationId"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !t.resource_sps.contains_key(&resource) {
            return (
                400,
                fault(
                    "600049",
                    &format!(
                        "AADSTS500011: The resource principal named {resource} was not found in the tenant named {}.",
                        t.name
                    ),
                ),
            );
        }
        if t.grants.contains_key(&resource) {
            return (409, fault("409", "Permission entry already exists."));
        }
    }
    for g in grants {
        let resource = g["enterpriseApplicationId"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let scopes = g["scope"]
            .as_str()
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        t.grants.entry(resource).or_default().extend(scopes);
    }
    t.app_consented = true;
    (201, request)
}

fn delete_consent(sim: &SimState, tenant: &str, app: &str) -> (u16, Value) {
    let mut world = sim.world();
    let Some(t) = world.tenant_mut(tenant) else {
        return (404, fault("60003", "Tenant not found"));
    };
    if !app.eq_ignore_ascii_case(world::APP_ID) || !t.app_consented {
        return (404, fault("1000", "The application consent was not found."));
    }
    // The grants go; the service principal stays (API.md §1, PEERS.md §1).
    t.grants.clear();
    (204, Value::Null)
}

// ---------- Graph ----------

fn graph(sim: &SimState, segments: &[&str], uri: &Uri, headers: &HeaderMap) -> Response {
    let Some(claims) = claims_of(headers) else {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        );
    };
    if !claims["aud"].as_str().is_some_and(|a| a.contains("graph")) {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Invalid audience.",
        );
    }
    let tid = claims["tid"].as_str().unwrap_or_default().to_string();
    let world = sim.world().clone();
    let is_partner = tid == world.partner.id;
    let Some(tenant) = world.tenant(&tid) else {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Unknown tenant.",
        );
    };
    let path = segments.join("/");
    if path == "domains" {
        let value: Vec<Value> = tenant
            .domains
            .iter()
            .enumerate()
            .map(|(i, d)| json!({"id": d, "authenticationType": "Managed", "isAdminManaged": true, "isDefault": i == 0, "isInitial": false, "isRoot": true, "isVerified": true, "supportedServices": ["Email", "OfficeCommunicationsOnline"]}))
            .chain(std::iter::once(json!({"id": tenant.initial_domain, "authenticationType": "Managed", "isAdminManaged": true, "isDefault": tenant.domains.is_empty(), "isInitial": true, "isRoot": true, "isVerified": true, "supportedServices": ["Email"]})))
            .collect();
        return json_response(
            StatusCode::OK,
            json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#domains", "value": value}),
        );
    }
    if path == "tenantRelationships/delegatedAdminRelationships" {
        if !is_partner {
            return graph_error(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            );
        }
        let all: Vec<Value> = world
            .customers
            .iter()
            .flat_map(|t| {
                t.gdap.iter().map(move |r| json!({
                    "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
                    "id": r.id, "displayName": format!("{} admin relationship", t.name), "duration": "P730D",
                    "customer": {"tenantId": t.id, "displayName": t.name},
                    "accessDetails": {"unifiedRoles": r.roles.iter().map(|id| json!({"roleDefinitionId": id})).collect::<Vec<_>>()},
                    "status": r.status, "autoExtendDuration": if r.auto_extend { "P180D" } else { "PT0S" },
                    "createdDateTime": "2025-02-10T11:24:42Z", "activatedDateTime": "2025-02-10T11:26:44Z", "endDateTime": r.end,
                }))
            })
            .collect();
        let q = query(uri);
        let skip = q
            .get("$skiptoken")
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0);
        let top = q
            .get("$top")
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(100)
            .min(100);
        let mut body = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#tenantRelationships/delegatedAdminRelationships", "value": all.iter().skip(skip).take(top).collect::<Vec<_>>()});
        if skip + top < all.len() {
            let base = format!(
                "{}://{}",
                uri.scheme_str().unwrap_or("http"),
                headers
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default()
            );
            body["@odata.nextLink"] = json!(format!(
                "{base}/v1.0/tenantRelationships/delegatedAdminRelationships?$top={top}&$skiptoken={}",
                skip + top
            ));
        }
        return json_response(StatusCode::OK, body);
    }
    if let [
        "tenantRelationships",
        "delegatedAdminRelationships",
        id,
        "accessAssignments",
    ] = segments
    {
        let rel = world
            .customers
            .iter()
            .flat_map(|t| t.gdap.iter())
            .find(|r| r.id == *id);
        return match rel {
            Some(r) => json_response(
                StatusCode::OK,
                json!({"value": [{
                    "id": format!("{}-assignment", &r.id[..8]), "status": r.assignment_status,
                    "accessContainer": {"accessContainerId": world::ADMIN_GROUP, "accessContainerType": "securityGroup"},
                    "accessDetails": {"unifiedRoles": r.roles.iter().map(|id| json!({"roleDefinitionId": id})).collect::<Vec<_>>()},
                }]}),
            ),
            None => graph_error(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                "The relationship was not found.",
            ),
        };
    }
    if path == "me/transitiveMemberOf" {
        return json_response(
            StatusCode::OK,
            json!({"value": [{"@odata.type": "#microsoft.graph.group", "id": world::ADMIN_GROUP}]}),
        );
    }
    if let Some(rest) = segments
        .first()
        .and_then(|s| s.strip_prefix("servicePrincipals(appId='"))
    {
        let app = rest.trim_end_matches("')").to_ascii_lowercase();
        if app == world::APP_ID {
            return if tenant.app_consented {
                json_response(
                    StatusCode::OK,
                    json!({"id": tenant.app_sp_id, "appId": world::APP_ID, "displayName": "csp sandbox app"}),
                )
            } else {
                graph_error(
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    &format!("Resource 'servicePrincipals(appId='{app}')' does not exist."),
                )
            };
        }
        if let Some(id) = tenant.resource_sps.get(&app) {
            let scopes: Vec<Value> = world::permission_scopes(&app)
                .into_iter()
                .map(|(id, value)| json!({"id": id, "value": value, "type": "Admin", "isEnabled": true}))
                .collect();
            return json_response(
                StatusCode::OK,
                json!({"id": id, "appId": app, "oauth2PermissionScopes": scopes}),
            );
        }
        if is_partner
            && let Some(a) = world
                .apps
                .iter()
                .find(|a| a.app_id == app && a.service_principal)
        {
            return json_response(
                StatusCode::OK,
                json!({"id": sp_of(a), "appId": a.app_id, "oauth2PermissionScopes": []}),
            );
        }
        return graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            "Resource does not exist.",
        );
    }
    if let ["servicePrincipals", sp, "oauth2PermissionGrants"] = segments {
        if is_partner
            && world
                .apps
                .iter()
                .any(|a| a.app_id != world::APP_ID && sp_of(a) == *sp)
        {
            return json_response(StatusCode::OK, json!({"value": []}));
        }
        if *sp != tenant.app_sp_id || !tenant.app_consented {
            return graph_error(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                "Resource does not exist.",
            );
        }
        let value: Vec<Value> = tenant
            .grants
            .iter()
            .filter(|(_, s)| !s.is_empty())
            .map(|(resource, scopes)| json!({
                "clientId": tenant.app_sp_id, "consentType": "AllPrincipals", "id": format!("{}{}", &tenant.app_sp_id[..8], &resource[..8]),
                "principalId": null, "resourceId": tenant.resource_sps.get(resource).cloned().unwrap_or_default(),
                "scope": scopes.iter().cloned().collect::<Vec<_>>().join(" "),
            }))
            .collect();
        return json_response(StatusCode::OK, json!({"value": value}));
    }
    // The simulated app holds delegated grants only, never application permissions.
    if let ["servicePrincipals", sp, "appRoleAssignments"] = segments {
        if *sp != tenant.app_sp_id || !tenant.app_consented {
            return graph_error(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                "Resource does not exist.",
            );
        }
        return json_response(StatusCode::OK, json!({"value": []}));
    }
    if let ["servicePrincipals", sp] = segments {
        return match tenant.resource_by_sp(sp) {
            Some(app) => json_response(
                StatusCode::OK,
                json!({"id": sp, "appId": app, "displayName": if app == GRAPH_APP_ID { "Microsoft Graph" } else { "resource" }}),
            ),
            None => graph_error(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                "Resource does not exist.",
            ),
        };
    }
    if let Some(rest) = segments
        .first()
        .and_then(|s| s.strip_prefix("applications(appId='"))
    {
        let app = rest.trim_end_matches("')");
        let found = world
            .apps
            .iter()
            .find(|a| a.app_id.eq_ignore_ascii_case(app));
        return match found {
            Some(a) if is_partner => json_response(StatusCode::OK, app_json(a)),
            _ => graph_error(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                "Resource does not exist.",
            ),
        };
    }
    if path == "applications" && is_partner {
        let q = query(uri);
        let name = q
            .get("$filter")
            .and_then(|f| f.strip_prefix("displayName eq '"))
            .map(|f| f.trim_end_matches('\'').replace("''", "'"));
        let value: Vec<Value> = world
            .apps
            .iter()
            .filter(|a| name.as_deref().is_none_or(|n| a.display_name == n))
            .map(app_json)
            .collect();
        return json_response(StatusCode::OK, json!({"value": value}));
    }
    graph_error(
        StatusCode::NOT_FOUND,
        "BadRequest",
        &format!(
            "Resource not found for the segment '{}'.",
            segments.first().unwrap_or(&"")
        ),
    )
}

fn app_json(a: &world::App) -> Value {
    json!({
        "id": a.object_id, "appId": a.app_id, "displayName": a.display_name,
        "signInAudience": a.sign_in_audience, "isFallbackPublicClient": a.is_fallback_public_client,
        "publicClient": {"redirectUris": a.redirect_uris},
        "requiredResourceAccess": a.required_resource_access,
    })
}

/// The service-principal object id of an app registered in the sandbox.
fn sp_of(a: &world::App) -> String {
    format!("5b{}", &a.object_id[2..])
}

/// Graph writes in the partner tenant, for `csp setup`.
fn graph_write(
    sim: &SimState,
    method: &Method,
    segments: &[&str],
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let Some(claims) = claims_of(headers) else {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        );
    };
    let mut world = sim.world();
    if claims["tid"] != world.partner.id.as_str() {
        return graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match (method.clone(), segments) {
        (Method::POST, ["applications"]) => {
            let n = world.apps.len() as u64 + 1;
            let app = world::App {
                object_id: world::guid(0x5a4d_a000, n),
                app_id: world::guid(0x5a4d_b000, n),
                display_name: request["displayName"].as_str().unwrap_or("app").into(),
                sign_in_audience: request["signInAudience"]
                    .as_str()
                    .unwrap_or("AzureADMyOrg")
                    .into(),
                is_fallback_public_client: request["isFallbackPublicClient"]
                    .as_bool()
                    .unwrap_or(false),
                redirect_uris: serde_json::from_value(
                    request["publicClient"]["redirectUris"].clone(),
                )
                .unwrap_or_default(),
                required_resource_access: request["requiredResourceAccess"].clone(),
                service_principal: false,
            };
            let body = app_json(&app);
            world.apps.push(app);
            json_response(StatusCode::CREATED, body)
        }
        (Method::PATCH, ["applications", id]) => {
            match world.apps.iter_mut().find(|a| a.object_id == *id) {
                Some(a) => {
                    if let Some(v) = request["signInAudience"].as_str() {
                        a.sign_in_audience = v.into();
                    }
                    if let Some(v) = request["isFallbackPublicClient"].as_bool() {
                        a.is_fallback_public_client = v;
                    }
                    if let Ok(uris) =
                        serde_json::from_value(request["publicClient"]["redirectUris"].clone())
                    {
                        a.redirect_uris = uris;
                    }
                    if !request["requiredResourceAccess"].is_null() {
                        a.required_resource_access = request["requiredResourceAccess"].clone();
                    }
                    StatusCode::NO_CONTENT.into_response()
                }
                None => graph_error(
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    "Resource does not exist.",
                ),
            }
        }
        (Method::POST, ["applications", id, "addPassword"]) => {
            if !world.apps.iter().any(|a| a.object_id == *id) {
                return graph_error(
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    "Resource does not exist.",
                );
            }
            json_response(
                StatusCode::OK,
                json!({
                    "keyId": uuid::Uuid::new_v4().to_string(),
                    "displayName": request["passwordCredential"]["displayName"],
                    "endDateTime": request["passwordCredential"]["endDateTime"],
                    "secretText": format!("simsecret~{}", uuid::Uuid::new_v4().simple()),
                }),
            )
        }
        (Method::POST, ["servicePrincipals"]) => {
            let app_id = request["appId"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            match world.apps.iter_mut().find(|a| a.app_id == app_id) {
                Some(a) => {
                    a.service_principal = true;
                    let body =
                        json!({"id": sp_of(a), "appId": a.app_id, "oauth2PermissionScopes": []});
                    json_response(StatusCode::CREATED, body)
                }
                None => graph_error(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    "The appId of the service principal does not reference a valid application object.",
                ),
            }
        }
        (Method::POST, ["oauth2PermissionGrants"])
        | (Method::PATCH, ["oauth2PermissionGrants", _]) => {
            // Admin consent for the sandbox's own app: its partner-tenant grants.
            let partner = &mut world.partner;
            let resource = match segments {
                [_, grant_id] => partner
                    .grants
                    .keys()
                    .find(|r| format!("{}{}", &partner.app_sp_id[..8], &r[..8]) == *grant_id)
                    .cloned(),
                _ => request["resourceId"]
                    .as_str()
                    .and_then(|id| partner.resource_by_sp(id))
                    .map(str::to_string),
            };
            let Some(resource) = resource else {
                return graph_error(
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    "Resource does not exist.",
                );
            };
            let scopes = request["scope"]
                .as_str()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string);
            let entry = partner.grants.entry(resource).or_default();
            entry.clear();
            entry.extend(scopes);
            if *method == Method::POST {
                json_response(StatusCode::CREATED, request)
            } else {
                StatusCode::NO_CONTENT.into_response()
            }
        }
        _ => graph_error(
            StatusCode::NOT_FOUND,
            "BadRequest",
            "Unsupported write in the sandbox.",
        ),
    }
}
