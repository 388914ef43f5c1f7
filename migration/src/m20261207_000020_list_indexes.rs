//! Indexes for the most common filtered page: by state, in the default sort. A page of
//! active processes (by code) or of open corrective actions (newest first) starts with an
//! index seek and stops after the page, instead of sorting every row of that state. And
//! the active objectives of a page of processes (their KPIs), found by process first.

use sea_orm_migration::prelude::*;

use crate::common::{Indexes, create_indexes, drop_indexes};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &Indexes = &[
    (
        "idx_processes_state_code",
        "processes",
        &["state", "code", "id"],
    ),
    (
        "idx_corrective_actions_state_created",
        "corrective_actions",
        &["state", "created_at", "id"],
    ),
    (
        "idx_objectives_process_state",
        "objectives",
        &["process_id", "state"],
    ),
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
