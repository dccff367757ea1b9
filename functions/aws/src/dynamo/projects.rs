//! [`ProjectStore`] on the table: one item per version, in the project's partition.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use chrono::Utc;
use trawl_core::events::Event;
use trawl_core::model::Version;
use trawl_core::ports::{ProjectStore, StoreError, StoreResult};

use super::items::{self, get_s, get_time, s};
use super::keys::{self, GSI1PK, GSI1SK, PK, SK};
use super::{DynamoStore, Item};

fn version_item(v: &Version) -> StoreResult<Item> {
    let spiders = serde_json::to_string(&v.spiders).map_err(StoreError::backend)?;
    Ok(Item::from([
        (PK.into(), s(keys::project_pk(&v.project))),
        (SK.into(), s(keys::version_sk(&v.version))),
        (GSI1PK.into(), s(keys::ALL_VERSIONS)),
        (GSI1SK.into(), s(format!("{}#{}", v.project, v.version))),
        ("project".into(), s(&v.project)),
        ("version".into(), s(&v.version)),
        ("spiders".into(), s(spiders)),
        ("bundle_key".into(), s(&v.bundle_key)),
        ("created_at".into(), items::time(v.created_at)),
    ]))
}

fn version_from_item(item: &Item) -> StoreResult<Version> {
    let spiders = get_s(item, "spiders")?;
    Ok(Version {
        project: get_s(item, "project")?,
        version: get_s(item, "version")?,
        spiders: serde_json::from_str(&spiders).map_err(StoreError::backend)?,
        bundle_key: get_s(item, "bundle_key")?,
        created_at: get_time(item, "created_at")?,
    })
}

impl DynamoStore {
    fn version_key(&self, project: &str, version: &str) -> Item {
        Item::from([
            (PK.into(), s(keys::project_pk(project))),
            (SK.into(), s(keys::version_sk(version))),
        ])
    }

    /// Deletes one version with its `version.removed`; whether it existed.
    async fn delete_version_item(&self, project: &str, version: &str) -> StoreResult<bool> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(self.version_key(project, version)))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(StoreError::backend)?;
        let event = Event::version_removed(project, version, Utc::now());
        self.write_with_event(
            TransactWriteItem::builder().delete(delete).build(),
            Some(&event),
        )
        .await
    }
}

#[async_trait]
impl ProjectStore for DynamoStore {
    async fn put_version(&self, version: &Version) -> StoreResult<()> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(version_item(version)?))
            .build()
            .map_err(StoreError::backend)?;
        let event = Event::version_added(version);
        self.write_with_event(TransactWriteItem::builder().put(put).build(), Some(&event))
            .await?;
        Ok(())
    }

    async fn versions(&self, project: &str) -> StoreResult<Vec<Version>> {
        let items = self
            .query_all(
                None,
                "PK = :pk AND begins_with(SK, :v)",
                &[],
                vec![(":pk", s(keys::project_pk(project))), (":v", s("VERSION#"))],
                true,
                true,
            )
            .await?;
        let mut versions = items
            .iter()
            .map(version_from_item)
            .collect::<StoreResult<Vec<_>>>()?;
        // As SqliteStore: upload time, then label.
        versions.sort_by(|a, b| (a.created_at, &a.version).cmp(&(b.created_at, &b.version)));
        Ok(versions)
    }

    async fn projects(&self) -> StoreResult<Vec<String>> {
        let items = self
            .query_all(
                Some(keys::GSI1),
                "GSI1PK = :pk",
                &[],
                vec![(":pk", s(keys::ALL_VERSIONS))],
                true,
                false,
            )
            .await?;
        let projects = items
            .iter()
            .map(|i| get_s(i, "project"))
            .collect::<StoreResult<BTreeSet<_>>>()?;
        Ok(projects.into_iter().collect())
    }

    async fn delete_version(&self, project: &str, version: &str) -> StoreResult<bool> {
        self.delete_version_item(project, version).await
    }

    async fn delete_project(&self, project: &str) -> StoreResult<bool> {
        let mut any = false;
        for v in self.versions(project).await? {
            any |= self.delete_version_item(project, &v.version).await?;
        }
        Ok(any)
    }
}
