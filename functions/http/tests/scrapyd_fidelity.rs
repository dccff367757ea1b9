//! What a Scrapyd client notices, over real HTTP on loopback with real SQLite and file
//! stores: job ids used again after their job finished, versions stored under
//! Scrapyd's sanitised names, ScrapydWeb's egg upload, Scrapyd's answers for unknown
//! projects and traversal attempts, the `/logs/` and `/items/` listings, and
//! `X-Forwarded-Prefix` on the pages. Crawls are not run: a recording dispatcher
//! stands in for the runner, and the tests move jobs with the stores.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use trawl_core::model::{JobState, Outcome};
use trawl_core::{Control, ControlConfig};
use trawl_embedded::testkit::{self, SPEC};
use trawl_http::{router, ApiOptions};

struct Server {
    url: String,
    control: Arc<Control>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let (control, _clock, _dispatched) = testkit::control(dir.path(), ControlConfig::default());
        let app = router(control.clone(), ApiOptions::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server {
            url: format!("http://{addr}"),
            control,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    async fn get(&self, path: &str) -> Value {
        let res = self.http.get(self.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        serde_json::from_slice(&res.bytes().await.unwrap()).unwrap()
    }

    /// A form POST, urlencoded byte by byte as Python's `requests` sends `data=`.
    async fn post(&self, path: &str, form: &[(&str, &[u8])]) -> Value {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k.as_bytes()), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let res = self
            .http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        serde_json::from_slice(&res.bytes().await.unwrap()).unwrap()
    }

    async fn page(&self, path: &str, prefix: Option<&str>) -> (StatusCode, String) {
        let mut req = self.http.get(self.url(path));
        if let Some(p) = prefix {
            req = req.header("X-Forwarded-Prefix", p);
        }
        let res = req.send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    }

    async fn deploy(&self, project: &str, version: &str) {
        let v = self
            .post(
                "/addversion.json",
                &[
                    ("project", project.as_bytes()),
                    ("version", version.as_bytes()),
                    ("egg", SPEC.as_bytes()),
                ],
            )
            .await;
        ok(&v);
    }

    async fn schedule(&self, project: &str, jobid: &str) -> Value {
        self.post(
            "/schedule.json",
            &[
                ("project", project.as_bytes()),
                ("spider", b"shop"),
                ("jobid", jobid.as_bytes()),
            ],
        )
        .await
    }

    /// Starts the pending jobs and finishes `job` (as a crawler would).
    async fn run_to_end(&self, job: &str) {
        self.control.poll_once("runner-1").await.unwrap();
        let jobs = &self.control.stores().jobs;
        let j = jobs.get_job(job).await.unwrap().unwrap();
        assert_eq!(j.state, JobState::Running);
        let end = Utc.with_ymd_and_hms(2026, 3, 1, 12, 5, 0).unwrap();
        let outcome = Outcome::reason("finished", None);
        assert!(jobs
            .finish_job(job, j.attempt, &outcome, end)
            .await
            .unwrap());
    }
}

fn encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[track_caller]
fn ok(v: &Value) {
    assert_eq!(v["status"], "ok", "{v}");
}

#[track_caller]
fn err(v: &Value, message: &str) {
    assert_eq!(v["status"], "error", "{v}");
    assert_eq!(v["message"], message, "{v}");
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, data) in files {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[tokio::test]
async fn a_finished_jobs_id_is_accepted_again() {
    let s = Server::start().await;
    s.deploy("shopping", "1").await;
    s.deploy("books", "1").await;
    ok(&s.schedule("shopping", "again").await);
    let taken = "jobid is invalid: job 'again' is already pending or running";
    err(&s.schedule("shopping", "again").await, taken);
    s.control.poll_once("runner-1").await.unwrap();
    err(&s.schedule("books", "again").await, taken);

    let jobs = &s.control.stores().jobs;
    let first = jobs.get_job("again").await.unwrap().unwrap();
    let end = Utc.with_ymd_and_hms(2026, 3, 1, 12, 5, 0).unwrap();
    let outcome = Outcome::reason("finished", None);
    assert!(jobs
        .finish_job("again", first.attempt, &outcome, end)
        .await
        .unwrap());
    let blobs = &s.control.stores().blobs;
    for key in [
        "logs/shopping/shop/again.log",
        "items/shopping/shop/again.jl",
    ] {
        blobs.put(key, Bytes::from_static(b"old\n")).await.unwrap();
    }

    // Finished: the id is free again, in any project.
    let v = s.schedule("books", "again").await;
    ok(&v);
    assert_eq!(v["jobid"], "again");
    let v = s.get("/listjobs.json").await;
    assert_eq!(v["pending"][0]["id"], "again");
    assert_eq!(v["pending"][0]["project"], "books");
    assert_eq!(v["finished"], json!([]), "the finished record was replaced");
    let second = jobs.get_job("again").await.unwrap().unwrap();
    assert_eq!(
        second.attempt, first.attempt,
        "the attempt count carries on, so the old run's messages stay stale"
    );
    for key in [
        "logs/shopping/shop/again.log",
        "items/shopping/shop/again.jl",
    ] {
        assert_eq!(
            blobs.get(key).await.unwrap(),
            None,
            "the replaced job's {key} is deleted"
        );
    }
    s.control.poll_once("runner-1").await.unwrap();
    let started = jobs.get_job("again").await.unwrap().unwrap();
    assert_eq!(started.attempt, first.attempt + 1);
}

#[tokio::test]
async fn a_job_id_may_hold_spaces() {
    let s = Server::start().await;
    s.deploy("shopping", "1").await;
    let v = s.schedule("shopping", "nightly run 7").await;
    ok(&v);
    assert_eq!(v["jobid"], "nightly run 7");
    assert_eq!(
        s.get("/status.json?job=nightly+run+7").await["currstate"],
        "pending"
    );
    s.control.poll_once("runner-1").await.unwrap();
    let running = &s.get("/listjobs.json").await["running"][0];
    assert_eq!(
        running["log_url"],
        "/logs/shopping/shop/nightly%20run%207.log"
    );
    s.control
        .stores()
        .blobs
        .put(
            "logs/shopping/shop/nightly run 7.log",
            Bytes::from_static(b"hello\n"),
        )
        .await
        .unwrap();
    let (status, text) = s
        .page("/logs/shopping/shop/nightly%20run%207.log", None)
        .await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "hello\n"));
    let (_, listing) = s.page("/logs/shopping/shop/", None).await;
    assert!(listing.contains("<a href=\"nightly%20run%207.log\">nightly run 7.log</a>"));
    for bad in ["a/b", "..", "tab\there"] {
        let v = s.schedule("shopping", bad).await;
        assert_eq!(v["status"], "error", "{bad}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("jobid is invalid: "),
            "{v}"
        );
    }
}

#[tokio::test]
async fn versions_are_stored_under_scrapyds_sanitised_names() {
    let s = Server::start().await;
    for (version, stored) in [
        ("1.0+local", "1_0_local"),
        ("2026-11-30T19:00:00", "2026-11-30T19_00_00"),
        ("a/b", "a_b"),
    ] {
        let v = s
            .post(
                "/addversion.json",
                &[
                    ("project", b"p"),
                    ("version", version.as_bytes()),
                    ("egg", SPEC.as_bytes()),
                ],
            )
            .await;
        ok(&v);
        assert_eq!(v["version"], version, "the answer echoes the version sent");
        let listed = s.get("/listversions.json?project=p").await["versions"].clone();
        assert!(
            listed.as_array().unwrap().contains(&json!(stored)),
            "{version} is listed as {stored}: {listed}"
        );
    }
    assert_eq!(
        s.get("/listversions.json?project=p").await["versions"],
        json!(["1_0_local", "2026-11-30T19_00_00", "a_b"])
    );
    // Lookups sanitise the name they are given.
    let v = s
        .get("/listspiders.json?project=p&_version=1.0%2Blocal")
        .await;
    assert_eq!(v["spiders"], json!(["shop"]));
    let v = s
        .post(
            "/schedule.json",
            &[
                ("project", b"p"),
                ("spider", b"shop"),
                ("_version", b"1.0+local"),
            ],
        )
        .await;
    ok(&v);
    assert_eq!(
        s.get("/listjobs.json").await["pending"][0]["version"],
        "1.0+local"
    );
    ok(&s
        .post(
            "/delversion.json",
            &[("project", b"p"), ("version", b"a/b")],
        )
        .await);
    // A label with the same sanitised name replaces the version.
    s.deploy("p", "1_0_local").await;
    assert_eq!(
        s.get("/listversions.json?project=p").await["versions"],
        json!(["1_0_local", "2026-11-30T19_00_00"])
    );
}

#[tokio::test]
async fn scrapydweb_deploys_an_egg_named_zip_of_specs() {
    let s = Server::start().await;
    // ScrapydWeb's "Deploy Project" uploading `shop.egg`, a zip of specs with or
    // without a scrapy.cfg: it posts the file's bytes as the urlencoded `egg` field.
    let cfg = b"[settings]\ndefault = shop.settings\n\n[deploy]\nproject = shop\n";
    for (version, egg) in [
        (
            "2026-11-30T19_00_00",
            zip_of(&[
                ("scrapy.cfg", cfg),
                ("shop/specs/shop.toml", SPEC.as_bytes()),
            ]),
        ),
        ("r2", zip_of(&[("shop.toml", SPEC.as_bytes())])),
    ] {
        let v = s
            .post(
                "/addversion.json",
                &[
                    ("project", b"shop"),
                    ("version", version.as_bytes()),
                    ("egg", &egg),
                ],
            )
            .await;
        ok(&v);
        assert_eq!(v["spiders"], 1);
    }
    // What ScrapydWeb builds from a Scrapy project (setup.py bdist_egg): refused,
    // saying what to send instead.
    let egg = zip_of(&[
        (
            "EGG-INFO/PKG-INFO",
            b"Metadata-Version: 2.1\nName: project\n",
        ),
        (
            "EGG-INFO/entry_points.txt",
            b"[scrapy]\nsettings = shop.settings\n",
        ),
        ("shop/__init__.py", b""),
        ("shop/spiders/shop.py", b"import scrapy\n"),
    ]);
    let v = s
        .post(
            "/addversion.json",
            &[("project", b"shop"), ("version", b"r3"), ("egg", &egg)],
        )
        .await;
    assert_eq!(v["status"], "error");
    let m = v["message"].as_str().unwrap();
    assert!(m.starts_with("egg is invalid: this is a Python egg"), "{m}");
    assert!(m.contains("zip or tar.gz of spider specs"), "{m}");
}

#[tokio::test]
async fn unknown_projects_and_traversal_answer_as_scrapyd() {
    let s = Server::start().await;
    s.deploy("sample2", "1").await;
    let nf = "project 'nonexistent' not found";
    err(&s.get("/status.json?job=j&project=nonexistent").await, nf);
    err(&s.get("/listjobs.json?project=nonexistent").await, nf);
    err(
        &s.post(
            "/cancel.json",
            &[("project", b"nonexistent"), ("job", b"j")],
        )
        .await,
        nf,
    );
    err(
        &s.post(
            "/delversion.json",
            &[("project", b"nonexistent"), ("version", b"v9")],
        )
        .await,
        "version 'v9' not found",
    );
    for (path, form) in [
        (
            "/addversion.json",
            vec![("version", &b"v"[..]), ("egg", SPEC.as_bytes())],
        ),
        ("/delversion.json", vec![("version", &b"v"[..])]),
        ("/delproject.json", vec![]),
    ] {
        let mut form = form;
        form.push(("project", b"../p"));
        err(&s.post(path, &form).await, "DirectoryTraversalError: ../p");
    }
    err(
        &s.get("/listversions.json?project=..%2Fp").await,
        "DirectoryTraversalError: ../p",
    );
    err(
        &s.get("/listjobs.json?project=..%2Fp").await,
        "project '../p' not found",
    );
}

#[tokio::test]
async fn logs_and_items_are_listed_like_scrapyds() {
    let s = Server::start().await;
    s.deploy("shopping", "1").await;
    ok(&s.schedule("shopping", "job1").await);
    s.run_to_end("job1").await;
    let blobs = &s.control.stores().blobs;
    blobs
        .put("logs/shopping/shop/job1.log", Bytes::from(vec![b'x'; 3000]))
        .await
        .unwrap();
    blobs
        .put("items/shopping/shop/job1.jl", Bytes::from_static(b"{}\n"))
        .await
        .unwrap();

    // Without the slash: a relative redirect to the folder.
    for (path, location) in [
        ("/logs", "logs/"),
        ("/logs/shopping", "shopping/"),
        ("/items/shopping/shop", "shop/"),
    ] {
        let res = s.http.get(s.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FOUND, "{path}");
        assert_eq!(res.headers()["location"], location, "{path}");
    }
    let (status, html) = s.page("/logs/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<title>Directory listing for /logs/</title>"));
    assert!(html.contains("<th>Last modified</th>"));
    assert!(html.contains("<td><a href=\"shopping/\">shopping/</a></td>"));
    assert!(html.contains("<td>[Directory]</td>"));
    let (_, html) = s.page("/logs/shopping/", None).await;
    assert!(html.contains("<td><a href=\"shop/\">shop/</a></td>"));
    let (_, html) = s.page("/logs/shopping/shop/", None).await;
    assert!(html.contains("<td><a href=\"job1.log\">job1.log</a></td>\n    <td>2K</td>"));
    assert!(html.contains("<td>[text/plain]</td>"));
    let (_, html) = s.page("/items/shopping/shop/", None).await;
    assert!(html.contains("<td><a href=\"job1.jl\">job1.jl</a></td>\n    <td>3B</td>"));
    for missing in ["/logs/nope/", "/logs/shopping/nope/", "/items/nope/"] {
        assert_eq!(
            s.page(missing, None).await.0,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
    // Nothing ran yet: the top folders still list (empty).
    let fresh = Server::start().await;
    let (status, html) = fresh.page("/items/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Last modified"));
}

#[tokio::test]
async fn pages_link_under_the_forwarded_prefix() {
    let s = Server::start().await;
    s.deploy("shopping", "1").await;
    ok(&s.schedule("shopping", "job1").await);
    s.control.poll_once("runner-1").await.unwrap();

    let (_, home) = s.page("/", None).await;
    for link in ["\"/jobs\"", "\"/logs/\"", "\"/items/\""] {
        assert!(home.contains(link), "{link} in {home}");
    }
    let (_, home) = s.page("/", Some("/path/to")).await;
    for link in [
        "\"/path/to/jobs\"",
        "\"/path/to/logs/\"",
        "\"/path/to/items/\"",
    ] {
        assert!(home.contains(link), "{link} in {home}");
    }
    let (_, jobs) = s.page("/jobs", Some("/path/to/")).await;
    assert!(jobs.contains("<a href=\"/path/to/logs/shopping/shop/job1.log\">Log</a>"));
    assert!(jobs.contains("action=\"/path/to/cancel.json\""));
    assert!(jobs.contains("<a href=\"/path/to/\">Go up</a>"));
    // The header is text in the page, never markup.
    let (_, home) = s.page("/", Some("/x\"><script>")).await;
    assert!(!home.contains("<script>"));
    // listjobs.json's URLs stay as Scrapyd gives them.
    let v = s.get("/listjobs.json").await;
    assert_eq!(v["running"][0]["log_url"], "/logs/shopping/shop/job1.log");
}
