//! [`Deliverer`]: drains the outbox. Each due event goes to every webhook of its
//! project that wants it and to every sink, in order of the events; targets that took
//! it are remembered, the others are tried again after an exponential backoff until
//! the retry horizon has passed. At least once: a crash between a delivery and the
//! outbox update delivers again, with the same `Trawl-Event-Id`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::guard::{Answer, WebhookClient};
use super::sign::{signature_header, EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER};
use super::webhook::{Delivery, Webhook};
use crate::ports::{Clock, EventSink, EventStore, OutboxEntry, StoreResult};

/// Events read from the outbox per round.
const BATCH: usize = 100;

/// The longest wait between two rounds of an event.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// How deliveries are made.
#[derive(Debug, Clone, PartialEq)]
pub struct EventsConfig {
    /// Let webhook URLs reach loopback, private and link-local addresses
    /// (`webhook_allow_private`; for receivers on the same machine or network).
    pub allow_private: bool,
    /// The first retry's delay; each further one doubles it, up to an hour.
    pub retry_base: Duration,
    /// How long after the event the deliverer keeps trying.
    pub retry_horizon: Duration,
    /// One delivery's time limit.
    pub timeout: Duration,
    /// The server's public URL, prefixed to `log_url` and `items_url`.
    pub public_url: Option<String>,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            allow_private: false,
            retry_base: Duration::from_secs(10),
            retry_horizon: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
            public_url: None,
        }
    }
}

/// The delay before round `attempts + 1` of an event that failed `attempts` rounds:
/// `base × 2^(attempts - 1)`, at most an hour.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

/// What one drain did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DrainReport {
    /// Deliveries taken by their target (webhooks and sinks).
    pub delivered: usize,
    /// Deliveries that failed (to be retried, or given up).
    pub failed: usize,
    /// Events done with (delivered everywhere, nowhere to go, or given up).
    pub done: usize,
    /// Events given up on (retry horizon passed) with targets left.
    pub given_up: usize,
}

/// Drains the outbox to webhooks and sinks.
#[derive(Clone)]
pub struct Deliverer {
    store: Arc<dyn EventStore>,
    clock: Arc<dyn Clock>,
    sinks: Vec<Arc<dyn EventSink>>,
    client: WebhookClient,
    cfg: EventsConfig,
}

impl Deliverer {
    /// A deliverer over `store`.
    pub fn new(
        store: Arc<dyn EventStore>,
        clock: Arc<dyn Clock>,
        cfg: EventsConfig,
    ) -> anyhow::Result<Self> {
        Ok(Deliverer {
            client: WebhookClient::new(cfg.allow_private, cfg.timeout)?,
            store,
            clock,
            sinks: Vec::new(),
            cfg,
        })
    }

    /// Also publishes every event to `sink`.
    pub fn with_sink(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.sinks.push(sink);
        self
    }

    /// The client deliveries use (its URL check serves registration too).
    pub fn client(&self) -> &WebhookClient {
        &self.client
    }

    /// Delivers every due event, round after round, until none is due.
    pub async fn drain(&self) -> StoreResult<DrainReport> {
        let mut report = DrainReport::default();
        loop {
            let now = self.clock.now();
            let due = self.store.due_events(now, BATCH).await?;
            let n = due.len();
            for entry in due {
                self.round(entry, &mut report).await?;
            }
            if n < BATCH {
                return Ok(report);
            }
        }
    }

    /// Delivers due events, at most `max_events` of them, starting none once `budget`
    /// has passed: the bounded drain of a short-lived caller (the AWS poller). The rest
    /// stay due for the next call.
    pub async fn drain_bounded(
        &self,
        max_events: usize,
        budget: Duration,
    ) -> StoreResult<DrainReport> {
        let started = Instant::now();
        let mut report = DrainReport::default();
        let mut handled = 0;
        while handled < max_events {
            let want = BATCH.min(max_events - handled);
            let due = self.store.due_events(self.clock.now(), want).await?;
            let n = due.len();
            for entry in due {
                if started.elapsed() >= budget {
                    return Ok(report);
                }
                self.round(entry, &mut report).await?;
                handled += 1;
            }
            if n < want {
                break;
            }
        }
        Ok(report)
    }

