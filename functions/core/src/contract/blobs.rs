//! Blob-store cases. Every case deletes the blobs it puts.

use bytes::Bytes;

use super::unique;
use crate::ports::BlobStore;

/// The keys of one case: a bundle, a log and an item feed, nested like the real ones.
struct Keys {
    bundle: String,
    log: String,
    items: String,
}

impl Keys {
    fn new() -> Self {
        let run = unique("b");
        Keys {
            bundle: format!("bundles/{run}/v1.bundle"),
            log: format!("logs/{run}/spider/job.log"),
            items: format!("items/{run}/spider/job.jl"),
        }
    }
}

/// 70,000 bytes of every value.
fn binary() -> Bytes {
    Bytes::from((0..=255u8).cycle().take(70_000).collect::<Vec<u8>>())
}

/// A missing key is `None`, and deleting it is fine.
pub async fn missing_blob_is_none_and_deletable(store: &dyn BlobStore) {
    let k = Keys::new();
    assert_eq!(
        store.get(&k.log).await.unwrap(),
        None,
        "a missing key is None"
    );
    store
        .delete(&k.log)
        .await
        .expect("deleting a missing key is fine");
}

/// `get` returns the bytes `put` stored (binary, nested key).
pub async fn blob_round_trips_binary_bytes(store: &dyn BlobStore) {
    let k = Keys::new();
    store.put(&k.bundle, binary()).await.expect("put");
    assert_eq!(
        store.get(&k.bundle).await.unwrap(),
        Some(binary()),
        "get returns the bytes put (binary, nested key)"
    );
    store.delete(&k.bundle).await.unwrap();
}

/// `put` replaces a blob, longer or shorter.
pub async fn put_replaces_the_blob(store: &dyn BlobStore) {
    let k = Keys::new();
    store
        .put(&k.log, Bytes::from_static(b"line 1\n"))
        .await
        .unwrap();
    store
        .put(&k.log, Bytes::from_static(b"line 1\nline 2\n"))
        .await
        .unwrap();
    assert_eq!(
        store.get(&k.log).await.unwrap(),
        Some(Bytes::from_static(b"line 1\nline 2\n")),
        "put replaces the blob"
    );
    store.put(&k.log, Bytes::from_static(b"x")).await.unwrap();
    assert_eq!(
        store.get(&k.log).await.unwrap(),
        Some(Bytes::from_static(b"x")),
        "a shorter overwrite leaves no trailing bytes"
    );
    store.delete(&k.log).await.unwrap();
}

/// An empty blob exists and is empty.
pub async fn empty_blob_exists(store: &dyn BlobStore) {
    let k = Keys::new();
    store.put(&k.items, Bytes::new()).await.unwrap();
    assert_eq!(
        store.get(&k.items).await.unwrap(),
        Some(Bytes::new()),
        "an empty blob exists and is empty"
    );
    store.delete(&k.items).await.unwrap();
    assert_eq!(store.get(&k.items).await.unwrap(), None);
}

/// `delete` removes its key only, and deleting twice is fine.
pub async fn delete_removes_only_its_key(store: &dyn BlobStore) {
    let k = Keys::new();
    store.put(&k.bundle, binary()).await.unwrap();
    store.put(&k.log, Bytes::from_static(b"x")).await.unwrap();
    store.delete(&k.log).await.expect("delete");
    assert_eq!(
        store.get(&k.log).await.unwrap(),
        None,
        "a deleted blob is gone"
    );
    assert_eq!(
        store.get(&k.bundle).await.unwrap(),
        Some(binary()),
        "deleting one key leaves the others"
    );
    store.delete(&k.log).await.expect("deleting twice is fine");
    store.delete(&k.bundle).await.unwrap();
}

/// `feed_uri` gives a URI that `feed_storages` can write.
pub async fn feed_uri_is_writable_by_feed_storages(store: &dyn BlobStore) {
    let k = Keys::new();
    let uri = store.feed_uri(&k.items);
    assert!(!uri.is_empty(), "feed_uri gives a URI");
    assert!(
        store.feed_storages().for_uri(&uri).is_ok(),
        "feed_storages can write feed_uri's URI {uri}"
    );
}
