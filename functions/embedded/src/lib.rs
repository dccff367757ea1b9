//! The embedded implementation of the storage ports, for `trawl serve`: projects,
//! jobs and schedules in SQLite ([`SqliteStore`]), bundles, logs and items as files
//! ([`FileBlobStore`]), and [`local::LocalNode`], the whole control plane in one process.

pub mod files;
pub mod local;
pub mod sqlite;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use files::FileBlobStore;
pub use sqlite::{SqliteStore, SCHEMA_VERSION};

use std::sync::Arc;

use trawl_core::ports::{Clock, Stores};

/// Every storage port over one SQLite database (`db`) and one folder of files
/// (`blobs`), with `clock`.
pub fn stores(db: Arc<SqliteStore>, blobs: Arc<FileBlobStore>, clock: Arc<dyn Clock>) -> Stores {
    Stores {
        projects: db.clone(),
        jobs: db.clone(),
        schedules: db.clone(),
        history: db.clone(),
        events: db.clone(),
        frontier: db,
        blobs,
        clock,
    }
}
