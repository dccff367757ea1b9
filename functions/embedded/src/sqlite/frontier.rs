//! [`FrontierStore`] on SQLite: the `frontier_partitions` and `frontier_batches` tables.
//!
//! A partition row holds its lease (`token`, `holder`, `expires`; `holder` and
//! `expires` are NULL when nobody holds it) and whether its checkpoint has pending
//! requests. A batch row is one inbox batch: `seq` (an AUTOINCREMENT key, never reused)
//! orders the inbox, `UNIQUE (job, partition, id)` makes a second put of a batch a
//! no-op, and a consumed batch stays (with `consumed = 1`) so that putting it again
//! still adds nothing. Every call that checks a lease does the check and its writes in
//! one `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so two
//! processes on one file cannot both pass the check.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use trawl_core::frontier::{CloseCounts, FrontierSummary, InboxBatch, Lease};
use trawl_core::ports::{FrontierStore, StoreError, StoreResult};

use super::*;

/// `now + ttl`, in stored microseconds.
fn expiry(now: DateTime<Utc>, ttl: Duration) -> StoreResult<i64> {
    let ttl = i64::try_from(ttl.as_micros())
        .map_err(|_| StoreError::backend(format!("lease ttl out of range: {ttl:?}")))?;
    micros(now)
        .checked_add(ttl)
        .ok_or_else(|| StoreError::backend("lease expiry out of range"))
}

fn from_micros(us: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| StoreError::backend(format!("time out of range: {us}")))
}

/// A count (never negative).
fn count_at(row: &Row, col: usize) -> rusqlite::Result<u64> {
    let n: i64 = row.get(col)?;
    u64::try_from(n).map_err(|e| conversion_error(col, e))
}

fn token(t: u64) -> StoreResult<i64> {
    i64::try_from(t).map_err(|_| StoreError::backend(format!("lease token out of range: {t}")))
}

/// Whether `lease` is still held: the partition's token and holder are the lease's, and
/// it was not released (a lapsed lease nobody took yet is still held).
fn held(tx: &rusqlite::Transaction, lease: &Lease, tok: i64) -> StoreResult<bool> {
    let found = tx
        .prepare_cached(
            "SELECT 1 FROM frontier_partitions
             WHERE job = ?1 AND partition = ?2 AND token = ?3 AND holder = ?4
               AND expires IS NOT NULL",
        )
        .and_then(|mut s| {
            s.query_row(
                params![lease.job, lease.partition, tok, lease.crawler],
                |_| Ok(()),
            )
            .optional()
        })
        .db()?;
    Ok(found.is_some())
}

