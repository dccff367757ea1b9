//! [`S3FeedStorage`]: item feeds streamed to S3 as they are written.
//!
//! A feed is buffered up to one part ([`MIN_PART_SIZE`] by default); each full part is
//! uploaded at once as a part of a multipart upload (created with the first part), and
//! [`FeedTarget::finish`] uploads the rest and completes the upload. A feed smaller
//! than one part ends as a single `PutObject`. At most one part is held in memory,
//! never the whole feed. On an error, or when the target is dropped without `finish`
//! (an abandoned feed), the multipart upload is aborted.
//!
//! [`FeedTarget`] is a synchronous [`Write`] called from the engine's worker threads;
//! the uploads run on a captured Tokio runtime [`Handle`]. From a thread that is not
//! a runtime's, the target blocks on the handle; from a multi-thread runtime's worker
//! it uses [`tokio::task::block_in_place`] (a blocking-pool thread just blocks).
//! Writing from any thread inside a current-thread runtime's context (its own thread,
//! where blocking would deadlock, or its blocking pool) is refused with an error; plain
//! threads may still write feeds for a current-thread runtime while its thread runs
//! `Runtime::block_on`. Parts upload one at a time, on the writing thread: a write that
//! fills a part waits for its upload.

use std::future::Future;
use std::io::{self, Write};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use tokio::runtime::{Handle, RuntimeFlavor};
use trawl_engine::feed::{FeedError, FeedStorage, FeedTarget};

use super::parse_s3_uri;

/// S3's minimum size of every part but the last (5 MiB), the default part size.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

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
    /// A storage using `client`, running its uploads on `handle` (`None`: every open
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

    fn open(&self, uri: &str, _overwrite: bool) -> Result<Box<dyn FeedTarget>, FeedError> {
        let (bucket, key) = parse_s3_uri(uri).ok_or_else(|| FeedError::InvalidUri {
            uri: uri.to_string(),
            message: "expected s3://bucket/key".into(),
        })?;
        let handle = self.handle.clone().ok_or_else(|| FeedError::Io {
            uri: uri.to_string(),
            source: io::Error::other("no Tokio runtime to upload the feed with"),
        })?;
        Ok(Box::new(S3FeedTarget {
            client: self.client.clone(),
            handle,
            bucket: bucket.to_string(),
            key: key.to_string(),
            part_size: self.part_size,
            buf: Vec::new(),
            upload_id: None,
            parts: Vec::new(),
            failed: false,
            done: false,
            checkpointed: None,
        }))
    }
}

/// One feed being written.
struct S3FeedTarget {
    client: Client,
    handle: Handle,
    bucket: String,
    key: String,
    part_size: usize,
    /// Bytes not uploaded yet (less than one part after each write).
    buf: Vec<u8>,
    /// The multipart upload, once the first part is uploaded.
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    failed: bool,
    done: bool,
    /// `buf.len()` at the last checkpoint (`None`: never written).
    checkpointed: Option<usize>,
}

/// The key of a feed's checkpoint: the bytes not yet in an uploaded part, written at
/// each `flush` so a crashed writer loses at most one flush interval of items. Its
/// metadata names the multipart upload, so [`recover_feed`] can finish the feed.
pub fn checkpoint_key(key: &str) -> String {
    format!("{key}.partial")
}

/// Metadata key of the checkpoint: the multipart upload id (absent: no parts yet).
const UPLOAD_ID_META: &str = "trawl-upload-id";

