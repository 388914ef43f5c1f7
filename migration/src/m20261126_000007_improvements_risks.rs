//! Improvements (clause 10.2) and the register of risks and opportunities (clause 6.1).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::common::{fk, id, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn versioned(table: &mut TableCreateStatement) -> TableCreateStatement {
    table
        .col(big_integer("version"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .take()
}

/// A rating from 1 to 5.
fn rating(column: &'static str) -> ColumnDef {
    integer(column)
        .check(Expr::col(column).between(1, 5))
        .take()
}

fn tables() -> Vec<TableCreateStatement> {
    vec![
        versioned(
            Table::create()
                .table("improvements")
                .col(id())
                .col(string_len("title", 200))
                .col(text("description"))
                .col(string_len("source", 24).check(one_of(
                    "source",
                    &[
                        "audit_finding",
                        "management_review",
                        "risk",
                        "monitoring",
                        "incident",
                        "complaint",
                        "suggestion",
                        "other",
                    ],
                )))
                .col(text_null("benefit"))
                .col(string_len_null("owner_id", 36))
                // Set by the management review that decided the improvement.
                .col(string_len_null("management_review_id", 36))
                .col(date_null("due_date"))
                .col(text_null("implementation"))
                .col(text_null("evaluation"))
                .col(text_null("reject_reason"))
                .col(string_len("state", 16).check(one_of(
                    "state",
                    &[
                        "proposed",
                        "approved",
                        "implemented",
                        "evaluated",
                        "rejected",
                    ],
                )))
                .foreign_key(&mut fk(
                    "fk_improvements_owner",
                    ("improvements", "owner_id"),
                    "users",
                )),
        ),
        versioned(
            Table::create()
                .table("risks")
                .col(id())
                .col(string_len("title", 200))
                .col(string_len("kind", 16).check(one_of("kind", &["risk", "opportunity"])))
                .col(text_null("description"))
                .col(rating("likelihood"))
                .col(rating("impact"))
                // likelihood × impact, written with them so lists sort and filter on it.
                .col(integer("score"))
                .check(Expr::col("score").eq(Expr::col("likelihood").mul(Expr::col("impact"))))
                .col(text_null("treatment"))
                .col(text_null("acceptance_rationale"))
                .col(string_len_null("owner_role_id", 36))
                .col(string_len_null("process_id", 36))
                .col(date_null("review_due"))
                .col(string_len_null("corrective_action_id", 36))
                .col(string_len_null("improvement_id", 36))
                .col(string_len("state", 16).check(one_of(
                    "state",
                    &["identified", "treating", "accepted", "closed"],
                )))
                .foreign_key(&mut fk(
                    "fk_risks_owner_role",
                    ("risks", "owner_role_id"),
                    "sms_roles",
                ))
                .foreign_key(&mut fk(
                    "fk_risks_process",
                    ("risks", "process_id"),
                    "processes",
                ))
                .foreign_key(&mut fk(
                    "fk_risks_corrective_action",
                    ("risks", "corrective_action_id"),
                    "corrective_actions",
                ))
                .foreign_key(&mut fk(
                    "fk_risks_improvement",
                    ("risks", "improvement_id"),
                    "improvements",
                )),
        ),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index(
            "idx_improvements_state",
            "improvements",
            &["state", "id"],
            false,
        ),
        index(
            "idx_improvements_owner",
            "improvements",
            &["owner_id"],
            false,
        ),
        index(
            "idx_improvements_due",
            "improvements",
            &["due_date", "id"],
            false,
        ),
        index(
            "idx_improvements_review",
            "improvements",
            &["management_review_id"],
            false,
        ),
        index("idx_risks_state", "risks", &["state", "id"], false),
        index("idx_risks_score", "risks", &["score", "id"], false),
        index(
            "idx_risks_review_due",
            "risks",
            &["review_due", "id"],
            false,
        ),
        index("idx_risks_owner_role", "risks", &["owner_role_id"], false),
        index("idx_risks_process", "risks", &["process_id"], false),
        index(
            "idx_risks_corrective_action",
            "risks",
            &["corrective_action_id"],
            false,
        ),
        index("idx_risks_improvement", "risks", &["improvement_id"], false),
    ]
}

const DROP_ORDER: &[&str] = &["risks", "improvements"];

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
        for table in DROP_ORDER {
            manager
                .drop_table(Table::drop().table(*table).take())
                .await?;
        }
        Ok(())
    }
}
