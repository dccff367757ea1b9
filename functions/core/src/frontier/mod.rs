//! One job across many crawlers: the frontier partitioned by host.
//!
//! A job with `CONCURRENT_CRAWLERS` above 1 is crawled partition by partition. A
//! partition is the requests of one host (or of one registrable domain, with
//! `FRONTIER_PARTITION = "domain"`): one owner at a time crawls it, so per-host
//! politeness and the host's duplicate filter stay exact. A crawler leases a partition
//! with work, loads the partition's checkpoint, takes in its inbox (batches of requests
//! other partitions found for it; the duplicate filter makes a batch delivered twice add
//! nothing), crawls until nothing is left or its time is up, checkpoints, records the
//! batches it consumed, and hands the partition back. Requests for other hosts go to
//! their partition's inbox instead of the scheduler. See docs/ARCHITECTURE.md,
//! "One job across many crawlers", for the termination argument.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use trawl_engine::Request;
use url::Url;

mod join;
mod run;

pub use run::{PartitionedRun, BATCH_SIZE, MAX_BATCH_BYTES, MAX_CRAWLERS};

/// How requests are grouped into partitions (`FRONTIER_PARTITION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartitionBy {
    /// One partition per host (the default).
    #[default]
    Host,
    /// One partition per registrable domain (`shop.example.co.uk` and
    /// `www.example.co.uk` together), for sites spread over subdomains.
    Domain,
}

impl PartitionBy {
    /// Reads the `FRONTIER_PARTITION` setting (`host` or `domain`).
    pub fn parse(s: &str) -> Option<PartitionBy> {
        match s.trim().to_ascii_lowercase().as_str() {
            "host" | "" => Some(PartitionBy::Host),
            "domain" => Some(PartitionBy::Domain),
            _ => None,
        }
    }

    /// The partition of a URL: its host, or its registrable domain (the last two labels,
    /// three when the second-to-last is a common second-level label such as `co` or
    /// `com` under a country code).
    pub fn key(self, url: &Url) -> String {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let host = match url.port() {
            Some(p) if self == PartitionBy::Host => format!("{host}:{p}"),
            _ => host,
        };
        match self {
            PartitionBy::Host => host,
            PartitionBy::Domain => registrable(&host),
        }
    }
}

fn registrable(host: &str) -> String {
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return host.to_string();
    }
    let labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
    let n = labels.len();
    let take = if n >= 3
        && labels[n - 1].len() == 2
        && matches!(
            labels[n - 2],
            "co" | "com" | "net" | "org" | "ac" | "gov" | "edu"
        ) {
        3
    } else {
        2
    };
    labels[n.saturating_sub(take)..].join(".")
}

/// What `CLOSESPIDER_ITEMCOUNT`, `CLOSESPIDER_PAGECOUNT` and `CLOSESPIDER_ERRORCOUNT`
/// count over a whole job (and, as limits, 0 for no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CloseCounts {
    /// Items scraped.
    pub items: u64,
    /// Responses received.
    pub pages: u64,
    /// Download and spider errors.
    pub errors: u64,
}

impl CloseCounts {
    /// The counts of a crawl's progress.
    pub fn of(p: &trawl_engine::Progress) -> Self {
        CloseCounts {
            items: p.items,
            pages: p.pages,
            errors: p.errors,
        }
    }

    /// What grew since `earlier`, per counter.
    pub fn since(&self, earlier: &CloseCounts) -> CloseCounts {
        CloseCounts {
            items: self.items.saturating_sub(earlier.items),
            pages: self.pages.saturating_sub(earlier.pages),
            errors: self.errors.saturating_sub(earlier.errors),
        }
    }

    /// The sum, per counter.
    pub fn plus(&self, other: &CloseCounts) -> CloseCounts {
        CloseCounts {
            items: self.items + other.items,
            pages: self.pages + other.pages,
            errors: self.errors + other.errors,
        }
    }

    /// Whether any counter is above zero.
    pub fn any(&self) -> bool {
        self.items > 0 || self.pages > 0 || self.errors > 0
    }

    /// The first of `limits` (a zero limit is none) these counts reached, as Scrapy's
    /// finish reason.
    pub fn reached(&self, limits: &CloseCounts) -> Option<trawl_engine::FinishReason> {
        use trawl_engine::FinishReason as R;
        let hit = |n: u64, limit: u64| limit > 0 && n >= limit;
        if hit(self.items, limits.items) {
            Some(R::ClosespiderItemcount)
        } else if hit(self.pages, limits.pages) {
            Some(R::ClosespiderPagecount)
        } else if hit(self.errors, limits.errors) {
            Some(R::ClosespiderErrorcount)
        } else {
            None
        }
    }
}

