//! Audit findings (clause 9.2): recorded by the audit's team while the audit is under way.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};
use serde::Serialize;
use utoipa::ToSchema;

use super::audits::relation;
use super::{Caller, begin_write, read_snapshot, write};
use crate::domain::DomainError;
use crate::domain::access::AccessRole;
use crate::domain::audit::Audit as AuditRules;
use crate::domain::finding::{
    self, FindingAction, FindingFields, FindingPatch, FindingState, WORKFLOW,
};
use crate::domain::workflow::{Relation, allowed_actions, decide};
use crate::error::Result;
use crate::persistence::audits::{self as audits, StoredAudit};
use crate::persistence::entities::{audit as audit_row, process};
use crate::persistence::findings::{self as stored, FindingFilter, StoredFinding};
use crate::persistence::page::{Page, PageRequest};
use crate::persistence::{Aggregate, existing_ids};

/// A finding as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Finding {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub audit_id: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub fields: FindingFields,
    pub state: FindingState,
    /// The auditor who recorded it.
    pub recorded_by: Option<String>,
    /// What the calling user may do now (`POST /findings/{id}/transitions`).
    pub allowed_actions: Vec<FindingAction>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn finding_relation(audit: &AuditRules, caller: &Caller) -> Relation<FindingAction> {
    Relation {
        is_assignee: relation(audit, caller).is_assignee,
        performed: Vec::new(),
    }
}

