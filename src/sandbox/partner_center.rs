//! Simulated Partner Center: customers with continuation paging (`size` up to
//! 500) and by id, and application consents: POST (201, 409 when the resource is already
//! granted, 403 without a role that can consent, 400 for a resource the tenant lacks, 429
//! above 50 writes a second per application) and DELETE, each answered once per
//! `MS-RequestId`. Every call needs a Partner Center token of the partner tenant carrying MFA.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

use super::reply::{api_fault, claims_of, fault, json_response};
use super::state::SimState;
use super::world::{self, Tenant};

/// Consent writes allowed per second per application, as Partner Center publishes.
pub const CONSENT_RATE: usize = 50;
/// The largest page of customers Partner Center gives.
pub const MAX_PAGE: usize = 500;
/// The page size when the request names none (or 0, as the SDK's simple queries do).
const DEFAULT_PAGE: usize = 100;

pub fn router(sim: Arc<SimState>) -> Router<Arc<SimState>> {
    Router::new()
        .route("/v1/customers", get(list_customers))
        .route("/v1/customers/{id}", get(customer))
        .route("/v1/customers/{id}/applicationconsents", post(post_consent))
        .route(
            "/v1/customers/{id}/applicationconsents/{app}",
            delete(delete_consent),
        )
        .route_layer(middleware::from_fn_with_state(sim, authorize))
}

/// Unknown routes: Partner Center's 404.
pub fn not_found() -> Response {
    api_fault(StatusCode::NOT_FOUND, "1000", "Not found")
}

/// Every route needs a Partner Center token for the partner tenant, with MFA (enforced for
/// App+User calls since April 2026).
async fn authorize(State(sim): State<Arc<SimState>>, req: Request, next: Next) -> Response {
    let (partner, mfa_required) = {
        let w = sim.world();
        (w.partner.id.clone(), w.switches.mfa_required)
    };
    let Some(claims) = claims_of(req.headers()) else {
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
    let has_mfa = claims["amr"]
        .as_array()
        .is_some_and(|a| a.iter().any(|m| m == "mfa"));
    if mfa_required || !has_mfa {
        return api_fault(
            StatusCode::UNAUTHORIZED,
            "900421",
            "Multi-factor authentication is required for this request: the access token lacks the MFA claim.",
        );
    }
    next.run(req).await
}

fn customer_json(t: &Tenant, by_id: bool) -> Value {
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

async fn customer(State(sim): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
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

async fn list_customers(
    State(sim): State<Arc<SimState>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let size = q
        .get("size")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_PAGE)
        .min(MAX_PAGE);
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
    let offset = headers
        .get("ms-continuationtoken")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sim-ct-"))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let world = sim.world();
    // In the world's order: Partner Center promises none, and csp sorts what it shows.
    let all: Vec<&Tenant> = world
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

/// The application a consent write is for: the token's app (the path names it on DELETE).
fn app_of(headers: &HeaderMap) -> String {
    claims_of(headers)
        .and_then(|c| c["appid"].as_str().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

/// Answers a repeated `MS-RequestId` with the first answer, as Partner Center does, and
/// refuses writes above the per-application rate (a refused write is not remembered).
fn once_per_request_id(
    sim: &SimState,
    headers: &HeaderMap,
    write: impl FnOnce(&SimState) -> (u16, Value),
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
    let rate = sim.world().switches.consent_rate.unwrap_or(CONSENT_RATE);
    {
        let mut rt = sim.runtime();
        let window = rt.consent_writes.entry(app_of(headers)).or_default();
        let now = Instant::now();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= rate {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1"), ("content-type", "application/json")],
                json!({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."}).to_string(),
            )
                .into_response();
        }
        window.push_back(now);
    }
    let (status, body) = write(sim);
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

async fn post_consent(
    State(sim): State<Arc<SimState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = app_of(&headers);
    once_per_request_id(&sim, &headers, |sim| {
        consent(sim, &id.to_ascii_lowercase(), &caller, &body)
    })
}

/// Splits `scope` on `,` without trimming, as a service that takes Microsoft's samples at
/// their word would, and keeps the pieces that name one of the resource's delegated scopes:
/// `"A, B"` grants `A` and not `B`, so a wrong separator shows in the readback.
fn granted_scopes(resource: &str, scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in scope.split(',') {
        if let Some(name) = world::published_scope(resource, piece)
            && !out.contains(&name)
        {
            out.push(name);
        }
    }
    out
}

fn consent(sim: &SimState, tenant: &str, caller: &str, body: &Bytes) -> (u16, Value) {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return (400, fault("400", "The request body is not valid JSON."));
    };
    let app = request["applicationId"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if app != caller {
        return (
            403,
            fault(
                "403",
                "The caller can consent only the application the access token was issued to.",
            ),
        );
    }
    let mut world = sim.world();
    if world.customer(tenant).is_none() {
        return (404, fault("60003", "Tenant not found"));
    }
    if !world.can_consent(tenant) {
        return (
            403,
            fault(
                "403",
                "The caller is authenticated but does not have the rights to invoke this operation in the customer tenant.",
            ),
        );
    }
    let propagation = world.switches.propagation_reads;
    let t = world.customer_mut(tenant).expect("checked above");
    let Some(grants) = request["applicationGrants"].as_array() else {
        return (400, fault("400", "applicationGrants is required."));
    };
    let held = t.granted(&app);
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
        if held.contains_key(&resource) {
            return (409, fault("409", "Permission entry already exists."));
        }
    }
    let before = t
        .service_principals
        .get(&app)
        .map(|sp| sp.grants.clone())
        .unwrap_or_default();
    for g in grants {
        let resource = g["enterpriseApplicationId"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let scopes = granted_scopes(&resource, g["scope"].as_str().unwrap_or_default());
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        t.grant(&app, &resource, &scopes);
    }
    let sp = t.ensure_service_principal(&app);
    if propagation > 0 && sp.stale.is_none() {
        sp.stale = Some((propagation, before));
    }
    (201, request)
}

async fn delete_consent(
    State(sim): State<Arc<SimState>>,
    Path((id, app)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    once_per_request_id(&sim, &headers, |sim| {
        let mut world = sim.world();
        let removes_sp = world.switches.delete_removes_service_principal;
        let propagation = world.switches.propagation_reads;
        let app = app.to_ascii_lowercase();
        let Some(t) = world.customer_mut(&id.to_ascii_lowercase()) else {
            return (404, fault("60003", "Tenant not found"));
        };
        let Some(sp) = t.service_principals.get_mut(&app) else {
            return (404, fault("1000", "The application consent was not found."));
        };
        if removes_sp {
            t.service_principals.remove(&app);
            t.deleted_service_principals += 1;
            return (200, Value::Null);
        }
        // The tenant-wide grants go; the service principal stays, as partners have seen it do.
        let before = sp.grants.clone();
        sp.grants.retain(|g| g.principal.is_some());
        if propagation > 0 && sp.stale.is_none() {
            sp.stale = Some((propagation, before));
        }
        (200, Value::Null)
    })
}
