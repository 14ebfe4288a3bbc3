//! `config.toml`: the profiles and their non-secret settings. Reads tolerate keys written by
//! newer versions; writes go through `toml_edit` so a user's comments and unknown keys survive,
//! and happen atomically under the file's lock. Never holds a secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml_edit::{DocumentMut, Item, Table, value};

use crate::cloud::Cloud;
use crate::files::{self, FileError};
use crate::secrets::StoreKind;

/// The format version this build writes and understands.
pub const CONFIG_VERSION: i64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path} has version {found}; this csp understands version {CONFIG_VERSION}")]
    UnknownVersion { path: PathBuf, found: i64 },
    #[error(transparent)]
    File(#[from] FileError),
}

/// The parsed file: profiles by name.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigFile {
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileConfig>,
}

/// One profile's non-secret facts.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ProfileConfig {
    /// The partner's own app registration.
    pub client_id: Option<String>,
    /// The tenant the user asked for at sign-in (id or domain), reused by `authorize`.
    pub tenant: Option<String>,
    /// The partner tenant id read from the sign-in.
    pub tenant_id: Option<String>,
    /// Who signed in (display only).
    pub user: Option<String>,
    /// The app the stored sign-in was issued to (a refresh token works only with its app).
    pub sign_in_client_id: Option<String>,
    pub cloud: Option<Cloud>,
    /// Where the refresh token lives; remembered so `--insecure-storage` once is enough.
    pub token_store: Option<StoreKind>,
    /// The Azure Key Vault that holds the sign-in (`token_store = "azure-key-vault"`).
    pub key_vault_url: Option<String>,
    /// The secret in it (default `csp-<profile>`).
    pub key_vault_secret: Option<String>,
    /// True when the app is a confidential client whose secret is in the token store.
    pub confidential: Option<bool>,
    /// When `csp setup` last created or changed the app (RFC 3339): right after, Microsoft may
    /// not know the app everywhere yet.
    pub setup_at: Option<String>,
    /// What `csp consent` grants (`[profiles.NAME.consent]`).
    pub consent: Option<ConsentConfig>,
    /// The partner's own GDAP templates (`[profiles.NAME.gdap.templates.TEMPLATE]`).
    pub gdap: Option<GdapConfig>,
}

/// `[profiles.NAME.gdap]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct GdapConfig {
    #[serde(default)]
    pub templates: BTreeMap<String, TemplateConfig>,
}

/// `[profiles.NAME.gdap.templates.TEMPLATE]`: roles by name or template id, a duration
/// (`P730D`), auto-extend, and the partner security group (name or object id) per role.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct TemplateConfig {
    #[serde(default)]
    pub roles: Vec<String>,
    pub duration: Option<String>,
    pub auto_extend: Option<bool>,
    #[serde(default)]
    pub groups: BTreeMap<String, String>,
}

/// `[profiles.NAME.consent]`: the CPV app and the delegated scopes it is granted per resource.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ConsentConfig {
    /// Must be the sign-in client id: Partner Center consents only the calling app.
    pub application_id: Option<String>,
    pub display_name: Option<String>,
    #[serde(default)]
    pub grants: Vec<GrantConfig>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct GrantConfig {
    /// An alias (graph, exchange, partner-center, arm) or an enterprise application id.
    pub resource: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl ConfigFile {
    /// Loads `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        match files::read_optional(path)? {
            None => Ok(ConfigFile::default()),
            Some(text) => parse(path, &text).map(|(cfg, _)| cfg),
        }
    }

    pub fn profile(&self, name: &str) -> Option<&ProfileConfig> {
        self.profiles.get(name)
    }
}

fn parse(path: &Path, text: &str) -> Result<(ConfigFile, DocumentMut), ConfigError> {
    let parse_err = |message: String| ConfigError::Parse {
        path: path.to_path_buf(),
        message,
    };
    let doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| parse_err(e.to_string().trim_end().to_string()))?;
    let cfg: ConfigFile = toml_edit::de::from_document(doc.clone())
        .map_err(|e| parse_err(e.to_string().trim_end().to_string()))?;
    if let Some(v) = cfg.version
        && v != CONFIG_VERSION
    {
        return Err(ConfigError::UnknownVersion {
            path: path.to_path_buf(),
            found: v,
        });
    }
    Ok((cfg, doc))
}