fn view(s: StoredFinding, audit: &AuditRules, caller: &Caller) -> Finding {
    Finding {
        allowed_actions: allowed_actions(
            WORKFLOW,
            s.state,
            &caller.principal,
            &finding_relation(audit, caller),
        ),
        fields: s.fields(),
        id: s.id,
        audit_id: s.audit_id,
        state: s.state,
        recorded_by: s.recorded_by,
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

/// Findings with their audits' teams: the audits of a page in a fixed number of queries.
async fn views<C: ConnectionTrait>(
    conn: &C,
    findings: Vec<StoredFinding>,
    caller: &Caller,
) -> Result<Vec<Finding>> {
    let mut ids: Vec<String> = findings.iter().map(|f| f.audit_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let audits: HashMap<String, AuditRules> = audits::load_many(conn, ids)
        .await?
        .into_iter()
        .map(|a| (a.id, a.audit))
        .collect();
    findings
        .into_iter()
        .map(|f| {
            let audit = audits
                .get(&f.audit_id)
                .ok_or(DomainError::NotFound("audit"))?;
            Ok(view(f, audit, caller))
        })
        .collect()
}

/// Only the audit's lead auditor or auditors (holding `auditor`) record and change findings.
fn ensure_recorder(audit: &AuditRules, caller: &Caller) -> Result<(), DomainError> {
    caller.ensure(
        audit.on_team(caller.user_id()) && caller.principal.has(AccessRole::Auditor),
        "record findings of an audit you are not an auditor of",
    )
}

async fn ensure_process_exists<C: ConnectionTrait>(conn: &C, fields: &FindingFields) -> Result<()> {
    let Some(id) = &fields.process_id else {
        return Ok(());
    };
    if existing_ids::<process::Entity, _>(conn, &[id])
        .await?
        .is_empty()
    {
        return Err(
            DomainError::invalid("process_id", "must be the id of an existing process").into(),
        );
    }
    Ok(())
}

async fn locked_audit(tx: &DatabaseTransaction, id: &str) -> Result<StoredAudit> {
    Ok(audits::lock(tx, id)
        .await?
        .ok_or(DomainError::NotFound("audit"))?)
}

/// Records a finding of an audit that is `in_progress` or `reporting`.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    audit_id: &str,
    fields: FindingFields,
) -> Result<Finding> {
    caller.ensure(caller.principal.has(AccessRole::Auditor), "record findings")?;
    let fields = finding::validate(fields)?;
    let mut audit = None;
    let created = write::create::<StoredFinding>(db, caller, async |tx, id| {
        let found = locked_audit(tx, audit_id).await?;
        ensure_recorder(&found.audit, caller)?;
        finding::ensure_recordable(found.audit.state)?;
        ensure_process_exists(tx, &fields).await?;
        audit = Some(found.audit);
        stored::insert(tx, id, audit_id, &fields, caller.user_id(), caller.now).await
    })
    .await?;
    let audit = audit.expect("the audit was loaded to record the finding");
    Ok(view(created, &audit, caller))
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<Finding> {
    caller.ensure_reads_sms()?;
    read_snapshot(db, async |tx| {
        let found = StoredFinding::load(tx, id)
            .await?
            .ok_or(DomainError::NotFound("finding"))?;
        Ok(views(tx, vec![found], caller)
            .await?
            .pop()
            .expect("one finding in, one out"))
    })
    .await
}

/// The finding and its audit, the audit locked: changes to findings wait for a transition
/// of their audit, and the other way round.
async fn with_audit(tx: &DatabaseTransaction, id: &str) -> Result<(StoredFinding, StoredAudit)> {
    let finding = StoredFinding::load(tx, id)
        .await?
        .ok_or(DomainError::NotFound("finding"))?;
    let audit = locked_audit(tx, &finding.audit_id).await?;
    Ok((finding, audit))
}

/// Changes a finding with a merge patch: its recorders, while the audit is under way.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    patch: FindingPatch,
) -> Result<Finding> {
    caller.ensure(caller.principal.has(AccessRole::Auditor), "change findings")?;
    let tx = begin_write(db).await?;
    let (current, audit) = with_audit(&tx, id).await?;
    let (changed, wrote) = write::modify_in::<StoredFinding, _>(
        &tx,
        caller,
        (id, expected_version.or(Some(current.version))),
        "update",
        |before| {
            ensure_recorder(&audit.audit, caller)?;
            finding::ensure_recordable(audit.audit.state)?;
            let fields = finding::validate(patch.apply_to(before.fields()))?;
            Ok((fields != before.fields()).then_some(fields))
        },
        async |tx, fields| {
            ensure_process_exists(tx, &fields).await?;
            stored::update(tx, id, &fields).await
        },
    )
    .await?;
    if wrote {
        tx.commit().await?;
    }
    Ok(view(changed, &audit.audit, caller))
}

/// Closes an observation or opportunity for improvement (the audit's team).
pub async fn transition(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    action: FindingAction,
) -> Result<Finding> {
    caller.ensure_reads_sms()?;
    let tx = begin_write(db).await?;
    let (current, audit) = with_audit(&tx, id).await?;
    let (changed, _) = write::modify_in::<StoredFinding, _>(
        &tx,
        caller,
        (id, expected_version.or(Some(current.version))),
        action.as_str(),
        |before| {
            let to = decide(
                WORKFLOW,
                before.state,
                action,
                &caller.principal,
                &finding_relation(&audit.audit, caller),
                &before.finding_type,
            )?;
            Ok(Some(to))
        },
        async |tx, to| stored::set_state(tx, id, to).await,
    )
    .await?;
    tx.commit().await?;
    Ok(view(changed, &audit.audit, caller))
}

/// Findings, of one audit or of all.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: FindingFilter,
    request: &PageRequest,
) -> Result<Page<Finding>> {
    caller.ensure_reads_sms()?;
    read_snapshot(db, async |tx| {
        let page = stored::list(tx, filter, request).await?;
        Ok(Page {
            items: views(tx, page.items, caller).await?,
            next_cursor: page.next_cursor,
            total: page.total,
        })
    })
    .await
}

/// The findings of one audit (404 when there is no such audit).
pub async fn list_for_audit(
    db: &DatabaseConnection,
    caller: &Caller,
    audit_id: &str,
    mut filter: FindingFilter,
    request: &PageRequest,
) -> Result<Page<Finding>> {
    caller.ensure_reads_sms()?;
    if existing_ids::<audit_row::Entity, _>(db, &[audit_id])
        .await?
        .is_empty()
    {
        return Err(DomainError::NotFound("audit").into());
    }
    filter.audit_id = Some(audit_id.to_string());
    list(db, caller, filter, request).await
}
