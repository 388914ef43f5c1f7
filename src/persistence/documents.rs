//! Documents in the database: the `documents` row with its clause rows, the register's list
//! query, and the approved documents that can cover the documented-information list.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Set,
};
use serde::Serialize;
use serde_json::Value;

use super::Aggregate;
use super::entities::{document as row, document_clause};
use super::page::{self, Kind, Page, PageRequest, SortKey};
use crate::domain::document::{Document, DocumentFields, DocumentKind, DocumentState};
use crate::error::{Error, Result};

/// A stored document.
#[derive(Debug, Clone)]
pub struct StoredDocument {
    pub id: String,
    pub document: Document,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the audit trail records of a document.
#[derive(Serialize)]
struct Record<'a> {
    #[serde(flatten)]
    fields: &'a DocumentFields,
    state: DocumentState,
    approved_by: &'a Option<String>,
    approved_at: &'a Option<DateTime<Utc>>,
}

impl Aggregate for StoredDocument {
    type Entity = row::Entity;
    const KIND: &'static str = "document";
    const NOUN: &'static str = "document";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn record(&self) -> Value {
        serde_json::to_value(Record {
            fields: &self.document.fields,
            state: self.document.state,
            approved_by: &self.document.approved_by,
            approved_at: &self.document.approved_at,
        })
        .expect("plain data serializes")
    }

    async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Self>> {
        let Some(m) = row::Entity::find_by_id(id.to_string()).one(conn).await? else {
            return Ok(None);
        };
        Ok(load_children(conn, vec![m]).await?.pop())
    }
}

/// Completes rows with their clauses: one query for all of them.
async fn load_children<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<row::Model>,
) -> Result<Vec<StoredDocument>> {
    let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
    use document_clause::Column as Clause;
    let mut clauses = super::children_of::<document_clause::Entity, _, _>(
        conn,
        (Clause::DocumentId, Clause::Position),
        &ids,
        |c| (c.document_id, c.clause),
    )
    .await?;
    rows.into_iter()
        .map(|m| {
            let own = clauses.remove(&m.id).unwrap_or_default();
            from_row(m, own)
        })
        .collect()
}

