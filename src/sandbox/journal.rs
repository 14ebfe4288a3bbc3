//! What the simulator saw and handed out, for tests to assert on: every call in arrival order
//! (method, path, headers, body, when, and the status it was answered with), and every secret
//! it issued (refresh, access and id tokens, device and authorization codes, client secrets).
//! Kept in memory only, never written anywhere.

use std::time::Instant;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use serde_json::Value;

/// One call the simulator received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    /// The path as sent, without the query.
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When it arrived (before any latency or fault delayed it).
    pub at: Instant,
    /// The status it was answered with; `None` while hung, or when the connection was cut.
    pub status: Option<u16>,
}

impl Call {
    /// Whether this is `method` on a path matching `pattern` (see `Fault::on`).
    pub fn is(&self, method: &str, pattern: &str) -> bool {
        self.method.as_str().eq_ignore_ascii_case(method) && path_matches(pattern, &self.path)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, when it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// A form field of the body (token requests).
    pub fn form(&self, key: &str) -> Option<String> {
        url::form_urlencoded::parse(&self.body)
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    /// The path's segments (after the leading `/`).
    pub fn segment(&self, i: usize) -> Option<&str> {
        self.path.trim_start_matches('/').split('/').nth(i)
    }
}

/// Whether `path` matches `pattern`: segments compare exactly, except `*`, which matches any
/// one segment, and `**`, which matches any number of them.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    fn go(p: &[&str], s: &[&str]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(&"**"), _) => go(&p[1..], s) || (!s.is_empty() && go(p, &s[1..])),
            (Some(a), Some(b)) => (*a == "*" || a == b) && go(&p[1..], &s[1..]),
            _ => false,
        }
    }
    let split = |x: &str| -> Vec<String> {
        x.trim_start_matches('/')
            .split('/')
            .map(str::to_string)
            .collect()
    };
    let (p, s) = (split(pattern), split(path));
    go(
        &p.iter().map(String::as_str).collect::<Vec<_>>(),
        &s.iter().map(String::as_str).collect::<Vec<_>>(),
    )
}

#[derive(Default)]
pub(super) struct Journal {
    pub calls: Vec<Call>,
    pub secrets: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_segments_and_tails() {
        let consent = "/v1/customers/*/applicationconsents";
        assert!(path_matches(
            consent,
            "/v1/customers/abc/applicationconsents"
        ));
        assert!(!path_matches(
            consent,
            "/v1/customers/abc/applicationconsents/app"
        ));
        assert!(!path_matches(consent, "/v1/customers"));
        assert!(path_matches("/v1.0/**", "/v1.0/servicePrincipals/x/grants"));
        assert!(path_matches("/v1.0/**", "/v1.0"));
        assert!(path_matches(
            "/*/oauth2/v2.0/token",
            "/organizations/oauth2/v2.0/token"
        ));
        assert!(path_matches(
            "/**/appRoleAssignments",
            "/v1.0/servicePrincipals/x/appRoleAssignments"
        ));
        assert!(!path_matches("/v1.0/domains", "/v1.0/domainsx"));
    }
}
