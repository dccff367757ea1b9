//! Where checkpoints are kept: [`CheckpointStore`], and [`DirCheckpoints`] (a local
//! directory, Scrapy's `JOBDIR`).

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;

/// The future of a [`CheckpointStore`] call.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send + 'a>>;

/// A flat set of named blobs holding one crawl's checkpoint. `put` must be atomic (a
/// reader sees the old blob or the new one, never a part) and durable once it returns.
pub trait CheckpointStore: Send + Sync {
    /// Stores `data` as `name`, replacing it.
    fn put<'a>(&'a self, name: &'a str, data: Vec<u8>) -> StoreFuture<'a, ()>;
    /// The blob `name`, `None` if absent.
    fn get<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<Vec<u8>>>;
    /// Where the checkpoint lives, for messages.
    fn describe(&self) -> String;
}

/// Checkpoints in a local directory: each blob a file, replaced atomically (written
/// aside, synced, renamed over).
#[derive(Debug, Clone)]
pub struct DirCheckpoints {
    dir: PathBuf,
}

impl DirCheckpoints {
    /// Checkpoints under `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirCheckpoints { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn write_atomic(dir: &Path, name: &str, data: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_data()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(name))
}

impl CheckpointStore for DirCheckpoints {
    fn put<'a>(&'a self, name: &'a str, data: Vec<u8>) -> StoreFuture<'a, ()> {
        let dir = self.dir.clone();
        let name = name.to_string();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || write_atomic(&dir, &name, &data)).await??;
            Ok(())
        })
    }

    fn get<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        let path = self.dir.join(name);
        Box::pin(async move {
            match tokio::fs::read(&path).await {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }
}
