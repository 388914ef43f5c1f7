//! Assembles the application: the one place where configuration, database, keys and routes meet.

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_http::{HttpService, Protocol, error::DispatchError};
use actix_rt::net::TcpStream;
use actix_service::{ServiceFactoryExt, fn_service, map_config};
use actix_web::App;
use actix_web::dev::AppConfig;
use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::web::{self, Data, PayloadConfig, QueryConfig};
use utoipa_swagger_ui::SwaggerUi;

use crate::clock::Clock;
use crate::config::Settings;
use crate::http::head_too_large::ProblemOn431;
use crate::http::import_body::ImportLimit;
use crate::http::middleware::{self, Idempotency, Metrics};
use crate::http::openapi;
use crate::http::problem::{ApiError, Code};
use crate::http::route_table::RouteTable;
use crate::http::{AppState, FeedWait, csv, fallback, routes};
use crate::service::auth::Auth;
use crate::service::bootstrap;
use crate::service::delivery::Dispatcher;
use crate::service::events::EventSignal;

pub struct Application {
    port: u16,
    clock: Clock,
    server: Server,
    worker: Option<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Prepares the database (migrations, catalog, first admin) and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = bootstrap::database(&settings).await?;
        let audit_key = bootstrap::audit_chain(&db, &settings).await?;
        if let Some(password) = bootstrap::first_admin(&db, &settings).await? {
            tracing::warn!(
                email = %settings.bootstrap.admin_email,
                password = %password,
                "created the first admin with a generated password; it is shown only this once"
            );
        }
        let keys = bootstrap::signing_keys(&settings)?;
        let clock = Clock::default();
        let events = Arc::new(EventSignal::default());
        let dispatcher = Dispatcher::new(
            db.clone(),
            clock.clone(),
            events.clone(),
            settings.webhooks.clone(),
            settings.events.clone(),
        )?;
        let state = Data::new(AppState {
            db,
            auth: Auth::new(keys, &settings.auth, clock.clone()),
            clock: clock.clone(),
            trusted_proxies: settings.trusted_proxies(),
            audit_key,
            events,
            feed_wait: FeedWait {
                max_wait_secs: settings.events.max_wait_secs,
                recheck_ms: settings.events.poll_interval_ms,
            },
            allow_private_targets: settings.webhooks.allow_private_targets,
        });
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot listen on {}:{} (server.host, server.port): {e}",
                    settings.server.host,
                    settings.server.port
                )
            })?;
        let port = listener.local_addr()?.port();
        let server = serve(settings, state, listener)?;
        // The delivery worker and the scheduled check run beside the server.
        let worker = dispatcher
            .has_work()
            .then(|| tokio::spawn(dispatcher.run()));
        Ok(Application {
            port,
            clock,
            server,
            worker,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The clock every request reads; tests move it forward instead of sleeping.
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    /// Runs until SIGTERM/SIGINT; in-flight requests finish first.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stopped = self.server.await;
        if let Some(worker) = self.worker {
            // An attempt cut short is attempted again once its lease runs out.
            worker.abort();
        }
        stopped
    }
}

fn cors(origins: &[String]) -> Cors {
    let origins: Vec<&String> = origins.iter().filter(|o| !o.trim().is_empty()).collect();
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            "authorization",
            "content-type",
            "if-match",
            "idempotency-key",
            "x-request-id",
        ])
        .expose_headers([
            "etag",
            "location",
            "retry-after",
            "x-request-id",
            "idempotent-replayed",
            "x-next-cursor",
        ])
        .max_age(3600);
    if origins.iter().any(|o| o.as_str() == "*") {
        cors = cors.allow_any_origin();
    } else {
        for origin in origins {
            cors = cors.allowed_origin(origin);
        }
    }
    cors
}

fn serve(
    settings: Settings,
    state: Data<AppState>,
    listener: TcpListener,
) -> anyhow::Result<Server> {
    // Built once, outside the per-worker factory.
    let document = openapi::document();
    let route_table = Data::new(RouteTable::from_document(&document));
    let metrics = Data::new(Metrics::default());
    let idempotency = Data::new(Idempotency::new(chrono::Duration::seconds(
        settings.limits.idempotency_lease_secs as i64,
    )));
    let max_body = settings.limits.max_body_bytes;
    let import_limit = Data::new(ImportLimit(settings.limits.max_import_bytes));
    let origins = Arc::new(settings.cors.allowed_origins.clone());
    let app = move || {
        App::new()
            .app_data(state.clone())
            .app_data(route_table.clone())
            .app_data(metrics.clone())
            .app_data(idempotency.clone())
            .app_data(import_limit.clone())
            .app_data(PayloadConfig::new(max_body))
            // The query rules catch bad values first, naming the parameter; what is left
            // (a parameter given twice) names it when the parser does.
            .app_data(QueryConfig::default().error_handler(|e, _| {
                let message = e.to_string();
                let field = message.split('`').nth(1).unwrap_or("query").to_string();
                ApiError::field(Code::ValidationFailed, field, message).into()
            }))
            .app_data(
                web::PathConfig::default()
                    .error_handler(|e, _| ApiError::new(Code::NotFound, e.to_string()).into()),
            )
            .configure(|cfg| {
                routes(&mut utoipa_actix_web::service_config::ServiceConfig::new(
                    cfg,
                ))
            })
            .service(
                SwaggerUi::new("/docs/{_:.*}")
                    .external_url_unchecked("/api-docs/openapi.json", document.clone()),
            )
            .default_service(web::to(fallback))
            .wrap(from_fn(csv::exports))
            .wrap(from_fn(middleware::signal_events))
            .wrap(from_fn(middleware::not_modified))
            .wrap(from_fn(middleware::query_rules))
            .wrap(from_fn(middleware::problems))
            // Outside the problem wrapping, so a replayed error is the document first sent.
            .wrap(from_fn(middleware::idempotency))
            .wrap(cors(&origins))
            // Again outside CORS, so its refusals (a preflight from a foreign origin) are problems too.
            .wrap(from_fn(middleware::problems))
            .wrap(Compress::default())
            .wrap(from_fn(middleware::metrics))
            .wrap(from_fn(middleware::request_id))
    };
    // Each connection is wrapped so that the one answer the HTTP parser gives by itself (431
    // for an oversized head) is a problem document too.
    let connection = move || {
        fn_service(|io: TcpStream| async move {
            let peer = io.peer_addr().ok();
            Ok::<_, DispatchError>((ProblemOn431::new(io), Protocol::Http1, peer))
        })
        .and_then(HttpService::build().finish(map_config(app(), |_| AppConfig::default())))
    };
    let mut server = actix_server::Server::build()
        .shutdown_timeout(settings.server.shutdown_timeout_secs)
        .listen("itsms", listener, connection)?;
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    Ok(server.run())
}
