//! Feed storages: where a feed's bytes go, chosen by URI scheme.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::{self, Write};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use super::FeedError;

/// The completion of a feed operation started synchronously ([`FeedTarget::checkpoint`],
/// [`FeedTarget::finish_async`]): awaiting it waits for the storage, never the caller's
/// thread.
pub type FeedFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send + 'static>>;

/// An open feed output. `finish` flushes it and completes the storage (for remote
/// storages: uploads it); a target dropped without `finish` is abandoned.
///
/// Writes come from the engine's callback threads, so a remote target should only
/// buffer and hand its data to an uploader, never wait on the network in `write` or
/// `flush`. The asynchronous hooks let async code wait for the storage instead:
/// [`checkpoint`](Self::checkpoint) (a durable flush) and
/// [`finish_async`](Self::finish_async). Their defaults suit local outputs, whose
/// `flush` and `finish` are immediate.
pub trait FeedTarget: Write + Send {
    /// Flushes and stores the written bytes, blocking the calling thread until done.
    fn finish(self: Box<Self>) -> io::Result<()>;

    /// Starts storing everything written so far durably (for remote storages: a
    /// checkpoint a crashed writer's feed can be recovered from), and returns a future
    /// that resolves once it is stored. The default flushes now.
    fn checkpoint(&mut self) -> FeedFuture {
        let res = self.flush();
        Box::pin(std::future::ready(res))
    }

    /// As [`finish`](Self::finish), but the returned future waits for the storage
    /// instead of the calling thread. The default finishes now.
    fn finish_async(self: Box<Self>) -> FeedFuture {
        let res = self.finish();
        Box::pin(std::future::ready(res))
    }

    /// Lets go of the output without completing it, for a crawl paused at a checkpoint
    /// that a later process resumes with [`FeedStorage::resume`]. The default finishes
    /// it (a local file is complete at every point; a resume truncates it).
    fn suspend(self: Box<Self>) -> FeedFuture {
        self.finish_async()
    }

    /// Where the output stands after everything written so far, for a checkpoint
    /// ([`FeedStorage::resume`] continues from it); the future resolves once it is
    /// stored durably. The default: not resumable.
    fn position(&mut self) -> PositionFuture {
        Box::pin(std::future::ready(Err(anyhow::anyhow!(
            "this feed storage cannot be checkpointed"
        ))))
    }
}

/// The future of [`FeedTarget::position`].
pub type PositionFuture = crate::pipeline::PositionFuture;

/// A kind of feed storage (`file`, `stdout`, `s3`, …). Object-safe and sync: `open`
/// must not wait on the network; remote storages stream from their targets (see
/// [`FeedTarget`]).
pub trait FeedStorage: Send + Sync {
    /// The name used in stats keys, as Scrapy's class names (`FileFeedStorage`).
    fn name(&self) -> &str;
    /// Opens `uri` (placeholders already expanded) for writing; `overwrite` truncates,
    /// otherwise the storage appends if it can.
    fn open(&self, uri: &str, overwrite: bool) -> Result<Box<dyn FeedTarget>, FeedError>;

    /// Reopens `uri` at a checkpointed [`FeedTarget::position`], dropping whatever was
    /// written after it. The default: not resumable.
    fn resume(
        &self,
        uri: &str,
        _position: &serde_json::Value,
    ) -> Result<Box<dyn FeedTarget>, FeedError> {
        Err(FeedError::Io {
            uri: uri.to_string(),
            source: io::Error::other(format!("{} cannot resume a feed", self.name())),
        })
    }
}

/// The scheme of a URI (`s3` for `s3://b/k`), or `None` for a plain path, including
/// Windows paths such as `C:\out.json` and the stdout shorthand `-`.
pub fn uri_scheme(uri: &str) -> Option<&str> {
    let (scheme, _) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (valid && scheme.len() > 1).then_some(scheme)
}

/// Storages by URI scheme; plain paths use `file`, `-` uses `stdout`.
#[derive(Clone)]
pub struct FeedStorages {
    by_scheme: BTreeMap<String, Arc<dyn FeedStorage>>,
}

impl Default for FeedStorages {
    fn default() -> Self {
        Self::builtin()
    }
}

impl FeedStorages {
    /// The built-in storages: `file` and `stdout`.
    pub fn builtin() -> Self {
        let mut s = FeedStorages {
            by_scheme: BTreeMap::new(),
        };
        s.register("file", Arc::new(FileStorage));
        s.register("stdout", Arc::new(StdoutStorage));
        s
    }

    /// Adds (or replaces) the storage for `scheme` (lower case, e.g. `s3`).
    pub fn register(&mut self, scheme: &str, storage: Arc<dyn FeedStorage>) {
        self.by_scheme.insert(scheme.to_ascii_lowercase(), storage);
    }

    /// The registered schemes, sorted.
    pub fn schemes(&self) -> Vec<&str> {
        self.by_scheme.keys().map(String::as_str).collect()
    }

    /// The storage for `uri`; an unknown scheme is an error naming the supported ones.
    pub fn for_uri(&self, uri: &str) -> Result<Arc<dyn FeedStorage>, FeedError> {
        let scheme = match uri_scheme(uri) {
            None if uri == "-" => "stdout".to_string(),
            None => "file".to_string(),
            Some(s) => s.to_ascii_lowercase(),
        };
        self.by_scheme
            .get(&scheme)
            .cloned()
            .ok_or_else(|| FeedError::UnsupportedScheme {
                uri: uri.to_string(),
                scheme,
                supported: self.schemes().join(", "),
            })
    }
}

/// Local files: plain paths and `file://` URIs. Creates parent directories.
pub struct FileStorage;

