//! Frontier-store cases ([`FrontierStore`]): inbox batches stored once per id, leases
//! only on partitions with work and only once lapsed, tokens that fence stale holders,
//! commits that consume batches and record pending requests, and the summary that says
//! when a job's crawl is over.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde_json::json;
use trawl_engine::Request;

use super::{secs, t0, Names};
use crate::frontier::{CloseCounts, FrontierSummary, InboxBatch, Lease};
use crate::ports::FrontierStore;

/// The lease time of the cases: a minute.
const TTL: StdDuration = StdDuration::from_secs(60);

fn request(url: &str) -> Request {
    Request::parse(url).expect("a valid URL")
}

/// A batch for `partition` with one GET request to it.
fn batch(partition: &str, id: &str) -> InboxBatch {
    InboxBatch {
        partition: partition.into(),
        id: id.into(),
        requests: vec![request(&format!("http://{partition}/{id}"))],
    }
}

async fn put(store: &dyn FrontierStore, job: &str, b: &InboxBatch) -> bool {
    store.put_batch(job, b).await.expect("put_batch")
}

async fn lease(
    store: &dyn FrontierStore,
    job: &str,
    crawler: &str,
    now: DateTime<Utc>,
) -> Option<Lease> {
    store
        .lease_partition(job, crawler, now, TTL)
        .await
        .expect("lease_partition")
}

/// Leases the job's only leasable partition, which must be `partition`.
async fn lease_of(
    store: &dyn FrontierStore,
    job: &str,
    partition: &str,
    crawler: &str,
    now: DateTime<Utc>,
) -> Lease {
    let l = lease(store, job, crawler, now).await.unwrap_or_else(|| {
        panic!("lease_partition: partition {partition} has work and no live lease, it is leased")
    });
    assert_eq!(
        l.partition, partition,
        "lease_partition leases the partition with work"
    );
    l
}

async fn inbox_ids(store: &dyn FrontierStore, l: &Lease) -> Vec<String> {
    store
        .inbox(l)
        .await
        .expect("inbox")
        .into_iter()
        .map(|b| b.id)
        .collect()
}

async fn commit(
    store: &dyn FrontierStore,
    l: &Lease,
    consumed: &[&str],
    pending: bool,
    release: bool,
) -> bool {
    let consumed: Vec<String> = consumed.iter().map(|s| s.to_string()).collect();
    store
        .commit_partition(l, &consumed, pending, release)
        .await
        .expect("commit_partition")
}

async fn summary(store: &dyn FrontierStore, job: &str, now: DateTime<Utc>) -> FrontierSummary {
    store
        .frontier_summary(job, now)
        .await
        .expect("frontier_summary")
}

fn ttl() -> chrono::Duration {
    chrono::Duration::from_std(TTL).unwrap()
}

/// A batch put twice (consumed or not) is stored once: the second put returns false.
pub async fn put_batch_is_idempotent_by_id(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    let b = batch("a.example", "b1");
    assert!(
        put(store, &job, &b).await,
        "put_batch: a new batch returns true"
    );
    assert!(
        !put(store, &job, &b).await,
        "put_batch: a batch with a known id returns false"
    );
    let l = lease_of(store, &job, "a.example", "c1", t0()).await;
    assert_eq!(
        inbox_ids(store, &l).await,
        vec!["b1"],
        "put_batch: a batch put twice is in the inbox once"
    );
    assert!(
        commit(store, &l, &["b1"], false, true).await,
        "commit_partition"
    );
    assert!(
        !put(store, &job, &b).await,
        "put_batch: a consumed batch put again returns false"
    );
    assert_eq!(
        summary(store, &job, t0()).await.unconsumed,
        0,
        "put_batch: a consumed batch put again adds no work"
    );
}

