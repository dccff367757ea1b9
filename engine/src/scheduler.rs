//! The scheduler: a priority queue of requests behind a fingerprint dedup filter.
//!
//! Requests with a higher priority come out first; among equal priorities the order is
//! LIFO (Scrapy's default memory queue, depth-first) or FIFO (breadth-first, with
//! `DEPTH_PRIORITY = 1`), chosen by `SCHEDULER_MEMORY_QUEUE`. Seen fingerprints are
//! kept as fixed 20-byte arrays. The whole state serialises, for pause and resume.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use crate::fingerprint::Fingerprint;
use crate::request::Request;
use crate::settings::{SettingError, Settings};

/// The order among requests of equal priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueOrder {
    /// Last in, first out (depth-first; Scrapy's default).
    Lifo,
    /// First in, first out (breadth-first).
    Fifo,
}

impl QueueOrder {
    /// Reads `SCHEDULER_MEMORY_QUEUE` (`lifo`, `fifo`, or Scrapy's class paths ending in
    /// `LifoMemoryQueue` / `FifoMemoryQueue`).
    pub fn from_settings(s: &Settings) -> Result<Self, SettingError> {
        let v = s.get_str("SCHEDULER_MEMORY_QUEUE").to_ascii_lowercase();
        if v.is_empty() || v == "lifo" || v.ends_with("lifomemoryqueue") {
            Ok(QueueOrder::Lifo)
        } else if v == "fifo" || v.ends_with("fifomemoryqueue") {
            Ok(QueueOrder::Fifo)
        } else {
            Err(SettingError {
                name: "SCHEDULER_MEMORY_QUEUE".into(),
                message: format!("expected lifo or fifo, got {v:?}"),
            })
        }
    }
}

/// Identity hasher: fingerprints are already uniformly random.
#[derive(Default)]
struct FpHasher(u64);

impl Hasher for FpHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Arrays hash their length first, then their bytes: keep the last 8 bytes seen.
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(b);
        }
    }
}

type SeenSet = HashSet<Fingerprint, BuildHasherDefault<FpHasher>>;

struct Entry {
    priority: i32,
    order: u64,
    request: Request,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .cmp(&other.priority)
            .then(self.order.cmp(&other.order))
    }
}

/// Why [`Scheduler::enqueue`] did not queue a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Its fingerprint was seen before.
    Duplicate,
}

/// The scheduler's persistable state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SchedulerState {
    /// Queue order.
    pub order: QueueOrder,
    /// Pending requests, highest priority first.
    pub pending: Vec<Request>,
    /// Fingerprints seen so far.
    pub seen: Vec<Fingerprint>,
}

/// Priority queue + dedup filter.
pub struct Scheduler {
    heap: BinaryHeap<Entry>,
    seq: u64,
    order: QueueOrder,
    seen: SeenSet,
    /// Fingerprints first seen since the last [`Scheduler::take_new_seen`], when tracked.
    new_seen: Option<Vec<Fingerprint>>,
}

impl Scheduler {
    /// An empty scheduler.
    pub fn new(order: QueueOrder) -> Self {
        Scheduler {
            heap: BinaryHeap::new(),
            seq: 0,
            order,
            seen: SeenSet::default(),
            new_seen: None,
        }
    }

    /// Starts recording newly seen fingerprints (for incremental checkpoints).
    pub fn track_new_seen(&mut self) {
        self.new_seen.get_or_insert_with(Vec::new);
    }

    /// The fingerprints first seen since the last call (empty when not tracked).
    pub fn take_new_seen(&mut self) -> Vec<Fingerprint> {
        match &mut self.new_seen {
            Some(v) => std::mem::take(v),
            None => Vec::new(),
        }
    }

    /// The queue order.
    pub fn order(&self) -> QueueOrder {
        self.order
    }

    /// Queues `request` unless its fingerprint (`None` for `dont_filter`) was seen.
    pub fn enqueue(&mut self, request: Request, fp: Option<Fingerprint>) -> Result<(), Rejected> {
        if let Some(fp) = fp {
            if !self.seen.insert(fp) {
                return Err(Rejected::Duplicate);
            }
            if let Some(new) = &mut self.new_seen {
                new.push(fp);
            }
        }
        self.seq += 1;
        let order = match self.order {
            QueueOrder::Lifo => self.seq,
            QueueOrder::Fifo => u64::MAX - self.seq,
        };
        self.heap.push(Entry {
            priority: request.priority,
            order,
            request,
        });
        Ok(())
    }

