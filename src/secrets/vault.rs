//! The Azure Key Vault store (`CSP_TOKEN_STORE=azure-key-vault`), for unattended runs: the
//! refresh token is the value of one secret (as Microsoft's samples and CIPP keep it, so a
//! partner can point csp at an entry they already have), and every save is a new version of
//! it. Non-secret facts (client id, tenant, last renewal, csp version) go in the secret's tags;
//! a confidential client's secret, when there is one, in a companion secret
//! `<name>-client-secret` that a tag points at. The Azure credential that reaches the vault is
//! injected (chosen in settings, built in the context); the calls go through csp's own HTTP
//! layer, so the vault can be a local fake on plain-HTTP loopback.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::{AsyncSecretStore, SecretStoreError, StoreKind, StoredSecrets};
use crate::http::{ApiClient, ApiError, Call, HttpOptions, Service, display_path};

/// The Key Vault REST API version csp speaks.
pub const API_VERSION: &str = "7.5";
/// How long one store call may take: a token from the credential (the Azure CLI can be slow to
/// start) and the vault's answer, with the HTTP layer's retries.
pub const VAULT_TIMEOUT: Duration = Duration::from_secs(90);
/// The companion secret that holds a confidential client's secret: `<name>` + this.
pub const CLIENT_SECRET_SUFFIX: &str = "-client-secret";
/// Tokens this close to expiry are fetched again.
const TOKEN_MARGIN: Duration = Duration::from_secs(120);

/// The tags csp writes on the secret.
pub mod tags {
    pub const CLIENT_ID: &str = "clientId";
    pub const TENANT_ID: &str = "tenantId";
    /// When csp last wrote the refresh token (RFC 3339).
    pub const RENEWED_AT: &str = "renewedAt";
    pub const CSP_VERSION: &str = "cspVersion";
    /// The companion secret holding the client secret, when there is one.
    pub const CLIENT_SECRET: &str = "clientSecret";
}

/// Is `name` a valid Key Vault secret name: 1–127 of `0-9a-zA-Z-`?
pub fn valid_secret_name(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The default secret name of a profile: `csp-<profile>`, with the characters a profile name
/// may have and a secret name may not (`.`, `_`) as `-`.
pub fn default_secret_name(profile: &str) -> String {
    let tail: String = profile
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("csp-{tail}")
}

/// Which secret operation a vault refused, with the access-policy permission and the RBAC
/// role that allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Get,
    Set,
    Delete,
}

impl Operation {
    pub fn permission(self) -> &'static str {
        match self {
            Operation::Get => "get",
            Operation::Set => "set",
            Operation::Delete => "delete",
        }
    }

    /// The built-in role that grants it (Azure RBAC vaults).
    pub fn role(self) -> &'static str {
        match self {
            Operation::Get => "Key Vault Secrets User",
            Operation::Set | Operation::Delete => "Key Vault Secrets Officer",
        }
    }
}

/// A vault, or the way to it, refused. Messages name the vault, the secret and the credential;
/// never a token or a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "the token store is azure-key-vault, but no vault is set: set CSP_KEY_VAULT_URL (https://NAME.{suffix})"
    )]
    NoVault { suffix: &'static str },
    #[error("{0}")]
    Setup(String),
    #[error("the {credential} credential could not get a token for Azure Key Vault: {message}")]
    Credential { credential: String, message: String },
    #[error(
        "Azure Key Vault {vault} refused the {credential} credential's token (401){}",
        detail(message)
    )]
    Unauthorized {
        vault: String,
        credential: String,
        message: Option<String>,
    },
    #[error(
        "the identity behind the {credential} credential may not {} secrets in Azure Key Vault {vault} (403){}",
        operation.permission(),
        detail(message)
    )]
    Forbidden {
        vault: String,
        credential: String,
        operation: Operation,
        message: Option<String>,
    },
    #[error(
        "the firewall of Azure Key Vault {vault} refused this machine (403 ForbiddenByFirewall){}",
        detail(message)
    )]
    Firewall {
        vault: String,
        message: Option<String>,
    },
    #[error("secret {secret} in Azure Key Vault {vault} is disabled")]
    Disabled { vault: String, secret: String },
    #[error("secret {secret} does not exist in Azure Key Vault {vault}")]
    NotFound { vault: String, secret: String },
    #[error(
        "secret {secret} in Azure Key Vault {vault} is deleted but recoverable, so its name cannot be used again until it is recovered or purged (409)"
    )]
    SoftDeleted { vault: String, secret: String },
    #[error(transparent)]
    Api(ApiError),
}

