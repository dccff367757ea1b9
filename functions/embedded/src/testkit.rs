//! For tests (feature `testkit`): a control plane over real SQLite and file stores,
//! with an injected clock and a dispatcher that records instead of crawling.

use std::path::Path;
use std::sync::Arc;

use crate::{FileBlobStore, SqliteStore};
use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use parking_lot::Mutex;
use trawl_core::model::Job;
use trawl_core::ports::{Dispatcher, Kicker, ManualClock};
use trawl_core::{Control, ControlConfig};

/// The example spec, deployed as a one-spec bundle.
pub const SPEC: &str = include_str!("../../../examples/shop.toml");

/// Records dispatched jobs: these tests are about who starts when, not about crawling.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<String>>);

#[async_trait]
impl Dispatcher for Recorder {
    async fn dispatch(&self, job: &Job) -> anyhow::Result<()> {
        self.0.lock().push(job.id.clone());
        Ok(())
    }
    async fn notify_cancel(&self, _job_id: &str, _requests: u32) {}
}

/// A kicker that does nothing: tests poll by hand.
pub struct NoKick;

impl Kicker for NoKick {
    fn kick(&self) {}
}

/// A control plane over SQLite + files in `dir`, its clock (2026-03-01 12:00 UTC) and
/// its recording dispatcher.
pub fn control(dir: &Path, cfg: ControlConfig) -> (Arc<Control>, Arc<ManualClock>, Arc<Recorder>) {
    let db = Arc::new(SqliteStore::open(&dir.join("trawl.db")).unwrap());
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap());
    let blobs = Arc::new(FileBlobStore::new(dir.join("blobs")).unwrap());
    let stores = crate::stores(db, blobs, clock.clone());
    let dispatched = Arc::new(Recorder::default());
    let control = Arc::new(Control::new(
        stores,
        dispatched.clone(),
        Arc::new(NoKick),
        cfg,
    ));
    (control, clock, dispatched)
}