/// A change to one profile's keys: `Some` sets, `None` removes.
#[derive(Debug, Default, Clone)]
pub struct ProfileUpdate {
    pub set: Vec<(&'static str, String)>,
    pub set_bool: Vec<(&'static str, bool)>,
    pub remove: Vec<&'static str>,
}

/// Applies `update` to profile `name` in the file at `path`: under the lock, re-reading the
/// file so a concurrent writer's changes are kept, then writing atomically. A file that does
/// not parse is reported and left untouched. Blocks the thread while another csp holds the
/// lock; async code uses [`update_profile_async`], which lets Ctrl-C be heard meanwhile.
pub fn update_profile(path: &Path, name: &str, update: &ProfileUpdate) -> Result<(), ConfigError> {
    let _lock = files::lock_for(path, files::LOCK_WAIT)?;
    apply_update(path, name, update)
}

/// [`update_profile`], waiting for the lock without blocking the runtime.
pub async fn update_profile_async(
    path: &Path,
    name: &str,
    update: &ProfileUpdate,
) -> Result<(), ConfigError> {
    let _lock = files::lock_for_async(path, files::LOCK_WAIT).await?;
    apply_update(path, name, update)
}

/// The body of a profile update; the caller holds the file's lock.
fn apply_update(path: &Path, name: &str, update: &ProfileUpdate) -> Result<(), ConfigError> {
    let mut doc = match files::read_optional(path)? {
        Some(text) => parse(path, &text)?.1,
        None => DocumentMut::new(),
    };
    if !doc.contains_key("version") {
        doc.insert("version", value(CONFIG_VERSION));
    }
    let profiles = doc
        .entry("profiles")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| ConfigError::Parse {
            path: path.to_path_buf(),
            message: "`profiles` must be a table".into(),
        })?;
    let profile = profiles
        .entry(name)
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
        .ok_or_else(|| ConfigError::Parse {
            path: path.to_path_buf(),
            message: format!("`profiles.{name}` must be a table"),
        })?;
    for (k, v) in &update.set {
        profile.insert(k, value(v.as_str()));
    }
    for (k, v) in &update.set_bool {
        profile.insert(k, value(*v));
    }
    for k in &update.remove {
        profile.remove(k);
    }
    files::write_atomic(path, doc.to_string().as_bytes(), false)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ConfigFile::load(&dir.path().join("config.toml")).unwrap();
        assert!(cfg.profiles.is_empty());
    }

    #[test]
    fn update_keeps_comments_and_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "# my notes\n[profiles.default]\nclient_id = \"a\" # the app\nfuture_key = 3\n",
        )
        .unwrap();
        update_profile(
            &path,
            "default",
            &ProfileUpdate {
                set: vec![("user", "u@contoso.com".into())],
                ..Default::default()
            },
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# my notes"));
        assert!(text.contains("# the app"));
        assert!(text.contains("future_key = 3"));
        let cfg = ConfigFile::load(&path).unwrap();
        let p = cfg.profile("default").unwrap();
        assert_eq!(p.client_id.as_deref(), Some("a"));
        assert_eq!(p.user.as_deref(), Some("u@contoso.com"));
    }

    #[test]
    fn a_broken_file_is_reported_with_its_line_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let broken = "[profiles.default]\nclient_id = \n";
        std::fs::write(&path, broken).unwrap();
        let err = ConfigFile::load(&path).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(update_profile(&path, "default", &ProfileUpdate::default()).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    }

    #[tokio::test]
    async fn the_async_update_waits_for_the_lock_then_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let held = files::lock_for(&path, files::LOCK_WAIT).unwrap();
        let other = tokio::spawn(async move {
            tokio::task::yield_now().await;
            drop(held);
        });
        update_profile_async(
            &path,
            "default",
            &ProfileUpdate {
                set: vec![("user", "u@contoso.com".into())],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        other.await.unwrap();
        let cfg = ConfigFile::load(&path).unwrap();
        assert_eq!(
            cfg.profile("default").unwrap().user.as_deref(),
            Some("u@contoso.com")
        );
        let broken = "[profiles.default]\nclient_id = \n";
        std::fs::write(&path, broken).unwrap();
        assert!(
            update_profile_async(&path, "default", &ProfileUpdate::default())
                .await
                .is_err()
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    }

    #[test]
    fn an_unknown_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "version = 9\n").unwrap();
        assert!(matches!(
            ConfigFile::load(&path),
            Err(ConfigError::UnknownVersion { found: 9, .. })
        ));
    }
}
