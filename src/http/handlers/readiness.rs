use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, get};

use crate::domain::readiness::Readiness;
use crate::http::extract::Auth;
use crate::http::problem::ApiError;
use crate::http::{AppState, csv};
use crate::service::readiness;

/// Certification readiness
///
/// For every clause of the catalog, what the live records say, judged on the service's
/// clock:
///
/// | check | applies to | met | warning | blocker |
/// |---|---|---|---|---|
/// | `processes` | process clauses | an active process refers to it, its review in date | — | none |
/// | `documented_information` | clauses the standard expects documented information for | an approved document refers to it, its review in date | — | none |
/// | `internal_audit` | every clause | a closed internal audit had it (or a clause above it) in scope within 12 months | — | none within 12 months |
/// | `management_review` | 9.3 | a review held within 12 months | — | none |
/// | `nonconformities` | every clause | no open nonconformity | open minor ones | an open major one |
/// | `corrective_actions` | every clause | none overdue | overdue ones | — |
/// | `gap_assessment` | clauses the latest completed assessment assessed | `met` | `partially_met` | `not_met` |
///
/// **Score.** A check scores 1 when met, ½ on a warning and 0 when it blocks. A clause's
/// `score` is the mean of the checks that apply to it; the overall `score` is the mean of
/// the clause scores × 100, rounded to one decimal. `ready` is true when nothing blocks.
/// Each blocker and warning names the clause, the record at fault (or the clause, when a
/// record is missing) and what would clear it.
///
/// As CSV (`GET /api/v1/exports/reports/readiness`): one row per clause and check that
/// applies to it: `clause`, `title`, `clause_score`, `check`, `status`, `detail`.
#[utoipa::path(operation_id = "readiness_report", tag = "reports", security(("bearer" = ["viewer"])), responses((status = 200, body = Readiness)))]
#[get("/reports/readiness")]
pub async fn report(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
) -> Result<HttpResponse, ApiError> {
    let report = readiness::report(&state.db, &caller.0).await?;
    Ok(csv::report(&req, &report, super::reports::readiness_rows))
}
