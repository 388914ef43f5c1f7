//! Step `management reviews`: each business unit's management reviews (clause 9.3): one
//! held four months ago, with every input considered, its decisions, a corrective action
//! and an improvement it decided, and its record approved by the SMS owner; the next one
//! planned.

use chrono::Datelike;

use super::catalog::{self, HeldSpec};
use super::{Demo, Made, StepFuture, Unit, refused};
use crate::domain::management_review::{
    CorrectiveActionKind, ImprovementKind, ManagementReviewAction, ManagementReviewFields,
    ManagementReviewPatch, NewReviewAction, ReviewCorrectiveAction, ReviewImprovement,
    ReviewInputs,
};
use crate::service::management_reviews;

pub fn run(demo: &mut Demo) -> StepFuture<'_> {
    Box::pin(seed(demo))
}

fn inputs(held: &HeldSpec) -> ReviewInputs {
    let [a, b, c, d, e, f, g, h, i, j] = held.inputs.map(|t| Some(t.to_string()));
    ReviewInputs {
        previous_actions_status: a,
        changes_in_context: b,
        sms_performance: c,
        objectives: d,
        nonconformity_and_audit_trends: e,
        service_and_supplier_performance: f,
        feedback: g,
        resources: h,
        risks: i,
        improvement_opportunities: j,
    }
}

/// What the review records on the day it is held.
fn record(demo: &Demo, held: &HeldSpec) -> ManagementReviewPatch {
    serde_json::from_value(serde_json::json!({
        "held_on": demo.date(held.on),
        "inputs": inputs(held),
        "decisions": held.decisions,
        "minutes_location": held.minutes,
    }))
    .expect("a held review is a valid patch")
}

/// The corrective action and the improvement the review decided.
fn actions(demo: &Demo, unit: &Unit, held: &HeldSpec) -> [NewReviewAction; 2] {
    let (ca, improvement) = (&held.corrective_action, &held.improvement);
    [
        NewReviewAction::CorrectiveAction(ReviewCorrectiveAction {
            kind: CorrectiveActionKind::CorrectiveAction,
            title: unit.name(ca.title),
            nonconformity: ca.nonconformity.to_string(),
            clause: Some(ca.clause.to_string()),
            process_id: Some(unit.process(ca.process).to_string()),
            owner_id: Some(unit.person(ca.owner).id.clone()),
            due_date: Some(demo.date(ca.due)),
        }),
        NewReviewAction::Improvement(ReviewImprovement {
            kind: ImprovementKind::Improvement,
            title: unit.name(improvement.title),
            description: improvement.description.to_string(),
            benefit: Some(improvement.benefit.to_string()),
            owner_id: Some(unit.person(improvement.owner).id.clone()),
            due_date: Some(demo.date(improvement.due)),
        }),
    ]
}

async fn seed(demo: &mut Demo) -> anyhow::Result<Made> {
    let (mut count, mut held_count, mut decided) = (0, 0, 0);
    for u in 0..demo.units.len() {
        let unit = &demo.units[u];
        for (i, spec) in catalog::MANAGEMENT_REVIEWS.iter().enumerate() {
            let planned_for = demo.date(spec.planned_for);
            let year = planned_for.year().to_string();
            let title = unit.name(&spec.title.replace("{year}", &year));
            let failed = |e| refused(format!("management review {title}"), e);
            let minute = i as i64;
            let at = |who, day, minute| unit.as_person(who, demo.at(day, minute));
            let fields = ManagementReviewFields {
                title: title.clone(),
                planned_for: Some(planned_for),
                held_on: None,
                attendee_ids: spec
                    .attendees
                    .iter()
                    .map(|p| unit.person(p).id.clone())
                    .collect(),
                inputs: ReviewInputs::default(),
                decisions: Vec::new(),
                minutes_location: None,
            };
            let secretary = at(catalog::REVIEW_SECRETARY, spec.created, minute);
            let id = management_reviews::create(&demo.db, &secretary, fields)
                .await
                .map_err(failed)?
                .id;
            count += 1;
            let Some(held) = &spec.held else { continue };
            let secretary = at(catalog::REVIEW_SECRETARY, held.on, 60 + minute);
            management_reviews::update(&demo.db, &secretary, &id, None, record(demo, held))
                .await
                .map_err(failed)?;
            let chair = at(catalog::REVIEW_CHAIR, held.on, 90 + minute);
            management_reviews::transition(
                &demo.db,
                &chair,
                &id,
                None,
                ManagementReviewAction::Hold,
            )
            .await
            .map_err(failed)?;
            for action in actions(demo, unit, held) {
                let secretary = at(catalog::REVIEW_SECRETARY, held.on + 1, minute);
                management_reviews::add_action(&demo.db, &secretary, &id, action)
                    .await
                    .map_err(failed)?;
                decided += 1;
            }
            let chair = at(catalog::REVIEW_CHAIR, held.approved, minute);
            let approve = ManagementReviewAction::Approve;
            management_reviews::transition(&demo.db, &chair, &id, None, approve)
                .await
                .map_err(failed)?;
            held_count += 1;
        }
        demo.unit_done(u + 1);
    }
    Ok(vec![
        ("management reviews", count),
        ("management reviews held", held_count),
        ("actions decided", decided),
    ])
}
