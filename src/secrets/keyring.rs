//! The OS keyring store, the default: macOS Keychain, Windows Credential Manager, the Secret
//! Service over D-Bus on Linux (no keyutils fallback: it forgets at reboot). Service `csp`,
//! account = the profile name. A value longer than the platform allows (Credential Manager:
//! 2,560 bytes) is split into numbered entries behind a small header. A missing or locked
//! keyring is reported, never replaced by a file.

use std::sync::{Arc, OnceLock};

use keyring_core::{CredentialStore, Entry, Error as KeyringError};

use super::{SecretStore, SecretStoreError, SecretsRecord, StoreKind, StoredSecrets};

/// The keyring service name every entry is filed under.
pub const SERVICE: &str = "csp";

/// Marks a main entry whose value lives in `<account>#1 … #n`.
const CHUNK_HEADER: &str = "csp-chunks:1:";

/// Credential Manager caps one credential's blob at 2,560 bytes.
#[cfg(target_os = "windows")]
const PLATFORM_LIMIT: usize = 2560;
#[cfg(not(target_os = "windows"))]
const PLATFORM_LIMIT: usize = usize::MAX;

type StoreFactory = fn() -> keyring_core::Result<Arc<CredentialStore>>;

pub struct KeyringStore {
    factory: StoreFactory,
    store: OnceLock<Result<Arc<CredentialStore>, String>>,
    chunk_limit: usize,
}

impl KeyringStore {
    /// The operating system's keyring, connected on first use.
    pub fn new() -> Self {
        KeyringStore {
            factory: platform_store,
            store: OnceLock::new(),
            chunk_limit: PLATFORM_LIMIT,
        }
    }

    /// A given keyring-core store (tests use keyring-core's mock), splitting values longer than
    /// `chunk_limit` bytes.
    pub fn with_store(store: Arc<CredentialStore>, chunk_limit: usize) -> Self {
        let cell = OnceLock::new();
        let _ = cell.set(Ok(store));
        KeyringStore {
            factory: platform_store,
            store: cell,
            chunk_limit: chunk_limit.max(CHUNK_HEADER.len() + 8),
        }
    }

    fn entry(&self, account: &str) -> Result<Entry, SecretStoreError> {
        let store = self
            .store
            .get_or_init(|| (self.factory)().map_err(|e| describe(&e)))
            .as_ref()
            .map_err(|reason| SecretStoreError::KeyringUnavailable {
                reason: reason.clone(),
            })?;
        Entry::new_in_store(store, SERVICE, account).map_err(map_error)
    }

    fn get(&self, account: &str) -> Result<Option<Vec<u8>>, SecretStoreError> {
        match self.entry(account)?.get_secret() {
            Ok(v) => Ok(Some(v)),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(e) => Err(map_error(e)),
        }
    }

    fn set(&self, account: &str, value: &[u8]) -> Result<(), SecretStoreError> {
        self.entry(account)?.set_secret(value).map_err(map_error)
    }

    fn remove(&self, account: &str) -> Result<bool, SecretStoreError> {
        match self.entry(account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(KeyringError::NoEntry) => Ok(false),
            Err(e) => Err(map_error(e)),
        }
    }

    /// How many chunk entries a main entry's value says it has (0 for a plain value).
    fn chunk_count(value: &[u8]) -> Option<usize> {
        std::str::from_utf8(value)
            .ok()?
            .strip_prefix(CHUNK_HEADER)?
            .trim()
            .parse()
            .ok()
    }

    fn remove_chunks(&self, profile: &str, from: usize, to: usize) -> Result<(), SecretStoreError> {
        for i in from..=to {
            self.remove(&chunk_account(profile, i))?;
        }
        Ok(())
    }
}

impl Default for KeyringStore {
    fn default() -> Self {
        Self::new()
    }
}

fn chunk_account(profile: &str, i: usize) -> String {
    format!("{profile}#{i}")
}

