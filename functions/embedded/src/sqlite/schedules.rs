//! [`ScheduleStore`] on SQLite: the `schedules` table.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, Row};

use trawl_core::events::Event;
use trawl_core::model::{OverlapPolicy, Schedule};
use trawl_core::ports::{ScheduleStore, StoreResult};

use super::*;

/// Reads a row selected with [`SCHEDULE_COLS`].
fn schedule_from_row(row: &Row) -> rusqlite::Result<Schedule> {
    let overlap: String = row.get(9)?;
    let overlap = match overlap.as_str() {
        "skip" => OverlapPolicy::Skip,
        "allow" => OverlapPolicy::Allow,
        other => {
            return Err(conversion_error(
                9,
                BadValue(format!("unknown overlap policy {other:?}")),
            ))
        }
    };
    Ok(Schedule {
        id: row.get(0)?,
        project: row.get(1)?,
        spider: row.get(2)?,
        cron: row.get(3)?,
        timezone: row.get(4)?,
        args: map_at(row, 5)?,
        settings: map_at(row, 6)?,
        priority: row.get(7)?,
        enabled: row.get(8)?,
        overlap,
        next_run: opt_time_at(row, 10)?,
        last_run: opt_time_at(row, 11)?,
        last_job: row.get(12)?,
        created_at: time_at(row, 13)?,
    })
}

#[async_trait]
impl ScheduleStore for SqliteStore {
    async fn put_schedule(&self, schedule: &Schedule) -> StoreResult<()> {
        let s = schedule.clone();
        let args = map_to_json(&s.args)?;
        let settings = map_to_json(&s.settings)?;
        let priority = finite(s.priority)?;
        self.run(move |c| {
            // An upsert (not `INSERT OR REPLACE`) keeps the row, so ties in the
            // creation-time order stay stable.
            c.prepare_cached(
                "INSERT INTO schedules (id, project, spider, cron, timezone, args, settings,
                   priority, enabled, overlap, next_run, last_run, last_job, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT (id) DO UPDATE SET
                   project = excluded.project, spider = excluded.spider,
                   cron = excluded.cron, timezone = excluded.timezone,
                   args = excluded.args, settings = excluded.settings,
                   priority = excluded.priority, enabled = excluded.enabled,
                   overlap = excluded.overlap, next_run = excluded.next_run,
                   last_run = excluded.last_run, last_job = excluded.last_job,
                   created_at = excluded.created_at",
            )
            .and_then(|mut st| {
                st.execute(params![
                    s.id,
                    s.project,
                    s.spider,
                    s.cron,
                    s.timezone,
                    args,
                    settings,
                    priority,
                    s.enabled,
                    s.overlap.as_str(),
                    opt_micros(s.next_run),
                    opt_micros(s.last_run),
                    s.last_job,
                    micros(s.created_at),
                ])
            })
            .db()?;
            Ok(())
        })
        .await
    }

    async fn get_schedule(&self, id: &str) -> StoreResult<Option<Schedule>> {
        let id = id.to_string();
        self.run(move |c| {
            let sql = format!("SELECT {SCHEDULE_COLS} FROM schedules WHERE id = ?1");
            let mut s = c.prepare_cached(&sql).db()?;
            s.query_row([id], schedule_from_row).optional().db()
        })
        .await
    }

    async fn list_schedules(&self, project: Option<&str>) -> StoreResult<Vec<Schedule>> {
        let project = project.map(str::to_string);
        self.run(move |c| {
            let rows = match &project {
                Some(p) => {
                    let sql = format!(
                        "SELECT {SCHEDULE_COLS} FROM schedules WHERE project = ?1
                         ORDER BY created_at, rowid"
                    );
                    let mut s = c.prepare_cached(&sql).db()?;
                    let rows = s.query_map([p], schedule_from_row).db()?;
                    rows.collect::<rusqlite::Result<Vec<_>>>()
                }
                None => {
                    let sql =
                        format!("SELECT {SCHEDULE_COLS} FROM schedules ORDER BY created_at, rowid");
                    let mut s = c.prepare_cached(&sql).db()?;
                    let rows = s.query_map([], schedule_from_row).db()?;
                    rows.collect::<rusqlite::Result<Vec<_>>>()
                }
            };
            rows.db()
        })
        .await
    }

    async fn delete_schedule(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_string();
        self.run(move |c| {
            let n = c
                .prepare_cached("DELETE FROM schedules WHERE id = ?1")
                .and_then(|mut s| s.execute([id]))
                .db()?;
            Ok(n == 1)
        })
        .await
    }

    async fn advance_schedule(
        &self,
        id: &str,
        expected_next: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
        fired: Option<(DateTime<Utc>, String)>,
        event: Option<&Event>,
    ) -> StoreResult<bool> {
        let (id, expected, next) = (id.to_string(), micros(expected_next), opt_micros(next));
        let event = event.cloned();
        self.run(move |c| {
            let c = c.transaction().db()?;
            let n = match fired {
                Some((at, job)) => c
                    .prepare_cached(
                        "UPDATE schedules SET next_run = ?3, last_run = ?4, last_job = ?5
                         WHERE id = ?1 AND next_run = ?2",
                    )
                    .and_then(|mut s| s.execute(params![id, expected, next, micros(at), job])),
                None => c
                    .prepare_cached(
                        "UPDATE schedules SET next_run = ?3 WHERE id = ?1 AND next_run = ?2",
                    )
                    .and_then(|mut s| s.execute(params![id, expected, next])),
            }
            .db()?;
            if let (1, Some(event)) = (n, &event) {
                super::events::push_event(&c, event)?;
            }
            c.commit().db()?;
            Ok(n == 1)
        })
        .await
    }
}
