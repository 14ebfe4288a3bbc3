//! The device-code sign-in (RFC 8628 as Entra speaks it: Microsoft's v2-oauth2-device-code page) on oauth2 v5. Adds
//! what oauth2 lacks: Entra's `message`, its `authorization_declined` and
//! `bad_verification_code` answers, and a guard that ends the wait when the network is gone
//! (oauth2 alone retries transport errors silently until the code expires).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oauth2::basic::BasicErrorResponseType;
use oauth2::{DeviceCodeErrorResponse, DeviceCodeErrorResponseType, RequestTokenError, Scope};
use tokio::sync::Notify;
use url::Url;

use super::error::{AuthError, basic_to_entra, classify};
use super::oauth::{
    AppCredentials, AzureDeviceResponse, AzureTokenResponse, EntraError, OauthHttp, TransportError,
    device_client, send,
};

/// How long consecutive network failures may last while polling before the sign-in is
/// abandoned with a network error.
pub const NETWORK_GIVE_UP: Duration = Duration::from_secs(30);

/// One device-code sign-in against `{authority}/{tenant}`.
pub struct DeviceFlow<'a> {
    pub http: &'a reqwest::Client,
    pub app: &'a AppCredentials,
    pub authority: &'a Url,
    pub tenant: &'a str,
    pub scopes: Vec<String>,
}

/// What the user must do, from the device authorization response.
#[derive(Debug)]
pub struct DevicePrompt {
    pub details: AzureDeviceResponse,
}

impl DevicePrompt {
    /// Microsoft's own sentence (URL and code), else one built from the fields.
    pub fn message(&self) -> String {
        match &self.details.extra_fields().message {
            Some(m) if !m.trim().is_empty() => m.trim().to_string(),
            _ => format!(
                "To sign in, open {} in a browser and enter the code {}",
                self.details.verification_uri().as_str(),
                self.details.user_code().secret()
            ),
        }
    }

    pub fn expires_in(&self) -> Duration {
        self.details.expires_in()
    }
}

impl DeviceFlow<'_> {
    fn host(&self) -> String {
        self.authority.host_str().unwrap_or_default().to_string()
    }

    /// Asks Entra for a device code.
    pub async fn start(&self) -> Result<DevicePrompt, AuthError> {
        let client = device_client(self.app, self.authority, self.tenant);
        let http = self.http;
        let details = client
            .exchange_device_code()
            .add_scopes(self.scopes.iter().map(|s| Scope::new(s.clone())))
            .request_async(&OauthHttp(http))
            .await
            .map_err(|e| classify(e, &self.host(), "sign-in", basic_to_entra))?;
        Ok(DevicePrompt { details })
    }

    /// Polls until the user has signed in, declined, let the code expire, or the network has
    /// been gone for `NETWORK_GIVE_UP`. `sleep` waits between polls (injected so tests run
    /// instantly and can record the intervals).
    pub async fn finish<S, F>(
        &self,
        prompt: &DevicePrompt,
        sleep: S,
    ) -> Result<AzureTokenResponse, AuthError>
    where
        S: Fn(Duration) -> F,
        F: Future<Output = ()>,
    {
        let client = device_client(self.app, self.authority, self.tenant);
        let guard = Arc::new(NetworkGuard::default());
        let http = self.http;
        let send_guarded = {
            let guard = Arc::clone(&guard);
            move |req| {
                let guard = Arc::clone(&guard);
                async move {
                    let result = send(http, req).await;
                    guard.record(result.is_ok());
                    result
                }
            }
        };
        let sleep_guarded = {
            let guard = Arc::clone(&guard);
            move |d: Duration| {
                // Once tripped, the poll never wakes again, so the give-up branch below wins.
                let tripped = guard.slept(d);
                let wait = sleep(d);
                async move {
                    if tripped {
                        std::future::pending::<()>().await;
                    }
                    wait.await
                }
            }
        };
        let poll = client
            .exchange_device_access_token(&prompt.details)
            .request_async(&send_guarded, sleep_guarded, None);
        tokio::select! {
            result = poll => result.map_err(|e| self.poll_error(e)),
            () = guard.tripped.notified() => Err(AuthError::NetworkGaveUp {
                host: self.host(),
                secs: NETWORK_GIVE_UP.as_secs(),
            }),
        }
    }

    fn poll_error(
        &self,
        err: RequestTokenError<TransportError, DeviceCodeErrorResponse>,
    ) -> AuthError {
        if let RequestTokenError::ServerResponse(e) = &err {
            match e.error() {
                DeviceCodeErrorResponseType::AccessDenied => return AuthError::Declined,
                DeviceCodeErrorResponseType::ExpiredToken => return AuthError::CodeExpired,
                DeviceCodeErrorResponseType::Basic(BasicErrorResponseType::Extension(x)) => {
                    match x.as_str() {
                        "authorization_declined" => return AuthError::Declined,
                        "bad_verification_code" => return AuthError::BadVerificationCode,
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        classify(
            err,
            &self.host(),
            "sign-in",
            |e: &DeviceCodeErrorResponse| {
                EntraError::new(
                    e.error().as_ref(),
                    e.error_description().map(String::as_str),
                )
            },
        )
    }
}

/// Counts how long the poll has been waiting through consecutive transport failures, by adding
/// up the waits oauth2 asks for, and trips once that reaches `NETWORK_GIVE_UP`.
#[derive(Default)]
struct NetworkGuard {
    failing_for: Mutex<Option<Duration>>,
    tripped: Notify,
}

impl NetworkGuard {
    fn record(&self, ok: bool) {
        let mut failing = self.failing_for.lock().unwrap_or_else(|e| e.into_inner());
        if ok {
            *failing = None;
        } else if failing.is_none() {
            *failing = Some(Duration::ZERO);
        }
    }

    /// Adds a wait to the failure time; true (and the alarm raised) once it reaches the limit.
    fn slept(&self, d: Duration) -> bool {
        let mut failing = self.failing_for.lock().unwrap_or_else(|e| e.into_inner());
        let Some(total) = failing.as_mut() else {
            return false;
        };
        if *total >= NETWORK_GIVE_UP {
            self.tripped.notify_one();
            return true;
        }
        *total += d;
        false
    }
}
