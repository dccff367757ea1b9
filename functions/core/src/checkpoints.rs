//! Job checkpoints in the blob store (`checkpoints/{project}/{spider}/{job}/`): the
//! engine's [`CheckpointStore`] over a [`BlobStore`] — files under `trawl serve`'s data
//! directory, S3 objects on AWS. One layout for both: each blob is replaced whole
//! (atomically: a rename locally, a `PutObject` on S3).

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;
use trawl_engine::checkpoint::{CheckpointStore, StoreFuture, STATE};

use crate::model::Job;
use crate::ports::{BlobStore, StoreResult};

/// Label of a checkpoint: the job attempt (segment) that wrote it.
pub const ATTEMPT_LABEL: &str = "attempt";

/// Label of a checkpoint: when its job was created (a job id used again after its job
/// finished is another job, which must not resume the old one's checkpoint).
pub const CREATED_LABEL: &str = "job_created";

/// One job's checkpoint in the blob store.
#[derive(Clone)]
pub struct BlobCheckpoints {
    blobs: Arc<dyn BlobStore>,
    prefix: String,
}

impl BlobCheckpoints {
    /// The checkpoint of `job`.
    pub fn of(blobs: Arc<dyn BlobStore>, job: &Job) -> Self {
        BlobCheckpoints {
            blobs,
            prefix: job.checkpoint_prefix(),
        }
    }

    /// A checkpoint under the blob folder `prefix` (ending with `/`): a partition's
    /// of a job crawled by several crawlers.
    pub fn at(blobs: Arc<dyn BlobStore>, prefix: String) -> Self {
        BlobCheckpoints { blobs, prefix }
    }

    /// The labels of the stored checkpoint (without reading its seen fingerprints);
    /// `None` when there is none or it is unreadable.
    pub async fn labels(&self) -> StoreResult<Option<serde_json::Map<String, Value>>> {
        let Some(raw) = self.blobs.get(&format!("{}{STATE}", self.prefix)).await? else {
            return Ok(None);
        };
        let v: Value = match serde_json::from_slice(&raw) {
            Ok(v) => v,
            Err(e) => {
                // Not resumable: the job is then failed or requeued, not resumed blind.
                tracing::error!(checkpoint = %self.prefix, "unreadable checkpoint, ignored: {e}");
                return Ok(None);
            }
        };
        Ok(v.get("labels").and_then(Value::as_object).cloned())
    }

    /// The attempt that wrote the stored checkpoint of `job`, if it has one of its own
    /// (one left by an earlier job with the same id does not count).
    pub async fn attempt_of(&self, job: &Job) -> StoreResult<Option<u32>> {
        let Some(labels) = self.labels().await? else {
            return Ok(None);
        };
        if labels.get(CREATED_LABEL).and_then(Value::as_str) != Some(&created(job)) {
            return Ok(None);
        }
        Ok(labels
            .get(ATTEMPT_LABEL)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok()))
    }

    /// Deletes the checkpoint (when its job ends).
    pub async fn clear(&self) -> StoreResult<()> {
        for entry in self.blobs.list(&self.prefix).await? {
            if !entry.is_folder() {
                self.blobs
                    .delete(&format!("{}{}", self.prefix, entry.name))
                    .await?;
            }
        }
        Ok(())
    }
}

/// The value of [`CREATED_LABEL`] for `job`.
pub fn created(job: &Job) -> String {
    job.created_at.timestamp_micros().to_string()
}

impl CheckpointStore for BlobCheckpoints {
    fn put<'a>(&'a self, name: &'a str, data: Vec<u8>) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.blobs
                .put(&format!("{}{name}", self.prefix), Bytes::from(data))
                .await?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let got = self.blobs.get(&format!("{}{name}", self.prefix)).await?;
            Ok(got.map(|b| b.to_vec()))
        })
    }

    fn describe(&self) -> String {
        self.prefix.clone()
    }
}