impl FileStorage {
    /// The local path of a `file://` URI or plain path.
    pub fn path(uri: &str) -> Result<PathBuf, FeedError> {
        if uri_scheme(uri).is_some_and(|s| s.eq_ignore_ascii_case("file")) {
            let url = url::Url::parse(uri).map_err(|e| FeedError::InvalidUri {
                uri: uri.to_string(),
                message: e.to_string(),
            })?;
            url.to_file_path().map_err(|()| FeedError::InvalidUri {
                uri: uri.to_string(),
                message: "not a local file path".into(),
            })
        } else {
            Ok(PathBuf::from(uri))
        }
    }
}

struct FileTarget(File);

impl Write for FileTarget {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl FeedTarget for FileTarget {
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.0.flush()
    }

    /// The file's length (it is only ever appended to).
    fn position(&mut self) -> PositionFuture {
        let len = self
            .0
            .flush()
            .and_then(|()| self.0.metadata())
            .map(|m| m.len());
        Box::pin(std::future::ready(
            len.map(|len| serde_json::json!({ "len": len }))
                .map_err(Into::into),
        ))
    }
}

impl FeedStorage for FileStorage {
    fn name(&self) -> &str {
        "FileFeedStorage"
    }

    fn open(&self, uri: &str, overwrite: bool) -> Result<Box<dyn FeedTarget>, FeedError> {
        let path = Self::path(uri)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| FeedError::io(uri, e))?;
        }
        let mut opts = OpenOptions::new();
        opts.create(true);
        if overwrite {
            opts.write(true).truncate(true);
        } else {
            opts.append(true);
        }
        let file = opts.open(&path).map_err(|e| FeedError::io(uri, e))?;
        Ok(Box::new(FileTarget(file)))
    }

    /// Truncates the file to its checkpointed length and appends from there.
    fn resume(
        &self,
        uri: &str,
        position: &serde_json::Value,
    ) -> Result<Box<dyn FeedTarget>, FeedError> {
        let bad = |m: String| FeedError::io(uri, io::Error::new(io::ErrorKind::InvalidData, m));
        let len = position
            .get("len")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| bad(format!("not a file position: {position}")))?;
        let path = Self::path(uri)?;
        let file = OpenOptions::new()
            .create(len == 0)
            .append(true)
            .open(&path)
            .map_err(|e| FeedError::io(uri, e))?;
        let now = file.metadata().map_err(|e| FeedError::io(uri, e))?.len();
        if now < len {
            return Err(bad(format!(
                "the file is {now} bytes long, shorter than its checkpoint ({len} bytes)"
            )));
        }
        file.set_len(len).map_err(|e| FeedError::io(uri, e))?;
        Ok(Box::new(FileTarget(file)))
    }
}

/// Standard output (`stdout:` or `-`); `overwrite` does not apply.
pub struct StdoutStorage;

struct StdoutTarget(io::Stdout);

impl Write for StdoutTarget {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.lock().write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl FeedTarget for StdoutTarget {
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.0.flush()
    }

    /// Standard output cannot be rolled back: its position is nothing.
    fn position(&mut self) -> PositionFuture {
        let res = self.0.flush().map(|()| serde_json::Value::Null);
        Box::pin(std::future::ready(res.map_err(Into::into)))
    }
}

impl FeedStorage for StdoutStorage {
    fn name(&self) -> &str {
        "StdoutFeedStorage"
    }

    fn open(&self, _uri: &str, _overwrite: bool) -> Result<Box<dyn FeedTarget>, FeedError> {
        Ok(Box::new(StdoutTarget(io::stdout())))
    }

    fn resume(
        &self,
        uri: &str,
        _position: &serde_json::Value,
    ) -> Result<Box<dyn FeedTarget>, FeedError> {
        self.open(uri, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(uri_scheme("s3://bucket/key"), Some("s3"));
        assert_eq!(uri_scheme("file:///tmp/x"), Some("file"));
        assert_eq!(uri_scheme("stdout:"), Some("stdout"));
        assert_eq!(uri_scheme(r"C:\out\x.json"), None);
        assert_eq!(uri_scheme("/tmp/x.json"), None);
        assert_eq!(uri_scheme("-"), None);
        assert_eq!(uri_scheme("items.json"), None);
    }

    #[test]
    fn registry_resolves_and_rejects() {
        let s = FeedStorages::builtin();
        assert_eq!(s.for_uri("/tmp/a.json").unwrap().name(), "FileFeedStorage");
        assert_eq!(
            s.for_uri("file:///tmp/a.json").unwrap().name(),
            "FileFeedStorage"
        );
        assert_eq!(s.for_uri("-").unwrap().name(), "StdoutFeedStorage");
        assert_eq!(s.for_uri("stdout:").unwrap().name(), "StdoutFeedStorage");
        let e = s.for_uri("s3://bucket/a.json").err().unwrap().to_string();
        assert!(
            e.contains("s3://bucket/a.json") && e.contains("file, stdout"),
            "{e}"
        );
    }

    #[test]
    fn file_storage_creates_dirs_appends_and_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/out.txt");
        let uri = format!("file://{}", path.display());
        for (overwrite, text) in [(false, "one"), (false, "two"), (true, "three")] {
            let mut t = FileStorage.open(&uri, overwrite).unwrap();
            t.write_all(text.as_bytes()).unwrap();
            t.finish().unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three");
        let plain = dir.path().join("c/out.txt");
        for _ in 0..2 {
            let mut t = FileStorage.open(plain.to_str().unwrap(), false).unwrap();
            t.write_all(b"x").unwrap();
            t.finish().unwrap();
        }
        assert_eq!(std::fs::read_to_string(&plain).unwrap(), "xx");
    }
}
