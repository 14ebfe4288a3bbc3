//! App registrations in the partner tenant, as `csp setup` reads and writes them: list (with
//! `$filter=displayName eq '…'`), by appId, create, update (`publicClient` and `web` redirect
//! URIs, public client flows, audience, permissions) and `addPassword`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Caller, request_json};
use crate::sandbox::entra::SECRET_PREFIX;
use crate::sandbox::reply::{graph_not_found, json_response};
use crate::sandbox::state::SimState;
use crate::sandbox::world::{App, Password, guid};

fn app_json(a: &App) -> Value {
    json!({
        "id": a.object_id, "appId": a.app_id, "displayName": a.display_name,
        "signInAudience": a.sign_in_audience, "isFallbackPublicClient": a.is_fallback_public_client,
        "publicClient": {"redirectUris": a.redirect_uris},
        "web": {"redirectUris": a.web_redirect_uris},
        "requiredResourceAccess": a.required_resource_access,
        "passwordCredentials": a.passwords,
    })
}

fn uris(v: &Value) -> Option<Vec<String>> {
    serde_json::from_value(v["redirectUris"].clone()).ok()
}

fn list_apps(sim: &SimState, filter: Option<String>) -> Vec<Value> {
    sim.world()
        .apps
        .iter()
        .filter(|a| filter.as_deref().is_none_or(|n| a.display_name == n))
        .map(app_json)
        .collect()
}

pub async fn list(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = caller.partner_only() {
        return r.into_response();
    }
    let filter = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "$filter")
        .and_then(|(_, f)| {
            f.strip_prefix("displayName eq '")
                .map(|n| n.trim_end_matches('\'').replace("''", "'"))
        });
    let value = list_apps(&sim, filter);
    super::list(&sim, &uri, &headers, "applications", value)
}

pub async fn by_app_id(State(sim): State<Arc<SimState>>, caller: Caller, app: &str) -> Response {
    let world = sim.world();
    match world.app(app) {
        Some(a) if caller.partner => json_response(StatusCode::OK, app_json(a)),
        _ => graph_not_found(&format!("applications(appId='{app}')")),
    }
}

pub async fn create(State(sim): State<Arc<SimState>>, caller: Caller, body: Bytes) -> Response {
    if let Err(r) = caller.partner_only() {
        return r.into_response();
    }
    let request = match request_json(&body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let mut world = sim.world();
    let n = world.apps.len() as u64 + 1;
    let app = App {
        object_id: guid(0x5a4d_a000, n),
        app_id: guid(0x5a4d_b000, n),
        display_name: request["displayName"].as_str().unwrap_or("app").into(),
        sign_in_audience: request["signInAudience"]
            .as_str()
            .unwrap_or("AzureADMyOrg")
            .into(),
        is_fallback_public_client: request["isFallbackPublicClient"].as_bool().unwrap_or(false),
        redirect_uris: uris(&request["publicClient"]).unwrap_or_default(),
        web_redirect_uris: uris(&request["web"]).unwrap_or_default(),
        required_resource_access: request["requiredResourceAccess"].clone(),
        passwords: Vec::new(),
    };
    let body = app_json(&app);
    world.apps.push(app);
    json_response(StatusCode::CREATED, body)
}

pub async fn update(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = caller.partner_only() {
        return r.into_response();
    }
    let request = match request_json(&body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let mut world = sim.world();
    let Some(a) = world.apps.iter_mut().find(|a| a.object_id == id) else {
        return graph_not_found(&id);
    };
    if let Some(v) = request["signInAudience"].as_str() {
        a.sign_in_audience = v.into();
    }
    if let Some(v) = request["isFallbackPublicClient"].as_bool() {
        a.is_fallback_public_client = v;
    }
    if let Some(u) = uris(&request["publicClient"]) {
        a.redirect_uris = u;
    }
    if let Some(u) = uris(&request["web"]) {
        a.web_redirect_uris = u;
    }
    if !request["requiredResourceAccess"].is_null() {
        a.required_resource_access = request["requiredResourceAccess"].clone();
    }
    StatusCode::NO_CONTENT.into_response()
}

pub async fn add_password(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = caller.partner_only() {
        return r.into_response();
    }
    let request = match request_json(&body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let password = Password {
        key_id: uuid::Uuid::new_v4().to_string(),
        display_name: request["passwordCredential"]["displayName"]
            .as_str()
            .map(str::to_string),
        end_date_time: request["passwordCredential"]["endDateTime"]
            .as_str()
            .map(str::to_string),
    };
    {
        let mut world = sim.world();
        let Some(a) = world.apps.iter_mut().find(|a| a.object_id == id) else {
            return graph_not_found(&id);
        };
        a.passwords.push(password.clone());
    }
    let secret = sim.issued(format!("{SECRET_PREFIX}{}", uuid::Uuid::new_v4().simple()));
    json_response(
        StatusCode::OK,
        json!({
            "keyId": password.key_id,
            "displayName": password.display_name,
            "endDateTime": password.end_date_time,
            "hint": &secret[..3],
            "secretText": secret,
        }),
    )
}
