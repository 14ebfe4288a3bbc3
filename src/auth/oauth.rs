//! The oauth2-crate plumbing for Microsoft Entra's v2.0 endpoints: the reqwest 0.13 adapter,
//! Entra's token and device-code response shapes (which carry fields oauth2 drops), the client
//! type, and reading AADSTS codes out of Entra's error bodies. No flow logic lives here.

use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AccessToken, AuthType, AuthUrl, ClientId, ClientSecret, DeviceAuthorizationUrl, EndpointNotSet,
    EndpointSet, RedirectUrl, RefreshToken, Scope, StandardRevocableToken, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

use crate::cloud::join_path;

/// Entra's token response: oauth2's standard fields plus `id_token`, and `expires_in` accepted as
/// a number or a string (v1-era responses send strings).
#[derive(Debug, Serialize, Deserialize)]
#[serde(from = "RawTokenResponse")]
pub struct AzureTokenResponse {
    access_token: AccessToken,
    token_type: BasicTokenType,
    expires_in: Option<u64>,
    refresh_token: Option<RefreshToken>,
    scopes: Option<Vec<Scope>>,
    #[serde(skip_serializing)]
    id_token: Option<IdToken>,
}

/// An id token, redacted in `Debug` like oauth2's own secret types.
#[derive(Clone, Deserialize)]
pub struct IdToken(String);

impl IdToken {
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for IdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdToken([redacted])")
    }
}

#[derive(Deserialize)]
struct RawTokenResponse {
    access_token: AccessToken,
    token_type: String,
    #[serde(default, deserialize_with = "number_or_string")]
    expires_in: Option<u64>,
    refresh_token: Option<RefreshToken>,
    scope: Option<String>,
    id_token: Option<IdToken>,
}

impl From<RawTokenResponse> for AzureTokenResponse {
    fn from(r: RawTokenResponse) -> Self {
        let token_type =
            serde_json::from_value(serde_json::Value::String(r.token_type.to_ascii_lowercase()))
                .unwrap_or(BasicTokenType::Bearer);
        AzureTokenResponse {
            access_token: r.access_token,
            token_type,
            expires_in: r.expires_in,
            refresh_token: r.refresh_token,
            scopes: r
                .scope
                .map(|s| s.split_whitespace().map(|x| Scope::new(x.into())).collect()),
            id_token: r.id_token,
        }
    }
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(u64),
        Str(String),
    }
    Ok(match Option::<NumOrStr>::deserialize(d)? {
        None => None,
        Some(NumOrStr::Num(n)) => Some(n),
        Some(NumOrStr::Str(s)) => s.trim().parse().ok(),
    })
}

impl oauth2::TokenResponse for AzureTokenResponse {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.map(Duration::from_secs)
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scopes.as_ref()
    }
}

impl AzureTokenResponse {
    pub fn id_token(&self) -> Option<&IdToken> {
        self.id_token.as_ref()
    }
}

/// The device-code response's `message`, which oauth2 drops by default: Microsoft's localised
/// sentence with the URL and the code.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AzureDeviceFields {
    pub message: Option<String>,
}
impl oauth2::ExtraDeviceAuthorizationFields for AzureDeviceFields {}

pub type AzureDeviceResponse = oauth2::DeviceAuthorizationResponse<AzureDeviceFields>;

pub type AzureClient<HasAuth, HasDevice> = oauth2::Client<
    BasicErrorResponse,
    AzureTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuth,
    HasDevice,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Who the app is: its id and, for a confidential client, its secret.
#[derive(Clone)]
pub struct AppCredentials {
    pub client_id: String,
    pub client_secret: Option<SecretString>,
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// `{authority}/{tenant}/oauth2/v2.0/{endpoint}`.
pub fn entra_url(authority: &Url, tenant: &str, endpoint: &str) -> Url {
    join_path(authority, &[tenant, "oauth2/v2.0", endpoint])
}

/// An oauth2 client for one tenant's token endpoint. The secret, when there is one, goes in the
/// form body (`AuthType::RequestBody`), never in a header.
pub fn token_client(
    app: &AppCredentials,
    authority: &Url,
    tenant: &str,
) -> AzureClient<EndpointNotSet, EndpointNotSet> {
    let mut client = oauth2::Client::new(ClientId::new(app.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::from_url(entra_url(authority, tenant, "token")));
    if let Some(secret) = &app.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose_secret().to_string()));
    }
    client
}

/// The same client with the device authorization endpoint set.
pub fn device_client(
    app: &AppCredentials,
    authority: &Url,
    tenant: &str,
) -> AzureClient<EndpointNotSet, EndpointSet> {
    token_client(app, authority, tenant).set_device_authorization_url(
        DeviceAuthorizationUrl::from_url(entra_url(authority, tenant, "devicecode")),
    )
}

/// The same client with the authorization endpoint and a redirect URI set (browser sign-in).
pub fn authorization_code_client(
    app: &AppCredentials,
    authority: &Url,
    tenant: &str,
    redirect: RedirectUrl,
) -> AzureClient<EndpointSet, EndpointNotSet> {
    token_client(app, authority, tenant)
        .set_auth_uri(AuthUrl::from_url(entra_url(authority, tenant, "authorize")))
        .set_redirect_uri(redirect)
}

