//! Objectives of the SMS and their measurements (clauses 6.2, 9.1): fields, the 6.2.2 plan,
//! the workflow, and the rules that judge attainment and trend from the measurements.

use chrono::{DateTime, NaiveDate, Utc};

use super::DomainError;
use super::access::AccessRole;
use super::clause::{self, ClauseNumber};
use super::fields::PatchField;
use super::validation::{FieldError, Validator};
use super::workflow::{Actor, Need, Transition};
use crate::{editable_fields, text_enum};

text_enum! {
    pub enum ObjectiveState {
        Draft => "draft", Active => "active", Achieved => "achieved", Missed => "missed",
        Cancelled => "cancelled",
    }
}

text_enum! {
    pub enum ObjectiveAction { Activate => "activate", Close => "close", Cancel => "cancel" }
}

text_enum! {
    /// Whether a higher (`gte`) or a lower (`lte`) value is better.
    pub enum Comparator { Gte => "gte", Lte => "lte" }
}

text_enum! {
    /// How an objective ended (the `close` action).
    pub enum Outcome { Achieved => "achieved", Missed => "missed" }
}

text_enum! {
    pub enum Attainment {
        NoData => "no_data", OnTrack => "on_track", AtRisk => "at_risk", OffTrack => "off_track",
        Met => "met",
    }
}

text_enum! {
    pub enum Trend { Improving => "improving", Stable => "stable", Worsening => "worsening" }
}

editable_fields! {
    /// The plan of clause 6.2.2: what will be done, with which resources, who is responsible,
    /// when it will be completed and how the results will be evaluated.
    #[derive(Default)]
    pub struct ObjectivePlan / ObjectivePlanPatch {
        #[serde(default)]
        #[schema(max_length = 2000)]
        what: Option<String>,
        #[serde(default)]
        #[schema(max_length = 2000)]
        resources: Option<String>,
        #[serde(default)]
        #[schema(max_length = 2000)]
        responsible: Option<String>,
        #[serde(default)]
        #[schema(max_length = 2000)]
        completion: Option<String>,
        #[serde(default)]
        #[schema(max_length = 2000)]
        evaluation: Option<String>,
    }
}

/// A patch of the plan merges into it (RFC 7396 merges nested objects).
impl PatchField for ObjectivePlan {
    type Patch = ObjectivePlanPatch;
    fn patched(patch: ObjectivePlanPatch) -> Self {
        patch.apply_to(ObjectivePlan::default())
    }
    fn merged(current: Self, patch: ObjectivePlanPatch) -> Self {
        patch.apply_to(current)
    }
}

fn default_clauses() -> Vec<String> {
    vec!["6.2".into()]
}

editable_fields! {
    /// The editable fields of an objective.
    pub struct ObjectiveFields / ObjectivePatch {
        #[schema(example = "Restore P1 incidents within 4 hours", min_length = 1, max_length = 200)]
        title: String,
        #[serde(default)]
        #[schema(max_length = 10000)]
        description: Option<String>,
        /// The process the objective is about (its KPIs show it while it is active).
        #[serde(default)]
        #[schema(format = Uuid, max_length = 36)]
        process_id: Option<String>,
        /// Clause catalog numbers; `["6.2"]` when absent. At least one.
        #[serde(default = "default_clauses")]
        #[schema(value_type = Vec<ClauseNumber>, min_items = 1, max_items = 100)]
        clauses: Vec<String>,
        /// The SMS role that owns the objective; its members may add measurements.
        #[serde(default)]
        #[schema(format = Uuid, max_length = 36)]
        owner_role_id: Option<String>,
        /// What is measured, e.g. "P1 incidents restored within 4 hours".
        #[serde(default)]
        #[schema(max_length = 200)]
        metric: Option<String>,
        #[serde(default)]
        #[schema(example = "%", max_length = 50)]
        unit: Option<String>,
        /// The value when the objective was set: where the expected line starts.
        #[serde(default)]
        baseline: Option<f64>,
        /// The value to reach by `due_date`.
        #[serde(default)]
        target: Option<f64>,
        /// `gte`: met when the value is at or above the target; `lte`: at or below.
        #[serde(default)]
        comparator: Option<Comparator>,
        #[serde(default)]
        due_date: Option<NaiveDate>,
        /// The 6.2.2 plan; each of its fields is needed to activate the objective.
        #[serde(default)]
        plan: ObjectivePlan,
    }
}

