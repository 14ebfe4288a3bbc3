//! The HTTP layer every remote call goes through: clients per service (rustls with the OS trust
//! store, timeouts, no redirects), a fresh correlation id per request and a request id per
//! write, retries with backoff that honour `Retry-After`, a response size cap, and error bodies
//! decoded into `ApiError`. Knows nothing of customers or consents.

pub mod error;
pub mod limits;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use backon::{ExponentialBuilder, Retryable};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;
use uuid::Uuid;

pub use error::{ApiError, Fault, Service};
pub use limits::RateLimits;

use crate::auth::AuthError;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client: {0}")]
pub struct HttpSetupError(#[source] pub reqwest::Error);

/// A remote call failed: getting its token, or the call itself.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Timeouts, limits and retry bounds of API calls.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// The largest response body read, in bytes.
    pub max_body: usize,
    /// Tries per request, the first included.
    pub max_attempts: u32,
    /// The most a request may spend waiting between tries, `Retry-After` included.
    pub max_wait: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: CONNECT_TIMEOUT,
            request_timeout: Duration::from_secs(60),
            max_body: 32 * 1024 * 1024,
            max_attempts: 5,
            max_wait: Duration::from_secs(120),
        }
    }
}

/// Installs the ring crypto provider for rustls once per process. Called before every client is
/// built, so library users and tests need no set-up of their own.
pub fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn user_agent() -> String {
    format!("csp/{}", env!("CARGO_PKG_VERSION"))
}

/// A client with default options (tests, one-off callers).
pub fn token_client() -> Result<reqwest::Client, HttpSetupError> {
    client(&HttpOptions::default())
}

/// The one HTTP client of a run, shared by every service so that the OS trust store is loaded
/// once. Redirects are not followed: no Microsoft endpoint used here redirects, and a redirect
/// must never carry a grant or a token to another host. Request timeouts are set per request.
pub fn client(options: &HttpOptions) -> Result<reqwest::Client, HttpSetupError> {
    ensure_crypto_provider();
    reqwest::Client::builder()
        .user_agent(user_agent())
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(options.connect_timeout)
        .build()
        .map_err(HttpSetupError)
}

/// How a client waits between tries; injected so tests do not sleep real seconds.
pub type Sleeper = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

pub fn tokio_sleeper() -> Sleeper {
    Arc::new(|d| Box::pin(tokio::time::sleep(d)))
}

/// One API call.
pub struct Call<'a> {
    pub method: Method,
    pub url: Url,
    /// The bearer token, or `None` for anonymous endpoints.
    pub token: Option<&'a SecretString>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub json: Option<serde_json::Value>,
}

impl<'a> Call<'a> {
    pub fn get(url: Url, token: Option<&'a SecretString>) -> Self {
        Call {
            method: Method::GET,
            url,
            token,
            headers: Vec::new(),
            json: None,
        }
    }
}

/// A successful response, read whole.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Calls one service: Partner Center, Graph or Entra's discovery endpoints.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    service: Service,
    base: Url,
    options: HttpOptions,
    sleep: Sleeper,
}

