//! An in-memory store for tests and embedding: behaves like a real store for the life of the
//! value, persists nothing.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{SecretStore, SecretStoreError, StoreKind, StoredSecrets};

#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, StoredSecrets>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, StoredSecrets>> {
        // A panic while holding the lock cannot leave a half-written entry, so recover.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SecretStore for MemoryStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Memory
    }

    fn load(&self, profile: &str) -> Result<Option<StoredSecrets>, SecretStoreError> {
        Ok(self.entries().get(profile).cloned())
    }

    fn save(&self, profile: &str, secrets: &StoredSecrets) -> Result<(), SecretStoreError> {
        self.entries().insert(profile.to_string(), secrets.clone());
        Ok(())
    }

    fn delete(&self, profile: &str) -> Result<bool, SecretStoreError> {
        Ok(self.entries().remove(profile).is_some())
    }
}
