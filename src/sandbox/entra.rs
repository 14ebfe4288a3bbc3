//! Simulated Entra: the device-code endpoint (the simulated user approves each code
//! by itself after a moment), the token endpoint (device code, authorization code, refresh
//! token with rotation; customer-tenant authorities work only with GDAP access and the app
//! consented there), an authorize endpoint that signs the user in at once, and OpenID
//! metadata per tenant. Client authentication follows the app registration: a public client
//! sends no secret, a confidential one must.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::reply::{entra_error, json_response, jwt};
use super::state::SimState;
use super::world::{self, World};

/// How long the simulated user takes to approve a device code.
pub const APPROVE_AFTER: Duration = Duration::from_millis(1500);
/// How long a device code stays valid (Microsoft's default).
const DEVICE_CODE_LIFETIME: Duration = Duration::from_secs(900);
/// Every client secret the simulator issues starts so.
pub const SECRET_PREFIX: &str = "simsecret~";
/// Every refresh token the simulator issues starts so.
pub const REFRESH_PREFIX: &str = "simrt-";
/// Every device code the simulator issues starts so.
pub const DEVICE_CODE_PREFIX: &str = "simdc-";
/// Every authorization code the simulator issues starts so.
pub const AUTH_CODE_PREFIX: &str = "simac-";

pub fn router() -> Router<Arc<SimState>> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/devicecode", post(device_code))
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid),
        )
}

fn form(body: &Bytes) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn is_alias(tenant: &str) -> bool {
    matches!(tenant, "organizations" | "common")
}

fn unknown_tenant(tenant: &str) -> Response {
    entra_error(
        StatusCode::BAD_REQUEST,
        "invalid_tenant",
        90002,
        &format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
        ),
    )
}

/// Entra's refusal of a client.
struct Refusal(StatusCode, &'static str, u32, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        entra_error(self.0, self.1, self.2, &self.3)
    }
}

/// Checks the client as Entra does: known, and authenticated as its registration says.
/// Returns the client id.
fn authenticate_client(world: &World, f: &HashMap<String, String>) -> Result<String, Refusal> {
    let client = f
        .get("client_id")
        .map(|c| c.to_ascii_lowercase())
        .unwrap_or_default();
    let public = if client == world::BOOTSTRAP_APP {
        true
    } else if let Some(app) = world.app(&client) {
        app.is_fallback_public_client
    } else {
        return Err(Refusal(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client}' was not found in the directory of the sandbox. The sandbox's app is preconfigured; run csp --sandbox authorize without --client-id."
            ),
        ));
    };
    match (public, f.get("client_secret")) {
        (true, Some(_)) => Err(Refusal(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.".into(),
        )),
        (false, None) => Err(Refusal(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".into(),
        )),
        (false, Some(s)) if !s.starts_with(SECRET_PREFIX) => Err(Refusal(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.".into(),
        )),
        _ => Ok(client),
    }
}

async fn device_code(
    State(sim): State<Arc<SimState>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let client = {
        let world = sim.world();
        if world.tenant(&tenant).is_none() && !is_alias(&tenant) {
            return unknown_tenant(&tenant);
        }
        match authenticate_client(&world, &f) {
            Ok(c) => c,
            Err(r) => return r.into_response(),
        }
    };
    let code = sim.issued(format!(
        "{DEVICE_CODE_PREFIX}{}",
        uuid::Uuid::new_v4().simple()
    ));
    let user_code: String = uuid::Uuid::new_v4().simple().to_string()[..9].to_ascii_uppercase();
    sim.runtime().device_codes.insert(
        code.clone(),
        (
            Instant::now(),
            f.get("scope").cloned().unwrap_or_default(),
            client,
        ),
    );
    json_response(
        StatusCode::OK,
        json!({
            "user_code": user_code,
            "device_code": code,
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": DEVICE_CODE_LIFETIME.as_secs(),
            "interval": 1,
            "message": format!("To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code {user_code} to authenticate. (Sandbox: the code is approved by itself in a moment.)"),
        }),
    )
}

