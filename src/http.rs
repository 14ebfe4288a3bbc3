//! Building HTTP clients: TLS (rustls with the OS trust store), timeouts and the user agent.
//! The token client never follows redirects (a redirect could carry a grant to another host).

use std::time::Duration;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client: {0}")]
pub struct HttpSetupError(#[source] pub reqwest::Error);

/// Installs the ring crypto provider for rustls once per process. Called before every client is
/// built, so library users and tests need no set-up of their own.
pub fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn user_agent() -> String {
    format!("csp/{}", env!("CARGO_PKG_VERSION"))
}

/// The client for Entra's token and device-code endpoints.
pub fn token_client() -> Result<reqwest::Client, HttpSetupError> {
    ensure_crypto_provider();
    reqwest::Client::builder()
        .user_agent(user_agent())
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(HttpSetupError)
}