/// A transport failure from the adapter below.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(#[source] pub reqwest::Error);

/// reqwest 0.13 as oauth2's HTTP client. A named type rather than a closure, so the futures of
/// token requests are `Send` and can run on spawned tasks.
pub struct OauthHttp<'a>(pub &'a reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for OauthHttp<'_> {
    type Error = TransportError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<oauth2::HttpResponse, TransportError>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send(self.0, request))
    }
}

/// Sends an oauth2 request with reqwest 0.13 (oauth2's own client is reqwest 0.12).
pub async fn send(
    http: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, TransportError> {
    let mut request = reqwest::Request::try_from(request).map_err(TransportError)?;
    *request.timeout_mut() = Some(crate::http::REQUEST_TIMEOUT);
    // Method and URL only: the form body carries the grant.
    let (verb, url) = (request.method().clone(), request.url().clone());
    let response = http.execute(request).await.map_err(|e| {
        tracing::debug!("{verb} {url} failed: {e}");
        TransportError(e)
    })?;
    tracing::debug!("{verb} {url} -> {}", response.status());
    let mut builder = oauth2::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response.bytes().await.map_err(TransportError)?;
    Ok(builder
        .body(body.to_vec())
        .expect("status and headers came from a valid response"))
}

/// What Entra said when it refused: the `error` word, the AADSTS code, and the ids a support
/// ticket needs. Built from an oauth2 error response; the description text is kept only in the
/// short form Microsoft puts before its trace lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraError {
    pub error: String,
    pub code: Option<u32>,
    pub description: Option<String>,
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
}

impl EntraError {
    pub fn new(error: &str, description: Option<&str>) -> EntraError {
        let text = description.unwrap_or_default();
        // Microsoft appends "Trace ID: … Correlation ID: … Timestamp: …", sometimes on new
        // lines and sometimes run on; the summary is what comes before them.
        let cut = ["Trace ID:", "Correlation ID:", "Timestamp:"]
            .iter()
            .filter_map(|label| text.find(label))
            .min()
            .unwrap_or(text.len());
        let summary = text[..cut].trim();
        EntraError {
            error: error.to_string(),
            code: aadsts_code(text),
            description: (!summary.is_empty()).then(|| summary.to_string()),
            trace_id: id_after(text, "Trace ID:"),
            correlation_id: id_after(text, "Correlation ID:"),
        }
    }

    pub fn from_basic(e: &BasicErrorResponse) -> EntraError {
        EntraError::new(
            e.error().as_ref(),
            e.error_description().map(String::as_str),
        )
    }
}

fn id_after(text: &str, label: &str) -> Option<String> {
    let rest = text[text.find(label)? + label.len()..].trim_start();
    let id: String = rest
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
        .collect();
    (!id.is_empty()).then_some(id)
}

/// The number in "AADSTS700082: …".
pub fn aadsts_code(text: &str) -> Option<u32> {
    let start = text.find("AADSTS")? + "AADSTS".len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use oauth2::TokenResponse;

    use super::*;

    #[test]
    fn v2_and_v1_token_bodies_both_parse() {
        let v2: AzureTokenResponse = serde_json::from_str(include_str!(
            "../../tests/fixtures/entra-v2-token-devicecode-success.json"
        ))
        .unwrap();
        assert_eq!(v2.expires_in(), Some(Duration::from_secs(3599)));
        assert!(v2.refresh_token().is_some());
        assert!(v2.id_token().is_some());
        let v1: AzureTokenResponse = serde_json::from_str(include_str!(
            "../../tests/fixtures/entra-v1-token-refresh-partnercenter-response.json"
        ))
        .unwrap();
        assert_eq!(v1.expires_in(), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn entra_errors_yield_code_and_ids() {
        let body: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/entra-v2-token-error-invalid-scope.json"
        ))
        .unwrap();
        let e = EntraError::new(
            body["error"].as_str().unwrap(),
            body["error_description"].as_str(),
        );
        assert_eq!(e.error, "invalid_scope");
        assert_eq!(e.code, Some(70011));
        assert!(e.correlation_id.is_some());
        assert!(e.trace_id.is_some());
        assert!(e.description.unwrap().starts_with("AADSTS70011"));
        let pending: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/entra-v2-token-error-authorization-pending.json"
        ))
        .unwrap();
        let e = EntraError::new(
            "authorization_pending",
            pending["error_description"].as_str(),
        );
        assert_eq!(e.code, Some(70016));
        assert_eq!(
            e.correlation_id.as_deref(),
            Some("78b0fdfc-dd0e-4dfb-b13a-d316333783f6")
        );
        assert!(e.description.unwrap().ends_with("Continue polling."));
    }

    #[test]
    fn aadsts_codes_are_read_from_text() {
        assert_eq!(
            aadsts_code("AADSTS700082: The refresh token has expired"),
            Some(700082)
        );
        assert_eq!(aadsts_code("invalid_grant:AADSTS65001: x"), Some(65001));
        assert_eq!(aadsts_code("no code"), None);
    }
}
