//! A fixed pool of callback threads: HTML parsing and extraction run here, off the
//! async I/O threads, on as many threads as there are cores.
//!
//! One pool can serve several crawls (the control plane shares one per process); each
//! crawl tracks its own jobs with a [`JobTracker`] so it can wait for them at close.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, Notify};

type Job = Box<dyn FnOnce() + Send>;

/// A pool of named OS threads running synchronous jobs in FIFO order.
pub struct WorkerPool {
    tx: Mutex<mpsc::Sender<Job>>,
    threads: usize,
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPool")
            .field("threads", &self.threads)
            .finish()
    }
}

/// A job panicked; the message is kept for the log.
#[derive(Debug, thiserror::Error)]
#[error("callback panicked: {0}")]
pub struct Panicked(pub String);

impl WorkerPool {
    /// A pool of `threads` threads (at least one).
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("trawl-callback-{i}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                })
                .expect("cannot spawn a callback thread");
        }
        WorkerPool {
            tx: Mutex::new(tx),
            threads,
        }
    }

    /// A pool with one thread per available core.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// The number of threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` on the pool and waits for its result; a panic comes back as an error.
    pub async fn run<T, F>(&self, tracker: &Arc<JobTracker>, f: F) -> Result<T, Panicked>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let guard = tracker.start();
        let job: Job = Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
                Panicked(
                    p.downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into()),
                )
            });
            drop(guard);
            let _ = tx.send(result);
        });
        let sent = self
            .tx
            .lock()
            .map(|tx| tx.send(job).is_ok())
            .unwrap_or(false);
        if !sent {
            return Err(Panicked("the callback pool is shut down".into()));
        }
        rx.await
            .unwrap_or_else(|_| Err(Panicked("the callback job was lost".into())))
    }
}

/// Counts one crawl's jobs on a pool, so the crawl can wait for them before closing.
#[derive(Debug, Default)]
pub struct JobTracker {
    pending: AtomicUsize,
    idle: Notify,
}

/// Marks a job as finished when dropped (also when the job panics).
pub struct JobGuard(Arc<JobTracker>);

impl Drop for JobGuard {
    fn drop(&mut self) {
        if self.0.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl JobTracker {
    /// A tracker with no pending jobs.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn start(self: &Arc<Self>) -> JobGuard {
        self.pending.fetch_add(1, Ordering::AcqRel);
        JobGuard(self.clone())
    }

    /// Jobs submitted and not yet finished.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// Waits until every job of this tracker has finished.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.pending() == 0 {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_reports_panics() {
        let pool = WorkerPool::new(2);
        let tracker = JobTracker::new();
        assert_eq!(pool.run(&tracker, || 40 + 2).await.unwrap(), 42);
        let err = pool
            .run(&tracker, || -> u32 { panic!("boom") })
            .await
            .unwrap_err();
        assert!(err.0.contains("boom"), "{err}");
        // The pool still works after a panic.
        assert_eq!(pool.run(&tracker, || 1).await.unwrap(), 1);
        tracker.wait_idle().await;
        assert_eq!(tracker.pending(), 0);
    }

    #[tokio::test]
    async fn wait_idle_waits_for_running_jobs() {
        let pool = Arc::new(WorkerPool::new(1));
        let tracker = JobTracker::new();
        let (p, t) = (pool.clone(), tracker.clone());
        let (started_tx, started_rx) = oneshot::channel();
        let job = tokio::spawn(async move {
            p.run(&t, move || {
                let _ = started_tx.send(());
                std::thread::sleep(std::time::Duration::from_millis(100));
                7
            })
            .await
        });
        started_rx.await.unwrap();
        assert_eq!(tracker.pending(), 1);
        tracker.wait_idle().await;
        assert_eq!(tracker.pending(), 0);
        assert_eq!(job.await.unwrap().unwrap(), 7);
    }
}
