//! Item-history cases. Every case forgets the projects it records.

use super::unique;
use crate::ports::{ItemFingerprint, ItemHistory};

fn fp(n: u8) -> ItemFingerprint {
    [n; 20]
}

/// A new project has no history.
pub async fn new_project_has_no_history(store: &dyn ItemHistory) {
    let project = unique("hist");
    assert!(
        store.seen_items(&project, "s").await.unwrap().is_empty(),
        "a new project has no history"
    );
}

/// History is per spider; known fingerprints are not recorded twice; nothing to add is fine.
pub async fn seen_items_per_spider_without_duplicates(store: &dyn ItemHistory) {
    let project = unique("hist");
    store
        .add_seen_items(&project, "s", &[fp(1), fp(2)])
        .await
        .unwrap();
    store
        .add_seen_items(&project, "s", &[fp(2), fp(3)])
        .await
        .expect("adding known fingerprints again is fine");
    store
        .add_seen_items(&project, "other", &[fp(9)])
        .await
        .unwrap();
    store
        .add_seen_items(&project, "s", &[])
        .await
        .expect("adding no fingerprints is fine");
    let mut seen = store.seen_items(&project, "s").await.unwrap();
    seen.sort();
    assert_eq!(
        seen,
        vec![fp(1), fp(2), fp(3)],
        "history is per spider, without duplicates"
    );
    assert_eq!(
        store.seen_items(&project, "other").await.unwrap(),
        vec![fp(9)],
        "the other spider's history"
    );
    store.forget_items(&project).await.unwrap();
}

/// Many fingerprints at once (a large crawl's worth) are all recorded.
pub async fn many_seen_items_at_once(store: &dyn ItemHistory) {
    let project = unique("hist");
    let many: Vec<ItemFingerprint> = (0..3000u32)
        .map(|i| {
            let mut f = [0u8; 20];
            f[..4].copy_from_slice(&i.to_be_bytes());
            f[19] = 0xAA;
            f
        })
        .collect();
    store.add_seen_items(&project, "big", &many).await.unwrap();
    let mut seen = store.seen_items(&project, "big").await.unwrap();
    seen.sort();
    assert_eq!(seen.len(), 3000, "3000 fingerprints recorded");
    assert!(seen == many, "the fingerprints recorded are the ones added");
    store.forget_items(&project).await.unwrap();
}

/// `forget_items` forgets every spider of the project, and only that project.
pub async fn forget_items_clears_every_spider(store: &dyn ItemHistory) {
    let project = unique("hist");
    let other = unique("hist");
    store.add_seen_items(&project, "s", &[fp(1)]).await.unwrap();
    store
        .add_seen_items(&project, "big", &[fp(2), fp(3)])
        .await
        .unwrap();
    store.add_seen_items(&other, "s", &[fp(4)]).await.unwrap();
    store.forget_items(&project).await.expect("forget_items");
    assert!(
        store.seen_items(&project, "s").await.unwrap().is_empty(),
        "forget_items forgets every spider"
    );
    assert!(store.seen_items(&project, "big").await.unwrap().is_empty());
    assert_eq!(
        store.seen_items(&other, "s").await.unwrap(),
        vec![fp(4)],
        "forget_items leaves the other projects"
    );
    store.forget_items(&other).await.unwrap();
}
