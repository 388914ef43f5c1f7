//! The register of risks and opportunities in the database and its list query.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use serde_json::Value;

use super::Aggregate;
use super::entities::risk as row;
use super::page::{self, Kind, Page, PageRequest, SortKey};
use crate::domain::risk::{Risk, RiskFields, RiskKind, RiskLevel, RiskState};
use crate::error::{Error, Result};

/// A stored risk or opportunity.
#[derive(Debug, Clone)]
pub struct StoredRisk {
    pub id: String,
    pub risk: Risk,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the audit trail records of a risk: its stored fields, never the score, which
/// follows from likelihood and impact.
#[derive(Serialize)]
struct Record<'a> {
    #[serde(flatten)]
    fields: &'a RiskFields,
    state: RiskState,
    acceptance_rationale: &'a Option<String>,
}

impl Aggregate for StoredRisk {
    type Entity = row::Entity;
    const KIND: &'static str = "risk";
    const NOUN: &'static str = "risk";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn record(&self) -> Value {
        serde_json::to_value(Record {
            fields: &self.risk.fields,
            state: self.risk.state,
            acceptance_rationale: &self.risk.acceptance_rationale,
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

fn from_row(m: row::Model) -> Result<StoredRisk> {
    let kind = RiskKind::parse(&m.kind)
        .ok_or_else(|| Error::Internal(format!("unknown risk kind {}", m.kind)))?;
    let state = RiskState::parse(&m.state)
        .ok_or_else(|| Error::Internal(format!("unknown risk state {}", m.state)))?;
    Ok(StoredRisk {
        risk: Risk {
            fields: RiskFields {
                title: m.title,
                kind,
                description: m.description,
                likelihood: m.likelihood,
                impact: m.impact,
                treatment: m.treatment,
                owner_role_id: m.owner_role_id,
                process_id: m.process_id,
                review_due: m.review_due,
                corrective_action_id: m.corrective_action_id,
                improvement_id: m.improvement_id,
            },
            state,
            acceptance_rationale: m.acceptance_rationale,
        },
        id: m.id,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// The row of a risk; `score` is written here, from likelihood and impact, by every write.
fn columns(r: &Risk) -> row::ActiveModel {
    let f = &r.fields;
    row::ActiveModel {
        title: Set(f.title.clone()),
        kind: Set(f.kind.as_str().to_string()),
        description: Set(f.description.clone()),
        likelihood: Set(f.likelihood),
        impact: Set(f.impact),
        score: Set(r.score()),
        treatment: Set(f.treatment.clone()),
        acceptance_rationale: Set(r.acceptance_rationale.clone()),
        owner_role_id: Set(f.owner_role_id.clone()),
        process_id: Set(f.process_id.clone()),
        review_due: Set(f.review_due),
        corrective_action_id: Set(f.corrective_action_id.clone()),
        improvement_id: Set(f.improvement_id.clone()),
        state: Set(r.state.as_str().to_string()),
        ..Default::default()
    }
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    risk: &Risk,
    at: DateTime<Utc>,
) -> Result<()> {
    row::Entity::insert(row::ActiveModel {
        id: Set(id.to_string()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..columns(risk)
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Writes an existing risk (its version is already bumped).
pub async fn update<C: ConnectionTrait>(conn: &C, id: &str, risk: &Risk) -> Result<()> {
    row::Entity::update_many()
        .set(columns(risk))
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct RiskFilter {
    pub state: Option<RiskState>,
    pub kind: Option<RiskKind>,
    pub level: Option<RiskLevel>,
    pub min_score: Option<i32>,
    pub owner_role_id: Option<String>,
    pub process_id: Option<String>,
    pub corrective_action_id: Option<String>,
    pub improvement_id: Option<String>,
    pub q: Option<String>,
}

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: RiskFilter,
    request: &PageRequest,
) -> Result<Page<StoredRisk>> {
    let mut select = row::Entity::find();
    if let Some(state) = filter.state {
        select = select.filter(row::Column::State.eq(state.as_str()));
    }
    if let Some(kind) = filter.kind {
        select = select.filter(row::Column::Kind.eq(kind.as_str()));
    }
    if let Some(level) = filter.level {
        let (min, max) = level.scores();
        select = select.filter(row::Column::Score.between(min, max));
    }
    if let Some(min) = filter.min_score {
        select = select.filter(row::Column::Score.gte(min));
    }
    for (column, value) in [
        (row::Column::OwnerRoleId, filter.owner_role_id),
        (row::Column::ProcessId, filter.process_id),
        (row::Column::CorrectiveActionId, filter.corrective_action_id),
        (row::Column::ImprovementId, filter.improvement_id),
    ] {
        if let Some(value) = value {
            select = select.filter(column.eq(value));
        }
    }
    if let Some(q) = filter.q {
        let pattern = super::contains(&q);
        let text = |column: row::Column| Func::lower(Expr::col(column)).like(pattern.clone());
        select = select.filter(
            text(row::Column::Title)
                .or(text(row::Column::Description))
                .or(text(row::Column::Treatment)),
        );
    }
    let sorts: [SortKey<_>; 4] = [
        ("created_at", row::Column::CreatedAt, Kind::Timestamp),
        ("score", row::Column::Score, Kind::Integer),
        ("review_due", row::Column::ReviewDue, Kind::NullableDate),
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
