//! The real `trawl` binary's client commands (deploy, schedule, jobs, logs, cancel…).
//!
//! Tests that need no server run always; the ones against a real `trawl serve` are
//! ignored until that command exists (see `start_server`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `trawl args…` from the workspace root with no client settings inherited.
fn trawl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trawl"))
        .args(args)
        .current_dir(workspace())
        .env_remove("TRAWL_URL")
        .env_remove("TRAWL_USERNAME")
        .env_remove("TRAWL_PASSWORD")
        .output()
        .expect("run trawl")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A loopback URL where nothing listens.
fn closed_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

#[test]
fn refused_connection_names_the_url_and_suggests_serve() {
    let url = closed_url();
    for args in [
        vec!["jobs"],
        vec!["projects"],
        vec!["status", "j1"],
        vec!["schedule", "p", "s"],
        vec!["cancel", "p", "j1", "--force"],
        vec!["logs", "p", "s", "j1"],
        vec!["schedules", "list"],
        vec!["deploy", "examples/shop.toml", "--project", "p"],
    ] {
        let mut all = args.clone();
        all.extend(["--url", &url]);
        let o = trawl(&all);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.starts_with("error: cannot connect to "), "{err}");
        assert!(err.contains(&url), "{err}");
        assert!(err.contains("trawl serve"), "{err}");
    }
}

#[test]
fn the_url_comes_from_the_environment() {
    let url = closed_url();
    let o = Command::new(env!("CARGO_BIN_EXE_trawl"))
        .args(["projects"])
        .env("TRAWL_URL", &url)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&url), "{}", stderr(&o));
}

#[test]
fn deploy_refuses_invalid_specs_before_uploading() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        workspace().join("examples/shop.toml"),
        dir.path().join("shop.toml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        "name = \"broken\"\nstart_urls = [\"http://x/\"]\nstart_callback = \"nope\"\n",
    )
    .unwrap();
    // The URL is closed: exit 2 with the spec error proves nothing was sent.
    let o = trawl(&[
        "deploy",
        dir.path().to_str().unwrap(),
        "--project",
        "p",
        "--url",
        &closed_url(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("broken.toml: "), "{err}");
    assert!(!err.contains("shop.toml"), "{err}");
    assert!(err.contains("nothing deployed"), "{err}");
}

#[test]
fn bad_arguments_are_usage_errors() {
    let o = trawl(&[
        "schedule",
        "p",
        "s",
        "-a",
        "novalue",
        "--url",
        &closed_url(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("expected NAME=VALUE"), "{}", stderr(&o));
    let o = trawl(&["schedule", "p", "s", "--cron", "@daily", "--jobid", "x"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = trawl(&["schedules", "add", "p", "s"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--cron is required: {}",
        stderr(&o)
    );
}
