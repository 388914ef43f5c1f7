//! Documented information (clause 7.5): the document register, its approval workflow, and
//! how the approved documents cover what the standard expects.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Caller, write};
use crate::domain::DomainError;
use crate::domain::clause::{self, ClauseNumber};
use crate::domain::document::{
    self as rules, DocumentAction, DocumentFields, DocumentKind, DocumentPatch, DocumentState,
    WORKFLOW,
};
use crate::domain::documented_information::{
    DocumentedInformationKind, DocumentedInformationStatus, assess, covering_clauses,
};
use crate::domain::workflow::{Relation, allowed_actions, decide};
use crate::error::Result;
use crate::persistence::documents::{self as stored, DocumentFilter, StoredDocument};
use crate::persistence::entities::sms_role;
use crate::persistence::page::{Page, PageRequest};
use crate::persistence::{Aggregate, existing_ids};

/// A document as the API shows it: what is stored, and what the caller may do with it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Document {
    #[schema(format = Uuid)]
    pub id: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub fields: DocumentFields,
    pub state: DocumentState,
    /// The user who approved the version in force (cleared by `revise`).
    #[schema(format = Uuid)]
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    /// The document is approved and its `review_due` is before today (the service's date,
    /// UTC). Computed at each read, never stored.
    pub review_overdue: bool,
    /// What the calling user may do now (`POST /documents/{id}/transitions`).
    pub allowed_actions: Vec<DocumentAction>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(s: StoredDocument, caller: &Caller) -> Document {
    let d = s.document;
    Document {
        review_overdue: rules::is_review_overdue(
            d.fields.review_due,
            d.state,
            caller.now.date_naive(),
        ),
        allowed_actions: allowed_actions(
            WORKFLOW,
            d.state,
            &caller.principal,
            &Relation::default(),
        ),
        id: s.id,
        fields: d.fields,
        state: d.state,
        approved_by: d.approved_by,
        approved_at: d.approved_at,
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

fn ensure_may_change(caller: &Caller) -> Result<(), DomainError> {
    caller.ensure(caller.principal.can_manage_sms(), "change documents")
}

/// The owner role must be an existing SMS role.
async fn ensure_owner_exists<C: ConnectionTrait>(conn: &C, fields: &DocumentFields) -> Result<()> {
    let Some(id) = &fields.owner_role_id else {
        return Ok(());
    };
    if existing_ids::<sms_role::Entity, _>(conn, &[id])
        .await?
        .is_empty()
    {
        return Err(DomainError::invalid(
            "owner_role_id",
            "must be the id of an existing SMS role",
        )
        .into());
    }
    Ok(())
}

pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    fields: DocumentFields,
) -> Result<Document> {
    ensure_may_change(caller)?;
    let fields = rules::validate(fields)?;
    let created = write::create::<StoredDocument>(db, caller, async |tx, id| {
        ensure_owner_exists(tx, &fields).await?;
        let document = rules::Document {
            fields,
            state: DocumentState::Draft,
            approved_by: None,
            approved_at: None,
        };
        stored::insert(tx, id, &document, caller.now).await
    })
    .await?;
    Ok(view(created, caller))
}

async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<StoredDocument> {
    Ok(StoredDocument::load(conn, id)
        .await?
        .ok_or(DomainError::NotFound(StoredDocument::NOUN))?)
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<Document> {
    caller.ensure_reads_sms()?;
    Ok(view(load(db, id).await?, caller))
}

/// Applies a merge patch; a patch that changes nothing writes nothing.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    patch: DocumentPatch,
) -> Result<Document> {
    ensure_may_change(caller)?;
    let changed = write::modify::<StoredDocument, _>(
        db,
        caller,
        (id, expected_version),
        "update",
        |before| {
            let fields = rules::validate(patch.apply_to(before.document.fields.clone()))?;
            if fields == before.document.fields {
                return Ok(None);
            }
            let edited = rules::Document {
                fields,
                ..before.document.clone()
            };
            rules::check_edit(&before.document, &edited)?;
            Ok(Some(edited))
        },
        async |tx, edited| {
            ensure_owner_exists(tx, &edited.fields).await?;
            stored::update(tx, id, &edited).await
        },
    )
    .await?;
    Ok(view(changed, caller))
}

/// Deletes a draft; approved and obsolete documents keep their history.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
) -> Result<()> {
    ensure_may_change(caller)?;
    write::remove::<StoredDocument>(db, caller, (id, expected_version), async |_, d| {
        Ok(rules::ensure_deletable(d.document.state)?)
    })
    .await
}

