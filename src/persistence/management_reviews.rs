//! Management reviews in the database: the `management_reviews` row with its attendees, and
//! the corrective actions and improvements linked to it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set,
};
use serde::Serialize;
use serde_json::Value;

use super::entities::{
    corrective_action, improvement, management_review as row,
    management_review_attendee as attendee, user,
};
use super::page::{self, Kind, Page, PageRequest, SortKey};
use super::{Aggregate, from_json_text, to_json_text};
use crate::domain::management_review::{
    ManagementReview, ManagementReviewFields, ManagementReviewState, ReviewInputs,
};
use crate::domain::user::UserKind;
use crate::error::{Error, Result};

/// A stored management review, with the corrective actions and improvements decided at it.
#[derive(Debug, Clone)]
pub struct StoredManagementReview {
    pub id: String,
    pub review: ManagementReview,
    /// The corrective actions linked to the review, oldest first.
    pub corrective_action_ids: Vec<String>,
    /// The improvements linked to the review, oldest first.
    pub improvement_ids: Vec<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the audit trail records of a management review: its stored fields and the actions
/// linked to it (an action recorded at the review changes the review).
#[derive(Serialize)]
struct Record<'a> {
    #[serde(flatten)]
    fields: &'a ManagementReviewFields,
    state: ManagementReviewState,
    approved_by: &'a Option<String>,
    approved_at: Option<DateTime<Utc>>,
    corrective_action_ids: &'a [String],
    improvement_ids: &'a [String],
}