/// An objective as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    pub fields: ObjectiveFields,
    pub state: ObjectiveState,
}

/// What a transition sees: the objective and the outcome the request brings.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub objective: Objective,
    pub outcome: Option<Outcome>,
}

const MANAGERS: &[Actor] = &[Actor::Role(AccessRole::Manager)];

/// What activation needs; an active objective keeps them through every edit.
const ACTIVATION_NEEDS: &[Need<Step>] = &[
    Need {
        field: "plan.what",
        message: "the plan must say what will be done",
        holds: |s| s.objective.fields.plan.what.is_some(),
    },
    Need {
        field: "plan.resources",
        message: "the plan must say what resources are required",
        holds: |s| s.objective.fields.plan.resources.is_some(),
    },
    Need {
        field: "plan.responsible",
        message: "the plan must say who is responsible",
        holds: |s| s.objective.fields.plan.responsible.is_some(),
    },
    Need {
        field: "plan.completion",
        message: "the plan must say when it will be completed",
        holds: |s| s.objective.fields.plan.completion.is_some(),
    },
    Need {
        field: "plan.evaluation",
        message: "the plan must say how the results will be evaluated",
        holds: |s| s.objective.fields.plan.evaluation.is_some(),
    },
    Need {
        field: "metric",
        message: "a metric is needed before activation",
        holds: |s| s.objective.fields.metric.is_some(),
    },
    Need {
        field: "target",
        message: "a target is needed before activation",
        holds: |s| s.objective.fields.target.is_some(),
    },
    Need {
        field: "comparator",
        message: "a comparator is needed before activation",
        holds: |s| s.objective.fields.comparator.is_some(),
    },
];

const OUTCOME_MESSAGE: &str = "closing needs the outcome: `achieved` or `missed`";

pub const WORKFLOW: &[Transition<ObjectiveState, ObjectiveAction, Step>] = &[
    Transition {
        from: ObjectiveState::Draft,
        action: ObjectiveAction::Activate,
        to: ObjectiveState::Active,
        who: MANAGERS,
        not_after: None,
        needs: ACTIVATION_NEEDS,
        when: None,
    },
    Transition {
        from: ObjectiveState::Active,
        action: ObjectiveAction::Close,
        to: ObjectiveState::Achieved,
        who: MANAGERS,
        not_after: None,
        needs: &[],
        when: Some(Need {
            field: "outcome",
            message: OUTCOME_MESSAGE,
            holds: |s| s.outcome == Some(Outcome::Achieved),
        }),
    },
    Transition {
        from: ObjectiveState::Active,
        action: ObjectiveAction::Close,
        to: ObjectiveState::Missed,
        who: MANAGERS,
        not_after: None,
        needs: &[],
        when: Some(Need {
            field: "outcome",
            message: OUTCOME_MESSAGE,
            holds: |s| s.outcome == Some(Outcome::Missed),
        }),
    },
    Transition {
        from: ObjectiveState::Draft,
        action: ObjectiveAction::Cancel,
        to: ObjectiveState::Cancelled,
        who: MANAGERS,
        not_after: None,
        needs: &[],
        when: None,
    },
    Transition {
        from: ObjectiveState::Active,
        action: ObjectiveAction::Cancel,
        to: ObjectiveState::Cancelled,
        who: MANAGERS,
        not_after: None,
        needs: &[],
        when: None,
    },
];

/// An outcome is only for `close`.
pub fn check_outcome(action: ObjectiveAction, outcome: Option<Outcome>) -> Result<(), DomainError> {
    if action != ObjectiveAction::Close && outcome.is_some() {
        return Err(DomainError::invalid(
            "outcome",
            format!("only `close` takes an outcome, not `{action}`"),
        ));
    }
    Ok(())
}

fn finite(v: &mut Validator, field: &str, value: Option<f64>) {
    v.check(
        value.is_none_or(f64::is_finite),
        field,
        "must be a finite number",
    );
}

