//! The environment store: the sign-in CI passes in `CSP_REFRESH_TOKEN` (with `CSP_CLIENT_ID`,
//! `CSP_CLIENT_SECRET`, `CSP_TENANT`). Read-only: nothing is ever written anywhere, and a
//! rotated refresh token simply lives until the process ends.

use super::{SecretStore, SecretStoreError, StoreKind, StoredSecrets};

pub struct EnvStore {
    secrets: StoredSecrets,
}

impl EnvStore {
    pub fn new(secrets: StoredSecrets) -> Self {
        EnvStore { secrets }
    }
}

impl SecretStore for EnvStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Environment
    }

    fn writable(&self) -> bool {
        false
    }

    fn load(&self, _profile: &str) -> Result<Option<StoredSecrets>, SecretStoreError> {
        Ok(Some(self.secrets.clone()))
    }

    fn save(&self, _profile: &str, _secrets: &StoredSecrets) -> Result<(), SecretStoreError> {
        Err(SecretStoreError::ReadOnly {
            store: StoreKind::Environment,
        })
    }

    fn delete(&self, _profile: &str) -> Result<bool, SecretStoreError> {
        Err(SecretStoreError::ReadOnly {
            store: StoreKind::Environment,
        })
    }
}
