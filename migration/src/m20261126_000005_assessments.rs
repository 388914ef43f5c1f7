//! Gap assessments: an assessment of the SMS against the clause catalog, with one result
//! row per requirement clause judged.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::common::{fk, id, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table("assessments")
            .col(id())
            .col(string_len("title", 200))
            .col(date("assessed_on"))
            .col(text_null("description"))
            .col(text_null("scope_note"))
            .col(string_len("state", 16).check(one_of("state", &["in_progress", "completed"])))
            .col(timestamp_with_time_zone_null("completed_at"))
            .col(string_len_null("completed_by", 36))
            .col(big_integer("version"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut fk(
                "fk_assessments_completed_by",
                ("assessments", "completed_by"),
                "users",
            ))
            .take(),
        Table::create()
            .table("assessment_results")
            .col(string_len("assessment_id", 36))
            .col(string_len("clause", 16))
            // The clause's place in the catalog, so results read back in catalog order.
            .col(integer("position"))
            .col(string_len("status", 16).check(one_of(
                "status",
                &["not_assessed", "not_met", "partially_met", "met"],
            )))
            .col(text_null("notes"))
            .col(text_null("evidence"))
            .primary_key(Index::create().col("assessment_id").col("clause"))
            .foreign_key(
                fk(
                    "fk_assessment_results_assessment",
                    ("assessment_results", "assessment_id"),
                    "assessments",
                )
                .on_delete(ForeignKeyAction::Cascade),
            )
            .take(),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index(
            "idx_assessments_state",
            "assessments",
            &["state", "id"],
            false,
        ),
        index(
            "idx_assessments_assessed_on",
            "assessments",
            &["assessed_on", "id"],
            false,
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["assessment_results", "assessments"] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
