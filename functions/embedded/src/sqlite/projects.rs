//! [`ProjectStore`] on SQLite: the `versions` table.

use async_trait::async_trait;
use rusqlite::{params, Row};

use trawl_core::events::Event;
use trawl_core::model::Version;
use trawl_core::ports::{ProjectStore, StoreError, StoreResult};

use super::events::push_event;
use super::*;

/// Reads a row of the `versions` table.
fn version_from_row(row: &Row) -> rusqlite::Result<Version> {
    let spiders = row.get_ref(2)?.as_str()?;
    Ok(Version {
        project: row.get(0)?,
        version: row.get(1)?,
        spiders: serde_json::from_str(spiders).map_err(|e| conversion_error(2, e))?,
        bundle_key: row.get(3)?,
        created_at: time_at(row, 4)?,
    })
}

#[async_trait]
impl ProjectStore for SqliteStore {
    async fn put_version(&self, version: &Version) -> StoreResult<()> {
        let v = version.clone();
        let spiders = serde_json::to_string(&v.spiders).map_err(StoreError::backend)?;
        self.run(move |c| {
            let c = c.transaction().db()?;
            c.prepare_cached(
                "INSERT INTO versions (project, version, spiders, bundle_key, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (project, version) DO UPDATE SET
                   spiders = excluded.spiders, bundle_key = excluded.bundle_key,
                   created_at = excluded.created_at",
            )
            .and_then(|mut s| {
                s.execute(params![
                    v.project,
                    v.version,
                    spiders,
                    v.bundle_key,
                    micros(v.created_at)
                ])
            })
            .db()?;
            push_event(&c, &Event::version_added(&v))?;
            c.commit().db()
        })
        .await
    }

    async fn versions(&self, project: &str) -> StoreResult<Vec<Version>> {
        let project = project.to_string();
        self.run(move |c| {
            let mut s = c
                .prepare_cached(
                    "SELECT project, version, spiders, bundle_key, created_at FROM versions
                     WHERE project = ?1 ORDER BY created_at, version",
                )
                .db()?;
            let rows = s.query_map([project], version_from_row).db()?;
            rows.collect::<rusqlite::Result<Vec<_>>>().db()
        })
        .await
    }

    async fn projects(&self) -> StoreResult<Vec<String>> {
        self.run(|c| {
            let mut s = c
                .prepare_cached("SELECT DISTINCT project FROM versions ORDER BY project")
                .db()?;
            let rows = s.query_map([], |r| r.get(0)).db()?;
            rows.collect::<rusqlite::Result<Vec<String>>>().db()
        })
        .await
    }

    async fn delete_version(&self, project: &str, version: &str) -> StoreResult<bool> {
        let (project, version) = (project.to_string(), version.to_string());
        self.run(move |c| {
            let c = c.transaction().db()?;
            let n = c
                .prepare_cached("DELETE FROM versions WHERE project = ?1 AND version = ?2")
                .and_then(|mut s| s.execute([&project, &version]))
                .db()?;
            if n == 1 {
                push_event(&c, &Event::version_removed(&project, &version, Utc::now()))?;
            }
            c.commit().db()?;
            Ok(n == 1)
        })
        .await
    }

    async fn delete_project(&self, project: &str) -> StoreResult<bool> {
        let project = project.to_string();
        self.run(move |c| {
            let c = c.transaction().db()?;
            let removed = c
                .prepare_cached("DELETE FROM versions WHERE project = ?1 RETURNING version")
                .and_then(|mut s| {
                    s.query_map([&project], |r| r.get::<_, String>(0))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .db()?;
            let now = Utc::now();
            for version in &removed {
                push_event(&c, &Event::version_removed(&project, version, now))?;
            }
            c.commit().db()?;
            Ok(!removed.is_empty())
        })
        .await
    }
}
