//! The client → customer tenant mappings (`mappings.json`): load, validate, change under the
//! file's lock, save atomically. A file that does not parse, has an unknown version or the
//! wrong shape is reported with its path and line and never overwritten. Domain → tenant
//! resolution and customer checks live in services, not here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::files::{self, FileError};
use crate::ids;

pub const VERSION: u32 = 1;

/// One mapping, as `map list` shows it and the file stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mapping {
    /// The partner's own name for the client.
    pub customer: String,
    pub tenant_id: String,
    /// The domain the mapping was made by.
    pub domain: String,
    /// The customer's company name, as Microsoft knows it.
    pub name: String,
    /// RFC 3339, UTC.
    pub mapped_at: String,
    /// Keys written by a newer csp, kept as they are.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize)]
struct MappingFile {
    version: u32,
    mappings: Vec<Mapping>,
    #[serde(flatten)]
    extra: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{path} is not a valid mappings file: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path} has version {found}; this csp understands version {VERSION}")]
    UnknownVersion { path: PathBuf, found: u32 },
    #[error(transparent)]
    File(#[from] FileError),
}

/// Why a client name is refused.
pub fn validate_client(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("the client name is empty".into());
    }
    if name.chars().count() > 128 {
        return Err("the client name is longer than 128 characters".into());
    }
    if name.chars().any(char::is_control) {
        return Err("the client name contains control characters".into());
    }
    Ok(name.to_string())
}

/// Why a domain is refused: the one domain validation, `ids::parse_domain`.
pub use crate::ids::parse_domain as validate_domain;

/// The mappings in memory, sorted by client.
#[derive(Debug, Default, Clone)]
pub struct Mappings {
    list: Vec<Mapping>,
    extra: BTreeMap<String, serde_json::Value>,
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Conflict {
    /// The client is mapped to another tenant.
    ClientMapped { existing: Box<Mapping> },
    /// The tenant is mapped to another client.
    TenantMapped { existing: Box<Mapping> },
}

/// What `upsert` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Added,
    Unchanged,
    Replaced,
}

impl Mappings {
    pub fn all(&self) -> &[Mapping] {
        &self.list
    }

    /// The mapping of a client, matched without regard to case.
    pub fn client(&self, name: &str) -> Option<&Mapping> {
        let key = name.trim().to_lowercase();
        self.list.iter().find(|m| m.customer.to_lowercase() == key)
    }

    pub fn tenant(&self, tenant_id: &str) -> Option<&Mapping> {
        self.list
            .iter()
            .find(|m| m.tenant_id.eq_ignore_ascii_case(tenant_id))
    }

    /// Adds or updates a mapping. Without `replace`, a client mapped to another tenant or a
    /// tenant mapped to another client is refused; with it, those mappings are replaced.
    pub fn upsert(&mut self, new: Mapping, replace: bool) -> Result<Upserted, Conflict> {
        let same_client = self.client(&new.customer).cloned();
        let same_tenant = self.tenant(&new.tenant_id).cloned();
        if let Some(existing) = &same_client
            && existing.tenant_id.eq_ignore_ascii_case(&new.tenant_id)
            && same_tenant.as_ref() == Some(existing)
        {
            // Same client, same tenant: keep the original date unless the details changed.
            if existing.customer == new.customer
                && existing.domain == new.domain
                && existing.name == new.name
            {
                return Ok(Upserted::Unchanged);
            }
            self.remove(&existing.customer);
            self.insert(new);
            return Ok(Upserted::Replaced);
        }
        if !replace {
            if let Some(existing) = same_client {
                return Err(Conflict::ClientMapped {
                    existing: Box::new(existing),
                });
            }
            if let Some(existing) = same_tenant {
                return Err(Conflict::TenantMapped {
                    existing: Box::new(existing),
                });
            }
        }
        let replaced = same_client.is_some() || same_tenant.is_some();
        if let Some(m) = same_client {
            self.remove(&m.customer);
        }
        if let Some(m) = same_tenant {
            self.remove(&m.customer);
        }
        self.insert(new);
        Ok(if replaced {
            Upserted::Replaced
        } else {
            Upserted::Added
        })
    }

