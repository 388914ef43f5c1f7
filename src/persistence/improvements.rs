//! Improvements in the database and their list query.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde::Serialize;
use serde_json::Value;

use super::Aggregate;
use super::entities::{improvement as row, risk};
use super::page::{self, Kind, Page, PageRequest, SortKey};
use crate::domain::improvement::{
    Improvement, ImprovementFields, ImprovementSource, ImprovementState,
};
use crate::error::{Error, Result};

/// A stored improvement.
#[derive(Debug, Clone)]
pub struct StoredImprovement {
    pub id: String,
    pub improvement: Improvement,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the audit trail records of an improvement.
#[derive(Serialize)]
struct Record<'a> {
    #[serde(flatten)]
    fields: &'a ImprovementFields,
    state: ImprovementState,
    management_review_id: &'a Option<String>,
    reject_reason: &'a Option<String>,
}

impl Aggregate for StoredImprovement {
    type Entity = row::Entity;
    const KIND: &'static str = "improvement";
    const NOUN: &'static str = "improvement";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn record(&self) -> Value {
        let i = &self.improvement;
        serde_json::to_value(Record {
            fields: &i.fields,
            state: i.state,
            management_review_id: &i.management_review_id,
            reject_reason: &i.reject_reason,
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

fn from_row(m: row::Model) -> Result<StoredImprovement> {
    let source = ImprovementSource::parse(&m.source)
        .ok_or_else(|| Error::Internal(format!("unknown improvement source {}", m.source)))?;
    let state = ImprovementState::parse(&m.state)
        .ok_or_else(|| Error::Internal(format!("unknown improvement state {}", m.state)))?;
    Ok(StoredImprovement {
        improvement: Improvement {
            fields: ImprovementFields {
                title: m.title,
                description: m.description,
                source,
                benefit: m.benefit,
                owner_id: m.owner_id,
                due_date: m.due_date,
                implementation: m.implementation,
                evaluation: m.evaluation,
            },
            state,
            management_review_id: m.management_review_id,
            reject_reason: m.reject_reason,
        },
        id: m.id,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn columns(i: &Improvement) -> row::ActiveModel {
    let f = &i.fields;
    row::ActiveModel {
        title: Set(f.title.clone()),
        description: Set(f.description.clone()),
        source: Set(f.source.as_str().to_string()),
        benefit: Set(f.benefit.clone()),
        owner_id: Set(f.owner_id.clone()),
        management_review_id: Set(i.management_review_id.clone()),
        due_date: Set(f.due_date),
        implementation: Set(f.implementation.clone()),
        evaluation: Set(f.evaluation.clone()),
        reject_reason: Set(i.reject_reason.clone()),
        state: Set(i.state.as_str().to_string()),
        ..Default::default()
    }
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    improvement: &Improvement,
    at: DateTime<Utc>,
) -> Result<()> {
    row::Entity::insert(row::ActiveModel {
        id: Set(id.to_string()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..columns(improvement)
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Writes an existing improvement (its version is already bumped).
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    improvement: &Improvement,
) -> Result<()> {
    row::Entity::update_many()
        .set(columns(improvement))
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// How many risks name this improvement as their treatment.
pub async fn risks_linked<C: ConnectionTrait>(conn: &C, id: &str) -> Result<u64> {
    Ok(risk::Entity::find()
        .filter(risk::Column::ImprovementId.eq(id))
        .count(conn)
        .await?)
}

#[derive(Debug, Clone, Default)]
pub struct ImprovementFilter {
    pub state: Option<ImprovementState>,
    pub owner_id: Option<String>,
    pub source: Option<ImprovementSource>,
    pub management_review_id: Option<String>,
    pub q: Option<String>,
}

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: ImprovementFilter,
    request: &PageRequest,
) -> Result<Page<StoredImprovement>> {
    let mut select = row::Entity::find();
    if let Some(state) = filter.state {
        select = select.filter(row::Column::State.eq(state.as_str()));
    }
    if let Some(source) = filter.source {
        select = select.filter(row::Column::Source.eq(source.as_str()));
    }
    for (column, value) in [
        (row::Column::OwnerId, filter.owner_id),
        (row::Column::ManagementReviewId, filter.management_review_id),
    ] {
        if let Some(value) = value {
            select = select.filter(column.eq(value));
        }
    }
    if let Some(q) = filter.q {
        let pattern = super::contains(&q);
        select = select.filter(
            Func::lower(Expr::col(row::Column::Title))
                .like(pattern.clone())
                .or(Func::lower(Expr::col(row::Column::Description)).like(pattern)),
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
