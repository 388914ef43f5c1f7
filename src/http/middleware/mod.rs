//! Cross-cutting request handling, one concern a file: request ids, metrics, problem
//! documents for every error, query-string rules, conditional GETs and idempotent POST retries.

mod idempotency;
mod metrics;
mod not_modified;
mod problems;
mod query_rules;
mod request_id;
mod signal_events;

pub use idempotency::{IDEMPOTENCY_KEY, Idempotency, idempotency, is_replayable};
pub use metrics::{Metrics, metrics};
pub use not_modified::{IF_NONE_MATCH_MAX_LENGTH, IF_NONE_MATCH_PATTERN, not_modified};
pub use problems::problems;
pub use query_rules::query_rules;
pub use request_id::{REQUEST_ID, request_id};
pub use signal_events::signal_events;
