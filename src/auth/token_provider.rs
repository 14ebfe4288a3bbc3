//! Access tokens for the Secure Application Model: one refresh token (the partner user's)
//! redeemed for an access token per (scope, tenant), the tenant being the partner's own or a
//! customer's (the Secure Application Model: a refresh token is bound to user and app, not to a resource or tenant). Tokens are cached in memory until five minutes before they
//! expire, concurrent requests for the same token share one redemption, and the newest
//! rotated refresh token is written back to the store once, by `persist`, at the end of a run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use oauth2::{RefreshToken, Scope, TokenResponse};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::claims::Claims;
use super::error::{AuthError, basic_to_entra, classify, dead_sign_in};
use super::oauth::{AppCredentials, OauthHttp, token_client};
use crate::secrets::{SecretStoreError, SecretVault, StoredSecrets};

/// Tokens closer than this to their expiry are redeemed again rather than handed out.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);

/// An access token and what is known about it.
#[derive(Clone)]
pub struct AccessGrant {
    pub token: SecretString,
    pub expires_at: SystemTime,
    pub claims: Claims,
}

impl std::fmt::Debug for AccessGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessGrant")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<AccessGrant>>>;

pub struct TokenProvider {
    http: reqwest::Client,
    app: AppCredentials,
    authority: Url,
    home_tenant: String,
    profile: String,
    vault: SecretVault,
    refresh: Mutex<RefreshState>,
    cache: Mutex<HashMap<(String, String), Slot>>,
}

struct RefreshState {
    token: SecretString,
    /// The stored secrets as loaded, so write-back keeps the client secret.
    stored: StoredSecrets,
    rotated: bool,
}

impl TokenProvider {
    /// A provider for the sign-in in `secrets`. `home_tenant` is the partner tenant (id, or
    /// domain / `organizations` when the id is not known yet).
    pub fn new(
        http: reqwest::Client,
        app: AppCredentials,
        authority: Url,
        home_tenant: String,
        profile: String,
        vault: SecretVault,
        secrets: StoredSecrets,
    ) -> Self {
        TokenProvider {
            http,
            app,
            authority,
            home_tenant,
            profile,
            vault,
            refresh: Mutex::new(RefreshState {
                token: secrets.refresh_token.clone(),
                stored: secrets,
                rotated: false,
            }),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The kind of store the rotated token is written back to.
    pub fn store_kind(&self) -> crate::secrets::StoreKind {
        self.vault.kind()
    }

    pub fn home_tenant(&self) -> &str {
        &self.home_tenant
    }

    /// The refresh token as it stands now (the newest rotation, if any).
    pub fn refresh_token(&self) -> SecretString {
        self.lock_refresh().token.clone()
    }

    /// An access token for `scope` (one resource) in `tenant` (default: the partner tenant).
    pub async fn access_token(
        &self,
        scope: &str,
        tenant: Option<&str>,
    ) -> Result<AccessGrant, AuthError> {
        let tenant = tenant.unwrap_or(&self.home_tenant).to_string();
        let slot = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(
                cache
                    .entry((scope.to_string(), tenant.to_ascii_lowercase()))
                    .or_default(),
            )
        };
        // Holding the slot while redeeming makes concurrent callers wait for this redemption
        // instead of starting their own.
        let mut slot = slot.lock().await;
        if let Some(grant) = slot.as_ref()
            && grant.expires_at > SystemTime::now() + EXPIRY_MARGIN
        {
            return Ok(grant.clone());
        }
        tracing::info!("redeeming the refresh token for {scope} in tenant {tenant}");
        let grant = self.redeem(scope, &tenant).await?;
        *slot = Some(grant.clone());
        Ok(grant)
    }

    /// Forgets cached access tokens for `tenant` (after a consent changes what they carry).
    pub fn forget_tenant(&self, tenant: &str) {
        let tenant = tenant.to_ascii_lowercase();
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(_, t), _| *t != tenant);
    }

    async fn redeem(&self, scope: &str, tenant: &str) -> Result<AccessGrant, AuthError> {
        let client = token_client(&self.app, &self.authority, tenant);
        let refresh = RefreshToken::new(self.refresh_token().expose_secret().to_string());
        let http = &self.http;
        let host = self.authority.host_str().unwrap_or_default().to_string();
        let response = client
            .exchange_refresh_token(&refresh)
            .add_scope(Scope::new(scope.to_string()))
            .request_async(&OauthHttp(http))
            .await
            .map_err(|e| {
                let err = classify(
                    e,
                    &host,
                    format!("token request for {tenant}"),
                    basic_to_entra,
                );
                dead_sign_in(&self.profile, err)
            })?;
        if let Some(new) = response.refresh_token() {
            let mut state = self.lock_refresh();
            if new.secret() != state.token.expose_secret() {
                state.token = SecretString::from(new.secret().to_string());
                state.rotated = true;
                tracing::debug!(
                    "the refresh token was rotated; the new one is saved at the end of the run"
                );
            }
        }
        let token = response.access_token().secret().to_string();
        let claims = Claims::from_jwt(&token).unwrap_or_default();
        let lifetime = response.expires_in().unwrap_or(Duration::from_secs(3600));
        Ok(AccessGrant {
            token: SecretString::from(token),
            expires_at: SystemTime::now() + lifetime,
            claims,
        })
    }

    /// Writes the newest rotated refresh token back to the store, once; a no-op when nothing
    /// rotated or the store is read-only (the environment). The old token stays valid, so a
    /// failure here loses nothing.
    pub async fn persist(&self) -> Result<bool, SecretStoreError> {
        if !self.vault.writable() {
            return Ok(false);
        }
        let secrets = {
            let mut state = self.lock_refresh();
            if !state.rotated {
                return Ok(false);
            }
            state.rotated = false;
            StoredSecrets {
                refresh_token: state.token.clone(),
                client_secret: state.stored.client_secret.clone(),
            }
        };
        if let Err(e) = self.vault.save(secrets).await {
            self.lock_refresh().rotated = true;
            return Err(e);
        }
        Ok(true)
    }

    fn lock_refresh(&self) -> std::sync::MutexGuard<'_, RefreshState> {
        self.refresh.lock().unwrap_or_else(|e| e.into_inner())
    }
}
