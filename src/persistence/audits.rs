//! Audits in the database: the `audits` row with its scope (clauses, processes) and team.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde::Serialize;
use serde_json::Value;

use super::Aggregate;
use super::entities::{
    audit as row, audit_auditor, audit_scope_clause, audit_scope_process, corrective_action,
    finding, process, sms_role, sms_role_member, user,
};
use super::page::{self, Page, PageRequest, SortKey};
use crate::domain::access::{AccessRole, Principal};
use crate::domain::audit::{Audit, AuditFields, AuditKind, AuditState, OwnershipConflict};
use crate::domain::finding::{FindingState, FindingType};
use crate::error::{Error, Result};

/// A stored audit.
#[derive(Debug, Clone)]
pub struct StoredAudit {
    pub id: String,
    pub audit: Audit,
    pub started_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the audit trail records of an audit.
#[derive(Serialize)]
struct Record<'a> {
    #[serde(flatten)]
    fields: &'a AuditFields,
    state: AuditState,
    started_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
}

impl Aggregate for StoredAudit {
    type Entity = row::Entity;
    const KIND: &'static str = "audit";
    const NOUN: &'static str = "audit";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn record(&self) -> Value {
        serde_json::to_value(Record {
            fields: &self.audit.fields,
            state: self.audit.state,
            started_at: self.started_at,
            closed_at: self.closed_at,
        })
        .expect("plain data serializes")
    }

    async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Self>> {
        let Some(m) = row::Entity::find_by_id(id.to_string()).one(conn).await? else {
            return Ok(None);
        };
        Ok(load_children(conn, vec![m]).await?.pop())
    }
}

/// Loads an audit and locks its row until the transaction ends, so transitions and the
/// recording of findings take turns (PostgreSQL; SQLite runs one writer at a time anyway).
pub async fn lock<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<StoredAudit>> {
    let Some(m) = row::Entity::find_by_id(id.to_string())
        .lock_exclusive()
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(load_children(conn, vec![m]).await?.pop())
}

/// Completes a page of rows with their scope and team: one query per child table.
pub async fn load_children<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<row::Model>,
) -> Result<Vec<StoredAudit>> {
    let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
    use audit_auditor::Column as Auditor;
    use audit_scope_clause::Column as ScopeClause;
    use audit_scope_process::Column as ScopeProcess;
    let mut clauses = super::children_of::<audit_scope_clause::Entity, _, _>(
        conn,
        (ScopeClause::AuditId, ScopeClause::Position),
        &ids,
        |c| (c.audit_id, c.clause),
    )
    .await?;
    let mut processes = super::children_of::<audit_scope_process::Entity, _, _>(
        conn,
        (ScopeProcess::AuditId, ScopeProcess::Position),
        &ids,
        |p| (p.audit_id, p.process_id),
    )
    .await?;
    let mut auditors = super::children_of::<audit_auditor::Entity, _, _>(
        conn,
        (Auditor::AuditId, Auditor::Position),
        &ids,
        |a| (a.audit_id, a.user_id),
    )
    .await?;
    rows.into_iter()
        .map(|m| {
            let state = AuditState::parse(&m.state)
                .ok_or_else(|| Error::Internal(format!("unknown audit state {}", m.state)))?;
            let kind = AuditKind::parse(&m.kind)
                .ok_or_else(|| Error::Internal(format!("unknown audit kind {}", m.kind)))?;
            Ok(StoredAudit {
                audit: Audit {
                    fields: AuditFields {
                        title: m.title,
                        kind,
                        scope_clauses: clauses.remove(&m.id).unwrap_or_default(),
                        scope_process_ids: processes.remove(&m.id).unwrap_or_default(),
                        criteria: m.criteria,
                        planned_start: m.planned_start,
                        planned_end: m.planned_end,
                        lead_auditor_id: m.lead_auditor_id,
                        auditor_ids: auditors.remove(&m.id).unwrap_or_default(),
                        summary: m.summary,
                    },
                    state,
                },
                id: m.id,
                started_at: m.started_at,
                closed_at: m.closed_at,
                version: m.version,
                created_at: m.created_at,
                updated_at: m.updated_at,
            })
        })
        .collect()
}

