use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::domain::document::{
    DocumentAction, DocumentFields, DocumentKind, DocumentPatch, DocumentState,
};
use crate::http::AppState;
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned};
use crate::http::pagination::PageQuery;
use crate::http::problem::ApiError;
use crate::list_response;
use crate::persistence::documents::DocumentFilter;
use crate::service::documents::{self, Document, DocumentedInformation};
use crate::text_enum;

list_response!(DocumentList, Document);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentTransition {
    /// `approve` (draft → approved: needs an owner role, a clause, a version label, a
    /// location and a review date), `revise` (approved → draft, to change the version) or
    /// `withdraw` (draft or approved → obsolete).
    pub action: DocumentAction,
}

text_enum! {
    pub enum DocumentSort {
        Title => "title", TitleDesc => "-title",
        ReviewDue => "review_due", ReviewDueDesc => "-review_due",
        CreatedAt => "created_at", CreatedAtDesc => "-created_at",
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DocumentQuery {
    pub state: Option<DocumentState>,
    pub kind: Option<DocumentKind>,
    /// Only documents filed under this clause (exactly this number).
    #[param(max_length = 16, pattern = r"^[0-9]+(\.[0-9]+)*$")]
    pub clause: Option<String>,
    /// Only documents owned by this SMS role.
    #[param(max_length = 36)]
    pub owner_role_id: Option<String>,
    /// Text in the title, version label or location.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only documents whose review is due before this date (not on it).
    pub review_due_before: Option<NaiveDate>,
    /// Only approved documents overdue for review (`true`), or every other (`false`), by
    /// today's date.
    pub overdue_review: Option<bool>,
    /// Empty review dates come last in both directions.
    pub sort: Option<DocumentSort>,
}

const ID: &str = "The document's id";

/// List documents.
#[utoipa::path(operation_id = "list_documents", tag = "documents", security(("bearer" = ["viewer"])), params(PageQuery, DocumentQuery), responses((status = 200, body = DocumentList)))]
#[get("/documents")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<DocumentQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = DocumentFilter {
        state: q.state,
        kind: q.kind,
        clause: q.clause,
        owner_role_id: q.owner_role_id,
        q: q.q,
        review_due_before: q.review_due_before,
        overdue_review: q.overdue_review,
    };
    let sort = q.sort.map(|s| s.as_str());
    DocumentList::respond(&req, &page, sort, async move |request| {
        documents::list(&state.db, &caller.0, filter.clone(), &request).await
    })
    .await
}

/// Register a document in `draft`.
#[utoipa::path(operation_id = "create_document", tag = "documents", security(("bearer" = ["manager"])), request_body = DocumentFields, responses((status = 201, body = Document)))]
#[post("/documents")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<DocumentFields>,
) -> Result<HttpResponse, ApiError> {
    let document = documents::create(&state.db, &caller.0, body.0).await?;
    Ok(created(
        format!("/api/v1/documents/{}", document.id),
        &document,
        document.version,
    ))
}

/// Get a document.
#[utoipa::path(operation_id = "get_document", tag = "documents", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = Document)))]
#[get("/documents/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let document = documents::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&document, document.version))
}

/// Change a document with a JSON merge patch. Obsolete documents cannot change; an approved
/// one keeps what its approval needed, and its `version_label` and `location` change only
/// after `revise`. A patch that changes nothing leaves the version as it is.
#[utoipa::path(operation_id = "update_document", tag = "documents", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = DocumentPatch, responses((status = 200, body = Document)))]
#[patch("/documents/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<DocumentPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let document = documents::update(&state.db, &caller.0, &id, if_match.0, body.0).await?;
    Ok(ok_versioned(&document, document.version))
}

/// Delete a draft document; approved ones are withdrawn instead.
#[utoipa::path(operation_id = "delete_document", tag = "documents", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 204, description = "Deleted")))]
#[delete("/documents/{id}")]
pub async fn remove(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    documents::delete(&state.db, &caller.0, &id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Move a document through its workflow: `approve` records `approved_by` and `approved_at`
/// and needs an owner role, a clause, a version label, a location and a review date;
/// `revise` returns it to draft; `withdraw` makes it obsolete.
#[utoipa::path(operation_id = "transition_document", tag = "documents", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = DocumentTransition, responses((status = 200, body = Document)))]
#[post("/documents/{id}/transitions")]
pub async fn transition(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<DocumentTransition>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let document =
        documents::transition(&state.db, &caller.0, &id, if_match.0, body.0.action).await?;
    Ok(ok_versioned(&document, document.version))
}

/// What the standard expects, and the documents that cover it.
///
/// The documented information ISO/IEC 20000-1:2018 expects (documents and records), each
/// item `covered` by an approved document in date, `out_of_date` when only approved
/// documents overdue for review cover it, or `missing`. A document covers an item when it
/// is of the item's kind (a `record` for a record, any other kind for a document) and one of
/// its clauses is the item's clause or a sub-clause of it (a document filed under the parent
/// clause only does not cover it). Review dates are judged on the service's date (UTC),
/// returned as `as_of`.
#[utoipa::path(operation_id = "documented_information", tag = "documents", security(("bearer" = ["viewer"])), responses((status = 200, body = DocumentedInformation)))]
#[get("/documented-information")]
pub async fn documented_information(
    state: Data<AppState>,
    caller: Auth,
) -> Result<HttpResponse, ApiError> {
    let report = documents::documented_information(&state.db, &caller.0).await?;
    Ok(HttpResponse::Ok().json(report))
}