    /// Removes a client's mapping; `None` when it had none.
    pub fn remove(&mut self, client: &str) -> Option<Mapping> {
        let key = client.trim().to_lowercase();
        let i = self
            .list
            .iter()
            .position(|m| m.customer.to_lowercase() == key)?;
        Some(self.list.remove(i))
    }

    fn insert(&mut self, m: Mapping) {
        self.list.push(m);
        self.list
            .sort_by_cached_key(|m| (m.customer.to_lowercase(), m.customer.clone()));
    }
}

/// The mapping file at a path.
#[derive(Debug, Clone)]
pub struct MappingStore {
    path: PathBuf,
}

impl MappingStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        MappingStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The mappings; a missing file holds none.
    pub fn load(&self) -> Result<Mappings, MappingError> {
        match files::read_optional(&self.path)? {
            None => Ok(Mappings::default()),
            Some(text) => self.parse(&text),
        }
    }

    fn invalid(&self, message: impl Into<String>) -> MappingError {
        MappingError::Invalid {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    fn parse(&self, text: &str) -> Result<Mappings, MappingError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // The version first, so a newer file is named as such rather than as malformed.
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text)
            && let Some(found) = v.get("version").and_then(serde_json::Value::as_u64)
            && found != u64::from(VERSION)
        {
            return Err(MappingError::UnknownVersion {
                path: self.path.clone(),
                found: found as u32,
            });
        }
        let file: MappingFile = serde_json::from_str(text).map_err(|e| {
            self.invalid(format!(
                "line {} column {}: {}",
                e.line(),
                e.column(),
                strip_position(&e)
            ))
        })?;
        let mut seen_clients = std::collections::HashSet::new();
        let mut seen_tenants = std::collections::HashSet::new();
        for (i, m) in file.mappings.iter().enumerate() {
            let at = |what: String| {
                self.invalid(format!("mapping {} ({:?}): {what}", i + 1, m.customer))
            };
            validate_client(&m.customer).map_err(at)?;
            if ids::parse_guid(&m.tenant_id).is_none() {
                return Err(at(format!("tenantId {:?} is not a tenant id", m.tenant_id)));
            }
            validate_domain(&m.domain).map_err(at)?;
            if !seen_clients.insert(m.customer.to_lowercase()) {
                return Err(at("the client is mapped twice".into()));
            }
            if !seen_tenants.insert(m.tenant_id.to_lowercase()) {
                return Err(at("the tenant is mapped to two clients".into()));
            }
        }
        let mut mappings = Mappings {
            list: Vec::new(),
            extra: file.extra,
        };
        for m in file.mappings {
            mappings.insert(m);
        }
        Ok(mappings)
    }

    /// Changes the mappings under the file's lock: re-reads the file, applies `change`, and
    /// writes the result atomically if it changed. A file that does not parse is left alone.
    /// While another csp holds the lock, the wait yields to the runtime (Ctrl-C is heard).
    pub async fn update<T, E>(
        &self,
        change: impl FnOnce(&mut Mappings) -> Result<T, E>,
    ) -> Result<Result<T, E>, MappingError> {
        let _lock = files::lock_for_async(&self.path, files::LOCK_WAIT).await?;
        let mut mappings = self.load()?;
        let before = mappings.list.clone();
        let outcome = change(&mut mappings);
        if mappings.list != before {
            self.save(&mappings)?;
        }
        Ok(outcome)
    }

    fn save(&self, mappings: &Mappings) -> Result<(), MappingError> {
        let file = MappingFile {
            version: VERSION,
            mappings: mappings.list.clone(),
            extra: mappings.extra.clone(),
        };
        let mut bytes =
            serde_json::to_vec_pretty(&file).map_err(|e| self.invalid(e.to_string()))?;
        bytes.push(b'\n');
        files::write_atomic(&self.path, &bytes, false)?;
        Ok(())
    }
}

