//! Simulated Azure Key Vault: `GET`, `PUT` and `DELETE {vault}/secrets/{name}?api-version=…`
//! with versions and tags, soft delete (a deleted name answers 409 to a write until purged),
//! 401 without a bearer token for the vault's resource, and the switches for a missing
//! permission and a firewall (403). Also the token sources that reach it: Entra's client
//! credentials grant for the sandbox's own identity (`client_credentials`), and a managed
//! identity endpoint (`/msi/token`, as App Service and Azure Automation serve it).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::entra::SECRET_PREFIX;
use super::reply::{claims_of, entra_error, json_response, jwt};
use super::state::SimState;
use super::world::{IDENTITY_HEADER, SecretVersion, VAULT_IDENTITY, VAULT_RESOURCE};

pub fn router() -> Router<Arc<SimState>> {
    Router::new()
        .route(
            "/secrets/{name}",
            get(get_secret).put(set_secret).delete(delete_secret),
        )
        .route("/msi/token", get(msi_token))
}

/// Whether a path is the vault's (for the fallback's answer).
pub fn is_vault_path(path: &str) -> bool {
    path == "/secrets" || path.starts_with("/secrets/")
}

/// Key Vault's error body.
pub fn vault_error(status: StatusCode, code: &str, message: &str, inner: Option<&str>) -> Response {
    let mut error = json!({"code": code, "message": message});
    if let Some(inner) = inner {
        error["innererror"] = json!({"code": inner});
    }
    json_response(status, json!({ "error": error }))
}

pub fn not_found(path: &str) -> Response {
    vault_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("The requested resource {path} was not found."),
        None,
    )
}

/// A token the simulated vault accepts: issued by the simulator's Entra for the vault.
pub fn vault_token(sim: &SimState, client: &str) -> (String, i64) {
    let now = chrono::Utc::now().timestamp();
    let partner = sim.world().partner.id.clone();
    let token = sim.issued(jwt(&json!({
        "aud": VAULT_RESOURCE, "iss": format!("https://sts.windows.net/{partner}/"),
        "iat": now, "nbf": now, "exp": now + 3599, "tid": partner,
        "appid": client, "oid": client, "idtyp": "app", "sandbox": true,
        "uti": uuid::Uuid::new_v4().simple().to_string(),
    })));
    (token, now + 3599)
}

/// Entra's client credentials grant, for the sandbox's identity and the vault's resource.
pub fn client_credentials(sim: &SimState, f: &HashMap<String, String>) -> Response {
    let client = f.get("client_id").map(String::as_str).unwrap_or_default();
    if !client.eq_ignore_ascii_case(VAULT_IDENTITY) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client}' was not found in the directory of the sandbox."
            ),
        );
    }
    let secret_ok = f
        .get("client_secret")
        .is_some_and(|s| s.starts_with(SECRET_PREFIX));
    let assertion_ok = f.get("client_assertion").is_some_and(|a| !a.is_empty())
        && f.get("client_assertion_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    if !secret_ok && !assertion_ok {
        return entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
        );
    }
    let scope = f.get("scope").cloned().unwrap_or_default();
    if scope != format!("{VAULT_RESOURCE}/.default") {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier."
            ),
        );
    }
    let (token, _) = vault_token(sim, client);
    json_response(
        StatusCode::OK,
        json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}),
    )
}

/// The managed identity endpoint of App Service and Azure Automation (`IDENTITY_ENDPOINT`).
async fn msi_token(
    State(sim): State<Arc<SimState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
        != Some(IDENTITY_HEADER)
    {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"statusCode": 401, "message": "No X-IDENTITY-HEADER or a wrong one."}),
        );
    }
    let resource = q.get("resource").cloned().unwrap_or_default();
    if resource != VAULT_RESOURCE {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"statusCode": 400, "message": format!("The sandbox issues tokens for {VAULT_RESOURCE} only.")}),
        );
    }
    let (token, expires_on) = vault_token(&sim, VAULT_IDENTITY);
    json_response(
        StatusCode::OK,
        json!({"access_token": token, "expires_on": expires_on.to_string(), "resource": resource, "token_type": "Bearer"}),
    )
}

/// The caller, when the request carries a live token for the vault; else the vault's 401.
fn caller(headers: &HeaderMap) -> Result<String, Box<Response>> {
    let claims = claims_of(headers).unwrap_or(Value::Null);
    let live = claims["exp"]
        .as_i64()
        .is_some_and(|e| e > chrono::Utc::now().timestamp());
    if claims["aud"] != VAULT_RESOURCE || !live {
        let mut r = vault_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            if claims.is_null() {
                "AKV10000: Request is missing a Bearer or PoP token."
            } else {
                "AKV10022: Invalid audience or expired token."
            },
            None,
        );
        r.headers_mut().insert(
            "www-authenticate",
            format!("Bearer authorization=\"https://login.microsoftonline.com/sandbox\", resource=\"{VAULT_RESOURCE}\"")
                .parse()
                .expect("a valid header"),
        );
        return Err(Box::new(r));
    }
    Ok(claims["appid"].as_str().unwrap_or_default().to_string())
}

