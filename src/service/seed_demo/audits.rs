//! Steps `audits` and `audit closure`: each business unit's internal audit programme
//! (clause 9.2): last year's audit (closed once its nonconformities have corrective
//! actions), this year's audit in reporting, and the next one planned; findings of every
//! type, recorded by the audit team.

use chrono::Datelike;

use super::{Demo, Made, StepFuture, catalog, refused};
use crate::domain::audit::{AuditAction, AuditFields, AuditPatch};
use crate::domain::finding::{FindingAction, FindingFields};
use crate::service::{audits, findings};

pub fn run(demo: &mut Demo) -> StepFuture<'_> {
    Box::pin(seed(demo))
}

/// The `audit closure` step, after the corrective actions exist.
pub fn close(demo: &mut Demo) -> StepFuture<'_> {
    Box::pin(close_audits(demo))
}

async fn seed(demo: &mut Demo) -> anyhow::Result<Made> {
    let (mut count, mut found) = (0, 0);
    for u in 0..demo.units.len() {
        let unit = &demo.units[u];
        let (mut audit_ids, mut finding_ids) = (Vec::new(), Vec::new());
        for (i, spec) in catalog::AUDITS.iter().enumerate() {
            let start = demo.date(spec.planned_start);
            let title = unit.name(&spec.title.replace("{year}", &start.year().to_string()));
            let failed = |e| refused(format!("audit {title}"), e);
            let lead = |days, minute| unit.as_person("lead_auditor", demo.at(days, minute));
            let minute = i as i64;
            let fields = AuditFields {
                title: title.clone(),
                kind: catalog::AUDIT_KIND,
                scope_clauses: spec.scope_clauses.iter().map(|c| c.to_string()).collect(),
                scope_process_ids: spec
                    .scope_processes
                    .iter()
                    .map(|p| unit.process(p).to_string())
                    .collect(),
                criteria: Some(catalog::AUDIT_CRITERIA.to_string()),
                planned_start: Some(start),
                planned_end: Some(demo.date(spec.planned_start + spec.days - 1)),
                lead_auditor_id: Some(unit.person("lead_auditor").id.clone()),
                auditor_ids: vec![unit.person("auditor").id.clone()],
                summary: None,
            };
            let id = audits::create(&demo.db, &lead(spec.created, minute), fields)
                .await
                .map_err(failed)?
                .id;
            if spec.started {
                let at = lead(spec.planned_start, minute);
                audits::transition(&demo.db, &at, &id, None, AuditAction::Start)
                    .await
                    .map_err(failed)?;
            }
            for (f, finding) in spec.findings.iter().enumerate() {
                // The lead and the auditor take turns, over the days of the audit.
                let auditor = if f % 2 == 0 {
                    "lead_auditor"
                } else {
                    "auditor"
                };
                let day = spec.planned_start + f as i64 % spec.days;
                let fields = FindingFields {
                    r#type: finding.finding_type,
                    clause: finding.clause.map(str::to_string),
                    process_id: Some(unit.process(finding.process).to_string()),
                    statement: finding.statement.to_string(),
                    evidence: Some(finding.evidence.to_string()),
                };
                let at = unit.as_person(auditor, demo.at(day, 120 + f as i64));
                let created = findings::create(&demo.db, &at, &id, fields)
                    .await
                    .map_err(failed)?;
                if finding.closed {
                    let at = lead(spec.planned_start + spec.days - 1, 300 + f as i64);
                    findings::transition(&demo.db, &at, &created.id, None, FindingAction::Close)
                        .await
                        .map_err(failed)?;
                }
                finding_ids.push((finding.key, created.id));
                found += 1;
            }
            if let Some(day) = spec.reported {
                audits::transition(&demo.db, &lead(day, minute), &id, None, AuditAction::Report)
                    .await
                    .map_err(failed)?;
            }
            if let Some(summary) = spec.summary {
                let patch: AuditPatch =
                    serde_json::from_value(serde_json::json!({ "summary": summary }))
                        .expect("a summary is a valid audit patch");
                let at = lead(spec.reported.unwrap_or(spec.planned_start), 30 + minute);
                audits::update(&demo.db, &at, &id, None, patch)
                    .await
                    .map_err(failed)?;
            }
            audit_ids.push(id);
        }
        count += audit_ids.len() as u64;
        let unit = &mut demo.units[u];
        unit.audits = audit_ids;
        unit.findings.extend(finding_ids);
        demo.unit_done(u + 1);
    }
    Ok(vec![("audits", count), ("findings", found)])
}

async fn close_audits(demo: &mut Demo) -> anyhow::Result<Made> {
    let mut closed = 0;
    for u in 0..demo.units.len() {
        let unit = &demo.units[u];
        for (i, spec) in catalog::AUDITS.iter().enumerate() {
            let Some(day) = spec.closed else { continue };
            let at = unit.as_person("lead_auditor", demo.at(day, i as i64));
            audits::transition(&demo.db, &at, &unit.audits[i], None, AuditAction::Close)
                .await
                .map_err(|e| refused(format!("closing audit {}", unit.audits[i]), e))?;
            closed += 1;
        }
        demo.unit_done(u + 1);
    }
    Ok(vec![("audits closed", closed)])
}
