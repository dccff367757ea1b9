//! The live progress line (pages, items, pages/s, queue, errors) on a terminal.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use trawl_engine::CrawlHandle;

use crate::logging::PROGRESS;

/// Shows a progress line while the crawl runs, if stderr is a terminal. Returns the
/// task that updates it; abort it when the crawl ends.
pub fn show(handle: CrawlHandle) -> Option<tokio::task::JoinHandle<()>> {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return None;
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}").ok()?);
    let pb = PROGRESS.get_or_init(|| pb).clone();
    Some(tokio::spawn(async move {
        let started = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tick.tick().await;
            let p = handle.progress();
            let secs = started.elapsed().as_secs_f64().max(0.001);
            pb.set_message(format!(
                "{} pages ({:.0}/s), {} items, {} queued, {} in flight, {} errors",
                p.pages,
                p.pages as f64 / secs,
                p.items,
                p.queued,
                p.in_flight,
                p.errors
            ));
            pb.tick();
        }
    }))
}

/// Removes the progress line.
pub fn finish() {
    if let Some(pb) = PROGRESS.get() {
        pb.finish_and_clear();
    }
}
