//! S3: the [`BlobStore`](trawl_core::ports::BlobStore) ([`S3BlobStore`]) and the `s3`
//! feed storage that streams item feeds with multipart uploads ([`S3FeedStorage`]).

mod blobs;
mod feed;

pub use blobs::S3BlobStore;
pub use feed::{
    checkpoint_key, recover_feed, S3FeedError, S3FeedStorage, S3Op, MAX_QUEUED_PARTS, MIN_PART_SIZE,
};

/// Splits `s3://bucket/key` into the bucket and key.
pub fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri
        .strip_prefix("s3://")
        .or_else(|| uri.strip_prefix("S3://"))?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

#[cfg(test)]
mod tests {
    use super::parse_s3_uri;

    #[test]
    fn s3_uris() {
        assert_eq!(parse_s3_uri("s3://b/k/x.jl"), Some(("b", "k/x.jl")));
        assert_eq!(parse_s3_uri("s3://b/"), None);
        assert_eq!(parse_s3_uri("s3://b"), None);
        assert_eq!(parse_s3_uri("file:///b/k"), None);
    }
}
