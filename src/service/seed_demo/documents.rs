//! Step `documents`: each business unit's documented information (clause 7.5), one
//! document or record for each item of the reference list that `GET
//! /documented-information` judges, written by the SMS manager and approved by the SMS
//! owner: most in force and in date, a few overdue for review, being written, replaced or
//! withdrawn, and one item left without any.

use super::catalog::{self, Covers, DocFate, DocSpec};
use super::{Demo, Made, StepFuture, Unit, refused};
use crate::domain::document::{DocumentAction, DocumentFields};
use crate::domain::documented_information::reference_list;
use crate::service::documents;

pub fn run(demo: &mut Demo) -> StepFuture<'_> {
    Box::pin(seed(demo))
}

/// The clause a document serves: its reference-list item's, or its own.
fn clause(spec: &DocSpec) -> &'static str {
    match spec.covers {
        Covers::Clause(clause) => clause,
        Covers::Item(name) => reference_list()
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.clause.as_str())
            .unwrap_or_else(|| panic!("the demo catalog names an unknown item `{name}`")),
    }
}

/// `Service level agreements` → `service-level-agreements`.
fn slug(title: &str) -> String {
    let words: Vec<String> = title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.join("-")
}

/// One version of a document: written on `written`, approved on `approved` (if it is), its
/// review due on `review_due`.
struct Version {
    label: &'static str,
    written: i64,
    approved: Option<i64>,
    review_due: i64,
}

/// Writes a version of a document (and approves it); returns its id.
async fn write(
    demo: &Demo,
    unit: &Unit,
    spec: &DocSpec,
    minute: i64,
    version: Version,
) -> anyhow::Result<String> {
    let title = unit.name(spec.title);
    let failed = |e| refused(format!("document {title}"), e);
    let fields = DocumentFields {
        title: title.clone(),
        kind: spec.kind,
        clauses: vec![clause(spec).to_string()],
        owner_role_id: Some(unit.role(spec.owner_role).to_string()),
        version_label: Some(version.label.to_string()),
        location: Some(format!(
            "{}/bu{}/{}-v{}.pdf",
            catalog::DOCUMENT_STORE,
            unit.number,
            slug(spec.title),
            version.label
        )),
        review_due: Some(demo.date(version.review_due)),
    };
    let at = |day| unit.as_person(catalog::DOCUMENT_AUTHOR, demo.at(day, minute));
    let id = documents::create(&demo.db, &at(version.written), fields)
        .await
        .map_err(failed)?
        .id;
    if let Some(day) = version.approved {
        let at = unit.as_person(catalog::DOCUMENT_APPROVER, demo.at(day, 60 + minute));
        documents::transition(&demo.db, &at, &id, None, DocumentAction::Approve)
            .await
            .map_err(failed)?;
    }
    Ok(id)
}

async fn withdraw(demo: &Demo, unit: &Unit, id: &str, minute: i64) -> anyhow::Result<()> {
    let at = unit.as_person(
        catalog::DOCUMENT_APPROVER,
        demo.at(catalog::DOCUMENTS_WITHDRAWN, minute),
    );
    documents::transition(&demo.db, &at, id, None, DocumentAction::Withdraw)
        .await
        .map_err(|e| refused(format!("withdrawing document {id}"), e))?;
    Ok(())
}

async fn seed(demo: &mut Demo) -> anyhow::Result<Made> {
    let (mut count, mut approved) = (0, 0);
    for u in 0..demo.units.len() {
        let unit = &demo.units[u];
        for (i, spec) in catalog::DOCUMENTS.iter().enumerate() {
            let written = catalog::DOCUMENTS_FROM + 3 * i as i64;
            let minute = i as i64;
            let first = Version {
                label: "1.0",
                written,
                approved: Some(written + catalog::DOCUMENT_APPROVAL),
                // Reviews fall due across the coming year.
                review_due: 40 + 8 * i as i64,
            };
            let first = match spec.fate {
                DocFate::Missing => continue,
                DocFate::Draft => Version {
                    approved: None,
                    ..first
                },
                DocFate::Overdue(days) => Version {
                    review_due: -days,
                    ..first
                },
                DocFate::Current | DocFate::Replaced | DocFate::Withdrawn => first,
            };
            approved += u64::from(first.approved.is_some());
            let id = write(demo, unit, spec, minute, first).await?;
            count += 1;
            if spec.fate == DocFate::Replaced {
                let second = Version {
                    label: "2.0",
                    written: catalog::DOCUMENTS_WITHDRAWN - catalog::DOCUMENT_APPROVAL,
                    approved: Some(catalog::DOCUMENTS_WITHDRAWN),
                    review_due: catalog::DOCUMENTS_WITHDRAWN + 365,
                };
                write(demo, unit, spec, minute, second).await?;
                count += 1;
                approved += 1;
            }
            if matches!(spec.fate, DocFate::Replaced | DocFate::Withdrawn) {
                withdraw(demo, unit, &id, 90 + minute).await?;
                approved -= 1;
            }
        }
        demo.unit_done(u + 1);
    }
    Ok(vec![("documents", count), ("documents in force", approved)])
}
