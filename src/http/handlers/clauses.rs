use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, get};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::http::AppState;
use crate::http::extract::Auth;
use crate::http::pagination::PageQuery;
use crate::http::problem::ApiError;
use crate::list_response;
use crate::persistence::clauses::ClauseFilter;
use crate::service::clauses::{self, Clause};

list_response!(ClauseList, Clause);

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClauseQuery {
    /// Only the sub-clauses of this clause.
    #[param(max_length = 16, pattern = r"^[0-9]+(\.[0-9]+)*$")]
    pub parent: Option<String>,
    /// Only service management processes (true) or only other clauses (false).
    pub is_process: Option<bool>,
    /// Text in the title.
    #[param(max_length = 200)]
    pub q: Option<String>,
}

/// The ISO/IEC 20000-1:2018 clause catalog, in catalog order.
#[utoipa::path(operation_id = "list_clauses", tag = "clauses", security(("bearer" = ["viewer"])), params(PageQuery, ClauseQuery), responses((status = 200, body = ClauseList)))]
#[get("/clauses")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<ClauseQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let filter = ClauseFilter {
        parent: query.parent,
        is_process: query.is_process,
        q: query.q,
    };
    ClauseList::respond(&req, &page, None, async move |request| {
        clauses::list(&state.db, &caller.0, filter.clone(), &request).await
    })
    .await
}

/// One clause, its sub-clauses and what in the SMS refers to it.
#[utoipa::path(operation_id = "get_clause", tag = "clauses", security(("bearer" = ["viewer"])), params(("clause" = String, Path, description = "Catalog number, e.g. `8.6.1`", max_length = 16, pattern = r"^[0-9]+(\.[0-9]+)*$")), responses((status = 200, body = Clause)))]
#[get("/clauses/{clause}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    clause: Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(clauses::get(&state.db, &caller.0, &clause).await?))
}
