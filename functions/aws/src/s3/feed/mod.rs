//! [`S3FeedStorage`]: item feeds streamed to S3 as they are written.
//!
//! A feed is buffered up to one part ([`MIN_PART_SIZE`] by default); each full part goes
//! to the feed's uploader, a Tokio task that uploads it as a part of a multipart upload
//! (created with the first part). [`FeedTarget::finish_async`] hands it the rest and
//! waits for the completed upload. A feed smaller than one part ends as a single
//! `PutObject`. On an error, or when the target is dropped without finishing (an
//! abandoned feed), the multipart upload is aborted.
//!
//! The writer never waits on the network: [`FeedTarget`] is a synchronous [`Write`]
//! called from the engine's callback threads, and it only queues commands for the
//! uploader, in order. It waits only for back-pressure, when
//! [`MAX_QUEUED_PARTS`] full parts are already waiting to be uploaded, and only on a
//! thread outside any Tokio runtime (runtime threads never block: there the queue may
//! grow past its bound). `flush` queues a checkpoint (see [`checkpoint_key`]);
//! [`FeedTarget::checkpoint`] queues one and returns a future for its completion. The
//! blocking [`FeedTarget::finish`] works from threads outside any runtime; async code
//! closes feeds with [`FeedSink::close_async`](trawl_engine::feed::FeedSink::close_async),
//! as the engine does.

mod error;
mod recover;
mod upload;

use std::io::{self, Write};
use std::sync::Arc;

use aws_sdk_s3::Client;
use serde_json::{json, Value};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tracing::Instrument;
use trawl_engine::feed::{FeedError, FeedFuture, FeedStorage, FeedTarget, PositionFuture};

pub use error::{S3FeedError, S3Op};
pub use recover::recover_feed;
use upload::{Command, Reply, Shared, Uploaded, Uploader};

use super::parse_s3_uri;

/// S3's minimum size of every part but the last (5 MiB), the default part size.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// Full parts a feed may queue for its uploader before a writer waits (back-pressure):
/// with the part being filled, a feed holds at most this many parts plus one in memory.
pub const MAX_QUEUED_PARTS: usize = 2;

/// The key of a feed's checkpoint: the bytes not yet in an uploaded part, written at
/// each `flush` so a crashed writer loses at most one flush interval of items. Its
/// metadata names the multipart upload and the parts before it, so [`recover_feed`]
/// can finish the feed.
pub fn checkpoint_key(key: &str) -> String {
    format!("{key}.partial")
}

/// Metadata key of the checkpoint: the multipart upload id (absent: no parts yet).
const UPLOAD_ID_META: &str = "trawl-upload-id";

/// Metadata key of the checkpoint: how many parts were uploaded before it.
const PARTS_META: &str = "trawl-parts";

/// The `s3` feed storage: `s3://bucket/key` URIs, streamed with multipart uploads.
/// S3 objects are always replaced: `overwrite = false` (append) is not supported and
/// behaves as `true`, as in Scrapy's `S3FeedStorage`.
#[derive(Debug, Clone)]
pub struct S3FeedStorage {
    client: Client,
    handle: Option<Handle>,
    part_size: usize,
}

impl S3FeedStorage {
    /// A storage using `client`, running its uploaders on `handle` (`None`: every open
    /// fails, there is no runtime to upload with).
    pub fn new(client: Client, handle: Option<Handle>) -> Self {
        S3FeedStorage {
            client,
            handle,
            part_size: MIN_PART_SIZE,
        }
    }

    /// Sets the part size (at least [`MIN_PART_SIZE`]).
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(MIN_PART_SIZE);
        self
    }
}

impl FeedStorage for S3FeedStorage {
    fn name(&self) -> &str {
        "S3FeedStorage"
    }

    /// Starts the feed's uploader task; nothing is sent to S3 before the first part,
    /// flush or finish.
    fn open(&self, uri: &str, _overwrite: bool) -> Result<Box<dyn FeedTarget>, FeedError> {
        self.start(uri, Uploaded::default(), Vec::new(), 0)
    }

