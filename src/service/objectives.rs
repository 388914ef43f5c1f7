//! Objectives and measurements (clauses 6.2, 9.1): the plan, the workflow, measurements and
//! the computed attainment and trend.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Caller, audit_trail, read_snapshot, write};
use crate::domain::DomainError;
use crate::domain::access::AccessRole;
use crate::domain::event::{EventType, NewEvent};
use crate::domain::objective::{
    self, Attainment, Comparator, MeasurementInput, ObjectiveAction, ObjectiveFields,
    ObjectivePatch, ObjectiveState, Outcome, Step, Trend, WORKFLOW,
};
use crate::domain::validation::FieldError;
use crate::domain::workflow::{Relation, allowed_actions, decide};
use crate::error::Result;
use crate::persistence::entities::{process, sms_role};
use crate::persistence::events;
use crate::persistence::objectives::{
    self as stored, ObjectiveFilter, StoredMeasurement, StoredObjective,
};
use crate::persistence::page::{Page, PageRequest};
use crate::persistence::{Aggregate, existing_ids};

/// An objective as the API shows it: what is stored, what its measurements say, and what
/// the caller may do with it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Objective {
    #[schema(format = Uuid)]
    pub id: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub fields: ObjectiveFields,
    pub state: ObjectiveState,
    /// The value of the latest measurement (by `measured_at`); null without measurements.
    pub latest_value: Option<f64>,
    /// Computed at the time of the request (never stored). `no_data`: no measurement, or no
    /// target or comparator. `met`: the latest value reaches the target in the comparator's
    /// direction. Otherwise, with a `baseline` and a `due_date`, the expected value runs in a
    /// straight line from the baseline at `created_at` to the target at 00:00 UTC of
    /// `due_date` (and stays at the target after it): `on_track` when the latest value is at
    /// or beyond the expected value, `at_risk` when behind it by at most 10 % of
    /// |target − baseline|, `off_track` when further behind. Without a baseline or a due
    /// date: `on_track` until the due date (if any) has come, `off_track` after.
    pub attainment: Attainment,
    /// Computed from the latest three measurements: the latest value against the mean of the
    /// (up to two) values before it. A change within 2 % of |target − baseline| (or, without
    /// both, of the earlier values' mean magnitude) is `stable`; otherwise `improving` in the
    /// comparator's direction (up for `gte`, down for `lte`), `worsening` against it. Null
    /// with fewer than two measurements or without a comparator.
    pub trend: Option<Trend>,
    /// What the calling user may do now (`POST /objectives/{id}/transitions`).
    pub allowed_actions: Vec<ObjectiveAction>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A measurement of an objective's metric.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Measurement {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub objective_id: String,
    pub value: f64,
    pub measured_at: DateTime<Utc>,
    pub note: Option<String>,
    /// The user who recorded it.
    #[schema(format = Uuid)]
    pub recorded_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<StoredMeasurement> for Measurement {
    fn from(m: StoredMeasurement) -> Self {
        Measurement {
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

/// An active objective as a KPI of the process it names (computed, like its attainment).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Kpi {
    #[schema(format = Uuid)]
    pub objective_id: String,
    pub title: String,
    pub metric: Option<String>,
    pub unit: Option<String>,
    pub latest_value: Option<f64>,
    pub target: Option<f64>,
    pub comparator: Option<Comparator>,
    /// As the objective's `attainment`.
    pub attainment: Attainment,
}

fn attainment_of(s: &StoredObjective, latest: &[f64], now: DateTime<Utc>) -> Attainment {
    objective::attainment(
        &s.objective.fields,
        s.created_at,
        latest.first().copied(),
        now,
    )
}

fn view(s: StoredObjective, latest: &[f64], caller: &Caller) -> Objective {
    Objective {
        allowed_actions: allowed_actions(
            WORKFLOW,
            s.objective.state,
            &caller.principal,
            &Relation::default(),
        ),
        latest_value: latest.first().copied(),
        attainment: attainment_of(&s, latest, caller.now),
        trend: objective::trend(&s.objective.fields, latest),
        id: s.id,
        fields: s.objective.fields,
        state: s.objective.state,
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

/// Views of stored objectives, with their latest measurements loaded in one query.
async fn views<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    objectives: Vec<StoredObjective>,
) -> Result<Vec<Objective>> {
    let ids: Vec<String> = objectives.iter().map(|o| o.id.clone()).collect();
    let latest = stored::latest_values(conn, &ids).await?;
    Ok(objectives
        .into_iter()
        .map(|o| {
            let values = latest.get(&o.id).map(Vec::as_slice).unwrap_or_default();
            view(o, values, caller)
        })
        .collect())
}

async fn view_one<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    objective: StoredObjective,
) -> Result<Objective> {
    Ok(views(conn, caller, vec![objective])
        .await?
        .pop()
        .expect("one in, one out"))
}

fn ensure_may_change(caller: &Caller) -> Result<(), DomainError> {
    caller.ensure(caller.principal.can_manage_sms(), "change objectives")
}

/// The process and the owner role an objective names must exist.
async fn ensure_references_exist<C: ConnectionTrait>(
    conn: &C,
    fields: &ObjectiveFields,
) -> Result<()> {
    let mut errors = Vec::new();
    if let Some(id) = &fields.process_id
        && existing_ids::<process::Entity, _>(conn, &[id])
            .await?
            .is_empty()
    {
        errors.push(FieldError::new(
            "process_id",
            "must be the id of an existing process",
        ));
    }
    if let Some(id) = &fields.owner_role_id
        && existing_ids::<sms_role::Entity, _>(conn, &[id])
            .await?
            .is_empty()
    {
        errors.push(FieldError::new(
            "owner_role_id",
            "must be the id of an existing SMS role",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errors).into())
    }
}

pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    fields: ObjectiveFields,
) -> Result<Objective> {
    ensure_may_change(caller)?;
    let objective = objective::Objective {
        fields: objective::validate(fields)?,
        state: ObjectiveState::Draft,
    };
    let created = write::create::<StoredObjective>(db, caller, async |tx, id| {
        ensure_references_exist(tx, &objective.fields).await?;
        stored::insert(tx, id, &objective, caller.now).await
    })
    .await?;
    view_one(db, caller, created).await
}

async fn load<C: ConnectionTrait>(db: &C, id: &str) -> Result<StoredObjective> {
    Ok(StoredObjective::load(db, id)
        .await?
        .ok_or(DomainError::NotFound("objective"))?)
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<Objective> {
    caller.ensure_reads_sms()?;
    read_snapshot(db, async |tx| {
        view_one(tx, caller, load(tx, id).await?).await
    })
    .await
}

/// Applies a merge patch; a patch that changes nothing writes nothing.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    patch: ObjectivePatch,
) -> Result<Objective> {
    ensure_may_change(caller)?;
    let changed = write::modify::<StoredObjective, _>(
        db,
        caller,
        (id, expected_version),
        "update",
        |before| {
            let fields = objective::validate(patch.apply_to(before.objective.fields.clone()))?;
            if fields == before.objective.fields {
                return Ok(None);
            }
            let edited = objective::Objective {
                fields,
                ..before.objective.clone()
            };
            objective::check_edit(&edited)?;
            Ok(Some(edited))
        },
        async |tx, edited| {
            ensure_references_exist(tx, &edited.fields).await?;
            stored::update(tx, id, &edited).await
        },
    )
    .await?;
    view_one(db, caller, changed).await
}

pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
) -> Result<()> {
    ensure_may_change(caller)?;
    write::remove::<StoredObjective>(db, caller, (id, expected_version), async |_, o| {
        Ok(objective::ensure_deletable(o.objective.state)?)
    })
    .await
}

