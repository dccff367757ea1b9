//! [`S3BlobStore`]: bundles, logs and item feeds as S3 objects.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bytes::Bytes;
use trawl_core::ports::{BlobStore, StoreError, StoreResult};
use trawl_engine::feed::FeedStorages;

use super::S3FeedStorage;

/// Blobs as objects of one bucket, under an optional key prefix. Cheap to clone.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    prefix: String,
    handle: Option<tokio::runtime::Handle>,
}

fn s3_error<E, R>(what: &str, e: aws_sdk_s3::error::SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Backend(format!(
        "s3 {what}: {}",
        aws_sdk_s3::error::DisplayErrorContext(&e)
    ))
}

impl S3BlobStore {
    /// A store on `bucket`, its keys prefixed with `prefix` (e.g. `""` or `"trawl/"`).
    ///
    /// Captures the current Tokio runtime (if any) for the feed storage's uploads,
    /// which run on the engine's worker threads.
    pub fn new(client: Client, bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        S3BlobStore {
            client,
            bucket: bucket.into(),
            prefix: prefix.into(),
            handle: tokio::runtime::Handle::try_current().ok(),
        }
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The object key of a blob key.
    pub fn object_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, data: Bytes) -> StoreResult<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(|e| s3_error("put", e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>> {
        let res = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await;
        let out = match res {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(s3_error("get", e)),
        };
        let body = out.body.collect().await.map_err(StoreError::backend)?;
        Ok(Some(body.into_bytes()))
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .map_err(|e| s3_error("delete", e))?;
        Ok(())
    }

    fn local_path(&self, _key: &str) -> Option<PathBuf> {
        None
    }

    fn feed_uri(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.object_key(key))
    }

    /// The built-in storages plus `s3` ([`S3FeedStorage`], any bucket this client can
    /// write). Uses the current Tokio runtime, or the one current at construction.
    fn feed_storages(&self) -> FeedStorages {
        let mut storages = FeedStorages::builtin();
        let handle = tokio::runtime::Handle::try_current()
            .ok()
            .or_else(|| self.handle.clone());
        storages.register(
            "s3",
            Arc::new(S3FeedStorage::new(self.client.clone(), handle)),
        );
        storages
    }

    async fn recover_feed(&self, key: &str) -> StoreResult<bool> {
        super::recover_feed(&self.client, &self.bucket, &self.object_key(key))
            .await
            .map_err(StoreError::backend)
    }
}
