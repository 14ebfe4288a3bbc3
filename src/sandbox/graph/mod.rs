//! Simulated Microsoft Graph v1.0: one route per resource path (`directory.rs`: domains, the
//! user's groups, service principals, their grants and app roles; `apps.rs`: app
//! registrations; `gdap.rs`: GDAP relationships), the caller read from the token, every
//! collection paged with `@odata.nextLink`, and Graph's own errors (an unknown segment is
//! `400 BadRequest`). OData key segments such as `servicePrincipals(appId='…')` are one path
//! segment: `/v1.0/{segment}` takes them and `keyed` reads the key.
//!
//! A new resource adds its routes to `router` in the same style: a handler that takes
//! `State`, the `Caller`, `Path` and the body, and answers with `collection`,
//! `json_response` or the errors in `reply.rs`.

mod apps;
mod directory;
mod gdap;
mod groups;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde_json::{Value, json};

use super::reply::{claims_of, graph_error, json_response};
use super::state::SimState;

/// Graph's page size when `$top` does not say (most collections).
const DEFAULT_PAGE: usize = 100;
/// The most `$top` may ask for, unless a collection says otherwise.
const MAX_PAGE: usize = 999;

pub fn router() -> Router<Arc<SimState>> {
    Router::new()
        .route("/v1.0/domains", get(directory::domains))
        .route("/v1.0/me/transitiveMemberOf", get(directory::member_of))
        .route("/v1.0/servicePrincipals", post(directory::create_sp))
        .route("/v1.0/servicePrincipals/{id}", get(directory::sp_by_id))
        .route(
            "/v1.0/servicePrincipals/{id}/oauth2PermissionGrants",
            get(directory::sp_grants),
        )
        .route(
            "/v1.0/servicePrincipals/{id}/appRoleAssignments",
            get(directory::sp_app_roles),
        )
        .route(
            "/v1.0/oauth2PermissionGrants",
            post(directory::create_grant),
        )
        .route(
            "/v1.0/oauth2PermissionGrants/{id}",
            patch(directory::update_grant),
        )
        .route("/v1.0/applications", get(apps::list).post(apps::create))
        .route("/v1.0/applications/{id}", patch(apps::update))
        .route(
            "/v1.0/applications/{id}/addPassword",
            post(apps::add_password),
        )
        .route(
            "/v1.0/tenantRelationships/delegatedAdminRelationships",
            get(gdap::relationships).post(gdap::create),
        )
        .route(
            "/v1.0/tenantRelationships/delegatedAdminRelationships/{id}",
            get(gdap::get_one).patch(gdap::update).delete(gdap::delete),
        )
        .route(
            "/v1.0/tenantRelationships/delegatedAdminRelationships/{id}/requests",
            post(gdap::request),
        )
        .route(
            "/v1.0/tenantRelationships/delegatedAdminRelationships/{id}/accessAssignments",
            get(gdap::access_assignments).post(gdap::create_assignment),
        )
        .route(
            "/v1.0/tenantRelationships/delegatedAdminRelationships/{id}/accessAssignments/{assignment}",
            patch(gdap::update_assignment),
        )
        .route(
            "/v1.0/groups",
            get(groups::list_groups).post(groups::create_group),
        )
        .route("/v1.0/groups/{id}", get(groups::group))
        .route("/v1.0/groups/{id}/members/$ref", post(groups::add_member))
        .route("/v1.0/me", get(groups::me))
        .route("/v1.0/users/{key}", get(groups::user))
        .route("/v1.0/{segment}", get(by_key))
}

/// `GET /v1.0/{entity}(key='value')`: an entity by an alternate key.
async fn by_key(
    state: State<Arc<SimState>>,
    caller: Caller,
    Path(segment): Path<String>,
) -> Response {
    match keyed(&segment) {
        Some(("servicePrincipals", "appId", app)) => {
            directory::sp_by_app_id(state, caller, &app.to_ascii_lowercase()).await
        }
        Some(("applications", "appId", app)) => {
            apps::by_app_id(state, caller, &app.to_ascii_lowercase()).await
        }
        _ => unknown_segment(&segment),
    }
}

/// Reads an OData key segment: `servicePrincipals(appId='x')` → (`servicePrincipals`,
/// `appId`, `x`); `''` in the value stands for `'`.
pub fn keyed(segment: &str) -> Option<(&str, &str, String)> {
    let (entity, rest) = segment.split_once('(')?;
    let inner = rest.strip_suffix(')')?;
    let (key, value) = inner.split_once('=')?;
    let value = value.strip_prefix('\'')?.strip_suffix('\'')?;
    Some((entity, key, value.replace("''", "'")))
}

/// Graph's answer to a path it cannot resolve.
pub fn unknown_segment(segment: &str) -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        &format!("Resource not found for the segment '{segment}'."),
    )
}

/// The entity sets the simulator serves at the top of the path.
const KNOWN: &[&str] = &[
    "domains",
    "me",
    "groups",
    "users",
    "servicePrincipals",
    "oauth2PermissionGrants",
    "applications",
    "tenantRelationships",
];

fn first_segment(path: &str) -> &str {
    path.trim_start_matches("/v1.0")
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
}

