//! AWS SDK errors as [`StoreError`]s: transient failures (throttling, timeouts, lost
//! connections, 5xx) are [`StoreError::Unavailable`], so a caller can leave a message for
//! redelivery instead of acknowledging it; everything else is [`StoreError::Backend`].

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use trawl_core::ports::StoreError;

/// Error codes of DynamoDB, S3 and SQS that mean "try again later".
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "InternalServerError",
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Whether an SDK error is worth retrying.
pub(crate) fn is_transient<E, R>(e: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(s) => s.err().code().is_some_and(|c| TRANSIENT_CODES.contains(&c)),
        _ => false,
    }
}

/// An SDK error of `what` (e.g. `"dynamodb"`, `"s3 get"`) as a store error.
pub(crate) fn store_error<E, R>(what: &str, e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    let message = format!("{what}: {}", DisplayErrorContext(&e));
    if is_transient(&e) {
        StoreError::unavailable(message)
    } else {
        StoreError::backend(message)
    }
}