impl Aggregate for StoredManagementReview {
    type Entity = row::Entity;
    const KIND: &'static str = "management_review";
    const NOUN: &'static str = "management review";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn record(&self) -> Value {
        serde_json::to_value(Record {
            fields: &self.review.fields,
            state: self.review.state,
            approved_by: &self.review.approved_by,
            approved_at: self.review.approved_at,
            corrective_action_ids: &self.corrective_action_ids,
            improvement_ids: &self.improvement_ids,
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

/// Completes a page of rows with their attendees, linked corrective actions and linked
/// improvements: one query for each.
pub async fn load_children<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<row::Model>,
) -> Result<Vec<StoredManagementReview>> {
    let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
    let mut attendees = super::children_of::<attendee::Entity, _, _>(
        conn,
        (
            attendee::Column::ManagementReviewId,
            attendee::Column::Position,
        ),
        &ids,
        |a| (a.management_review_id, a.user_id),
    )
    .await?;
    let mut actions = linked_ids::<corrective_action::Entity, _>(
        conn,
        (
            corrective_action::Column::ManagementReviewId,
            corrective_action::Column::Id,
        ),
        &ids,
    )
    .await?;
    let mut improvements = linked_ids::<improvement::Entity, _>(
        conn,
        (
            improvement::Column::ManagementReviewId,
            improvement::Column::Id,
        ),
        &ids,
    )
    .await?;
    rows.into_iter()
        .map(|m| {
            let linked = Linked {
                attendee_ids: attendees.remove(&m.id).unwrap_or_default(),
                corrective_action_ids: actions.remove(&m.id).unwrap_or_default(),
                improvement_ids: improvements.remove(&m.id).unwrap_or_default(),
            };
            from_row(m, linked)
        })
        .collect()
}

/// The records of `E` linked to each of `review_ids` by their `management_review_id`
/// column, oldest first (ids are UUIDv7), in one query.
async fn linked_ids<E, C>(
    conn: &C,
    (review_column, id_column): (E::Column, E::Column),
    review_ids: &[String],
) -> Result<HashMap<String, Vec<String>>>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    if review_ids.is_empty() {
        return Ok(out);
    }
    let links: Vec<(Option<String>, String)> = E::find()
        .select_only()
        .column(review_column)
        .column(id_column)
        .filter(review_column.is_in(review_ids.iter().cloned()))
        .order_by_asc(id_column)
        .into_tuple()
        .all(conn)
        .await?;
    for (review_id, id) in links {
        if let Some(review_id) = review_id {
            out.entry(review_id).or_default().push(id);
        }
    }
    Ok(out)
}

/// What a review's row is completed with.
struct Linked {
    attendee_ids: Vec<String>,
    corrective_action_ids: Vec<String>,
    improvement_ids: Vec<String>,
}

fn from_row(m: row::Model, linked: Linked) -> Result<StoredManagementReview> {
    let state = ManagementReviewState::parse(&m.state)
        .ok_or_else(|| Error::Internal(format!("unknown management review state {}", m.state)))?;
    Ok(StoredManagementReview {
        review: ManagementReview {
            fields: ManagementReviewFields {
                title: m.title,
                planned_for: m.planned_for,
                held_on: m.held_on,
                attendee_ids: linked.attendee_ids,
                inputs: ReviewInputs {
                    previous_actions_status: m.input_previous_actions_status,
                    changes_in_context: m.input_changes_in_context,
                    sms_performance: m.input_sms_performance,
                    objectives: m.input_objectives,
                    nonconformity_and_audit_trends: m.input_nonconformity_and_audit_trends,
                    service_and_supplier_performance: m.input_service_and_supplier_performance,
                    feedback: m.input_feedback,
                    resources: m.input_resources,
                    risks: m.input_risks,
                    improvement_opportunities: m.input_improvement_opportunities,
                },
                decisions: from_json_text(&m.decisions),
                minutes_location: m.minutes_location,
            },
            state,
            approved_by: m.approved_by,
            approved_at: m.approved_at,
        },
        corrective_action_ids: linked.corrective_action_ids,
        improvement_ids: linked.improvement_ids,
        id: m.id,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn columns(review: &ManagementReview) -> row::ActiveModel {
    let f = &review.fields;
    let i = &f.inputs;
    row::ActiveModel {
        title: Set(f.title.clone()),
        planned_for: Set(f.planned_for),
        held_on: Set(f.held_on),
        input_previous_actions_status: Set(i.previous_actions_status.clone()),
        input_changes_in_context: Set(i.changes_in_context.clone()),
        input_sms_performance: Set(i.sms_performance.clone()),
        input_objectives: Set(i.objectives.clone()),
        input_nonconformity_and_audit_trends: Set(i.nonconformity_and_audit_trends.clone()),
        input_service_and_supplier_performance: Set(i.service_and_supplier_performance.clone()),
        input_feedback: Set(i.feedback.clone()),
        input_resources: Set(i.resources.clone()),
        input_risks: Set(i.risks.clone()),
        input_improvement_opportunities: Set(i.improvement_opportunities.clone()),
        decisions: Set(to_json_text(&f.decisions)),
        minutes_location: Set(f.minutes_location.clone()),
        state: Set(review.state.as_str().to_string()),
        approved_by: Set(review.approved_by.clone()),
        approved_at: Set(review.approved_at),
        ..Default::default()
    }
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    review: &ManagementReview,
    at: DateTime<Utc>,
) -> Result<()> {
    row::ActiveModel {
        id: Set(id.to_string()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..columns(review)
    }
    .insert(conn)
    .await?;
    write_attendees(conn, id, &review.fields.attendee_ids).await
}

/// Writes the fields and state of an existing review (its version is already bumped).
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    review: &ManagementReview,
) -> Result<()> {
    row::Entity::update_many()
        .set(columns(review))
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await?;
    write_attendees(conn, id, &review.fields.attendee_ids).await
}

async fn write_attendees<C: ConnectionTrait>(conn: &C, id: &str, users: &[String]) -> Result<()> {
    attendee::Entity::delete_many()
        .filter(attendee::Column::ManagementReviewId.eq(id))
        .exec(conn)
        .await?;
    if users.is_empty() {
        return Ok(());
    }
    attendee::Entity::insert_many(
        users
            .iter()
            .enumerate()
            .map(|(i, u)| attendee::ActiveModel {
                management_review_id: Set(id.to_string()),
                user_id: Set(u.clone()),
                position: Set(i as i32),
            }),
    )
    .exec(conn)
    .await?;
    Ok(())
}

/// Which of `ids` are active persons (service accounts attend no meeting), in one query.
pub async fn active_persons<C: ConnectionTrait>(conn: &C, ids: &[&str]) -> Result<HashSet<String>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let found: Vec<String> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::Kind.eq(UserKind::Person.as_str()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(found.into_iter().collect())
}

/// What the list of management reviews is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct ManagementReviewFilter {
    pub state: Option<ManagementReviewState>,
    pub held_from: Option<NaiveDate>,
    pub held_to: Option<NaiveDate>,
    pub attendee_id: Option<String>,
    pub q: Option<String>,
}

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: ManagementReviewFilter,
    request: &PageRequest,
) -> Result<Page<StoredManagementReview>> {
    let mut select = row::Entity::find();
    if let Some(state) = filter.state {
        select = select.filter(row::Column::State.eq(state.as_str()));
    }
    if let Some(from) = filter.held_from {
        select = select.filter(row::Column::HeldOn.gte(from));
    }
    if let Some(to) = filter.held_to {
        select = select.filter(row::Column::HeldOn.lte(to));
    }
    if let Some(user_id) = filter.attendee_id {
        let attended = attendee::Entity::find()
            .select_only()
            .column(attendee::Column::ManagementReviewId)
            .filter(attendee::Column::UserId.eq(user_id))
            .into_query();
        select = select.filter(row::Column::Id.in_subquery(attended));
    }
    if let Some(q) = filter.q {
        let pattern = super::contains(&q);
        select = select.filter(
            Func::lower(Expr::col(row::Column::Title))
                .like(pattern.clone())
                .or(Func::lower(Expr::col(row::Column::Decisions)).like(pattern)),
        );
    }
    let sorts: [SortKey<_>; 3] = [
        ("created_at", row::Column::CreatedAt, Kind::Timestamp),
        ("held_on", row::Column::HeldOn, Kind::NullableDate),
        ("planned_for", row::Column::PlannedFor, Kind::NullableDate),
    ];
    let page = page::fetch(conn, select, &sorts, row::Column::Id, request).await?;
    Ok(Page {
        items: load_children(conn, page.items).await?,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}
