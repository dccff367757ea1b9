//! [`ItemHistory`] for incremental spiders: one small item per fingerprint,
//! `PK = SEEN#{project}`, `SK = {spider}#{hex fingerprint}` — a project's history is one
//! partition, a spider's a key prefix within it.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use trawl_core::ports::{ItemFingerprint, ItemHistory, StoreError, StoreResult};

use super::items::s;
use super::keys::{PK, SK};
use super::{sdk_error, DynamoStore, Item};

/// BatchWriteItem's limit.
const BATCH: usize = 25;

fn seen_pk(project: &str) -> String {
    format!("SEEN#{project}")
}

fn hex(fp: &ItemFingerprint) -> String {
    fp.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<ItemFingerprint> {
    if s.len() != 40 {
        return None;
    }
    let mut fp = [0u8; 20];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        fp[i] = u8::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
    }
    Some(fp)
}

impl DynamoStore {
    /// Writes `requests` in batches, retrying what DynamoDB leaves unprocessed.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> StoreResult<()> {
        for chunk in requests.chunks(BATCH) {
            let mut pending = chunk.to_vec();
            for attempt in 0..8 {
                let out = self
                    .client()
                    .batch_write_item()
                    .request_items(self.table(), pending)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(self.table()))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt == 7 {
                    return Err(StoreError::Backend(format!(
                        "{} item-history writes left unprocessed",
                        pending.len()
                    )));
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
        }
        Ok(())
    }

    async fn history_keys(&self, project: &str, spider: Option<&str>) -> StoreResult<Vec<Item>> {
        let prefix = spider.map(|sp| format!("{sp}#")).unwrap_or_default();
        self.query_all(
            None,
            "PK = :pk AND begins_with(SK, :prefix)",
            &[],
            vec![(":pk", s(seen_pk(project))), (":prefix", s(prefix))],
            true,
            false,
        )
        .await
    }
}

#[async_trait]
impl ItemHistory for DynamoStore {
    async fn seen_items(&self, project: &str, spider: &str) -> StoreResult<Vec<ItemFingerprint>> {
        let items = self.history_keys(project, Some(spider)).await?;
        Ok(items
            .iter()
            .filter_map(|i| i.get(SK)?.as_s().ok()?.rsplit('#').next().and_then(unhex))
            .collect())
    }

    async fn add_seen_items(
        &self,
        project: &str,
        spider: &str,
        fingerprints: &[ItemFingerprint],
    ) -> StoreResult<()> {
        let mut unique: Vec<&ItemFingerprint> = fingerprints.iter().collect();
        unique.sort();
        unique.dedup();
        let requests = unique
            .into_iter()
            .map(|fp| {
                let put = PutRequest::builder()
                    .item(PK, s(seen_pk(project)))
                    .item(SK, s(format!("{spider}#{}", hex(fp))))
                    .build()
                    .map_err(StoreError::backend)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch_write(requests).await
    }

    async fn forget_items(&self, project: &str) -> StoreResult<()> {
        let requests = self
            .history_keys(project, None)
            .await?
            .into_iter()
            .map(|item| {
                let key = item
                    .into_iter()
                    .filter(|(k, _)| k == PK || k == SK)
                    .collect();
                let del = DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map_err(StoreError::backend)?;
                Ok(WriteRequest::builder().delete_request(del).build())
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch_write(requests).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_round_trip_through_hex() {
        let fp = [0xab; 20];
        assert_eq!(unhex(&hex(&fp)), Some(fp));
        assert_eq!(unhex("zz"), None);
    }
}
