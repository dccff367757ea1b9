//! Download failures, classified for retries and stats.

use std::time::Duration;

use super::DestinationRefused;

/// Why a download produced no response.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DownloadError {
    /// No complete answer within DOWNLOAD_TIMEOUT.
    #[error("download timed out after {0:?}")]
    Timeout(Duration),
    /// The server refused the TCP connection.
    #[error("connection refused: {0}")]
    ConnectionRefused(String),
    /// The host name could not be resolved.
    #[error("DNS lookup failed: {0}")]
    Dns(String),
    /// The connection failed or was lost mid-response.
    #[error("connection lost: {0}")]
    ConnectionLost(String),
    /// The body exceeded DOWNLOAD_MAXSIZE.
    #[error("Cancelling download of {url}: size exceeds DOWNLOAD_MAXSIZE ({max} bytes)")]
    TooLarge {
        /// The limit in bytes.
        max: u64,
        /// The URL that was cancelled.
        url: String,
    },
    /// A local file could not be read.
    #[error("file error: {0}")]
    File(String),
    /// Unsupported URL scheme.
    #[error("unsupported URL scheme {0:?}")]
    UnsupportedScheme(String),
    /// The [`DestinationPolicy`](super::DestinationPolicy) refused the URL or every
    /// address its host resolved to; nothing was sent.
    #[error("destination refused: {0}")]
    DestinationRefused(DestinationRefused),
    /// A middleware dropped the request (Scrapy's `IgnoreRequest`).
    #[error("request ignored: {0}")]
    Ignored(String),
    /// Any other failure.
    #[error("{0}")]
    Other(String),
}

impl DownloadError {
    /// The short type name used in `downloader/exception_type_count/<type>` and
    /// `retry/reason_count/<type>`.
    pub fn kind(&self) -> &'static str {
        match self {
            DownloadError::Timeout(_) => "TimeoutError",
            DownloadError::ConnectionRefused(_) => "ConnectionRefusedError",
            DownloadError::Dns(_) => "DNSLookupError",
            DownloadError::ConnectionLost(_) => "ConnectionLost",
            DownloadError::TooLarge { .. } => "DownloadMaxSizeExceeded",
            DownloadError::File(_) => "FileError",
            DownloadError::UnsupportedScheme(_) => "NotSupported",
            DownloadError::DestinationRefused(_) => "DestinationRefused",
            DownloadError::Ignored(_) => "IgnoreRequest",
            DownloadError::Other(_) => "DownloadError",
        }
    }

    /// Whether a retry may help (network-level failures and timeouts).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DownloadError::Timeout(_)
                | DownloadError::ConnectionRefused(_)
                | DownloadError::Dns(_)
                | DownloadError::ConnectionLost(_)
        )
    }
}
