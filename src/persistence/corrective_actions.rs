//! Corrective actions in the database, their list query and their audit-trail history.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use serde_json::Value;

use super::entities::{audit, audit_entry, corrective_action as row, finding};
use super::page::{self, Kind, Page, PageRequest, SortKey};
use super::{Aggregate, is_unique_violation};
use crate::domain::DomainError;
use crate::domain::corrective_action::{
    CorrectiveAction, CorrectiveActionFields, CorrectiveActionSource, CorrectiveActionState,
};
use crate::error::{Error, Result};

/// A stored corrective action.
#[derive(Debug, Clone)]
pub struct StoredCorrectiveAction {
    pub id: String,
    pub action: CorrectiveAction,
    /// The management review that decided the action; set when it is created there.
    pub management_review_id: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the audit trail records of a corrective action.
#[derive(Serialize)]
struct Record<'a> {
    #[serde(flatten)]
    fields: &'a CorrectiveActionFields,
    state: CorrectiveActionState,
    implemented_by: &'a Option<String>,
    cancel_reason: &'a Option<String>,
    management_review_id: &'a Option<String>,
}

impl Aggregate for StoredCorrectiveAction {
    type Entity = row::Entity;
    const KIND: &'static str = "corrective_action";
    const NOUN: &'static str = "corrective action";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn record(&self) -> Value {
        serde_json::to_value(Record {
            fields: &self.action.fields,
            state: self.action.state,
            implemented_by: &self.action.implemented_by,
            cancel_reason: &self.action.cancel_reason,
            management_review_id: &self.management_review_id,
        })
        .expect("plain data serializes")
    }

    async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Self>> {
        row::Entity::find_by_id(id.to_string())
            .one(conn)
            .await?
            .map(from_row)
            .transpose()
    }
}