impl SecretStore for KeyringStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }

    fn load(&self, profile: &str) -> Result<Option<StoredSecrets>, SecretStoreError> {
        let Some(main) = self.get(profile)? else {
            return Ok(None);
        };
        let bytes = match Self::chunk_count(&main) {
            None => main,
            Some(n) => {
                let mut all = Vec::new();
                for i in 1..=n {
                    let part = self.get(&chunk_account(profile, i))?.ok_or_else(|| {
                        SecretStoreError::Backend(format!(
                            "the keyring entry of profile `{profile}` is incomplete (part {i} of {n} is missing)"
                        ))
                    })?;
                    all.extend_from_slice(&part);
                }
                all
            }
        };
        // The message names the position only; the bytes are secret.
        let record: SecretsRecord = serde_json::from_slice(&bytes).map_err(|e| {
            SecretStoreError::Backend(format!(
                "the keyring entry of profile `{profile}` is not in csp's format (column {})",
                e.column()
            ))
        })?;
        Ok(Some(record.into()))
    }

    fn save(&self, profile: &str, secrets: &StoredSecrets) -> Result<(), SecretStoreError> {
        let bytes = serde_json::to_vec(&SecretsRecord::from(secrets))
            .map_err(|e| SecretStoreError::Backend(e.to_string()))?;
        let old_chunks = self
            .get(profile)?
            .and_then(|v| Self::chunk_count(&v))
            .unwrap_or(0);
        if bytes.len() <= self.chunk_limit {
            self.set(profile, &bytes)?;
            return self.remove_chunks(profile, 1, old_chunks);
        }
        let parts: Vec<&[u8]> = bytes.chunks(self.chunk_limit).collect();
        // Parts first, header last: a reader never finds a header without its parts.
        for (i, part) in parts.iter().enumerate() {
            self.set(&chunk_account(profile, i + 1), part)?;
        }
        self.set(profile, format!("{CHUNK_HEADER}{}", parts.len()).as_bytes())?;
        self.remove_chunks(profile, parts.len() + 1, old_chunks)
    }

    /// Writes and removes a probe entry: a locked keyring refuses it (or, on a desktop, asks
    /// the user to unlock it), before the user has gone through a sign-in.
    fn check_writable(&self, profile: &str) -> Result<(), SecretStoreError> {
        let probe = format!("{profile}#probe");
        self.set(&probe, b"probe")?;
        self.remove(&probe).map(|_| ())
    }

    fn delete(&self, profile: &str) -> Result<bool, SecretStoreError> {
        let chunks = self
            .get(profile)?
            .and_then(|v| Self::chunk_count(&v))
            .unwrap_or(0);
        self.remove_chunks(profile, 1, chunks)?;
        self.remove(profile)
    }
}

/// Turns keyring errors into ours. Never formats values that may hold secret bytes.
fn map_error(e: KeyringError) -> SecretStoreError {
    match e {
        KeyringError::NoStorageAccess(_)
        | KeyringError::PlatformFailure(_)
        | KeyringError::NoDefaultStore
        | KeyringError::NotSupportedByStore(_) => SecretStoreError::KeyringUnavailable {
            reason: describe(&e),
        },
        other => SecretStoreError::Backend(describe(&other)),
    }
}

fn describe(e: &KeyringError) -> String {
    match e {
        KeyringError::NoStorageAccess(inner) => {
            format!("the keyring is locked or refused access ({inner})")
        }
        KeyringError::PlatformFailure(inner) => format!("no keyring service answered ({inner})"),
        KeyringError::NoDefaultStore => "no keyring is configured".into(),
        KeyringError::NotSupportedByStore(what) => format!("the keyring does not support {what}"),
        KeyringError::BadEncoding(_) | KeyringError::BadDataFormat(_, _) => {
            "the keyring holds a value csp cannot read".into()
        }
        KeyringError::TooLong(attr, limit) => {
            format!("the keyring refused a value: {attr} is limited to {limit}")
        }
        KeyringError::Invalid(attr, reason) => format!("invalid keyring {attr}: {reason}"),
        KeyringError::Ambiguous(entries) => {
            format!(
                "{} keyring entries match; remove the extra ones",
                entries.len()
            )
        }
        other => format!("keyring error: {other:?}")
            .chars()
            .take(200)
            .collect(),
    }
}

#[cfg(target_os = "linux")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(zbus_secret_service_keyring_store::Store::new()?)
}

#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(target_os = "windows")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(windows_native_keyring_store::Store::new()?)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Err(KeyringError::NotSupportedByStore(
        "this operating system".into(),
    ))
}

#[cfg(test)]
mod tests {
    use keyring_core::mock;
    use secrecy::ExposeSecret;

    use super::*;

    fn mock_store() -> Arc<CredentialStore> {
        mock::Store::new().unwrap()
    }

    fn secrets(rt: &str, cs: Option<&str>) -> StoredSecrets {
        StoredSecrets {
            refresh_token: rt.to_string().into(),
            client_secret: cs.map(|s| s.to_string().into()),
        }
    }

    fn inject(store: &Arc<CredentialStore>, account: &str, err: KeyringError) {
        let entry = Entry::new_in_store(store, SERVICE, account).unwrap();
        entry
            .as_any()
            .downcast_ref::<mock::Cred>()
            .unwrap()
            .set_error(err);
    }

