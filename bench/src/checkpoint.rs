//! `trawl-bench checkpoint`: what a checkpoint costs.
//!
//! - **synthetic**: a crawl state of `seen` fingerprints and `pending` requests written
//!   to a local directory the way the engine writes it — the first checkpoint (every
//!   fingerprint), then one with 1 % new fingerprints (only those are written: the seen
//!   set goes out as appended segments) — and read back;
//! - **throughput**: the shop crawl (`trawl` child) with no checkpoints, with a
//!   checkpoint every 5 s and every 0.1 s, best of `--runs` each, same site, same run.

use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use serde_json::{Map, Value};
use trawl_engine::checkpoint::{self, Checkpointer, DirCheckpoints, Snapshot};
use trawl_engine::scheduler::QueueOrder;
use trawl_engine::Request;

use crate::{child, measure, start_site, Cli};

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn fingerprint(i: u64) -> [u8; 20] {
    let mut fp = [0u8; 20];
    fp[..8].copy_from_slice(&i.to_le_bytes());
    fp[8..16].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
    fp
}

fn snapshot(pending: &[Request]) -> Snapshot {
    Snapshot {
        format: checkpoint::FORMAT,
        seq: 0,
        written_at: String::new(),
        spider: "shop".into(),
        finished: false,
        order: QueueOrder::Lifo,
        pending: pending.to_vec(),
        seen_segments: 0,
        seen_count: 0,
        starts_consumed: 1,
        starts_done: true,
        stats: Map::new(),
        pages: 0,
        items: 0,
        errors: 0,
        elapsed_secs: 0.0,
        sinks: vec![Value::Null],
        middlewares: Map::new(),
        labels: Map::new(),
    }
}

/// Writes and reads a synthetic checkpoint; prints a table.
pub async fn synthetic(seen: usize, pending: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(DirCheckpoints::new(dir.path()));
    let requests: Vec<Request> = (0..pending)
        .map(|i| {
            Request::parse(&format!(
                "https://shop{}.example.com/category/{}/page/{i}.html?sort=price",
                i % 500,
                i % 37
            ))
            .expect("valid URL")
            .callback("product")
            .meta("depth", 3)
            .priority(-(i as i32 % 4))
        })
        .collect();
    let mut writer = Checkpointer::new(store.clone());
    let all: Vec<[u8; 20]> = (0..seen as u64).map(fingerprint).collect();
    let t = Instant::now();
    writer.commit(snapshot(&requests), all).await?;
    let first = (t.elapsed().as_secs_f64(), dir_bytes(dir.path()));
    let new: Vec<[u8; 20]> = (seen as u64..seen as u64 + seen as u64 / 100)
        .map(fingerprint)
        .collect();
    let t = Instant::now();
    writer.commit(snapshot(&requests), new).await?;
    // Written: the new segment, and state.json again.
    let state_len = std::fs::metadata(dir.path().join(checkpoint::STATE))?.len();
    let second = (
        t.elapsed().as_secs_f64(),
        dir_bytes(dir.path()) - first.1 + state_len,
    );
    let t = Instant::now();
    let back = checkpoint::load(store.as_ref()).await?.expect("written");
    let read = t.elapsed().as_secs_f64();
    if back.seen.len() != seen + seen / 100 || back.snapshot.pending.len() != pending {
        bail!("the checkpoint read back differs");
    }
    let state = std::fs::metadata(dir.path().join(checkpoint::STATE))?.len();
    println!("synthetic state: {seen} seen URLs, {pending} pending requests");
    println!();
    println!("| checkpoint | ms | bytes written |");
    println!("|---|---:|---:|");
    println!(
        "| first (every fingerprint) | {:.0} | {} |",
        first.0 * 1000.0,
        first.1
    );
    println!(
        "| next (+{} fingerprints) | {:.0} | {} |",
        seen / 100,
        second.0 * 1000.0,
        second.1
    );
    println!("| read back (resume) | {:.0} | — |", read * 1000.0);
    println!();
    println!(
        "state.json (pending requests and the rest): {state} bytes, {:.0} bytes per pending request",
        state as f64 / pending.max(1) as f64
    );
    Ok(())
}

/// Runs the shop crawl without checkpoints and with them; prints a table.
pub fn throughput(cli: &Cli) -> anyhow::Result<()> {
    let (_server, base) = start_site(cli)?;
    let variants: [(&str, Option<&str>); 3] = [
        ("no checkpoints", None),
        ("checkpoint every 5 s", Some("5")),
        ("checkpoint every 0.1 s", Some("0.1")),
    ];
    let mut rows = Vec::new();
    for (name, every) in variants {
        let mut best: Option<Value> = None;
        for _ in 0..cli.runs {
            let mut args = vec!["trawl", base.as_str()];
            if let Some(e) = every {
                args.extend(["--checkpoint-interval", e]);
            }
            let r = measure(child(cli, &args)?)?;
            if best
                .as_ref()
                .is_none_or(|b| r["seconds"].as_f64() < b["seconds"].as_f64())
            {
                best = Some(r);
            }
        }
        rows.push((name, best.expect("runs ≥ 1")));
    }
    let base_secs = rows[0].1["seconds"].as_f64().unwrap_or(f64::NAN);
    println!();
    println!(
        "| crawl (best of {}) | pages | items | checkpoints | seconds | pages/s | vs none |",
        cli.runs
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, r) in &rows {
        let secs = r["seconds"].as_f64().unwrap_or(f64::NAN);
        let pages = r["pages"].as_f64().unwrap_or(0.0);
        println!(
            "| {name} | {pages} | {} | {} | {secs:.2} | {:.0} | {:+.1} % |",
            r["items"],
            r["checkpoints"],
            pages / secs,
            (secs / base_secs - 1.0) * 100.0
        );
    }
    Ok(())
}
