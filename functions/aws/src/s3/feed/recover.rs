//! [`recover_feed`]: finishing the feed a crashed writer left behind.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;

use super::{checkpoint_key, S3FeedError, S3Op, PARTS_META, UPLOAD_ID_META};

/// Finishes the feed a crashed writer left at `key`: its uploaded parts plus the last
/// checkpoint become the object. Does nothing when there is no checkpoint (the feed was
/// completed, or never flushed). Returns whether it recovered something.
///
/// Only the parts uploaded before the checkpoint count: a part uploaded after it holds
/// the checkpoint's bytes too, and is replaced by them.
pub async fn recover_feed(client: &Client, bucket: &str, key: &str) -> Result<bool, S3FeedError> {
    let ck = checkpoint_key(key);
    let (uri, ck_uri) = (
        format!("s3://{bucket}/{key}"),
        format!("s3://{bucket}/{ck}"),
    );
    let obj = match client.get_object().bucket(bucket).key(&ck).send().await {
        Ok(o) => o,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(false),
        Err(e) => return Err(S3FeedError::request(S3Op::Get, &ck_uri, e)),
    };
    let meta = obj.metadata();
    let upload_id = meta.and_then(|m| m.get(UPLOAD_ID_META)).cloned();
    let checkpointed_parts = meta
        .and_then(|m| m.get(PARTS_META))
        .and_then(|n| n.parse::<i32>().ok());
    let tail = obj
        .body
        .collect()
        .await
        .map_err(|source| S3FeedError::Read {
            uri: ck_uri.clone(),
            source,
        })?
        .into_bytes();
    match upload_id {
        None => {
            client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(tail))
                .send()
                .await
                .map_err(|e| S3FeedError::request(S3Op::Put, &uri, e))?;
        }
        Some(id) => {
            let mut parts = list_parts(client, bucket, key, &id).await?;
            if let Some(n) = checkpointed_parts {
                parts.retain(|p| p.part_number().is_some_and(|p| p <= n));
            }
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
                    .map_err(|e| S3FeedError::request(S3Op::UploadPart, &uri, e))?;
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
                .map_err(|e| S3FeedError::request(S3Op::CompleteMultipartUpload, &uri, e))?;
        }
    }
    if let Err(e) = client.delete_object().bucket(bucket).key(&ck).send().await {
        tracing::warn!(
            "cannot delete the recovered checkpoint {ck_uri}: {}",
            aws_sdk_s3::error::DisplayErrorContext(&e)
        );
    }
    Ok(true)
}

/// Every uploaded part of upload `id`, in order (`ListParts` pages hold 1,000).
async fn list_parts(
    client: &Client,
    bucket: &str,
    key: &str,
    id: &str,
) -> Result<Vec<CompletedPart>, S3FeedError> {
    let mut parts = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = client
            .list_parts()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .set_part_number_marker(marker.take())
            .send()
            .await
            .map_err(|e| {
                S3FeedError::request(S3Op::ListParts, &format!("s3://{bucket}/{key}"), e)
            })?;
        parts.extend(page.parts().iter().map(|p| {
            CompletedPart::builder()
                .set_e_tag(p.e_tag().map(str::to_string))
                .set_part_number(p.part_number())
                .build()
        }));
        match page.next_part_number_marker() {
            Some(next) if page.is_truncated() == Some(true) => marker = Some(next.to_string()),
            _ => break,
        }
    }
    parts.sort_by_key(|p| p.part_number());
    Ok(parts)
}
