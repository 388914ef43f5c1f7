//! Indexes for the most common filtered page: by state, in the default sort. A page of
//! active processes (by code) or of open corrective actions (newest first) starts with an
//! index seek and stops after the page, instead of sorting every row of that state. And
//! the active objectives of a page of processes (their KPIs), found by process first.

use sea_orm_migration::prelude::*;

use crate::common::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &[(&str, &str, &[&str])] = &[
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
