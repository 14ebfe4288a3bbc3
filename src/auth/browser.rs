//! The browser sign-in: authorization code with PKCE (S256) on a loopback redirect, for tenants
//! whose Conditional Access blocks the device-code flow. Listens on `localhost` (both 127.0.0.1
//! and ::1, whichever the browser picks), checks `state`, and gives up after a timeout.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::Url;

use super::error::{AuthError, basic_to_entra, classify};
use super::oauth::{
    AppCredentials, AzureTokenResponse, EntraError, OauthHttp, authorization_code_client,
};

/// How long `csp authorize --browser` waits for the browser to come back.
pub const BROWSER_TIMEOUT: Duration = Duration::from_secs(300);

/// One browser sign-in against `{authority}/{tenant}`.
pub struct BrowserFlow<'a> {
    pub http: &'a reqwest::Client,
    pub app: &'a AppCredentials,
    pub authority: &'a Url,
    pub tenant: &'a str,
    pub scopes: Vec<String>,
    pub timeout: Duration,
}

/// A sign-in waiting for the browser: the URL to open and the listener that will hear back.
pub struct PendingBrowserSignIn<'a> {
    flow: &'a BrowserFlow<'a>,
    url: Url,
    redirect: RedirectUrl,
    verifier: PkceCodeVerifier,
    answer: oneshot::Receiver<Redirected>,
    servers: Vec<tokio::task::JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

/// What came back on the redirect.
#[derive(Debug)]
enum Redirected {
    Code(String),
    Refused(EntraError),
    StateMismatch,
}

#[derive(Debug, Deserialize)]
struct RedirectQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

struct Shared {
    state: String,
    answer: Mutex<Option<oneshot::Sender<Redirected>>>,
}

impl BrowserFlow<'_> {
    /// Binds the loopback listener and builds the authorization URL.
    pub async fn start(&self) -> Result<PendingBrowserSignIn<'_>, AuthError> {
        let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(AuthError::Listener)?;
        let port = v4.local_addr().map_err(AuthError::Listener)?.port();
        // IPv6 may be missing or the port taken there; IPv4 alone still works for most browsers.
        let v6 = TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port)))
            .await
            .ok();
        let redirect = RedirectUrl::new(format!("http://localhost:{port}"))
            .expect("a loopback URL with a port is valid");
        let client =
            authorization_code_client(self.app, self.authority, self.tenant, redirect.clone());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, csrf) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.scopes.iter().map(|s| Scope::new(s.clone())))
            .set_pkce_challenge(challenge)
            .add_extra_param("prompt", "select_account")
            .url();
        let (tx, rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            state: csrf.secret().clone(),
            answer: Mutex::new(Some(tx)),
        });
        let app = axum::Router::new()
            .route("/", axum::routing::get(redirected))
            .with_state(shared);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut servers = vec![tokio::spawn(serve(v4, app.clone(), stopped.clone()))];
        if let Some(v6) = v6 {
            servers.push(tokio::spawn(serve(v6, app, stopped)));
        }
        Ok(PendingBrowserSignIn {
            flow: self,
            url,
            redirect,
            verifier,
            answer: rx,
            servers,
            stop,
        })
    }
}

/// Serves until told to stop; in-flight answers (the "you can close this window" page) are
/// finished first.
async fn serve(
    listener: TcpListener,
    app: axum::Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let _ = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
}

impl PendingBrowserSignIn<'_> {
    /// The URL the user must open.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Waits for the browser to come back, then redeems the code with the PKCE verifier.
    pub async fn finish(self) -> Result<AzureTokenResponse, AuthError> {
        let PendingBrowserSignIn {
            flow,
            redirect,
            verifier,
            answer,
            servers,
            stop,
            ..
        } = self;
        let outcome = tokio::time::timeout(flow.timeout, answer).await;
        let _ = stop.send(true);
        for mut server in servers {
            if tokio::time::timeout(Duration::from_secs(2), &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
        let code = match outcome {
            Err(_) => {
                return Err(AuthError::BrowserTimeout {
                    secs: flow.timeout.as_secs(),
                });
            }
            Ok(Err(_)) => return Err(AuthError::BrowserTimeout { secs: 0 }),
            Ok(Ok(Redirected::StateMismatch)) => return Err(AuthError::StateMismatch),
            Ok(Ok(Redirected::Refused(entra))) => {
                return Err(AuthError::Rejected {
                    action: "sign-in".into(),
                    entra: Box::new(entra),
                });
            }
            Ok(Ok(Redirected::Code(code))) => code,
        };
        let client = authorization_code_client(flow.app, flow.authority, flow.tenant, redirect);
        let host = flow.authority.host_str().unwrap_or_default().to_string();
        client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&OauthHttp(flow.http))
            .await
            .map_err(|e| classify(e, &host, "sign-in", basic_to_entra))
    }
}

async fn redirected(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<RedirectQuery>,
) -> (StatusCode, Html<String>) {
    let outcome = if q.code.is_none() && q.error.is_none() {
        // Not the redirect (a browser pre-fetch, say): keep waiting.
        return (
            StatusCode::BAD_REQUEST,
            page(
                "Waiting for Microsoft",
                "This is csp's sign-in listener. Finish signing in in the other tab.",
            ),
        );
    } else if q.state.as_deref() != Some(shared.state.as_str()) {
        Redirected::StateMismatch
    } else if let Some(error) = &q.error {
        Redirected::Refused(EntraError::new(error, q.error_description.as_deref()))
    } else {
        Redirected::Code(q.code.clone().unwrap_or_default())
    };
    let reply = match &outcome {
        Redirected::Code(_) => (
            StatusCode::OK,
            page(
                "Signed in",
                "csp has your sign-in. You can close this window and return to the terminal.",
            ),
        ),
        Redirected::Refused(e) => (
            StatusCode::OK,
            page(
                "Sign-in failed",
                &format!(
                    "Microsoft refused the sign-in: {}. You can close this window; the terminal says what to do.",
                    e.description.as_deref().unwrap_or(&e.error)
                ),
            ),
        ),
        Redirected::StateMismatch => (
            StatusCode::BAD_REQUEST,
            page(
                "Sign-in not accepted",
                "This answer does not belong to the sign-in csp started. Close this window and run csp authorize --browser again.",
            ),
        ),
    };
    if let Some(tx) = shared
        .answer
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    {
        let _ = tx.send(outcome);
    }
    reply
}

fn page(title: &str, text: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>csp: {t}</title></head>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\">\
         <h1>{t}</h1><p>{x}</p></body></html>",
        t = escape(title),
        x = escape(text)
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
