//! Per-domain download slots: concurrency, DOWNLOAD_DELAY pacing and AutoThrottle.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::Rng;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::settings::{SettingError, Settings};

/// Slot settings, read once per crawl.
#[derive(Debug, Clone)]
pub struct SlotConfig {
    /// CONCURRENT_REQUESTS_PER_DOMAIN.
    pub concurrency: usize,
    /// DOWNLOAD_DELAY.
    pub delay: Duration,
    /// RANDOMIZE_DOWNLOAD_DELAY: wait 0.5–1.5 × the delay.
    pub randomize: bool,
    /// AutoThrottle, when AUTOTHROTTLE_ENABLED.
    pub throttle: Option<ThrottleConfig>,
}

/// AutoThrottle settings.
#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    /// AUTOTHROTTLE_START_DELAY.
    pub start_delay: Duration,
    /// AUTOTHROTTLE_MAX_DELAY.
    pub max_delay: Duration,
    /// AUTOTHROTTLE_TARGET_CONCURRENCY.
    pub target_concurrency: f64,
    /// AUTOTHROTTLE_DEBUG: log every adjustment.
    pub debug: bool,
}

impl SlotConfig {
    /// Reads the slot settings.
    pub fn from_settings(s: &Settings) -> Result<Self, SettingError> {
        let throttle = if s.get_bool("AUTOTHROTTLE_ENABLED")? {
            let target = s.get_f64("AUTOTHROTTLE_TARGET_CONCURRENCY")?;
            if target <= 0.0 {
                return Err(SettingError {
                    name: "AUTOTHROTTLE_TARGET_CONCURRENCY".into(),
                    message: "must be greater than 0".into(),
                });
            }
            Some(ThrottleConfig {
                start_delay: s.get_duration("AUTOTHROTTLE_START_DELAY")?,
                max_delay: s.get_duration("AUTOTHROTTLE_MAX_DELAY")?,
                target_concurrency: target,
                debug: s.get_bool("AUTOTHROTTLE_DEBUG")?,
            })
        } else {
            None
        };
        Ok(SlotConfig {
            concurrency: s.get_usize("CONCURRENT_REQUESTS_PER_DOMAIN")?.max(1),
            delay: s.get_duration("DOWNLOAD_DELAY")?,
            randomize: s.get_bool("RANDOMIZE_DOWNLOAD_DELAY")?,
            throttle,
        })
    }
}

/// One domain's slot.
#[derive(Debug)]
pub struct Slot {
    permits: Arc<Semaphore>,
    timing: Mutex<Timing>,
}

#[derive(Debug)]
struct Timing {
    delay: Duration,
    next_start: Instant,
}

impl Slot {
    /// The current delay between request starts in this slot.
    pub fn delay(&self) -> Duration {
        self.timing.lock().delay
    }
}

/// Holds a slot's concurrency permit for the duration of one download.
#[derive(Debug)]
pub struct SlotGuard {
    _permit: OwnedSemaphorePermit,
    /// The slot, for AutoThrottle feedback.
    pub slot: Arc<Slot>,
}

/// All slots, keyed by host name.
#[derive(Debug)]
pub struct Slots {
    cfg: SlotConfig,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl Slots {
    /// An empty set of slots.
    pub fn new(cfg: SlotConfig) -> Self {
        Slots {
            cfg,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &SlotConfig {
        &self.cfg
    }

    fn slot(&self, key: &str) -> Arc<Slot> {
        let mut map = self.slots.lock();
        if let Some(s) = map.get(key) {
            return s.clone();
        }
        let delay = match &self.cfg.throttle {
            Some(t) => t.start_delay.max(self.cfg.delay),
            None => self.cfg.delay,
        };
        let slot = Arc::new(Slot {
            permits: Arc::new(Semaphore::new(self.cfg.concurrency)),
            timing: Mutex::new(Timing {
                delay,
                next_start: Instant::now(),
            }),
        });
        map.insert(key.to_string(), slot.clone());
        slot
    }

    /// Waits for a free place in `key`'s slot and for its delay, then returns a guard
    /// that holds the place until dropped.
    pub async fn acquire(&self, key: &str) -> SlotGuard {
        let slot = self.slot(key);
        let permit = slot
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("slot semaphores are never closed");
        let wait_until = {
            let mut t = slot.timing.lock();
            let now = Instant::now();
            let start = t.next_start.max(now);
            let mut gap = t.delay;
            if self.cfg.randomize && !gap.is_zero() {
                gap = gap.mul_f64(rand::rng().random_range(0.5..1.5));
            }
            t.next_start = start + gap;
            start
        };
        if wait_until > Instant::now() {
            tokio::time::sleep_until(wait_until).await;
        }
        SlotGuard {
            _permit: permit,
            slot,
        }
    }

    /// AutoThrottle feedback: adjusts the slot delay from a response's latency.
    ///
    /// Scrapy's rule: target = latency / target concurrency; new = max(target, mean of
    /// old and target), clamped to [DOWNLOAD_DELAY, AUTOTHROTTLE_MAX_DELAY]; a non-200
    /// answer never lowers the delay.
    pub fn throttle_feedback(&self, slot: &Slot, latency: Duration, status: u16) {
        let Some(t) = &self.cfg.throttle else { return };
        let mut timing = slot.timing.lock();
        let old = timing.delay;
        let target = latency.div_f64(t.target_concurrency);
        let new = target.max((old + target) / 2);
        let new = new.min(t.max_delay).max(self.cfg.delay);
        if status != 200 && new <= old {
            return;
        }
        if t.debug {
            tracing::info!(
                delay_ms = new.as_millis() as u64,
                delta_ms = new.as_millis() as i64 - old.as_millis() as i64,
                latency_ms = latency.as_millis() as u64,
                "autothrottle"
            );
        }
        timing.delay = new;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(throttle: bool) -> SlotConfig {
        SlotConfig {
            concurrency: 2,
            delay: Duration::from_millis(0),
            randomize: false,
            throttle: throttle.then(|| ThrottleConfig {
                start_delay: Duration::from_secs(5),
                max_delay: Duration::from_secs(60),
                target_concurrency: 2.0,
                debug: false,
            }),
        }
    }

    #[test]
    fn autothrottle_follows_scrapys_rule() {
        let slots = Slots::new(cfg(true));
        let slot = slots.slot("a");
        assert_eq!(slot.delay(), Duration::from_secs(5));
        // latency 2 s, target concurrency 2 -> target 1 s; mean(5, 1) = 3 s.
        slots.throttle_feedback(&slot, Duration::from_secs(2), 200);
        assert_eq!(slot.delay(), Duration::from_secs(3));
        // A 500 answer that would lower the delay is ignored.
        slots.throttle_feedback(&slot, Duration::from_millis(10), 500);
        assert_eq!(slot.delay(), Duration::from_secs(3));
        // A slow 200 raises it, capped at the max delay.
        slots.throttle_feedback(&slot, Duration::from_secs(1000), 200);
        assert_eq!(slot.delay(), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn delay_spaces_request_starts() {
        let mut c = cfg(false);
        c.delay = Duration::from_secs(2);
        let slots = Slots::new(c);
        let t0 = Instant::now();
        drop(slots.acquire("h").await);
        drop(slots.acquire("h").await);
        drop(slots.acquire("h").await);
        assert_eq!(t0.elapsed(), Duration::from_secs(4));
        // Another host has its own slot.
        let t1 = Instant::now();
        drop(slots.acquire("other").await);
        assert_eq!(t1.elapsed(), Duration::ZERO);
    }
}
