//! The keyed audit chain: where the chain head records from which entry on the hashes are
//! HMAC-SHA256 under a key kept outside the database. Rows before that entry keep their
//! plain SHA-256 hashes. All three columns stay empty while the chain is not keyed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn columns() -> Vec<ColumnDef> {
    vec![
        // The first entry hashed with the key.
        big_integer_null("keyed_from_seq"),
        // The hash of the entry before it (64 zeros when the key applies from the start).
        string_len_null("keyed_after_hash", 64),
        // HMAC of the two above under the key: the boundary cannot be moved without the key.
        string_len_null("key_check", 64),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time.
        for mut column in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table("audit_chain_head")
                        .add_column(&mut column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["key_check", "keyed_after_hash", "keyed_from_seq"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("audit_chain_head")
                        .drop_column(column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
