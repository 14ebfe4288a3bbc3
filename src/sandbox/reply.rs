//! The shapes of the simulator's answers: JSON responses, each service's error body (Entra's
//! `error`/`error_codes`, Partner Center's ApiFault, Graph's `error{code,message,innerError}`),
//! and the unsigned JWTs it issues and reads back.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

pub fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// Entra's error body: `error`, `error_description`, `error_codes` and the ids.
pub fn entra_error(status: StatusCode, error: &str, code: u32, text: &str) -> Response {
    let correlation = uuid::Uuid::new_v4();
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    json_response(
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: {}\r\nCorrelation ID: {correlation}\r\nTimestamp: {now}", uuid::Uuid::new_v4()),
            "error_codes": [code],
            "timestamp": now,
            "trace_id": uuid::Uuid::new_v4().to_string(),
            "correlation_id": correlation.to_string(),
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

/// Partner Center's ApiFault body: `code`, `description`, `data`, `source`.
pub fn fault(code: &str, description: &str) -> Value {
    json!({"code": code, "description": description, "data": [], "source": "PartnerApiServiceControllers"})
}

pub fn api_fault(status: StatusCode, code: &str, description: &str) -> Response {
    json_response(status, fault(code, description))
}

/// Graph's error body.
pub fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        json!({"error": {"code": code, "message": message, "innerError": {
            "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "request-id": uuid::Uuid::new_v4().to_string(),
            "client-request-id": uuid::Uuid::new_v4().to_string()
        }}}),
    )
}

pub fn graph_not_found(what: &str) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{what}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// The header of every JWT the simulator issues; its base64 form marks a sandbox token.
pub const JWT_HEADER: &str = r#"{"typ":"JWT","alg":"none","kid":"sandbox"}"#;

/// A JWT-shaped token (unsigned: the simulator reads its own claims back).
pub fn jwt(claims: &Value) -> String {
    format!(
        "{}.{}.c2FuZGJveA",
        URL_SAFE_NO_PAD.encode(JWT_HEADER),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// The claims of the bearer token a request carries.
pub fn claims_of(headers: &HeaderMap) -> Option<Value> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}
