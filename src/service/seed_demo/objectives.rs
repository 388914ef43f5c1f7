//! Step `objectives`: each business unit's objectives (clause 6.2) with their 6.2.2 plans,
//! in every state, and a year of monthly measurements (clause 9.1): some on track, one at
//! risk, one off track, one met.

use chrono::NaiveDate;

use super::{Demo, Made, StepFuture, catalog, refused};
use crate::domain::objective::{
    MeasurementInput, ObjectiveAction, ObjectiveFields, ObjectivePlan, ObjectiveState, Outcome,
};
use crate::service::objectives;

pub fn run(demo: &mut Demo) -> StepFuture<'_> {
    Box::pin(seed(demo))
}

fn plan(spec: &catalog::ObjectiveSpec, owner: &str, due: NaiveDate) -> ObjectivePlan {
    let what = Some(format!(
        "The actions in the improvement plan of the process behind \"{}\".",
        spec.title
    ));
    if spec.state == ObjectiveState::Draft {
        // Still being planned: only what will be done is known.
        return ObjectivePlan {
            what,
            ..Default::default()
        };
    }
    ObjectivePlan {
        what,
        resources: Some("Process owner time and the reports of the service management tool; no extra budget.".into()),
        responsible: Some(owner.to_string()),
        completion: Some(format!("By {due}")),
        evaluation: Some("Measured monthly, reviewed at the SMS performance meeting and at the management review.".into()),
    }
}

fn value(spec: &catalog::ObjectiveSpec, share: f64) -> f64 {
    let raw = spec.baseline + (spec.target - spec.baseline) * share;
    let scale = 10f64.powi(spec.decimals);
    (raw * scale).round() / scale
}

async fn seed(demo: &mut Demo) -> anyhow::Result<Made> {
    let (mut count, mut measurements) = (0, 0);
    for u in 0..demo.units.len() {
        let unit = &demo.units[u];
        let mut made = Vec::new();
        for (i, spec) in catalog::OBJECTIVES.iter().enumerate() {
            let title = unit.name(spec.title);
            let failed = |e| refused(format!("objective {title}"), e);
            let owner = unit.name(
                catalog::ROLES
                    .iter()
                    .find(|r| r.key == spec.owner_role)
                    .map_or("", |r| r.name),
            );
            let due = demo.date(spec.due);
            let fields = ObjectiveFields {
                title: title.clone(),
                description: Some(format!(
                    "{} ({}): from {} to {} {} by {due}.",
                    spec.metric, spec.unit, spec.baseline, spec.target, spec.unit
                )),
                process_id: Some(unit.process(spec.process).to_string()),
                clauses: spec.clauses.iter().map(|c| c.to_string()).collect(),
                owner_role_id: Some(unit.role(spec.owner_role).to_string()),
                metric: Some(spec.metric.to_string()),
                unit: Some(spec.unit.to_string()),
                baseline: Some(spec.baseline),
                target: Some(spec.target),
                comparator: Some(spec.comparator),
                due_date: Some(due),
                plan: plan(spec, &owner, due),
            };
            let manager = |days, minute| unit.as_person("sms_manager", demo.at(days, minute));
            let minute = i as i64;
            let id = objectives::create(&demo.db, &manager(spec.created, minute), fields)
                .await
                .map_err(failed)?
                .id;
            if spec.state != ObjectiveState::Draft {
                let at = manager(spec.created + 2, minute);
                objectives::transition(&demo.db, &at, &id, None, ObjectiveAction::Activate, None)
                    .await
                    .map_err(failed)?;
            }
            // The owner role's first member records the measurements.
            let recorder = catalog::ROLES
                .iter()
                .find(|r| r.key == spec.owner_role)
                .map_or("sms_manager", |r| r.members[0]);
            for (m, share) in spec.shares.iter().enumerate() {
                let day = spec.first_measurement + catalog::MEASUREMENT_INTERVAL * m as i64;
                let input = MeasurementInput {
                    value: value(spec, *share),
                    measured_at: demo.at(day, minute),
                    note: (m % 4 == 3).then(|| {
                        "Quarter-end figure, checked against the tool's report.".to_string()
                    }),
                };
                let at = unit.as_person(recorder, demo.at(day, 60 + minute));
                objectives::add_measurement(&demo.db, &at, &id, input)
                    .await
                    .map_err(failed)?;
                measurements += 1;
            }
            let end = match spec.state {
                ObjectiveState::Achieved => Some((ObjectiveAction::Close, Some(Outcome::Achieved))),
                ObjectiveState::Missed => Some((ObjectiveAction::Close, Some(Outcome::Missed))),
                ObjectiveState::Cancelled => Some((ObjectiveAction::Cancel, None)),
                ObjectiveState::Draft | ObjectiveState::Active => None,
            };
            if let (Some((action, outcome)), Some(day)) = (end, spec.ended) {
                let at = manager(day, minute);
                objectives::transition(&demo.db, &at, &id, None, action, outcome)
                    .await
                    .map_err(failed)?;
            }
            made.push((spec.key, id));
        }
        count += made.len() as u64;
        demo.units[u].objectives.extend(made);
        demo.unit_done(u + 1);
    }
    Ok(vec![("objectives", count), ("measurements", measurements)])
}