/// Normalizes and validates an objective's fields.
pub fn validate(input: ObjectiveFields) -> Result<ObjectiveFields, DomainError> {
    let mut v = Validator::new();
    let title = v.required_text("title", &input.title, 200);
    let description = v.optional_text("description", input.description.as_deref(), 10_000);
    let clauses = clause::validate_refs(&mut v, "clauses", &input.clauses);
    v.check(
        !clauses.is_empty(),
        "clauses",
        "must name at least one clause",
    );
    let metric = v.optional_text("metric", input.metric.as_deref(), 200);
    let unit = v.optional_text("unit", input.unit.as_deref(), 50);
    finite(&mut v, "baseline", input.baseline);
    finite(&mut v, "target", input.target);
    let p = &input.plan;
    let plan = ObjectivePlan {
        what: v.optional_text("plan.what", p.what.as_deref(), 2000),
        resources: v.optional_text("plan.resources", p.resources.as_deref(), 2000),
        responsible: v.optional_text("plan.responsible", p.responsible.as_deref(), 2000),
        completion: v.optional_text("plan.completion", p.completion.as_deref(), 2000),
        evaluation: v.optional_text("plan.evaluation", p.evaluation.as_deref(), 2000),
    };
    v.finish()?;
    Ok(ObjectiveFields {
        title,
        description,
        process_id: input.process_id,
        clauses,
        owner_role_id: input.owner_role_id,
        metric,
        unit,
        baseline: input.baseline,
        target: input.target,
        comparator: input.comparator,
        due_date: input.due_date,
        plan,
    })
}

/// Whether an objective may become `edited`: a closed or cancelled one is frozen, and an
/// active one keeps what its activation needed.
pub fn check_edit(edited: &Objective) -> Result<(), DomainError> {
    match edited.state {
        ObjectiveState::Draft => Ok(()),
        ObjectiveState::Active => {
            let step = Step {
                objective: edited.clone(),
                outcome: None,
            };
            let unmet: Vec<_> = ACTIVATION_NEEDS
                .iter()
                .filter(|n| !(n.holds)(&step))
                .map(|n| FieldError::new(n.field, n.message))
                .collect();
            if unmet.is_empty() {
                Ok(())
            } else {
                Err(DomainError::PreconditionMissing(unmet))
            }
        }
        state => Err(DomainError::Conflict(format!(
            "an objective that is {state} cannot be changed"
        ))),
    }
}

/// Only drafts are deleted; others are cancelled, to keep their history.
pub fn ensure_deletable(state: ObjectiveState) -> Result<(), DomainError> {
    if state != ObjectiveState::Draft {
        return Err(DomainError::Conflict(format!(
            "only draft objectives can be deleted; this one is {state} (cancel it instead)"
        )));
    }
    Ok(())
}

/// A measurement as a client sends it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasurementInput {
    /// The measured value, in the objective's unit.
    pub value: f64,
    /// When the value was measured; not in the future.
    pub measured_at: DateTime<Utc>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Measurements are taken while the objective is active, and never in the future.
pub fn validate_measurement(
    state: ObjectiveState,
    input: MeasurementInput,
    now: DateTime<Utc>,
) -> Result<MeasurementInput, DomainError> {
    let mut v = Validator::new();
    v.check(input.value.is_finite(), "value", "must be a finite number");
    v.check(
        input.measured_at <= now,
        "measured_at",
        "must not be in the future",
    );
    let note = v.optional_text("note", input.note.as_deref(), 2000);
    v.finish()?;
    if state != ObjectiveState::Active {
        return Err(DomainError::Conflict(format!(
            "measurements are taken while an objective is active; this one is {state}"
        )));
    }
    Ok(MeasurementInput { note, ..input })
}

/// How far behind the expected line a value may fall, as a share of the distance from
/// baseline to target, and still be `at_risk` rather than `off_track`.
pub const AT_RISK_SHARE: f64 = 0.10;
/// How many of the latest measurements the trend looks at (the latest and those before it).
pub const TREND_WINDOW: usize = 3;
/// A change within this share of the scale is `stable`.
pub const STABLE_SHARE: f64 = 0.02;

fn reached(value: f64, target: f64, comparator: Comparator) -> bool {
    match comparator {
        Comparator::Gte => value >= target,
        Comparator::Lte => value <= target,
    }
}