fn columns(fields: &AuditFields) -> row::ActiveModel {
    row::ActiveModel {
        title: Set(fields.title.clone()),
        kind: Set(fields.kind.as_str().to_string()),
        criteria: Set(fields.criteria.clone()),
        planned_start: Set(fields.planned_start),
        planned_end: Set(fields.planned_end),
        lead_auditor_id: Set(fields.lead_auditor_id.clone()),
        summary: Set(fields.summary.clone()),
        ..Default::default()
    }
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    fields: &AuditFields,
    at: DateTime<Utc>,
) -> Result<()> {
    row::ActiveModel {
        id: Set(id.to_string()),
        state: Set(AuditState::Planned.as_str().to_string()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..columns(fields)
    }
    .insert(conn)
    .await?;
    write_children(conn, id, fields).await
}

/// Writes the fields, state and its timestamps of an existing audit (its version is
/// already bumped).
pub async fn update<C: ConnectionTrait>(conn: &C, audit: &StoredAudit) -> Result<()> {
    row::Entity::update_many()
        .set(row::ActiveModel {
            state: Set(audit.audit.state.as_str().to_string()),
            started_at: Set(audit.started_at),
            closed_at: Set(audit.closed_at),
            ..columns(&audit.audit.fields)
        })
        .filter(row::Column::Id.eq(audit.id.as_str()))
        .exec(conn)
        .await?;
    write_children(conn, &audit.id, &audit.audit.fields).await
}

async fn write_children<C: ConnectionTrait>(conn: &C, id: &str, f: &AuditFields) -> Result<()> {
    audit_scope_clause::Entity::delete_many()
        .filter(audit_scope_clause::Column::AuditId.eq(id))
        .exec(conn)
        .await?;
    audit_scope_process::Entity::delete_many()
        .filter(audit_scope_process::Column::AuditId.eq(id))
        .exec(conn)
        .await?;
    audit_auditor::Entity::delete_many()
        .filter(audit_auditor::Column::AuditId.eq(id))
        .exec(conn)
        .await?;
    if !f.scope_clauses.is_empty() {
        audit_scope_clause::Entity::insert_many(f.scope_clauses.iter().enumerate().map(
            |(i, c)| audit_scope_clause::ActiveModel {
                audit_id: Set(id.to_string()),
                clause: Set(c.clone()),
                position: Set(i as i32),
            },
        ))
        .exec(conn)
        .await?;
    }
    if !f.scope_process_ids.is_empty() {
        audit_scope_process::Entity::insert_many(f.scope_process_ids.iter().enumerate().map(
            |(i, p)| audit_scope_process::ActiveModel {
                audit_id: Set(id.to_string()),
                process_id: Set(p.clone()),
                position: Set(i as i32),
            },
        ))
        .exec(conn)
        .await?;
    }
    if !f.auditor_ids.is_empty() {
        audit_auditor::Entity::insert_many(f.auditor_ids.iter().enumerate().map(|(i, u)| {
            audit_auditor::ActiveModel {
                audit_id: Set(id.to_string()),
                user_id: Set(u.clone()),
                position: Set(i as i32),
            }
        }))
        .exec(conn)
        .await?;
    }
    Ok(())
}

/// Which of `ids` are active users holding the `auditor` access role (admins hold it too).
pub async fn active_auditors<C: ConnectionTrait>(
    conn: &C,
    ids: &[&str],
) -> Result<std::collections::HashSet<String>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .filter(user::Column::Active.eq(true))
        .all(conn)
        .await?;
    Ok(users
        .into_iter()
        .filter(|u| {
            Principal {
                user_id: u.id.clone(),
                roles: super::from_json_text(&u.roles),
            }
            .has(AccessRole::Auditor)
        })
        .map(|u| u.id)
        .collect())
}

/// The processes among `process_ids` owned by an SMS role that one of `user_ids` holds,
/// in one query.
pub async fn ownership_conflicts<C: ConnectionTrait>(
    conn: &C,
    user_ids: &[&str],
    process_ids: &[String],
) -> Result<Vec<OwnershipConflict>> {
    if user_ids.is_empty() || process_ids.is_empty() {
        return Ok(Vec::new());
    }
    let query = Query::select()
        .expr_as(
            Expr::col((sms_role_member::Entity, sms_role_member::Column::UserId)),
            Alias::new("user_id"),
        )
        .expr_as(
            Expr::col((process::Entity, process::Column::Code)),
            Alias::new("process_code"),
        )
        .expr_as(
            Expr::col((sms_role::Entity, sms_role::Column::Name)),
            Alias::new("role_name"),
        )
        .from(process::Entity)
        .inner_join(
            sms_role::Entity,
            Expr::col((sms_role::Entity, sms_role::Column::Id))
                .equals((process::Entity, process::Column::OwnerRoleId)),
        )
        .inner_join(
            sms_role_member::Entity,
            Expr::col((sms_role_member::Entity, sms_role_member::Column::RoleId))
                .equals((sms_role::Entity, sms_role::Column::Id)),
        )
        .and_where(
            Expr::col((process::Entity, process::Column::Id)).is_in(process_ids.iter().cloned()),
        )
        .and_where(
            Expr::col((sms_role_member::Entity, sms_role_member::Column::UserId))
                .is_in(user_ids.iter().copied()),
        )
        .order_by(
            (process::Entity, process::Column::Code),
            sea_orm::Order::Asc,
        )
        .to_owned();
    conn.query_all(&query)
        .await?
        .iter()
        .map(|r| {
            Ok(OwnershipConflict {
                user_id: r.try_get("", "user_id")?,
                process_code: r.try_get("", "process_code")?,
                role_name: r.try_get("", "role_name")?,
            })
        })
        .collect()
}