/// Batches of other jobs and other partitions are separate inboxes.
pub async fn put_batch_keeps_jobs_and_partitions_apart(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let (job1, job2) = (n.id("job1"), n.id("job2"));
    assert!(
        put(store, &job1, &batch("a.example", "b1")).await,
        "put_batch"
    );
    assert!(
        put(store, &job2, &batch("a.example", "b1")).await,
        "put_batch: the same batch id in another job is another batch"
    );
    assert!(
        put(store, &job1, &batch("b.example", "b2")).await,
        "put_batch"
    );
    let l = lease_of(store, &job2, "a.example", "c1", t0()).await;
    assert_eq!(
        inbox_ids(store, &l).await,
        vec!["b1"],
        "inbox: holds only the batches of its job and partition"
    );
    let la = lease(store, &job1, "c1", t0())
        .await
        .expect("lease_partition");
    let lb = lease(store, &job1, "c2", t0())
        .await
        .expect("lease_partition");
    let mut got = vec![
        (la.partition.clone(), inbox_ids(store, &la).await),
        (lb.partition.clone(), inbox_ids(store, &lb).await),
    ];
    got.sort();
    assert_eq!(
        got,
        vec![
            ("a.example".to_string(), vec!["b1".to_string()]),
            ("b.example".to_string(), vec!["b2".to_string()]),
        ],
        "inbox: each partition holds only its own batches"
    );
}

/// Putting a batch creates its partition.
pub async fn put_batch_creates_the_partition(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    assert!(
        store.partitions(&job).await.expect("partitions").is_empty(),
        "partitions: a new job has none"
    );
    assert!(
        put(store, &job, &batch("a.example", "b1")).await,
        "put_batch"
    );
    assert_eq!(
        store.partitions(&job).await.expect("partitions"),
        vec!["a.example"],
        "put_batch: creates the partition"
    );
    assert_eq!(
        summary(store, &job, t0()).await.counts(),
        (1, 0, 0, 1, 1),
        "put_batch: the new partition has one unconsumed batch"
    );
}

/// Only a partition with work is leased; none when nothing is leasable.
pub async fn lease_partition_requires_work(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    assert!(
        lease(store, &job, "c1", t0()).await.is_none(),
        "lease_partition: a job without partitions has nothing to lease"
    );
    put(store, &job, &batch("a.example", "b1")).await;
    let l = lease_of(store, &job, "a.example", "c1", t0()).await;
    assert_eq!(l.job, job, "lease_partition: the lease names the job");
    assert_eq!(
        l.crawler, "c1",
        "lease_partition: the lease names the crawler"
    );
    assert_eq!(
        l.expires,
        t0() + ttl(),
        "lease_partition: the lease runs until now + ttl"
    );
    assert!(
        commit(store, &l, &["b1"], false, true).await,
        "commit_partition"
    );
    assert!(
        lease(store, &job, "c1", t0() + secs(1)).await.is_none(),
        "lease_partition: a partition without batches or pending requests is not leased"
    );
}

/// A partition whose checkpoint holds pending requests is work, without any batch.
pub async fn lease_partition_takes_pending_partitions(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    put(store, &job, &batch("a.example", "b1")).await;
    let first = lease_of(store, &job, "a.example", "c1", t0()).await;
    assert!(
        commit(store, &first, &["b1"], true, true).await,
        "commit_partition"
    );
    let again = lease_of(store, &job, "a.example", "c2", t0() + secs(1)).await;
    assert!(
        again.token > first.token,
        "lease_partition: a new lease has a greater token ({} after {})",
        again.token,
        first.token
    );
    assert!(
        inbox_ids(store, &again).await.is_empty(),
        "lease_partition: the pending partition's inbox is empty"
    );
    assert!(
        commit(store, &again, &[], false, true).await,
        "commit_partition"
    );
    assert!(
        lease(store, &job, "c1", t0() + secs(2)).await.is_none(),
        "lease_partition: once nothing is pending, the partition is not leased"
    );
}

/// A partition under a lease that has not lapsed at `now` is not leased again.
pub async fn lease_partition_skips_live_leases(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    put(store, &job, &batch("a.example", "b1")).await;
    lease_of(store, &job, "a.example", "c1", t0()).await;
    for (s, who) in [(0, "c1"), (0, "c2"), (30, "c2"), (59, "c2")] {
        assert!(
            lease(store, &job, who, t0() + secs(s)).await.is_none(),
            "lease_partition: a lease live at +{s}s is not taken by {who}"
        );
    }
    put(store, &job, &batch("b.example", "b2")).await;
    lease_of(store, &job, "b.example", "c2", t0() + secs(1)).await;
}

