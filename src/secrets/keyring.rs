//! The OS keyring store (the default). This build has no keyring backend yet, so it refuses
//! plainly, naming the alternatives, rather than silently keeping secrets anywhere else.

use super::{SecretStore, SecretStoreError, StoreKind, StoredSecrets};

pub struct KeyringStore;

impl KeyringStore {
    pub fn new() -> Self {
        KeyringStore
    }

    fn unavailable() -> SecretStoreError {
        SecretStoreError::KeyringUnavailable {
            reason: "this build of csp has no OS keyring support".into(),
        }
    }
}

impl Default for KeyringStore {
    fn default() -> Self {
        Self::new()
    }
}

impl SecretStore for KeyringStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }

    fn load(&self, _profile: &str) -> Result<Option<StoredSecrets>, SecretStoreError> {
        Err(Self::unavailable())
    }

    fn save(&self, _profile: &str, _secrets: &StoredSecrets) -> Result<(), SecretStoreError> {
        Err(Self::unavailable())
    }

    fn delete(&self, _profile: &str) -> Result<bool, SecretStoreError> {
        Err(Self::unavailable())
    }
}
