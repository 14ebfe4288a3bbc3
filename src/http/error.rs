//! `ApiError`: a failed call to Partner Center, Graph or Entra's discovery endpoints, decoded
//! from whichever error body the service sent (Partner Center's ApiFault or its 429 body,
//! Graph's `{error:{…}}`), with the ids a support ticket needs. Never holds a token or a raw
//! response body.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// The remote services `csp` calls with the partner's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    PartnerCenter,
    Graph,
    /// Entra's anonymous OpenID metadata (domain → tenant).
    Discovery,
    /// Azure Key Vault, the token store for unattended runs.
    KeyVault,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::PartnerCenter => "Partner Center",
            Service::Graph => "Microsoft Graph",
            Service::Discovery => "Microsoft Entra",
            Service::KeyVault => "Azure Key Vault",
        })
    }
}

/// What the service said about a failed request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fault {
    /// Partner Center's `code`, Graph's `error.code`, Entra's `error`.
    pub code: Option<String>,
    pub message: Option<String>,
    /// MS-CorrelationId (ours, echoed), Graph's `request-id`, or Entra's correlation id.
    pub correlation_id: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{service} answered {status} to {method} {path}{}", describe(fault))]
    Status {
        service: Service,
        method: String,
        path: String,
        status: u16,
        fault: Box<Fault>,
    },
    #[error("{service} is still throttling {method} {path} after {attempts} attempts{}{}", retry_after_text(*retry_after), describe(fault))]
    Throttled {
        service: Service,
        method: String,
        path: String,
        attempts: u32,
        retry_after: Option<Duration>,
        fault: Box<Fault>,
    },
    #[error("cannot reach {service} ({method} {path}): {source}")]
    Network {
        service: Service,
        method: String,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{service} sent a response csp cannot read ({method} {path}): {detail}")]
    Decode {
        service: Service,
        method: String,
        path: String,
        detail: String,
    },
    #[error("{service} sent more than {limit_mib} MiB for {method} {path}")]
    TooLarge {
        service: Service,
        method: String,
        path: String,
        limit_mib: usize,
    },
    #[error(
        "{service} pointed csp at another host ({host}) while paging {path}; refusing to send the token there"
    )]
    ForeignLink {
        service: Service,
        path: String,
        host: String,
    },
    #[error("{service} kept returning pages for {path} ({pages} pages); stopping")]
    EndlessPaging {
        service: Service,
        path: String,
        pages: usize,
    },
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            ApiError::Throttled { .. } => Some(429),
            _ => None,
        }
    }

    pub fn fault(&self) -> Option<&Fault> {
        match self {
            ApiError::Status { fault, .. } | ApiError::Throttled { fault, .. } => Some(fault),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        self.fault().and_then(|f| f.code.as_deref())
    }

    pub fn service(&self) -> Service {
        match self {
            ApiError::Status { service, .. }
            | ApiError::Throttled { service, .. }
            | ApiError::Network { service, .. }
            | ApiError::Decode { service, .. }
            | ApiError::TooLarge { service, .. }
            | ApiError::ForeignLink { service, .. }
            | ApiError::EndlessPaging { service, .. } => *service,
        }
    }

    /// Partner Center refuses App+User calls whose token lacks MFA with error 900421.
    pub fn is_mfa_required(&self) -> bool {
        self.service() == Service::PartnerCenter && self.code() == Some("900421")
    }
}

fn describe(f: &Fault) -> String {
    let mut s = String::new();
    match (&f.code, &f.message) {
        (Some(c), Some(m)) => s.push_str(&format!(": {m} (code {c})")),
        (None, Some(m)) => s.push_str(&format!(": {m}")),
        (Some(c), None) => s.push_str(&format!(" (code {c})")),
        (None, None) => {}
    }
    match (&f.correlation_id, &f.request_id) {
        (Some(c), Some(r)) if c != r => {
            s.push_str(&format!(" [correlation id {c}, request id {r}]"))
        }
        (Some(c), _) => s.push_str(&format!(" [correlation id {c}]")),
        (None, Some(r)) => s.push_str(&format!(" [request id {r}]")),
        (None, None) => {}
    }
    s
}

fn retry_after_text(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!(" (last Retry-After: {} s)", d.as_secs()),
        None => String::new(),
    }
}

/// Partner Center's ApiFault `{code, description, data, source}`; `code` is a string in the
/// docs and a number in some answers.
#[derive(Deserialize)]
struct ApiFault {
    code: Option<serde_json::Value>,
    description: Option<String>,
}

/// Partner Center's throttling body `{statusCode, message}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThrottleBody {
    #[allow(dead_code)]
    status_code: Option<u16>,
    message: Option<String>,
}

/// Graph's `{error:{code, message, innerError:{request-id, client-request-id}}}`.
#[derive(Deserialize)]
struct GraphEnvelope {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    code: Option<String>,
    message: Option<String>,
    #[serde(rename = "innerError", alias = "innererror")]
    inner: Option<GraphInner>,
}

#[derive(Deserialize)]
struct GraphInner {
    #[serde(rename = "request-id")]
    request_id: Option<String>,
    /// Key Vault's finer code (`ForbiddenByFirewall`, `ForbiddenByRbac`, `AccessDenied`).
    code: Option<String>,
}