#[async_trait]
impl FrontierStore for SqliteStore {
    async fn put_batch(&self, job: &str, batch: &InboxBatch) -> StoreResult<bool> {
        let requests = serde_json::to_string(&batch.requests).map_err(StoreError::backend)?;
        let (job, partition, id) = (job.to_string(), batch.partition.clone(), batch.id.clone());
        self.run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .db()?;
            tx.prepare_cached(
                "INSERT INTO frontier_partitions (job, partition) VALUES (?1, ?2)
                 ON CONFLICT (job, partition) DO NOTHING",
            )
            .and_then(|mut s| s.execute(params![job, partition]))
            .db()?;
            let added = tx
                .prepare_cached(
                    "INSERT INTO frontier_batches (job, partition, id, requests)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (job, partition, id) DO NOTHING",
                )
                .and_then(|mut s| s.execute(params![job, partition, id, requests]))
                .db()?;
            tx.commit().db()?;
            Ok(added == 1)
        })
        .await
    }

    async fn lease_partition(
        &self,
        job: &str,
        crawler: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<Option<Lease>> {
        let (job, crawler) = (job.to_string(), crawler.to_string());
        let (now_us, expires) = (micros(now), expiry(now, ttl)?);
        self.run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .db()?;
            // A free partition with work; the least leased first, so that partitions
            // take turns.
            let leased = tx
                .prepare_cached(
                    "UPDATE frontier_partitions
                     SET token = token + 1, holder = ?2, expires = ?4
                     WHERE rowid = (
                         SELECT p.rowid FROM frontier_partitions p
                         WHERE p.job = ?1
                           AND (p.expires IS NULL OR p.expires <= ?3)
                           AND (p.pending <> 0 OR EXISTS (
                               SELECT 1 FROM frontier_batches b
                               WHERE b.job = p.job AND b.partition = p.partition
                                 AND b.consumed = 0))
                         ORDER BY p.token, p.partition
                         LIMIT 1)
                     RETURNING partition, token",
                )
                .and_then(|mut s| {
                    s.query_row(params![job, crawler, now_us, expires], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                    })
                    .optional()
                })
                .db()?;
            tx.commit().db()?;
            let Some((partition, token)) = leased else {
                return Ok(None);
            };
            Ok(Some(Lease {
                job,
                partition,
                crawler,
                token: u64::try_from(token)
                    .map_err(|_| StoreError::Corrupt(format!("lease token {token}")))?,
                expires: from_micros(expires)?,
            }))
        })
        .await
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<bool> {
        let (lease, expires) = (lease.clone(), expiry(now, ttl)?);
        let tok = token(lease.token)?;
        self.run(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE frontier_partitions SET expires = ?5
                     WHERE job = ?1 AND partition = ?2 AND token = ?3 AND holder = ?4
                       AND expires IS NOT NULL",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        lease.job,
                        lease.partition,
                        tok,
                        lease.crawler,
                        expires
                    ])
                })
                .db()?;
            Ok(n == 1)
        })
        .await
    }

    async fn inbox(&self, lease: &Lease) -> StoreResult<Vec<InboxBatch>> {
        let (job, partition) = (lease.job.clone(), lease.partition.clone());
        self.run(move |c| {
            let mut s = c
                .prepare_cached(
                    "SELECT id, requests FROM frontier_batches
                     WHERE job = ?1 AND partition = ?2 AND consumed = 0
                     ORDER BY seq",
                )
                .db()?;
            let rows = s
                .query_map(params![job, partition], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .db()?
                .collect::<rusqlite::Result<Vec<_>>>()
                .db()?;
            rows.into_iter()
                .map(|(id, requests)| {
                    let requests = serde_json::from_str(&requests).map_err(|e| {
                        StoreError::Corrupt(format!("inbox batch {id} of {partition}: {e}"))
                    })?;
                    Ok(InboxBatch {
                        partition: partition.clone(),
                        id,
                        requests,
                    })
                })
                .collect()
        })
        .await
    }

    async fn commit_partition(
        &self,
        lease: &Lease,
        consumed: &[String],
        pending: bool,
        release: bool,
    ) -> StoreResult<bool> {
        let (lease, consumed) = (lease.clone(), consumed.to_vec());
        let tok = token(lease.token)?;
        self.run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .db()?;
            if !held(&tx, &lease, tok)? {
                return Ok(false);
            }
            {
                let mut s = tx
                    .prepare_cached(
                        "UPDATE frontier_batches SET consumed = 1
                         WHERE job = ?1 AND partition = ?2 AND id = ?3",
                    )
                    .db()?;
                for id in &consumed {
                    s.execute(params![lease.job, lease.partition, id]).db()?;
                }
            }
            tx.prepare_cached(
                "UPDATE frontier_partitions
                 SET pending = ?3,
                     holder = CASE WHEN ?4 THEN NULL ELSE holder END,
                     expires = CASE WHEN ?4 THEN NULL ELSE expires END
                 WHERE job = ?1 AND partition = ?2",
            )
            .and_then(|mut s| s.execute(params![lease.job, lease.partition, pending, release]))
            .db()?;
            tx.commit().db()?;
            Ok(true)
        })
        .await
    }

    async fn frontier_summary(
        &self,
        job: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<FrontierSummary> {
        let (job, now) = (job.to_string(), micros(now));
        // One read transaction: the counts are one snapshot.
        self.run(move |c| {
            let tx = c.transaction().db()?;
            let (partitions, leased, ready, waiting, tokens) = tx
                .prepare_cached(
                    "SELECT COUNT(*),
                            COALESCE(SUM(p.expires IS NOT NULL AND p.expires > ?2), 0),
                            COALESCE(SUM(p.pending <> 0), 0),
                            COALESCE(SUM((p.expires IS NULL OR p.expires <= ?2)
                                AND (p.pending <> 0 OR EXISTS (
                                    SELECT 1 FROM frontier_batches b
                                    WHERE b.job = p.job AND b.partition = p.partition
                                      AND b.consumed = 0))), 0),
                            COALESCE(SUM(p.token), 0)
                     FROM frontier_partitions p WHERE p.job = ?1",
                )
                .and_then(|mut s| {
                    s.query_row(params![job, now], |r| {
                        Ok((
                            count_at(r, 0)?,
                            count_at(r, 1)?,
                            count_at(r, 2)?,
                            count_at(r, 3)?,
                            count_at(r, 4)?,
                        ))
                    })
                })
                .db()?;
            let (unconsumed, batches) = tx
                .prepare_cached(
                    "SELECT COALESCE(SUM(consumed = 0), 0), COUNT(*)
                     FROM frontier_batches WHERE job = ?1",
                )
                .and_then(|mut s| {
                    s.query_row(params![job], |r| Ok((count_at(r, 0)?, count_at(r, 1)?)))
                })
                .db()?;
            tx.commit().db()?;
            Ok(FrontierSummary {
                partitions,
                leased,
                ready,
                unconsumed,
                waiting,
                version: tokens + batches + partitions,
            })
        })
        .await
    }

    async fn partitions(&self, job: &str) -> StoreResult<Vec<String>> {
        let job = job.to_string();
        self.run(move |c| {
            let mut s = c
                .prepare_cached(
                    "SELECT partition FROM frontier_partitions WHERE job = ?1 ORDER BY partition",
                )
                .db()?;
            let rows = s
                .query_map(params![job], |r| r.get::<_, String>(0))
                .db()?
                .collect::<rusqlite::Result<Vec<_>>>()
                .db()?;
            Ok(rows)
        })
        .await
    }

    async fn claim_close(
        &self,
        job: &str,
        crawler: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<bool> {
        let (job, crawler) = (job.to_string(), crawler.to_string());
        let (now_us, expires) = (micros(now), expiry(now, ttl)?);
        self.run(move |c| {
            let n = c
                .prepare_cached(
                    "INSERT INTO frontier_closes (job, holder, expires) VALUES (?1, ?2, ?4)
                     ON CONFLICT (job) DO UPDATE SET holder = ?2, expires = ?4
                     WHERE holder = ?2 OR expires <= ?3",
                )
                .and_then(|mut s| s.execute(params![job, crawler, now_us, expires]))
                .db()?;
            Ok(n == 1)
        })
        .await
    }

    async fn add_counts(&self, job: &str, add: CloseCounts) -> StoreResult<CloseCounts> {
        let job = job.to_string();
        let n = |v: u64| i64::try_from(v).map_err(|_| StoreError::backend("count out of range"));
        let (items, pages, errors) = (n(add.items)?, n(add.pages)?, n(add.errors)?);
        self.run(move |c| {
            let (i, p, e): (i64, i64, i64) = c
                .prepare_cached(
                    "INSERT INTO frontier_counts (job, items, pages, errors) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (job) DO UPDATE SET
                         items = items + ?2, pages = pages + ?3, errors = errors + ?4
                     RETURNING items, pages, errors",
                )
                .and_then(|mut s| {
                    s.query_row(params![job, items, pages, errors], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                })
                .db()?;
            let u =
                |v: i64| u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("count {v}")));
            Ok(CloseCounts {
                items: u(i)?,
                pages: u(p)?,
                errors: u(e)?,
            })
        })
        .await
    }

    async fn delete_frontier(&self, job: &str) -> StoreResult<()> {
        let job = job.to_string();
        self.run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .db()?;
            tx.execute("DELETE FROM frontier_batches WHERE job = ?1", params![job])
                .db()?;
            tx.execute(
                "DELETE FROM frontier_partitions WHERE job = ?1",
                params![job],
            )
            .db()?;
            tx.execute("DELETE FROM frontier_closes WHERE job = ?1", params![job])
                .db()?;
            tx.execute("DELETE FROM frontier_counts WHERE job = ?1", params![job])
                .db()?;
            tx.commit().db()
        })
        .await
    }
}