/// Why one try failed, and whether another may follow.
struct TryFailed {
    error: ApiError,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl ApiClient {
    /// A client with its own connection pool (tests, one-off callers).
    pub fn new(service: Service, base: Url, options: HttpOptions) -> Result<Self, HttpSetupError> {
        let http = client(&options)?;
        Ok(Self::with_http(service, base, options, http))
    }

    /// A client on a shared `reqwest::Client` (see `client`).
    pub fn with_http(
        service: Service,
        base: Url,
        options: HttpOptions,
        http: reqwest::Client,
    ) -> Self {
        ApiClient {
            http,
            service,
            base,
            options,
            sleep: tokio_sleeper(),
        }
    }

    pub fn with_sleeper(mut self, sleep: Sleeper) -> Self {
        self.sleep = sleep;
        self
    }

    pub fn service(&self) -> Service {
        self.service
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `base` + a path (and query) relative to it.
    pub fn url(&self, path_and_query: &str) -> Url {
        let mut base = self.base.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        base.join(path_and_query.trim_start_matches('/'))
            .unwrap_or_else(|_| self.base.clone())
    }

    /// True when `url` is on this client's host (links from a response must stay there).
    pub fn same_origin(&self, url: &Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }

    /// Sends `call`, retrying where that is safe, and returns the 2xx response.
    pub async fn send(&self, call: Call<'_>) -> Result<Response, ApiError> {
        let correlation = Uuid::new_v4().to_string();
        // Partner Center's idempotency key: the same for every try of one write.
        let request_id = (call.method != Method::GET).then(|| Uuid::new_v4().to_string());
        let attempts = AtomicU32::new(0);
        let waited_ms = AtomicU64::new(0);
        let last_retry_after = AtomicU64::new(u64::MAX);
        let max_wait = self.options.max_wait;
        let sleep = Arc::clone(&self.sleep);
        // Writes are retried at most 3 times (reads, up to the configured attempts).
        let attempts_allowed = if request_id.is_some() {
            self.options.max_attempts.min(4)
        } else {
            self.options.max_attempts
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(500))
            .with_max_delay(Duration::from_secs(30))
            .with_max_times(attempts_allowed.saturating_sub(1) as usize)
            .with_jitter();
        let result = (|| async {
            attempts.fetch_add(1, Ordering::SeqCst);
            self.try_once(&call, &correlation, request_id.as_deref())
                .await
        })
        .retry(backoff)
        .sleep(move |d| sleep(d))
        .when(|f: &TryFailed| f.retryable)
        .adjust(|f: &TryFailed, backoff: Option<Duration>| {
            if let Some(ra) = f.retry_after {
                last_retry_after.store(ra.as_secs(), Ordering::SeqCst);
            }
            // `None` from the backoff: the tries are used up. Otherwise Retry-After wins.
            let wait = f.retry_after.unwrap_or(backoff?);
            let total = waited_ms.load(Ordering::SeqCst) + wait.as_millis() as u64;
            if Duration::from_millis(total) > max_wait {
                return None;
            }
            waited_ms.store(total, Ordering::SeqCst);
            Some(wait)
        })
        .notify(|f: &TryFailed, wait: Duration| {
            tracing::info!("{}; trying again in {:.1} s", f.error, wait.as_secs_f64());
        })
        .await;
        result.map_err(|f| match f.error {
            ApiError::Status {
                service,
                method,
                path,
                status: 429,
                fault,
            } => ApiError::Throttled {
                service,
                method,
                path,
                attempts: attempts.load(Ordering::SeqCst),
                retry_after: match last_retry_after.load(Ordering::SeqCst) {
                    u64::MAX => f.retry_after,
                    s => Some(Duration::from_secs(s)),
                },
                fault,
            },
            other => other,
        })
    }

    async fn try_once(
        &self,
        call: &Call<'_>,
        correlation: &str,
        request_id: Option<&str>,
    ) -> Result<Response, TryFailed> {
        let method = call.method.as_str().to_string();
        let path = display_path(&call.url);
        let mut req = self
            .http
            .request(call.method.clone(), call.url.clone())
            .timeout(self.options.request_timeout)
            .header(reqwest::header::ACCEPT, "application/json");
        match self.service {
            Service::Graph => {
                req = req.header("client-request-id", correlation);
            }
            Service::KeyVault => {
                req = req.header("x-ms-client-request-id", correlation);
            }
            Service::PartnerCenter | Service::Discovery => {
                req = req.header("MS-CorrelationId", correlation);
                if let Some(id) = request_id {
                    req = req.header("MS-RequestId", id);
                }
            }
        }
        if let Some(token) = call.token {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                .map_err(|_| TryFailed {
                    error: ApiError::Decode {
                        service: self.service,
                        method: method.clone(),
                        path: path.clone(),
                        detail: "the access token is not a valid header value".into(),
                    },
                    retryable: false,
                    retry_after: None,
                })?;
            value.set_sensitive(true);
            req = req.header(reqwest::header::AUTHORIZATION, value);
        }
        for (k, v) in &call.headers {
            req = req.header(k, v);
        }
        if let Some(body) = &call.json {
            req = req.json(body);
        }
        tracing::debug!("{method} {path} [correlation id {correlation}]");
        let idempotent = matches!(call.method, Method::GET | Method::HEAD | Method::DELETE)
            || (self.service == Service::PartnerCenter && request_id.is_some());
        let response = match req.send().await {
            Ok(r) => r,
            Err(source) => {
                // A connection that was never made cannot have changed anything.
                let retryable = idempotent || source.is_connect();
                return Err(TryFailed {
                    error: ApiError::Network {
                        service: self.service,
                        method,
                        path,
                        source,
                    },
                    retryable,
                    retry_after: None,
                });
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        tracing::debug!("{method} {path} -> {status}");
        let body = self.read_body(response, &method, &path).await;
        let body = match body {
            Ok(b) => b,
            Err(error) => {
                let retryable = idempotent && matches!(error, ApiError::Network { .. });
                return Err(TryFailed {
                    error,
                    retryable,
                    retry_after: None,
                });
            }
        };
        if (200..300).contains(&status) {
            return Ok(Response {
                status,
                headers,
                body,
            });
        }
        let mut fault = error::decode_fault(self.service, &body);
        fault.correlation_id = fault.correlation_id.or_else(|| {
            header(&headers, "ms-correlationid").or_else(|| Some(correlation.to_string()))
        });
        fault.request_id = fault
            .request_id
            .or_else(|| header(&headers, "request-id"))
            .or_else(|| header(&headers, "ms-requestid"));
        let retry_after = retry_after(&headers, SystemTime::now());
        let retryable = status == 429 || (idempotent && matches!(status, 500 | 502 | 503 | 504));
        Err(TryFailed {
            error: ApiError::Status {
                service: self.service,
                method,
                path,
                status,
                fault: Box::new(fault),
            },
            retryable,
            retry_after,
        })
    }

    async fn read_body(
        &self,
        mut response: reqwest::Response,
        method: &str,
        path: &str,
    ) -> Result<Vec<u8>, ApiError> {
        let limit = self.options.max_body;
        if response
            .content_length()
            .is_some_and(|n| n as usize > limit)
        {
            return Err(self.too_large(method, path));
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > limit {
                        return Err(self.too_large(method, path));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(source) => {
                    return Err(ApiError::Network {
                        service: self.service,
                        method: method.into(),
                        path: path.into(),
                        source,
                    });
                }
            }
        }
    }

    fn too_large(&self, method: &str, path: &str) -> ApiError {
        ApiError::TooLarge {
            service: self.service,
            method: method.into(),
            path: path.into(),
            limit_mib: self.options.max_body / (1024 * 1024),
        }
    }

    /// GETs `url` and reads the JSON body as `T`.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        token: Option<&SecretString>,
        headers: Vec<(HeaderName, HeaderValue)>,
    ) -> Result<T, ApiError> {
        let call = Call {
            headers,
            ..Call::get(url, token)
        };
        let path = display_path(&call.url);
        let response = self.send(call).await?;
        self.decode(&response, "GET", &path)
    }

    /// Reads a response body as `T`, naming the endpoint (never the body) when it does not fit.
    pub fn decode<T: serde::de::DeserializeOwned>(
        &self,
        response: &Response,
        method: &str,
        path: &str,
    ) -> Result<T, ApiError> {
        serde_json::from_slice(&response.body).map_err(|e| ApiError::Decode {
            service: self.service,
            method: method.into(),
            path: path.into(),
            detail: format!(
                "{} at line {} column {}",
                classify_json(&e),
                e.line(),
                e.column()
            ),
        })
    }
}

fn classify_json(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "malformed JSON",
        serde_json::error::Category::Data => "unexpected JSON shape",
        serde_json::error::Category::Eof => "truncated JSON",
    }
}

/// The path and query of a URL, without the host, for messages.
pub fn display_path(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `Retry-After` as seconds or as an HTTP date, relative to `now`.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("57"));
        assert_eq!(
            retry_after(&h, SystemTime::now()),
            Some(Duration::from_secs(57))
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        h.insert(
            reqwest::header::RETRY_AFTER,
            HeaderValue::from_str(&later).unwrap(),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            HeaderValue::from_static("soon"),
        );
        assert_eq!(retry_after(&h, now), None);
    }

    #[test]
    fn urls_are_joined_under_the_base_path() {
        let c = ApiClient::new(
            Service::PartnerCenter,
            Url::parse("http://127.0.0.1:9/prefix").unwrap(),
            HttpOptions::default(),
        )
        .unwrap();
        assert_eq!(
            c.url("/v1/customers?size=500").as_str(),
            "http://127.0.0.1:9/prefix/v1/customers?size=500"
        );
        assert!(c.same_origin(&Url::parse("http://127.0.0.1:9/other").unwrap()));
        assert!(!c.same_origin(&Url::parse("http://127.0.0.1:10/").unwrap()));
        assert!(!c.same_origin(&Url::parse("https://evil.example/").unwrap()));
    }
}