/// Finishes the feed a crashed writer left at `key`: its uploaded parts plus the last
/// checkpoint become the object. Does nothing when there is no checkpoint (the feed was
/// completed, or never flushed). Returns whether it recovered something.
pub async fn recover_feed(client: &Client, bucket: &str, key: &str) -> Result<bool, String> {
    let ck = checkpoint_key(key);
    let obj = match client.get_object().bucket(bucket).key(&ck).send().await {
        Ok(o) => o,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(false),
        Err(e) => {
            return Err(format!(
                "s3 get {ck}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            ))
        }
    };
    let upload_id = obj.metadata().and_then(|m| m.get(UPLOAD_ID_META)).cloned();
    let tail = obj
        .body
        .collect()
        .await
        .map_err(|e| format!("s3 read {ck}: {e}"))?
        .into_bytes();
    let err = |what: &str, e: &dyn std::fmt::Display| format!("s3 {what} {key}: {e}");
    match upload_id {
        None => {
            client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(tail))
                .send()
                .await
                .map_err(|e| err("put", &aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        }
        Some(id) => {
            let listed = client
                .list_parts()
                .bucket(bucket)
                .key(key)
                .upload_id(&id)
                .send()
                .await
                .map_err(|e| err("list parts of", &aws_sdk_s3::error::DisplayErrorContext(&e)))?;
            let mut parts: Vec<CompletedPart> = listed
                .parts()
                .iter()
                .map(|p| {
                    CompletedPart::builder()
                        .set_e_tag(p.e_tag().map(str::to_string))
                        .set_part_number(p.part_number())
                        .build()
                })
                .collect();
            if !tail.is_empty() {
                let number = parts.len() as i32 + 1;
                let out = client
                    .upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&id)
                    .part_number(number)
                    .body(ByteStream::from(tail))
                    .send()
                    .await
                    .map_err(|e| {
                        err(
                            "upload part of",
                            &aws_sdk_s3::error::DisplayErrorContext(&e),
                        )
                    })?;
                parts.push(
                    CompletedPart::builder()
                        .set_e_tag(out.e_tag)
                        .part_number(number)
                        .build(),
                );
            }
            client
                .complete_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| err("complete", &aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        }
    }
    let _ = client.delete_object().bucket(bucket).key(&ck).send().await;
    Ok(true)
}

/// Runs `fut` to completion on `handle` from synchronous code (see the module docs).
fn block_on<F: Future>(handle: &Handle, fut: F) -> io::Result<F::Output> {
    match Handle::try_current() {
        Err(_) => Ok(handle.block_on(fut)),
        Ok(current) if current.runtime_flavor() == RuntimeFlavor::MultiThread => {
            Ok(tokio::task::block_in_place(|| handle.block_on(fut)))
        }
        Ok(_) => Err(io::Error::other(
            "an S3 feed cannot be written from a current-thread Tokio runtime's thread",
        )),
    }
}

fn s3_io<E, R>(what: &str, e: aws_sdk_s3::error::SdkError<E, R>) -> io::Error
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    io::Error::other(format!(
        "s3 {what}: {}",
        aws_sdk_s3::error::DisplayErrorContext(&e)
    ))
}

impl S3FeedTarget {
    fn check(&self) -> io::Result<()> {
        if self.failed {
            Err(io::Error::other("the S3 upload of this feed failed"))
        } else {
            Ok(())
        }
    }

    /// Uploads `data` as the next part, starting the multipart upload if needed.
    fn upload_part(&mut self, data: Vec<u8>) -> io::Result<()> {
        let (client, bucket, key) = (&self.client, &self.bucket, &self.key);
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let out = block_on(
                    &self.handle,
                    client
                        .create_multipart_upload()
                        .bucket(bucket)
                        .key(key)
                        .send(),
                )?
                .map_err(|e| s3_io("create multipart upload", e))?;
                let id = out
                    .upload_id
                    .ok_or_else(|| io::Error::other("s3: no upload id"))?;
                self.upload_id = Some(id.clone());
                id
            }
        };
        let number = self.parts.len() as i32 + 1;
        let out = block_on(
            &self.handle,
            client
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .part_number(number)
                .body(ByteStream::from(data))
                .send(),
        )?
        .map_err(|e| s3_io("upload part", e))?;
        self.parts.push(
            CompletedPart::builder()
                .set_e_tag(out.e_tag)
                .part_number(number)
                .build(),
        );
        Ok(())
    }

    /// Uploads every full part in the buffer.
    fn drain_full_parts(&mut self) -> io::Result<()> {
        while self.buf.len() >= self.part_size {
            let rest = self.buf.split_off(self.part_size);
            let part = std::mem::replace(&mut self.buf, rest);
            self.upload_part(part)?;
        }
        Ok(())
    }

    /// Writes the not-yet-uploaded bytes to the checkpoint object (when they changed).
    fn checkpoint(&mut self) -> io::Result<()> {
        if self.checkpointed == Some(self.buf.len()) {
            return Ok(());
        }
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(checkpoint_key(&self.key))
            .body(ByteStream::from(self.buf.clone()));
        if let Some(id) = &self.upload_id {
            put = put.metadata(UPLOAD_ID_META, id);
        }
        block_on(&self.handle, put.send())?.map_err(|e| s3_io("put checkpoint", e))?;
        self.checkpointed = Some(self.buf.len());
        Ok(())
    }

    /// Deletes the checkpoint once the feed is complete (best effort).
    fn drop_checkpoint(&mut self) {
        if self.checkpointed.take().is_some() {
            let res = block_on(
                &self.handle,
                self.client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(checkpoint_key(&self.key))
                    .send(),
            );
            if !matches!(res, Ok(Ok(_))) {
                tracing::warn!(
                    "cannot delete the checkpoint of s3://{}/{}",
                    self.bucket,
                    self.key
                );
            }
        }
    }

    fn complete(&mut self) -> io::Result<()> {
        let data = std::mem::take(&mut self.buf);
        if self.upload_id.is_none() {
            block_on(
                &self.handle,
                self.client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .body(ByteStream::from(data))
                    .send(),
            )?
            .map_err(|e| s3_io("put", e))?;
            self.drop_checkpoint();
            return Ok(());
        }
        if !data.is_empty() {
            self.upload_part(data)?;
        }
        let upload = CompletedMultipartUpload::builder()
            .set_parts(Some(std::mem::take(&mut self.parts)))
            .build();
        block_on(
            &self.handle,
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(self.upload_id.as_deref().unwrap_or_default())
                .multipart_upload(upload)
                .send(),
        )?
        .map_err(|e| s3_io("complete multipart upload", e))?;
        self.upload_id = None;
        self.drop_checkpoint();
        Ok(())
    }

    /// Marks the feed failed and aborts its multipart upload (best effort).
    fn abort(&mut self) {
        self.failed = true;
        self.buf = Vec::new();
        if let Some(id) = self.upload_id.take() {
            let res = block_on(
                &self.handle,
                self.client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .upload_id(id)
                    .send(),
            );
            match res {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(
                    "cannot abort the multipart upload of s3://{}/{}: {}",
                    self.bucket,
                    self.key,
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                ),
                Err(e) => tracing::warn!(
                    "cannot abort the multipart upload of s3://{}/{}: {e}",
                    self.bucket,
                    self.key
                ),
            }
        }
    }

    /// Runs `f`, aborting the upload if it fails.
    fn or_abort(&mut self, f: impl FnOnce(&mut Self) -> io::Result<()>) -> io::Result<()> {
        self.check()?;
        let res = f(self);
        if res.is_err() {
            self.abort();
        }
        res
    }
}

impl Write for S3FeedTarget {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.or_abort(|t| {
            t.buf.extend_from_slice(buf);
            t.drain_full_parts()
        })
    }

    /// Parts are uploaded when full (S3 parts must be at least 5 MiB); the rest goes to
    /// the checkpoint object, so a crash loses nothing flushed.
    fn flush(&mut self) -> io::Result<()> {
        self.or_abort(|t| t.checkpoint())
    }
}

impl FeedTarget for S3FeedTarget {
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        let res = self.or_abort(|t| t.complete());
        self.done = true;
        res
    }
}

impl Drop for S3FeedTarget {
    fn drop(&mut self) {
        if !self.done && self.upload_id.is_some() {
            tracing::warn!(
                "feed s3://{}/{} dropped unfinished: aborting its upload",
                self.bucket,
                self.key
            );
            self.abort();
        }
    }
}
