//! Audits (clause 9.2): the audit programme, each audit's workflow, and the coverage of the
//! clauses and processes by internal audits.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Caller, begin_write, read_snapshot, write};
use crate::domain::DomainError;
use crate::domain::access::AccessRole;
use crate::domain::audit::{
    self, AuditAction, AuditFacts, AuditFields, AuditPatch, AuditState, WORKFLOW,
};
use crate::domain::clause;
use crate::domain::validation::FieldError;
use crate::domain::workflow::{Relation, allowed_actions, decide};
use crate::error::Result;
use crate::persistence::audits::{self as stored, AuditFilter, FindingCounts, StoredAudit};
use crate::persistence::entities::process;
use crate::persistence::page::{Page, PageRequest};
use crate::persistence::{Aggregate, existing_ids};

/// An audit as the API shows it: what is stored, what its findings add up to, and what the
/// caller may do with it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Audit {
    #[schema(format = Uuid)]
    pub id: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub fields: AuditFields,
    pub state: AuditState,
    /// When the audit was started (`start`).
    pub started_at: Option<DateTime<Utc>>,
    /// When the audit was closed (`close`).
    pub closed_at: Option<DateTime<Utc>>,
    /// Findings recorded (computed).
    pub findings_count: u64,
    /// Nonconformity findings still open (computed).
    pub open_nonconformities: u64,
    /// What the calling user may do now (`POST /audits/{id}/transitions`).
    pub allowed_actions: Vec<AuditAction>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The caller's relation to the audit: on its team or not.
pub fn relation(audit: &audit::Audit, caller: &Caller) -> Relation<AuditAction> {
    Relation {
        is_assignee: audit.on_team(caller.user_id()),
        performed: Vec::new(),
    }
}

fn view(s: StoredAudit, counts: FindingCounts, caller: &Caller) -> Audit {
    Audit {
        allowed_actions: allowed_actions(
            WORKFLOW,
            s.audit.state,
            &caller.principal,
            &relation(&s.audit, caller),
        ),
        id: s.id,
        fields: s.audit.fields,
        state: s.audit.state,
        started_at: s.started_at,
        closed_at: s.closed_at,
        findings_count: counts.findings,
        open_nonconformities: counts.open_nonconformities,
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

async fn views<C: ConnectionTrait>(
    conn: &C,
    audits: Vec<StoredAudit>,
    caller: &Caller,
) -> Result<Vec<Audit>> {
    let ids: Vec<String> = audits.iter().map(|a| a.id.clone()).collect();
    let mut counts = stored::finding_counts(conn, &ids).await?;
    Ok(audits
        .into_iter()
        .map(|a| {
            let c = counts.remove(&a.id).unwrap_or_default();
            view(a, c, caller)
        })
        .collect())
}

async fn view_one<C: ConnectionTrait>(
    conn: &C,
    audit: StoredAudit,
    caller: &Caller,
) -> Result<Audit> {
    Ok(views(conn, vec![audit], caller)
        .await?
        .pop()
        .expect("one audit in, one out"))
}

fn ensure_auditor(caller: &Caller, what: &str) -> Result<(), DomainError> {
    caller.ensure(caller.principal.has(AccessRole::Auditor), what)
}

/// What is wrong with the audit's team: members who are not active auditors, and members
/// who own a process in scope (impartiality).
async fn team_problems<C: ConnectionTrait>(
    conn: &C,
    audit: &audit::Audit,
) -> Result<Vec<FieldError>> {
    let team = audit.team();
    let ids: Vec<&str> = team.iter().map(|(_, id)| *id).collect();
    let eligible = stored::active_auditors(conn, &ids).await?;
    let mut errors: Vec<FieldError> = team
        .iter()
        .filter(|(_, id)| !eligible.contains(*id))
        .map(|(field, _)| {
            FieldError::new(
                field.clone(),
                "must be an active user holding the auditor access role",
            )
        })
        .collect();
    let conflicts =
        stored::ownership_conflicts(conn, &ids, &audit.fields.scope_process_ids).await?;
    errors.extend(audit::impartiality_errors(audit, &conflicts));
    Ok(errors)
}

/// The processes in scope exist, and the team is eligible and impartial.
async fn check_references<C: ConnectionTrait>(conn: &C, audit: &audit::Audit) -> Result<()> {
    let scope: Vec<&str> = audit
        .fields
        .scope_process_ids
        .iter()
        .map(String::as_str)
        .collect();
    let found = existing_ids::<process::Entity, _>(conn, &scope).await?;
    let mut errors: Vec<FieldError> = scope
        .iter()
        .enumerate()
        .filter(|(_, id)| !found.contains(**id))
        .map(|(i, _)| {
            FieldError::new(
                format!("scope_process_ids[{i}]"),
                "must be the id of an existing process",
            )
        })
        .collect();
    errors.extend(team_problems(conn, audit).await?);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errors).into())
    }
}

