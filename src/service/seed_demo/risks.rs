//! Step `risks`: each business unit's risks and opportunities (clause 6.1), rated, owned by
//! an SMS role and taken through treat–accept–close by the SMS manager and the SMS owner;
//! one treated through a corrective action, one through an improvement.

use super::{Demo, Made, StepFuture, catalog, refused};
use crate::domain::risk::{RiskFields, StepInput};
use crate::service::risks;

pub fn run(demo: &mut Demo) -> StepFuture<'_> {
    Box::pin(seed(demo))
}

async fn seed(demo: &mut Demo) -> anyhow::Result<Made> {
    let (mut count, mut steps) = (0, 0);
    for u in 0..demo.units.len() {
        let unit = &demo.units[u];
        for (i, spec) in catalog::RISKS.iter().enumerate() {
            let title = unit.name(spec.title);
            let failed = |e| refused(format!("risk {title}"), e);
            let minute = i as i64;
            let fields = RiskFields {
                title: title.clone(),
                kind: spec.kind,
                description: Some(spec.description.to_string()),
                likelihood: spec.likelihood,
                impact: spec.impact,
                treatment: spec.treatment.map(str::to_string),
                owner_role_id: Some(unit.role(spec.owner_role).to_string()),
                process_id: spec.process.map(|p| unit.process(p).to_string()),
                review_due: Some(demo.date(spec.review_due)),
                corrective_action_id: spec
                    .corrective_action
                    .map(|t| unit.corrective_action(t).to_string()),
                improvement_id: spec.improvement.map(|k| unit.improvement(k).to_string()),
            };
            let at = unit.as_person(catalog::RISK_MANAGER, demo.at(spec.created, minute));
            let id = risks::create(&demo.db, &at, fields)
                .await
                .map_err(failed)?
                .id;
            for step in spec.steps {
                let at = unit.as_person(step.by, demo.at(step.day, 60 + minute));
                let input = StepInput {
                    acceptance_rationale: step.text.map(str::to_string),
                    ..StepInput::default()
                };
                risks::transition(&demo.db, &at, &id, None, step.action, input)
                    .await
                    .map_err(failed)?;
                steps += 1;
            }
            count += 1;
        }
        demo.unit_done(u + 1);
    }
    Ok(vec![
        ("risks and opportunities", count),
        ("risk steps", steps),
    ])
}
