//! The one error type of the service and persistence layers.

use crate::domain::DomainError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// Authentication failed; the message is for the log, never for the client.
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    #[error("too many attempts; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sea_orm::TransactionError<Error>> for Error {
    fn from(e: sea_orm::TransactionError<Error>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(e) => Error::Db(e),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}