/// Attainment of `latest` against the objective, judged at `now`, for an objective set at
/// `start`:
/// - `no_data`: no measurement, or no target or comparator;
/// - `met`: the latest value reaches the target (in the comparator's direction);
/// - with a baseline and a due date, the expected value moves in a straight line from the
///   baseline at `start` to the target at the start of `due_date` (UTC), and stays at the
///   target after it: `on_track` when the value is at or beyond the expected value,
///   `at_risk` when it is behind by at most `AT_RISK_SHARE` of |target − baseline|,
///   `off_track` when further behind;
/// - without a baseline or a due date there is no line: `on_track` until the due date
///   (if any) has come, `off_track` after.
pub fn attainment(
    fields: &ObjectiveFields,
    start: DateTime<Utc>,
    latest: Option<f64>,
    now: DateTime<Utc>,
) -> Attainment {
    let (Some(value), Some(target), Some(comparator)) = (latest, fields.target, fields.comparator)
    else {
        return Attainment::NoData;
    };
    if reached(value, target, comparator) {
        return Attainment::Met;
    }
    let due = fields
        .due_date
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    let (Some(baseline), Some(due)) = (fields.baseline, due) else {
        return match due {
            Some(due) if now >= due => Attainment::OffTrack,
            _ => Attainment::OnTrack,
        };
    };
    let span = (due - start).num_seconds() as f64;
    let elapsed = (now - start).num_seconds() as f64;
    let share = if span <= 0.0 {
        1.0
    } else {
        (elapsed / span).clamp(0.0, 1.0)
    };
    let expected = baseline + (target - baseline) * share;
    let behind = match comparator {
        Comparator::Gte => expected - value,
        Comparator::Lte => value - expected,
    };
    if behind <= 0.0 {
        Attainment::OnTrack
    } else if behind <= AT_RISK_SHARE * (target - baseline).abs() {
        Attainment::AtRisk
    } else {
        Attainment::OffTrack
    }
}

