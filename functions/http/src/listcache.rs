//! `listjobs.json` answers cached while the job store is unchanged.
//!
//! A listing of 10,000 queued jobs costs tens of milliseconds to read and serialise; 50
//! callers at once would each pay it. The job store's generation
//! ([`JobStore::generation`](trawl_core::ports::JobStore::generation)) changes with
//! every write, so an answer computed at one generation is served again until the next
//! write, and only one caller computes it while the others wait. Stores without a
//! generation (DynamoDB: each API function is short-lived) are not cached.

use std::collections::HashMap;

use std::sync::Mutex;

use bytes::Bytes;

/// Projects whose listing is kept at most (all are dropped when a new one would
/// exceed it: the bound holds whatever callers ask).
const MAX_ENTRIES: usize = 64;

/// Cached answers by project (`None`: all projects).
#[derive(Default)]
pub(crate) struct ListCache {
    entries: Mutex<HashMap<Option<String>, (u64, Bytes)>>,
    /// Held while an answer is computed: one computation at a time.
    pub(crate) computing: tokio::sync::Mutex<()>,
}

impl ListCache {
    /// The answer for `project` computed at `generation`, if cached.
    pub(crate) fn get(&self, project: &Option<String>, generation: u64) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (g, body) = entries.get(project)?;
        (*g == generation).then(|| body.clone())
    }

    /// Keeps `body` as the answer for `project` at `generation`.
    pub(crate) fn put(&self, project: Option<String>, generation: u64, body: Bytes) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&project) {
            entries.clear();
        }
        entries.insert(project, (generation, body));
    }
}
