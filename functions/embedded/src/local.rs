//! The whole control plane in one process (`trawl serve`): SQLite + files as stores, a
//! tokio poll loop woken at once by every schedule and every finished job, crawls as
//! tokio tasks sharing one callback thread pool, and a delivery loop that drains the
//! event outbox to webhooks.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::{FileBlobStore, SqliteStore};
use trawl_core::control::{Control, ControlConfig};
use trawl_core::events::Deliverer;
use trawl_core::joblog::JOB_SPAN;
use trawl_core::model::{CancelLevel, Job};
use trawl_core::ports::{Clock, Dispatcher, Kicker, SystemClock};
use trawl_core::runner::{apply_cancel, JobHandle, RunResult, RunnerConfig};

/// Wakes the local poll loop.
#[derive(Debug, Default)]
pub struct NotifyKicker(Notify);

impl Kicker for NotifyKicker {
    fn kick(&self) {
        self.0.notify_one();
    }
}

/// Runs started jobs as tokio tasks in this process.
pub struct LocalDispatcher {
    control: OnceLock<Weak<Control>>,
    running: Arc<Mutex<HashMap<String, JobHandle>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    runner: RunnerConfig,
}

impl LocalDispatcher {
    /// A dispatcher; [`LocalDispatcher::attach`] must be called with the control plane.
    pub fn new(runner: RunnerConfig) -> Self {
        LocalDispatcher {
            control: OnceLock::new(),
            running: Arc::new(Mutex::new(HashMap::new())),
            tasks: Mutex::new(Vec::new()),
            runner,
        }
    }

    /// Connects the dispatcher to the control plane that owns it.
    pub fn attach(&self, control: &Arc<Control>) {
        let _ = self.control.set(Arc::downgrade(control));
    }

    /// Handles of the crawls running now.
    pub fn running(&self) -> Vec<(String, JobHandle)> {
        self.running
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Waits for every crawl task started so far.
    pub async fn join_all(&self) {
        let tasks: Vec<_> = std::mem::take(&mut *self.tasks.lock());
        for t in tasks {
            let _ = t.await;
        }
    }
}

#[async_trait]
impl Dispatcher for LocalDispatcher {
    async fn dispatch(&self, job: &Job) -> anyhow::Result<()> {
        let control = self
            .control
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| anyhow::anyhow!("the control plane is shutting down"))?;
        let job = job.clone();
        let running = self.running.clone();
        let runner = self.runner.clone();
        let task = tokio::spawn(async move {
            let id = job.id.clone();
            let reg = running.clone();
            let reg_id = id.clone();
            let result = control
                .run_job(job, &runner, move |h| {
                    reg.lock().insert(reg_id, h);
                })
                .await;
            match result {
                Ok(RunResult::Ran(_)) => {}
                Ok(RunResult::Paused) => {
                    tracing::info!(job = %id, "paused: resumes at the next start")
                }
                Ok(RunResult::Skipped(why)) => tracing::warn!(job = %id, "not run: {why}"),
                Ok(RunResult::Continues) => {
                    tracing::info!(job = %id, "continues in other crawlers")
                }
                // The job stays running without a heartbeat: the reaper deals with it.
                Err(e) => tracing::error!(job = %id, "cannot start the job: {e}"),
            }
            running.lock().remove(&id);
        });
        let mut tasks = self.tasks.lock();
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
        Ok(())
    }

    async fn notify_cancel(&self, job_id: &str, requests: u32) {
        let handle = self.running.lock().get(job_id).cloned();
        if let Some(h) = handle {
            if let Some(level) = CancelLevel::from_requests(requests) {
                // In the job's span, so the job's log records the cancel.
                tracing::info_span!(JOB_SPAN, id = %job_id).in_scope(|| apply_cancel(&h, level));
            }
        }
    }
}

/// Settings of a local node.
#[derive(Clone)]
pub struct LocalConfig {
    /// Where the database, bundles, logs and items live.
    pub data_dir: PathBuf,
    /// Limits and names.
    pub control: ControlConfig,
    /// The safety-net poll period (jobs start at once when a slot is free).
    pub poll_interval: Duration,
    /// How crawls run.
    pub runner: RunnerConfig,
}