fn detail(message: &Option<String>) -> String {
    message
        .as_deref()
        .map(|m| format!(": {}", m.lines().next().unwrap_or(m).trim()))
        .unwrap_or_default()
}

/// Where the sign-in lives: the vault, the secret, and the resource its tokens are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultTarget {
    pub url: Url,
    pub secret: String,
    /// `https://vault.azure.net/.default` (per cloud).
    pub scope: String,
}

/// What csp last read from the secret, apart from its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretFacts {
    /// The version read (the last segment of the secret's id).
    pub version: Option<String>,
    /// When the refresh token was last written: the `renewedAt` tag, else the version's
    /// `updated` time (RFC 3339).
    pub renewed_at: Option<String>,
    pub client_id: Option<String>,
}

/// The non-secret facts written into the tags.
#[derive(Debug, Clone, Default)]
pub struct TagFacts {
    pub client_id: Option<String>,
    pub tenant_id: Option<String>,
}

pub struct KeyVaultStore {
    api: ApiClient,
    target: VaultTarget,
    credential: Arc<dyn TokenCredential>,
    /// How the credential was chosen, for messages: `azure-cli`, `managed-identity`, ….
    credential_name: String,
    facts: TagFacts,
    token: tokio::sync::Mutex<Option<(SecretString, std::time::SystemTime)>>,
    last: Mutex<Option<Loaded>>,
}

/// What the last load found, so a save need not write an unchanged client secret again.
#[derive(Clone)]
struct Loaded {
    facts: SecretFacts,
    client_secret: Option<SecretString>,
}

/// Key Vault's secret bundle (only the fields csp reads; no `Debug`: it holds the value).
#[derive(Deserialize)]
struct Bundle {
    value: Option<String>,
    id: Option<String>,
    attributes: Option<Attributes>,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct Attributes {
    updated: Option<i64>,
}

impl KeyVaultStore {
    pub fn new(
        target: VaultTarget,
        credential: Arc<dyn TokenCredential>,
        credential_name: impl Into<String>,
        facts: TagFacts,
        http: reqwest::Client,
        options: HttpOptions,
    ) -> Self {
        KeyVaultStore {
            api: ApiClient::with_http(Service::KeyVault, target.url.clone(), options, http),
            target,
            credential,
            credential_name: credential_name.into(),
            facts,
            token: tokio::sync::Mutex::new(None),
            last: Mutex::new(None),
        }
    }

    pub fn target(&self) -> &VaultTarget {
        &self.target
    }

    pub fn credential_name(&self) -> &str {
        &self.credential_name
    }

    /// The vault's URL as people write it (no trailing slash).
    pub fn vault(&self) -> String {
        self.target.url.as_str().trim_end_matches('/').to_string()
    }

    /// What the last successful load read (none before one).
    pub fn last_read(&self) -> Option<SecretFacts> {
        self.lock_last().as_ref().map(|l| l.facts.clone())
    }

    fn lock_last(&self) -> std::sync::MutexGuard<'_, Option<Loaded>> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An access token for the vault, from the credential; kept for the run until near expiry.
    pub async fn access_token(&self) -> Result<SecretString, VaultError> {
        let mut slot = self.token.lock().await;
        if let Some((token, expires)) = slot.as_ref()
            && *expires > std::time::SystemTime::now() + TOKEN_MARGIN
        {
            return Ok(token.clone());
        }
        tracing::debug!(
            "getting a token for {} from the {} credential",
            self.target.scope,
            self.credential_name
        );
        let token = self
            .credential
            .get_token(&[self.target.scope.as_str()], None)
            .await
            .map_err(|e| VaultError::Credential {
                credential: self.credential_name.clone(),
                message: e.to_string().trim().to_string(),
            })?;
        let expires = std::time::SystemTime::UNIX_EPOCH
            + Duration::from_secs(token.expires_on.unix_timestamp().max(0) as u64);
        let secret = SecretString::from(token.token.secret().to_string());
        *slot = Some((secret.clone(), expires));
        Ok(secret)
    }

    fn secret_url(&self, name: &str) -> Url {
        self.api
            .url(&format!("secrets/{name}?api-version={API_VERSION}"))
    }

    fn companion(&self) -> String {
        format!("{}{CLIENT_SECRET_SUFFIX}", self.target.secret)
    }

    /// Reads secret `name`; `None` when it does not exist.
    async fn get(&self, name: &str) -> Result<Option<Bundle>, VaultError> {
        let token = self.access_token().await?;
        let url = self.secret_url(name);
        match self.api.send(Call::get(url.clone(), Some(&token))).await {
            Ok(response) => self
                .api
                .decode::<Bundle>(&response, "GET", &display_path(&url))
                .map(Some)
                .map_err(VaultError::Api),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(self.refused(e, name, Operation::Get)),
        }
    }