/// Plan an audit (auditor).
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    fields: AuditFields,
) -> Result<Audit> {
    ensure_auditor(caller, "plan audits")?;
    let fields = audit::validate(fields)?;
    let planned = audit::Audit {
        fields,
        state: AuditState::Planned,
    };
    let created = write::create::<StoredAudit>(db, caller, async |tx, id| {
        check_references(tx, &planned).await?;
        stored::insert(tx, id, &planned.fields, caller.now).await
    })
    .await?;
    view_one(db, created, caller).await
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<Audit> {
    caller.ensure_reads_sms()?;
    read_snapshot(db, async |tx| {
        let found = StoredAudit::load(tx, id)
            .await?
            .ok_or(DomainError::NotFound("audit"))?;
        view_one(tx, found, caller).await
    })
    .await
}

/// Applies a merge patch (the audit's team, or any auditor while nobody is assigned; admins).
/// A changed scope or team is checked again for eligibility and impartiality.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    patch: AuditPatch,
) -> Result<Audit> {
    ensure_auditor(caller, "change audits")?;
    let changed = write::modify::<StoredAudit, _>(
        db,
        caller,
        (id, expected_version),
        "update",
        |before| {
            caller.ensure(
                audit::may_manage(&before.audit, &caller.principal),
                "change an audit you are not on",
            )?;
            let fields = audit::validate(patch.apply_to(before.audit.fields.clone()))?;
            if fields == before.audit.fields {
                return Ok(None);
            }
            let old = &before.audit.fields;
            let recheck = fields.scope_process_ids != old.scope_process_ids
                || fields.lead_auditor_id != old.lead_auditor_id
                || fields.auditor_ids != old.auditor_ids;
            let edited = StoredAudit {
                audit: audit::Audit {
                    fields,
                    state: before.audit.state,
                },
                ..before.clone()
            };
            audit::check_edit(&edited.audit)?;
            Ok(Some((edited, recheck)))
        },
        async |tx, (edited, recheck)| {
            if recheck {
                check_references(tx, &edited.audit).await?;
            }
            stored::update(tx, &edited).await
        },
    )
    .await?;
    view_one(db, changed, caller).await
}

/// Deletes a planned audit (its team, or any auditor while nobody is assigned; admins).
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
) -> Result<()> {
    ensure_auditor(caller, "delete audits")?;
    write::remove::<StoredAudit>(db, caller, (id, expected_version), async |_, a| {
        caller.ensure(
            audit::may_manage(&a.audit, &caller.principal),
            "delete an audit you are not on",
        )?;
        Ok(audit::ensure_deletable(a.audit.state)?)
    })
    .await
}