/// A lapsed lease is taken by another crawler, with a strictly greater token.
pub async fn lapsed_lease_is_taken_with_a_greater_token(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    put(store, &job, &batch("a.example", "b1")).await;
    let first = lease_of(store, &job, "a.example", "c1", t0()).await;
    let later = t0() + secs(61);
    let second = lease_of(store, &job, "a.example", "c2", later).await;
    assert!(
        second.token > first.token,
        "lease_partition: a lapsed lease is retaken with a greater token ({} after {})",
        second.token,
        first.token
    );
    assert_eq!(
        second.crawler, "c2",
        "lease_partition: the new lease names its crawler"
    );
    assert_eq!(
        second.expires,
        later + ttl(),
        "lease_partition: the new lease runs until now + ttl"
    );
    assert_eq!(
        inbox_ids(store, &second).await,
        vec!["b1"],
        "lease_partition: the retaken partition keeps its unconsumed batches"
    );
}

/// Renewal extends the holder's lease: it is not taken before the new expiry.
pub async fn renew_lease_extends_the_holders_lease(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    put(store, &job, &batch("a.example", "b1")).await;
    let l = lease_of(store, &job, "a.example", "c1", t0()).await;
    assert!(
        store
            .renew_lease(&l, t0() + secs(30), TTL)
            .await
            .expect("renew_lease"),
        "renew_lease: the holder's lease is renewed"
    );
    assert!(
        lease(store, &job, "c2", t0() + secs(80)).await.is_none(),
        "renew_lease: a renewed lease runs until renewal + ttl"
    );
    assert_eq!(
        summary(store, &job, t0() + secs(80)).await.leased,
        1,
        "renew_lease: the renewed lease is live"
    );
    let taken = lease_of(store, &job, "a.example", "c2", t0() + secs(90)).await;
    assert!(taken.token > l.token, "lease_partition: a greater token");
}

/// Renewal is refused for a wrong token, after release, and after another crawler took
/// the partition.
pub async fn renew_lease_refuses_stale_leases(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    put(store, &job, &batch("a.example", "b1")).await;
    let l = lease_of(store, &job, "a.example", "c1", t0()).await;
    let renew = |l: Lease, at: i64| async move {
        store
            .renew_lease(&l, t0() + secs(at), TTL)
            .await
            .expect("renew_lease")
    };
    let wrong = Lease {
        token: l.token + 1,
        ..l.clone()
    };
    assert!(
        !renew(wrong, 1).await,
        "renew_lease: a wrong token is refused"
    );
    let taken = lease_of(store, &job, "a.example", "c2", t0() + secs(61)).await;
    assert!(
        !renew(l.clone(), 62).await,
        "renew_lease: a lapsed lease another crawler took is refused"
    );
    assert!(
        commit(store, &taken, &[], true, true).await,
        "commit_partition"
    );
    assert!(
        !renew(taken.clone(), 63).await,
        "renew_lease: a released lease is refused"
    );
    assert_eq!(
        summary(store, &job, t0() + secs(64)).await.leased,
        0,
        "renew_lease: a refused renewal leases nothing"
    );
}

/// The inbox holds the unconsumed batches in put order; requests round-trip.
pub async fn inbox_returns_batches_in_put_order(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    let p = "a.example";
    let post = request("http://a.example/form?q=1")
        .method("POST".parse().expect("a method"))
        .body(&b"k=v&\xff\x00bin"[..])
        .callback("parse_form")
        .meta("depth_hint", 3)
        .meta("nested", json!({"a": [1, "two", null], "ü": "ñ"}));
    let get = request("http://a.example/list?page=2").callback("parse_list");
    let ids = ["z-last-name-first", "a-second", "m-third"];
    let batches = [
        InboxBatch {
            partition: p.into(),
            id: ids[0].into(),
            requests: vec![post.clone(), get.clone()],
        },
        batch(p, ids[1]),
        batch(p, ids[2]),
    ];
    for b in &batches {
        assert!(put(store, &job, b).await, "put_batch");
    }
    let l = lease_of(store, &job, p, "c1", t0()).await;
    let inbox = store.inbox(&l).await.expect("inbox");
    assert_eq!(
        inbox.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
        ids,
        "inbox: batches in the order they were put"
    );
    for (got, put) in inbox.iter().zip(&batches) {
        assert_eq!(got.partition, p, "inbox: batches name their partition");
        assert_eq!(
            serde_json::to_value(&got.requests).unwrap(),
            serde_json::to_value(&put.requests).unwrap(),
            "inbox: requests round-trip"
        );
    }
    let r = &inbox[0].requests[0];
    assert_eq!(
        r.url.as_str(),
        "http://a.example/form?q=1",
        "inbox: request URL round-trips"
    );
    assert_eq!(
        r.method.as_str(),
        "POST",
        "inbox: request method round-trips"
    );
    assert_eq!(
        &r.body[..],
        b"k=v&\xff\x00bin",
        "inbox: request body round-trips"
    );
    assert_eq!(
        r.callback.as_deref(),
        Some("parse_form"),
        "inbox: callback round-trips"
    );
    assert_eq!(r.meta, post.meta, "inbox: meta round-trips");
    assert_eq!(inbox[0].requests[1].callback.as_deref(), Some("parse_list"));
}