    /// Continues the multipart upload of a checkpointed position: its uploaded parts,
    /// then the checkpointed tail (parts a lost writer uploaded after the checkpoint
    /// are uploaded again, replacing theirs).
    fn resume(&self, uri: &str, position: &Value) -> Result<Box<dyn FeedTarget>, FeedError> {
        let bad = |message: String| FeedError::Resume {
            uri: uri.to_string(),
            message,
        };
        let tail = position["tail"]
            .as_str()
            .ok_or_else(|| bad(format!("not an S3 feed position: {position}")))?;
        let tail = aws_smithy_types::base64::decode(tail).map_err(|e| bad(e.to_string()))?;
        let parts: Vec<(i32, String)> = serde_json::from_value(position["parts"].clone())
            .map_err(|e| bad(format!("parts: {e}")))?;
        let written = position["written"].as_u64().unwrap_or(0);
        let uploaded = Uploaded {
            upload_id: position["upload_id"].as_str().map(str::to_string),
            parts,
        };
        self.start(uri, uploaded, tail, written)
    }
}

impl S3FeedStorage {
    fn start(
        &self,
        uri: &str,
        uploaded: Uploaded,
        buf: Vec<u8>,
        written: u64,
    ) -> Result<Box<dyn FeedTarget>, FeedError> {
        let (bucket, key) = parse_s3_uri(uri).ok_or_else(|| FeedError::InvalidUri {
            uri: uri.to_string(),
            message: "expected s3://bucket/key".into(),
        })?;
        let handle = self.handle.clone().ok_or_else(|| FeedError::Io {
            uri: uri.to_string(),
            source: io::Error::other(S3FeedError::NoRuntime {
                uri: uri.to_string(),
            }),
        })?;
        let shared = Arc::new(Shared::default());
        let (commands, rx) = mpsc::unbounded_channel();
        let uploader = Uploader::new(
            self.client.clone(),
            bucket.to_string(),
            key.to_string(),
            shared.clone(),
            uploaded,
        );
        handle.spawn(uploader.run(rx).instrument(tracing::Span::current()));
        Ok(Box::new(S3FeedTarget {
            uri: format!("s3://{bucket}/{key}"),
            handle,
            commands,
            queued_parts: Arc::new(Semaphore::new(MAX_QUEUED_PARTS)),
            shared,
            part_size: self.part_size,
            buf,
            written,
            checkpointed: None,
        }))
    }
}

/// One feed being written: buffers the part being filled and queues the rest for its
/// [`Uploader`]. Dropping it unfinished closes the queue, and the uploader aborts.
struct S3FeedTarget {
    uri: String,
    handle: Handle,
    commands: mpsc::UnboundedSender<Command>,
    /// One permit per full part queued and not uploaded yet.
    queued_parts: Arc<Semaphore>,
    shared: Arc<Shared>,
    part_size: usize,
    /// Bytes not queued as a part yet (less than one part after each write).
    buf: Vec<u8>,
    /// Bytes written in all.
    written: u64,
    /// `written` at the last queued checkpoint (`None`: none yet).
    checkpointed: Option<u64>,
}

impl S3FeedTarget {
    /// The uploader's first failure, as an I/O error.
    fn check(&self) -> io::Result<()> {
        match self.shared.failed.get() {
            Some(e) => Err(io::Error::other(e.clone())),
            None => Ok(()),
        }
    }

    fn gone(&self) -> io::Error {
        io::Error::other(S3FeedError::UploaderGone {
            uri: self.uri.clone(),
        })
    }

    fn send(&self, command: Command) -> io::Result<()> {
        self.commands.send(command).map_err(|_| self.gone())
    }

