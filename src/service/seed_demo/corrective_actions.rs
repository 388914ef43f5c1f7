//! Step `corrective actions`: each business unit's corrective actions (clause 10.1) from
//! audit findings, incidents, complaints, monitoring and the management review, taken
//! through their workflow by their owners, auditors and the SMS manager: every state, one
//! verified ineffective and implemented again, some overdue.

use super::{Demo, Made, StepFuture, catalog, refused};
use crate::domain::corrective_action::{CorrectiveActionAction, CorrectiveActionFields, StepInput};
use crate::service::corrective_actions;

pub fn run(demo: &mut Demo) -> StepFuture<'_> {
    Box::pin(seed(demo))
}

/// What a step of the catalog brings to the transition.
fn input(step: &catalog::CaStep) -> StepInput {
    use CorrectiveActionAction::*;
    let text = |i: usize| step.texts.get(i).map(|t| t.to_string());
    let mut input = StepInput::default();
    match step.action {
        Investigate => input.correction = text(0),
        Plan => {
            input.root_cause = text(0);
            input.action_plan = text(1);
            input.similar_nonconformities = text(2);
        }
        Implement => input.implementation = text(0),
        Verify => {
            input.effectiveness_review = text(0);
            input.effective = step.effective;
        }
        Close => {}
        Cancel => input.reason = text(0),
    }
    input
}

async fn seed(demo: &mut Demo) -> anyhow::Result<Made> {
    let (mut count, mut steps) = (0, 0);
    for u in 0..demo.units.len() {
        let unit = &demo.units[u];
        let mut made = Vec::new();
        for (i, spec) in catalog::CORRECTIVE_ACTIONS.iter().enumerate() {
            let title = unit.name(spec.title);
            let failed = |e| refused(format!("corrective action {title}"), e);
            let minute = i as i64;
            let fields = CorrectiveActionFields {
                title: title.clone(),
                nonconformity: spec.nonconformity.to_string(),
                source: spec.source,
                finding_id: spec.finding.map(|f| {
                    unit.findings
                        .get(f)
                        .unwrap_or_else(|| {
                            panic!("the demo catalog names an unknown finding `{f}`")
                        })
                        .clone()
                }),
                clause: spec.clause.map(str::to_string),
                process_id: spec.process.map(|p| unit.process(p).to_string()),
                owner_id: Some(unit.person(spec.owner).id.clone()),
                due_date: Some(demo.date(spec.due)),
                correction: None,
                root_cause: None,
                similar_nonconformities: None,
                action_plan: None,
                implementation: None,
                effectiveness_review: None,
            };
            let at = unit.as_person(catalog::CA_CREATOR, demo.at(spec.created, minute));
            let id = corrective_actions::create(&demo.db, &at, fields)
                .await
                .map_err(failed)?
                .id;
            for step in spec.steps {
                let at = unit.as_person(step.by, demo.at(step.day, 60 + minute));
                corrective_actions::transition(&demo.db, &at, &id, None, step.action, input(step))
                    .await
                    .map_err(failed)?;
                steps += 1;
            }
            made.push(id);
        }
        count += made.len() as u64;
        demo.units[u].corrective_actions.extend(made);
        demo.unit_done(u + 1);
    }
    Ok(vec![
        ("corrective actions", count),
        ("workflow steps", steps),
    ])
}
