//! The embedded implementation of the storage ports, for `trawl serve`: projects,
//! jobs and schedules in SQLite ([`SqliteStore`]), bundles, logs and items as files
//! ([`FileBlobStore`]).

pub mod files;
pub mod sqlite;

pub use files::FileBlobStore;
pub use sqlite::{SqliteStore, SCHEMA_VERSION};
