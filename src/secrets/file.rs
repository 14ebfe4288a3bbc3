//! The file store, an explicit opt-in (`--insecure-storage`, `CSP_TOKEN_STORE=file`):
//! `<config-dir>/credentials.json`, one entry per profile, created with mode 0600 and replaced
//! atomically under its lock. A file found with looser permissions is used but warned about.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{SecretStore, SecretStoreError, SecretsRecord, StoreKind, StoredSecrets};
use crate::files;

const VERSION: u32 = 1;

pub struct FileStore {
    path: PathBuf,
}

#[derive(Serialize, Deserialize, Default)]
struct CredentialsFile {
    version: u32,
    #[serde(default)]
    profiles: BTreeMap<String, SecretsRecord>,
}

impl FileStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore { path: path.into() }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn read(&self) -> Result<Option<CredentialsFile>, SecretStoreError> {
        let Some(text) = files::read_optional(&self.path)? else {
            return Ok(None);
        };
        if files::is_too_open(&self.path) {
            tracing::warn!(
                "{} is readable by other users; run `chmod 600 {}`",
                self.path.display(),
                self.path.display()
            );
        }
        // Only the kind of error and its position: serde_json's own message can quote a value
        // (a token) when a type is wrong.
        let parsed: CredentialsFile =
            serde_json::from_str(&text).map_err(|e| SecretStoreError::Corrupt {
                path: self.path.clone(),
                message: format!(
                    "{} at line {} column {}",
                    match e.classify() {
                        serde_json::error::Category::Syntax => "malformed JSON",
                        serde_json::error::Category::Eof => "truncated JSON",
                        serde_json::error::Category::Data => "unexpected content",
                        serde_json::error::Category::Io => "unreadable",
                    },
                    e.line(),
                    e.column()
                ),
            })?;
        if parsed.version != VERSION {
            return Err(SecretStoreError::Corrupt {
                path: self.path.clone(),
                message: format!("unknown version {}", parsed.version),
            });
        }
        Ok(Some(parsed))
    }

    fn write(&self, file: &CredentialsFile) -> Result<(), SecretStoreError> {
        let bytes = serde_json::to_vec_pretty(file)
            .map_err(|e| SecretStoreError::Backend(e.to_string()))?;
        files::write_atomic(&self.path, &bytes, true)?;
        Ok(())
    }
}

impl SecretStore for FileStore {
    fn kind(&self) -> StoreKind {
        StoreKind::File
    }

    fn load(&self, profile: &str) -> Result<Option<StoredSecrets>, SecretStoreError> {
        Ok(self
            .read()?
            .and_then(|mut f| f.profiles.remove(profile))
            .map(StoredSecrets::from))
    }

    fn save(&self, profile: &str, secrets: &StoredSecrets) -> Result<(), SecretStoreError> {
        let _lock = files::lock_for(&self.path, files::LOCK_WAIT)?;
        let mut file = self.read()?.unwrap_or(CredentialsFile {
            version: VERSION,
            profiles: BTreeMap::new(),
        });
        file.profiles
            .insert(profile.to_string(), SecretsRecord::from(secrets));
        self.write(&file)
    }

    fn delete(&self, profile: &str) -> Result<bool, SecretStoreError> {
        let _lock = files::lock_for(&self.path, files::LOCK_WAIT)?;
        let Some(mut file) = self.read()? else {
            return Ok(false);
        };
        let removed = file.profiles.remove(profile).is_some();
        if file.profiles.is_empty() {
            files::remove_if_exists(&self.path)?;
        } else if removed {
            self.write(&file)?;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn secrets(rt: &str) -> StoredSecrets {
        StoredSecrets {
            refresh_token: rt.to_string().into(),
            client_secret: None,
        }
    }

    #[test]
    fn profiles_are_kept_apart_and_deleting_the_last_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("credentials.json"));
        store.save("a", &secrets("rt-a")).unwrap();
        store.save("b", &secrets("rt-b")).unwrap();
        assert_eq!(
            store
                .load("a")
                .unwrap()
                .unwrap()
                .refresh_token
                .expose_secret(),
            "rt-a"
        );
        assert!(store.delete("a").unwrap());
        assert!(!store.delete("a").unwrap());
        assert!(store.load("a").unwrap().is_none());
        assert!(store.path().exists());
        assert!(store.delete("b").unwrap());
        assert!(!store.path().exists());
    }

    #[test]
    fn a_wrongly_shaped_file_never_quotes_a_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        std::fs::write(&path, r#"{"version":1,"profiles":{"a":"SECRET-token"}}"#).unwrap();
        let err = FileStore::new(&path).load("a").unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn a_corrupt_file_is_reported_without_its_content_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        std::fs::write(
            &path,
            "{\"version\":1,\"profiles\":{\"a\":{\"refreshToken\":\"SECRET\"",
        )
        .unwrap();
        let store = FileStore::new(&path);
        let err = store.load("a").unwrap_err();
        assert!(matches!(err, SecretStoreError::Corrupt { .. }));
        assert!(!err.to_string().contains("SECRET"));
        assert!(store.save("a", &secrets("x")).is_err());
        assert!(std::fs::read_to_string(&path).unwrap().contains("SECRET"));
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_created_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("credentials.json"));
        store.save("a", &secrets("x")).unwrap();
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
