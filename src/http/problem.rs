//! RFC 9457 problem details: one table of error codes, and the mapping of every error —
//! domain, database, authentication, framework — to `application/problem+json`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::DomainError;
use crate::domain::assessment::AssessmentAction;
use crate::domain::audit::AuditAction;
use crate::domain::corrective_action::CorrectiveActionAction;
use crate::domain::document::DocumentAction;
use crate::domain::finding::FindingAction;
use crate::domain::improvement::ImprovementAction;
use crate::domain::management_review::ManagementReviewAction;
use crate::domain::objective::ObjectiveAction;
use crate::domain::process::ProcessAction;
use crate::domain::risk::RiskAction;
use crate::domain::validation::FieldError;
use crate::error::Error;
use crate::persistence::{Transient, is_foreign_key_violation, is_unique_violation, transient};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Declares [`Code`] from one table: variant, code text, status and title.
macro_rules! codes {
    ($($variant:ident => ($text:literal, $status:ident, $title:literal)),+ $(,)?) => {
        /// The stable machine-readable codes, with their status and title.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code {
            $($variant),+
        }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            pub fn describe(self) -> (&'static str, StatusCode, &'static str) {
                match self {
                    $(Code::$variant => ($text, StatusCode::$status, $title)),+
                }
            }
        }
    };
}

codes! {
    BadRequest => ("bad_request", BAD_REQUEST, "Bad request"),
    MalformedJson => ("malformed_json", BAD_REQUEST, "Malformed JSON"),
    ValidationFailed => ("validation_failed", UNPROCESSABLE_ENTITY, "Validation failed"),
    Unauthorized => ("unauthorized", UNAUTHORIZED, "Authentication required"),
    Forbidden => ("forbidden", FORBIDDEN, "Forbidden"),
    NotFound => ("not_found", NOT_FOUND, "Not found"),
    MethodNotAllowed => ("method_not_allowed", METHOD_NOT_ALLOWED, "Method not allowed"),
    NotAcceptable => ("not_acceptable", NOT_ACCEPTABLE, "Not acceptable"),
    Conflict => ("conflict", CONFLICT, "Conflict"),
    InvalidTransition => ("invalid_transition", CONFLICT, "Action not allowed now"),
    IdempotencyInProgress => ("idempotency_in_progress", CONFLICT, "Request with this key in progress"),
    PreconditionFailed => ("precondition_failed", PRECONDITION_FAILED, "Resource changed"),
    PayloadTooLarge => ("payload_too_large", PAYLOAD_TOO_LARGE, "Payload too large"),
    UnsupportedMediaType => ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),
    PreconditionMissing => ("precondition_missing", UNPROCESSABLE_ENTITY, "Workflow precondition missing"),
    IdempotencyKeyReused => ("idempotency_key_reused", UNPROCESSABLE_ENTITY, "Idempotency key reused"),
    RequestHeaderTooLarge => ("request_header_too_large", REQUEST_HEADER_FIELDS_TOO_LARGE, "Request header fields too large"),
    RateLimited => ("rate_limited", TOO_MANY_REQUESTS, "Too many requests"),
    InternalError => ("internal_error", INTERNAL_SERVER_ERROR, "Internal server error"),
    Unavailable => ("unavailable", SERVICE_UNAVAILABLE, "Service unavailable"),
}

/// `Problem.code` in the OpenAPI document: every code of the table.
impl utoipa::PartialSchema for Code {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("Stable machine-readable problem code"))
            .enum_values(Some(Code::ALL.iter().map(|c| c.describe().0)))
            .into()
    }
}

impl ToSchema for Code {
    fn name() -> std::borrow::Cow<'static, str> {
        "ProblemCode".into()
    }
}

/// `Problem.allowed_actions` items in the OpenAPI document: the actions of every workflow.
pub struct WorkflowAction;