    /// Queues every full part of the buffer, waiting for queue space only on threads
    /// outside any runtime.
    fn queue_full_parts(&mut self) -> io::Result<()> {
        while self.buf.len() >= self.part_size {
            let rest = self.buf.split_off(self.part_size);
            let data = std::mem::replace(&mut self.buf, rest);
            let permit = match self.queued_parts.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) if Handle::try_current().is_err() => {
                    let wait = self.queued_parts.clone().acquire_owned();
                    Some(self.handle.block_on(wait).map_err(|_| self.gone())?)
                }
                // A runtime thread must not block: the part is queued past the bound.
                Err(_) => None,
            };
            self.send(Command::Part { data, permit })?;
        }
        Ok(())
    }

    /// Queues a checkpoint of the buffer, unless one with the same bytes is queued.
    fn queue_checkpoint(&mut self, done: Option<oneshot::Sender<Reply>>) -> io::Result<()> {
        if self.checkpointed == Some(self.written) {
            return match done {
                Some(done) => self.send(Command::Barrier { done }),
                None => Ok(()),
            };
        }
        self.send(Command::Checkpoint {
            tail: self.buf.clone(),
            done,
        })?;
        self.checkpointed = Some(self.written);
        Ok(())
    }

    /// Queues the end of the feed; the receiver gets the outcome.
    fn queue_finish(&mut self) -> io::Result<oneshot::Receiver<Reply>> {
        self.check()?;
        let (done, rx) = oneshot::channel();
        let tail = std::mem::take(&mut self.buf);
        self.send(Command::Finish { tail, done })?;
        Ok(rx)
    }
}

/// Waits for a command's reply.
async fn reply(uri: String, rx: oneshot::Receiver<Reply>) -> io::Result<()> {
    match rx.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(io::Error::other(e)),
        Err(_) => Err(io::Error::other(S3FeedError::UploaderGone { uri })),
    }
}

impl Write for S3FeedTarget {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.check()?;
        self.buf.extend_from_slice(buf);
        self.written += buf.len() as u64;
        self.queue_full_parts()
    }

    /// Queues a checkpoint: parts are uploaded when full (S3 parts must be at least
    /// 5 MiB), the rest goes to the checkpoint object, so a crash loses nothing flushed
    /// once it is stored. Does not wait for it ([`FeedTarget::checkpoint`] does).
    fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        self.queue_checkpoint(None)
    }
}

impl FeedTarget for S3FeedTarget {
    /// Blocks until the feed is stored; refused on a Tokio runtime's threads (the
    /// target is then dropped, and its upload aborted).
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        if Handle::try_current().is_ok() {
            return Err(io::Error::other(S3FeedError::WouldBlock {
                uri: self.uri.clone(),
            }));
        }
        let rx = self.queue_finish()?;
        let uri = self.uri.clone();
        drop(self);
        match rx.blocking_recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(io::Error::other(e)),
            Err(_) => Err(io::Error::other(S3FeedError::UploaderGone { uri })),
        }
    }

    fn checkpoint(&mut self) -> FeedFuture {
        let (done, rx) = oneshot::channel();
        match self
            .check()
            .and_then(|()| self.queue_checkpoint(Some(done)))
        {
            Ok(()) => Box::pin(reply(self.uri.clone(), rx)),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }

    fn finish_async(mut self: Box<Self>) -> FeedFuture {
        match self.queue_finish() {
            Ok(rx) => Box::pin(reply(self.uri.clone(), rx)),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }

    /// The upload id, its uploaded parts and the bytes after them, once every part
    /// queued so far is uploaded.
    fn position(&mut self) -> PositionFuture {
        if let Err(e) = self.check() {
            return Box::pin(std::future::ready(Err(e.into())));
        }
        let (done, rx) = oneshot::channel();
        if let Err(e) = self.send(Command::Position { done }) {
            return Box::pin(std::future::ready(Err(e.into())));
        }
        let tail = aws_smithy_types::base64::encode(&self.buf);
        let (uri, written) = (self.uri.clone(), self.written);
        Box::pin(async move {
            let up = match rx.await {
                Ok(Ok(up)) => up,
                Ok(Err(e)) => return Err(anyhow::anyhow!(e)),
                Err(_) => return Err(S3FeedError::UploaderGone { uri }.into()),
            };
            Ok(json!({
                "upload_id": up.upload_id,
                "parts": up.parts,
                "tail": tail,
                "written": written,
            }))
        })
    }

    /// Stops the uploader, leaving the multipart upload open for a resumed crawl.
    fn suspend(self: Box<Self>) -> FeedFuture {
        let (done, rx) = oneshot::channel();
        if let Err(e) = self.send(Command::Detach { done }) {
            return Box::pin(std::future::ready(Err(e)));
        }
        Box::pin(reply(self.uri.clone(), rx))
    }
}