/// A commit consumes the batches it names: they leave the inbox and are no longer work.
pub async fn commit_partition_consumes_batches(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    for id in ["b1", "b2", "b3"] {
        put(store, &job, &batch("a.example", id)).await;
    }
    let l = lease_of(store, &job, "a.example", "c1", t0()).await;
    assert!(
        commit(store, &l, &["b1", "b3"], false, false).await,
        "commit_partition: the holder's commit returns true"
    );
    assert_eq!(
        inbox_ids(store, &l).await,
        vec!["b2"],
        "commit_partition: consumed batches leave the inbox"
    );
    assert_eq!(
        summary(store, &job, t0()).await.counts(),
        (1, 1, 0, 1, 0),
        "commit_partition: without release the lease is kept, consumed batches are not counted"
    );
    assert!(
        commit(store, &l, &["b2"], false, true).await,
        "commit_partition"
    );
    assert!(
        lease(store, &job, "c2", t0() + secs(1)).await.is_none(),
        "commit_partition: consumed batches are no longer work"
    );
}

/// A commit records whether requests are pending, and with `release` ends the lease.
pub async fn commit_partition_records_pending_and_releases(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    put(store, &job, &batch("a.example", "b1")).await;
    let l = lease_of(store, &job, "a.example", "c1", t0()).await;
    assert!(
        commit(store, &l, &["b1"], true, false).await,
        "commit_partition"
    );
    let s = summary(store, &job, t0() + secs(1)).await;
    assert_eq!(
        (s.leased, s.ready, s.unconsumed),
        (1, 1, 0),
        "commit_partition: pending is recorded, the lease kept"
    );
    assert!(
        lease(store, &job, "c2", t0() + secs(1)).await.is_none(),
        "commit_partition: without release, the partition stays leased"
    );
    assert!(commit(store, &l, &[], true, true).await, "commit_partition");
    let s = summary(store, &job, t0() + secs(2)).await;
    assert_eq!(
        (s.leased, s.ready),
        (0, 1),
        "commit_partition: release ends the lease, pending stays"
    );
    let next = lease_of(store, &job, "a.example", "c2", t0() + secs(2)).await;
    assert!(
        next.token > l.token,
        "lease_partition: a greater token after release"
    );
    assert!(
        !commit(store, &l, &[], false, true).await,
        "commit_partition: the released lease can no longer commit"
    );
}

/// A stale lease (lapsed and retaken, or a wrong token) commits nothing.
pub async fn commit_partition_refuses_stale_leases(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    put(store, &job, &batch("a.example", "b1")).await;
    let old = lease_of(store, &job, "a.example", "c1", t0()).await;
    let wrong = Lease {
        token: old.token + 1,
        ..old.clone()
    };
    assert!(
        !commit(store, &wrong, &["b1"], true, true).await,
        "commit_partition: a wrong token is refused"
    );
    let new = lease_of(store, &job, "a.example", "c2", t0() + secs(61)).await;
    assert!(
        !commit(store, &old, &["b1"], true, true).await,
        "commit_partition: a lapsed lease another crawler took is refused"
    );
    assert_eq!(
        inbox_ids(store, &new).await,
        vec!["b1"],
        "commit_partition: a refused commit consumes nothing"
    );
    assert_eq!(
        summary(store, &job, t0() + secs(62)).await.counts(),
        (1, 1, 0, 1, 0),
        "commit_partition: a refused commit records no pending and releases nothing"
    );
    assert!(
        store
            .renew_lease(&new, t0() + secs(62), TTL)
            .await
            .expect("renew_lease"),
        "commit_partition: a refused commit leaves the new holder's lease"
    );
}

