//! Reports computed from live data at the time of the request: the objectives with their
//! attainment, and the corrective actions by age, clause, source and state.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use utoipa::ToSchema;

use super::Caller;
use super::objectives::{self, Objective};
use crate::domain::clause;
use crate::domain::corrective_action::{CorrectiveActionSource, CorrectiveActionState};
use crate::domain::objective::{Attainment, Comparator, ObjectiveState, Trend};
use crate::domain::report::{AgeBucket, clause_order};
use crate::error::{Error, Result};
use crate::persistence::objectives::ObjectiveFilter;
use crate::persistence::reports::{self as stored, CorrectiveActionTally};

/// One objective of the objectives report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObjectiveRow {
    #[schema(format = Uuid)]
    pub objective_id: String,
    pub title: String,
    pub state: ObjectiveState,
    #[schema(format = Uuid)]
    pub process_id: Option<String>,
    /// The code of the process the objective is about.
    pub process_code: Option<String>,
    pub process_name: Option<String>,
    #[schema(format = Uuid)]
    pub owner_role_id: Option<String>,
    /// The name of the SMS role that owns the objective.
    pub owner_role: Option<String>,
    pub metric: Option<String>,
    pub unit: Option<String>,
    pub baseline: Option<f64>,
    pub target: Option<f64>,
    pub comparator: Option<Comparator>,
    /// As the objective's `latest_value`.
    pub latest_value: Option<f64>,
    /// As the objective's `attainment`, at the time of the report.
    pub attainment: Attainment,
    /// As the objective's `trend`.
    pub trend: Option<Trend>,
    pub due_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttainmentCount {
    pub attainment: Attainment,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObjectiveStateCount {
    pub state: ObjectiveState,
    pub count: u64,
}

/// How many objectives there are, per attainment and per state (every value listed, zeros
/// included).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObjectivesSummary {
    pub total: u64,
    pub by_attainment: Vec<AttainmentCount>,
    pub by_state: Vec<ObjectiveStateCount>,
}

/// Every objective with its computed attainment and trend, and how many there are per
/// attainment and state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObjectivesReport {
    /// The service's time the report was computed at.
    pub as_of: DateTime<Utc>,
    pub summary: ObjectivesSummary,
    /// By `due_date` (objectives without one last), then title.
    pub objectives: Vec<ObjectiveRow>,
}

