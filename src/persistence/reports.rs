//! The queries behind the reports: counts grouped in the database, and the names of what
//! report rows refer to. Every date and time they compare with comes from the caller (the
//! service's clock), never from the database's.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Condition, Expr, Func, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::corrective_actions::overdue;
use super::entities::{corrective_action as action, process, sms_role};
use crate::domain::corrective_action::CorrectiveActionState;
use crate::error::Result;

/// A creation-time range `[from, before)`; an open end is `None`.
pub type CreatedBetween = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Open corrective actions of one clause, source and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectiveActionTally {
    pub clause: Option<String>,
    pub source: String,
    pub state: String,
    pub open: u64,
    /// Of those, how many are overdue.
    pub overdue: u64,
    /// Per creation-time range asked for: how many were created in it, and how many of
    /// those are overdue.
    pub created: Vec<(u64, u64)>,
}

/// `SUM(CASE WHEN condition THEN 1 ELSE 0 END)`: how many rows of the group meet it.
fn count_if(condition: Condition) -> Expr {
    Func::sum(Expr::case(condition, Expr::cust("1")).finally(Expr::cust("0"))).into()
}

fn created_in((from, before): CreatedBetween) -> Condition {
    let mut condition = Condition::all();
    if let Some(from) = from {
        condition = condition.add(action::Column::CreatedAt.gte(from));
    }
    if let Some(before) = before {
        condition = condition.add(action::Column::CreatedAt.lt(before));
    }
    condition
}

/// The open corrective actions (neither closed nor cancelled), counted by clause, source
/// and state in one query: how many, how many are overdue on `today`, and both again for
/// each of the creation-time ranges `created`.
pub async fn corrective_action_tallies<C: ConnectionTrait>(
    conn: &C,
    today: NaiveDate,
    created: &[CreatedBetween],
) -> Result<Vec<CorrectiveActionTally>> {
    let final_states = CorrectiveActionState::ALL
        .iter()
        .filter(|s| s.is_final())
        .map(|s| s.as_str());
    let mut query = Query::select();
    query
        .columns([
            action::Column::Clause,
            action::Column::Source,
            action::Column::State,
        ])
        .expr_as(Func::count(Expr::col(action::Column::Id)), "n_open")
        .expr_as(count_if(overdue(today)), "n_overdue")
        .from(action::Entity)
        .and_where(action::Column::State.is_not_in(final_states))
        .group_by_columns([
            action::Column::Clause,
            action::Column::Source,
            action::Column::State,
        ]);
    for (i, range) in created.iter().enumerate() {
        query
            .expr_as(
                count_if(created_in(*range)),
                Alias::new(format!("n_created_{i}")),
            )
            .expr_as(
                count_if(created_in(*range).add(overdue(today))),
                Alias::new(format!("n_created_{i}_overdue")),
            );
    }
    let count = |r: &sea_orm::QueryResult, column: &str| -> Result<u64> {
        Ok(u64::try_from(r.try_get::<i64>("", column)?).unwrap_or(0))
    };
    let mut tallies = Vec::new();
    for r in conn.query_all(&query).await? {
        tallies.push(CorrectiveActionTally {
            clause: r.try_get("", "clause")?,
            source: r.try_get("", "source")?,
            state: r.try_get("", "state")?,
            open: count(&r, "n_open")?,
            overdue: count(&r, "n_overdue")?,
            created: (0..created.len())
                .map(|i| {
                    Ok((
                        count(&r, &format!("n_created_{i}"))?,
                        count(&r, &format!("n_created_{i}_overdue"))?,
                    ))
                })
                .collect::<Result<_>>()?,
        });
    }
    Ok(tallies)
}

/// The code and name of each of `ids` that exists, in one query.
pub async fn process_labels<C: ConnectionTrait>(
    conn: &C,
    ids: &[String],
) -> Result<HashMap<String, (String, String)>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String, String)> = process::Entity::find()
        .select_only()
        .columns([
            process::Column::Id,
            process::Column::Code,
            process::Column::Name,
        ])
        .filter(process::Column::Id.is_in(ids.iter().cloned()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, code, name)| (id, (code, name)))
        .collect())
}

/// The name of each of the SMS roles `ids` that exists, in one query.
pub async fn role_names<C: ConnectionTrait>(
    conn: &C,
    ids: &[String],
) -> Result<HashMap<String, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String)> = sms_role::Entity::find()
        .select_only()
        .columns([sms_role::Column::Id, sms_role::Column::Name])
        .filter(sms_role::Column::Id.is_in(ids.iter().cloned()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}