/// A batch put after the inbox was read, and not named as consumed, stays work.
pub async fn commit_partition_keeps_batches_put_after_the_read(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    put(store, &job, &batch("a.example", "b1")).await;
    let l = lease_of(store, &job, "a.example", "c1", t0()).await;
    assert_eq!(inbox_ids(store, &l).await, vec!["b1"], "inbox");
    assert!(
        put(store, &job, &batch("a.example", "b2")).await,
        "put_batch"
    );
    assert!(
        commit(store, &l, &["b1"], false, true).await,
        "commit_partition"
    );
    assert_eq!(
        summary(store, &job, t0() + secs(1)).await.unconsumed,
        1,
        "commit_partition: a batch put after the read stays unconsumed"
    );
    let next = lease_of(store, &job, "a.example", "c2", t0() + secs(1)).await;
    assert_eq!(
        inbox_ids(store, &next).await,
        vec!["b2"],
        "commit_partition: the late batch is in the next holder's inbox"
    );
}

/// The summary through a crawl: partitions, live leases, pending partitions and
/// unconsumed batches, until the crawl is done.
pub async fn frontier_summary_through_a_crawl(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    let at = |s: i64| t0() + secs(s);
    let sum = |p: u64, l: u64, r: u64, u: u64, w: u64| (p, l, r, u, w);
    assert_eq!(
        summary(store, &job, at(0)).await.counts(),
        sum(0, 0, 0, 0, 0),
        "frontier_summary: an unknown job has an empty frontier"
    );
    put(store, &job, &batch("a.example", "seed")).await;
    let s = summary(store, &job, at(0)).await;
    assert_eq!(
        s.counts(),
        sum(1, 0, 0, 1, 1),
        "frontier_summary: a seed batch"
    );
    assert!(!s.is_done(), "frontier_summary: a seed batch is work");

    let a = lease_of(store, &job, "a.example", "c1", at(1)).await;
    assert_eq!(
        summary(store, &job, at(1)).await.counts(),
        sum(1, 1, 0, 1, 0),
        "frontier_summary: a live lease is counted, and its partition is not waiting"
    );
    // Crawling a.example finds links to b and c.
    put(store, &job, &batch("b.example", "a-1-0")).await;
    put(store, &job, &batch("c.example", "a-1-1")).await;
    assert!(
        commit(store, &a, &["seed"], true, false).await,
        "commit_partition"
    );
    assert_eq!(
        summary(store, &job, at(2)).await.counts(),
        sum(3, 1, 1, 2, 2),
        "frontier_summary: pending and unconsumed after a checkpoint; b and c wait"
    );
    let b = lease(store, &job, "c2", at(3))
        .await
        .expect("lease_partition");
    assert_ne!(
        b.partition, "a.example",
        "lease_partition: a.example is held"
    );
    let s = summary(store, &job, at(3)).await;
    assert_eq!(
        (s.leased, s.unconsumed),
        (2, 2),
        "frontier_summary: two leases"
    );
    assert_eq!(
        summary(store, &job, at(64)).await.leased,
        0,
        "frontier_summary: lapsed leases are not counted"
    );

    // a.example finishes; b's holder consumes its inbox and finishes.
    assert!(
        commit(store, &a, &[], false, true).await,
        "commit_partition"
    );
    let b_inbox = inbox_ids(store, &b).await;
    let b_ids: Vec<&str> = b_inbox.iter().map(String::as_str).collect();
    assert!(
        commit(store, &b, &b_ids, false, true).await,
        "commit_partition"
    );
    let s = summary(store, &job, at(4)).await;
    assert_eq!(
        s.counts(),
        sum(3, 0, 0, 1, 1),
        "frontier_summary: one batch left"
    );
    assert!(
        !s.is_done(),
        "frontier_summary: an unconsumed batch is work"
    );

    let c = lease(store, &job, "c3", at(5))
        .await
        .expect("lease_partition");
    assert!(
        !summary(store, &job, at(5)).await.is_done(),
        "a live lease is work"
    );
    let c_inbox = inbox_ids(store, &c).await;
    let c_ids: Vec<&str> = c_inbox.iter().map(String::as_str).collect();
    assert!(
        commit(store, &c, &c_ids, false, true).await,
        "commit_partition"
    );
    let s = summary(store, &job, at(6)).await;
    assert_eq!(
        s.counts(),
        sum(3, 0, 0, 0, 0),
        "frontier_summary: everything consumed"
    );
    assert!(s.is_done(), "frontier_summary: the crawl is done");
    assert!(
        lease(store, &job, "c1", at(7)).await.is_none(),
        "lease_partition: a done frontier has nothing to lease"
    );
}

