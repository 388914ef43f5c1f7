//! The certification readiness report: the records of every kind, read once each, judged
//! by the rules of `domain::readiness`.

use sea_orm::DatabaseConnection;

use super::Caller;
use crate::domain::clause;
use crate::domain::documented_information::{assess, covering_clauses};
use crate::domain::readiness::{
    self, ExpectedDocument, Readiness, RecordKind, RecordRef, Reviewed, SmsFacts,
};
use crate::error::Result;
use crate::persistence::documents::{StoredDocument, approved_under};
use crate::persistence::readiness::{self as stored, Facts};

pub async fn report(db: &DatabaseConnection, caller: &Caller) -> Result<Readiness> {
    caller.ensure_reads_sms()?;
    let today = caller.now.date_naive();
    let mut facts = Facts::new();
    stored::add_active_processes(db, &mut facts).await?;
    stored::add_last_audited(db, &mut facts).await?;
    stored::add_open_nonconformities(db, &mut facts).await?;
    stored::add_overdue_corrective_actions(db, today, &mut facts).await?;
    let approved = approved_under(db, &covering_clauses()).await?;
    for item in assess(&approved, |s| &s.document, today) {
        facts
            .entry(item.item.clause.clone())
            .or_default()
            .expected_documents
            .push(ExpectedDocument {
                name: item.item.name.clone(),
                current: item.current.into_iter().map(document_ref).collect(),
                overdue: item
                    .overdue
                    .into_iter()
                    .map(|d| Reviewed {
                        record: document_ref(d),
                        review_due: d.document.fields.review_due,
                    })
                    .collect(),
            });
    }
    let sms = SmsFacts {
        last_management_review: stored::last_management_review(db).await?,
        latest_assessment: stored::latest_assessment(db, &mut facts).await?,
    };
    Ok(readiness::assess(
        clause::catalog(),
        &facts,
        &sms,
        caller.now,
    ))
}

fn document_ref(d: &StoredDocument) -> RecordRef {
    RecordRef::new(
        RecordKind::Document,
        d.id.clone(),
        d.document.fields.title.clone(),
    )
}
