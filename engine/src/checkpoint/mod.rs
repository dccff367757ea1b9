//! Checkpoints: a consistent, durable snapshot of a running crawl, from which a later
//! process resumes it with every item emitted exactly once.
//!
//! A checkpoint holds the pending requests (including those in flight when it was
//! taken: they are downloaded again after a resume), the seen fingerprints, how many
//! start requests were consumed, the stats and CLOSESPIDER counters, the elapsed time,
//! and the position of every item sink (a feed file's length and its exporter's state).
//! Items written after a checkpoint are rolled back on resume: a feed is truncated to
//! its checkpointed position, and the requests that produced them are in the pending
//! set again.
//!
//! The engine takes a checkpoint with item emission paused (callbacks that are writing
//! items finish first; see [`Gate`](crate::engine)), so the set of pending requests and
//! the feed positions describe the same instant.
//!
//! On a [`CheckpointStore`] a checkpoint is:
//! - `seen-NNNNNN.bin`: segments of 20-byte fingerprints, one per checkpoint, holding
//!   only the fingerprints new since the previous one — the cost of a checkpoint does
//!   not grow with the size of the seen set;
//! - `state.json`: the [`Snapshot`], written last and atomically: it is the commit
//!   point, naming how many segments (and fingerprints) belong to it.

mod store;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::fingerprint::Fingerprint;
use crate::request::Request;
use crate::scheduler::QueueOrder;
use crate::settings::{SettingError, Settings};

pub use store::{CheckpointStore, DirCheckpoints, StoreFuture};

/// The snapshot format this build writes and reads.
pub const FORMAT: u32 = 1;

/// Name of the snapshot in a [`CheckpointStore`].
pub const STATE: &str = "state.json";

/// Name of the `n`-th segment of seen fingerprints.
pub fn seen_segment(n: u32) -> String {
    format!("seen-{n:06}.bin")
}

/// A crawl's state at one instant (`state.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`FORMAT`].
    pub format: u32,
    /// Checkpoints written so far by this crawl (1 for the first).
    pub seq: u64,
    /// When it was written (UTC, ISO 8601).
    pub written_at: String,
    /// The spider's name (a checkpoint of another spider is refused).
    pub spider: String,
    /// Whether the crawl had ended with nothing left to do.
    pub finished: bool,
    /// Queue order of the scheduler.
    pub order: QueueOrder,
    /// Pending requests, next first (in-flight ones first of all).
    pub pending: Vec<Request>,
    /// Segments of seen fingerprints that belong to this snapshot.
    pub seen_segments: u32,
    /// Fingerprints in those segments.
    pub seen_count: u64,
    /// Start requests taken from the spider so far.
    pub starts_consumed: u64,
    /// Whether the spider's start requests were exhausted.
    pub starts_done: bool,
    /// The stats.
    pub stats: Map<String, Value>,
    /// Responses received (CLOSESPIDER_PAGECOUNT).
    pub pages: u64,
    /// Items scraped (CLOSESPIDER_ITEMCOUNT).
    pub items: u64,
    /// Errors (CLOSESPIDER_ERRORCOUNT).
    pub errors: u64,
    /// Seconds the crawl ran before this checkpoint, over every run (CLOSESPIDER_TIMEOUT).
    pub elapsed_secs: f64,
    /// Each item sink's position, in the order the sinks were added.
    pub sinks: Vec<Value>,
    /// Downloader middlewares' state (cookie jars), by middleware name.
    #[serde(default)]
    pub middlewares: Map<String, Value>,
    /// Labels the embedding program attached (e.g. the job attempt that wrote it).
    #[serde(default)]
    pub labels: Map<String, Value>,
}

impl Snapshot {
    /// The position of the `i`-th sink (`Null` when it had none).
    pub fn sink(&self, i: usize) -> &Value {
        self.sinks.get(i).unwrap_or(&Value::Null)
    }
}

/// A checkpoint read back: the snapshot and its seen fingerprints.
#[derive(Debug, Clone)]
pub struct Resume {
    /// The snapshot.
    pub snapshot: Snapshot,
    /// Every fingerprint seen up to it.
    pub seen: Vec<Fingerprint>,
}

