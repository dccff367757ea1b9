//! Helpers shared by the tests of the `trawl` binary: the workspace root, the demo shop
//! on loopback, and `trawl serve` children.
#![allow(dead_code)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use trawl_demo::{serve, Site, SiteServer, SiteSpec};

/// The workspace root (tests run `trawl` from there).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The demo shop with `products` products, served on loopback by the test process.
pub async fn demo_site(products: usize) -> (Arc<Site>, SiteServer) {
    let site = Arc::new(Site::generate(SiteSpec::new(products, 5)));
    let server = serve(site.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (site, server)
}

/// `trawl serve --port 0` over `data`, for tests: fast polls, loopback destinations
/// allowed, no credentials from the environment. Add to it, then [`spawn_serve`].
pub fn serve_command(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trawl"));
    cmd.args(["serve", "--port", "0", "--data-dir"])
        .arg(data)
        .current_dir(workspace())
        .env("TRAWL_POLL_INTERVAL", "0.2")
        .env("TRAWL_ALLOWED_DESTINATIONS", "127.0.0.0/8")
        .env("TRAWL_LOG_LEVEL", "INFO")
        .env_remove("SCRAPYD_USERNAME")
        .env_remove("SCRAPYD_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    cmd
}

/// Starts a `trawl serve` command and reads its URL from the `listening on` line.
pub fn spawn_serve(mut cmd: Command) -> (Child, String) {
    let mut child = cmd.spawn().expect("start trawl serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(rest) = line.split("http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                let _ = tx.send(format!("http://{addr}"));
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("trawl serve printed its URL");
    (child, url)
}
