//! Where the partner's refresh token (and a confidential client's secret) live. One
//! `SecretStore` trait with a store per backend; the chosen store is injected through the
//! `Context`, never a process-global, so tests run side by side. Local stores are synchronous
//! (`SecretStore`); a store reached over the network, Azure Key Vault, is asynchronous
//! (`AsyncSecretStore`). Both are only ever called through `SecretVault`, which runs the first
//! off the async threads and bounds every call with a timeout (a hung keyring or vault must not
//! hang `csp`).

pub mod azure;
mod env;
mod file;
mod keyring;
mod memory;
pub mod vault;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub use env::EnvStore;
pub use file::FileStore;
pub use keyring::KeyringStore;
pub use memory::MemoryStore;
pub use vault::{KeyVaultStore, VaultError};

use crate::files::FileError;

/// How long one store call may take before `csp` gives up on it.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(5);

/// The kinds of secret store, as named in `CSP_TOKEN_STORE`, config.toml and JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Keyring,
    File,
    Environment,
    Memory,
    #[serde(rename = "azure-key-vault")]
    AzureKeyVault,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Keyring => "keyring",
            StoreKind::File => "file",
            StoreKind::Environment => "environment",
            StoreKind::Memory => "memory",
            StoreKind::AzureKeyVault => "azure-key-vault",
        }
    }

    /// The stores a user may name (`CSP_TOKEN_STORE`, `--token-store`).
    pub const USER_CHOICES: [StoreKind; 3] = [
        StoreKind::Keyring,
        StoreKind::File,
        StoreKind::AzureKeyVault,
    ];

    /// Parses the values a user may put in `CSP_TOKEN_STORE`.
    pub fn parse_user_choice(s: &str) -> Option<StoreKind> {
        let s = s.trim().to_ascii_lowercase();
        Self::USER_CHOICES.into_iter().find(|k| k.as_str() == s)
    }

    /// `keyring`, `file` or `azure-key-vault`, for messages.
    pub fn user_choices_text() -> String {
        let names: Vec<String> = Self::USER_CHOICES
            .iter()
            .map(|k| format!("`{k}`"))
            .collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.concat(),
        }
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a sign-in keeps secret. `Debug` never shows the values. An empty refresh token is a
/// client secret stored by `csp setup` before anyone has signed in.
#[derive(Clone)]
pub struct StoredSecrets {
    pub refresh_token: SecretString,
    pub client_secret: Option<SecretString>,
}

impl StoredSecrets {
    /// Whether this holds a sign-in (not only a client secret).
    pub fn signed_in(&self) -> bool {
        !self.refresh_token.expose_secret().is_empty()
    }
}

impl fmt::Debug for StoredSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredSecrets")
            .field("refresh_token", &"[redacted]")
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// The serialised form shared by the file and keyring stores.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretsRecord {
    refresh_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

impl From<&StoredSecrets> for SecretsRecord {
    fn from(s: &StoredSecrets) -> Self {
        SecretsRecord {
            refresh_token: s.refresh_token.expose_secret().to_string(),
            client_secret: s
                .client_secret
                .as_ref()
                .map(|c| c.expose_secret().to_string()),
        }
    }
}

impl From<SecretsRecord> for StoredSecrets {
    fn from(r: SecretsRecord) -> Self {
        StoredSecrets {
            refresh_token: r.refresh_token.into(),
            client_secret: r.client_secret.map(Into::into),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretStoreError {
    #[error("the OS keyring is not available: {reason}")]
    KeyringUnavailable { reason: String },
    #[error("the {store} token store did not answer within {secs} s")]
    Timeout { store: StoreKind, secs: u64 },
    #[error("the {store} token store is read-only")]
    ReadOnly { store: StoreKind },
    #[error("{path} is not a valid credentials file: {message}")]
    Corrupt {
        path: std::path::PathBuf,
        message: String,
    },
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("the token store failed: {0}")]
    Backend(String),
}

/// One backend. Implementations block; call them through `SecretVault`.
pub trait SecretStore: Send + Sync + 'static {
    fn kind(&self) -> StoreKind;
    /// False for stores that must never be written (the environment).
    fn writable(&self) -> bool {
        true
    }
    fn load(&self, profile: &str) -> Result<Option<StoredSecrets>, SecretStoreError>;
    fn save(&self, profile: &str, secrets: &StoredSecrets) -> Result<(), SecretStoreError>;
    /// Removes the profile's secrets; `Ok(false)` when there were none.
    fn delete(&self, profile: &str) -> Result<bool, SecretStoreError>;
    /// Fails when a `save` would fail (a locked keyring), so a sign-in is not wasted.
    fn check_writable(&self, _profile: &str) -> Result<(), SecretStoreError> {
        Ok(())
    }
}

/// A store reached over the network (Azure Key Vault). Its calls are async (not `Send`: csp
/// runs on one thread, and the HTTP layer's retry futures are not provably `Send`);
/// `SecretVault` bounds each with `timeout`.
#[async_trait::async_trait(?Send)]
pub trait AsyncSecretStore: Send + Sync + 'static {
    fn kind(&self) -> StoreKind;
    /// How long one call may take: a token from the credential, then the vault's answer.
    fn timeout(&self) -> Duration;
    async fn load(&self, profile: &str) -> Result<Option<StoredSecrets>, SecretStoreError>;
    async fn save(&self, profile: &str, secrets: &StoredSecrets) -> Result<(), SecretStoreError>;
    /// Removes the profile's secrets; `Ok(false)` when there were none.
    async fn delete(&self, profile: &str) -> Result<bool, SecretStoreError>;
    /// Fails when a `save` would fail, so a sign-in is not wasted.
    async fn check_writable(&self, profile: &str) -> Result<(), SecretStoreError>;
}

