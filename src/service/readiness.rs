//! The certification readiness report: the records of every kind, read once each, judged
//! by the rules of `domain::readiness`.

use sea_orm::DatabaseConnection;

use super::Caller;
use crate::domain::clause;
use crate::domain::readiness::{self, Readiness, SmsFacts};
use crate::error::Result;
use crate::persistence::readiness::{self as stored, Facts};

pub async fn report(db: &DatabaseConnection, caller: &Caller) -> Result<Readiness> {
    caller.ensure_reads_sms()?;
    let today = caller.now.date_naive();
    let mut facts = Facts::new();
    stored::add_active_processes(db, &mut facts).await?;
    stored::add_last_audited(db, &mut facts).await?;
    stored::add_open_nonconformities(db, &mut facts).await?;
    stored::add_overdue_corrective_actions(db, today, &mut facts).await?;
    let sms = SmsFacts::default();
    Ok(readiness::assess(
        clause::catalog(),
        &facts,
        &sms,
        caller.now,
    ))
}
