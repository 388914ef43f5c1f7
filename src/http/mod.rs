//! The HTTP layer: handlers (extract → service → response), problem documents, middleware
//! and the OpenAPI document.

pub mod csv;
pub mod extract;
pub mod handlers;
pub mod head_too_large;
pub mod import_body;
pub mod middleware;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod route_table;

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use sea_orm::DatabaseConnection;
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::clock::Clock;
use crate::service::audit_trail::ChainKey;
use crate::service::auth::Auth;
use crate::service::events::EventSignal;
use handlers::*;
use problem::{ApiError, Code};

/// What every handler shares: the database pool and the token keys. Nothing else is kept
/// in process memory, so replicas behind a load balancer need nothing from each other.
pub struct AppState {
    pub db: DatabaseConnection,
    pub auth: Arc<Auth>,
    pub clock: Clock,
    /// Proxies whose `X-Forwarded-For` names the client (`server.trusted_proxies`).
    pub trusted_proxies: Vec<IpAddr>,
    /// Checks the audit trail's keyed hashes (`audit.hmac_key`).
    pub audit_key: Option<ChainKey>,
    /// Wakes the change feed's long polls and the delivery worker after a commit.
    pub events: Arc<EventSignal>,
    /// How the change feed waits (`events.*`).
    pub feed_wait: FeedWait,
    /// `webhooks.allow_private_targets`.
    pub allow_private_targets: bool,
}

/// The bounds of the change feed's long poll.
#[derive(Debug, Clone, Copy)]
pub struct FeedWait {
    pub max_wait_secs: u64,
    pub recheck_ms: u64,
}

/// Every documented route.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::live)
        .service(health::ready)
        .service(health::metrics)
        .service(
            scope::scope("/api/v1")
                .service(auth::login)
                .service(auth::refresh)
                .service(auth::logout)
                .service(auth::token)
                .service(auth::me)
                .service(users::list)
                .service(users::create)
                .service(users::get)
                .service(users::update)
                .service(users::set_password)
                .service(users::list_api_keys)
                .service(users::create_api_key)
                .service(users::revoke_api_key)
                .service(clauses::list)
                .service(clauses::get)
                .service(sms_roles::list)
                .service(sms_roles::create)
                .service(sms_roles::get)
                .service(sms_roles::update)
                .service(sms_roles::remove)
                .service(processes::list)
                .service(processes::create)
                .service(processes::get)
                .service(processes::update)
                .service(processes::remove)
                .service(processes::set_raci)
                .service(processes::transition)
                .service(objectives::list)
                .service(objectives::create)
                .service(objectives::get)
                .service(objectives::update)
                .service(objectives::remove)
                .service(objectives::transition)
                .service(objectives::add_measurement)
                .service(objectives::list_measurements)
                .service(audits::list)
                .service(audits::create)
                .service(audits::get)
                .service(audits::update)
                .service(audits::remove)
                .service(audits::transition)
                .service(audits::coverage)
                .service(findings::list_for_audit)
                .service(findings::create)
                .service(findings::list)
                .service(findings::get)
                .service(findings::update)
                .service(findings::transition)
                .service(corrective_actions::list)
                .service(corrective_actions::create)
                .service(corrective_actions::get)
                .service(corrective_actions::update)
                .service(corrective_actions::remove)
                .service(corrective_actions::transition)
                .service(corrective_actions::history)
                .service(training_records::list)
                .service(training_records::create)
                .service(training_records::get)
                .service(training_records::update)
                .service(training_records::remove)
                .service(training_records::gaps)
                .service(readiness::report)
                .service(improvements::list)
                .service(improvements::create)
                .service(improvements::get)
                .service(improvements::update)
                .service(improvements::remove)
                .service(improvements::transition)
                .service(improvements::history)
                .service(risks::list)
                .service(risks::create)
                .service(risks::get)
                .service(risks::update)
                .service(risks::remove)
                .service(risks::transition)
                .service(risks::history)
                .service(documents::list)
                .service(documents::create)
                .service(documents::get)
                .service(documents::update)
                .service(documents::remove)
                .service(documents::transition)
                .service(documents::documented_information)
                .service(assessments::list)
                .service(assessments::create)
                .service(assessments::get)
                .service(assessments::update)
                .service(assessments::remove)
                .service(assessments::set_result)
                .service(assessments::transition)
                .service(assessments::summary)
                .service(management_reviews::list)
                .service(management_reviews::create)
                .service(management_reviews::get)
                .service(management_reviews::update)
                .service(management_reviews::remove)
                .service(management_reviews::transition)
                .service(management_reviews::add_action)
                .service(reports::objectives)
                .service(reports::corrective_actions)
                .service(imports::import)
                .service(audit_trail::list)
                .service(audit_trail::verify)
                .service(events::feed)
                .service(webhooks::list)
                .service(webhooks::create)
                .service(webhooks::get)
                .service(webhooks::update)
                .service(webhooks::remove)
                .service(webhooks::rotate_secret)
                .service(webhooks::ping)
                .service(webhooks::deliveries)
                .service(webhooks::redeliver),
        );
}

/// Unknown routes: 405 with `Allow` when the path exists under another method, else 404.
/// The problem middleware turns both into problem documents.
pub async fn fallback(
    req: HttpRequest,
    table: Data<route_table::RouteTable>,
) -> Result<HttpResponse, ApiError> {
    let allowed = table.methods_for(req.path());
    if allowed.is_empty() {
        return Err(ApiError::new(
            Code::NotFound,
            format!("no resource at {}", req.path()),
        ));
    }
    let allow = (header::ALLOW, allowed.join(", "));
    if req.method() == actix_web::http::Method::OPTIONS {
        return Ok(HttpResponse::NoContent().insert_header(allow).finish());
    }
    Ok(HttpResponse::MethodNotAllowed()
        .insert_header(allow)
        .finish())
}