/// Trend of the latest measurements (`latest_first`, newest first; only the first
/// `TREND_WINDOW` count): the latest value against the mean of the (up to two) values before
/// it. A change within `STABLE_SHARE` of the scale is `stable`; otherwise it is `improving`
/// in the comparator's direction (up for `gte`, down for `lte`) and `worsening` against it.
/// The scale is |target − baseline| when both are known and differ, else the mean of the
/// earlier values' magnitude. None with fewer than two measurements or no comparator.
pub fn trend(fields: &ObjectiveFields, latest_first: &[f64]) -> Option<Trend> {
    let comparator = fields.comparator?;
    let window = &latest_first[..latest_first.len().min(TREND_WINDOW)];
    let (&latest, earlier) = window.split_first()?;
    if earlier.is_empty() {
        return None;
    }
    let mean = earlier.iter().sum::<f64>() / earlier.len() as f64;
    let scale = match (fields.baseline, fields.target) {
        (Some(b), Some(t)) if b != t => (t - b).abs(),
        _ => mean.abs(),
    };
    let change = latest - mean;
    if change.abs() <= STABLE_SHARE * scale {
        return Some(Trend::Stable);
    }
    let better = match comparator {
        Comparator::Gte => change > 0.0,
        Comparator::Lte => change < 0.0,
    };
    Some(if better {
        Trend::Improving
    } else {
        Trend::Worsening
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Principal;
    use crate::domain::workflow::{Relation, check_exhaustively, decide};
    use chrono::{Duration, TimeZone};

    fn plan() -> ObjectivePlan {
        ObjectivePlan {
            what: Some("Automate triage".into()),
            resources: Some("Two engineers".into()),
            responsible: Some("Service desk lead".into()),
            completion: Some("By year end".into()),
            evaluation: Some("Monthly report".into()),
        }
    }

    fn fields() -> ObjectiveFields {
        ObjectiveFields {
            title: "Restore P1 within 4 h".into(),
            description: None,
            process_id: None,
            clauses: default_clauses(),
            owner_role_id: None,
            metric: Some("P1 restored within 4 h".into()),
            unit: Some("%".into()),
            baseline: Some(80.0),
            target: Some(90.0),
            comparator: Some(Comparator::Gte),
            due_date: Some(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()),
            plan: plan(),
        }
    }

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    fn step(state: ObjectiveState, complete: bool, outcome: Option<Outcome>) -> Step {
        let mut f = fields();
        if !complete {
            f.plan = ObjectivePlan::default();
            f.metric = None;
            f.target = None;
            f.comparator = None;
        }
        Step {
            objective: Objective { fields: f, state },
            outcome,
        }
    }

    fn manager() -> Principal {
        Principal {
            user_id: "u".into(),
            roles: vec![AccessRole::Manager],
        }
    }

    #[test]
    fn activation_names_every_missing_field() {
        let draft = step(ObjectiveState::Draft, false, None);
        let result = decide(
            WORKFLOW,
            draft.objective.state,
            ObjectiveAction::Activate,
            &manager(),
            &Relation::default(),
            &draft,
        );
        let Err(DomainError::PreconditionMissing(missing)) = result else {
            panic!("{result:?}")
        };
        let fields: Vec<_> = missing.iter().map(|m| m.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "plan.what",
                "plan.resources",
                "plan.responsible",
                "plan.completion",
                "plan.evaluation",
                "metric",
                "target",
                "comparator"
            ]
        );
    }

    #[test]
    fn close_picks_the_row_by_outcome() {
        let close = |outcome| {
            let s = step(ObjectiveState::Active, true, outcome);
            decide(
                WORKFLOW,
                ObjectiveState::Active,
                ObjectiveAction::Close,
                &manager(),
                &Relation::default(),
                &s,
            )
        };
        assert_eq!(close(Some(Outcome::Achieved)), Ok(ObjectiveState::Achieved));
        assert_eq!(close(Some(Outcome::Missed)), Ok(ObjectiveState::Missed));
        let Err(DomainError::PreconditionMissing(missing)) = close(None) else {
            panic!()
        };
        assert_eq!(missing[0].field, "outcome");
        assert!(check_outcome(ObjectiveAction::Cancel, Some(Outcome::Missed)).is_err());
        assert!(check_outcome(ObjectiveAction::Close, Some(Outcome::Missed)).is_ok());
    }

    #[test]
    fn workflow_over_every_state_action_and_role() {
        for outcome in [Outcome::Achieved, Outcome::Missed] {
            check_exhaustively(
                WORKFLOW,
                ObjectiveState::ALL,
                ObjectiveAction::ALL,
                &step(ObjectiveState::Draft, true, Some(outcome)),
                &step(ObjectiveState::Draft, false, None),
            );
        }
    }

    #[test]
    fn edits_keep_an_active_objective_activatable() {
        let mut o = step(ObjectiveState::Active, true, None).objective;
        assert!(check_edit(&o).is_ok());
        o.fields.plan.what = None;
        assert!(matches!(
            check_edit(&o),
            Err(DomainError::PreconditionMissing(_))
        ));
        o.state = ObjectiveState::Achieved;
        assert!(matches!(check_edit(&o), Err(DomainError::Conflict(_))));
        assert!(ensure_deletable(ObjectiveState::Draft).is_ok());
        assert!(ensure_deletable(ObjectiveState::Active).is_err());
    }

    #[test]
    fn validate_normalizes_and_refuses() {
        let mut f = fields();
        f.plan.what = Some("  ".into());
        f.clauses = vec!["6.2".into(), "6.2".into()];
        let v = validate(f).unwrap();
        assert_eq!(v.plan.what, None);
        assert_eq!(v.clauses, vec!["6.2"]);
        let mut f = fields();
        f.clauses = vec![];
        f.title = " ".into();
        let Err(DomainError::Validation(errors)) = validate(f) else {
            panic!()
        };
        let names: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, vec!["title", "clauses"]);
    }

    #[test]
    fn measurements_only_while_active_and_not_in_the_future() {
        let now = start();
        let input = |at| MeasurementInput {
            value: 1.0,
            measured_at: at,
            note: Some(" ".into()),
        };
        let ok = validate_measurement(ObjectiveState::Active, input(now), now).unwrap();
        assert_eq!(ok.note, None);
        assert!(matches!(
            validate_measurement(
                ObjectiveState::Active,
                input(now + Duration::seconds(1)),
                now
            ),
            Err(DomainError::Validation(_))
        ));
        assert!(matches!(
            validate_measurement(ObjectiveState::Draft, input(now), now),
            Err(DomainError::Conflict(_))
        ));
    }

    #[test]
    fn attainment_follows_the_line_from_baseline_to_target() {
        let f = fields();
        // 2026 has 365 days; half way the line expects 85.
        let half = start() + Duration::seconds(365 * 86_400 / 2);
        let at = |value| attainment(&f, start(), Some(value), half);
        assert_eq!(attainment(&f, start(), None, half), Attainment::NoData);
        assert_eq!(at(90.0), Attainment::Met);
        assert_eq!(at(95.0), Attainment::Met);
        assert_eq!(at(85.0), Attainment::OnTrack);
        assert_eq!(at(86.0), Attainment::OnTrack);
        // At risk: up to 10 % of the 10-point gap (1 point) behind.
        assert_eq!(at(84.0), Attainment::AtRisk);
        assert_eq!(at(83.9), Attainment::OffTrack);
        // Before the start the line is at the baseline; after the due date, at the target.
        assert_eq!(
            attainment(&f, start(), Some(80.0), start() - Duration::days(1)),
            Attainment::OnTrack
        );
        let late = start() + Duration::days(400);
        assert_eq!(
            attainment(&f, start(), Some(89.5), late),
            Attainment::AtRisk
        );
        assert_eq!(
            attainment(&f, start(), Some(88.0), late),
            Attainment::OffTrack
        );
    }

    #[test]
    fn attainment_with_lte_and_without_a_line() {
        let mut f = fields();
        f.comparator = Some(Comparator::Lte);
        f.baseline = Some(10.0);
        f.target = Some(2.0);
        let half = start() + Duration::seconds(365 * 86_400 / 2);
        // Expected 6 half way; the gap is 8, so at risk up to 6.8.
        let at = |value| attainment(&f, start(), Some(value), half);
        assert_eq!(at(2.0), Attainment::Met);
        assert_eq!(at(6.0), Attainment::OnTrack);
        assert_eq!(at(6.8), Attainment::AtRisk);
        assert_eq!(at(7.0), Attainment::OffTrack);
        f.baseline = None;
        assert_eq!(
            attainment(&f, start(), Some(9.0), half),
            Attainment::OnTrack
        );
        let after_due = start() + Duration::days(366);
        assert_eq!(
            attainment(&f, start(), Some(9.0), after_due),
            Attainment::OffTrack
        );
        f.target = None;
        assert_eq!(attainment(&f, start(), Some(9.0), half), Attainment::NoData);
    }

    #[test]
    fn trend_in_the_comparators_direction() {
        let f = fields();
        // The scale is the 10-point gap: stable within 0.2.
        assert_eq!(trend(&f, &[]), None);
        assert_eq!(trend(&f, &[85.0]), None);
        assert_eq!(trend(&f, &[86.0, 85.0, 84.0]), Some(Trend::Improving));
        assert_eq!(trend(&f, &[84.6, 84.0, 85.0]), Some(Trend::Stable));
        assert_eq!(trend(&f, &[84.0, 85.0, 86.0]), Some(Trend::Worsening));
        // Only the window counts: an old outlier is ignored.
        assert_eq!(trend(&f, &[85.0, 85.1, 84.9, 0.0]), Some(Trend::Stable));
        let mut lte = fields();
        lte.comparator = Some(Comparator::Lte);
        assert_eq!(trend(&lte, &[3.0, 5.0]), Some(Trend::Improving));
        assert_eq!(trend(&lte, &[5.0, 3.0]), Some(Trend::Worsening));
        // Without a baseline the scale is the earlier values' mean: 2 % of 100.
        lte.baseline = None;
        assert_eq!(trend(&lte, &[101.5, 100.0]), Some(Trend::Stable));
        assert_eq!(trend(&lte, &[102.5, 100.0]), Some(Trend::Worsening));
        lte.comparator = None;
        assert_eq!(trend(&lte, &[1.0, 2.0]), None);
    }

    #[test]
    fn a_plan_patch_merges() {
        let patch: ObjectivePatch =
            serde_json::from_str(r#"{"plan": {"what": "Other", "resources": null}}"#).unwrap();
        let after = patch.apply_to(fields());
        assert_eq!(after.plan.what.as_deref(), Some("Other"));
        assert_eq!(after.plan.resources, None);
        assert_eq!(after.plan.responsible, plan().responsible);
        assert!(serde_json::from_str::<ObjectivePatch>(r#"{"plan": null}"#).is_err());
    }
}