impl WorkflowAction {
    /// The union of the workflows' action enums, each action once.
    pub fn all() -> Vec<&'static str> {
        let mut all: Vec<&'static str> = Vec::new();
        let actions = ProcessAction::ALL.iter().map(|a| a.as_str());
        let actions = actions
            .chain(ObjectiveAction::ALL.iter().map(|a| a.as_str()))
            .chain(AuditAction::ALL.iter().map(|a| a.as_str()))
            .chain(FindingAction::ALL.iter().map(|a| a.as_str()))
            .chain(CorrectiveActionAction::ALL.iter().map(|a| a.as_str()))
            .chain(ImprovementAction::ALL.iter().map(|a| a.as_str()))
            .chain(RiskAction::ALL.iter().map(|a| a.as_str()))
            .chain(DocumentAction::ALL.iter().map(|a| a.as_str()))
            .chain(AssessmentAction::ALL.iter().map(|a| a.as_str()))
            .chain(ManagementReviewAction::ALL.iter().map(|a| a.as_str()));
        for action in actions {
            if !all.contains(&action) {
                all.push(action);
            }
        }
        all
    }
}

impl utoipa::PartialSchema for WorkflowAction {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("An action of any workflow"))
            .enum_values(Some(WorkflowAction::all()))
            .into()
    }
}

impl ToSchema for WorkflowAction {}

