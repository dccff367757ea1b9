//! Contract checks for [`BlobStore::list`].

use bytes::Bytes;

use crate::ports::BlobStore;

/// [`BlobStore::list`]: folders and blobs directly under a prefix (part of the
/// blob-store contract).
pub async fn blob_listing_contract(store: &dyn BlobStore) {
    let run = super::unique("l");
    let top = format!("logs/{run}/");
    assert_eq!(
        store.list(&top).await.unwrap(),
        vec![],
        "an empty folder lists nothing"
    );
    let keys = [
        format!("logs/{run}/shop/j1.log"),
        format!("logs/{run}/shop/j2.log"),
        format!("logs/{run}/books/j3.log"),
        format!("logs/{run}/notes.txt"),
    ];
    for (i, key) in keys.iter().enumerate() {
        store
            .put(key, Bytes::from(vec![b'x'; 10 * (i + 1)]))
            .await
            .unwrap();
    }
    let entries = store.list(&top).await.unwrap();
    let summary: Vec<(&str, Option<u64>)> =
        entries.iter().map(|e| (e.name.as_str(), e.size)).collect();
    assert_eq!(
        summary,
        vec![("books", None), ("notes.txt", Some(40)), ("shop", None)],
        "folders and blobs directly under the prefix, sorted by name"
    );
    assert!(
        entries.iter().all(|e| e.modified.is_some()),
        "every entry has a modification time"
    );
    assert!(entries[0].is_folder() && !entries[1].is_folder());
    let shop = store.list(&format!("{top}shop/")).await.unwrap();
    let summary: Vec<(&str, Option<u64>)> =
        shop.iter().map(|e| (e.name.as_str(), e.size)).collect();
    assert_eq!(
        summary,
        vec![("j1.log", Some(10)), ("j2.log", Some(20))],
        "a subfolder lists its blobs with their sizes"
    );
    assert!(
        store
            .list(&format!("{top}shop/j1.log/"))
            .await
            .unwrap()
            .is_empty(),
        "a blob is not a folder"
    );
    for key in &keys {
        store.delete(key).await.unwrap();
    }
    assert!(
        store.list(&format!("{top}shop/")).await.unwrap().is_empty(),
        "deleted blobs are no longer listed"
    );
}
