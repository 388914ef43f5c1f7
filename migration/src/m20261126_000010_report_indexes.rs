//! Indexes that keep whole exports and reports cheap: the default sort of corrective
//! actions and findings (`created_at`, ties by id), so each page of a streamed export
//! starts with an index seek instead of a scan and sort of the table.

use sea_orm_migration::prelude::*;

use crate::common::{Indexes, create_indexes, drop_indexes};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &Indexes = &[
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
        create_indexes(manager, INDEXES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_indexes(manager, INDEXES).await
    }
}