impl Code {
    /// The code a bare status stands for, for errors raised outside our handlers.
    pub fn for_status(status: StatusCode) -> Code {
        use Code::*;
        match status.as_u16() {
            401 => Unauthorized,
            403 => Forbidden,
            404 => NotFound,
            405 => MethodNotAllowed,
            406 => NotAcceptable,
            409 => Conflict,
            412 => PreconditionFailed,
            413 => PayloadTooLarge,
            415 => UnsupportedMediaType,
            422 => ValidationFailed,
            429 => RateLimited,
            431 => RequestHeaderTooLarge,
            503 => Unavailable,
            s if s >= 500 => InternalError,
            _ => BadRequest,
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[schema(example = "urn:itsms:problem:validation_failed")]
    #[serde(rename = "type")]
    pub problem_type: String,
    #[schema(example = "Validation failed")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    pub detail: String,
    /// The request path.
    pub instance: String,
    /// Stable machine-readable code.
    #[schema(value_type = Code, example = "validation_failed")]
    pub code: String,
    /// Field-level problems, for validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// For `invalid_transition`: the actions the caller may take now.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<WorkflowAction>>)]
    pub allowed_actions: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemField {
    #[schema(example = "name")]
    pub field: String,
    #[schema(example = "must not be empty")]
    pub message: String,
}

impl From<FieldError> for ProblemField {
    fn from(e: FieldError) -> Self {
        ProblemField {
            field: e.field,
            message: e.message,
        }
    }
}

/// An error on its way to becoming a problem response.
#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub detail: String,
    pub errors: Vec<ProblemField>,
    pub allowed_actions: Option<Vec<String>>,
    pub retry_after_secs: Option<u64>,
    /// For 401 responses: the `WWW-Authenticate` error, when a token was given.
    pub bearer_error: Option<&'static str>,
}

impl ApiError {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        ApiError {
            code,
            detail: detail.into(),
            errors: vec![],
            allowed_actions: None,
            retry_after_secs: None,
            bearer_error: None,
        }
    }

    pub fn field(code: Code, field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut e = ApiError::new(
            code,
            format!("{}: {message}", "the request has an invalid field"),
        );
        e.errors.push(ProblemField {
            field: field.into(),
            message,
        });
        e
    }

    pub fn unauthorized(detail: &str, bearer_error: Option<&'static str>) -> Self {
        ApiError {
            bearer_error,
            ..ApiError::new(Code::Unauthorized, detail)
        }
    }

    /// 503 with `Retry-After`, for database trouble that passes: contention clears in a
    /// moment, an outage takes longer.
    pub fn unavailable(trouble: Transient) -> Self {
        let (retry_after_secs, detail) = match trouble {
            Transient::Contention => (1, "the service is busy with other changes; retry shortly"),
            Transient::Unavailable => (5, "the database is unavailable; retry later"),
        };
        ApiError {
            retry_after_secs: Some(retry_after_secs),
            ..ApiError::new(Code::Unavailable, detail)
        }
    }

    pub fn problem(&self, instance: &str) -> Problem {
        let (code, status, title) = self.code.describe();
        Problem {
            problem_type: format!("urn:itsms:problem:{code}"),
            title: title.into(),
            status: status.as_u16(),
            detail: self.detail.clone(),
            instance: instance.into(),
            code: code.into(),
            errors: self.errors.clone(),
            allowed_actions: self.allowed_actions.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.describe().0, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.describe().1
    }

    fn error_response(&self) -> HttpResponse {
        // The path is filled in by the problem middleware, which sees the request.
        problem_response(self, "")
    }
}

pub fn problem_response(error: &ApiError, instance: &str) -> HttpResponse {
    let problem = error.problem(instance);
    let mut response = HttpResponse::build(error.status_code());
    response.content_type(PROBLEM_JSON);
    if let Some(secs) = error.retry_after_secs {
        response.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    if error.code == Code::Unauthorized {
        let value = match error.bearer_error {
            Some(e) => format!("Bearer realm=\"itsms\", error=\"{e}\""),
            None => "Bearer realm=\"itsms\"".to_string(),
        };
        response.insert_header((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_str(&value).expect("ASCII header"),
        ));
    }
    response.json(problem)
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let detail = e.to_string();
        match e {
            DomainError::Validation(errors) => ApiError {
                errors: errors.into_iter().map(Into::into).collect(),
                ..ApiError::new(Code::ValidationFailed, detail)
            },
            DomainError::NotFound(_) | DomainError::NamedNotFound { .. } => {
                ApiError::new(Code::NotFound, detail)
            }
            DomainError::Forbidden(_) => ApiError::new(Code::Forbidden, detail),
            DomainError::InvalidTransition { allowed, .. } => ApiError {
                allowed_actions: Some(allowed),
                ..ApiError::new(Code::InvalidTransition, detail)
            },
            DomainError::PreconditionMissing(errors) => {
                let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
                ApiError {
                    detail: messages.join("; "),
                    errors: errors.into_iter().map(Into::into).collect(),
                    ..ApiError::new(Code::PreconditionMissing, detail)
                }
            }
            DomainError::Conflict(_) => ApiError::new(Code::Conflict, detail),
            DomainError::VersionMismatch => ApiError::new(Code::PreconditionFailed, detail),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Domain(d) => d.into(),
            Error::Unauthenticated(reason) => {
                tracing::info!(reason, "authentication refused");
                ApiError::unauthorized("the credentials are not valid", Some("invalid_token"))
            }
            Error::RateLimited { retry_after_secs } => ApiError {
                retry_after_secs: Some(retry_after_secs),
                ..ApiError::new(
                    Code::RateLimited,
                    format!("too many attempts; retry after {retry_after_secs} seconds"),
                )
            },
            // A race the service's own checks could not see: another request removed or
            // took what this one refers to between the check and the write.
            Error::Db(e) if is_foreign_key_violation(&e) || is_unique_violation(&e) => {
                ApiError::new(
                    Code::Conflict,
                    "another change got there first (a referenced record was removed or a unique value taken); retry",
                )
            }
            Error::Db(e) => match transient(&e) {
                Some(trouble) => {
                    tracing::warn!(error = %e, "database trouble; the client may retry");
                    ApiError::unavailable(trouble)
                }
                None => internal(&e),
            },
            Error::Internal(e) => internal(&e),
        }
    }
}

fn internal(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "request failed");
    ApiError::new(
        Code::InternalError,
        "the server could not complete the request",
    )
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        Error::Db(e).into()
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnAcquireErr, DbErr};

    use super::*;

    #[test]
    fn transient_database_trouble_is_503_with_retry_after() {
        let e = ApiError::from(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout));
        assert_eq!(e.code, Code::Unavailable);
        assert_eq!(e.retry_after_secs, Some(5));
        let e = ApiError::from(DbErr::Custom("no such table: secrets".into()));
        assert_eq!(e.code, Code::InternalError);
        assert_eq!(e.retry_after_secs, None);
        assert!(!e.detail.contains("secrets"));
    }
}
