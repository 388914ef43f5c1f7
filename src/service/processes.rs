//! Processes (clauses 4.4, 8): definition, RACI and the approval workflow.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use utoipa::ToSchema;

use super::objectives::{Kpi, kpis_of_processes};
use super::{Caller, read_snapshot, write};
use crate::domain::DomainError;
use crate::domain::process::{
    self, ProcessAction, ProcessFields, ProcessPatch, ProcessState, RaciAssignment, WORKFLOW,
};
use crate::domain::workflow::{Relation, allowed_actions, decide};
use crate::error::Result;
use crate::persistence::entities::sms_role;
use crate::persistence::existing_ids;
use crate::persistence::page::{Page, PageRequest};
use crate::persistence::processes::{self as stored, ProcessFilter, StoredProcess};

/// A process as the API shows it: what is stored, and what the caller may do with it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Process {
    #[schema(format = Uuid)]
    pub id: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub fields: ProcessFields,
    pub state: ProcessState,
    pub raci: Vec<RaciAssignment>,
    /// The active objectives that name this process, with their latest value and
    /// attainment (computed, never in the audit trail).
    pub kpis: Vec<Kpi>,
    /// What the calling user may do now (`POST /processes/{id}/transitions`).
    pub allowed_actions: Vec<ProcessAction>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(s: StoredProcess, caller: &Caller) -> Process {
    Process {
        allowed_actions: allowed_actions(
            WORKFLOW,
            s.process.state,
            &caller.principal,
            &Relation::default(),
        ),
        id: s.id,
        fields: s.process.fields,
        state: s.process.state,
        raci: s.process.raci,
        kpis: Vec::new(),
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

/// Views with their KPIs, loaded for all of them in a fixed number of queries.
async fn with_kpis<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    stored: Vec<StoredProcess>,
) -> Result<Vec<Process>> {
    let ids: Vec<String> = stored.iter().map(|s| s.id.clone()).collect();
    let mut kpis = kpis_of_processes(conn, &ids, caller.now).await?;
    Ok(stored
        .into_iter()
        .map(|s| {
            let kpis = kpis.remove(&s.id).unwrap_or_default();
            Process {
                kpis,
                ..view(s, caller)
            }
        })
        .collect())
}

async fn with_kpis_one<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    stored: StoredProcess,
) -> Result<Process> {
    Ok(with_kpis(conn, caller, vec![stored])
        .await?
        .pop()
        .expect("one in, one out"))
}

fn ensure_may_change(caller: &Caller) -> Result<(), DomainError> {
    caller.ensure(caller.principal.can_manage_sms(), "change processes")
}

/// The SMS roles a process refers to must exist; `field` names each reference.
async fn ensure_roles_exist<C: ConnectionTrait>(
    conn: &C,
    references: &[(String, &str)],
) -> Result<()> {
    let ids: Vec<&str> = references.iter().map(|(_, id)| *id).collect();
    let found = existing_ids::<sms_role::Entity, _>(conn, &ids).await?;
    let errors: Vec<_> = references
        .iter()
        .filter(|(_, id)| !found.contains(*id))
        .map(|(field, _)| {
            crate::domain::validation::FieldError::new(
                field.clone(),
                "must be the id of an existing SMS role",
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errors).into())
    }
}

async fn ensure_owner_exists<C: ConnectionTrait>(conn: &C, fields: &ProcessFields) -> Result<()> {
    match &fields.owner_role_id {
        Some(id) => ensure_roles_exist(conn, &[("owner_role_id".into(), id)]).await,
        None => Ok(()),
    }
}

pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    fields: ProcessFields,
) -> Result<Process> {
    ensure_may_change(caller)?;
    let fields = process::validate(fields)?;
    let created = write::create::<StoredProcess>(db, caller, async |tx, id| {
        ensure_owner_exists(tx, &fields).await?;
        stored::insert(tx, id, &fields, caller.now).await
    })
    .await?;
    Ok(view(created, caller))
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<Process> {
    caller.ensure_reads_sms()?;
    read_snapshot(db, async |tx| {
        let found = <StoredProcess as crate::persistence::Aggregate>::load(tx, id)
            .await?
            .ok_or(DomainError::NotFound("process"))?;
        with_kpis_one(tx, caller, found).await
    })
    .await
}

/// Applies a merge patch; a patch that changes nothing writes nothing.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    patch: ProcessPatch,
) -> Result<Process> {
    ensure_may_change(caller)?;
    let changed = write::modify::<StoredProcess, _>(
        db,
        caller,
        (id, expected_version),
        "update",
        |before| {
            let fields = process::validate(patch.apply_to(before.process.fields.clone()))?;
            if fields == before.process.fields {
                return Ok(None);
            }
            let edited = process::Process {
                fields,
                ..before.process.clone()
            };
            process::check_edit(&edited)?;
            Ok(Some(edited))
        },
        async |tx, edited| {
            ensure_owner_exists(tx, &edited.fields).await?;
            stored::update(tx, id, &edited).await
        },
    )
    .await?;
    with_kpis_one(db, caller, changed).await
}

pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
) -> Result<()> {
    ensure_may_change(caller)?;
    write::remove::<StoredProcess>(db, caller, (id, expected_version), async |_, p| {
        Ok(process::ensure_deletable(p.process.state)?)
    })
    .await
}

/// Replaces the RACI matrix.
pub async fn set_raci(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    assignments: Vec<RaciAssignment>,
) -> Result<Process> {
    ensure_may_change(caller)?;
    let raci = process::validate_raci(assignments)?;
    let changed = write::modify::<StoredProcess, _>(
        db,
        caller,
        (id, expected_version),
        "set_raci",
        |before| {
            if raci == before.process.raci {
                return Ok(None);
            }
            let edited = process::Process {
                raci,
                ..before.process.clone()
            };
            process::check_edit(&edited)?;
            Ok(Some(edited))
        },
        async |tx, edited| {
            let references: Vec<_> = edited
                .raci
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("assignments[{i}].role_id"), a.role_id.as_str()))
                .collect();
            ensure_roles_exist(tx, &references).await?;
            stored::replace_raci(tx, id, &edited.raci).await
        },
    )
    .await?;
    with_kpis_one(db, caller, changed).await
}

pub async fn transition(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    action: ProcessAction,
) -> Result<Process> {
    caller.ensure_reads_sms()?;
    let changed = write::modify::<StoredProcess, _>(
        db,
        caller,
        (id, expected_version),
        action.as_str(),
        |before| {
            let process = &before.process;
            let relation = Relation::default();
            let to = decide(
                WORKFLOW,
                process.state,
                action,
                &caller.principal,
                &relation,
                process,
            )?;
            Ok(Some(process::Process {
                state: to,
                ..process.clone()
            }))
        },
        async |tx, after| stored::update(tx, id, &after).await,
    )
    .await?;
    with_kpis_one(db, caller, changed).await
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: ProcessFilter,
    request: &PageRequest,
) -> Result<Page<Process>> {
    caller.ensure_reads_sms()?;
    read_snapshot(db, async |tx| {
        let page = stored::list(tx, filter, request).await?;
        Ok(Page {
            items: with_kpis(tx, caller, page.items).await?,
            next_cursor: page.next_cursor,
            total: page.total,
        })
    })
    .await
}
