//! `trawl-bench fanout`: one job over many crawlers, where one crawler is the
//! bottleneck. A web of `hosts` hosts on loopback (127.0.0.2 …), `pages` pages each,
//! every response delayed by `latency`; each crawler limited to
//! `CONCURRENT_REQUESTS = 2` (as one Lambda's vCPU limits a crawler on AWS). The same
//! job runs in a local node (`trawl serve`'s) with 1, 2, 4 and 8 crawlers; reported:
//! pages/s, the speed-up over one crawler, and the frontier store calls per 1,000 pages.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};
use trawl_core::control::ScheduleRequest;
use trawl_core::model::JobState;
use trawl_embedded::local::{LocalConfig, LocalNode};

const SPEC: &str = trawl_demo::WEB_SPEC;

/// Runs the fan-out benchmark and prints a JSON report.
pub async fn run(
    hosts: usize,
    pages: usize,
    latency_ms: u64,
    crawlers: &[usize],
) -> anyhow::Result<()> {
    let bases = trawl_demo::start_web(hosts, pages, Duration::from_millis(latency_ms)).await?;
    let dir = tempfile::tempdir()?;
    let node = LocalNode::start(LocalConfig {
        data_dir: dir.path().to_path_buf(),
        control: trawl_core::ControlConfig {
            max_proc: 1,
            max_crawlers_per_job: 64,
            allowed_destinations: vec!["127.0.0.0/8".parse().expect("a CIDR")],
            ..trawl_core::ControlConfig::default()
        },
        poll_interval: Duration::from_secs(1),
        runner: trawl_core::runner::RunnerConfig::default(),
    })
    .await?;
    let c = node.control().clone();
    c.add_version("bench", "1", SPEC.as_bytes().to_vec().into())
        .await?;
    let mut rows = Vec::new();
    let mut base_rate = None;
    for &n in crawlers {
        let id = format!("fanout-{n}");
        let mut r = ScheduleRequest {
            project: "bench".into(),
            spider: "web".into(),
            job_id: Some(id.clone()),
            ..Default::default()
        };
        r.args.insert("start".into(), bases[0].clone());
        for (k, v) in [
            ("CONCURRENT_CRAWLERS", n.to_string()),
            ("CONCURRENT_REQUESTS", "2".into()),
            ("LOG_LEVEL", "INFO".into()),
        ] {
            r.settings.insert(k.into(), v);
        }
        let t0 = Instant::now();
        c.schedule(r).await?;
        let job = loop {
            if let Some(j) = c.status(&id, None).await? {
                if j.state == JobState::Finished {
                    break j;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let wall = t0.elapsed().as_secs_f64();
        let outcome = job
            .outcome
            .clone()
            .context("a finished job has an outcome")?;
        let stat = |k: &str| outcome.stats.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        let responses = stat("response_received_count");
        let rate = responses / wall;
        let base = *base_rate.get_or_insert(rate);
        let per_k = |k: &str| {
            (stat(&format!("frontier/calls/{k}")) * 1000.0 / responses * 10.0).round() / 10.0
        };
        let row = json!({
            "crawlers": n,
            "finish_reason": outcome.finish_reason,
            "pages": responses,
            "items": outcome.items_scraped(),
            "seconds": (wall * 100.0).round() / 100.0,
            "pages_per_s": (rate * 10.0).round() / 10.0,
            "speedup": (rate / base * 100.0).round() / 100.0,
            "per_1000_pages": {
                "leases": per_k("leases"), "renewals": per_k("renewals"),
                "inbox_reads": per_k("inbox_reads"), "batches_sent": per_k("batches_sent"),
                "commits": per_k("commits"), "summaries": per_k("summaries"),
            },
        });
        eprintln!("{row}");
        rows.push(row);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "hosts": hosts, "pages_per_host": pages, "latency_ms": latency_ms,
            "concurrent_requests_per_crawler": 2, "runs": rows,
        }))?
    );
    Ok(())
}
