//! Step `improvements`: each business unit's improvements (clause 10.2), proposed by the
//! SMS manager, approved on their expected benefit, implemented by their owners and
//! evaluated; one rejected. The management review adds one more.

use super::{Demo, Made, StepFuture, catalog, refused};
use crate::domain::improvement::{ImprovementAction, ImprovementFields, StepInput};
use crate::service::improvements;

pub fn run(demo: &mut Demo) -> StepFuture<'_> {
    Box::pin(seed(demo))
}

/// What a step of the catalog brings to the transition.
fn input(step: &catalog::Move<ImprovementAction>) -> StepInput {
    let text = step.text.map(str::to_string);
    let mut input = StepInput::default();
    match step.action {
        ImprovementAction::Approve => input.benefit = text,
        ImprovementAction::Implement => input.implementation = text,
        ImprovementAction::Evaluate => input.evaluation = text,
        ImprovementAction::Reject => input.reason = text,
    }
    input
}

async fn seed(demo: &mut Demo) -> anyhow::Result<Made> {
    let (mut count, mut steps) = (0, 0);
    for u in 0..demo.units.len() {
        let unit = &demo.units[u];
        let mut made = Vec::new();
        for (i, spec) in catalog::IMPROVEMENTS.iter().enumerate() {
            let title = unit.name(spec.title);
            let failed = |e| refused(format!("improvement {title}"), e);
            let minute = i as i64;
            let fields = ImprovementFields {
                title: title.clone(),
                description: spec.description.to_string(),
                source: spec.source,
                benefit: None,
                owner_id: Some(unit.person(spec.owner).id.clone()),
                due_date: Some(demo.date(spec.due)),
                implementation: None,
                evaluation: None,
            };
            let at = unit.as_person(catalog::IMPROVEMENT_MANAGER, demo.at(spec.created, minute));
            let id = improvements::create(&demo.db, &at, fields)
                .await
                .map_err(failed)?
                .id;
            for step in spec.steps {
                let at = unit.as_person(step.by, demo.at(step.day, 60 + minute));
                improvements::transition(&demo.db, &at, &id, None, step.action, input(step))
                    .await
                    .map_err(failed)?;
                steps += 1;
            }
            made.push((spec.key, id));
        }
        count += made.len() as u64;
        demo.units[u].improvements.extend(made);
        demo.unit_done(u + 1);
    }
    Ok(vec![("improvements", count), ("improvement steps", steps)])
}