/// `partitions` lists the job's partitions, and only them.
pub async fn partitions_lists_the_jobs_partitions(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let (job, other) = (n.id("job"), n.id("other"));
    for (p, id) in [("b.example", "1"), ("a.example", "2"), ("b.example", "3")] {
        put(store, &job, &batch(p, id)).await;
    }
    put(store, &other, &batch("c.example", "1")).await;
    let mut got = store.partitions(&job).await.expect("partitions");
    got.sort();
    assert_eq!(
        got,
        vec!["a.example", "b.example"],
        "partitions: each of the job's partitions once, no other job's"
    );
}

/// `delete_frontier` removes the job's partitions, batches and leases, not another
/// job's.
pub async fn delete_frontier_removes_only_the_job(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let (job, other) = (n.id("job"), n.id("other"));
    put(store, &job, &batch("a.example", "b1")).await;
    put(store, &job, &batch("b.example", "b2")).await;
    put(store, &other, &batch("a.example", "b1")).await;
    let l = lease_of(store, &job, "a.example", "c1", t0()).await;
    assert!(
        commit(store, &l, &["b1"], true, false).await,
        "commit_partition"
    );
    store.delete_frontier(&job).await.expect("delete_frontier");
    assert!(
        store.partitions(&job).await.expect("partitions").is_empty(),
        "delete_frontier: no partitions left"
    );
    assert_eq!(
        summary(store, &job, t0()).await.counts(),
        FrontierSummary::default().counts(),
        "delete_frontier: nothing is counted"
    );
    assert!(
        lease(store, &job, "c2", t0() + secs(61)).await.is_none(),
        "delete_frontier: nothing to lease"
    );
    assert_eq!(
        summary(store, &other, t0()).await.counts(),
        (1, 0, 0, 1, 1),
        "delete_frontier: another job's frontier is kept"
    );
    let o = lease_of(store, &other, "a.example", "c1", t0()).await;
    assert_eq!(
        inbox_ids(store, &o).await,
        vec!["b1"],
        "delete_frontier: another job's inbox is kept"
    );
    assert!(
        store
            .claim_close(&other, "c1", t0(), TTL)
            .await
            .expect("claim_close"),
        "claim_close"
    );
    store
        .delete_frontier(&job)
        .await
        .expect("delete_frontier: deleting twice is fine");
    assert!(
        !store
            .claim_close(&other, "c2", t0(), TTL)
            .await
            .expect("claim_close"),
        "delete_frontier: another job's close claim is kept"
    );
    store
        .delete_frontier(&other)
        .await
        .expect("delete_frontier");
    assert!(
        store
            .claim_close(&other, "c2", t0(), TTL)
            .await
            .expect("claim_close"),
        "delete_frontier: the close claim goes with the frontier"
    );
}

