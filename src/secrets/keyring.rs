//! The OS keyring store, the default: macOS Keychain, Windows Credential Manager, the Secret
//! Service over D-Bus on Linux (no keyutils fallback: it forgets at reboot). Service `csp`,
//! account = the profile name. A value longer than the platform allows (Credential Manager:
//! 2,560 bytes) is split into chunk entries behind a small header in the main entry; a save
//! that is cut off midway leaves the previous value readable (see `Layout`). A missing or
//! locked keyring is reported, never replaced by a file.

use std::sync::{Arc, OnceLock};

use keyring_core::{CredentialStore, Entry, Error as KeyringError};

use super::{SecretStore, SecretStoreError, SecretsRecord, StoreKind, StoredSecrets};

/// The keyring service name every entry is filed under.
pub const SERVICE: &str = "csp";

/// Starts every chunk header, of any format version.
const HEADER_PREFIX: &str = "csp-chunks:";

/// The two generations chunked values alternate between. A save writes the generation the
/// header does not point at, so the current one is never touched until the header has
/// switched; and since csp only ever writes these two, every chunk it may have left behind
/// (a save or a clean-up cut off midway) is found again by the next save or `delete`.
const GENERATIONS: [u32; 2] = [1, 2];

/// The smallest chunk size accepted, so that a header always fits in one entry.
const MIN_CHUNK: usize = 32;

/// Credential Manager caps one credential's blob at 2,560 bytes.
#[cfg(target_os = "windows")]
const PLATFORM_LIMIT: usize = 2560;
#[cfg(not(target_os = "windows"))]
const PLATFORM_LIMIT: usize = usize::MAX;

/// What a profile's main entry says about where its value is.
///
/// - `Plain`: the value itself (short values; everything on macOS and Linux).
/// - `Legacy`: `csp-chunks:1:<n>`, written by csp releases before generations: the value is in
///   `<profile>#1 … #n`. Still read; the next save migrates it.
/// - `Chunked`: `csp-chunks:2:<gen>:<n>`: the value is in `<profile>#g<gen>#1 … #n`.
///
/// A save writes the new chunks first, then switches the header (one entry, written at once),
/// then removes every chunk the header no longer points at, best effort. A reader therefore
/// finds either the old value or the new one, whatever point a save was cut off at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Plain,
    Legacy { n: usize },
    Chunked { generation: u32, n: usize },
}

/// A set of chunk entries: the legacy numbering or one generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunks {
    Legacy,
    Generation(u32),
}

impl Chunks {
    fn account(self, profile: &str, i: usize) -> String {
        match self {
            Chunks::Legacy => format!("{profile}#{i}"),
            Chunks::Generation(g) => format!("{profile}#g{g}#{i}"),
        }
    }
}

impl Layout {
    /// Reads a main entry's value. `None` when it is a chunk header of a format this csp does
    /// not know (a newer csp wrote it).
    fn parse(value: &[u8]) -> Option<Layout> {
        let Some(rest) = value.strip_prefix(HEADER_PREFIX.as_bytes()) else {
            return Some(Layout::Plain);
        };
        let rest = std::str::from_utf8(rest).ok()?.trim();
        let fields: Vec<&str> = rest.split(':').collect();
        match fields.as_slice() {
            ["1", n] => Some(Layout::Legacy { n: n.parse().ok()? }),
            ["2", generation, n] => Some(Layout::Chunked {
                generation: generation.parse().ok()?,
                n: n.parse().ok()?,
            }),
            _ => None,
        }
    }

    /// The main entry's value for a chunked layout of `n` parts in `generation`.
    fn header(generation: u32, n: usize) -> String {
        format!("{HEADER_PREFIX}2:{generation}:{n}")
    }

    /// The chunks this layout points at, and how many.
    fn chunks(self) -> Option<(Chunks, usize)> {
        match self {
            Layout::Plain => None,
            Layout::Legacy { n } => Some((Chunks::Legacy, n)),
            Layout::Chunked { generation, n } => Some((Chunks::Generation(generation), n)),
        }
    }

