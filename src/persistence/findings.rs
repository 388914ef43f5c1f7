//! Audit findings in the database.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use serde_json::Value;

use super::Aggregate;
use super::entities::finding as row;
use super::page::{self, Page, PageRequest, SortKey};
use crate::domain::finding::{FindingFields, FindingState, FindingType};
use crate::error::{Error, Result};

/// A stored finding.
#[derive(Debug, Clone, Serialize)]
pub struct StoredFinding {
    #[serde(skip)]
    pub id: String,
    pub audit_id: String,
    #[serde(rename = "type")]
    pub finding_type: FindingType,
    pub clause: Option<String>,
    pub process_id: Option<String>,
    pub statement: String,
    pub evidence: Option<String>,
    pub state: FindingState,
    pub recorded_by: Option<String>,
    #[serde(skip)]
    pub version: i64,
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub updated_at: DateTime<Utc>,
}

impl Aggregate for StoredFinding {
    type Entity = row::Entity;
    const KIND: &'static str = "finding";
    const NOUN: &'static str = "finding";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn record(&self) -> Value {
        serde_json::to_value(self).expect("plain data serializes")
    }

    async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Self>> {
        row::Entity::find_by_id(id.to_string())
            .one(conn)
            .await?
            .map(from_row)
            .transpose()
    }
}

pub fn from_row(m: row::Model) -> Result<StoredFinding> {
    Ok(StoredFinding {
        finding_type: FindingType::parse(&m.finding_type)
            .ok_or_else(|| Error::Internal(format!("unknown finding type {}", m.finding_type)))?,
        state: FindingState::parse(&m.state)
            .ok_or_else(|| Error::Internal(format!("unknown finding state {}", m.state)))?,
        id: m.id,
        audit_id: m.audit_id,
        clause: m.clause,
        process_id: m.process_id,
        statement: m.statement,
        evidence: m.evidence,
        recorded_by: m.recorded_by,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Sets a finding's state (its version is already bumped).
pub async fn set_state<C: ConnectionTrait>(conn: &C, id: &str, state: FindingState) -> Result<()> {
    row::Entity::update_many()
        .set(row::ActiveModel {
            state: Set(state.as_str().to_string()),
            ..Default::default()
        })
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

impl StoredFinding {
    /// The editable fields as stored.
    pub fn fields(&self) -> FindingFields {
        FindingFields {
            r#type: self.finding_type,
            clause: self.clause.clone(),
            process_id: self.process_id.clone(),
            statement: self.statement.clone(),
            evidence: self.evidence.clone(),
        }
    }
}

fn columns(fields: &FindingFields) -> row::ActiveModel {
    row::ActiveModel {
        finding_type: Set(fields.r#type.as_str().to_string()),
        clause: Set(fields.clause.clone()),
        process_id: Set(fields.process_id.clone()),
        statement: Set(fields.statement.clone()),
        evidence: Set(fields.evidence.clone()),
        ..Default::default()
    }
}

/// Records a new, open finding of an audit.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    audit_id: &str,
    fields: &FindingFields,
    recorded_by: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    row::ActiveModel {
        id: Set(id.to_string()),
        audit_id: Set(audit_id.to_string()),
        state: Set(FindingState::Open.as_str().to_string()),
        recorded_by: Set(Some(recorded_by.to_string()).filter(|r| !r.is_empty())),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..columns(fields)
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Writes a finding's editable fields (its version is already bumped).
pub async fn update<C: ConnectionTrait>(conn: &C, id: &str, fields: &FindingFields) -> Result<()> {
    row::Entity::update_many()
        .set(columns(fields))
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
/// What a list of findings is narrowed to.
pub struct FindingFilter {
    pub audit_id: Option<String>,
    pub finding_type: Option<FindingType>,
    pub clause: Option<String>,
    pub process_id: Option<String>,
    pub state: Option<FindingState>,
}

/// A page of findings, of one audit or of all.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: FindingFilter,
    request: &PageRequest,
) -> Result<Page<StoredFinding>> {
    let mut select = row::Entity::find();
    if let Some(audit_id) = filter.audit_id {
        select = select.filter(row::Column::AuditId.eq(audit_id));
    }
    if let Some(t) = filter.finding_type {
        select = select.filter(row::Column::FindingType.eq(t.as_str()));
    }
    if let Some(clause) = filter.clause {
        select = select.filter(row::Column::Clause.eq(clause));
    }
    if let Some(process_id) = filter.process_id {
        select = select.filter(row::Column::ProcessId.eq(process_id));
    }
    if let Some(state) = filter.state {
        select = select.filter(row::Column::State.eq(state.as_str()));
    }
    let sorts: [SortKey<_>; 2] = [
        ("created_at", row::Column::CreatedAt, page::Kind::Timestamp),
        ("clause", row::Column::Clause, page::Kind::NullableText),
    ];
    let page = page::fetch(db, select, &sorts, row::Column::Id, request).await?;
    let findings = page
        .items
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page {
        items: findings,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}