/// serde_json's message without its trailing " at line X column Y", which is said separately.
fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(client: &str, tenant: &str) -> Mapping {
        Mapping {
            customer: client.into(),
            tenant_id: tenant.into(),
            domain: "contoso.com".into(),
            name: "Contoso".into(),
            mapped_at: "2026-11-27T10:00:00Z".into(),
            extra: BTreeMap::new(),
        }
    }

    const T1: &str = "11111111-0000-0000-0000-000000000001";
    const T2: &str = "11111111-0000-0000-0000-000000000002";

    #[test]
    fn clients_and_domains_are_validated() {
        assert_eq!(validate_client("  Contoso  ").unwrap(), "Contoso");
        assert!(validate_client("   ").is_err());
        assert!(validate_client(&"x".repeat(129)).is_err());
        assert!(validate_client("a\u{7}b").is_err());
        assert_eq!(validate_domain("Contoso.COM.").unwrap(), "contoso.com");
        assert_eq!(
            validate_domain("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        for bad in ["contoso", "-a.com", "a_b.com", "a..com", "", "exa mple.com"] {
            assert!(validate_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn conflicts_are_refused_without_replace() {
        let mut ms = Mappings::default();
        assert_eq!(ms.upsert(m("Contoso", T1), false), Ok(Upserted::Added));
        assert_eq!(ms.upsert(m("contoso", T1), false), Ok(Upserted::Replaced));
        assert_eq!(ms.upsert(m("contoso", T1), false), Ok(Upserted::Unchanged));
        assert!(matches!(
            ms.upsert(m("Contoso", T2), false),
            Err(Conflict::ClientMapped { .. })
        ));
        assert!(matches!(
            ms.upsert(m("Fabrikam", T1), false),
            Err(Conflict::TenantMapped { .. })
        ));
        assert_eq!(ms.upsert(m("Fabrikam", T1), true), Ok(Upserted::Replaced));
        assert_eq!(ms.all().len(), 1);
        assert_eq!(ms.all()[0].customer, "Fabrikam");
    }

    #[tokio::test]
    async fn the_file_round_trips_and_keeps_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mappings.json");
        std::fs::write(
            &path,
            format!(r#"{{"version":1,"owner":"ops","mappings":[{{"customer":"B","tenantId":"{T2}","domain":"b.com","name":"B","mappedAt":"x","note":"keep"}}]}}"#),
        )
        .unwrap();
        let store = MappingStore::new(&path);
        store
            .update(|ms| ms.upsert(m("A", T1), false))
            .await
            .unwrap()
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"owner\": \"ops\""), "{text}");
        assert!(text.contains("\"note\": \"keep\""), "{text}");
        let names: Vec<_> = store
            .load()
            .unwrap()
            .all()
            .iter()
            .map(|m| m.customer.clone())
            .collect();
        assert_eq!(names, ["A", "B"]);
    }

    #[tokio::test]
    async fn bad_files_are_reported_with_their_line_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mappings.json");
        let store = MappingStore::new(&path);
        for (text, expect) in [
            (
                "{\"version\":1,\n\"mappings\": [\n{\"customer\": }",
                "line 3",
            ),
            ("{\"version\":7,\"mappings\":[]}", "version 7"),
            ("{\"version\":1,\"mappings\":{}}", "line 1"),
            (
                "{\"version\":1,\"mappings\":[{\"customer\":\"A\",\"tenantId\":\"nope\",\"domain\":\"a.com\",\"name\":\"A\",\"mappedAt\":\"x\"}]}",
                "not a tenant id",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = store.load().unwrap_err();
            assert!(err.to_string().contains(expect), "{err}");
            assert!(
                store
                    .update(|ms| ms.upsert(m("A", T1), true))
                    .await
                    .is_err()
            );
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }
    }
}