pub async fn transition(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    action: ObjectiveAction,
    outcome: Option<Outcome>,
) -> Result<Objective> {
    caller.ensure_reads_sms()?;
    objective::check_outcome(action, outcome)?;
    let changed = write::modify::<StoredObjective, _>(
        db,
        caller,
        (id, expected_version),
        action.as_str(),
        |before| {
            let step = Step {
                objective: before.objective.clone(),
                outcome,
            };
            let to = decide(
                WORKFLOW,
                step.objective.state,
                action,
                &caller.principal,
                &Relation::default(),
                &step,
            )?;
            Ok(Some(objective::Objective {
                state: to,
                ..step.objective
            }))
        },
        async |tx, after| stored::update(tx, id, &after).await,
    )
    .await?;
    view_one(db, caller, changed).await
}

/// Lists objectives. The attainment filter is computed, not stored: the objectives matching
/// the other filters are judged in one pass (one query for them, one for their latest
/// measurements), and the page is then read, with its cursor, among those that match.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: ObjectiveFilter,
    attainment: Option<Attainment>,
    request: &PageRequest,
) -> Result<Page<Objective>> {
    caller.ensure_reads_sms()?;
    let only = match attainment {
        None => None,
        Some(wanted) => {
            let candidates = stored::matching(db, &filter).await?;
            let ids: Vec<String> = candidates.iter().map(|o| o.id.clone()).collect();
            let latest = stored::latest_values(db, &ids).await?;
            let matching = candidates.into_iter().filter(|o| {
                let values = latest.get(&o.id).map(Vec::as_slice).unwrap_or_default();
                attainment_of(o, values, caller.now) == wanted
            });
            Some(matching.map(|o| o.id).collect())
        }
    };
    let page = stored::list(db, &filter, only, request).await?;
    Ok(Page {
        items: views(db, caller, page.items).await?,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}

/// Every objective the filter matches, as the API shows it (with `latest_value`,
/// `attainment` and `trend`), in three queries whatever their number. For reports.
pub async fn all_matching(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: &ObjectiveFilter,
) -> Result<Vec<Objective>> {
    caller.ensure_reads_sms()?;
    let found = stored::matching(db, filter).await?;
    views(db, caller, found).await
}

/// Records a measurement of an active objective: managers always, contributors for an
/// objective whose owner role they hold. It is appended to the audit trail as a
/// `measurement`; the objective's own version is left as it is.
pub async fn add_measurement(
    db: &DatabaseConnection,
    caller: &Caller,
    objective_id: &str,
    input: MeasurementInput,
) -> Result<Measurement> {
    caller.ensure(
        caller.principal.has(AccessRole::Contributor),
        "add measurements",
    )?;
    let tx = super::begin_write(db).await?;
    let mut went_off_track = None;
    let created = write::create_in::<StoredMeasurement>(&tx, caller, async |tx, id| {
        let target = StoredObjective::load(tx, objective_id)
            .await?
            .ok_or(DomainError::NotFound("objective"))?;
        if !caller.principal.can_manage_sms() {
            let holds = match &target.objective.fields.owner_role_id {
                Some(role_id) => stored::is_member(tx, caller.user_id(), role_id).await?,
                None => false,
            };
            caller.ensure(
                holds,
                "add measurements to an objective whose owner role you do not hold",
            )?;
        }
        let input = objective::validate_measurement(target.objective.state, input, caller.now)?;
        let recorded_by = Some(caller.user_id().to_string()).filter(|u| !u.is_empty());
        let ids = [objective_id.to_string()];
        let attainment = async |tx: &sea_orm::DatabaseTransaction| -> Result<Attainment> {
            let latest = stored::latest_values(tx, &ids).await?;
            let values = latest
                .get(objective_id)
                .map(Vec::as_slice)
                .unwrap_or_default();
            Ok(attainment_of(&target, values, caller.now))
        };
        let before = attainment(tx).await?;
        stored::insert_measurement(tx, id, objective_id, &input, recorded_by, caller.now).await?;
        let after = attainment(tx).await?;
        if before != Attainment::OffTrack && after == Attainment::OffTrack {
            went_off_track = Some((before, id.to_string(), input.value));
        }
        Ok(())
    })
    .await?;
    if let Some((before, measurement_id, value)) = went_off_track {
        // The measurement's audit row caused it.
        let audit_seq = audit_trail::head_seq(&tx).await?;
        let event = NewEvent {
            event_type: EventType::ObjectiveOffTrack,
            resource_type: "objective",
            resource_id: objective_id.to_string(),
            data: serde_json::json!({
                "from": before,
                "to": Attainment::OffTrack,
                "measurement_id": measurement_id,
                "value": value,
            }),
        };
        events::append(&tx, &event, caller.now, Some(audit_seq), None).await?;
    }
    tx.commit().await?;
    Ok(created.into())
}

/// The measurements of an objective, newest first unless `sort` says otherwise.
pub async fn list_measurements(
    db: &DatabaseConnection,
    caller: &Caller,
    objective_id: &str,
    request: &PageRequest,
) -> Result<Page<Measurement>> {
    caller.ensure_reads_sms()?;
    load(db, objective_id).await?;
    let page = stored::measurements(db, objective_id, request).await?;
    Ok(page.map(Into::into))
}

/// The KPIs of each of `process_ids`: the active objectives that name the process, by
/// title, in two queries whatever the number of processes.
pub async fn kpis_of_processes<C: ConnectionTrait>(
    conn: &C,
    process_ids: &[String],
    now: DateTime<Utc>,
) -> Result<HashMap<String, Vec<Kpi>>> {
    let mut out: HashMap<String, Vec<Kpi>> = HashMap::new();
    if process_ids.is_empty() {
        return Ok(out);
    }
    let active = stored::active_naming(conn, process_ids).await?;
    let ids: Vec<String> = active.iter().map(|o| o.id.clone()).collect();
    let latest = stored::latest_values(conn, &ids).await?;
    for o in active {
        let values = latest.get(&o.id).map(Vec::as_slice).unwrap_or_default();
        let attainment = attainment_of(&o, values, now);
        let f = o.objective.fields;
        let Some(process_id) = f.process_id else {
            continue;
        };
        out.entry(process_id).or_default().push(Kpi {
            objective_id: o.id,
            title: f.title,
            metric: f.metric,
            unit: f.unit,
            latest_value: values.first().copied(),
            target: f.target,
            comparator: f.comparator,
            attainment,
        });
    }
    Ok(out)
}