/// Moves an audit through its workflow. The audit row is locked first, so a finding cannot
/// be recorded between counting the nonconformities and closing.
pub async fn transition(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    action: AuditAction,
) -> Result<Audit> {
    caller.ensure_reads_sms()?;
    let tx = begin_write(db).await?;
    let current = stored::lock(&tx, id)
        .await?
        .ok_or(DomainError::NotFound("audit"))?;
    let nonconformities_without_action = match action {
        AuditAction::Close => stored::nonconformities_without_action(&tx, id).await?,
        _ => 0,
    };
    let team_problems = match action {
        AuditAction::Start => team_problems(&tx, &current.audit).await?,
        _ => Vec::new(),
    };
    let version = expected_version.or(Some(current.version));
    let (changed, wrote) = write::modify_in::<StoredAudit, _>(
        &tx,
        caller,
        (id, version),
        action.as_str(),
        |before| {
            let facts = AuditFacts {
                audit: before.audit.clone(),
                nonconformities_without_action,
            };
            let to = decide(
                WORKFLOW,
                before.audit.state,
                action,
                &caller.principal,
                &relation(&before.audit, caller),
                &facts,
            )?;
            // Impartiality is checked again at the start: SMS roles may have changed hands.
            if !team_problems.is_empty() {
                return Err(DomainError::PreconditionMissing(team_problems).into());
            }
            let mut after = before.clone();
            after.audit.state = to;
            match to {
                AuditState::InProgress => after.started_at = Some(caller.now),
                AuditState::Closed => after.closed_at = Some(caller.now),
                _ => {}
            }
            Ok(Some(after))
        },
        async |tx, after| stored::update(tx, &after).await,
    )
    .await?;
    let shown = view_one(&tx, changed, caller).await?;
    if wrote {
        tx.commit().await?;
    }
    Ok(shown)
}

/// The audit programme: audits whose planned period overlaps `[from, to]`, and other filters.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: AuditFilter,
    request: &PageRequest,
) -> Result<Page<Audit>> {
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

/// A clause and when a closed internal audit last covered it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClauseCoverage {
    #[schema(value_type = clause::ClauseNumber)]
    pub clause: String,
    pub title: String,
    /// `closed_at` of the last closed internal audit with this clause (or a parent clause)
    /// in scope; null when never covered.
    pub last_covered_at: Option<DateTime<Utc>>,
}

/// A process and when a closed internal audit last covered it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProcessCoverage {
    #[schema(format = Uuid)]
    pub process_id: String,
    pub code: String,
    pub name: String,
    /// `closed_at` of the last closed internal audit with this process in scope; null when
    /// never covered.
    pub last_covered_at: Option<DateTime<Utc>>,
}

/// Audit coverage: per clause of the catalog and per process, when internal audits last
/// covered it, and what they never covered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditCoverage {
    pub clauses: Vec<ClauseCoverage>,
    pub processes: Vec<ProcessCoverage>,
    /// Clauses no closed internal audit has covered.
    #[schema(value_type = Vec<clause::ClauseNumber>)]
    pub uncovered_clauses: Vec<String>,
    /// Processes no closed internal audit has covered.
    pub uncovered_process_ids: Vec<String>,
}

/// The coverage report, in two queries whatever the number of audits.
pub async fn coverage(db: &DatabaseConnection, caller: &Caller) -> Result<AuditCoverage> {
    caller.ensure_reads_sms()?;
    let by_scope = stored::clauses_last_covered(db).await?;
    let catalog = clause::catalog();
    let parents: HashMap<&str, Option<&str>> = catalog
        .iter()
        .map(|c| (c.clause.as_str(), c.parent.as_deref()))
        .collect();
    let clauses: Vec<ClauseCoverage> = catalog
        .iter()
        .map(|c| {
            // Auditing a clause audits its sub-clauses: take the latest along the ancestors.
            let mut last = None;
            let mut at = Some(c.clause.as_str());
            while let Some(number) = at {
                last = Ord::max(last, by_scope.get(number).copied());
                at = parents.get(number).copied().flatten();
            }
            ClauseCoverage {
                clause: c.clause.clone(),
                title: c.title.clone(),
                last_covered_at: last,
            }
        })
        .collect();
    let processes: Vec<ProcessCoverage> = stored::processes_last_covered(db)
        .await?
        .into_iter()
        .map(|(p, last)| ProcessCoverage {
            process_id: p.id,
            code: p.code,
            name: p.name,
            last_covered_at: last,
        })
        .collect();
    Ok(AuditCoverage {
        uncovered_clauses: clauses
            .iter()
            .filter(|c| c.last_covered_at.is_none())
            .map(|c| c.clause.clone())
            .collect(),
        uncovered_process_ids: processes
            .iter()
            .filter(|p| p.last_covered_at.is_none())
            .map(|p| p.process_id.clone())
            .collect(),
        clauses,
        processes,
    })
}
