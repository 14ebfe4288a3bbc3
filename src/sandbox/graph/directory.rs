//! Graph's directory objects in the caller's tenant: domains, the signed-in user's groups,
//! service principals (by id, by appId, created), their delegated permission grants (as they
//! show through Microsoft's propagation delay) and application permissions, and grant writes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Caller, list, request_json};
use crate::consent::manifest::GRAPH_APP_ID;
use crate::sandbox::reply::{graph_error, graph_not_found, json_response};
use crate::sandbox::state::SimState;
use crate::sandbox::world::{self, PermissionGrant, Tenant, grant_id, permission_scopes};

fn resource_name(app: &str) -> &'static str {
    match app {
        GRAPH_APP_ID => "Microsoft Graph",
        world::EXCHANGE_APP => "Office 365 Exchange Online",
        world::PARTNER_CENTER_APP => "Microsoft Partner Center",
        world::ARM_APP => "Windows Azure Service Management API",
        _ => "resource",
    }
}

pub async fn domains(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let value: Vec<Value> = {
        let world = sim.world();
        let t = world.tenant(&caller.tenant).expect("the caller's tenant");
        t.domains
            .iter()
            .enumerate()
            .map(|(i, d)| json!({"id": d, "authenticationType": "Managed", "isAdminManaged": true, "isDefault": i == 0, "isInitial": false, "isRoot": true, "isVerified": true, "supportedServices": ["Email", "OfficeCommunicationsOnline"]}))
            .chain(std::iter::once(json!({"id": t.initial_domain, "authenticationType": "Managed", "isAdminManaged": true, "isDefault": t.domains.is_empty(), "isInitial": true, "isRoot": true, "isVerified": true, "supportedServices": ["Email"]})))
            .collect()
    };
    list(&sim, &uri, &headers, "domains", value)
}

pub async fn member_of(
    State(sim): State<Arc<SimState>>,
    _caller: Caller,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let value: Vec<Value> = sim
        .world()
        .user_groups
        .iter()
        .map(|g| json!({"@odata.type": "#microsoft.graph.group", "id": g}))
        .collect();
    list(&sim, &uri, &headers, "directoryObjects", value)
}

fn client_sp_json(world: &world::World, app: &str, sp: &world::ServicePrincipal) -> Value {
    let name = world
        .app(app)
        .map(|a| a.display_name.clone())
        .unwrap_or_else(|| "csp sandbox app".into());
    json!({"id": sp.id, "appId": app, "displayName": name, "servicePrincipalType": "Application", "oauth2PermissionScopes": []})
}

fn resource_sp_json(app: &str, id: &str) -> Value {
    let scopes: Vec<Value> = permission_scopes(app)
        .into_iter()
        .map(|(id, value)| json!({"id": id, "value": value, "type": "Admin", "isEnabled": true}))
        .collect();
    json!({"id": id, "appId": app, "displayName": resource_name(app), "servicePrincipalType": "Application", "oauth2PermissionScopes": scopes})
}

/// `GET /servicePrincipals(appId='…')`.
pub async fn sp_by_app_id(State(sim): State<Arc<SimState>>, caller: Caller, app: &str) -> Response {
    let world = sim.world();
    let t = world.tenant(&caller.tenant).expect("the caller's tenant");
    if let Some(sp) = t.service_principals.get(app) {
        return json_response(StatusCode::OK, client_sp_json(&world, app, sp));
    }
    if let Some(id) = t.resource_sps.get(app) {
        return json_response(StatusCode::OK, resource_sp_json(app, id));
    }
    graph_not_found(&format!("servicePrincipals(appId='{app}')"))
}

pub async fn sp_by_id(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let world = sim.world();
    let t = world.tenant(&caller.tenant).expect("the caller's tenant");
    if let Some(app) = t.resource_by_sp(&id) {
        return json_response(StatusCode::OK, resource_sp_json(app, &id));
    }
    if let Some((app, sp)) = t.client_by_sp(&id) {
        return json_response(StatusCode::OK, client_sp_json(&world, app, sp));
    }
    graph_not_found(&id)
}

fn grant_json(client: &str, g: &PermissionGrant) -> Value {
    json!({
        "clientId": client,
        "consentType": if g.principal.is_some() { "Principal" } else { "AllPrincipals" },
        "id": g.id,
        "principalId": g.principal,
        "resourceId": g.resource_sp,
        "scope": g.scopes.join(" "),
    })
}

/// `GET /servicePrincipals/{id}/oauth2PermissionGrants`: while a change propagates, the
/// grants as they were before it.
pub async fn sp_grants(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let value: Vec<Value> = {
        let mut world = sim.world();
        let t = world
            .tenant_mut(&caller.tenant)
            .expect("the caller's tenant");
        let Some(sp) = t
            .service_principals
            .values_mut()
            .find(|sp| sp.id.eq_ignore_ascii_case(&id))
        else {
            return graph_not_found(&id);
        };
        let shown = match sp.stale.take() {
            Some((reads, before)) => {
                if reads > 1 {
                    sp.stale = Some((reads - 1, before.clone()));
                }
                before
            }
            None => sp.grants.clone(),
        };
        shown.iter().map(|g| grant_json(&sp.id, g)).collect()
    };
    list(&sim, &uri, &headers, "oauth2PermissionGrants", value)
}

