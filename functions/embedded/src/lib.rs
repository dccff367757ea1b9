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