/// How many nonconformity findings of the audit have no corrective action.
pub async fn nonconformities_without_action<C: ConnectionTrait>(
    conn: &C,
    audit_id: &str,
) -> Result<u64> {
    let with_action = Query::select()
        .column(corrective_action::Column::FindingId)
        .from(corrective_action::Entity)
        .and_where(corrective_action::Column::FindingId.is_not_null())
        .to_owned();
    let nonconformities = [
        FindingType::MajorNonconformity.as_str(),
        FindingType::MinorNonconformity.as_str(),
    ];
    Ok(finding::Entity::find()
        .filter(finding::Column::AuditId.eq(audit_id))
        .filter(finding::Column::FindingType.is_in(nonconformities))
        .filter(finding::Column::Id.not_in_subquery(with_action))
        .count(conn)
        .await?)
}

/// Per audit: its findings, and its open nonconformities. One query for a page.
#[derive(Debug, Clone, Copy, Default)]
pub struct FindingCounts {
    pub findings: u64,
    pub open_nonconformities: u64,
}

pub async fn finding_counts<C: ConnectionTrait>(
    conn: &C,
    audit_ids: &[String],
) -> Result<HashMap<String, FindingCounts>> {
    if audit_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let open_nonconformity = Expr::col(finding::Column::FindingType)
        .is_in([
            FindingType::MajorNonconformity.as_str(),
            FindingType::MinorNonconformity.as_str(),
        ])
        .and(Expr::col(finding::Column::State).eq(FindingState::Open.as_str()));
    let query = Query::select()
        .column(finding::Column::AuditId)
        .expr_as(Func::count(Expr::col(finding::Column::Id)), Alias::new("n"))
        .expr_as(
            // COUNT skips the NULL of a CASE without ELSE; it is BIGINT on both backends.
            Func::count(Expr::case(open_nonconformity, Expr::val(1i64))),
            Alias::new("open_nc"),
        )
        .from(finding::Entity)
        .and_where(finding::Column::AuditId.is_in(audit_ids.iter().cloned()))
        .group_by_col(finding::Column::AuditId)
        .to_owned();
    conn.query_all(&query)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get::<String>("", "audit_id")?,
                FindingCounts {
                    findings: u64::try_from(r.try_get::<i64>("", "n")?).unwrap_or(0),
                    open_nonconformities: u64::try_from(r.try_get::<i64>("", "open_nc")?)
                        .unwrap_or(0),
                },
            ))
        })
        .collect()
}

/// When each clause in scope was last covered by a closed internal audit (one query).
pub async fn clauses_last_covered<C: ConnectionTrait>(
    conn: &C,
) -> Result<HashMap<String, DateTime<Utc>>> {
    let query = Query::select()
        .expr_as(
            Expr::col((
                audit_scope_clause::Entity,
                audit_scope_clause::Column::Clause,
            )),
            Alias::new("clause"),
        )
        .expr_as(
            Func::max(Expr::col((row::Entity, row::Column::ClosedAt))),
            Alias::new("last"),
        )
        .from(audit_scope_clause::Entity)
        .inner_join(
            row::Entity,
            Expr::col((row::Entity, row::Column::Id)).equals((
                audit_scope_clause::Entity,
                audit_scope_clause::Column::AuditId,
            )),
        )
        .and_where(closed_internal())
        .group_by_col((
            audit_scope_clause::Entity,
            audit_scope_clause::Column::Clause,
        ))
        .to_owned();
    conn.query_all(&query)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("", "clause")?, r.try_get("", "last")?)))
        .collect()
}

