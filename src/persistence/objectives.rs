//! Objectives in the database: the `objectives` row with its clause rows, and measurements.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query, WindowStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select, Set,
};
use serde::Serialize;
use serde_json::Value;

use super::Aggregate;
use super::entities::{measurement, objective as row, objective_clause};
use super::page::{self, Page, PageRequest, SortKey};
use crate::domain::objective::{
    Comparator, MeasurementInput, Objective, ObjectiveFields, ObjectivePlan, ObjectiveState,
    TREND_WINDOW,
};
use crate::error::{Error, Result};

/// A stored objective.
#[derive(Debug, Clone)]
pub struct StoredObjective {
    pub id: String,
    pub objective: Objective,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the audit trail records of an objective: its stored fields, never computed ones.
#[derive(Serialize)]
struct Record<'a> {
    #[serde(flatten)]
    fields: &'a ObjectiveFields,
    state: ObjectiveState,
}

impl Aggregate for StoredObjective {
    type Entity = row::Entity;
    const KIND: &'static str = "objective";
    const NOUN: &'static str = "objective";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn record(&self) -> Value {
        serde_json::to_value(Record {
            fields: &self.objective.fields,
            state: self.objective.state,
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

/// Completes a page of rows with their clauses: one query.
pub async fn load_children<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<row::Model>,
) -> Result<Vec<StoredObjective>> {
    let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
    use objective_clause::Column as Clause;
    let mut clauses = super::children_of::<objective_clause::Entity, _, _>(
        conn,
        (Clause::ObjectiveId, Clause::Position),
        &ids,
        |c| (c.objective_id, c.clause),
    )
    .await?;
    rows.into_iter()
        .map(|m| {
            let clauses = clauses.remove(&m.id).unwrap_or_default();
            from_row(m, clauses)
        })
        .collect()
}

pub fn from_row(m: row::Model, clauses: Vec<String>) -> Result<StoredObjective> {
    let state = ObjectiveState::parse(&m.state)
        .ok_or_else(|| Error::Internal(format!("unknown objective state {}", m.state)))?;
    let comparator = m
        .comparator
        .as_deref()
        .map(|c| {
            Comparator::parse(c).ok_or_else(|| Error::Internal(format!("unknown comparator {c}")))
        })
        .transpose()?;
    Ok(StoredObjective {
        objective: Objective {
            fields: ObjectiveFields {
                title: m.title,
                description: m.description,
                process_id: m.process_id,
                clauses,
                owner_role_id: m.owner_role_id,
                metric: m.metric,
                unit: m.unit,
                baseline: m.baseline,
                target: m.target,
                comparator,
                due_date: m.due_date,
                plan: ObjectivePlan {
                    what: m.plan_what,
                    resources: m.plan_resources,
                    responsible: m.plan_responsible,
                    completion: m.plan_completion,
                    evaluation: m.plan_evaluation,
                },
            },
            state,
        },
        id: m.id,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn columns(objective: &Objective) -> row::ActiveModel {
    let f = &objective.fields;
    row::ActiveModel {
        title: Set(f.title.clone()),
        description: Set(f.description.clone()),
        process_id: Set(f.process_id.clone()),
        owner_role_id: Set(f.owner_role_id.clone()),
        metric: Set(f.metric.clone()),
        unit: Set(f.unit.clone()),
        baseline: Set(f.baseline),
        target: Set(f.target),
        comparator: Set(f.comparator.map(|c| c.as_str().to_string())),
        due_date: Set(f.due_date),
        plan_what: Set(f.plan.what.clone()),
        plan_resources: Set(f.plan.resources.clone()),
        plan_responsible: Set(f.plan.responsible.clone()),
        plan_completion: Set(f.plan.completion.clone()),
        plan_evaluation: Set(f.plan.evaluation.clone()),
        state: Set(objective.state.as_str().to_string()),
        ..Default::default()
    }
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    objective: &Objective,
    at: DateTime<Utc>,
) -> Result<()> {
    row::ActiveModel {
        id: Set(id.to_string()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..columns(objective)
    }
    .insert(conn)
    .await?;
    write_clauses(conn, id, &objective.fields.clauses).await
}

/// Writes the fields and state of an existing objective (its version is already bumped).
pub async fn update<C: ConnectionTrait>(conn: &C, id: &str, objective: &Objective) -> Result<()> {
    row::Entity::update_many()
        .set(columns(objective))
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await?;
    write_clauses(conn, id, &objective.fields.clauses).await
}

async fn write_clauses<C: ConnectionTrait>(conn: &C, id: &str, clauses: &[String]) -> Result<()> {
    objective_clause::Entity::delete_many()
        .filter(objective_clause::Column::ObjectiveId.eq(id))
        .exec(conn)
        .await?;
    if clauses.is_empty() {
        return Ok(());
    }
    objective_clause::Entity::insert_many(clauses.iter().enumerate().map(|(i, c)| {
        objective_clause::ActiveModel {
            objective_id: Set(id.to_string()),
            clause: Set(c.clone()),
            position: Set(i as i32),
        }
    }))
    .exec(conn)
    .await?;
    Ok(())
}

/// A stored measurement: appended once, never changed.
#[derive(Debug, Clone, Serialize)]
pub struct StoredMeasurement {
    #[serde(skip)]
    pub id: String,
    pub objective_id: String,
    pub value: f64,
    pub measured_at: DateTime<Utc>,
    pub note: Option<String>,
    pub recorded_by: Option<String>,
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
}

impl From<measurement::Model> for StoredMeasurement {
    fn from(m: measurement::Model) -> Self {
        StoredMeasurement {
            id: m.id,
            objective_id: m.objective_id,
            value: m.value,
            measured_at: m.measured_at,
            note: m.note,
            recorded_by: m.recorded_by,
            created_at: m.created_at,
        }
    }
}

/// Measurements are only created (the write path's `create`); they have no version to bump.
impl Aggregate for StoredMeasurement {
    type Entity = measurement::Entity;
    const KIND: &'static str = "measurement";
    const NOUN: &'static str = "measurement";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        1
    }

    fn record(&self) -> Value {
        serde_json::to_value(self).expect("plain data serializes")
    }

    async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Self>> {
        Ok(measurement::Entity::find_by_id(id.to_string())
            .one(conn)
            .await?
            .map(Into::into))
    }
}

pub async fn insert_measurement<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    objective_id: &str,
    input: &MeasurementInput,
    recorded_by: Option<String>,
    at: DateTime<Utc>,
) -> Result<()> {
    measurement::ActiveModel {
        id: Set(id.to_string()),
        objective_id: Set(objective_id.to_string()),
        value: Set(input.value),
        measured_at: Set(input.measured_at),
        note: Set(input.note.clone()),
        recorded_by: Set(recorded_by),
        created_at: Set(at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The latest `TREND_WINDOW` values of each of `objective_ids`, newest first, in one query
/// (a window function, on SQLite ≥ 3.25 and PostgreSQL alike). Ties on `measured_at` go
/// to the later id.
pub async fn latest_values<C: ConnectionTrait>(
    conn: &C,
    objective_ids: &[String],
) -> Result<HashMap<String, Vec<f64>>> {
    let mut out: HashMap<String, Vec<f64>> = HashMap::new();
    if objective_ids.is_empty() {
        return Ok(out);
    }
    let rank = Alias::new("rank_in_objective");
    let ranked = Query::select()
        .columns([measurement::Column::ObjectiveId, measurement::Column::Value])
        .expr_window_as(
            Func::cust("ROW_NUMBER"),
            WindowStatement::partition_by(measurement::Column::ObjectiveId)
                .order_by(measurement::Column::MeasuredAt, Order::Desc)
                .order_by(measurement::Column::Id, Order::Desc)
                .to_owned(),
            rank.clone(),
        )
        .from(measurement::Entity)
        .and_where(Expr::col(measurement::Column::ObjectiveId).is_in(objective_ids.iter().cloned()))
        .to_owned();
    let ranked_alias = Alias::new("ranked");
    let query = Query::select()
        .columns([measurement::Column::ObjectiveId, measurement::Column::Value])
        .from_subquery(ranked, ranked_alias)
        .and_where(Expr::col(rank.clone()).lte(TREND_WINDOW as i64))
        .order_by(measurement::Column::ObjectiveId, Order::Asc)
        .order_by(rank, Order::Asc)
        .to_owned();
    for r in conn.query_all(&query).await? {
        let objective_id: String = r.try_get("", "objective_id")?;
        let value: f64 = r.try_get("", "value")?;
        out.entry(objective_id).or_default().push(value);
    }
    Ok(out)
}

/// Whether the user is a member of the SMS role.
pub async fn is_member<C: ConnectionTrait>(conn: &C, user_id: &str, role_id: &str) -> Result<bool> {
    use super::entities::sms_role_member as member;
    Ok(
        member::Entity::find_by_id((role_id.to_string(), user_id.to_string()))
            .one(conn)
            .await?
            .is_some(),
    )
}

#[derive(Debug, Clone, Default)]
/// What a list of objectives is narrowed to (attainment, being computed, is judged by the
/// service).
pub struct ObjectiveFilter {
    pub state: Option<ObjectiveState>,
    pub process_id: Option<String>,
    pub owner_role_id: Option<String>,
    pub clause: Option<String>,
    pub due_before: Option<NaiveDate>,
    pub due_after: Option<NaiveDate>,
    pub q: Option<String>,
}

fn filtered(filter: &ObjectiveFilter) -> Select<row::Entity> {
    let mut select = row::Entity::find();
    if let Some(state) = &filter.state {
        select = select.filter(row::Column::State.eq(state.as_str()));
    }
    if let Some(process_id) = &filter.process_id {
        select = select.filter(row::Column::ProcessId.eq(process_id));
    }
    if let Some(role_id) = &filter.owner_role_id {
        select = select.filter(row::Column::OwnerRoleId.eq(role_id));
    }
    if let Some(before) = filter.due_before {
        select = select.filter(row::Column::DueDate.lte(before));
    }
    if let Some(after) = filter.due_after {
        select = select.filter(row::Column::DueDate.gte(after));
    }
    if let Some(clause) = &filter.clause {
        let with_clause = objective_clause::Entity::find()
            .select_only()
            .column(objective_clause::Column::ObjectiveId)
            .filter(objective_clause::Column::Clause.eq(clause))
            .into_query();
        select = select.filter(row::Column::Id.in_subquery(with_clause));
    }
    if let Some(q) = &filter.q {
        let pattern = super::contains(q);
        select = select.filter(
            Func::lower(Expr::col(row::Column::Title))
                .like(pattern.clone())
                .or(Func::lower(Expr::col(row::Column::Description)).like(pattern.clone()))
                .or(Func::lower(Expr::col(row::Column::Metric)).like(pattern)),
        );
    }
    select
}

/// Every objective the filter matches, with its clauses (to judge a computed filter).
pub async fn matching<C: ConnectionTrait>(
    db: &C,
    filter: &ObjectiveFilter,
) -> Result<Vec<StoredObjective>> {
    load_children(db, filtered(filter).all(db).await?).await
}

/// A page of the objectives the filter matches, among `only` when given.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &ObjectiveFilter,
    only: Option<Vec<String>>,
    request: &PageRequest,
) -> Result<Page<StoredObjective>> {
    let mut select = filtered(filter);
    if let Some(ids) = only {
        select = select.filter(row::Column::Id.is_in(ids));
    }
    let sorts: [SortKey<_>; 3] = [
        ("due_date", row::Column::DueDate, page::Kind::NullableDate),
        ("title", row::Column::Title, page::Kind::Text),
        ("created_at", row::Column::CreatedAt, page::Kind::Timestamp),
    ];
    let page = page::fetch(db, select, &sorts, row::Column::Id, request).await?;
    Ok(Page {
        items: load_children(db, page.items).await?,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}

/// A page of an objective's measurements, newest first unless `sort` says otherwise.
pub async fn measurements<C: ConnectionTrait>(
    db: &C,
    objective_id: &str,
    request: &PageRequest,
) -> Result<Page<StoredMeasurement>> {
    let select = measurement::Entity::find()
        .filter(measurement::Column::ObjectiveId.eq(objective_id.to_string()));
    let sorts: [SortKey<_>; 1] = [(
        "measured_at",
        measurement::Column::MeasuredAt,
        page::Kind::Timestamp,
    )];
    let page = page::fetch(db, select, &sorts, measurement::Column::Id, request).await?;
    Ok(page.map(StoredMeasurement::from))
}

/// The active objectives that name any of `process_ids`, by title (their clauses are not
/// loaded: a KPI does not show them).
pub async fn active_naming<C: ConnectionTrait>(
    db: &C,
    process_ids: &[String],
) -> Result<Vec<StoredObjective>> {
    row::Entity::find()
        .filter(row::Column::ProcessId.is_in(process_ids.iter().cloned()))
        .filter(row::Column::State.eq(ObjectiveState::Active.as_str()))
        .order_by_asc(row::Column::Title)
        .order_by_asc(row::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| from_row(m, Vec::new()))
        .collect()
}