    /// The next request to download.
    pub fn next_request(&mut self) -> Option<Request> {
        self.heap.pop().map(|e| e.request)
    }

    /// Pending requests.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no request is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Fingerprints seen so far.
    pub fn seen_count(&self) -> usize {
        self.seen.len()
    }

    /// The pending requests, next first (copies).
    pub fn pending(&self) -> Vec<Request> {
        let mut entries: Vec<&Entry> = self.heap.iter().collect();
        entries.sort_by(|a, b| b.cmp(a));
        entries.into_iter().map(|e| e.request.clone()).collect()
    }

    /// A copy of the state, for pause/resume.
    pub fn state(&self) -> SchedulerState {
        SchedulerState {
            order: self.order,
            pending: self.pending(),
            seen: self.seen.iter().copied().collect(),
        }
    }

    /// Rebuilds a scheduler from a saved state; the pending order is preserved.
    pub fn from_state(state: SchedulerState) -> Self {
        Self::from_parts(state.order, state.pending, state.seen)
    }

    /// A scheduler holding `pending` (next first, queued as they are: no dedup) and
    /// having seen `seen`.
    pub fn from_parts(
        order: QueueOrder,
        pending: Vec<Request>,
        seen: impl IntoIterator<Item = Fingerprint>,
    ) -> Self {
        let mut s = Scheduler::new(order);
        s.seen.extend(seen);
        // Re-queue lowest first so that, within a priority, the saved order holds.
        let n = pending.len();
        for (i, request) in pending.into_iter().enumerate() {
            let rank = (n - i) as u64;
            let order = match order {
                QueueOrder::Lifo => rank,
                QueueOrder::Fifo => u64::MAX - (i as u64 + 1),
            };
            s.heap.push(Entry {
                priority: request.priority,
                order,
                request,
            });
        }
        s.seq = n as u64 + 1;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::fingerprint;

    fn req(path: &str, priority: i32) -> Request {
        Request::parse(&format!("http://h/{path}"))
            .unwrap()
            .priority(priority)
    }

    fn drain(s: &mut Scheduler) -> Vec<String> {
        std::iter::from_fn(|| s.next_request())
            .map(|r| r.url.path().to_string())
            .collect()
    }

    #[test]
    fn priority_then_lifo_or_fifo() {
        for (order, expected) in [
            (QueueOrder::Lifo, ["/hi", "/b", "/a", "/lo"]),
            (QueueOrder::Fifo, ["/hi", "/a", "/b", "/lo"]),
        ] {
            let mut s = Scheduler::new(order);
            for r in [req("a", 0), req("lo", -1), req("b", 0), req("hi", 5)] {
                let fp = fingerprint(&r);
                s.enqueue(r, Some(fp)).unwrap();
            }
            assert_eq!(drain(&mut s), expected);
        }
    }

    #[test]
    fn duplicates_are_filtered_unless_dont_filter() {
        let mut s = Scheduler::new(QueueOrder::Fifo);
        let r = req("a?x=1&y=2", 0);
        let same = req("a?y=2&x=1", 0);
        s.enqueue(r.clone(), Some(fingerprint(&r))).unwrap();
        assert_eq!(
            s.enqueue(same.clone(), Some(fingerprint(&same))),
            Err(Rejected::Duplicate)
        );
        s.enqueue(same, None).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.seen_count(), 1);
    }

    #[test]
    fn state_round_trips_with_order() {
        for order in [QueueOrder::Lifo, QueueOrder::Fifo] {
            let mut s = Scheduler::new(order);
            for r in [req("a", 0), req("b", 0), req("c", 1), req("d", 0)] {
                let fp = fingerprint(&r);
                s.enqueue(r, Some(fp)).unwrap();
            }
            let json = serde_json::to_string(&s.state()).unwrap();
            let mut restored = Scheduler::from_state(serde_json::from_str(&json).unwrap());
            let dup = req("a", 0);
            assert_eq!(
                restored.enqueue(dup.clone(), Some(fingerprint(&dup))),
                Err(Rejected::Duplicate)
            );
            assert_eq!(drain(&mut restored), drain(&mut s));
        }
    }
}
