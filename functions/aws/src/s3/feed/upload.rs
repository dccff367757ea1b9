//! The uploader task of one S3 feed: runs the commands its writer queues, in order.

use std::sync::{Arc, OnceLock};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};

use super::{checkpoint_key, S3FeedError, S3Op, PARTS_META, UPLOAD_ID_META};

/// The outcome of a command a writer waits for; a failure is shared by every later one.
pub(super) type Reply = Result<(), Arc<S3FeedError>>;

/// What a writer asks its uploader to do.
pub(super) enum Command {
    /// Upload the next part (full size), starting the multipart upload if needed. The
    /// permit bounds the parts queued; it is released once the part is uploaded.
    Part {
        data: Vec<u8>,
        permit: Option<OwnedSemaphorePermit>,
    },
    /// Write the checkpoint object: `tail` is every byte not in a part queued before.
    Checkpoint {
        tail: Vec<u8>,
        done: Option<oneshot::Sender<Reply>>,
    },
    /// Reply once every earlier command is done (a checkpoint with nothing new).
    Barrier { done: oneshot::Sender<Reply> },
    /// Reply, once every earlier part is uploaded, with the upload and its parts (for
    /// an engine checkpoint).
    Position {
        done: oneshot::Sender<Result<Uploaded, Arc<S3FeedError>>>,
    },
    /// Stop without completing or aborting the upload (a paused crawl resumes it).
    Detach { done: oneshot::Sender<Reply> },
    /// Upload `tail` as the last part (or the whole object) and complete the feed.
    Finish {
        tail: Vec<u8>,
        done: oneshot::Sender<Reply>,
    },
}

/// A multipart upload's state: its id (none before the first part) and uploaded parts.
#[derive(Debug, Clone, Default)]
pub(super) struct Uploaded {
    pub upload_id: Option<String>,
    /// `(part number, ETag)`, in order.
    pub parts: Vec<(i32, String)>,
}

/// State shared by a writer and its uploader.
#[derive(Default)]
pub(super) struct Shared {
    /// The first failure: the upload is aborted, every later command fails with it.
    pub failed: OnceLock<Arc<S3FeedError>>,
}

/// The uploader of one feed.
pub(super) struct Uploader {
    pub client: Client,
    pub bucket: String,
    pub key: String,
    pub shared: Arc<Shared>,
    /// The multipart upload, once the first part is queued.
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    /// Whether a checkpoint object was written (and must be deleted at the end).
    checkpointed: bool,
}

impl Uploader {
    /// The uploader of `s3://bucket/key`, continuing `resumed` (a new upload: default).
    pub fn new(
        client: Client,
        bucket: String,
        key: String,
        shared: Arc<Shared>,
        resumed: Uploaded,
    ) -> Self {
        Uploader {
            client,
            bucket,
            key,
            shared,
            upload_id: resumed.upload_id,
            parts: resumed
                .parts
                .into_iter()
                .map(|(n, etag)| CompletedPart::builder().part_number(n).e_tag(etag).build())
                .collect(),
            checkpointed: false,
        }
    }

    fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Runs the writer's commands until `Finish`, or until the writer is dropped (an
    /// abandoned feed: its upload is aborted).
    pub async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        while let Some(command) = commands.recv().await {
            match command {
                Command::Part { data, permit } => {
                    if self.failed().is_ok() {
                        let res = self.upload_part(data).await;
                        let _ = self.settle(res).await;
                    }
                    drop(permit);
                }
                Command::Checkpoint { tail, done } => {
                    let res = match self.failed() {
                        Ok(()) => {
                            let res = self.checkpoint(tail).await;
                            self.settle(res).await
                        }
                        Err(e) => Err(e),
                    };
                    if let Some(done) = done {
                        let _ = done.send(res);
                    }
                }
                Command::Barrier { done } => {
                    let _ = done.send(self.failed());
                }
                Command::Position { done } => {
                    let res = self.failed().map(|()| Uploaded {
                        upload_id: self.upload_id.clone(),
                        parts: self
                            .parts
                            .iter()
                            .map(|p| {
                                (
                                    p.part_number().unwrap_or_default(),
                                    p.e_tag().unwrap_or_default().to_string(),
                                )
                            })
                            .collect(),
                    });
                    let _ = done.send(res);
                }
                Command::Detach { done } => {
                    let _ = done.send(self.failed());
                    return;
                }
                Command::Finish { tail, done } => {
                    let res = match self.failed() {
                        Ok(()) => {
                            let res = self.complete(tail).await;
                            self.settle(res).await
                        }
                        Err(e) => Err(e),
                    };
                    let _ = done.send(res);
                    return;
                }
            }
        }
        if self.failed().is_ok() && self.upload_id.is_some() {
            tracing::warn!(
                "feed {} dropped unfinished: aborting its upload",
                self.uri()
            );
        }
        self.abort().await;
    }

    /// The first failure, if any.
    fn failed(&self) -> Reply {
        match self.shared.failed.get() {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// On an error: records it for the writer and aborts the upload.
    async fn settle(&mut self, res: Result<(), S3FeedError>) -> Reply {
        let Err(e) = res else { return Ok(()) };
        let e = Arc::new(e);
        let _ = self.shared.failed.set(e.clone());
        self.abort().await;
        Err(e)
    }

    /// Uploads `data` as the next part, starting the multipart upload if needed.
    async fn upload_part(&mut self, data: Vec<u8>) -> Result<(), S3FeedError> {
        let uri = self.uri();
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let out = self
                    .client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .send()
                    .await
                    .map_err(|e| S3FeedError::request(S3Op::CreateMultipartUpload, &uri, e))?;
                let id = out.upload_id.ok_or(S3FeedError::NoUploadId { uri })?;
                self.upload_id = Some(id.clone());
                id
            }
        };
        let number = self.parts.len() as i32 + 1;
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(|e| S3FeedError::request(S3Op::UploadPart, &self.uri(), e))?;
        self.parts.push(
            CompletedPart::builder()
                .set_e_tag(out.e_tag)
                .part_number(number)
                .build(),
        );
        Ok(())
    }

    /// Writes the checkpoint object: the bytes not in an uploaded part, with the upload
    /// id and the number of parts they follow.
    async fn checkpoint(&mut self, tail: Vec<u8>) -> Result<(), S3FeedError> {
        let ck = checkpoint_key(&self.key);
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&ck)
            .body(ByteStream::from(tail));
        if let Some(id) = &self.upload_id {
            put = put
                .metadata(UPLOAD_ID_META, id)
                .metadata(PARTS_META, self.parts.len().to_string());
        }
        put.send().await.map_err(|e| {
            S3FeedError::request(S3Op::Put, &format!("s3://{}/{ck}", self.bucket), e)
        })?;
        self.checkpointed = true;
        Ok(())
    }

    /// Stores `tail` as the last part (or the whole object) and completes the feed.
    async fn complete(&mut self, tail: Vec<u8>) -> Result<(), S3FeedError> {
        let uri = self.uri();
        let Some(upload_id) = self.upload_id.clone() else {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .body(ByteStream::from(tail))
                .send()
                .await
                .map_err(|e| S3FeedError::request(S3Op::Put, &uri, e))?;
            self.drop_checkpoint().await;
            return Ok(());
        };
        if !tail.is_empty() {
            self.upload_part(tail).await?;
        }
        let upload = CompletedMultipartUpload::builder()
            .set_parts(Some(std::mem::take(&mut self.parts)))
            .build();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .multipart_upload(upload)
            .send()
            .await
            .map_err(|e| S3FeedError::request(S3Op::CompleteMultipartUpload, &uri, e))?;
        self.upload_id = None;
        self.drop_checkpoint().await;
        Ok(())
    }

    /// Deletes the checkpoint, if one was written (best effort).
    async fn drop_checkpoint(&mut self) {
        if !std::mem::take(&mut self.checkpointed) {
            return;
        }
        let ck = checkpoint_key(&self.key);
        let res = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(&ck)
            .send()
            .await;
        if let Err(e) = res {
            tracing::warn!(
                "cannot delete the checkpoint s3://{}/{ck}: {}",
                self.bucket,
                aws_sdk_s3::error::DisplayErrorContext(&e)
            );
        }
    }

    /// Aborts the multipart upload and deletes the checkpoint (best effort): a failed
    /// or abandoned feed leaves nothing to recover.
    async fn abort(&mut self) {
        if let Some(id) = self.upload_id.take() {
            let res = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(id)
                .send()
                .await;
            if let Err(e) = res {
                tracing::warn!(
                    "cannot abort the multipart upload of {}: {}",
                    self.uri(),
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                );
            }
        }
        self.drop_checkpoint().await;
    }
}