    /// One round of one event.
    async fn round(&self, entry: OutboxEntry, report: &mut DrainReport) -> StoreResult<()> {
        let event = &entry.event;
        let mut delivered = entry.delivered.clone();
        let attempt = entry.attempts + 1;
        let now = self.clock.now();
        let horizon =
            chrono::Duration::from_std(self.cfg.retry_horizon).unwrap_or(chrono::Duration::MAX);
        let next_at = now
            + chrono::Duration::from_std(backoff(self.cfg.retry_base, attempt))
                .unwrap_or(chrono::Duration::MAX);
        let last_chance = next_at - event.time > horizon;
        let body = event.body(self.cfg.public_url.as_deref());
        let hooks = self.store.webhooks(&event.project).await?;
        let mut pending = 0;
        for hook in hooks.iter().filter(|h| h.wants(event)) {
            if delivered.contains(&hook.id) {
                continue;
            }
            let (answer, took) = self.post(hook, &entry, &body).await;
            let delivery = Delivery {
                event_id: event.id.clone(),
                event_type: event.kind,
                at: now,
                attempt,
                status: answer.status,
                error: answer.error.clone(),
                ok: answer.ok(),
                last: answer.ok() || last_chance,
                duration_ms: took.as_millis().try_into().unwrap_or(u64::MAX),
            };
            if let Err(e) = self.store.record_delivery(&hook.id, &delivery).await {
                tracing::warn!(webhook = %hook.id, "recording a delivery failed: {e}");
            }
            if answer.ok() {
                report.delivered += 1;
                delivered.push(hook.id.clone());
            } else {
                report.failed += 1;
                pending += 1;
                tracing::info!(webhook = %hook.id, event = %event.id, attempt,
                    "delivery failed: {}", answer.error.as_deref().unwrap_or("?"));
            }
        }
        for sink in &self.sinks {
            if delivered.iter().any(|d| d == sink.id()) {
                continue;
            }
            match sink.publish(event, &body).await {
                Ok(()) => {
                    report.delivered += 1;
                    delivered.push(sink.id().to_string());
                }
                Err(e) => {
                    report.failed += 1;
                    pending += 1;
                    tracing::warn!(sink = sink.id(), event = %event.id, "publishing failed: {e:#}");
                }
            }
        }
        if pending == 0 || last_chance {
            if pending > 0 {
                report.given_up += 1;
                tracing::warn!(event = %event.id, "retry horizon passed: {pending} target(s) given up");
            }
            self.store.remove_event(&event.id).await?;
            report.done += 1;
            self.forget_job_hooks(event, &hooks).await;
        } else {
            self.store
                .retry_event(&event.id, entry.attempts, next_at, &delivered)
                .await?;
        }
        Ok(())
    }

    /// Once a job's last event is done with, its `notify` webhooks go.
    async fn forget_job_hooks(&self, event: &super::Event, hooks: &[Webhook]) {
        use super::EventKind::{JobFinished, JobRemoved};
        if !matches!(event.kind, JobFinished | JobRemoved) {
            return;
        }
        for hook in hooks
            .iter()
            .filter(|h| h.job.is_some() && h.job.as_deref() == event.job_id())
        {
            if let Err(e) = self.store.delete_webhook(&hook.project, &hook.id).await {
                tracing::warn!(webhook = %hook.id, "deleting a job's notify webhook: {e}");
            }
        }
    }

    /// One signed POST.
    async fn post(&self, hook: &Webhook, entry: &OutboxEntry, body: &str) -> (Answer, Duration) {
        let started = Instant::now();
        // The wall clock, not the injected one: receivers compare it with theirs.
        let t = Utc::now().timestamp();
        let headers = [
            (
                SIGNATURE_HEADER,
                signature_header(&hook.secret, t, body.as_bytes()),
            ),
            (EVENT_ID_HEADER, entry.event.id.clone()),
            (EVENT_TYPE_HEADER, entry.event.kind.as_str().to_string()),
        ];
        let answer = self
            .client
            .post(&hook.url, &headers, body.to_string())
            .await;
        (answer, started.elapsed())
    }
}
