//! Crash-safe file writes and advisory locks, shared by every file `csp` owns (config,
//! credentials, mappings). Owns no file format.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a command waits for another `csp` holding the same lock before giving up.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is locked by another csp process (waited {waited:?})")]
    LockTimeout { path: PathBuf, waited: Duration },
}

/// Reads a file that may not exist yet.
pub fn read_optional(path: &Path) -> Result<Option<String>, FileError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(FileError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Creates a directory (and parents), private to the user on Unix.
pub fn ensure_private_dir(dir: &Path) -> Result<(), FileError> {
    let err = |source| FileError::Write {
        path: dir.to_path_buf(),
        source,
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(err)
}

/// Replaces `path` with `contents` atomically: a temporary file in the same directory, written
/// and fsynced, then renamed over the target. A crash leaves the old file or the new one, never
/// half of either. With `private`, the file is created with mode 0600 (Unix) before any byte
/// is written, so a secret is never readable by others, not even briefly.
pub fn write_atomic(path: &Path, contents: &[u8], private: bool) -> Result<(), FileError> {
    let err = |source| FileError::Write {
        path: path.to_path_buf(),
        source,
    };
    // Renaming over a symlink would replace the link with a regular file and leave its target
    // stale (a mappings file kept in a synced folder, say): write where the link points.
    let target = through_symlink(path);
    let path = target.as_path();
    let dir = parent_dir(path);
    ensure_private_dir(&dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), nonce()));
    let result = (|| {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(if private { 0o600 } else { 0o644 });
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut file = opts.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        sync_dir(&dir);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// The file a symlink points to, or `path` itself when it is not a (resolvable) symlink.
fn through_symlink(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

/// Deletes a file; a file that is already gone is fine.
pub fn remove_if_exists(path: &Path) -> Result<bool, FileError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(FileError::Write {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// An exclusive advisory lock on `<path>.lock`, released on drop. The lock lives in its own
/// file because the data file itself is replaced by rename, which would orphan a lock on it.
pub struct FileLock {
    _file: File,
}

/// How often a waiting taker tries the lock again.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// Takes the lock that guards `path`, waiting up to `wait` for another process to let go.
/// Blocks the thread while it waits: for synchronous callers only (the file secret store,
/// which runs on a blocking thread); async code uses [`lock_for_async`].
pub fn lock_for(path: &Path, wait: Duration) -> Result<FileLock, FileError> {
    let mut waiting = Waiting::open(path, wait)?;
    loop {
        if waiting.try_take()? {
            return Ok(waiting.into_lock());
        }
        std::thread::sleep(LOCK_POLL);
    }
}

/// [`lock_for`] for async code: it waits with `tokio::time::sleep`, so the runtime's other
/// tasks (the Ctrl-C listener above all) keep running while another csp holds the lock.
/// Polling `try_lock` rather than a blocking `lock()` on a blocking thread: a thread blocked in
/// the OS lock call cannot be cancelled, so after Ctrl-C (or past `wait`) it would go on
/// waiting and take the lock for a command that had given up; dropping this future leaves
/// nothing behind.
pub async fn lock_for_async(path: &Path, wait: Duration) -> Result<FileLock, FileError> {
    let mut waiting = Waiting::open(path, wait)?;
    loop {
        if waiting.try_take()? {
            return Ok(waiting.into_lock());
        }
        tokio::time::sleep(LOCK_POLL).await;
    }
}

/// A lock being waited for: the open lock file and how long to wait.
struct Waiting {
    file: File,
    lock_path: PathBuf,
    path: PathBuf,
    wait: Duration,
    start: Instant,
    announced: bool,
}

impl Waiting {
    fn open(path: &Path, wait: Duration) -> Result<Waiting, FileError> {
        let path = through_symlink(path);
        let dir = parent_dir(&path);
        ensure_private_dir(&dir)?;
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|source| FileError::Write {
                path: lock_path.clone(),
                source,
            })?;
        Ok(Waiting {
            file,
            lock_path,
            path,
            wait,
            start: Instant::now(),
            announced: false,
        })
    }

    /// One attempt: `true` once the lock is taken, `false` to try again later, or an error
    /// when the time is up.
    fn try_take(&mut self) -> Result<bool, FileError> {
        match self.file.try_lock() {
            Ok(()) => Ok(true),
            Err(fs::TryLockError::WouldBlock) if self.start.elapsed() < self.wait => {
                // Said once, after the first wait rather than before it: by then an async
                // caller's runtime has run its other tasks (its Ctrl-C listener) at least once.
                if self.start.elapsed() >= LOCK_POLL && !self.announced {
                    self.announced = true;
                    tracing::info!(
                        "waiting for another csp process to release {}",
                        self.path.display()
                    );
                }
                Ok(false)
            }
            Err(fs::TryLockError::WouldBlock) => Err(FileError::LockTimeout {
                path: self.path.clone(),
                waited: self.wait,
            }),
            Err(fs::TryLockError::Error(source)) => Err(FileError::Write {
                path: self.lock_path.clone(),
                source,
            }),
        }
    }

    /// The lock, once `try_take` has taken it.
    fn into_lock(self) -> FileLock {
        FileLock { _file: self.file }
    }
}

/// True when a file's permissions let users other than the owner read or write it.
#[cfg(unix)]
pub fn is_too_open(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o077 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
pub fn is_too_open(_path: &Path) -> bool {
    false
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

#[cfg(unix)]
fn sync_dir(dir: &Path) {
    // Makes the rename itself durable; best effort, as not every file system supports it.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn atomic_write_through_a_symlink_updates_its_target_and_keeps_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("synced").join("mappings.json");
        write_atomic(&real, b"old", false).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();

        write_atomic(&link, b"new", false).unwrap();

        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        let _lock = lock_for(&link, LOCK_WAIT).unwrap();
        assert!(
            lock_for(&real, Duration::from_millis(120)).is_err(),
            "the link and its target must share one lock"
        );
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("f.json");
        write_atomic(&path, b"one", false).unwrap();
        write_atomic(&path, b"two", false).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f.json")]);
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_created_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_atomic(&path, b"x", true).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!is_too_open(&path));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(is_too_open(&path));
    }

    #[test]
    fn a_held_lock_times_out_the_second_taker() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let held = lock_for(&path, LOCK_WAIT).unwrap();
        let err = lock_for(&path, Duration::from_millis(120)).err().unwrap();
        assert!(matches!(err, FileError::LockTimeout { .. }));
        drop(held);
        assert!(lock_for(&path, Duration::from_millis(120)).is_ok());
    }

    /// On a one-thread runtime (as the binary runs), a task that lets go of the lock gets to run
    /// while the async waiter waits, and the waiter then takes the lock. A waiter that blocked
    /// the thread would starve that task and time out after `LOCK_WAIT`.
    #[tokio::test(flavor = "current_thread")]
    async fn the_async_wait_lets_other_tasks_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mappings.json");
        let held = lock_for(&path, LOCK_WAIT).unwrap();
        let ticks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&ticks);
        let other = tokio::spawn(async move {
            // Progress made while the lock is held elsewhere, then the lock let go.
            for _ in 0..3 {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
            drop(held);
        });
        let lock = lock_for_async(&path, LOCK_WAIT).await;
        assert!(lock.is_ok(), "{:?}", lock.err());
        assert_eq!(ticks.load(std::sync::atomic::Ordering::SeqCst), 3);
        other.await.unwrap();
        // Held now: a synchronous taker is refused.
        assert!(lock_for(&path, Duration::from_millis(120)).is_err());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_async_wait_times_out_like_the_blocking_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let _held = lock_for(&path, LOCK_WAIT).unwrap();
        let err = lock_for_async(&path, Duration::from_millis(120))
            .await
            .err()
            .unwrap();
        assert!(matches!(err, FileError::LockTimeout { .. }), "{err:?}");
    }
}
