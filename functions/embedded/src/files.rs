//! [`FileBlobStore`]: bundles, logs and item feeds as files under one directory.

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use trawl_engine::feed::FeedStorages;

use chrono::{DateTime, Utc};
use trawl_core::ports::{BlobEntry, BlobStore, StoreError, StoreResult};

/// Blobs as files under a root directory: the key `logs/p/s/j.log` is the file
/// `{root}/logs/p/s/j.log`. Writes are atomic (a temporary file in the same directory,
/// then a rename), so readers see the old or the new blob, never half of one.
///
/// Keys must be relative paths made of plain components: absolute keys and keys with
/// `.` or `..` components are refused with [`StoreError::Backend`] (names are
/// validated upstream too; this is defence in depth).
#[derive(Debug, Clone)]
pub struct FileBlobStore {
    root: PathBuf,
}

impl FileBlobStore {
    /// A store rooted at `root`, created if missing; the root is made absolute so
    /// [`BlobStore::feed_uri`] gives absolute paths.
    pub fn new(root: impl Into<PathBuf>) -> StoreResult<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)
            .map_err(|e| StoreError::backend(format!("creating {}: {e}", root.display())))?;
        let root = std::path::absolute(&root)
            .map_err(|e| StoreError::backend(format!("resolving {}: {e}", root.display())))?;
        Ok(FileBlobStore { root })
    }

    /// The root directory (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of `key`, or an error if the key is not a plain relative path.
    pub fn path_of(&self, key: &str) -> StoreResult<PathBuf> {
        let rel = Path::new(key);
        let plain = !key.is_empty()
            && !key.contains('\0')
            && !key.contains('\\')
            && rel.components().all(|c| matches!(c, Component::Normal(_)))
            && !key.split('/').any(|part| part == "." || part == "..");
        if !plain {
            return Err(StoreError::backend(format!("invalid blob key {key:?}")));
        }
        Ok(self.root.join(rel))
    }
}

/// A unique temporary file name next to `path`.
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

fn write_atomically(path: &Path, data: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(StoreError::backend)?
}

#[async_trait]
impl BlobStore for FileBlobStore {
    async fn put(&self, key: &str, data: Bytes) -> StoreResult<()> {
        let path = self.path_of(key)?;
        blocking(move || {
            write_atomically(&path, &data)
                .map_err(|e| StoreError::backend(format!("writing {}: {e}", path.display())))
        })
        .await
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>> {
        let path = self.path_of(key)?;
        blocking(move || match std::fs::read(&path) {
            Ok(data) => Ok(Some(Bytes::from(data))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::backend(format!(
                "reading {}: {e}",
                path.display()
            ))),
        })
        .await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let path = self.path_of(key)?;
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::backend(format!(
                "deleting {}: {e}",
                path.display()
            ))),
        })
        .await
    }

    /// The folder's files and subfolders, with their size and modification time;
    /// hidden entries (a `.` first, such as the temporary files of atomic writes) and
    /// symbolic links are left out.
    async fn list(&self, prefix: &str) -> StoreResult<Vec<BlobEntry>> {
        let folder = prefix.trim_end_matches('/');
        let dir = if folder.is_empty() {
            self.root.clone()
        } else {
            self.path_of(folder)?
        };
        blocking(move || {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) =>
                {
                    return Ok(Vec::new())
                }
                Err(e) => {
                    return Err(StoreError::backend(format!(
                        "listing {}: {e}",
                        dir.display()
                    )))
                }
            };
            let mut out = Vec::new();
            for entry in entries.flatten() {
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                let Ok(meta) = entry.metadata() else { continue };
                if name.starts_with('.') || !(meta.is_dir() || meta.is_file()) {
                    continue;
                }
                out.push(BlobEntry {
                    name,
                    size: meta.is_file().then_some(meta.len()),
                    modified: meta.modified().ok().map(DateTime::<Utc>::from),
                });
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
        .await
    }

    /// `Some(root/key)` (`None` for an invalid key).
    fn local_path(&self, key: &str) -> Option<PathBuf> {
        self.path_of(key).ok()
    }

    /// The absolute path of the key's file (empty for an invalid key, which no feed
    /// storage can open).
    fn feed_uri(&self, key: &str) -> String {
        self.path_of(key)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// [`FeedStorages::builtin`]: plain paths go to files.
    fn feed_storages(&self) -> FeedStorages {
        FeedStorages::builtin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_plain_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobStore::new(dir.path()).unwrap();
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/./b",
            "./a",
            "a\\..\\b",
            "a\0b",
        ] {
            assert!(store.path_of(bad).is_err(), "{bad:?} should be refused");
            assert_eq!(store.local_path(bad), None, "{bad:?}");
            assert_eq!(store.feed_uri(bad), "", "{bad:?}");
        }
        assert_eq!(
            store.path_of("logs/p/s/j.log").unwrap(),
            dir.path().join("logs/p/s/j.log")
        );
    }
}