/// Every process with when it was last covered by a closed internal audit (one query).
pub async fn processes_last_covered<C: ConnectionTrait>(
    conn: &C,
) -> Result<Vec<(process::Model, Option<DateTime<Utc>>)>> {
    let covered = Query::select()
        .expr_as(
            Expr::col((
                audit_scope_process::Entity,
                audit_scope_process::Column::ProcessId,
            )),
            Alias::new("process_id"),
        )
        .expr_as(
            Func::max(Expr::col((row::Entity, row::Column::ClosedAt))),
            Alias::new("last"),
        )
        .from(audit_scope_process::Entity)
        .inner_join(
            row::Entity,
            Expr::col((row::Entity, row::Column::Id)).equals((
                audit_scope_process::Entity,
                audit_scope_process::Column::AuditId,
            )),
        )
        .and_where(closed_internal())
        .group_by_col((
            audit_scope_process::Entity,
            audit_scope_process::Column::ProcessId,
        ))
        .to_owned();
    let processes = process::Entity::find()
        .order_by_asc(process::Column::Code)
        .all(conn)
        .await?;
    let last: HashMap<String, DateTime<Utc>> = conn
        .query_all(&covered)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("", "process_id")?, r.try_get("", "last")?)))
        .collect::<Result<_>>()?;
    Ok(processes
        .into_iter()
        .map(|p| {
            let at = last.get(&p.id).copied();
            (p, at)
        })
        .collect())
}

fn closed_internal() -> sea_orm::sea_query::SimpleExpr {
    Expr::col((row::Entity, row::Column::State))
        .eq(AuditState::Closed.as_str())
        .and(Expr::col((row::Entity, row::Column::Kind)).eq(AuditKind::Internal.as_str()))
}

#[derive(Debug, Clone, Default)]
/// What the audit programme is narrowed to.
pub struct AuditFilter {
    pub state: Option<AuditState>,
    pub kind: Option<AuditKind>,
    pub clause: Option<String>,
    pub process_id: Option<String>,
    pub lead_auditor_id: Option<String>,
    pub auditor_id: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// The audit programme: a page of audits whose planned period overlaps `[from, to]`, with
/// their scope and team.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: AuditFilter,
    request: &PageRequest,
) -> Result<Page<StoredAudit>> {
    let mut select = row::Entity::find();
    if let Some(state) = filter.state {
        select = select.filter(row::Column::State.eq(state.as_str()));
    }
    if let Some(kind) = filter.kind {
        select = select.filter(row::Column::Kind.eq(kind.as_str()));
    }
    if let Some(lead) = filter.lead_auditor_id {
        select = select.filter(row::Column::LeadAuditorId.eq(lead));
    }
    if let Some(user) = filter.auditor_id {
        let auditing = audit_auditor::Entity::find()
            .select_only()
            .column(audit_auditor::Column::AuditId)
            .filter(audit_auditor::Column::UserId.eq(user.clone()))
            .into_query();
        select = select.filter(
            Expr::col(row::Column::LeadAuditorId)
                .eq(user)
                .or(Expr::col(row::Column::Id).in_subquery(auditing)),
        );
    }
    if let Some(clause) = filter.clause {
        let with_clause = audit_scope_clause::Entity::find()
            .select_only()
            .column(audit_scope_clause::Column::AuditId)
            .filter(audit_scope_clause::Column::Clause.eq(clause))
            .into_query();
        select = select.filter(row::Column::Id.in_subquery(with_clause));
    }
    if let Some(process_id) = filter.process_id {
        let with_process = audit_scope_process::Entity::find()
            .select_only()
            .column(audit_scope_process::Column::AuditId)
            .filter(audit_scope_process::Column::ProcessId.eq(process_id))
            .into_query();
        select = select.filter(row::Column::Id.in_subquery(with_process));
    }
    // A period with one date is that day; an audit without dates is in no period.
    if let Some(from) = filter.from {
        let end = Func::coalesce([
            Expr::col(row::Column::PlannedEnd),
            Expr::col(row::Column::PlannedStart),
        ]);
        select = select.filter(Expr::expr(end).gte(from));
    }
    if let Some(to) = filter.to {
        let start = Func::coalesce([
            Expr::col(row::Column::PlannedStart),
            Expr::col(row::Column::PlannedEnd),
        ]);
        select = select.filter(Expr::expr(start).lte(to));
    }
    let sorts: [SortKey<_>; 3] = [
        (
            "planned_start",
            row::Column::PlannedStart,
            page::Kind::NullableDate,
        ),
        ("created_at", row::Column::CreatedAt, page::Kind::Timestamp),
        ("title", row::Column::Title, page::Kind::Text),
    ];
    let page = page::fetch(db, select, &sorts, row::Column::Id, request).await?;
    Ok(Page {
        items: load_children(db, page.items).await?,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}

/// Audits by id, with their scope and team, in a fixed number of queries.
pub async fn load_many<C: ConnectionTrait>(db: &C, ids: Vec<String>) -> Result<Vec<StoredAudit>> {
    let rows = row::Entity::find()
        .filter(row::Column::Id.is_in(ids))
        .all(db)
        .await?;
    load_children(db, rows).await
}
