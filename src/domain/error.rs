use super::validation::FieldError;

/// Why the domain refused a request. The HTTP layer maps each to a status and a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Not found, naming what was looked for (a clause number in a path).
    #[error("{noun} `{key}` not found")]
    NamedNotFound { noun: &'static str, key: String },
    #[error("you may not {0}")]
    Forbidden(String),
    #[error("action `{action}` is not allowed in state `{state}`")]
    InvalidTransition {
        action: String,
        state: String,
        allowed: Vec<String>,
    },
    /// Preconditions of a workflow action are missing; names each.
    #[error("a precondition of this action is missing")]
    PreconditionMissing(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    #[error("the resource was changed by someone else; read it again")]
    VersionMismatch,
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Validation(vec![FieldError::new(field, message)])
    }
}