/// Entra's `{error, error_description, error_codes, correlation_id}`.
#[derive(Deserialize)]
struct EntraBody {
    error: String,
    error_description: Option<String>,
    correlation_id: Option<String>,
}

/// Reads whatever error shape `body` has. Messages are trimmed to a sensible length: they are
/// shown to people, and a service could echo request data into them.
pub fn decode_fault(service: Service, body: &[u8]) -> Fault {
    let clip = |s: String| -> String {
        let s = s.trim().to_string();
        if s.chars().count() > 500 {
            s.chars().take(500).collect::<String>() + "…"
        } else {
            s
        }
    };
    if let Ok(g) = serde_json::from_slice::<GraphEnvelope>(body) {
        let (inner_code, request_id) = g
            .error
            .inner
            .map_or((None, None), |i| (i.code, i.request_id));
        return Fault {
            code: match service {
                Service::KeyVault => inner_code.or(g.error.code),
                _ => g.error.code,
            },
            message: g.error.message.map(clip),
            correlation_id: None,
            request_id,
        };
    }
    if service == Service::Discovery
        && let Ok(e) = serde_json::from_slice::<EntraBody>(body)
    {
        let entra = crate::auth::EntraError::new(&e.error, e.error_description.as_deref());
        return Fault {
            code: entra.code.map(|c| format!("AADSTS{c}")).or(Some(e.error)),
            message: entra.description.map(clip),
            correlation_id: e.correlation_id.or(entra.correlation_id),
            request_id: None,
        };
    }
    if let Ok(f) = serde_json::from_slice::<ApiFault>(body)
        && (f.code.is_some() || f.description.is_some())
    {
        return Fault {
            code: f.code.map(|c| match c {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            }),
            message: f.description.map(clip),
            ..Fault::default()
        };
    }
    if let Ok(t) = serde_json::from_slice::<ThrottleBody>(body)
        && t.message.is_some()
    {
        return Fault {
            message: t.message.map(clip),
            ..Fault::default()
        };
    }
    Fault::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_center_api_faults_are_decoded() {
        let f = decode_fault(
            Service::PartnerCenter,
            include_bytes!("../../tests/fixtures/pc-error-apifault-400-sdk-test.json"),
        );
        assert_eq!(f.code.as_deref(), Some("2000"));
        assert!(
            f.message
                .unwrap()
                .starts_with("Customer search only allows")
        );
        let f = decode_fault(
            Service::PartnerCenter,
            br#"{"code":900421,"description":"MFA required","source":"x"}"#,
        );
        assert_eq!(f.code.as_deref(), Some("900421"));
    }

    #[test]
    fn the_throttling_body_is_decoded() {
        let f = decode_fault(
            Service::PartnerCenter,
            include_bytes!("../../tests/fixtures/pc-error-429-throttled.json"),
        );
        assert_eq!(
            f.message.as_deref(),
            Some("Rate limit is exceeded. Try again in 57 seconds.")
        );
    }

    #[test]
    fn graph_errors_are_decoded_with_their_request_id() {
        let f = decode_fault(
            Service::Graph,
            br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"date":"2026-11-27T10:00:00","request-id":"r-1","client-request-id":"c-1"}}}"#,
        );
        assert_eq!(f.code.as_deref(), Some("Authorization_RequestDenied"));
        assert_eq!(f.request_id.as_deref(), Some("r-1"));
    }

    #[test]
    fn key_vault_errors_carry_their_finer_code() {
        let f = decode_fault(
            Service::KeyVault,
            br#"{"error":{"code":"Forbidden","message":"Client address is not authorized and caller is not a trusted service.","innererror":{"code":"ForbiddenByFirewall"}}}"#,
        );
        assert_eq!(f.code.as_deref(), Some("ForbiddenByFirewall"));
        let f = decode_fault(
            Service::KeyVault,
            br#"{"error":{"code":"SecretNotFound","message":"A secret with (name/id) csp-default was not found in this key vault."}}"#,
        );
        assert_eq!(f.code.as_deref(), Some("SecretNotFound"));
    }

    #[test]
    fn entra_discovery_errors_carry_their_aadsts_code() {
        let f = decode_fault(
            Service::Discovery,
            br#"{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant 'nope.example' not found.\r\nTrace ID: t\r\nCorrelation ID: 11111111-0000-0000-0000-000000000000","error_codes":[90002],"correlation_id":"11111111-0000-0000-0000-000000000000"}"#,
        );
        assert_eq!(f.code.as_deref(), Some("AADSTS90002"));
        assert!(f.message.unwrap().contains("not found"));
    }

    #[test]
    fn anything_else_is_an_empty_fault() {
        assert_eq!(
            decode_fault(Service::Graph, b"<html>oops</html>"),
            Fault::default()
        );
    }

    #[test]
    fn messages_show_code_and_ids() {
        let e = ApiError::Status {
            service: Service::PartnerCenter,
            method: "GET".into(),
            path: "/v1/customers/x".into(),
            status: 403,
            fault: Box::new(Fault {
                code: Some("20002".into()),
                message: Some("The partner id has no commerce relationship".into()),
                correlation_id: Some("c".into()),
                request_id: None,
            }),
        };
        assert_eq!(
            e.to_string(),
            "Partner Center answered 403 to GET /v1/customers/x: The partner id has no commerce relationship (code 20002) [correlation id c]"
        );
    }
}
