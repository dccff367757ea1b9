//! Incremental crawls (Scrapy's DeltaFetch): a spec with `incremental = true` emits only
//! items that earlier runs of the same spider in the same project did not emit.

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::Mutex;
use trawl_engine::item::item_fingerprint;
use trawl_engine::pipeline::{DropItem, ItemPipeline};
use trawl_engine::Item;

use crate::ports::{ItemFingerprint, ItemHistory, StoreResult};

/// The pipeline: drops items seen before (in earlier runs or earlier in this one).
pub struct SkipSeenItems {
    seen: HashSet<ItemFingerprint>,
    new: Mutex<HashSet<ItemFingerprint>>,
}

impl SkipSeenItems {
    /// Loads the history of `project`/`spider`.
    pub async fn load(
        history: &dyn ItemHistory,
        project: &str,
        spider: &str,
    ) -> StoreResult<Arc<Self>> {
        let seen: HashSet<_> = history
            .seen_items(project, spider)
            .await?
            .into_iter()
            .collect();
        tracing::info!(
            "Incremental crawl: {} item(s) seen by earlier runs",
            seen.len()
        );
        Ok(Arc::new(SkipSeenItems {
            seen,
            new: Mutex::new(HashSet::new()),
        }))
    }

    /// Records this run's new items in the history.
    pub async fn save(
        &self,
        history: &dyn ItemHistory,
        project: &str,
        spider: &str,
    ) -> StoreResult<usize> {
        let new: Vec<ItemFingerprint> = self.new.lock().iter().copied().collect();
        if !new.is_empty() {
            history.add_seen_items(project, spider, &new).await?;
        }
        Ok(new.len())
    }
}

impl ItemPipeline for SkipSeenItems {
    fn name(&self) -> &str {
        "SkipSeenItems"
    }

    fn process_item(&self, item: Item) -> Result<Item, DropItem> {
        let fp = item_fingerprint(&item);
        if self.seen.contains(&fp) || !self.new.lock().insert(fp) {
            return Err(DropItem::new("seen before (incremental)"));
        }
        Ok(item)
    }
}