fn from_row(m: row::Model, clauses: Vec<String>) -> Result<StoredDocument> {
    let kind = DocumentKind::parse(&m.kind)
        .ok_or_else(|| Error::Internal(format!("unknown document kind {}", m.kind)))?;
    let state = DocumentState::parse(&m.state)
        .ok_or_else(|| Error::Internal(format!("unknown document state {}", m.state)))?;
    Ok(StoredDocument {
        document: Document {
            fields: DocumentFields {
                title: m.title,
                kind,
                clauses,
                owner_role_id: m.owner_role_id,
                version_label: m.version_label,
                location: m.location,
                review_due: m.review_due,
            },
            state,
            approved_by: m.approved_by,
            approved_at: m.approved_at,
        },
        id: m.id,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn columns(d: &Document) -> row::ActiveModel {
    let f = &d.fields;
    row::ActiveModel {
        title: Set(f.title.clone()),
        kind: Set(f.kind.as_str().to_string()),
        owner_role_id: Set(f.owner_role_id.clone()),
        version_label: Set(f.version_label.clone()),
        location: Set(f.location.clone()),
        review_due: Set(f.review_due),
        state: Set(d.state.as_str().to_string()),
        approved_by: Set(d.approved_by.clone()),
        approved_at: Set(d.approved_at),
        ..Default::default()
    }
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    document: &Document,
    at: DateTime<Utc>,
) -> Result<()> {
    row::Entity::insert(row::ActiveModel {
        id: Set(id.to_string()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..columns(document)
    })
    .exec_without_returning(conn)
    .await?;
    write_clauses(conn, id, &document.fields.clauses).await
}

/// Writes an existing document (its version is already bumped).
pub async fn update<C: ConnectionTrait>(conn: &C, id: &str, document: &Document) -> Result<()> {
    row::Entity::update_many()
        .set(columns(document))
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await?;
    write_clauses(conn, id, &document.fields.clauses).await
}

async fn write_clauses<C: ConnectionTrait>(conn: &C, id: &str, clauses: &[String]) -> Result<()> {
    document_clause::Entity::delete_many()
        .filter(document_clause::Column::DocumentId.eq(id))
        .exec(conn)
        .await?;
    if clauses.is_empty() {
        return Ok(());
    }
    document_clause::Entity::insert_many(clauses.iter().enumerate().map(|(i, c)| {
        document_clause::ActiveModel {
            document_id: Set(id.to_string()),
            clause: Set(c.clone()),
            position: Set(i as i32),
        }
    }))
    .exec(conn)
    .await?;
    Ok(())
}

/// What the document register is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct DocumentFilter {
    pub state: Option<DocumentState>,
    pub kind: Option<DocumentKind>,
    pub clause: Option<String>,
    pub owner_role_id: Option<String>,
    pub q: Option<String>,
    pub review_due_before: Option<NaiveDate>,
    pub overdue_review: Option<bool>,
}

/// Overdue for review on `today`: the rule of `document::is_review_overdue`, in SQL.
fn review_overdue(today: NaiveDate) -> Condition {
    Condition::all()
        .add(row::Column::State.eq(DocumentState::Approved.as_str()))
        .add(row::Column::ReviewDue.is_not_null())
        .add(row::Column::ReviewDue.lt(today))
}

/// A page of documents with their clauses: one query for the page, one for the clauses.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: DocumentFilter,
    today: NaiveDate,
    request: &PageRequest,
) -> Result<Page<StoredDocument>> {
    let mut select = row::Entity::find();
    if let Some(state) = filter.state {
        select = select.filter(row::Column::State.eq(state.as_str()));
    }
    if let Some(kind) = filter.kind {
        select = select.filter(row::Column::Kind.eq(kind.as_str()));
    }
    if let Some(role_id) = filter.owner_role_id {
        select = select.filter(row::Column::OwnerRoleId.eq(role_id));
    }
    if let Some(before) = filter.review_due_before {
        select = select.filter(row::Column::ReviewDue.lt(before));
    }
    match filter.overdue_review {
        Some(true) => select = select.filter(review_overdue(today)),
        Some(false) => select = select.filter(review_overdue(today).not()),
        None => {}
    }
    if let Some(clause) = filter.clause {
        let with_clause = document_clause::Entity::find()
            .select_only()
            .column(document_clause::Column::DocumentId)
            .filter(document_clause::Column::Clause.eq(clause))
            .into_query();
        select = select.filter(row::Column::Id.in_subquery(with_clause));
    }
    if let Some(q) = filter.q {
        let pattern = super::contains(&q);
        select = select.filter(
            Func::lower(Expr::col(row::Column::Title))
                .like(pattern.clone())
                .or(Func::lower(Expr::col(row::Column::VersionLabel)).like(pattern.clone()))
                .or(Func::lower(Expr::col(row::Column::Location)).like(pattern)),
        );
    }
    let sorts: [SortKey<_>; 3] = [
        ("title", row::Column::Title, Kind::Text),
        ("review_due", row::Column::ReviewDue, Kind::NullableDate),
        ("created_at", row::Column::CreatedAt, Kind::Timestamp),
    ];
    let page = page::fetch(conn, select, &sorts, row::Column::Id, request).await?;
    let items = load_children(conn, page.items).await?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}

/// The approved documents filed under any of `clauses`, by title, with all their clauses:
/// two queries, whatever the number of documents.
pub async fn approved_under<C: ConnectionTrait>(
    conn: &C,
    clauses: &[String],
) -> Result<Vec<StoredDocument>> {
    let filed_under = || {
        document_clause::Entity::find()
            .select_only()
            .column(document_clause::Column::DocumentId)
            .filter(document_clause::Column::Clause.is_in(clauses.iter().cloned()))
            .into_query()
    };
    let approved = || {
        row::Entity::find()
            .select_only()
            .column(row::Column::Id)
            .filter(row::Column::State.eq(DocumentState::Approved.as_str()))
            .filter(row::Column::Id.in_subquery(filed_under()))
            .into_query()
    };
    let rows = row::Entity::find()
        .filter(row::Column::State.eq(DocumentState::Approved.as_str()))
        .filter(row::Column::Id.in_subquery(filed_under()))
        .order_by_asc(row::Column::Title)
        .order_by_asc(row::Column::Id)
        .all(conn)
        .await?;
    let mut by_document: HashMap<String, Vec<String>> = HashMap::new();
    for c in document_clause::Entity::find()
        .filter(document_clause::Column::DocumentId.in_subquery(approved()))
        .order_by_asc(document_clause::Column::Position)
        .all(conn)
        .await?
    {
        by_document.entry(c.document_id).or_default().push(c.clause);
    }
    rows.into_iter()
        .map(|m| {
            let own = by_document.remove(&m.id).unwrap_or_default();
            from_row(m, own)
        })
        .collect()
}
