//! Step `assessments`: each business unit's gap assessments against ISO/IEC 20000-1: last
//! year's baseline, completed with a result for every requirement clause, and this year's
//! follow-up in progress on part of them, better on some clauses and worse on others.

use chrono::Datelike;

use super::catalog::{self, AssessmentSpec};
use super::{Demo, Made, StepFuture, refused};
use crate::domain::assessment::{
    AssessmentAction, AssessmentFields, AssessmentResultInput, ResultStatus, requirement_clauses,
};
use crate::domain::documented_information::is_within;
use crate::service::assessments;

pub fn run(demo: &mut Demo) -> StepFuture<'_> {
    Box::pin(seed(demo))
}

/// The result the assessment gives each requirement clause in its scope, in catalog order.
fn results(spec: &AssessmentSpec) -> Vec<(&'static str, AssessmentResultInput)> {
    requirement_clauses()
        .iter()
        .map(|c| c.clause.as_str())
        .filter(|c| spec.scope.is_empty() || spec.scope.iter().any(|s| is_within(c, s)))
        .map(|clause| {
            let result = match spec.gaps.iter().find(|(c, _, _)| *c == clause) {
                Some((_, status, notes)) => AssessmentResultInput {
                    status: *status,
                    notes: Some(notes.to_string()),
                    evidence: None,
                },
                None => AssessmentResultInput {
                    status: ResultStatus::Met,
                    notes: None,
                    evidence: Some(catalog::MET_EVIDENCE.to_string()),
                },
            };
            (clause, result)
        })
        .collect()
}

async fn seed(demo: &mut Demo) -> anyhow::Result<Made> {
    let plans: Vec<_> = catalog::ASSESSMENTS.iter().map(results).collect();
    let (mut count, mut judged) = (0, 0);
    for u in 0..demo.units.len() {
        let unit = &demo.units[u];
        for (i, (spec, results)) in catalog::ASSESSMENTS.iter().zip(&plans).enumerate() {
            let assessed_on = demo.date(spec.assessed_on);
            let title = unit.name(
                &spec
                    .title
                    .replace("{year}", &assessed_on.year().to_string()),
            );
            let failed = |e| refused(format!("assessment {title}"), e);
            let at = |day, minute| unit.as_person(catalog::ASSESSOR, demo.at(day, minute));
            let fields = AssessmentFields {
                title: title.clone(),
                assessed_on,
                description: Some(spec.description.to_string()),
                scope_note: Some(spec.scope_note.to_string()),
            };
            let id = assessments::create(&demo.db, &at(spec.assessed_on, i as i64), fields)
                .await
                .map_err(failed)?
                .id;
            for (r, (clause, result)) in results.iter().enumerate() {
                let at = at(spec.assessed_on, 60 + r as i64);
                assessments::set_result(&demo.db, &at, (&id, clause), None, result.clone())
                    .await
                    .map_err(failed)?;
                judged += 1;
            }
            if let Some(day) = spec.completed {
                let complete = AssessmentAction::Complete;
                assessments::transition(&demo.db, &at(day, i as i64), &id, None, complete)
                    .await
                    .map_err(failed)?;
            }
            count += 1;
        }
        demo.unit_done(u + 1);
    }
    Ok(vec![("gap assessments", count), ("clause results", judged)])
}