/// The summary's version moves with every lease and every new batch, and only then:
/// two done summaries with one version prove the crawl over.
pub async fn frontier_summary_version_moves_with_leases_and_batches(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    let v = |s: FrontierSummary| s.version;
    put(store, &job, &batch("a.example", "seed")).await;
    let s0 = summary(store, &job, t0()).await;
    assert_eq!(
        v(summary(store, &job, t0() + secs(1)).await),
        v(s0),
        "frontier_summary: no change, same version"
    );
    assert!(
        !put(store, &job, &batch("a.example", "seed")).await,
        "put_batch"
    );
    assert_eq!(
        v(summary(store, &job, t0()).await),
        v(s0),
        "frontier_summary: a batch put again changes nothing"
    );
    let a = lease_of(store, &job, "a.example", "c1", t0()).await;
    let s1 = summary(store, &job, t0()).await;
    assert_ne!(v(s1), v(s0), "frontier_summary: a lease moves the version");
    put(store, &job, &batch("b.example", "a-1")).await;
    let s2 = summary(store, &job, t0()).await;
    assert_ne!(
        v(s2),
        v(s1),
        "frontier_summary: a new batch moves the version"
    );
    assert!(
        commit(store, &a, &["seed"], false, true).await,
        "commit_partition"
    );
    let b = lease_of(store, &job, "b.example", "c2", t0()).await;
    assert!(
        commit(store, &b, &["a-1"], false, true).await,
        "commit_partition"
    );
    let done = summary(store, &job, t0() + secs(2)).await;
    assert!(done.is_done(), "frontier_summary: the crawl is done");
    assert!(
        !done.confirms(&s2),
        "confirms: an earlier summary that was not done proves nothing"
    );
    let again = summary(store, &job, t0() + secs(3)).await;
    assert!(
        again.confirms(&done),
        "confirms: two done summaries with one version prove the crawl over"
    );
    // A lease taken and given back between two reads is seen by the version.
    put(store, &job, &batch("a.example", "late")).await;
    let late = lease_of(store, &job, "a.example", "c3", t0() + secs(4)).await;
    assert!(
        commit(store, &late, &["late"], false, true).await,
        "commit_partition"
    );
    let after = summary(store, &job, t0() + secs(5)).await;
    assert!(after.is_done(), "frontier_summary: done again");
    assert!(
        !after.confirms(&again),
        "confirms: work done between the reads is seen"
    );
}

/// The counts add up what each crawler adds, per job, until the frontier goes.
pub async fn add_counts_counts_across_crawlers(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let (job, other) = (n.id("job"), n.id("other"));
    let c = |items, pages, errors| CloseCounts {
        items,
        pages,
        errors,
    };
    let add = |job: String, k: CloseCounts| async move {
        store.add_counts(&job, k).await.expect("add_counts")
    };
    assert_eq!(
        add(job.clone(), c(3, 5, 0)).await,
        c(3, 5, 0),
        "add_counts: the first counts"
    );
    assert_eq!(
        add(job.clone(), CloseCounts::default()).await,
        c(3, 5, 0),
        "add_counts: adding nothing reads the totals"
    );
    assert_eq!(
        add(job.clone(), c(4, 1, 2)).await,
        c(7, 6, 2),
        "add_counts: counts add up"
    );
    assert_eq!(
        add(other.clone(), c(1, 1, 1)).await,
        c(1, 1, 1),
        "add_counts: jobs are apart"
    );
    store.delete_frontier(&job).await.expect("delete_frontier");
    assert_eq!(
        add(job.clone(), CloseCounts::default()).await,
        CloseCounts::default(),
        "delete_frontier: the counts go with the frontier"
    );
    assert_eq!(
        add(other, CloseCounts::default()).await,
        c(1, 1, 1),
        "delete_frontier: another job's counts stay"
    );
}

/// One crawler at a time may close a job's crawl; a lapsed claim can be taken over.
pub async fn claim_close_admits_one_closer(store: &dyn FrontierStore) {
    let n = Names::new("frontier");
    let job = n.id("job");
    let claim = |c: &'static str, at: i64| {
        let job = job.clone();
        async move {
            store
                .claim_close(&job, c, t0() + secs(at), TTL)
                .await
                .expect("claim_close")
        }
    };
    assert!(claim("c1", 0).await, "claim_close: the first claim wins");
    assert!(
        !claim("c2", 1).await,
        "claim_close: a live claim of another crawler refuses"
    );
    assert!(
        claim("c1", 2).await,
        "claim_close: the holder may claim again"
    );
    assert!(
        claim("c2", 63).await,
        "claim_close: a lapsed claim is taken over"
    );
    assert!(
        !claim("c1", 64).await,
        "claim_close: the old holder lost it"
    );
    assert!(
        store
            .claim_close(&n.id("other"), "c1", t0(), TTL)
            .await
            .expect("claim_close"),
        "claim_close: jobs are apart"
    );
}
