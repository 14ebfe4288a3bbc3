//! `AuthError`: everything that can go wrong signing in or redeeming a token, with the facts a
//! user or a support ticket needs (AADSTS code, trace and correlation ids). Never carries a
//! token or a response body.

use std::fmt;

use oauth2::basic::BasicErrorResponse;
use oauth2::{ErrorResponse, RequestTokenError};

use super::oauth::{EntraError, TransportError};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no client id: csp signs in with the partner's own app registration")]
    NoClientId,
    #[error("profile `{profile}` is not signed in")]
    NotSignedIn { profile: String },
    #[error("the sign-in of profile `{profile}` has expired or was revoked: {entra}")]
    SignInExpired {
        profile: String,
        entra: Box<EntraError>,
    },
    #[error("the sign-in was declined")]
    Declined,
    #[error("the code expired before the sign-in was completed")]
    CodeExpired,
    #[error("Microsoft did not recognise the device code")]
    BadVerificationCode,
    #[error("Microsoft refused the {action}: {entra}")]
    Rejected {
        action: String,
        entra: Box<EntraError>,
    },
    #[error("cannot reach Microsoft's sign-in service at {host}: {source}")]
    Network {
        host: String,
        #[source]
        source: TransportError,
    },
    #[error(
        "lost the connection to Microsoft's sign-in service at {host} for {secs} s while waiting for the sign-in"
    )]
    NetworkGaveUp { host: String, secs: u64 },
    #[error("unexpected response from Microsoft's sign-in service at {host}: {detail}")]
    UnexpectedResponse { host: String, detail: String },
    #[error("the sign-in returned no refresh token (was `offline_access` refused?)")]
    NoRefreshToken,
    #[error("cannot listen on localhost for the browser's redirect")]
    Listener(#[source] std::io::Error),
    #[error("the browser did not come back within {secs} s")]
    BrowserTimeout { secs: u64 },
    #[error(
        "the browser's redirect did not carry the state csp sent (a stale tab, or a forged redirect)"
    )]
    StateMismatch,
}

impl AuthError {
    /// The AADSTS code behind this error, when Microsoft gave one.
    pub fn aadsts(&self) -> Option<u32> {
        match self {
            AuthError::SignInExpired { entra, .. } | AuthError::Rejected { entra, .. } => {
                entra.code
            }
            _ => None,
        }
    }
}

impl fmt::Display for EntraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{d}")?,
            None => write!(f, "{}", self.error)?,
        }
        if self.description.is_some() && !self.error.is_empty() {
            write!(f, " ({})", self.error)?;
        }
        match (&self.trace_id, &self.correlation_id) {
            (Some(t), Some(c)) => write!(f, " [trace id {t}, correlation id {c}]"),
            (None, Some(c)) => write!(f, " [correlation id {c}]"),
            (Some(t), None) => write!(f, " [trace id {t}]"),
            (None, None) => Ok(()),
        }
    }
}

/// Refresh-token failures that mean the stored sign-in is dead (API.md §1.5): expired through
/// inactivity, expired or revoked grant, revoked session, sign-in frequency, invalid grant.
pub const DEAD_SIGN_IN_CODES: [u32; 5] = [700082, 70008, 50173, 70043, 70000];

/// Maps a failed token request to an `AuthError`. `action` names what was asked ("sign-in",
/// "token for tenant …"). Response bodies are never copied into the error: they may hold tokens.
pub(crate) fn classify<E>(
    err: RequestTokenError<TransportError, E>,
    host: &str,
    action: impl Into<String>,
    to_entra: impl Fn(&E) -> EntraError,
) -> AuthError
where
    E: ErrorResponse + 'static,
{
    match err {
        RequestTokenError::ServerResponse(e) => AuthError::Rejected {
            action: action.into(),
            entra: Box::new(to_entra(&e)),
        },
        RequestTokenError::Request(source) => AuthError::Network {
            host: host.to_string(),
            source,
        },
        RequestTokenError::Parse(e, _body) => AuthError::UnexpectedResponse {
            host: host.to_string(),
            detail: format!(
                "the body could not be read as a token response ({})",
                e.path()
            ),
        },
        RequestTokenError::Other(detail) => AuthError::UnexpectedResponse {
            host: host.to_string(),
            detail,
        },
    }
}

pub(crate) fn basic_to_entra(e: &BasicErrorResponse) -> EntraError {
    EntraError::from_basic(e)
}