/// The objectives report, in five queries whatever the number of objectives: the
/// objectives, their clauses, their latest measurements (the objectives service's own
/// computation of `latest_value`, `attainment` and `trend`), the names of their processes
/// and of their owner roles.
pub async fn objectives(db: &DatabaseConnection, caller: &Caller) -> Result<ObjectivesReport> {
    let mut found: Vec<Objective> =
        objectives::all_matching(db, caller, &ObjectiveFilter::default()).await?;
    found.sort_by(|a, b| {
        let due = |o: &Objective| (o.fields.due_date.is_none(), o.fields.due_date);
        (due(a), &a.fields.title, &a.id).cmp(&(due(b), &b.fields.title, &b.id))
    });
    let ids = |pick: fn(&Objective) -> Option<&String>| -> Vec<String> {
        let mut ids: Vec<String> = found.iter().filter_map(pick).cloned().collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let process_ids = ids(|o| o.fields.process_id.as_ref());
    let role_ids = ids(|o| o.fields.owner_role_id.as_ref());
    let processes = stored::process_labels(db, &process_ids).await?;
    let roles = stored::role_names(db, &role_ids).await?;
    let summary = ObjectivesSummary {
        total: found.len() as u64,
        by_attainment: Attainment::ALL
            .iter()
            .map(|&attainment| AttainmentCount {
                attainment,
                count: found.iter().filter(|o| o.attainment == attainment).count() as u64,
            })
            .collect(),
        by_state: ObjectiveState::ALL
            .iter()
            .map(|&state| ObjectiveStateCount {
                state,
                count: found.iter().filter(|o| o.state == state).count() as u64,
            })
            .collect(),
    };
    let objectives = found
        .into_iter()
        .map(|o| {
            let process = o.fields.process_id.as_ref().and_then(|p| processes.get(p));
            let owner_role = o.fields.owner_role_id.as_ref().and_then(|r| roles.get(r));
            ObjectiveRow {
                process_code: process.map(|(code, _)| code.clone()),
                process_name: process.map(|(_, name)| name.clone()),
                owner_role: owner_role.cloned(),
                objective_id: o.id,
                title: o.fields.title,
                state: o.state,
                process_id: o.fields.process_id,
                owner_role_id: o.fields.owner_role_id,
                metric: o.fields.metric,
                unit: o.fields.unit,
                baseline: o.fields.baseline,
                target: o.fields.target,
                comparator: o.fields.comparator,
                latest_value: o.latest_value,
                attainment: o.attainment,
                trend: o.trend,
                due_date: o.fields.due_date,
            }
        })
        .collect();
    Ok(ObjectivesReport {
        as_of: caller.now,
        summary,
        objectives,
    })
}

/// Open corrective actions created within an age bucket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgeingCount {
    pub bucket: AgeBucket,
    /// The bucket's fewest days since creation.
    pub min_days: u64,
    /// The bucket's most days since creation; null for the oldest bucket.
    pub max_days: Option<u64>,
    pub open: u64,
    /// Of those, how many are overdue.
    pub overdue: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClauseCount {
    /// Null for the corrective actions that name no clause.
    #[schema(value_type = Option<clause::ClauseNumber>)]
    pub clause: Option<String>,
    pub open: u64,
    pub overdue: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceCount {
    pub source: CorrectiveActionSource,
    pub open: u64,
    pub overdue: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorrectiveActionStateCount {
    pub state: CorrectiveActionState,
    pub open: u64,
    pub overdue: u64,
}

/// The open corrective actions (every state but `closed` and `cancelled`): how many, how
/// many are overdue, by age, clause, source and state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorrectiveActionsReport {
    /// The service's date (UTC) ages and overdue are judged on.
    pub as_of: NaiveDate,
    pub open: u64,
    /// Open ones past their due date and not yet verified: the `overdue` of a corrective
    /// action.
    pub overdue: u64,
    /// Days from the UTC date of `created_at` to `as_of`: 0–30, 31–60, 61–90, over 90.
    pub ageing: Vec<AgeingCount>,
    /// The clauses that have open corrective actions, in catalog order; those without a
    /// clause last.
    pub by_clause: Vec<ClauseCount>,
    /// Every source, zeros included.
    pub by_source: Vec<SourceCount>,
    /// Every open state, in workflow order, zeros included.
    pub by_state: Vec<CorrectiveActionStateCount>,
}

/// The corrective-actions report: one grouped query, whatever the number of actions; the
/// age buckets and overdue are judged on the service's date.
pub async fn corrective_actions(
    db: &DatabaseConnection,
    caller: &Caller,
) -> Result<CorrectiveActionsReport> {
    caller.ensure_reads_sms()?;
    let today = caller.now.date_naive();
    let ranges: Vec<_> = AgeBucket::ALL
        .iter()
        .map(|b| b.created_between(today))
        .collect();
    let tallies = stored::corrective_action_tallies(db, today, &ranges).await?;
    fold_tallies(today, &tallies)
}

/// Adds up the grouped counts along each dimension.
fn fold_tallies(
    today: NaiveDate,
    tallies: &[CorrectiveActionTally],
) -> Result<CorrectiveActionsReport> {
    let sum = |keep: &dyn Fn(&CorrectiveActionTally) -> bool| {
        tallies
            .iter()
            .filter(|t| keep(t))
            .fold((0, 0), |(open, overdue), t| {
                (open + t.open, overdue + t.overdue)
            })
    };
    for t in tallies {
        let known = CorrectiveActionSource::parse(&t.source).is_some()
            && CorrectiveActionState::parse(&t.state).is_some();
        if !known {
            return Err(Error::Internal(format!(
                "corrective action with source {} and state {}",
                t.source, t.state
            )));
        }
    }
    let (open, overdue) = sum(&|_| true);
    let ageing = AgeBucket::ALL
        .iter()
        .enumerate()
        .map(|(i, &bucket)| {
            let (open, overdue) = tallies
                .iter()
                .filter_map(|t| t.created.get(i))
                .fold((0, 0), |(o, d), (open, overdue)| (o + open, d + overdue));
            AgeingCount {
                bucket,
                min_days: bucket.min_days(),
                max_days: bucket.max_days(),
                open,
                overdue,
            }
        })
        .collect();
    let mut by_clause: Vec<ClauseCount> = Vec::new();
    for t in tallies {
        match by_clause.iter_mut().find(|c| c.clause == t.clause) {
            Some(c) => (c.open, c.overdue) = (c.open + t.open, c.overdue + t.overdue),
            None => by_clause.push(ClauseCount {
                clause: t.clause.clone(),
                open: t.open,
                overdue: t.overdue,
            }),
        }
    }
    // Catalog order; no clause last.
    by_clause.sort_by_key(|c| (c.clause.is_none(), c.clause.as_deref().map(clause_order)));
    let by_source = CorrectiveActionSource::ALL
        .iter()
        .map(|&source| {
            let (open, overdue) = sum(&|t| t.source == source.as_str());
            SourceCount {
                source,
                open,
                overdue,
            }
        })
        .collect();
    let by_state = CorrectiveActionState::ALL
        .iter()
        .filter(|s| !s.is_final())
        .map(|&state| {
            let (open, overdue) = sum(&|t| t.state == state.as_str());
            CorrectiveActionStateCount {
                state,
                open,
                overdue,
            }
        })
        .collect();
    Ok(CorrectiveActionsReport {
        as_of: today,
        open,
        overdue,
        ageing,
        by_clause,
        by_source,
        by_state,
    })
}
