//! Integration tests: the real application over real HTTP, on SQLite and, when
//! `ITSMS_TEST_POSTGRES_URL` is set, on PostgreSQL.

mod helpers;

mod assessments;
mod audit_trail;
mod audits;
mod auth;
mod clauses;
mod concurrency;
mod contract;
mod control_loop;
mod conventions;
mod corrective_actions;
mod database;
mod documents;
mod events;
mod exports;
mod hostile_input;
mod imports;
mod improvements;
mod management_reviews;
mod objectives;
mod openapi;
mod paging;
mod processes;
mod readiness;
mod reports;
mod risks;
mod seed_demo;
mod sms_roles;
mod startup;
mod training_records;
mod users;
mod webhooks;
mod write_path;
