//! Users and authentication, the clause catalog, SMS roles, processes, the audit trail,
//! and the bookkeeping tables for idempotent requests and login throttling.
//! Enums are TEXT with a CHECK so SQLite and PostgreSQL behave the same; ids are UUIDv7 text.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::common::{fk, id, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table("clauses")
            .col(string_len("clause", 16).primary_key())
            .col(string_len("title", 200))
            .col(string_len_null("parent", 16))
            .col(boolean("is_process"))
            .col(integer("position"))
            .take(),
        Table::create()
            .table("users")
            .col(id())
            .col(string_len("email", 254).unique_key())
            .col(string_len("display_name", 120))
            .col(string_len("kind", 16).check(one_of("kind", &["person", "service"])))
            .col(text("roles"))
            .col(boolean("active"))
            .col(text_null("password_hash"))
            .col(big_integer("version"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .take(),
        Table::create()
            .table("refresh_tokens")
            .col(id())
            .col(string_len("user_id", 36))
            .col(string_len("family_id", 36))
            .col(string_len("token_hash", 64).unique_key())
            .col(timestamp_with_time_zone("expires_at"))
            .col(timestamp_with_time_zone_null("used_at"))
            .col(timestamp_with_time_zone_null("revoked_at"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(
                fk(
                    "fk_refresh_tokens_user",
                    ("refresh_tokens", "user_id"),
                    "users",
                )
                .on_delete(ForeignKeyAction::Cascade),
            )
            .take(),
        Table::create()
            .table("api_keys")
            .col(id())
            .col(string_len("user_id", 36))
            .col(string_len("name", 120))
            .col(string_len("prefix", 16))
            .col(string_len("key_hash", 64).unique_key())
            .col(timestamp_with_time_zone_null("expires_at"))
            .col(timestamp_with_time_zone_null("revoked_at"))
            .col(timestamp_with_time_zone_null("last_used_at"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(
                fk("fk_api_keys_user", ("api_keys", "user_id"), "users")
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .take(),
        Table::create()
            .table("login_failures")
            .col(string_len("key", 300).primary_key())
            .col(timestamp_with_time_zone("window_start"))
            .col(integer("failures"))
            .take(),
        Table::create()
            .table("sms_roles")
            .col(id())
            .col(string_len("name", 120))
            // Lower-casing can lengthen a name (İ → i̇), so the key has no length limit.
            .col(text("name_key").unique_key())
            .col(text_null("description"))
            .col(text("responsibilities"))
            .col(text("authorities"))
            .col(text("required_competences"))
            .col(big_integer("version"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .take(),
        Table::create()
            .table("sms_role_members")
            .col(string_len("role_id", 36))
            .col(string_len("user_id", 36))
            .primary_key(Index::create().col("role_id").col("user_id"))
            .foreign_key(
                fk(
                    "fk_role_members_role",
                    ("sms_role_members", "role_id"),
                    "sms_roles",
                )
                .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(&mut fk(
                "fk_role_members_user",
                ("sms_role_members", "user_id"),
                "users",
            ))
            .take(),
        Table::create()
            .table("processes")
            .col(id())
            .col(string_len("code", 16).unique_key())
            .col(string_len("name", 200))
            .col(text_null("purpose"))
            .col(text_null("description"))
            .col(string_len_null("owner_role_id", 36))
            .col(date_null("review_due"))
            .col(string_len("state", 16).check(one_of("state", &["draft", "active", "retired"])))
            .col(big_integer("version"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut fk(
                "fk_processes_owner_role",
                ("processes", "owner_role_id"),
                "sms_roles",
            ))
            .take(),
        Table::create()
            .table("process_clauses")
            .col(string_len("process_id", 36))
            .col(string_len("clause", 16))
            .col(integer("position"))
            .primary_key(Index::create().col("process_id").col("clause"))
            .foreign_key(
                fk(
                    "fk_process_clauses_process",
                    ("process_clauses", "process_id"),
                    "processes",
                )
                .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(
                &mut ForeignKey::create()
                    .name("fk_process_clauses_clause")
                    .from("process_clauses", "clause")
                    .to("clauses", "clause")
                    .take(),
            )
            .take(),
        Table::create()
            .table("process_raci")
            .col(string_len("process_id", 36))
            .col(string_len("role_id", 36))
            // '' stands for the process as a whole, so the primary key has no NULL in it.
            .col(string_len("activity", 200))
            .col(
                string_len("responsibility", 1)
                    .check(one_of("responsibility", &["R", "A", "C", "I"])),
            )
            .col(integer("position"))
            .primary_key(
                Index::create()
                    .col("process_id")
                    .col("role_id")
                    .col("activity"),
            )
            .foreign_key(
                fk(
                    "fk_process_raci_process",
                    ("process_raci", "process_id"),
                    "processes",
                )
                .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(&mut fk(
                "fk_process_raci_role",
                ("process_raci", "role_id"),
                "sms_roles",
            ))
            .take(),
        Table::create()
            .table("audit_trail")
            .col(big_integer("seq").primary_key())
            .col(string_len("id", 36).unique_key())
            .col(timestamp_with_time_zone("at"))
            .col(string_len_null("actor_id", 36))
            .col(string_len("action", 64))
            .col(string_len("entity_type", 64))
            .col(string_len("entity_id", 64))
            .col(text("changes"))
            .col(string_len_null("request_id", 128))
            .col(string_len("prev_hash", 64))
            .col(string_len("hash", 64))
            .take(),
        // One row: the end of the hash chain. Updating it first serializes appends on every backend.
        Table::create()
            .table("audit_chain_head")
            .col(integer("id").primary_key())
            .col(big_integer("seq"))
            .col(string_len("last_hash", 64))
            .take(),
        Table::create()
            .table("idempotency_keys")
            .col(string_len("user_id", 36))
            .col(string_len("key", 255))
            .col(string_len("request_hash", 64))
            .col(integer_null("status"))
            .col(text_null("response_body"))
            .col(text_null("response_headers"))
            .col(timestamp_with_time_zone("created_at"))
            .primary_key(Index::create().col("user_id").col("key"))
            .take(),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index(
            "idx_refresh_tokens_family",
            "refresh_tokens",
            &["family_id"],
            false,
        ),
        index("idx_api_keys_user", "api_keys", &["user_id"], false),
        index(
            "idx_role_members_user",
            "sms_role_members",
            &["user_id"],
            false,
        ),
        index("idx_sms_roles_name", "sms_roles", &["name", "id"], false),
        index("idx_processes_state", "processes", &["state", "id"], false),
        index(
            "idx_processes_owner_role",
            "processes",
            &["owner_role_id"],
            false,
        ),
        index("idx_processes_name", "processes", &["name", "id"], false),
        index(
            "idx_process_clauses_clause",
            "process_clauses",
            &["clause"],
            false,
        ),
        index("idx_process_raci_role", "process_raci", &["role_id"], false),
        index(
            "idx_audit_trail_entity",
            "audit_trail",
            &["entity_type", "entity_id"],
            false,
        ),
        index(
            "idx_idempotency_created",
            "idempotency_keys",
            &["created_at"],
            false,
        ),
    ]
}

const DROP_ORDER: &[&str] = &[
    "idempotency_keys",
    "audit_chain_head",
    "audit_trail",
    "process_raci",
    "process_clauses",
    "processes",
    "sms_role_members",
    "sms_roles",
    "login_failures",
    "api_keys",
    "refresh_tokens",
    "users",
    "clauses",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        manager
            .exec_stmt(
                Query::insert()
                    .into_table("audit_chain_head")
                    .columns(["id", "seq", "last_hash"])
                    .values_panic([1.into(), 0i64.into(), "0".repeat(64).into()])
                    .take(),
            )
            .await
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