#[derive(Clone)]
enum Backend {
    Blocking(Arc<dyn SecretStore>),
    Async(Arc<dyn AsyncSecretStore>),
}

/// A store plus the profile it serves: a blocking store is called off the async threads, and
/// every call is bounded by a timeout.
#[derive(Clone)]
pub struct SecretVault {
    backend: Backend,
    profile: String,
    timeout: Duration,
}

impl fmt::Debug for SecretVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretVault")
            .field("store", &self.kind())
            .field("profile", &self.profile)
            .finish()
    }
}

impl SecretVault {
    pub fn new(store: Arc<dyn SecretStore>, profile: impl Into<String>) -> Self {
        SecretVault {
            backend: Backend::Blocking(store),
            profile: profile.into(),
            timeout: STORE_TIMEOUT,
        }
    }

    /// A vault over a store reached over the network, with that store's timeout.
    pub fn remote(store: Arc<dyn AsyncSecretStore>, profile: impl Into<String>) -> Self {
        SecretVault {
            timeout: store.timeout(),
            backend: Backend::Async(store),
            profile: profile.into(),
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn kind(&self) -> StoreKind {
        match &self.backend {
            Backend::Blocking(s) => s.kind(),
            Backend::Async(s) => s.kind(),
        }
    }

    pub fn writable(&self) -> bool {
        match &self.backend {
            Backend::Blocking(s) => s.writable(),
            Backend::Async(_) => true,
        }
    }

    pub async fn load(&self) -> Result<Option<StoredSecrets>, SecretStoreError> {
        match &self.backend {
            Backend::Blocking(b) => self.call(b, |store, profile| store.load(profile)).await,
            Backend::Async(s) => self.bounded(s.load(&self.profile)).await,
        }
    }

    pub async fn save(&self, secrets: StoredSecrets) -> Result<(), SecretStoreError> {
        if !self.writable() {
            return Err(SecretStoreError::ReadOnly { store: self.kind() });
        }
        match &self.backend {
            Backend::Blocking(b) => {
                self.call(b, move |store, profile| store.save(profile, &secrets))
                    .await
            }
            Backend::Async(s) => self.bounded(s.save(&self.profile, &secrets)).await,
        }
    }

    /// Makes sure the store can be read and written before a sign-in is stored in it.
    pub async fn check_writable(&self) -> Result<(), SecretStoreError> {
        if !self.writable() {
            return Err(SecretStoreError::ReadOnly { store: self.kind() });
        }
        match &self.backend {
            Backend::Blocking(b) => {
                self.call(b, |store, profile| {
                    store.load(profile)?;
                    store.check_writable(profile)
                })
                .await
            }
            Backend::Async(s) => self.bounded(s.check_writable(&self.profile)).await,
        }
    }

    pub async fn delete(&self) -> Result<bool, SecretStoreError> {
        match &self.backend {
            Backend::Blocking(b) => self.call(b, |store, profile| store.delete(profile)).await,
            Backend::Async(s) => self.bounded(s.delete(&self.profile)).await,
        }
    }

    /// An async store's call, bounded by the timeout.
    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, SecretStoreError>>,
    ) -> Result<T, SecretStoreError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| {
                Err(SecretStoreError::Timeout {
                    store: self.kind(),
                    secs: self.timeout.as_secs().max(1),
                })
            })
    }

    async fn call<T, F>(&self, store: &Arc<dyn SecretStore>, f: F) -> Result<T, SecretStoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn SecretStore, &str) -> Result<T, SecretStoreError> + Send + 'static,
    {
        let store = Arc::clone(store);
        let profile = self.profile.clone();
        let kind = store.kind();
        let task = tokio::task::spawn_blocking(move || f(store.as_ref(), &profile));
        match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(SecretStoreError::Backend(format!(
                "the store call panicked: {join}"
            ))),
            Err(_) => Err(SecretStoreError::Timeout {
                store: kind,
                secs: self.timeout.as_secs().max(1),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Hanging;
    impl SecretStore for Hanging {
        fn kind(&self) -> StoreKind {
            StoreKind::Keyring
        }
        fn load(&self, _: &str) -> Result<Option<StoredSecrets>, SecretStoreError> {
            std::thread::sleep(Duration::from_secs(3));
            Ok(None)
        }
        fn save(&self, _: &str, _: &StoredSecrets) -> Result<(), SecretStoreError> {
            Ok(())
        }
        fn delete(&self, _: &str) -> Result<bool, SecretStoreError> {
            Ok(false)
        }
    }

    #[tokio::test]
    async fn a_hung_store_times_out_instead_of_hanging() {
        let vault =
            SecretVault::new(Arc::new(Hanging), "default").with_timeout(Duration::from_millis(50));
        let err = vault.load().await.unwrap_err();
        assert!(matches!(
            err,
            SecretStoreError::Timeout {
                store: StoreKind::Keyring,
                ..
            }
        ));
    }

    struct HangingRemote;
    #[async_trait::async_trait(?Send)]
    impl AsyncSecretStore for HangingRemote {
        fn kind(&self) -> StoreKind {
            StoreKind::AzureKeyVault
        }
        fn timeout(&self) -> Duration {
            Duration::from_millis(50)
        }
        async fn load(&self, _: &str) -> Result<Option<StoredSecrets>, SecretStoreError> {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(None)
        }
        async fn save(&self, _: &str, _: &StoredSecrets) -> Result<(), SecretStoreError> {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(())
        }
        async fn delete(&self, _: &str) -> Result<bool, SecretStoreError> {
            Ok(false)
        }
        async fn check_writable(&self, _: &str) -> Result<(), SecretStoreError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_hung_remote_store_times_out_with_its_own_timeout() {
        let vault = SecretVault::remote(Arc::new(HangingRemote), "default");
        assert!(vault.writable());
        assert_eq!(vault.kind(), StoreKind::AzureKeyVault);
        for err in [
            vault.load().await.map(|_| ()).unwrap_err(),
            vault
                .save(StoredSecrets {
                    refresh_token: "rt".to_string().into(),
                    client_secret: None,
                })
                .await
                .unwrap_err(),
        ] {
            assert!(
                matches!(
                    err,
                    SecretStoreError::Timeout {
                        store: StoreKind::AzureKeyVault,
                        ..
                    }
                ),
                "{err:?}"
            );
        }
    }

    #[test]
    fn the_stores_a_user_may_name_parse_back() {
        for kind in StoreKind::USER_CHOICES {
            assert_eq!(StoreKind::parse_user_choice(kind.as_str()), Some(kind));
        }
        assert_eq!(StoreKind::parse_user_choice("environment"), None);
        assert_eq!(
            StoreKind::user_choices_text(),
            "`keyring`, `file` or `azure-key-vault`"
        );
    }

    #[test]
    fn debug_never_shows_secret_values() {
        let s = StoredSecrets {
            refresh_token: "rt-VALUE".to_string().into(),
            client_secret: Some("cs-VALUE".to_string().into()),
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("VALUE"), "{shown}");
    }

    #[tokio::test]
    async fn the_environment_store_is_never_written() {
        let vault = SecretVault::new(
            Arc::new(EnvStore::new(StoredSecrets {
                refresh_token: "rt".to_string().into(),
                client_secret: None,
            })),
            "default",
        );
        assert!(!vault.writable());
        let err = vault
            .save(StoredSecrets {
                refresh_token: "new".to_string().into(),
                client_secret: None,
            })
            .await
            .unwrap_err();
        assert!(matches!(err, SecretStoreError::ReadOnly { .. }));
        let kept = vault.load().await.unwrap().unwrap();
        assert_eq!(kept.refresh_token.expose_secret(), "rt");
    }
}