/// The checks every vault call goes through, in Key Vault's order: the api-version, the token,
/// the firewall, the access policy, the name. `Some` is the refusal.
fn refusal(
    sim: &SimState,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    name: &str,
    permission: &str,
) -> Option<Response> {
    if !q.contains_key("api-version") {
        return Some(vault_error(
            StatusCode::BAD_REQUEST,
            "BadParameter",
            "The request URI contains an invalid api-version: (missing).",
            None,
        ));
    }
    let caller = match caller(headers) {
        Ok(c) => c,
        Err(r) => return Some(*r),
    };
    let switches = sim.world().switches.clone();
    if switches.vault_firewall {
        return Some(vault_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "Client address is not authorized and caller is not a trusted service.\r\nClient address: 127.0.0.1\r\nCaller: appid={caller}\r\nVault: sandbox;location=westeurope"
            ),
            Some("ForbiddenByFirewall"),
        ));
    }
    if switches.vault_denied.iter().any(|p| p == permission) {
        return Some(vault_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "The user, group or application 'appid={caller}' does not have secrets {permission} permission on key vault 'sandbox;location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287"
            ),
            Some("AccessDenied"),
        ));
    }
    if !crate::secrets::vault::valid_secret_name(name) {
        return Some(vault_error(
            StatusCode::BAD_REQUEST,
            "BadParameter",
            "The request URI contains an invalid name.",
            None,
        ));
    }
    None
}

/// `{scheme}://{host}` as the caller reached the vault.
fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

fn bundle(base: &str, name: &str, v: &SecretVersion) -> Value {
    json!({
        "value": v.value,
        "id": format!("{base}/secrets/{name}/{}", v.version),
        "attributes": {"enabled": true, "created": v.created, "updated": v.created, "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
        "tags": v.tags,
    })
}

fn secret_not_found(name: &str) -> Response {
    vault_error(
        StatusCode::NOT_FOUND,
        "SecretNotFound",
        &format!(
            "A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
        None,
    )
}

async fn get_secret(
    State(sim): State<Arc<SimState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refusal(&sim, &headers, &q, &name, "get") {
        return r;
    }
    let world = sim.world();
    match world.key_vault.latest(&name) {
        Some(v) => json_response(StatusCode::OK, bundle(&base(&headers), &name, v)),
        None => secret_not_found(&name),
    }
}

#[derive(serde::Deserialize)]
struct SetBody {
    value: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

async fn set_secret(
    State(sim): State<Arc<SimState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    if let Some(r) = refusal(&sim, &headers, &q, &name, "set") {
        return r;
    }
    let Some(value) = serde_json::from_slice::<SetBody>(&body)
        .ok()
        .and_then(|b| Some((b.value?, b.tags)))
    else {
        return vault_error(
            StatusCode::BAD_REQUEST,
            "BadParameter",
            "Property value is required.",
            None,
        );
    };
    let mut world = sim.world();
    if world.key_vault.deleted.contains(&name) {
        return vault_error(
            StatusCode::CONFLICT,
            "Conflict",
            &format!(
                "Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged."
            ),
            None,
        );
    }
    let version = SecretVersion {
        version: uuid::Uuid::new_v4().simple().to_string(),
        value: value.0,
        tags: value.1,
        created: chrono::Utc::now().timestamp(),
    };
    let answer = bundle(&base(&headers), &name, &version);
    world
        .key_vault
        .secrets
        .entry(name)
        .or_default()
        .push(version);
    json_response(StatusCode::OK, answer)
}

async fn delete_secret(
    State(sim): State<Arc<SimState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refusal(&sim, &headers, &q, &name, "delete") {
        return r;
    }
    let mut world = sim.world();
    let Some(v) = world.key_vault.latest(&name).cloned() else {
        return secret_not_found(&name);
    };
    world.key_vault.deleted.insert(name.clone());
    let base = base(&headers);
    let mut answer = bundle(&base, &name, &v);
    answer["recoveryId"] = json!(format!("{base}/deletedsecrets/{name}"));
    answer["deletedDate"] = json!(chrono::Utc::now().timestamp());
    answer.as_object_mut().map(|o| o.remove("value"));
    json_response(StatusCode::OK, answer).into_response()
}
