//! Management reviews (clause 9.3): the review with its inputs and decisions, its
//! attendees, and the link from a corrective action to the review that decided it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::common::{fk, id, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The inputs of clause 9.3, one text column each.
const INPUTS: &[&str] = &[
    "input_previous_actions_status",
    "input_changes_in_context",
    "input_sms_performance",
    "input_objectives",
    "input_nonconformity_and_audit_trends",
    "input_service_and_supplier_performance",
    "input_feedback",
    "input_resources",
    "input_risks",
    "input_improvement_opportunities",
];

fn reviews() -> TableCreateStatement {
    let mut table = Table::create();
    table
        .table("management_reviews")
        .col(id())
        .col(string_len("title", 200))
        .col(date_null("planned_for"))
        .col(date_null("held_on"));
    for column in INPUTS {
        table.col(text_null(*column));
    }
    table
        .col(text("decisions"))
        .col(text_null("minutes_location"))
        .col(string_len("state", 16).check(one_of(
            "state",
            &["planned", "held", "approved", "cancelled"],
        )))
        .col(string_len_null("approved_by", 36))
        .col(timestamp_with_time_zone_null("approved_at"))
        .col(big_integer("version"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .foreign_key(&mut fk(
            "fk_management_reviews_approver",
            ("management_reviews", "approved_by"),
            "users",
        ))
        .take()
}

fn attendees() -> TableCreateStatement {
    Table::create()
        .table("management_review_attendees")
        .col(string_len("management_review_id", 36))
        .col(string_len("user_id", 36))
        .col(integer("position"))
        .primary_key(Index::create().col("management_review_id").col("user_id"))
        .foreign_key(
            fk(
                "fk_management_review_attendees_review",
                ("management_review_attendees", "management_review_id"),
                "management_reviews",
            )
            .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(&mut fk(
            "fk_management_review_attendees_user",
            ("management_review_attendees", "user_id"),
            "users",
        ))
        .take()
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index(
            "idx_management_reviews_state",
            "management_reviews",
            &["state", "id"],
            false,
        ),
        index(
            "idx_management_reviews_held_on",
            "management_reviews",
            &["held_on", "id"],
            false,
        ),
        index(
            "idx_management_review_attendees_user",
            "management_review_attendees",
            &["user_id"],
            false,
        ),
        index(
            "idx_corrective_actions_management_review",
            "corrective_actions",
            &["management_review_id"],
            false,
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(reviews()).await?;
        manager.create_table(attendees()).await?;
        // Added to an existing table, so without a foreign key (SQLite cannot add one). The
        // service sets it only on an action recorded at a held or approved review, and only
        // planned reviews can be deleted, so it never dangles.
        manager
            .alter_table(
                Table::alter()
                    .table("corrective_actions")
                    .add_column(string_len_null("management_review_id", 36))
                    .take(),
            )
            .await?;
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_corrective_actions_management_review")
                    .table("corrective_actions")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("corrective_actions")
                    .drop_column("management_review_id")
                    .take(),
            )
            .await?;
        for table in ["management_review_attendees", "management_reviews"] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