/// A batch of requests for one partition's inbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InboxBatch {
    /// The partition it is for.
    pub partition: String,
    /// Unique per sender and round (`{from}-{lease token}-{n}`): a batch put twice is
    /// stored once.
    pub id: String,
    /// The requests, as the engine serialises them.
    pub requests: Vec<Request>,
}

/// A crawler's hold on a partition, until `expires` unless renewed.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    /// The job.
    pub job: String,
    /// The partition.
    pub partition: String,
    /// Who holds it.
    pub crawler: String,
    /// Grows with every lease of the partition: a stale holder's writes are refused.
    pub token: u64,
    /// When it lapses.
    pub expires: DateTime<Utc>,
}

/// The frontier of a job, counted in one consistent read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrontierSummary {
    /// Partitions known.
    pub partitions: u64,
    /// Partitions under a lease that has not lapsed.
    pub leased: u64,
    /// Partitions whose checkpoint holds pending requests.
    pub ready: u64,
    /// Inbox batches not consumed yet.
    pub unconsumed: u64,
    /// Partitions with work (pending requests or an unconsumed batch) that nobody
    /// holds: what more crawlers could take up now.
    pub waiting: u64,
    /// Moves whenever a lease is taken or a batch is put (the sum of the partitions'
    /// lease tokens plus every batch ever put plus the partitions): two summaries with
    /// the same version saw no lease and no new batch in between.
    pub version: u64,
}

impl FrontierSummary {
    /// Whether the job's crawl is over: no partition has pending requests, no batch
    /// waits in an inbox, and nobody is crawling.
    pub fn is_done(&self) -> bool {
        self.leased == 0 && self.ready == 0 && self.unconsumed == 0
    }

    /// Whether this summary, read after `earlier`, proves the crawl over: both are done
    /// and nothing was leased or put between them. A store whose summary is not one
    /// atomic snapshot (DynamoDB reads item by item) still answers exactly: see
    /// docs/ARCHITECTURE.md, "Termination".
    pub fn confirms(&self, earlier: &FrontierSummary) -> bool {
        earlier.is_done() && self.is_done() && self.version == earlier.version
    }

    /// How many more crawlers the job could use now: one per partition waiting for a
    /// crawler, up to `limit` crawlers in all (the partitions held count as crawlers).
    pub fn crawlers_wanted(&self, limit: u64) -> u64 {
        self.waiting.min(limit.saturating_sub(self.leased))
    }

    /// The counters a store must agree on (everything but the version).
    pub fn counts(&self) -> (u64, u64, u64, u64, u64) {
        (
            self.partitions,
            self.leased,
            self.ready,
            self.unconsumed,
            self.waiting,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_keys() {
        let k = |by: PartitionBy, u: &str| by.key(&Url::parse(u).unwrap());
        assert_eq!(
            k(PartitionBy::Host, "http://WWW.Example.com/a"),
            "www.example.com"
        );
        assert_eq!(
            k(PartitionBy::Host, "http://127.0.0.2:8080/"),
            "127.0.0.2:8080"
        );
        assert_eq!(
            k(PartitionBy::Domain, "https://shop.example.co.uk/"),
            "example.co.uk"
        );
        assert_eq!(
            k(PartitionBy::Domain, "https://a.b.example.com/"),
            "example.com"
        );
        assert_eq!(
            k(PartitionBy::Domain, "http://127.0.0.2:8080/"),
            "127.0.0.2"
        );
        assert_eq!(PartitionBy::parse("Domain"), Some(PartitionBy::Domain));
        assert_eq!(PartitionBy::parse("path"), None);
    }

    #[test]
    fn close_counts_reach_their_limits() {
        let c = |items, pages, errors| CloseCounts {
            items,
            pages,
            errors,
        };
        let limits = c(0, 10, 2);
        assert_eq!(c(100, 9, 1).reached(&limits), None, "a zero limit is none");
        assert_eq!(
            c(0, 10, 5).reached(&limits),
            Some(trawl_engine::FinishReason::ClosespiderPagecount)
        );
        assert_eq!(
            c(0, 3, 2).reached(&limits),
            Some(trawl_engine::FinishReason::ClosespiderErrorcount)
        );
        assert_eq!(c(5, 7, 1).since(&c(2, 7, 3)), c(3, 0, 0));
        assert_eq!(c(1, 2, 3).plus(&c(1, 1, 1)), c(2, 3, 4));
        assert!(!CloseCounts::default().any());
    }
}