    /// Writes a new version of secret `name`.
    async fn put(
        &self,
        name: &str,
        value: &SecretString,
        tags: BTreeMap<&str, String>,
    ) -> Result<(), VaultError> {
        let token = self.access_token().await?;
        let call = Call {
            method: Method::PUT,
            url: self.secret_url(name),
            token: Some(&token),
            headers: Vec::new(),
            json: Some(json!({"value": value.expose_secret(), "tags": tags})),
        };
        self.api
            .send(call)
            .await
            .map(|_| ())
            .map_err(|e| self.refused(e, name, Operation::Set))
    }

    /// Deletes secret `name`; `false` when it did not exist.
    async fn remove(&self, name: &str) -> Result<bool, VaultError> {
        let token = self.access_token().await?;
        let call = Call {
            method: Method::DELETE,
            ..Call::get(self.secret_url(name), Some(&token))
        };
        match self.api.send(call).await {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(self.refused(e, name, Operation::Delete)),
        }
    }

    /// Names what a refusal means and what fixes it.
    fn refused(&self, e: ApiError, secret: &str, op: Operation) -> VaultError {
        let vault = self.vault();
        let message = e.fault().and_then(|f| f.message.clone());
        let credential = self.credential_name.clone();
        match (e.status(), e.code()) {
            (Some(401), _) => VaultError::Unauthorized {
                vault,
                credential,
                message,
            },
            (Some(403), Some("ForbiddenByFirewall")) => VaultError::Firewall { vault, message },
            (Some(403), code)
                if code == Some("SecretDisabled")
                    || message
                        .as_deref()
                        .is_some_and(|m| m.contains("disabled secret")) =>
            {
                VaultError::Disabled {
                    vault,
                    secret: secret.to_string(),
                }
            }
            (Some(403), _) => VaultError::Forbidden {
                vault,
                credential,
                operation: op,
                message,
            },
            (Some(409), _) => VaultError::SoftDeleted {
                vault,
                secret: secret.to_string(),
            },
            _ => VaultError::Api(e),
        }
    }

    /// The error for "nothing stored": the secret is missing (exit 4, with the fix).
    pub fn not_found(&self) -> VaultError {
        VaultError::NotFound {
            vault: self.vault(),
            secret: self.target.secret.clone(),
        }
    }

