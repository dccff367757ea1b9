//! [`Webhook`]: where a project's events are POSTed, and [`Delivery`]: one attempt.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::kind::{EventFilter, EventKind};
use super::Event;

/// Webhooks a project may have at once (per-job `notify` webhooks included).
pub const MAX_WEBHOOKS_PER_PROJECT: usize = 20;

/// Delivery attempts kept per webhook (the newest).
pub const DELIVERIES_KEPT: usize = 20;

/// The longest webhook URL, in bytes.
const MAX_URL_LEN: usize = 2048;

/// The shortest secret a caller may choose.
const MIN_SECRET_LEN: usize = 16;

/// The longest secret a caller may choose.
const MAX_SECRET_LEN: usize = 256;

/// A registered webhook. The secret never leaves the server after registration:
/// listings show [`secret_hint`] only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    /// Id (`wh_` + 16 hex digits).
    pub id: String,
    /// The project whose events it receives.
    pub project: String,
    /// Where deliveries are POSTed (`http` or `https`).
    pub url: String,
    /// The HMAC-SHA256 key of the signatures.
    pub secret: String,
    /// The kinds it receives.
    pub events: EventFilter,
    /// Only the events of this job and its schedule's (a `notify` webhook of
    /// `schedule.json`); `None`: every event of the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// Only the events of this schedule and its jobs (a `notify` webhook of
    /// `addschedule.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

/// A webhook that cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The URL is not an absolute `http`/`https` URL.
    #[error("must be an absolute http or https URL of at most 2048 bytes, without credentials")]
    BadUrl,
    /// The chosen secret is too short or too long.
    #[error("must be 16 to 256 printable ASCII characters")]
    BadSecret,
}

impl Webhook {
    /// A new webhook of `project` (checks the URL's form and the secret; where it
    /// points is checked at every delivery). A secret is generated when none is given.
    pub fn new(
        project: &str,
        url: &str,
        events: EventFilter,
        secret: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Self, WebhookError> {
        let url = url.trim();
        let parsed = url::Url::parse(url).map_err(|_| WebhookError::BadUrl)?;
        if url.len() > MAX_URL_LEN
            || !matches!(parsed.scheme(), "http" | "https")
            || parsed.host_str().is_none()
            || !parsed.username().is_empty()
            || parsed.password().is_some()
        {
            return Err(WebhookError::BadUrl);
        }
        let secret = match secret {
            Some(s)
                if (MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&s.len())
                    && s.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                s
            }
            Some(_) => return Err(WebhookError::BadSecret),
            None => new_secret(),
        };
        Ok(Webhook {
            id: format!("wh_{:016x}", rand::random::<u64>()),
            project: project.to_string(),
            url: parsed.to_string(),
            secret,
            events,
            job: None,
            schedule: None,
            created_at: now,
        })
    }

    /// Whether this webhook receives `event`.
    pub fn wants(&self, event: &Event) -> bool {
        if event.project != self.project || !self.events.matches(event.kind) {
            return false;
        }
        match (&self.job, &self.schedule) {
            (Some(job), _) => event.job_id() == Some(job.as_str()),
            (None, Some(schedule)) => event.schedule_id() == Some(schedule.as_str()),
            (None, None) => true,
        }
    }

    /// Whether it is a per-job or per-schedule (`notify`) webhook.
    pub fn is_notify(&self) -> bool {
        self.job.is_some() || self.schedule.is_some()
    }

    /// The kinds a `notify` webhook receives by default.
    pub fn notify_events() -> EventFilter {
        EventFilter::parse("job.*").unwrap_or_default()
    }

    /// The kind names it receives.
    pub fn event_names(&self) -> Vec<&'static str> {
        self.events.names()
    }

    /// Whether it receives `kind` at all.
    pub fn wants_kind(&self, kind: EventKind) -> bool {
        self.events.matches(kind)
    }
}

/// A new random secret: `whsec_` and 64 hex digits (256 bits).
pub fn new_secret() -> String {
    let (a, b): (u128, u128) = (rand::random(), rand::random());
    format!("whsec_{a:032x}{b:032x}")
}

/// What listings show of a secret: its first characters (`whsec_3f9a…`).
pub fn secret_hint(secret: &str) -> String {
    let shown = if secret.starts_with("whsec_") { 10 } else { 4 };
    let head: String = secret.chars().take(shown).collect();
    format!("{head}…")
}

/// One delivery attempt of an event to a webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The event (the idempotency key).
    pub event_id: String,
    /// Its kind.
    pub event_type: EventKind,
    /// When the attempt was made.
    pub at: DateTime<Utc>,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why it failed (no answer, refused address, non-2xx status).
    pub error: Option<String>,
    /// Whether the receiver took it (a 2xx answer).
    pub ok: bool,
    /// Whether no further attempt will be made (delivered, or the retry horizon
    /// passed).
    #[serde(rename = "final")]
    pub last: bool,
    /// How long the attempt took, in milliseconds.
    pub duration_ms: u64,
}
