//! Domain events in a durable outbox (written in the transaction of the change that caused
//! them), what the scheduled checks already emitted, webhook subscriptions and their
//! deliveries.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::common::{fk, id, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

const EVENT_TYPES: &[&str] = &[
    "corrective_action.created",
    "corrective_action.transitioned",
    "corrective_action.overdue",
    "finding.created",
    "audit.transitioned",
    "process.transitioned",
    "objective.off_track",
    "document.review_due",
    "webhook.ping",
];

fn tables() -> Vec<TableCreateStatement> {
    vec![
        // The outbox. `seq` is allocated under the event head's row lock, so it grows in
        // commit order and a reader polling by `seq` never skips an event.
        Table::create()
            .table("events")
            .col(big_integer("seq").primary_key())
            .col(string_len("id", 36).unique_key())
            .col(string_len("type", 64).check(one_of("type", EVENT_TYPES)))
            .col(timestamp_with_time_zone("occurred_at"))
            .col(string_len("resource_type", 64))
            .col(string_len("resource_id", 64))
            .col(big_integer_null("audit_seq"))
            .col(text("data"))
            .take(),
        // One row: the last event's seq.
        Table::create()
            .table("event_head")
            .col(integer("id").primary_key())
            .col(big_integer("seq"))
            .take(),
        // What the scheduled checks emitted: once per resource and date, whoever runs them.
        Table::create()
            .table("event_emissions")
            .col(string_len("kind", 64))
            .col(string_len("resource_id", 64))
            .col(date("due_on"))
            .col(big_integer("event_seq"))
            .primary_key(Index::create().col("kind").col("resource_id").col("due_on"))
            .take(),
        Table::create()
            .table("webhook_subscriptions")
            .col(id())
            .col(string_len("url", 2048))
            .col(text_null("description"))
            // JSON array of event types, or ["*"].
            .col(text("event_types"))
            .col(string_len("status", 16).check(one_of("status", &["active", "paused"])))
            .col(string_len("secret", 128))
            .col(timestamp_with_time_zone("secret_rotated_at"))
            .col(big_integer("version"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .take(),
        Table::create()
            .table("webhook_deliveries")
            .col(id())
            .col(string_len("subscription_id", 36))
            .col(big_integer("event_seq"))
            .col(
                string_len("status", 16)
                    .check(one_of("status", &["pending", "delivered", "failed"])),
            )
            .col(integer("attempts"))
            .col(timestamp_with_time_zone("next_attempt_at"))
            .col(timestamp_with_time_zone_null("leased_until"))
            .col(string_len_null("leased_by", 64))
            .col(timestamp_with_time_zone_null("last_attempt_at"))
            .col(integer_null("response_status"))
            .col(big_integer_null("latency_ms"))
            .col(text_null("response_body"))
            .col(text_null("error"))
            .col(string_len_null("redelivery_of", 36))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone_null("completed_at"))
            .foreign_key(
                fk(
                    "fk_webhook_deliveries_subscription",
                    ("webhook_deliveries", "subscription_id"),
                    "webhook_subscriptions",
                )
                .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_webhook_deliveries_event")
                    .from("webhook_deliveries", "event_seq")
                    .to("events", "seq"),
            )
            .take(),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index(
            "idx_events_resource",
            "events",
            &["resource_type", "resource_id"],
            false,
        ),
        index(
            "idx_webhook_subscriptions_created",
            "webhook_subscriptions",
            &["created_at", "id"],
            false,
        ),
        index(
            "idx_webhook_subscriptions_url",
            "webhook_subscriptions",
            &["url", "id"],
            false,
        ),
        // The head of each subscription's queue.
        index(
            "idx_webhook_deliveries_queue",
            "webhook_deliveries",
            &["subscription_id", "status", "event_seq"],
            false,
        ),
        index(
            "idx_webhook_deliveries_due",
            "webhook_deliveries",
            &["status", "next_attempt_at"],
            false,
        ),
        index(
            "idx_webhook_deliveries_log",
            "webhook_deliveries",
            &["subscription_id", "created_at", "id"],
            false,
        ),
    ]
}

const DROP_ORDER: &[&str] = &[
    "webhook_deliveries",
    "webhook_subscriptions",
    "event_emissions",
    "event_head",
    "events",
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
                    .into_table("event_head")
                    .columns(["id", "seq"])
                    .values_panic([1.into(), 0i64.into()])
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
