//! [`S3FeedError`]: what can go wrong streaming a feed to S3 or recovering one.

use std::fmt;

/// An S3 request made by the feed storage, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Op {
    /// `PutObject` (a small feed, or a checkpoint).
    Put,
    /// `GetObject` (a checkpoint, when recovering).
    Get,
    /// `CreateMultipartUpload`.
    CreateMultipartUpload,
    /// `UploadPart`.
    UploadPart,
    /// `ListParts` (when recovering).
    ListParts,
    /// `CompleteMultipartUpload`.
    CompleteMultipartUpload,
}

impl fmt::Display for S3Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            S3Op::Put => "put",
            S3Op::Get => "get",
            S3Op::CreateMultipartUpload => "create multipart upload",
            S3Op::UploadPart => "upload part",
            S3Op::ListParts => "list parts",
            S3Op::CompleteMultipartUpload => "complete multipart upload",
        })
    }
}

/// Any error, as the SDK's request errors are (one type per operation).
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong streaming a feed to S3 or recovering one.
#[derive(Debug, thiserror::Error)]
pub enum S3FeedError {
    /// An S3 request failed.
    #[error("s3 {op} {uri}: {}", context(.source))]
    Request {
        /// The request.
        op: S3Op,
        /// The object (`s3://bucket/key`).
        uri: String,
        /// The SDK's error.
        #[source]
        source: BoxError,
    },
    /// `CreateMultipartUpload` answered without an upload id.
    #[error("s3 create multipart upload {uri}: no upload id in the response")]
    NoUploadId {
        /// The object (`s3://bucket/key`).
        uri: String,
    },
    /// Reading an object's body failed.
    #[error("s3 read {uri}: {source}")]
    Read {
        /// The object (`s3://bucket/key`).
        uri: String,
        /// The stream's error.
        #[source]
        source: aws_sdk_s3::primitives::ByteStreamError,
    },
    /// The feed's uploader task is gone (its Tokio runtime shut down).
    #[error("the uploader of {uri} stopped (its Tokio runtime shut down)")]
    UploaderGone {
        /// The feed (`s3://bucket/key`).
        uri: String,
    },
    /// The storage was built without a Tokio runtime to upload with.
    #[error("no Tokio runtime to upload {uri} with")]
    NoRuntime {
        /// The feed (`s3://bucket/key`).
        uri: String,
    },
    /// A blocking [`FeedTarget::finish`](trawl_engine::feed::FeedTarget::finish) on a
    /// Tokio runtime's thread, which must not wait for the network.
    #[error(
        "{uri}: an S3 feed cannot be finished by blocking a Tokio runtime's thread \
         (close the feed sink with `close_async`)"
    )]
    WouldBlock {
        /// The feed (`s3://bucket/key`).
        uri: String,
    },
}

impl S3FeedError {
    /// Wraps the SDK's error for `op` on `uri`.
    pub(super) fn request<E>(op: S3Op, uri: &str, source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        S3FeedError::Request {
            op,
            uri: uri.to_string(),
            source: Box::new(source),
        }
    }
}

/// The SDK error with its causes (its own `Display` is only "service error").
fn context(e: &BoxError) -> String {
    aws_sdk_s3::error::DisplayErrorContext(&**e).to_string()
}
