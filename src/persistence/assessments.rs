//! Gap assessments in the database: the `assessments` row with its result rows.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::Aggregate;
use super::entities::{assessment as row, assessment_result};
use super::page::{self, Kind, Page, PageRequest, SortKey};
use crate::domain::assessment::{
    Assessment, AssessmentFields, AssessmentState, ClauseResult, ResultStatus, catalog_position,
};
use crate::error::{Error, Result};

/// A stored gap assessment.
#[derive(Debug, Clone)]
pub struct StoredAssessment {
    pub id: String,
    pub assessment: Assessment,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the audit trail records of an assessment. Each result is its own entry,
/// `results.<clause>`, so a change of one result shows only that result.
#[derive(Serialize)]
struct Record<'a> {
    #[serde(flatten)]
    fields: &'a AssessmentFields,
    state: AssessmentState,
    completed_at: &'a Option<DateTime<Utc>>,
    completed_by: &'a Option<String>,
}

impl Aggregate for StoredAssessment {
    type Entity = row::Entity;
    const KIND: &'static str = "assessment";
    const NOUN: &'static str = "assessment";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn record(&self) -> Value {
        let a = &self.assessment;
        let mut record = serde_json::to_value(Record {
            fields: &a.fields,
            state: a.state,
            completed_at: &a.completed_at,
            completed_by: &a.completed_by,
        })
        .expect("plain data serializes");
        let map: &mut Map<String, Value> = record.as_object_mut().expect("a record is an object");
        for r in &a.results {
            map.insert(
                format!("results.{}", r.clause),
                json!({ "status": r.status, "notes": r.notes, "evidence": r.evidence }),
            );
        }
        record
    }

    async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Self>> {
        let Some(m) = row::Entity::find_by_id(id.to_string()).one(conn).await? else {
            return Ok(None);
        };
        Ok(load_results(conn, vec![m]).await?.pop())
    }
}

/// Completes a page of rows with their results: one query for the whole page.
pub async fn load_results<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<row::Model>,
) -> Result<Vec<StoredAssessment>> {
    let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
    use assessment_result::Column;
    let mut results = super::children_of::<assessment_result::Entity, _, _>(
        conn,
        (Column::AssessmentId, Column::Position),
        &ids,
        |r| (r.assessment_id.clone(), r),
    )
    .await?;
    rows.into_iter()
        .map(|m| {
            let state = AssessmentState::parse(&m.state)
                .ok_or_else(|| Error::Internal(format!("unknown assessment state {}", m.state)))?;
            let results = results
                .remove(&m.id)
                .unwrap_or_default()
                .into_iter()
                .map(|r| {
                    let status = ResultStatus::parse(&r.status).ok_or_else(|| {
                        Error::Internal(format!("unknown result status {}", r.status))
                    })?;
                    Ok(ClauseResult {
                        clause: r.clause,
                        status,
                        notes: r.notes,
                        evidence: r.evidence,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(StoredAssessment {
                assessment: Assessment {
                    fields: AssessmentFields {
                        title: m.title,
                        assessed_on: m.assessed_on,
                        description: m.description,
                        scope_note: m.scope_note,
                    },
                    state,
                    completed_at: m.completed_at,
                    completed_by: m.completed_by,
                    results,
                },
                id: m.id,
                version: m.version,
                created_at: m.created_at,
                updated_at: m.updated_at,
            })
        })
        .collect()
}

fn columns(a: &Assessment) -> row::ActiveModel {
    let f = &a.fields;
    row::ActiveModel {
        title: Set(f.title.clone()),
        assessed_on: Set(f.assessed_on),
        description: Set(f.description.clone()),
        scope_note: Set(f.scope_note.clone()),
        state: Set(a.state.as_str().to_string()),
        completed_at: Set(a.completed_at),
        completed_by: Set(a.completed_by.clone()),
        ..Default::default()
    }
}

/// Inserts a new assessment (without results).
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    assessment: &Assessment,
    at: DateTime<Utc>,
) -> Result<()> {
    row::Entity::insert(row::ActiveModel {
        id: Set(id.to_string()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..columns(assessment)
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Writes the fields and state of an existing assessment (its version is already bumped).
pub async fn update<C: ConnectionTrait>(conn: &C, id: &str, assessment: &Assessment) -> Result<()> {
    row::Entity::update_many()
        .set(columns(assessment))
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Replaces the result of one clause; `None` removes it.
pub async fn write_result<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    clause: &str,
    result: Option<&ClauseResult>,
) -> Result<()> {
    use assessment_result::{ActiveModel, Column, Entity};
    Entity::delete_many()
        .filter(Column::AssessmentId.eq(id))
        .filter(Column::Clause.eq(clause))
        .exec(conn)
        .await?;
    if let Some(r) = result {
        let position = i32::try_from(catalog_position(&r.clause))
            .map_err(|_| Error::Internal(format!("clause {} is not in the catalog", r.clause)))?;
        Entity::insert(ActiveModel {
            assessment_id: Set(id.to_string()),
            clause: Set(r.clause.clone()),
            position: Set(position),
            status: Set(r.status.as_str().to_string()),
            notes: Set(r.notes.clone()),
            evidence: Set(r.evidence.clone()),
        })
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

/// What a list of assessments is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct AssessmentFilter {
    pub state: Option<AssessmentState>,
    pub q: Option<String>,
    pub assessed_from: Option<NaiveDate>,
    pub assessed_to: Option<NaiveDate>,
}

/// A page of assessments with their results: one query for the page, one for the results.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: AssessmentFilter,
    request: &PageRequest,
) -> Result<Page<StoredAssessment>> {
    let mut select = row::Entity::find();
    if let Some(state) = filter.state {
        select = select.filter(row::Column::State.eq(state.as_str()));
    }
    if let Some(from) = filter.assessed_from {
        select = select.filter(row::Column::AssessedOn.gte(from));
    }
    if let Some(to) = filter.assessed_to {
        select = select.filter(row::Column::AssessedOn.lte(to));
    }
    if let Some(q) = filter.q {
        let pattern = super::contains(&q);
        select = select.filter(
            Func::lower(Expr::col(row::Column::Title))
                .like(pattern.clone())
                .or(Func::lower(Expr::col(row::Column::Description)).like(pattern.clone()))
                .or(Func::lower(Expr::col(row::Column::ScopeNote)).like(pattern)),
        );
    }
    let sorts: [SortKey<_>; 3] = [
        ("assessed_on", row::Column::AssessedOn, Kind::Date),
        ("created_at", row::Column::CreatedAt, Kind::Timestamp),
        ("title", row::Column::Title, Kind::Text),
    ];
    let page = page::fetch(conn, select, &sorts, row::Column::Id, request).await?;
    let items = load_results(conn, page.items).await?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}