pub fn from_row(m: row::Model) -> Result<StoredCorrectiveAction> {
    let source = CorrectiveActionSource::parse(&m.source)
        .ok_or_else(|| Error::Internal(format!("unknown corrective action source {}", m.source)))?;
    let state = CorrectiveActionState::parse(&m.state)
        .ok_or_else(|| Error::Internal(format!("unknown corrective action state {}", m.state)))?;
    Ok(StoredCorrectiveAction {
        action: CorrectiveAction {
            fields: CorrectiveActionFields {
                title: m.title,
                nonconformity: m.nonconformity,
                source,
                finding_id: m.finding_id,
                clause: m.clause,
                process_id: m.process_id,
                owner_id: m.owner_id,
                due_date: m.due_date,
                correction: m.correction,
                root_cause: m.root_cause,
                similar_nonconformities: m.similar_nonconformities,
                action_plan: m.action_plan,
                implementation: m.implementation,
                effectiveness_review: m.effectiveness_review,
            },
            state,
            implemented_by: m.implemented_by,
            cancel_reason: m.cancel_reason,
        },
        management_review_id: m.management_review_id,
        id: m.id,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// The unique index on `finding_id` holds one corrective action per finding.
fn finding_taken(err: sea_orm::DbErr) -> Error {
    if is_unique_violation(&err) {
        DomainError::Conflict("this finding has a corrective action already".into()).into()
    } else {
        err.into()
    }
}

fn columns(a: &CorrectiveAction) -> row::ActiveModel {
    let f = &a.fields;
    row::ActiveModel {
        title: Set(f.title.clone()),
        nonconformity: Set(f.nonconformity.clone()),
        source: Set(f.source.as_str().to_string()),
        finding_id: Set(f.finding_id.clone()),
        clause: Set(f.clause.clone()),
        process_id: Set(f.process_id.clone()),
        owner_id: Set(f.owner_id.clone()),
        due_date: Set(f.due_date),
        correction: Set(f.correction.clone()),
        root_cause: Set(f.root_cause.clone()),
        similar_nonconformities: Set(f.similar_nonconformities.clone()),
        action_plan: Set(f.action_plan.clone()),
        implementation: Set(f.implementation.clone()),
        effectiveness_review: Set(f.effectiveness_review.clone()),
        implemented_by: Set(a.implemented_by.clone()),
        cancel_reason: Set(a.cancel_reason.clone()),
        state: Set(a.state.as_str().to_string()),
        ..Default::default()
    }
}

/// Inserts a new corrective action, linked to the management review that decided it if any.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    action: &CorrectiveAction,
    management_review_id: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    row::Entity::insert(row::ActiveModel {
        id: Set(id.to_string()),
        management_review_id: Set(management_review_id.map(str::to_string)),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..columns(action)
    })
    .exec_without_returning(conn)
    .await
    .map_err(finding_taken)?;
    Ok(())
}

/// Writes an existing corrective action (its version is already bumped).
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    action: &CorrectiveAction,
) -> Result<()> {
    row::Entity::update_many()
        .set(columns(action))
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await
        .map_err(finding_taken)?;
    Ok(())
}

/// Whether the finding was recorded by a certification audit (stage 1 or 2).
pub async fn from_certification_audit<C: ConnectionTrait>(
    conn: &C,
    finding_id: &str,
) -> Result<bool> {
    let Some(f) = finding::Entity::find_by_id(finding_id.to_string())
        .one(conn)
        .await?
    else {
        return Ok(false);
    };
    let kind = audit::Entity::find_by_id(f.audit_id)
        .one(conn)
        .await?
        .map(|a| a.kind);
    Ok(matches!(
        kind.as_deref(),
        Some("certification_stage1" | "certification_stage2")
    ))
}

#[derive(Debug, Clone, Default)]
pub struct CorrectiveActionFilter {
    pub state: Option<CorrectiveActionState>,
    pub owner_id: Option<String>,
    pub source: Option<CorrectiveActionSource>,
    pub clause: Option<String>,
    pub process_id: Option<String>,
    pub finding_id: Option<String>,
    pub management_review_id: Option<String>,
    pub overdue: Option<bool>,
    pub q: Option<String>,
}

/// Overdue on `today`: the same rule as `corrective_action::is_overdue`, in SQL.
pub(super) fn overdue(today: NaiveDate) -> Condition {
    let done = CorrectiveActionState::NOT_OVERDUE
        .iter()
        .map(|s| s.as_str());
    Condition::all()
        .add(row::Column::DueDate.is_not_null())
        .add(row::Column::DueDate.lt(today))
        .add(row::Column::State.is_not_in(done))
}

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: CorrectiveActionFilter,
    today: NaiveDate,
    request: &PageRequest,
) -> Result<Page<StoredCorrectiveAction>> {
    let mut select = row::Entity::find();
    if let Some(state) = filter.state {
        select = select.filter(row::Column::State.eq(state.as_str()));
    }
    if let Some(source) = filter.source {
        select = select.filter(row::Column::Source.eq(source.as_str()));
    }
    for (column, value) in [
        (row::Column::OwnerId, filter.owner_id),
        (row::Column::Clause, filter.clause),
        (row::Column::ProcessId, filter.process_id),
        (row::Column::FindingId, filter.finding_id),
        (row::Column::ManagementReviewId, filter.management_review_id),
    ] {
        if let Some(value) = value {
            select = select.filter(column.eq(value));
        }
    }
    match filter.overdue {
        Some(true) => select = select.filter(overdue(today)),
        Some(false) => select = select.filter(overdue(today).not()),
        None => {}
    }
    if let Some(q) = filter.q {
        let pattern = super::contains(&q);
        select = select.filter(
            Func::lower(Expr::col(row::Column::Title))
                .like(pattern.clone())
                .or(Func::lower(Expr::col(row::Column::Nonconformity)).like(pattern)),
        );
    }
    let sorts: [SortKey<_>; 3] = [
        ("created_at", row::Column::CreatedAt, Kind::Timestamp),
        ("due_date", row::Column::DueDate, Kind::NullableDate),
        ("title", row::Column::Title, Kind::Text),
    ];
    let page = page::fetch(conn, select, &sorts, row::Column::Id, request).await?;
    let items = page
        .items
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}

/// The audit-trail rows of a corrective action, with the row that closed its finding.
pub async fn history<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    finding_id: Option<&str>,
    request: &PageRequest,
) -> Result<Page<audit_entry::Model>> {
    use audit_entry::Column;
    let mut rows = Condition::any().add(
        Condition::all()
            .add(Column::EntityType.eq(StoredCorrectiveAction::KIND))
            .add(Column::EntityId.eq(id)),
    );
    if let Some(finding_id) = finding_id {
        rows = rows.add(
            Condition::all()
                .add(Column::EntityType.eq(crate::persistence::findings::StoredFinding::KIND))
                .add(Column::EntityId.eq(finding_id))
                .add(Column::Action.eq(CLOSE_FINDING)),
        );
    }
    let select = audit_entry::Entity::find().filter(rows);
    let sorts = [("seq", Column::Seq, Kind::Integer)];
    page::fetch(conn, select, &sorts, Column::Id, request).await
}

/// The audit-trail action of a finding closed with its corrective action.
pub const CLOSE_FINDING: &str = "close";
