//! The control loop of clauses 6.2, 9.1, 9.2 and 10.1: objectives and their measurements,
//! audits with their scope, team and findings, and corrective actions.

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

/// A child table of ordered clause references, deleted with its parent.
fn clause_refs(
    table: &'static str,
    parent_column: &'static str,
    parent: &'static str,
) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(string_len(parent_column, 36))
        .col(string_len("clause", 16))
        .col(integer("position"))
        .primary_key(Index::create().col(parent_column).col("clause"))
        .foreign_key(
            fk(
                &format!("fk_{table}_parent"),
                (table, parent_column),
                parent,
            )
            .on_delete(ForeignKeyAction::Cascade),
        )
        .take()
}

fn tables() -> Vec<TableCreateStatement> {
    vec![
        versioned(
            Table::create()
                .table("objectives")
                .col(id())
                .col(string_len("title", 200))
                .col(text_null("description"))
                .col(string_len_null("process_id", 36))
                .col(string_len_null("owner_role_id", 36))
                .col(string_len_null("metric", 200))
                .col(string_len_null("unit", 50))
                .col(double_null("baseline"))
                .col(double_null("target"))
                .col(string_len_null("comparator", 8).check(one_of("comparator", &["gte", "lte"])))
                .col(date_null("due_date"))
                .col(text_null("plan_what"))
                .col(text_null("plan_resources"))
                .col(text_null("plan_responsible"))
                .col(text_null("plan_completion"))
                .col(text_null("plan_evaluation"))
                .col(string_len("state", 16).check(one_of(
                    "state",
                    &["draft", "active", "achieved", "missed", "cancelled"],
                )))
                .foreign_key(&mut fk(
                    "fk_objectives_process",
                    ("objectives", "process_id"),
                    "processes",
                ))
                .foreign_key(&mut fk(
                    "fk_objectives_owner_role",
                    ("objectives", "owner_role_id"),
                    "sms_roles",
                )),
        ),
        clause_refs("objective_clauses", "objective_id", "objectives"),
        Table::create()
            .table("measurements")
            .col(id())
            .col(string_len("objective_id", 36))
            .col(double("value"))
            .col(timestamp_with_time_zone("measured_at"))
            .col(text_null("note"))
            .col(string_len_null("recorded_by", 36))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(
                fk(
                    "fk_measurements_objective",
                    ("measurements", "objective_id"),
                    "objectives",
                )
                .on_delete(ForeignKeyAction::Cascade),
            )
            .take(),
        versioned(
            Table::create()
                .table("audits")
                .col(id())
                .col(string_len("title", 200))
                .col(string_len("kind", 24).check(one_of(
                    "kind",
                    &[
                        "internal",
                        "external",
                        "certification_stage1",
                        "certification_stage2",
                        "surveillance",
                        "recertification",
                    ],
                )))
                .col(text_null("criteria"))
                .col(date_null("planned_start"))
                .col(date_null("planned_end"))
                .col(string_len_null("lead_auditor_id", 36))
                .col(text_null("summary"))
                .col(string_len("state", 16).check(one_of(
                    "state",
                    &["planned", "in_progress", "reporting", "closed", "cancelled"],
                )))
                .col(timestamp_with_time_zone_null("started_at"))
                .col(timestamp_with_time_zone_null("closed_at"))
                .foreign_key(&mut fk(
                    "fk_audits_lead",
                    ("audits", "lead_auditor_id"),
                    "users",
                )),
        ),
        clause_refs("audit_scope_clauses", "audit_id", "audits"),
        Table::create()
            .table("audit_scope_processes")
            .col(string_len("audit_id", 36))
            .col(string_len("process_id", 36))
            .col(integer("position"))
            .primary_key(Index::create().col("audit_id").col("process_id"))
            .foreign_key(
                fk(
                    "fk_audit_scope_processes_audit",
                    ("audit_scope_processes", "audit_id"),
                    "audits",
                )
                .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(&mut fk(
                "fk_audit_scope_processes_process",
                ("audit_scope_processes", "process_id"),
                "processes",
            ))
            .take(),
        Table::create()
            .table("audit_auditors")
            .col(string_len("audit_id", 36))
            .col(string_len("user_id", 36))
            .col(integer("position"))
            .primary_key(Index::create().col("audit_id").col("user_id"))
            .foreign_key(
                fk(
                    "fk_audit_auditors_audit",
                    ("audit_auditors", "audit_id"),
                    "audits",
                )
                .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(&mut fk(
                "fk_audit_auditors_user",
                ("audit_auditors", "user_id"),
                "users",
            ))
            .take(),
        versioned(
            Table::create()
                .table("findings")
                .col(id())
                .col(string_len("audit_id", 36))
                .col(string_len("type", 32).check(one_of(
                    "type",
                    &[
                        "major_nonconformity",
                        "minor_nonconformity",
                        "observation",
                        "opportunity_for_improvement",
                    ],
                )))
                .col(string_len_null("clause", 16))
                .col(string_len_null("process_id", 36))
                .col(text("statement"))
                .col(text_null("evidence"))
                .col(string_len("state", 16).check(one_of("state", &["open", "closed"])))
                .col(string_len_null("recorded_by", 36))
                .foreign_key(
                    fk("fk_findings_audit", ("findings", "audit_id"), "audits")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(&mut fk(
                    "fk_findings_process",
                    ("findings", "process_id"),
                    "processes",
                )),
        ),
        versioned(
            Table::create()
                .table("corrective_actions")
                .col(id())
                .col(string_len("title", 200))
                .col(text("nonconformity"))
                .col(string_len("source", 24).check(one_of(
                    "source",
                    &[
                        "audit_finding",
                        "incident",
                        "complaint",
                        "management_review",
                        "monitoring",
                        "other",
                    ],
                )))
                .col(string_len_null("finding_id", 36))
                .col(string_len_null("clause", 16))
                .col(string_len_null("process_id", 36))
                .col(string_len_null("owner_id", 36))
                .col(date_null("due_date"))
                .col(text_null("correction"))
                .col(text_null("root_cause"))
                .col(text_null("similar_nonconformities"))
                .col(text_null("action_plan"))
                .col(text_null("implementation"))
                .col(text_null("effectiveness_review"))
                .col(string_len_null("implemented_by", 36))
                .col(text_null("cancel_reason"))
                .col(string_len("state", 16).check(one_of(
                    "state",
                    &[
                        "open",
                        "investigating",
                        "action_planned",
                        "implemented",
                        "verified",
                        "closed",
                        "cancelled",
                    ],
                )))
                .foreign_key(&mut fk(
                    "fk_corrective_actions_finding",
                    ("corrective_actions", "finding_id"),
                    "findings",
                ))
                .foreign_key(&mut fk(
                    "fk_corrective_actions_process",
                    ("corrective_actions", "process_id"),
                    "processes",
                ))
                .foreign_key(&mut fk(
                    "fk_corrective_actions_owner",
                    ("corrective_actions", "owner_id"),
                    "users",
                )),
        ),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index(
            "idx_objectives_state",
            "objectives",
            &["state", "id"],
            false,
        ),
        index(
            "idx_objectives_process",
            "objectives",
            &["process_id"],
            false,
        ),
        index(
            "idx_objectives_due",
            "objectives",
            &["due_date", "id"],
            false,
        ),
        index(
            "idx_objective_clauses_clause",
            "objective_clauses",
            &["clause"],
            false,
        ),
        index(
            "idx_measurements_objective",
            "measurements",
            &["objective_id", "measured_at", "id"],
            false,
        ),
        index("idx_audits_state", "audits", &["state", "id"], false),
        index(
            "idx_audits_start",
            "audits",
            &["planned_start", "id"],
            false,
        ),
        index(
            "idx_audit_scope_clauses_clause",
            "audit_scope_clauses",
            &["clause"],
            false,
        ),
        index(
            "idx_audit_scope_processes_process",
            "audit_scope_processes",
            &["process_id"],
            false,
        ),
        index(
            "idx_audit_auditors_user",
            "audit_auditors",
            &["user_id"],
            false,
        ),
        index("idx_findings_audit", "findings", &["audit_id", "id"], false),
        index("idx_findings_state", "findings", &["state", "id"], false),
        // At most one corrective action per finding (NULLs do not collide on either backend).
        index(
            "idx_corrective_actions_finding",
            "corrective_actions",
            &["finding_id"],
            true,
        ),
        index(
            "idx_corrective_actions_state",
            "corrective_actions",
            &["state", "id"],
            false,
        ),
        index(
            "idx_corrective_actions_due",
            "corrective_actions",
            &["due_date", "id"],
            false,
        ),
        index(
            "idx_corrective_actions_owner",
            "corrective_actions",
            &["owner_id"],
            false,
        ),
    ]
}

const DROP_ORDER: &[&str] = &[
    "corrective_actions",
    "findings",
    "audit_auditors",
    "audit_scope_processes",
    "audit_scope_clauses",
    "audits",
    "measurements",
    "objective_clauses",
    "objectives",
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
