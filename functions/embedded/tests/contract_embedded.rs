//! The storage contract against the embedded stores: SQLite (in memory and on disk)
//! and files. Each store gets one test per case of the contract, in a module named
//! after it (`sqlite_memory::start_job_only_from_pending`, ...).

use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use tempfile::TempDir;
use trawl_core::contract::{
    frontier_store_contract, item_history_contract, job_store_contract, project_store_contract,
    schedule_store_contract,
};
use trawl_core::model::{Job, JobState, Schedule, Version};
use trawl_core::ports::{BlobStore, JobStore, ProjectStore, ScheduleStore};
use trawl_embedded::{FileBlobStore, SqliteStore, SCHEMA_VERSION};

/// A fresh SQLite store in memory.
fn in_memory() -> Arc<SqliteStore> {
    Arc::new(SqliteStore::in_memory().unwrap())
}

/// A store in a temporary directory, which is removed when the store is dropped.
struct InTempDir<S> {
    store: S,
    _dir: TempDir,
}

impl<S> Deref for InTempDir<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.store
    }
}

/// A fresh SQLite store on a file (in a directory it creates).
fn on_disk() -> InTempDir<SqliteStore> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("nested/dir/trawl.sqlite3")).unwrap();
    InTempDir { store, _dir: dir }
}

/// A fresh blob store on files.
fn file_blobs() -> InTempDir<FileBlobStore> {
    let dir = tempfile::tempdir().unwrap();
    let store = FileBlobStore::new(dir.path().join("blobs")).unwrap();
    InTempDir { store, _dir: dir }
}

mod sqlite_memory {
    trawl_core::job_store_contract_tests!(super::in_memory());
    trawl_core::schedule_store_contract_tests!(super::in_memory());
    trawl_core::project_store_contract_tests!(super::in_memory());
    trawl_core::item_history_contract_tests!(super::in_memory());
    trawl_core::event_store_contract_tests!(super::in_memory());
    trawl_core::frontier_store_contract_tests!(super::in_memory());
}

mod sqlite_file {
    trawl_core::job_store_contract_tests!(super::on_disk());
    trawl_core::schedule_store_contract_tests!(super::on_disk());
    trawl_core::project_store_contract_tests!(super::on_disk());
    trawl_core::item_history_contract_tests!(super::on_disk());
    trawl_core::event_store_contract_tests!(super::on_disk());
    trawl_core::frontier_store_contract_tests!(super::on_disk());
}

