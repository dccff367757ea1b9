//! Helpers shared by the fan-out tests.

use std::collections::BTreeSet;
use std::time::Duration;

use trawl_core::model::{Job, JobState};
use trawl_core::Control;

/// Waits (up to a minute) for the job to finish.
pub async fn wait_finished(control: &Control, id: &str) -> Job {
    for _ in 0..1200 {
        if let Some(j) = control.status(id, None).await.unwrap() {
            if j.state == JobState::Finished {
                return j;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} never finished");
}

/// The items' URLs, asserting each appears once.
pub async fn item_urls(control: &Control, id: &str) -> BTreeSet<String> {
    let items = control
        .job_items("p", "web", id)
        .await
        .unwrap()
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    for line in items.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        let url = v["url"].as_str().unwrap().to_string();
        assert!(seen.insert(url.clone()), "{url} scraped twice");
    }
    seen
}
