//! Competence (clause 7.2): training records, the evidence that a person holds a competence.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::common::{fk, id, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn table() -> TableCreateStatement {
    Table::create()
        .table("training_records")
        .col(id())
        .col(string_len("user_id", 36))
        .col(string_len("competence", 200))
        // The competence lower-cased: how records are matched with the competences SMS roles
        // require (its length in characters can grow when lower-cased, hence text).
        .col(text("competence_key"))
        .col(date("completed_on"))
        .col(date_null("expires_on"))
        .col(text_null("evidence"))
        .col(big_integer("version"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .check(
            Expr::col("expires_on")
                .is_null()
                .or(Expr::col("expires_on").gt(Expr::col("completed_on"))),
        )
        .foreign_key(&mut fk(
            "fk_training_records_user",
            ("training_records", "user_id"),
            "users",
        ))
        .take()
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index(
            "idx_training_records_user",
            "training_records",
            &["user_id", "competence_key"],
            false,
        ),
        index(
            "idx_training_records_competence",
            "training_records",
            &["competence_key", "id"],
            false,
        ),
        index(
            "idx_training_records_completed",
            "training_records",
            &["completed_on", "id"],
            false,
        ),
        index(
            "idx_training_records_expires",
            "training_records",
            &["expires_on", "id"],
            false,
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(table()).await?;
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("training_records").take())
            .await
    }
}
