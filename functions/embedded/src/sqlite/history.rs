//! [`ItemHistory`] on SQLite: the `seen_items` table.

use async_trait::async_trait;
use rusqlite::params;

use trawl_core::ports::{ItemFingerprint, ItemHistory, StoreResult};

use super::*;

#[async_trait]
impl ItemHistory for SqliteStore {
    async fn seen_items(&self, project: &str, spider: &str) -> StoreResult<Vec<ItemFingerprint>> {
        let (project, spider) = (project.to_string(), spider.to_string());
        self.run(move |c| {
            let mut s = c
                .prepare_cached("SELECT fp FROM seen_items WHERE project = ?1 AND spider = ?2")
                .db()?;
            let rows = s
                .query_map(params![project, spider], |r| r.get::<_, Vec<u8>>(0))
                .db()?;
            let mut out = Vec::new();
            for fp in rows {
                if let Ok(fp) = ItemFingerprint::try_from(fp.db()?.as_slice()) {
                    out.push(fp);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn add_seen_items(
        &self,
        project: &str,
        spider: &str,
        fingerprints: &[ItemFingerprint],
    ) -> StoreResult<()> {
        let (project, spider) = (project.to_string(), spider.to_string());
        let fps = fingerprints.to_vec();
        self.run(move |c| {
            let tx = c.transaction().db()?;
            {
                let mut s = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO seen_items (project, spider, fp) VALUES (?1, ?2, ?3)",
                    )
                    .db()?;
                for fp in &fps {
                    s.execute(params![project, spider, &fp[..]]).db()?;
                }
            }
            tx.commit().db()
        })
        .await
    }

    async fn forget_items(&self, project: &str) -> StoreResult<()> {
        let project = project.to_string();
        self.run(move |c| {
            c.execute(
                "DELETE FROM seen_items WHERE project = ?1",
                params![project],
            )
            .db()?;
            Ok(())
        })
        .await
    }
}
