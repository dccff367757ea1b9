//! Control-plane latency: schedule.json, listjobs.json with 10,000 queued jobs, and
//! schedule→running on an idle server — for Trawl and, when available, Scrapyd, measured
//! over loopback HTTP with the same client in the same run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

/// One server under test.
pub struct Target {
    /// Display name.
    pub name: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// What to deploy: (egg bytes, file name).
    pub egg: (Vec<u8>, &'static str),
    /// The spider to schedule.
    pub spider: &'static str,
    /// Extra schedule.json parameters (spider arguments).
    pub args: Vec<(String, String)>,
    /// The server's process, for its memory.
    pub pid: Option<u32>,
}

/// A process's resident set size in MB (Linux `VmRSS`).
pub fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Concurrent callers of listjobs.json in [`queue_figures`].
pub const CONCURRENT_CALLERS: usize = 50;

/// Latency figures in milliseconds.
#[derive(Debug, Default)]
pub struct Figures {
    /// daemonstatus.json p50 (the HTTP floor).
    pub status_p50: f64,
    /// schedule.json p50 / p99 over the calls.
    pub schedule: (f64, f64),
    /// listjobs.json p50 with the queue full.
    pub listjobs_p50: f64,
    /// listjobs.json p50 / p99 with [`CONCURRENT_CALLERS`] callers at once.
    pub listjobs_concurrent: (f64, f64),
    /// Server RSS in MB: idle before the queue is filled, at the end of the concurrent
    /// listing, and 5 s later.
    pub rss: (f64, f64, f64),
    /// Jobs queued when listjobs was measured.
    pub queued: usize,
    /// schedule → running p50 / p99.
    pub to_running: (f64, f64),
}

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

async fn call(client: &reqwest::Client, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let _ = client;
    let v: Value = req.send().await?.json().await?;
    if v["status"] != "ok" {
        bail!("server answered {v}");
    }
    Ok(v)
}

async fn deploy(client: &reqwest::Client, t: &Target) -> anyhow::Result<()> {
    let form = reqwest::multipart::Form::new()
        .text("project", "bench")
        .text("version", "1")
        .part(
            "egg",
            reqwest::multipart::Part::bytes(t.egg.0.clone()).file_name(t.egg.1),
        );
    call(
        client,
        client
            .post(format!("{}/addversion.json", t.base))
            .multipart(form),
    )
    .await?;
    Ok(())
}

async fn schedule(client: &reqwest::Client, t: &Target) -> anyhow::Result<String> {
    let mut form: Vec<(String, String)> = vec![
        ("project".into(), "bench".into()),
        ("spider".into(), t.spider.into()),
    ];
    form.extend(t.args.iter().cloned());
    let v = call(
        client,
        client.post(format!("{}/schedule.json", t.base)).form(&form),
    )
    .await?;
    Ok(v["jobid"].as_str().unwrap_or_default().to_string())
}

/// Measures schedule.json and listjobs.json on a server that never starts jobs.
pub async fn queue_figures(t: &Target, calls: usize, queued: usize) -> anyhow::Result<Figures> {
    let client = reqwest::Client::new();
    deploy(&client, t).await?;
    let mut f = Figures::default();
    let rss = || t.pid.map_or(f64::NAN, rss_mb);
    f.rss.0 = rss();
    let mut status = Vec::new();
    for _ in 0..200 {
        let s = Instant::now();
        call(&client, client.get(format!("{}/daemonstatus.json", t.base))).await?;
        status.push(s.elapsed().as_secs_f64() * 1e3);
    }
    f.status_p50 = pct(status, 0.5);
    let mut lat = Vec::with_capacity(calls);
    for _ in 0..calls {
        let s = Instant::now();
        schedule(&client, t).await?;
        lat.push(s.elapsed().as_secs_f64() * 1e3);
    }
    f.schedule = (pct(lat.clone(), 0.5), pct(lat, 0.99));
    // Fill the queue (8 connections at once), then list it.
    let client = Arc::new(client);
    let target = Arc::new(Target {
        name: t.name.clone(),
        base: t.base.clone(),
        egg: (Vec::new(), ""),
        spider: t.spider,
        args: t.args.clone(),
        pid: t.pid,
    });
    let mut fill = Vec::new();
    let per = queued.saturating_sub(calls).div_ceil(8);
    for _ in 0..8 {
        let (c, t) = (client.clone(), target.clone());
        fill.push(tokio::spawn(async move {
            for _ in 0..per {
                schedule(&c, &t).await?;
            }
            anyhow::Ok(())
        }));
    }
    for h in fill {
        h.await??;
    }
    let mut list = Vec::new();
    for _ in 0..20 {
        let s = Instant::now();
        let v = call(
            &client,
            client.get(format!("{}/listjobs.json?project=bench", t.base)),
        )
        .await?;
        list.push(s.elapsed().as_secs_f64() * 1e3);
        f.queued = v["pending"].as_array().map_or(0, Vec::len);
    }
    f.listjobs_p50 = pct(list, 0.5);
    // 50 callers at once, 10 calls each (one connection per caller).
    let mut callers = Vec::new();
    for _ in 0..CONCURRENT_CALLERS {
        let url = format!("{}/listjobs.json?project=bench", t.base);
        callers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut lat = Vec::new();
            for _ in 0..10 {
                let s = Instant::now();
                // The whole body is read; parsing it is the client's cost, not measured.
                let body = client.get(&url).send().await?.bytes().await?;
                lat.push(s.elapsed().as_secs_f64() * 1e3);
                if !body.starts_with(b"{") || !body.windows(13).any(|w| w == b"\"status\":\"ok\"") {
                    bail!("listjobs.json failed");
                }
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for c in callers {
        lat.extend(c.await??);
    }
    f.listjobs_concurrent = (pct(lat.clone(), 0.5), pct(lat, 0.99));
    f.rss.1 = rss();
    tokio::time::sleep(Duration::from_secs(5)).await;
    f.rss.2 = rss();
    Ok(f)
}

/// Measures schedule → running (first state other than pending) on an idle server.
pub async fn to_running(t: &Target, runs: usize, poll: Duration) -> anyhow::Result<(f64, f64)> {
    let client = reqwest::Client::new();
    deploy(&client, t).await?;
    let mut lat = Vec::new();
    for _ in 0..runs {
        // Wait for the server to be idle again.
        loop {
            let v = call(&client, client.get(format!("{}/daemonstatus.json", t.base))).await?;
            if v["running"] == 0 && v["pending"] == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let s = Instant::now();
        let id = schedule(&client, t).await?;
        loop {
            let v = call(
                &client,
                client.get(format!("{}/status.json?job={id}", t.base)),
            )
            .await?;
            if v["currstate"] != "pending" {
                break;
            }
            if s.elapsed() > Duration::from_secs(60) {
                bail!("job {id} did not start within 60 s");
            }
            tokio::time::sleep(poll).await;
        }
        lat.push(s.elapsed().as_secs_f64() * 1e3);
    }
    Ok((pct(lat.clone(), 0.5), pct(lat, 0.99)))
}

/// A server process that is killed on drop (with its temp dir, removed after it).
pub struct Server(pub Child, #[allow(dead_code)] pub Option<tempfile::TempDir>);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `base` answers daemonstatus.json.
pub fn wait_ready(base: &str) -> anyhow::Result<()> {
    for _ in 0..300 {
        if std::net::TcpStream::connect(base.trim_start_matches("http://")).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("{base} did not come up")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts Scrapyd from `python`'s environment with its own temp dirs.
pub fn start_scrapyd(python: &str, poll_interval: f64) -> anyhow::Result<(Server, String)> {
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    std::fs::write(
        dir.path().join("scrapyd.conf"),
        format!(
            "[scrapyd]\nbind_address = 127.0.0.1\nhttp_port = {port}\npoll_interval = {poll_interval}\n\
             eggs_dir = eggs\nlogs_dir = logs\nitems_dir =\ndbs_dir = dbs\nmax_proc = 4\n"
        ),
    )?;
    let child = Command::new(python)
        .args(["-m", "scrapyd"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start scrapyd")?;
    let base = format!("http://127.0.0.1:{port}");
    let server = Server(child, Some(dir));
    wait_ready(&base)?;
    Ok((server, base))
}

/// Builds the Scrapyd egg of a one-spider project that finishes at once.
pub fn build_scrapy_egg(python: &str) -> anyhow::Result<Vec<u8>> {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    std::fs::create_dir_all(root.join("benchproj/spiders"))?;
    std::fs::write(
        root.join("setup.py"),
        "from setuptools import setup, find_packages\n\
         setup(name='benchproj', version='1.0', packages=find_packages(),\n\
         entry_points={'scrapy': ['settings = benchproj.settings']})\n",
    )?;
    std::fs::write(root.join("benchproj/__init__.py"), "")?;
    std::fs::write(
        root.join("benchproj/settings.py"),
        "BOT_NAME = 'benchproj'\nSPIDER_MODULES = ['benchproj.spiders']\n",
    )?;
    std::fs::write(
        root.join("benchproj/spiders/__init__.py"),
        "import scrapy\n\nclass Idle(scrapy.Spider):\n    name = 'idle'\n    start_urls = []\n",
    )?;
    let ok = Command::new(python)
        .args(["setup.py", "-q", "bdist_egg", "--dist-dir", "dist"])
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?
        .success();
    if !ok {
        bail!("cannot build the Scrapyd egg");
    }
    let egg: PathBuf = std::fs::read_dir(root.join("dist"))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "egg"))
        .context("no egg built")?;
    Ok(std::fs::read(egg)?)
}

/// Starts the Trawl API server child (this binary's `serve-api`).
pub fn start_trawl(exe: &Path, max_proc: usize) -> anyhow::Result<(Server, String)> {
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let child = Command::new(exe)
        .args([
            "serve-api",
            "--port",
            &port.to_string(),
            "--max-proc",
            &max_proc.to_string(),
            "--data-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let server = Server(child, Some(dir));
    wait_ready(&base)?;
    Ok((server, base))
}