fn known(segment: &str) -> bool {
    KNOWN.contains(&segment) || keyed(segment).is_some()
}

/// Graph's answer to an unknown path: it names the first segment it could not resolve.
pub fn not_found(path: &str) -> Response {
    let first = first_segment(path);
    let named = if known(first) {
        path.rsplit('/').next().unwrap_or_default()
    } else {
        first
    };
    unknown_segment(named)
}

/// Graph's answer to a method a path does not take (an unknown entity set is still unknown).
pub fn wrong_method(path: &str) -> Response {
    if !known(first_segment(path)) {
        return not_found(path);
    }
    graph_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        "Specified HTTP method is not allowed for the request target.",
    )
}

/// Who calls: the tenant of the token, whether it is the partner's, and the app the token
/// was issued to.
pub struct Caller {
    pub tenant: String,
    pub partner: bool,
    pub app: String,
}

impl FromRequestParts<Arc<SimState>> for Caller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        sim: &Arc<SimState>,
    ) -> Result<Caller, Response> {
        let Some(claims) = claims_of(&parts.headers) else {
            return Err(graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token is empty.",
            ));
        };
        if !claims["aud"].as_str().is_some_and(|a| a.contains("graph")) {
            return Err(graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Invalid audience.",
            ));
        }
        let tid = claims["tid"].as_str().unwrap_or_default();
        let app = claims["appid"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let world = sim.world();
        match world.tenant(tid) {
            Some(t) => Ok(Caller {
                tenant: t.id.clone(),
                partner: t.id == world.partner.id,
                app,
            }),
            None => Err(graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Unknown tenant.",
            )),
        }
    }
}

impl Caller {
    /// Refuses what only the partner tenant may do.
    pub fn partner_only(&self) -> Result<(), Forbidden> {
        if self.partner { Ok(()) } else { Err(Forbidden) }
    }

    /// Refuses a write the calling app has no admin-consented Graph permission for in the
    /// partner tenant (any of `scopes`).
    pub fn may(&self, sim: &SimState, scopes: &[&str]) -> Result<(), Forbidden> {
        self.partner_only()?;
        let world = sim.world();
        let granted = world
            .partner
            .granted(&self.app)
            .remove(crate::consent::manifest::GRAPH_APP_ID)
            .unwrap_or_default();
        if scopes
            .iter()
            .any(|s| granted.iter().any(|g| g.eq_ignore_ascii_case(s)))
        {
            Ok(())
        } else {
            Err(Forbidden)
        }
    }
}

/// The JSON body of a write, or Graph's 400 for one that is not JSON.
pub fn request_json(body: &[u8]) -> Result<Value, BadBody> {
    serde_json::from_slice(body).map_err(|_| BadBody)
}

/// Graph's refusal of a body it cannot read.
pub struct BadBody;

impl IntoResponse for BadBody {
    fn into_response(self) -> Response {
        graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    }
}

/// Graph's refusal of a caller without the rights.
pub struct Forbidden;

impl IntoResponse for Forbidden {
    fn into_response(self) -> Response {
        graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }
}

/// One page of a collection: from `$skiptoken` on, `$top` items (at most `max`; capped by the
/// page-size switch), with `@odata.nextLink` to the rest on the same origin and query.
pub fn collection(
    sim: &SimState,
    uri: &Uri,
    headers: &HeaderMap,
    context: &str,
    items: Vec<Value>,
    max: usize,
) -> Response {
    let q: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let skip = q
        .get("$skiptoken")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let mut top = q
        .get("$top")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|t| *t > 0)
        .unwrap_or(DEFAULT_PAGE)
        .min(max);
    if let Some(cap) = sim.world().switches.graph_page_size {
        top = top.min(cap.max(1));
    }
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(skip).take(top).collect();
    let mut body = json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#{context}"),
        "value": page,
    });
    if skip + top < total {
        let host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let mut next = url::Url::parse(&format!("http://{host}{}", uri.path()))
            .expect("a host and a path make a URL");
        {
            let mut pairs = next.query_pairs_mut();
            for (k, v) in &q {
                if k != "$skiptoken" {
                    pairs.append_pair(k, v);
                }
            }
            pairs.append_pair("$skiptoken", &(skip + top).to_string());
        }
        body["@odata.nextLink"] = json!(next.to_string());
    }
    json_response(StatusCode::OK, body)
}

/// `collection` with Graph's usual limits.
pub fn list(
    sim: &SimState,
    uri: &Uri,
    headers: &HeaderMap,
    context: &str,
    items: Vec<Value>,
) -> Response {
    collection(sim, uri, headers, context, items, MAX_PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_segments_are_read_and_unescaped() {
        assert_eq!(
            keyed("servicePrincipals(appId='abc')"),
            Some(("servicePrincipals", "appId", "abc".to_string()))
        );
        assert_eq!(
            keyed("applications(displayName='O''Brien')"),
            Some(("applications", "displayName", "O'Brien".to_string()))
        );
        assert_eq!(keyed("servicePrincipals"), None);
        assert_eq!(keyed("servicePrincipals(appId=abc)"), None);
    }
}