/// Why a checkpoint could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The store failed.
    #[error("checkpoint store {store}: {source:#}")]
    Store {
        /// The store, as [`CheckpointStore::describe`] names it.
        store: String,
        /// The failure.
        source: anyhow::Error,
    },
    /// The stored checkpoint is unreadable or inconsistent.
    #[error("checkpoint in {store} is unusable: {message}")]
    Corrupt {
        /// The store.
        store: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads the checkpoint in `store`; `None` when there is none.
pub async fn load(store: &dyn CheckpointStore) -> Result<Option<Resume>, CheckpointError> {
    let name = store.describe();
    let failed = |source| CheckpointError::Store {
        store: name.clone(),
        source,
    };
    let corrupt = |message: String| CheckpointError::Corrupt {
        store: name.clone(),
        message,
    };
    let Some(raw) = store.get(STATE).await.map_err(failed)? else {
        return Ok(None);
    };
    let snapshot: Snapshot =
        serde_json::from_slice(&raw).map_err(|e| corrupt(format!("{STATE}: {e}")))?;
    if snapshot.format != FORMAT {
        return Err(corrupt(format!(
            "format {} (this build reads {FORMAT})",
            snapshot.format
        )));
    }
    let mut seen = Vec::with_capacity(usize::try_from(snapshot.seen_count).unwrap_or(0));
    for n in 0..snapshot.seen_segments {
        let seg = seen_segment(n);
        let bytes = store
            .get(&seg)
            .await
            .map_err(failed)?
            .ok_or_else(|| corrupt(format!("{seg} is missing")))?;
        if bytes.len() % 20 != 0 {
            return Err(corrupt(format!("{seg} is {} bytes long", bytes.len())));
        }
        seen.extend(bytes.chunks_exact(20).map(|c| {
            let mut fp = [0u8; 20];
            fp.copy_from_slice(c);
            fp
        }));
    }
    if seen.len() as u64 != snapshot.seen_count {
        return Err(corrupt(format!(
            "{} seen fingerprints in {} segments, the snapshot says {}",
            seen.len(),
            snapshot.seen_segments,
            snapshot.seen_count
        )));
    }
    Ok(Some(Resume { snapshot, seen }))
}

/// How often a crawl checkpoints: Scrapy-style settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckpointConfig {
    /// `CHECKPOINT_INTERVAL` (seconds; 0 = only when the crawl stops).
    pub every: Option<Duration>,
}

impl CheckpointConfig {
    /// Reads `CHECKPOINT_INTERVAL` (default 30 s).
    pub fn from_settings(s: &Settings) -> Result<Self, SettingError> {
        let d = s.get_duration("CHECKPOINT_INTERVAL")?;
        Ok(CheckpointConfig {
            every: (!d.is_zero()).then_some(d),
        })
    }
}

/// The writer side: numbers checkpoints and segments, and commits them in order (the
/// engine keeps one per crawl; public for tools that write checkpoints themselves).
pub struct Checkpointer {
    pub(crate) store: std::sync::Arc<dyn CheckpointStore>,
    pub(crate) seq: u64,
    pub(crate) segments: u32,
    pub(crate) seen_count: u64,
    pub(crate) labels: Map<String, Value>,
    /// Fingerprints of a failed checkpoint, written with the next one.
    pub(crate) carry: Vec<Fingerprint>,
}

impl Checkpointer {
    /// A writer of a new checkpoint in `store` (nothing written yet).
    pub fn new(store: std::sync::Arc<dyn CheckpointStore>) -> Self {
        Checkpointer {
            store,
            seq: 0,
            segments: 0,
            seen_count: 0,
            labels: Map::new(),
            carry: Vec::new(),
        }
    }

    /// Writes the new fingerprints as the next segment, then `snapshot` (completed with
    /// the sequence and segment numbers) as the commit point.
    pub async fn commit(
        &mut self,
        snapshot: Snapshot,
        new_seen: Vec<Fingerprint>,
    ) -> Result<(), CheckpointError> {
        let mut seen = std::mem::take(&mut self.carry);
        seen.extend(new_seen);
        let result = self.write(snapshot, &seen).await;
        if result.is_err() {
            self.carry = seen;
        }
        result
    }

    async fn write(
        &mut self,
        mut snapshot: Snapshot,
        new_seen: &[Fingerprint],
    ) -> Result<(), CheckpointError> {
        let name = self.store.describe();
        let failed = |source| CheckpointError::Store {
            store: name.clone(),
            source,
        };
        let mut segments = self.segments;
        if !new_seen.is_empty() {
            let bytes: Vec<u8> = new_seen.iter().flatten().copied().collect();
            self.store
                .put(&seen_segment(segments), bytes)
                .await
                .map_err(failed)?;
            segments += 1;
        }
        let seen_count = self.seen_count + new_seen.len() as u64;
        snapshot.seq = self.seq + 1;
        snapshot.seen_segments = segments;
        snapshot.seen_count = seen_count;
        snapshot.labels = self.labels.clone();
        let json = serde_json::to_vec(&snapshot).map_err(|e| failed(e.into()))?;
        self.store.put(STATE, json).await.map_err(failed)?;
        self.seq += 1;
        self.segments = segments;
        self.seen_count = seen_count;
        Ok(())
    }
}
