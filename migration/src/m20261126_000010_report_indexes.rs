//! Indexes that keep whole exports and reports cheap: the default sort of corrective
//! actions and findings (`created_at`, ties by id), so each page of a streamed export
//! starts with an index seek instead of a scan and sort of the table.

use sea_orm_migration::prelude::*;

use crate::common::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &[(&str, &str, &[&str])] = &[
    (
        "idx_corrective_actions_created",
        "corrective_actions",
        &["created_at", "id"],
    ),
    ("idx_findings_created", "findings", &["created_at", "id"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, columns) in INDEXES {
            manager
                .create_index(index(name, table, columns, false))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            manager
                .drop_index(Index::drop().name(*name).table(*table).to_owned())
                .await?;
        }
        Ok(())
    }
}