/// Takes a workflow step: `approve` records who approved and when, `revise` clears them.
pub async fn transition(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    action: DocumentAction,
) -> Result<Document> {
    caller.ensure_reads_sms()?;
    let changed = write::modify::<StoredDocument, _>(
        db,
        caller,
        (id, expected_version),
        action.as_str(),
        |before| {
            let document = &before.document;
            let to = decide(
                WORKFLOW,
                document.state,
                action,
                &caller.principal,
                &Relation::default(),
                document,
            )?;
            Ok(Some(rules::after_transition(
                document,
                to,
                caller.user_id(),
                caller.now,
            )))
        },
        async |tx, after| stored::update(tx, id, &after).await,
    )
    .await?;
    Ok(view(changed, caller))
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: DocumentFilter,
    request: &PageRequest,
) -> Result<Page<Document>> {
    caller.ensure_reads_sms()?;
    let page = stored::list(db, filter, caller.now.date_naive(), request).await?;
    Ok(page.map(|s| view(s, caller)))
}

/// An approved document, as the documented-information list names it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentRef {
    #[schema(format = Uuid)]
    pub id: String,
    pub title: String,
    pub kind: DocumentKind,
    pub version_label: Option<String>,
    pub location: Option<String>,
    pub review_due: Option<NaiveDate>,
}

impl From<&StoredDocument> for DocumentRef {
    fn from(s: &StoredDocument) -> Self {
        let f = &s.document.fields;
        DocumentRef {
            id: s.id.clone(),
            title: f.title.clone(),
            kind: f.kind,
            version_label: f.version_label.clone(),
            location: f.location.clone(),
            review_due: f.review_due,
        }
    }
}

/// One item the standard expects, and how the approved documents cover it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentedInformationItem {
    pub kind: DocumentedInformationKind,
    #[schema(example = "Service management policy")]
    pub name: String,
    /// The clause that requires it.
    #[schema(value_type = ClauseNumber)]
    pub clause: String,
    pub clause_title: String,
    pub status: DocumentedInformationStatus,
    /// The approved documents in date that cover the item, by title.
    pub documents: Vec<DocumentRef>,
    /// The approved documents that cover the item but are overdue for review, by title.
    pub overdue_documents: Vec<DocumentRef>,
}

/// How many items stand in each status.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct DocumentedInformationSummary {
    pub total: u64,
    pub covered: u64,
    pub out_of_date: u64,
    pub missing: u64,
}

/// The documented information ISO/IEC 20000-1:2018 expects, item by item, with the approved
/// documents that cover each.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentedInformation {
    /// The service's date (UTC) the review dates were judged on.
    pub as_of: NaiveDate,
    pub summary: DocumentedInformationSummary,
    pub items: Vec<DocumentedInformationItem>,
}

/// The documented-information list: two queries, whatever the number of documents.
pub async fn documented_information(
    db: &DatabaseConnection,
    caller: &Caller,
) -> Result<DocumentedInformation> {
    caller.ensure_reads_sms()?;
    let today = caller.now.date_naive();
    let approved = stored::approved_under(db, &covering_clauses()).await?;
    let mut summary = DocumentedInformationSummary::default();
    let items: Vec<DocumentedInformationItem> = assess(&approved, |s| &s.document, today)
        .into_iter()
        .map(|a| {
            summary.total += 1;
            match a.status {
                DocumentedInformationStatus::Covered => summary.covered += 1,
                DocumentedInformationStatus::OutOfDate => summary.out_of_date += 1,
                DocumentedInformationStatus::Missing => summary.missing += 1,
            }
            let clause_title = clause::catalog()
                .iter()
                .find(|c| c.clause == a.item.clause)
                .map(|c| c.title.clone())
                .unwrap_or_default();
            DocumentedInformationItem {
                kind: a.item.kind,
                name: a.item.name.clone(),
                clause: a.item.clause.clone(),
                clause_title,
                status: a.status,
                documents: a.current.into_iter().map(DocumentRef::from).collect(),
                overdue_documents: a.overdue.into_iter().map(DocumentRef::from).collect(),
            }
        })
        .collect();
    Ok(DocumentedInformation {
        as_of: today,
        summary,
        items,
    })
}