mod file_blobs {
    trawl_core::blob_store_contract_tests!(super::file_blobs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_in_memory_passes_every_case_twice_on_one_store() {
    let store = SqliteStore::in_memory().unwrap();
    // The cases leave no pending or running jobs, schedules, versions or history behind,
    // and use fresh ids: they run again on the same store.
    for _ in 0..2 {
        project_store_contract(&store).await;
        job_store_contract(&store).await;
        schedule_store_contract(&store).await;
        item_history_contract(&store).await;
        frontier_store_contract(&store).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_passes_the_contract_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/trawl.sqlite3");
    let t = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::microseconds(7);
    let (job, schedule, version) = {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        project_store_contract(&store).await;
        job_store_contract(&store).await;
        schedule_store_contract(&store).await;
        let mut job = Job::new("kept".into(), "proj".into(), "spider".into(), t);
        job.args.insert("a".into(), "b".into());
        store.insert_job(&job).await.unwrap();
        let job = store.start_job("kept", "r", t).await.unwrap().unwrap();
        let schedule = Schedule {
            id: "s1".into(),
            project: "proj".into(),
            spider: "spider".into(),
            cron: "@daily".into(),
            timezone: "UTC".into(),
            args: Default::default(),
            settings: Default::default(),
            priority: 1.0,
            enabled: true,
            overlap: trawl_core::OverlapPolicy::Skip,
            next_run: Some(t),
            last_run: None,
            last_job: None,
            created_at: t,
        };
        store.put_schedule(&schedule).await.unwrap();
        let version = Version {
            project: "proj".into(),
            version: "1".into(),
            spiders: vec!["spider".into()],
            bundle_key: "bundles/proj/1.bundle".into(),
            created_at: t,
        };
        store.put_version(&version).await.unwrap();
        (job, schedule, version)
    };
    assert!(path.exists(), "the database file is created");

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.get_job("kept").await.unwrap(), Some(job.clone()));
    assert_eq!(
        store.list_jobs(JobState::Running, None).await.unwrap(),
        vec![job]
    );
    assert_eq!(store.get_schedule("s1").await.unwrap(), Some(schedule));
    assert_eq!(store.versions("proj").await.unwrap(), vec![version]);
    assert_eq!(store.projects().await.unwrap(), vec!["proj".to_string()]);
    // The suites still pass on a reopened, non-empty database.
    frontier_store_contract(&store).await;
    job_store_contract(&store).await;
    schedule_store_contract(&store).await;
    project_store_contract(&store).await;
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite3");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
}

/// What the file store adds to the contract: local paths, atomic writes, no escape from
/// its directory, feeds written where `get` reads them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_blobs_stay_in_their_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileBlobStore::new(dir.path().join("blobs")).unwrap();

    let key = "logs/p/s/j.log";
    let expected = dir.path().join("blobs").join(key);
    assert_eq!(store.local_path(key), Some(expected.clone()));
    assert_eq!(store.feed_uri(key), expected.to_string_lossy());
    assert!(std::path::Path::new(&store.feed_uri(key)).is_absolute());
    store.put(key, "hello".into()).await.unwrap();
    assert_eq!(std::fs::read(&expected).unwrap(), b"hello");
    let leftovers: Vec<_> = std::fs::read_dir(expected.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary files left: {leftovers:?}");

    for bad in ["../escape", "/abs/path", "a/../../b"] {
        assert!(store.put(bad, "x".into()).await.is_err(), "{bad}");
        assert!(store.get(bad).await.is_err(), "{bad}");
        assert!(store.delete(bad).await.is_err(), "{bad}");
    }
    assert!(!dir.path().join("escape").exists());

    // Feeds written through feed_uri land where get reads them.
    let items = "items/p/s/j.jl";
    let storage = store
        .feed_storages()
        .for_uri(&store.feed_uri(items))
        .unwrap();
    let mut target = storage.open(&store.feed_uri(items), true).unwrap();
    std::io::Write::write_all(&mut target, b"{\"a\":1}\n").unwrap();
    target.finish().unwrap();
    assert_eq!(
        store.get(items).await.unwrap().as_deref(),
        Some(&b"{\"a\":1}\n"[..])
    );
}

/// Timings of the hot paths (printed; loose bounds so debug builds pass).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_hot_paths_are_fast() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("perf.sqlite3")).unwrap();
    let t = Utc::now();
    let n = 10_000;
    let start = Instant::now();
    for i in 0..n {
        let mut job = Job::new(
            format!("{i:032x}"),
            format!("p{}", i % 3),
            "spider".into(),
            t,
        );
        job.priority = (i % 7) as f64;
        job.args.insert("page".into(), i.to_string());
        store.insert_job(&job).await.unwrap();
    }
    let insert = start.elapsed() / n;

    let start = Instant::now();
    let pending = store.list_jobs(JobState::Pending, None).await.unwrap();
    let list = start.elapsed();
    assert_eq!(pending.len(), n as usize);
    let start = Instant::now();
    let json = serde_json::to_vec(&pending).unwrap();
    let list_json = list + start.elapsed();

    let start = Instant::now();
    let per_project = store
        .list_jobs(JobState::Pending, Some("p1"))
        .await
        .unwrap();
    let list_project = start.elapsed();
    assert_eq!(per_project.len(), 3333);

    let start = Instant::now();
    for i in 0..1000 {
        store
            .start_job(&format!("{i:032x}"), "r", t)
            .await
            .unwrap()
            .unwrap();
    }
    let start_job = start.elapsed() / 1000;
    let start = Instant::now();
    let counts = store.count_jobs().await.unwrap();
    let count = start.elapsed();
    assert_eq!(counts.running, 1000);

    println!(
        "insert_job {insert:?}/job, start_job {start_job:?}/job, list_jobs(10k pending) \
         {list:?} ({list_json:?} with {} KB of JSON), list_jobs(project, 3.3k) \
         {list_project:?}, count_jobs {count:?}",
        json.len() / 1024
    );
    // Generous bounds: debug builds and slow CI machines.
    assert!(
        list_json.as_millis() < 1000,
        "listing 10k jobs took {list_json:?}"
    );
    assert!(insert.as_micros() < 5000, "insert_job took {insert:?}");
    assert!(start_job.as_micros() < 5000, "start_job took {start_job:?}");
}