    #[test]
    fn a_value_saved_is_read_by_a_new_store_handle_and_deleted() {
        let backend = mock_store();
        KeyringStore::with_store(Arc::clone(&backend), usize::MAX)
            .save("default", &secrets("rt-1", Some("cs")))
            .unwrap();
        let other = KeyringStore::with_store(Arc::clone(&backend), usize::MAX);
        let back = other.load("default").unwrap().unwrap();
        assert_eq!(back.refresh_token.expose_secret(), "rt-1");
        assert_eq!(back.client_secret.unwrap().expose_secret(), "cs");
        assert!(other.load("other-profile").unwrap().is_none());
        assert!(other.delete("default").unwrap());
        assert!(!other.delete("default").unwrap());
        assert!(other.load("default").unwrap().is_none());
    }

    #[test]
    fn long_values_are_split_into_numbered_entries_and_joined_back() {
        let backend = mock_store();
        let store = KeyringStore::with_store(Arc::clone(&backend), 100);
        let long = "r".repeat(1_600);
        store.save("default", &secrets(&long, None)).unwrap();
        let main = Entry::new_in_store(&backend, SERVICE, "default")
            .unwrap()
            .get_secret()
            .unwrap();
        assert!(main.starts_with(CHUNK_HEADER.as_bytes()));
        let n = KeyringStore::chunk_count(&main).unwrap();
        assert!(n >= 16);
        for i in 1..=n {
            let part = Entry::new_in_store(&backend, SERVICE, &chunk_account("default", i))
                .unwrap()
                .get_secret()
                .unwrap();
            assert!(part.len() <= 100);
        }
        assert_eq!(
            store
                .load("default")
                .unwrap()
                .unwrap()
                .refresh_token
                .expose_secret(),
            long
        );
        // A shorter value replaces the chunks, and no stale part is left behind.
        store.save("default", &secrets("short", None)).unwrap();
        assert_eq!(
            store
                .load("default")
                .unwrap()
                .unwrap()
                .refresh_token
                .expose_secret(),
            "short"
        );
        let stale = Entry::new_in_store(&backend, SERVICE, &chunk_account("default", 1))
            .unwrap()
            .get_secret();
        assert!(matches!(stale, Err(KeyringError::NoEntry)));
        store.save("default", &secrets(&long, None)).unwrap();
        assert!(store.delete("default").unwrap());
        let stale = Entry::new_in_store(&backend, SERVICE, &chunk_account("default", 2))
            .unwrap()
            .get_secret();
        assert!(matches!(stale, Err(KeyringError::NoEntry)));
    }

    #[test]
    fn a_missing_part_is_reported_not_misread() {
        let backend = mock_store();
        let store = KeyringStore::with_store(Arc::clone(&backend), 100);
        store
            .save("default", &secrets(&"x".repeat(500), None))
            .unwrap();
        Entry::new_in_store(&backend, SERVICE, &chunk_account("default", 2))
            .unwrap()
            .delete_credential()
            .unwrap();
        let err = store.load("default").unwrap_err();
        assert!(err.to_string().contains("incomplete"), "{err}");
    }

    #[test]
    fn a_locked_keyring_is_unavailable_with_its_reason() {
        let backend = mock_store();
        let store = KeyringStore::with_store(Arc::clone(&backend), usize::MAX);
        inject(
            &backend,
            "default",
            KeyringError::NoStorageAccess("collection is locked".into()),
        );
        let err = store.load("default").unwrap_err();
        assert!(
            matches!(err, SecretStoreError::KeyringUnavailable { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("locked"), "{err}");
    }

    #[test]
    fn no_keyring_service_is_unavailable() {
        let backend = mock_store();
        let store = KeyringStore::with_store(Arc::clone(&backend), usize::MAX);
        inject(
            &backend,
            "default",
            KeyringError::PlatformFailure("no session bus".into()),
        );
        let err = store.save("default", &secrets("rt", None)).unwrap_err();
        assert!(
            matches!(err, SecretStoreError::KeyringUnavailable { .. }),
            "{err:?}"
        );
        let failing = KeyringStore {
            factory: || Err(KeyringError::PlatformFailure("no D-Bus session bus".into())),
            store: OnceLock::new(),
            chunk_limit: usize::MAX,
        };
        let err = failing.load("default").unwrap_err();
        assert!(err.to_string().contains("no D-Bus session bus"), "{err}");
    }

    #[test]
    fn a_foreign_value_is_reported_without_its_bytes() {
        let backend = mock_store();
        Entry::new_in_store(&backend, SERVICE, "default")
            .unwrap()
            .set_secret(b"SECRET-not-json")
            .unwrap();
        let err = KeyringStore::with_store(backend, usize::MAX)
            .load("default")
            .unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
    }
}