    /// The generation a save after this one writes: never the one this layout points at.
    fn next_generation(self) -> u32 {
        match self {
            Layout::Chunked { generation, .. } if generation == GENERATIONS[0] => GENERATIONS[1],
            _ => GENERATIONS[0],
        }
    }
}

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
            chunk_limit: chunk_limit.max(MIN_CHUNK),
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

    /// The main entry's layout; `None` when the profile has no entry.
    fn layout(&self, profile: &str) -> Result<Option<(Layout, Vec<u8>)>, SecretStoreError> {
        let Some(main) = self.get(profile)? else {
            return Ok(None);
        };
        let layout = Layout::parse(&main).ok_or_else(|| {
            SecretStoreError::Backend(format!(
                "the keyring entry of profile `{profile}` was written by a newer csp; update csp"
            ))
        })?;
        Ok(Some((layout, main)))
    }

    /// Joins the chunks a header points at; `Err(i)` when part `i` is missing.
    fn join(
        &self,
        profile: &str,
        chunks: Chunks,
        n: usize,
    ) -> Result<Result<Vec<u8>, usize>, SecretStoreError> {
        let mut all = Vec::new();
        for i in 1..=n {
            match self.get(&chunks.account(profile, i))? {
                Some(part) => all.extend_from_slice(&part),
                None => return Ok(Err(i)),
            }
        }
        Ok(Ok(all))
    }

    /// Removes chunks `from..` of one set: the `known` ones and any a cut-off write left beyond
    /// them. Top-down, so that a removal cut off midway leaves a run starting at 1, which the
    /// next sweep finds whole. Returns whether anything was removed.
    fn sweep(
        &self,
        profile: &str,
        chunks: Chunks,
        from: usize,
        known: usize,
    ) -> Result<bool, SecretStoreError> {
        let mut last = known.max(from - 1);
        while self.get(&chunks.account(profile, last + 1))?.is_some() {
            last += 1;
        }
        let mut removed = false;
        for i in (from..=last).rev() {
            removed |= self.remove(&chunks.account(profile, i))?;
        }
        Ok(removed)
    }

    /// Every set of chunks csp may have written for a profile: the legacy numbering, both
    /// generations, and the one `old` points at (if a newer csp used another).
    fn all_chunk_sets(old: Option<Layout>) -> Vec<Chunks> {
        let mut sets = vec![Chunks::Legacy];
        sets.extend(GENERATIONS.map(Chunks::Generation));
        if let Some((set, _)) = old.and_then(Layout::chunks)
            && !sets.contains(&set)
        {
            sets.push(set);
        }
        sets
    }

    /// How many chunks of `set` the layout `old` pointed at (0 when it pointed elsewhere).
    fn known(old: Option<Layout>, set: Chunks) -> usize {
        old.and_then(Layout::chunks)
            .filter(|(s, _)| *s == set)
            .map_or(0, |(_, n)| n)
    }

    /// After the main entry switched from `old` to `new`: removes every chunk `new` does not
    /// point at. Best effort: the save is done, and what stays behind is swept next time.
    fn remove_unreferenced(&self, profile: &str, old: Option<Layout>, new: Layout) {
        let keep = new.chunks();
        for set in Self::all_chunk_sets(old) {
            let result = match keep {
                Some((kept, n)) if kept == set => self.sweep(profile, set, n + 1, 0),
                _ => self.sweep(profile, set, 1, Self::known(old, set)),
            };
            if let Err(e) = result {
                tracing::debug!(
                    "leaving old keyring chunks of profile `{profile}` for the next save: {e}"
                );
            }
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

    fn load(&self, profile: &str) -> Result<Option<StoredSecrets>, SecretStoreError> {
        // A save in another csp may switch the header and remove the chunks this read was
        // following: a missing part with a changed header is read again.
        let mut attempts = 0;
        let bytes = loop {
            attempts += 1;
            let Some((layout, main)) = self.layout(profile)? else {
                return Ok(None);
            };
            let Some((chunks, n)) = layout.chunks() else {
                break main;
            };
            let missing = match self.join(profile, chunks, n)? {
                Ok(all) => break all,
                Err(i) => i,
            };
            let changed = self.get(profile)?.is_some_and(|now| now != main);
            if !changed || attempts == 3 {
                return Err(SecretStoreError::Backend(format!(
                    "the keyring entry of profile `{profile}` is incomplete (part {missing} of {n} is missing)"
                )));
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
        let old = self.layout(profile)?.map(|(layout, _)| layout);
        if bytes.len() <= self.chunk_limit {
            self.set(profile, &bytes)?;
            self.remove_unreferenced(profile, old, Layout::Plain);
            return Ok(());
        }
        // The chunks first, under the generation the header does not point at; the header
        // last, so a save cut off before it leaves the old value whole.
        let generation = old.map_or(GENERATIONS[0], Layout::next_generation);
        let parts: Vec<&[u8]> = bytes.chunks(self.chunk_limit).collect();
        let new = Layout::Chunked {
            generation,
            n: parts.len(),
        };
        for (i, part) in parts.iter().enumerate() {
            self.set(
                &Chunks::Generation(generation).account(profile, i + 1),
                part,
            )?;
        }
        self.set(profile, Layout::header(generation, parts.len()).as_bytes())?;
        self.remove_unreferenced(profile, old, new);
        Ok(())
    }

    /// Writes and removes a probe entry: a locked keyring refuses it (or, on a desktop, asks
    /// the user to unlock it), before the user has gone through a sign-in.
    fn check_writable(&self, profile: &str) -> Result<(), SecretStoreError> {
        let probe = format!("{profile}#probe");
        self.set(&probe, b"probe")?;
        self.remove(&probe).map(|_| ())
    }

    /// The main entry first, so the sign-in is gone at once; then every chunk of every
    /// generation (an error here is reported: a sign-out must not leave secret bytes behind,
    /// and running it again finishes the job).
    fn delete(&self, profile: &str) -> Result<bool, SecretStoreError> {
        // A header of an unknown format is still removed, with the chunk sets csp knows.
        let old = self.get(profile)?.and_then(|v| Layout::parse(&v));
        let mut removed = self.remove(profile)?;
        for set in Self::all_chunk_sets(old) {
            removed |= self.sweep(profile, set, 1, Self::known(old, set))?;
        }
        Ok(removed)
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
    use std::collections::{BTreeSet, HashMap};
    use std::sync::Mutex;

    use keyring_core::api::{CredentialApi, CredentialStoreApi};
    use keyring_core::{Credential, mock};
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

    fn raw_get(store: &Arc<CredentialStore>, account: &str) -> Option<Vec<u8>> {
        Entry::new_in_store(store, SERVICE, account)
            .unwrap()
            .get_secret()
            .ok()
    }

    fn raw_set(store: &Arc<CredentialStore>, account: &str, value: &[u8]) {
        Entry::new_in_store(store, SERVICE, account)
            .unwrap()
            .set_secret(value)
            .unwrap();
    }

    /// The accounts that hold a value.
    fn held(store: &Arc<CredentialStore>) -> BTreeSet<String> {
        Entry::search_in_store(store, &HashMap::from([("service", SERVICE)]))
            .unwrap()
            .into_iter()
            .filter(|e| e.get_secret().is_ok())
            .map(|e| e.get_specifiers().unwrap().1)
            .collect()
    }

    /// The accounts a profile's main entry points at, itself included: all a clean store holds.
    fn referenced(store: &Arc<CredentialStore>, profile: &str) -> BTreeSet<String> {
        let Some(main) = raw_get(store, profile) else {
            return BTreeSet::new();
        };
        let mut all = BTreeSet::from([profile.to_string()]);
        if let Some((set, n)) = Layout::parse(&main).unwrap().chunks() {
            all.extend((1..=n).map(|i| set.account(profile, i)));
        }
        all
    }

    fn token(store: &KeyringStore, profile: &str) -> Option<String> {
        store
            .load(profile)
            .unwrap()
            .map(|s| s.refresh_token.expose_secret().to_string())
    }

    /// Writes a value the way csp releases before generations did: `csp-chunks:1:<n>` and
    /// `<profile>#1 … #n`.
    fn write_legacy(store: &Arc<CredentialStore>, profile: &str, rt: &str, limit: usize) {
        let bytes = serde_json::to_vec(&SecretsRecord::from(&secrets(rt, None))).unwrap();
        let parts: Vec<&[u8]> = bytes.chunks(limit).collect();
        for (i, part) in parts.iter().enumerate() {
            raw_set(store, &format!("{profile}#{}", i + 1), part);
        }
        raw_set(
            store,
            profile,
            format!("csp-chunks:1:{}", parts.len()).as_bytes(),
        );
    }

    /// Failures to inject into a keyring-core mock store, by account.
    #[derive(Default)]
    struct Faults {
        /// Writes and removals allowed before every further one fails: a save cut off.
        budget: Option<usize>,
        /// Whether the budget refused a call.
        cut_off: bool,
        /// Accounts whose next write fails.
        fail_set: Vec<String>,
        /// Accounts whose next removal fails.
        fail_remove: Vec<String>,
        /// Runs once, just before the account is read.
        before_get: Option<(String, Box<dyn FnOnce() + Send>)>,
    }

    impl Faults {
        fn refuse(
            &mut self,
            account: &str,
            listed: fn(&mut Faults) -> &mut Vec<String>,
        ) -> keyring_core::Result<()> {
            let list = listed(self);
            if let Some(i) = list.iter().position(|a| a == account) {
                list.remove(i);
                return Err(KeyringError::PlatformFailure("injected failure".into()));
            }
            match &mut self.budget {
                Some(0) => {
                    self.cut_off = true;
                    Err(KeyringError::PlatformFailure("cut off".into()))
                }
                Some(left) => {
                    *left -= 1;
                    Ok(())
                }
                None => Ok(()),
            }
        }
    }

    /// keyring-core's mock store behind a layer that injects `Faults`.
    struct Faulty {
        inner: Arc<CredentialStore>,
        faults: Arc<Mutex<Faults>>,
    }

    impl Faulty {
        fn over(
            inner: &Arc<CredentialStore>,
            faults: Faults,
        ) -> (Arc<CredentialStore>, Arc<Mutex<Faults>>) {
            let faults = Arc::new(Mutex::new(faults));
            let store = Arc::new(Faulty {
                inner: Arc::clone(inner),
                faults: Arc::clone(&faults),
            });
            (store, faults)
        }
    }

    impl CredentialStoreApi for Faulty {
        fn vendor(&self) -> String {
            "faulty mock".into()
        }
        fn id(&self) -> String {
            self.inner.id()
        }
        fn build(
            &self,
            service: &str,
            user: &str,
            mods: Option<&HashMap<&str, &str>>,
        ) -> keyring_core::Result<Entry> {
            let inner = self.inner.build(service, user, mods)?;
            let cred: Arc<Credential> = Arc::new(FaultyCred {
                account: user.to_string(),
                inner,
                faults: Arc::clone(&self.faults),
            });
            Ok(Entry::new_with_credential(cred))
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    struct FaultyCred {
        account: String,
        inner: Entry,
        faults: Arc<Mutex<Faults>>,
    }

    impl CredentialApi for FaultyCred {
        fn set_secret(&self, secret: &[u8]) -> keyring_core::Result<()> {
            let refused = self
                .faults
                .lock()
                .unwrap()
                .refuse(&self.account, |f| &mut f.fail_set);
            refused.and_then(|()| self.inner.set_secret(secret))
        }
        fn get_secret(&self) -> keyring_core::Result<Vec<u8>> {
            let hook = {
                let mut faults = self.faults.lock().unwrap();
                match &faults.before_get {
                    Some((account, _)) if *account == self.account => faults.before_get.take(),
                    _ => None,
                }
            };
            if let Some((_, run)) = hook {
                run();
            }
            self.inner.get_secret()
        }
        fn delete_credential(&self) -> keyring_core::Result<()> {
            let refused = self
                .faults
                .lock()
                .unwrap()
                .refuse(&self.account, |f| &mut f.fail_remove);
            refused.and_then(|()| self.inner.delete_credential())
        }
        fn get_credential(&self) -> keyring_core::Result<Option<Arc<Credential>>> {
            self.inner.get_secret().map(|_| None)
        }
        fn get_specifiers(&self) -> Option<(String, String)> {
            self.inner.get_specifiers()
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
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
    fn long_values_alternate_generations_and_leave_no_stale_chunk() {
        let backend = mock_store();
        let store = KeyringStore::with_store(Arc::clone(&backend), 100);
        let first = "r".repeat(1_600);
        store.save("default", &secrets(&first, None)).unwrap();
        let main = raw_get(&backend, "default").unwrap();
        let Some(Layout::Chunked { generation: 1, n }) = Layout::parse(&main) else {
            panic!("{:?}", String::from_utf8_lossy(&main));
        };
        assert!(n >= 16);
        for i in 1..=n {
            let part = raw_get(&backend, &format!("default#g1#{i}")).unwrap();
            assert!(part.len() <= 100);
        }
        assert_eq!(held(&backend), referenced(&backend, "default"));
        assert_eq!(token(&store, "default").as_deref(), Some(first.as_str()));

        // The next long value goes to the other generation; the first one's chunks go away.
        let second = "s".repeat(700);
        store.save("default", &secrets(&second, None)).unwrap();
        assert!(
            raw_get(&backend, "default")
                .unwrap()
                .starts_with(b"csp-chunks:2:2:")
        );
        assert_eq!(held(&backend), referenced(&backend, "default"));
        assert_eq!(token(&store, "default").as_deref(), Some(second.as_str()));

        // A short value replaces the chunks, and no stale part is left behind.
        store.save("default", &secrets("short", None)).unwrap();
        assert_eq!(token(&store, "default").as_deref(), Some("short"));
        assert_eq!(held(&backend), BTreeSet::from(["default".to_string()]));

        store.save("default", &secrets(&first, None)).unwrap();
        assert!(store.delete("default").unwrap());
        assert!(held(&backend).is_empty());
        assert!(!store.delete("default").unwrap());
    }

    #[test]
    fn a_chunk_write_failing_midway_leaves_the_old_value() {
        let backend = mock_store();
        let store = KeyringStore::with_store(Arc::clone(&backend), 100);
        let old = "o".repeat(500);
        store.save("default", &secrets(&old, None)).unwrap();
        let before = held(&backend);
        // The new value goes to generation 2; its third chunk fails.
        inject(
            &backend,
            "default#g2#3",
            KeyringError::PlatformFailure("the keyring went away".into()),
        );
        let new = "n".repeat(900);
        assert!(store.save("default", &secrets(&new, None)).is_err());
        assert_eq!(token(&store, "default").as_deref(), Some(old.as_str()));
        // The next save succeeds and leaves only what its header points at.
        store.save("default", &secrets(&new, None)).unwrap();
        assert_eq!(token(&store, "default").as_deref(), Some(new.as_str()));
        assert_eq!(held(&backend), referenced(&backend, "default"));
        assert!(before.is_disjoint(&(&held(&backend) - &BTreeSet::from(["default".into()]))));
    }

    #[test]
    fn a_failed_header_switch_leaves_the_old_value() {
        let backend = mock_store();
        let old = "o".repeat(500);
        KeyringStore::with_store(Arc::clone(&backend), 100)
            .save("default", &secrets(&old, None))
            .unwrap();
        let (faulty, _) = Faulty::over(
            &backend,
            Faults {
                fail_set: vec!["default".into()],
                ..Faults::default()
            },
        );
        let store = KeyringStore::with_store(faulty, 100);
        let err = store
            .save("default", &secrets(&"n".repeat(500), None))
            .unwrap_err();
        assert!(err.to_string().contains("injected"), "{err}");
        assert_eq!(token(&store, "default").as_deref(), Some(old.as_str()));
        // The written but never referenced chunks go with the next save, a short one here.
        store.save("default", &secrets("short", None)).unwrap();
        assert_eq!(token(&store, "default").as_deref(), Some("short"));
        assert_eq!(held(&backend), BTreeSet::from(["default".to_string()]));
    }

    #[test]
    fn a_failed_clean_up_does_not_fail_the_save_and_is_finished_by_the_next() {
        let backend = mock_store();
        let old = "o".repeat(500);
        KeyringStore::with_store(Arc::clone(&backend), 100)
            .save("default", &secrets(&old, None))
            .unwrap();
        let (faulty, _) = Faulty::over(
            &backend,
            Faults {
                fail_remove: vec!["default#g1#2".into()],
                ..Faults::default()
            },
        );
        let store = KeyringStore::with_store(faulty, 100);
        let new = "n".repeat(500);
        store.save("default", &secrets(&new, None)).unwrap();
        assert_eq!(token(&store, "default").as_deref(), Some(new.as_str()));
        assert!(held(&backend).contains("default#g1#2"));
        // The next save writes generation 1 again and sweeps what is left of it.
        let last = "l".repeat(200);
        store.save("default", &secrets(&last, None)).unwrap();
        assert_eq!(token(&store, "default").as_deref(), Some(last.as_str()));
        assert_eq!(held(&backend), referenced(&backend, "default"));
    }

    /// Cuts a save off after each of its keyring writes in turn, for every kind of change: what
    /// is left always reads as the old value (before the header switched) or the new one, and
    /// the next save leaves the store clean.
    #[test]
    fn a_save_cut_off_at_any_point_leaves_the_old_or_the_new_value() {
        enum Old {
            None,
            Saved(Vec<usize>),
            Legacy(usize),
        }
        let cases = [
            (Old::None, 500),
            (Old::Saved(vec![10]), 500),
            (Old::Saved(vec![500]), 900),
            (Old::Saved(vec![900]), 300),
            (Old::Saved(vec![500, 500]), 500),
            (Old::Saved(vec![500]), 10),
            (Old::Legacy(500), 300),
            (Old::Legacy(500), 10),
        ];
        for (old, new_len) in cases {
            let new = "n".repeat(new_len);
            for budget in 0.. {
                let backend = mock_store();
                let plain = KeyringStore::with_store(Arc::clone(&backend), 100);
                let before = match &old {
                    Old::None => None,
                    Old::Saved(lens) => {
                        for (i, len) in lens.iter().enumerate() {
                            let rt = format!("{i}").repeat(*len);
                            plain.save("default", &secrets(&rt, None)).unwrap();
                        }
                        token(&plain, "default")
                    }
                    Old::Legacy(len) => {
                        write_legacy(&backend, "default", &"l".repeat(*len), 100);
                        token(&plain, "default")
                    }
                };
                let (faulty, faults) = Faulty::over(
                    &backend,
                    Faults {
                        budget: Some(budget),
                        ..Faults::default()
                    },
                );
                let result =
                    KeyringStore::with_store(faulty, 100).save("default", &secrets(&new, None));
                let after = token(&plain, "default");
                let expected = if result.is_ok() {
                    Some(new.clone())
                } else {
                    before
                };
                assert_eq!(
                    after, expected,
                    "new {new_len}, cut off after {budget} writes"
                );

                let last = "z".repeat(400);
                plain.save("default", &secrets(&last, None)).unwrap();
                assert_eq!(token(&plain, "default"), Some(last));
                assert_eq!(
                    held(&backend),
                    referenced(&backend, "default"),
                    "cut off after {budget} writes"
                );
                if !faults.lock().unwrap().cut_off {
                    break;
                }
            }
        }
    }

    #[test]
    fn an_old_format_entry_is_read_then_migrated_on_the_next_save() {
        let backend = mock_store();
        let old = "l".repeat(500);
        write_legacy(&backend, "default", &old, 100);
        let store = KeyringStore::with_store(Arc::clone(&backend), 100);
        assert_eq!(token(&store, "default").as_deref(), Some(old.as_str()));

        let new = "n".repeat(600);
        store.save("default", &secrets(&new, None)).unwrap();
        assert!(
            raw_get(&backend, "default")
                .unwrap()
                .starts_with(b"csp-chunks:2:1:")
        );
        assert_eq!(token(&store, "default").as_deref(), Some(new.as_str()));
        assert_eq!(held(&backend), referenced(&backend, "default"));
        assert!(raw_get(&backend, "default#1").is_none());

        // `delete` removes an old-format value with its chunks too.
        let other = mock_store();
        write_legacy(&other, "default", &old, 100);
        assert!(
            KeyringStore::with_store(Arc::clone(&other), 100)
                .delete("default")
                .unwrap()
        );
        assert!(held(&other).is_empty());
    }

    #[test]
    fn delete_removes_every_generation() {
        let backend = mock_store();
        let store = KeyringStore::with_store(Arc::clone(&backend), 100);
        store
            .save("default", &secrets(&"a".repeat(500), None))
            .unwrap();
        // Left by a save cut off before its header switch, and by a release before generations.
        raw_set(&backend, "default#g2#1", b"orphan");
        raw_set(&backend, "default#g2#2", b"orphan");
        raw_set(&backend, "default#1", b"orphan");
        // Another profile's entries stay.
        store
            .save("other", &secrets(&"b".repeat(500), None))
            .unwrap();
        let others = referenced(&backend, "other");
        assert!(store.delete("default").unwrap());
        assert_eq!(held(&backend), others);
    }

    #[test]
    fn a_reader_follows_a_header_switched_under_it() {
        let backend = mock_store();
        let writer = KeyringStore::with_store(Arc::clone(&backend), 100);
        writer
            .save("default", &secrets(&"o".repeat(500), None))
            .unwrap();
        let new = "n".repeat(500);
        let racing = Arc::clone(&backend);
        let racing_value = new.clone();
        // Another csp saves while this one is between the header and the second chunk.
        let (faulty, _) = Faulty::over(
            &backend,
            Faults {
                before_get: Some((
                    "default#g1#2".into(),
                    Box::new(move || {
                        KeyringStore::with_store(racing, 100)
                            .save("default", &secrets(&racing_value, None))
                            .unwrap();
                    }),
                )),
                ..Faults::default()
            },
        );
        let reader = KeyringStore::with_store(faulty, 100);
        assert_eq!(token(&reader, "default"), Some(new));
    }

    #[test]
    fn a_missing_part_is_reported_not_misread() {
        let backend = mock_store();
        let store = KeyringStore::with_store(Arc::clone(&backend), 100);
        store
            .save("default", &secrets(&"x".repeat(500), None))
            .unwrap();
        Entry::new_in_store(&backend, SERVICE, "default#g1#2")
            .unwrap()
            .delete_credential()
            .unwrap();
        let err = store.load("default").unwrap_err();
        assert!(err.to_string().contains("incomplete"), "{err}");
        assert!(err.to_string().contains("part 2"), "{err}");
    }

    #[test]
    fn a_header_from_a_newer_csp_is_refused_and_still_deleted() {
        let backend = mock_store();
        raw_set(&backend, "default", b"csp-chunks:3:whatever");
        let store = KeyringStore::with_store(Arc::clone(&backend), 100);
        let err = store.load("default").unwrap_err();
        assert!(err.to_string().contains("newer csp"), "{err}");
        assert!(store.save("default", &secrets("rt", None)).is_err());
        assert_eq!(
            raw_get(&backend, "default").unwrap(),
            b"csp-chunks:3:whatever"
        );
        assert!(store.delete("default").unwrap());
        assert!(held(&backend).is_empty());
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
