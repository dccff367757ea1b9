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

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_sdk_dynamodb::types::error::ResourceNotFoundException;

    use super::*;

    type Err = SdkError<GetItemError, ()>;

    #[test]
    fn timeouts_and_lost_connections_are_retryable_the_rest_is_not() {
        let timeout: Err = SdkError::timeout_error("slow");
        assert!(store_error("dynamodb", timeout).is_retryable());
        let dispatch: Err = SdkError::construction_failure("bad request");
        assert!(!store_error("dynamodb", dispatch).is_retryable());
        let missing: Err = SdkError::service_error(
            GetItemError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("no table")
                    .build(),
            ),
            (),
        );
        let throttled: Err = SdkError::service_error(
            GetItemError::ProvisionedThroughputExceededException(
                aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException::builder()
                    .message("slow down")
                    // As a response from the service carries it.
                    .meta(
                        aws_sdk_dynamodb::error::ErrorMetadata::builder()
                            .code("ProvisionedThroughputExceededException")
                            .build(),
                    )
                    .build(),
            ),
            (),
        );
        assert!(store_error("dynamodb", throttled).is_retryable());
        let e = store_error("dynamodb", missing);
        assert!(!e.is_retryable());
        assert!(
            e.to_string().starts_with("storage error: dynamodb: "),
            "{e}"
        );
    }
}