    fn tags(&self, client_secret: bool, renewed_at: String) -> BTreeMap<&'static str, String> {
        let mut t = BTreeMap::new();
        if let Some(c) = &self.facts.client_id {
            t.insert(tags::CLIENT_ID, c.clone());
        }
        if let Some(tid) = &self.facts.tenant_id {
            t.insert(tags::TENANT_ID, tid.clone());
        }
        t.insert(tags::RENEWED_AT, renewed_at);
        t.insert(tags::CSP_VERSION, env!("CARGO_PKG_VERSION").to_string());
        if client_secret {
            t.insert(tags::CLIENT_SECRET, self.companion());
        }
        t
    }
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn rfc3339_of(unix: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

#[async_trait::async_trait(?Send)]
impl AsyncSecretStore for KeyVaultStore {
    fn kind(&self) -> StoreKind {
        StoreKind::AzureKeyVault
    }

    fn timeout(&self) -> Duration {
        VAULT_TIMEOUT
    }

    async fn load(&self, _profile: &str) -> Result<Option<StoredSecrets>, SecretStoreError> {
        let Some(bundle) = self.get(&self.target.secret).await? else {
            return Ok(None);
        };
        let tags = bundle.tags.unwrap_or_default();
        let client_secret = match tags.get(tags::CLIENT_SECRET) {
            Some(name) => self
                .get(name)
                .await?
                .and_then(|b| b.value)
                .map(SecretString::from),
            None => None,
        };
        let facts = SecretFacts {
            version: bundle
                .id
                .as_deref()
                .and_then(|id| id.rsplit('/').next())
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            renewed_at: tags.get(tags::RENEWED_AT).cloned().or_else(|| {
                bundle
                    .attributes
                    .and_then(|a| a.updated)
                    .and_then(rfc3339_of)
            }),
            client_id: tags.get(tags::CLIENT_ID).cloned(),
        };
        *self.lock_last() = Some(Loaded {
            facts,
            client_secret: client_secret.clone(),
        });
        Ok(Some(StoredSecrets {
            refresh_token: SecretString::from(bundle.value.unwrap_or_default().trim().to_string()),
            client_secret,
        }))
    }

    async fn save(&self, _profile: &str, secrets: &StoredSecrets) -> Result<(), SecretStoreError> {
        self.write(secrets, now_rfc3339()).await
    }

    async fn delete(&self, _profile: &str) -> Result<bool, SecretStoreError> {
        let removed = self.remove(&self.target.secret).await?;
        self.remove(&self.companion()).await?;
        *self.lock_last() = None;
        Ok(removed)
    }

    /// A token, a read, and (when the secret exists) a write of the same value with the same
    /// renewal time: proof the identity has get and set. A secret that does not exist yet
    /// cannot be probed for set without creating it, so that is left to the first save.
    async fn check_writable(&self, profile: &str) -> Result<(), SecretStoreError> {
        if let Some(current) = self.load(profile).await? {
            let renewed = self
                .last_read()
                .and_then(|f| f.renewed_at)
                .unwrap_or_else(now_rfc3339);
            self.write(&current, renewed).await?;
        }
        Ok(())
    }
}

impl KeyVaultStore {
    /// The client secret first (only when it changed), so the tag on the refresh token never
    /// points at a companion that is not there; then the refresh token, as a new version.
    async fn write(
        &self,
        secrets: &StoredSecrets,
        renewed_at: String,
    ) -> Result<(), SecretStoreError> {
        if let Some(secret) = &secrets.client_secret {
            let known = self
                .lock_last()
                .as_ref()
                .and_then(|l| l.client_secret.clone());
            if known.is_none_or(|k| k.expose_secret() != secret.expose_secret()) {
                let mut tags = BTreeMap::new();
                tags.insert(tags::CSP_VERSION, env!("CARGO_PKG_VERSION").to_string());
                self.put(&self.companion(), secret, tags).await?;
            }
        }
        self.put(
            &self.target.secret,
            &secrets.refresh_token,
            self.tags(secrets.client_secret.is_some(), renewed_at.clone()),
        )
        .await?;
        tracing::info!(
            "saved the refresh token as a new version of secret {} in {}",
            self.target.secret,
            self.vault()
        );
        let mut last = self.lock_last();
        let loaded = last.get_or_insert_with(|| Loaded {
            facts: SecretFacts::default(),
            client_secret: None,
        });
        loaded.client_secret = secrets.client_secret.clone();
        loaded.facts.renewed_at = Some(renewed_at);
        Ok(())
    }
}

/// A store that cannot be used as configured (no vault URL, a credential that cannot be set
/// up): every call reports why.
pub struct UnusableStore {
    kind: StoreKind,
    why: Arc<dyn Fn() -> SecretStoreError + Send + Sync>,
}

impl UnusableStore {
    pub fn new(
        kind: StoreKind,
        why: impl Fn() -> SecretStoreError + Send + Sync + 'static,
    ) -> Self {
        UnusableStore {
            kind,
            why: Arc::new(why),
        }
    }
}

#[async_trait::async_trait(?Send)]
impl AsyncSecretStore for UnusableStore {
    fn kind(&self) -> StoreKind {
        self.kind
    }
    fn timeout(&self) -> Duration {
        VAULT_TIMEOUT
    }
    async fn load(&self, _: &str) -> Result<Option<StoredSecrets>, SecretStoreError> {
        Err((self.why)())
    }
    async fn save(&self, _: &str, _: &StoredSecrets) -> Result<(), SecretStoreError> {
        Err((self.why)())
    }
    async fn delete(&self, _: &str) -> Result<bool, SecretStoreError> {
        Err((self.why)())
    }
    async fn check_writable(&self, _: &str) -> Result<(), SecretStoreError> {
        Err((self.why)())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_follow_key_vault_rules() {
        assert!(valid_secret_name("csp-default"));
        assert!(valid_secret_name(&"a".repeat(127)));
        assert!(!valid_secret_name(""));
        assert!(!valid_secret_name(&"a".repeat(128)));
        assert!(!valid_secret_name("csp_default"));
        assert!(!valid_secret_name("csp.default"));
        assert_eq!(default_secret_name("default"), "csp-default");
        assert_eq!(default_secret_name("acme.prod_2"), "csp-acme-prod-2");
        assert!(valid_secret_name(&default_secret_name(&"p".repeat(64))));
    }

    #[test]
    fn refusals_name_the_permission() {
        let e = VaultError::Forbidden {
            vault: "https://v.vault.azure.net".into(),
            credential: "azure-cli".into(),
            operation: Operation::Set,
            message: Some("The user does not have secrets set permission\r\nmore".into()),
        };
        let text = e.to_string();
        assert!(text.contains("may not set secrets"), "{text}");
        assert!(!text.contains("more"), "{text}");
    }
}
