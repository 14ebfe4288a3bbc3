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
    /// The stored sign-in was issued to another app than the one csp would now redeem it with
    /// (`csp setup` created or chose another app, or CSP_CLIENT_ID names another one).
    #[error(
        "the stored sign-in of profile `{profile}` was issued to app {signed_in_with}, but csp now uses app {client_id} ({origin})"
    )]
    ClientMismatch {
        profile: String,
        signed_in_with: String,
        client_id: String,
        /// Where the current client id comes from, for the message.
        origin: String,
    },
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
    /// Whether the partner must sign in again (`csp authorize`): there is no sign-in, or the
    /// stored one is dead or belongs to another app. Every call that needs it would fail alike.
    pub fn needs_sign_in(&self) -> bool {
        matches!(
            self,
            AuthError::NotSignedIn { .. }
                | AuthError::SignInExpired { .. }
                | AuthError::ClientMismatch { .. }
        )
    }

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

/// Refresh-token failures that mean the stored sign-in is dead: expired through inactivity
/// (700082), expired or revoked grant (70008), revoked session (50173), sign-in frequency
/// (70043), invalid grant (70000), a session made invalid by a password change or expiry
/// (50132, 50133), an expired password (50055). Microsoft's reference-error-codes page lists
/// them; redeeming the same token again cannot succeed.
pub const DEAD_SIGN_IN_CODES: [u32; 8] = [700082, 70008, 50173, 70043, 70000, 50132, 50133, 50055];

/// A refused redemption of the stored refresh token: `SignInExpired` (exit 4) when the code
/// says the sign-in itself is gone, else the error as it was (it concerns this one request).
pub fn dead_sign_in(profile: &str, err: AuthError) -> AuthError {
    match err {
        AuthError::Rejected { entra, .. }
            if matches!(
                entra.error.as_str(),
                "invalid_grant" | "interaction_required"
            ) && entra.code.is_some_and(|c| DEAD_SIGN_IN_CODES.contains(&c)) =>
        {
            AuthError::SignInExpired {
                profile: profile.to_string(),
                entra,
            }
        }
        other => other,
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(error: &str, code: u32) -> AuthError {
        AuthError::Rejected {
            action: "token request".into(),
            entra: Box::new(EntraError::new(
                error,
                Some(&format!("AADSTS{code}: refused.")),
            )),
        }
    }

    #[test]
    fn every_dead_sign_in_code_means_sign_in_again() {
        for code in DEAD_SIGN_IN_CODES {
            let e = dead_sign_in("default", refused("invalid_grant", code));
            assert!(
                matches!(e, AuthError::SignInExpired { .. }),
                "AADSTS{code}: {e:?}"
            );
            assert!(e.needs_sign_in());
        }
        // A password-expiry session error may come as interaction_required.
        let e = dead_sign_in("default", refused("interaction_required", 50133));
        assert!(matches!(e, AuthError::SignInExpired { .. }));
    }

    #[test]
    fn other_refusals_concern_only_that_request() {
        // Missing consent in one customer tenant, or MFA asked for: not a dead sign-in.
        for (error, code) in [
            ("invalid_grant", 65001),
            ("invalid_grant", 50076),
            ("invalid_client", 70008),
        ] {
            let e = dead_sign_in("default", refused(error, code));
            assert!(matches!(e, AuthError::Rejected { .. }), "{error} {code}");
            assert!(!e.needs_sign_in());
        }
    }
}
