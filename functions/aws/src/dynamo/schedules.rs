//! [`ScheduleStore`] on the table: one item per schedule.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use trawl_core::model::{OverlapPolicy, Schedule};
use trawl_core::ports::{ScheduleStore, StoreError, StoreResult};

use super::items::{self, get_map, get_s, get_time, opt_s, opt_time, put_opt, s};
use super::keys::{self, GSI1PK, GSI1SK, GSI2PK, GSI2SK, PK, SK};
use super::outbox::Expr;
use super::{sdk_error, DynamoStore, Item};

fn schedule_item(sc: &Schedule) -> StoreResult<Item> {
    let order = keys::schedule_order(sc.created_at, &sc.id);
    let mut item = Item::from([
        (PK.into(), s(keys::schedule_pk(&sc.id))),
        (SK.into(), s(keys::SCHEDULE_SK)),
        (GSI1PK.into(), s(keys::ALL_SCHEDULES)),
        (GSI1SK.into(), s(order.clone())),
        (GSI2PK.into(), s(keys::schedules_by_project(&sc.project))),
        (GSI2SK.into(), s(order)),
        ("id".into(), s(&sc.id)),
        ("project".into(), s(&sc.project)),
        ("spider".into(), s(&sc.spider)),
        ("cron".into(), s(&sc.cron)),
        ("timezone".into(), s(&sc.timezone)),
        ("args".into(), items::map(&sc.args)?),
        ("settings".into(), items::map(&sc.settings)?),
        ("priority".into(), items::priority(sc.priority)?),
        (
            "enabled".into(),
            aws_sdk_dynamodb::types::AttributeValue::Bool(sc.enabled),
        ),
        ("overlap".into(), s(sc.overlap.as_str())),
        ("created_at".into(), items::time(sc.created_at)),
    ]);
    put_opt(&mut item, "next_run", sc.next_run.map(items::time));
    put_opt(&mut item, "last_run", sc.last_run.map(items::time));
    put_opt(&mut item, "last_job", sc.last_job.as_deref().map(s));
    Ok(item)
}

fn schedule_from_item(item: &Item) -> StoreResult<Schedule> {
    let overlap = match get_s(item, "overlap")?.as_str() {
        "skip" => OverlapPolicy::Skip,
        "allow" => OverlapPolicy::Allow,
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown overlap policy {other:?}"
            )))
        }
    };
    let enabled = match item.get("enabled") {
        Some(aws_sdk_dynamodb::types::AttributeValue::Bool(b)) => *b,
        _ => return Err(StoreError::Corrupt("schedule: bad `enabled`".into())),
    };
    Ok(Schedule {
        id: get_s(item, "id")?,
        project: get_s(item, "project")?,
        spider: get_s(item, "spider")?,
        cron: get_s(item, "cron")?,
        timezone: get_s(item, "timezone")?,
        args: get_map(item, "args")?,
        settings: get_map(item, "settings")?,
        priority: items::get_priority(item, "priority")?,
        enabled,
        overlap,
        next_run: opt_time(item, "next_run")?,
        last_run: opt_time(item, "last_run")?,
        last_job: opt_s(item, "last_job")?,
        created_at: get_time(item, "created_at")?,
    })
}

impl DynamoStore {
    fn schedule_key(&self, id: &str) -> Item {
        Item::from([
            (PK.into(), s(keys::schedule_pk(id))),
            (SK.into(), s(keys::SCHEDULE_SK)),
        ])
    }
}

#[async_trait]
impl ScheduleStore for DynamoStore {
    async fn put_schedule(&self, schedule: &Schedule) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(schedule_item(schedule)?))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn get_schedule(&self, id: &str) -> StoreResult<Option<Schedule>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.schedule_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        out.item.as_ref().map(schedule_from_item).transpose()
    }

    async fn list_schedules(&self, project: Option<&str>) -> StoreResult<Vec<Schedule>> {
        let items = match project {
            None => {
                self.query_all(
                    Some(keys::GSI1),
                    "GSI1PK = :pk",
                    &[],
                    vec![(":pk", s(keys::ALL_SCHEDULES))],
                    true,
                    false,
                )
                .await?
            }
            Some(p) => {
                self.query_all(
                    Some(keys::GSI2),
                    "GSI2PK = :pk",
                    &[],
                    vec![(":pk", s(keys::schedules_by_project(p)))],
                    true,
                    false,
                )
                .await?
            }
        };
        items.iter().map(schedule_from_item).collect()
    }

    async fn delete_schedule(&self, id: &str) -> StoreResult<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(self.schedule_key(id)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn advance_schedule(
        &self,
        id: &str,
        expected_next: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
        fired: Option<(DateTime<Utc>, String)>,
        event: Option<&trawl_core::events::Event>,
    ) -> StoreResult<bool> {
        // One transaction: the conditional update and, when it happens, its event.
        let mut set = Vec::new();
        let mut expr = Expr::default().value(":expected", items::time(expected_next));
        if let Some(next) = next {
            set.push("next_run = :next");
            expr = expr.value(":next", items::time(next));
        }
        if let Some((at, job)) = fired {
            set.push("last_run = :at");
            set.push("last_job = :job");
            expr = expr.value(":at", items::time(at)).value(":job", s(job));
        }
        let mut update = String::new();
        if !set.is_empty() {
            update = format!("SET {}", set.join(", "));
        }
        if next.is_none() {
            update.push_str(" REMOVE next_run");
        }
        let write = Update::builder()
            .table_name(&self.table)
            .set_key(Some(self.schedule_key(id)))
            .update_expression(update.trim())
            .condition_expression("next_run = :expected")
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(StoreError::backend)?;
        self.write_with_event(TransactWriteItem::builder().update(write).build(), event)
            .await
    }
}
