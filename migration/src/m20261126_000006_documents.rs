//! Documented information (clause 7.5): the document register and the clauses each
//! document serves.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::common::{fk, id, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table("documents")
            .col(id())
            .col(string_len("title", 200))
            .col(string_len("kind", 16).check(one_of(
                "kind",
                &[
                    "policy",
                    "plan",
                    "procedure",
                    "record",
                    "agreement",
                    "other",
                ],
            )))
            .col(string_len_null("owner_role_id", 36))
            .col(string_len_null("version_label", 50))
            .col(text_null("location"))
            .col(date_null("review_due"))
            .col(string_len("state", 16).check(one_of("state", &["draft", "approved", "obsolete"])))
            .col(string_len_null("approved_by", 36))
            .col(timestamp_with_time_zone_null("approved_at"))
            .col(big_integer("version"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut fk(
                "fk_documents_owner_role",
                ("documents", "owner_role_id"),
                "sms_roles",
            ))
            .take(),
        Table::create()
            .table("document_clauses")
            .col(string_len("document_id", 36))
            .col(string_len("clause", 16))
            .col(integer("position"))
            .primary_key(Index::create().col("document_id").col("clause"))
            .foreign_key(
                fk(
                    "fk_document_clauses_document",
                    ("document_clauses", "document_id"),
                    "documents",
                )
                .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(
                &mut ForeignKey::create()
                    .name("fk_document_clauses_clause")
                    .from("document_clauses", "clause")
                    .to("clauses", "clause")
                    .take(),
            )
            .take(),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index("idx_documents_state", "documents", &["state", "id"], false),
        index("idx_documents_kind", "documents", &["kind", "id"], false),
        index("idx_documents_title", "documents", &["title", "id"], false),
        index(
            "idx_documents_review_due",
            "documents",
            &["review_due", "id"],
            false,
        ),
        index(
            "idx_documents_owner_role",
            "documents",
            &["owner_role_id"],
            false,
        ),
        index(
            "idx_document_clauses_clause",
            "document_clauses",
            &["clause"],
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
        for table in ["document_clauses", "documents"] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