async fn token(
    State(sim): State<Arc<SimState>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let f = form(&body);
    if f.get("grant_type").map(String::as_str) == Some("client_credentials") {
        return super::key_vault::client_credentials(&sim, &f);
    }
    let (client, partner, tid, switches) = {
        let world = sim.world();
        let client = match authenticate_client(&world, &f) {
            Ok(c) => c,
            Err(r) => return r.into_response(),
        };
        let partner = world.partner.id.clone();
        // The tenant the token is for: the partner for its own names, else a customer.
        let tid = if is_alias(&tenant) {
            partner.clone()
        } else {
            match world.tenant(&tenant) {
                Some(t) => t.id.clone(),
                None => return unknown_tenant(&tenant),
            }
        };
        (client, partner, tid, world.switches.clone())
    };
    let scope = f.get("scope").cloned().unwrap_or_default();
    match f.get("grant_type").map(String::as_str) {
        Some("urn:ietf:params:oauth:grant-type:device_code") => {
            let code = f.get("device_code").cloned().unwrap_or_default();
            let issued = sim.runtime().device_codes.get(&code).cloned();
            match issued {
                Some((_, _, c)) if c != client => entra_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    70000,
                    "The device code was issued to another application.",
                ),
                None => entra_error(
                    StatusCode::BAD_REQUEST,
                    "bad_verification_code",
                    70018,
                    "Invalid verification code.",
                ),
                Some((t, _, _)) if t.elapsed() > DEVICE_CODE_LIFETIME => entra_error(
                    StatusCode::BAD_REQUEST,
                    "expired_token",
                    70019,
                    "Verification code expired.",
                ),
                Some((t, _, _)) if t.elapsed() < APPROVE_AFTER => entra_error(
                    StatusCode::BAD_REQUEST,
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                ),
                Some((_, asked, _)) => {
                    sim.runtime().device_codes.remove(&code);
                    issue(&sim, &partner, &asked, &client, &switches)
                }
            }
        }
        Some("authorization_code") => {
            let code = f.get("code").cloned().unwrap_or_default();
            let issued = sim.runtime().auth_codes.remove(&code);
            match issued {
                Some((c, asked)) if c == client && f.contains_key("code_verifier") => {
                    issue(&sim, &partner, &asked, &client, &switches)
                }
                _ => entra_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    70000,
                    "The provided authorization code is invalid or was issued to another client, or the request lacks the PKCE code_verifier.",
                ),
            }
        }
        Some("refresh_token") => {
            if switches.sign_in_expired {
                return entra_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    700082,
                    "The refresh token has expired due to inactivity. The token was issued on 2026-01-01T00:00:00Z and was inactive for 90.00:00:00.",
                );
            }
            if !f
                .get("refresh_token")
                .is_some_and(|r| r.starts_with(REFRESH_PREFIX))
            {
                return entra_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    70008,
                    "The provided authorization code or refresh token has expired due to inactivity.",
                );
            }
            if tid != partner {
                let world = sim.world();
                let t = world.customer(&tid).expect("resolved above");
                if !world.has_active_gdap(&tid) {
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
                if !t.service_principals.contains_key(&client) {
                    return entra_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        65001,
                        "The user or administrator has not consented to use the application.",
                    );
                }
            }
            issue(&sim, &tid, &scope, &client, &switches)
        }
        _ => entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        ),
    }
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

/// A token response for the partner user in `tid`, with a rotated refresh token.
fn issue(
    sim: &SimState,
    tid: &str,
    scope: &str,
    client: &str,
    switches: &world::Switches,
) -> Response {
    let now = chrono::Utc::now().timestamp();
    let amr = if switches.no_mfa_claim {
        json!(["pwd"])
    } else {
        json!(["pwd", "mfa"])
    };
    let access = sim.issued(jwt(&json!({
        "aud": resource_of(scope), "iss": format!("https://sts.windows.net/{tid}/"), "iat": now, "nbf": now, "exp": now + 3599,
        "tid": tid, "upn": world::USER, "unique_name": world::USER, "name": "Automation Account",
        "oid": world::USER_ID, "appid": client, "amr": amr,
        "scp": scope.split_whitespace().filter(|s| s.contains("://")).map(|s| s.rsplit('/').next().unwrap_or(s)).collect::<Vec<_>>().join(" "),
        "ver": "1.0", "sandbox": true, "uti": uuid::Uuid::new_v4().simple().to_string(),
    })));
    let id_token = sim.issued(jwt(&json!({
        "aud": client, "tid": tid, "preferred_username": world::USER, "name": "Automation Account",
        "oid": world::USER_ID, "iat": now, "exp": now + 3599, "amr": amr,
    })));
    let refresh = sim.issued(format!("{REFRESH_PREFIX}{}", uuid::Uuid::new_v4().simple()));
    json_response(
        StatusCode::OK,
        json!({
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": access,
            "refresh_token": refresh,
            "id_token": id_token,
        }),
    )
}

/// Entra accepts a redirect URI registered on the app; on loopback, with any port.
fn redirect_registered(app: &world::App, redirect: &url::Url) -> bool {
    let loopback = |u: &url::Url| matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    app.redirect_uris
        .iter()
        .chain(app.web_redirect_uris.iter())
        .filter_map(|r| url::Url::parse(r).ok())
        .any(|r| {
            r.scheme() == redirect.scheme()
                && r.host_str() == redirect.host_str()
                && r.path().trim_end_matches('/') == redirect.path().trim_end_matches('/')
                && (r.port() == redirect.port() || loopback(&r))
        })
}

async fn authorize(
    State(sim): State<Arc<SimState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(redirect) = q.get("redirect_uri").and_then(|r| url::Url::parse(r).ok()) else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90014,
            "The request must contain a redirect_uri.",
        );
    };
    let client = q
        .get("client_id")
        .map(|c| c.to_ascii_lowercase())
        .unwrap_or_default();
    {
        let world = sim.world();
        match world.app(&client) {
            Some(app) if !redirect_registered(app, &redirect) => {
                return entra_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    50011,
                    &format!(
                        "The redirect URI '{redirect}' specified in the request does not match the redirect URIs configured for the application '{client}'."
                    ),
                );
            }
            Some(_) => {}
            None if client == world::BOOTSTRAP_APP => {}
            None => {
                return entra_error(
                    StatusCode::BAD_REQUEST,
                    "unauthorized_client",
                    700016,
                    &format!("Application with identifier '{client}' was not found."),
                );
            }
        }
    }
    let code = sim.issued(format!(
        "{AUTH_CODE_PREFIX}{}",
        uuid::Uuid::new_v4().simple()
    ));
    sim.runtime().auth_codes.insert(
        code.clone(),
        (client, q.get("scope").cloned().unwrap_or_default()),
    );
    let mut to = redirect;
    to.query_pairs_mut().append_pair("code", &code).append_pair(
        "state",
        q.get("state").map(String::as_str).unwrap_or_default(),
    );
    (StatusCode::FOUND, [("location", to.to_string())]).into_response()
}

async fn openid(State(sim): State<Arc<SimState>>, Path(domain): Path<String>) -> Response {
    let world = sim.world();
    match world.tenant(&domain) {
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
        None => unknown_tenant(&domain),
    }
}
