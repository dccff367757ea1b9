//! Transactions (`TransactWriteItems`) and the retries every conditional write of the
//! table shares: a write cancelled by a concurrent transaction on its items, or
//! throttled, is tried again a few times with a growing pause.

use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use trawl_core::ports::{StoreError, StoreResult};

use super::{sdk_error, DynamoStore};

/// How often a write cancelled by a concurrent transaction is tried again.
pub(crate) const CONFLICT_RETRIES: u32 = 5;

/// The cancellation reason of a write whose condition failed.
pub(crate) const CONDITION_FAILED: &str = "ConditionalCheckFailed";

/// Whether a single-item write met a transaction in progress on its item.
pub(crate) fn is_conflict<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "TransactionConflictException")
}

/// Waits before try `tries` + 1 of a write that met a concurrent transaction.
pub(crate) async fn backoff(tries: u32) {
    tokio::time::sleep(Duration::from_millis(20 << tries)).await;
}

impl DynamoStore {
    /// Runs `writes` as one transaction: `None` when written, else the cancellation
    /// reason of each write (`"None"` for those that did not fail) when a condition
    /// failed. A transaction cancelled by a concurrent one is tried again a few times.
    pub(crate) async fn transact_reasons(
        &self,
        writes: Vec<TransactWriteItem>,
    ) -> StoreResult<Option<Vec<String>>> {
        let mut tries = 0;
        loop {
            let res = self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .send()
                .await;
            let e = match res {
                Ok(_) => return Ok(None),
                Err(e) => e,
            };
            if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
                e.as_service_error()
            {
                let codes: Vec<String> = c
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None").to_string())
                    .collect();
                if codes.iter().any(|c| c == CONDITION_FAILED) {
                    return Ok(Some(codes));
                }
                // Concurrent transactions, or throttling: transient.
                if codes
                    .iter()
                    .any(|c| c == "TransactionConflict" || c == "ThrottlingError")
                {
                    if tries < CONFLICT_RETRIES {
                        tries += 1;
                        backoff(tries).await;
                        continue;
                    }
                    return Err(StoreError::unavailable(format!(
                        "dynamodb: transaction cancelled {} times ({})",
                        tries + 1,
                        codes.join(", ")
                    )));
                }
            }
            return Err(sdk_error(e));
        }
    }

    /// Runs `writes` as one transaction: `Ok(false)` when a condition failed (nothing
    /// was written), `Ok(true)` when all were written.
    pub(crate) async fn transact(&self, writes: Vec<TransactWriteItem>) -> StoreResult<bool> {
        Ok(self.transact_reasons(writes).await?.is_none())
    }
}