pub async fn sp_app_roles(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let value: Vec<Value> = {
        let world = sim.world();
        let t = world.tenant(&caller.tenant).expect("the caller's tenant");
        let Some((_, sp)) = t.client_by_sp(&id) else {
            return graph_not_found(&id);
        };
        sp.app_roles
            .iter()
            .map(|a| {
                json!({
                    "id": a.id, "appRoleId": a.app_role_id, "principalId": sp.id,
                    "principalType": "ServicePrincipal", "resourceId": a.resource_sp,
                    "resourceDisplayName": a.resource_display_name,
                })
            })
            .collect()
    };
    list(&sim, &uri, &headers, "appRoleAssignments", value)
}

/// `POST /servicePrincipals {appId}`: an app registered in the partner tenant, or one of the
/// simulated resources.
pub async fn create_sp(State(sim): State<Arc<SimState>>, caller: Caller, body: Bytes) -> Response {
    let request = match request_json(&body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let app = request["appId"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut world = sim.world();
    let registered = world.app(&app).is_some();
    let t = world
        .tenant_mut(&caller.tenant)
        .expect("the caller's tenant");
    if t.service_principals.contains_key(&app) || t.resource_sps.contains_key(&app) {
        return graph_error(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            "The service principal cannot be created, updated, or restored because the service principal name is already in use.",
        );
    }
    if registered {
        t.ensure_service_principal(&app);
        let sp = t.service_principals[&app].clone();
        let body = client_sp_json(&world, &app, &sp);
        return json_response(StatusCode::CREATED, body);
    }
    if !permission_scopes(&app).is_empty() {
        let id = world::derived_guid(&format!("resource/{}/{app}", t.id));
        t.resource_sps.insert(app.clone(), id.clone());
        return json_response(StatusCode::CREATED, resource_sp_json(&app, &id));
    }
    graph_error(
        StatusCode::BAD_REQUEST,
        "Request_BadRequest",
        "The appId of the service principal does not reference a valid application object.",
    )
}

/// The client service principal with object id `id` in `t`.
fn client_sp_mut<'a>(t: &'a mut Tenant, id: &str) -> Option<&'a mut world::ServicePrincipal> {
    t.service_principals
        .values_mut()
        .find(|sp| sp.id.eq_ignore_ascii_case(id))
}

/// `POST /oauth2PermissionGrants {clientId, consentType, principalId?, resourceId, scope}`.
pub async fn create_grant(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    body: Bytes,
) -> Response {
    let request = match request_json(&body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let client = request["clientId"].as_str().unwrap_or_default();
    let resource = request["resourceId"].as_str().unwrap_or_default();
    let principal = match request["consentType"].as_str() {
        Some("Principal") => request["principalId"].as_str().map(str::to_string),
        _ => None,
    };
    let scopes: Vec<String> = request["scope"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut world = sim.world();
    let t = world
        .tenant_mut(&caller.tenant)
        .expect("the caller's tenant");
    if t.resource_by_sp(resource).is_none() {
        return graph_not_found(resource);
    }
    let Some(sp) = client_sp_mut(t, client) else {
        return graph_not_found(client);
    };
    if sp
        .grants
        .iter()
        .any(|g| g.resource_sp.eq_ignore_ascii_case(resource) && g.principal == principal)
    {
        return graph_error(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            "Permission entry already exists.",
        );
    }
    let grant = PermissionGrant {
        id: grant_id(&sp.id, resource, principal.as_deref()),
        resource_sp: resource.to_ascii_lowercase(),
        principal,
        scopes,
    };
    let body = grant_json(&sp.id, &grant);
    sp.grants.push(grant);
    json_response(StatusCode::CREATED, body)
}

/// `PATCH /oauth2PermissionGrants/{id} {scope}`.
pub async fn update_grant(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let request = match request_json(&body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let mut world = sim.world();
    let t = world
        .tenant_mut(&caller.tenant)
        .expect("the caller's tenant");
    let grant = t
        .service_principals
        .values_mut()
        .flat_map(|sp| sp.grants.iter_mut())
        .find(|g| g.id == id);
    match (grant, request["scope"].as_str()) {
        (Some(g), Some(scope)) => {
            g.scopes = scope.split_whitespace().map(str::to_string).collect();
            StatusCode::NO_CONTENT.into_response()
        }
        (Some(_), None) => StatusCode::NO_CONTENT.into_response(),
        (None, _) => graph_not_found(&id),
    }
}