/// A running local control plane.
pub struct LocalNode {
    control: Arc<Control>,
    dispatcher: Arc<LocalDispatcher>,
    poll_loop: JoinHandle<()>,
    deliver_loop: JoinHandle<()>,
}

/// How often the delivery loop looks for due events.
const DELIVERY_INTERVAL: Duration = Duration::from_millis(250);

impl LocalNode {
    /// Opens the stores under `data_dir`, deals with jobs a previous process left
    /// running, and starts the poll loop.
    pub async fn start(cfg: LocalConfig) -> anyhow::Result<Self> {
        Self::start_with_clock(cfg, Arc::new(SystemClock)).await
    }

    /// [`LocalNode::start`] with an injected clock (tests).
    pub async fn start_with_clock(cfg: LocalConfig, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&cfg.data_dir)?;
        let db = Arc::new(SqliteStore::open(&cfg.data_dir.join("trawl.db"))?);
        let blobs = Arc::new(FileBlobStore::new(cfg.data_dir.clone())?);
        let stores = crate::stores(db, blobs, clock);
        let kicker = Arc::new(NotifyKicker::default());
        let dispatcher = Arc::new(LocalDispatcher::new(cfg.runner.clone()));
        let control = Arc::new(Control::new(
            stores,
            dispatcher.clone(),
            kicker.clone(),
            cfg.control.clone(),
        ));
        dispatcher.attach(&control);
        let n = control
            .recover_interrupted(&std::process::id().to_string())
            .await?;
        if n > 0 {
            tracing::warn!("{n} job(s) were running when the previous process stopped");
        }
        let poll_loop = tokio::spawn(poll_loop(
            Arc::downgrade(&control),
            kicker,
            cfg.poll_interval,
        ));
        let deliver_loop = tokio::spawn(deliver_loop(control.deliverer()?));
        Ok(LocalNode {
            control,
            dispatcher,
            poll_loop,
            deliver_loop,
        })
    }

    /// The control plane (for the API).
    pub fn control(&self) -> &Arc<Control> {
        &self.control
    }

    /// Stops: running crawls stop gracefully and pause at a checkpoint (they resume at
    /// the next start; a crawl with nothing left records its outcome); pending jobs
    /// stay pending for the next start.
    pub async fn shutdown(self) {
        self.poll_loop.abort();
        for (id, h) in self.dispatcher.running() {
            tracing::info!(job = %id, "stopping for shutdown");
            h.pause();
        }
        self.dispatcher.join_all().await;
        self.deliver_loop.abort();
    }
}

/// Drains the outbox every [`DELIVERY_INTERVAL`] (events left by a previous process
/// first: nothing written before a crash is lost).
async fn deliver_loop(deliverer: Deliverer) {
    loop {
        match deliverer.drain().await {
            Ok(r) if r.delivered + r.failed > 0 => {
                tracing::debug!(
                    delivered = r.delivered,
                    failed = r.failed,
                    "events delivered"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::error!("delivering events failed: {e}"),
        }
        tokio::time::sleep(DELIVERY_INTERVAL).await;
    }
}

async fn poll_loop(control: Weak<Control>, kicker: Arc<NotifyKicker>, every: Duration) {
    let runner_id = std::process::id().to_string();
    let mut polls: u64 = 0;
    loop {
        let Some(c) = control.upgrade() else { return };
        match c.poll_once(&runner_id).await {
            Ok(r) if !r.started.is_empty() || !r.fired.is_empty() => {
                tracing::debug!(started = r.started.len(), fired = r.fired.len(), "poll");
            }
            Ok(_) => {}
            Err(e) => tracing::error!("poll failed: {e}"),
        }
        polls += 1;
        if polls.is_multiple_of(64) {
            if let Err(e) = c.prune().await {
                tracing::error!("pruning finished jobs failed: {e}");
            }
        }
        drop(c);
        tokio::select! {
            _ = kicker.0.notified() => {}
            _ = tokio::time::sleep(every) => {}
        }
    }
}
