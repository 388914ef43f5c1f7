//! The delivery worker: a background task that runs the scheduled check and delivers the
//! outbox to webhook subscriptions, signed with the Standard Webhooks scheme.
//!
//! Each subscription's deliveries go out one at a time in event order: only the first
//! pending delivery of a subscription is ever attempted, so a later event waits while an
//! earlier one waits for a retry. A delivery is claimed with a lease (a compare-and-set
//! `UPDATE`), so replicas never attempt the same delivery at once; a worker that dies
//! leaves a lease that runs out, and another takes the delivery over (at least once).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sea_orm::DatabaseConnection;
use tokio::task::JoinSet;

use super::events::{EventSignal, by_seq, emit_passed_dates};
use super::webhooks::check_target;
use crate::clock::Clock;
use crate::config::{EventSettings, WebhookSettings};
use crate::domain::webhook::{DeliveryStatus, backoff_ms, is_global, secret_key, signature};
use crate::error::Result;
use crate::persistence::webhooks::{self as stored, Attempt, Due};

/// The start of an answer's body kept in the delivery log.
const RESPONSE_BODY_MAX: usize = 1024;

/// Resolves target names and refuses those that lead to a non-global address (unless
/// allowed), at the moment of connecting: a name that changed since it was checked
/// cannot lead the request into the private network.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private && let Some(bad) = addrs.iter().find(|a| !is_global(a.ip())) {
                return Err(format!(
                    "{host} resolves to {}, which is not a public address",
                    bad.ip()
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client of deliveries: rustls (with the ring provider the database driver
/// uses, and the Mozilla roots), no redirects, no proxy from the environment, the
/// configured timeouts, and the guarded resolver.
fn client(settings: &WebhookSettings) -> anyhow::Result<reqwest::Client> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // Other clients of the process (none in the service) find the same provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
        .timeout(Duration::from_millis(settings.timeout_ms))
        .dns_resolver(Arc::new(GuardedResolver {
            allow_private: settings.allow_private_targets,
        }))
        .user_agent(concat!("itsms-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

struct Inner {
    db: DatabaseConnection,
    clock: Clock,
    signal: Arc<EventSignal>,
    webhooks: WebhookSettings,
    events: EventSettings,
    client: reqwest::Client,
    /// Names this worker in the leases it takes.
    worker_id: String,
}

/// The worker. Cloning shares it.
#[derive(Clone)]
pub struct Dispatcher(Arc<Inner>);

impl Dispatcher {
    pub fn new(
        db: DatabaseConnection,
        clock: Clock,
        signal: Arc<EventSignal>,
        webhooks: WebhookSettings,
        events: EventSettings,
    ) -> anyhow::Result<Self> {
        Ok(Dispatcher(Arc::new(Inner {
            client: client(&webhooks)?,
            db,
            clock,
            signal,
            webhooks,
            events,
            worker_id: format!("{}-{}", std::process::id(), super::new_id()),
        })))
    }

    /// Whether there is anything for the worker to do in this process.
    pub fn has_work(&self) -> bool {
        self.0.webhooks.deliver || self.0.events.scheduled_checks
    }

    /// Runs until the task is dropped: the scheduled check every
    /// `events.schedule_interval_secs`, and deliveries whenever events are committed here,
    /// whenever an attempt ends (the next of its queue may be due), and every
    /// `webhooks.poll_interval_ms` for those of other replicas and for retries. Up to
    /// `webhooks.concurrency` attempts run at once, each to another subscription, so a slow
    /// receiver holds up only its own queue.
    pub async fn run(self) {
        let inner = &self.0;
        let poll = Duration::from_millis(inner.webhooks.poll_interval_ms);
        let schedule = Duration::from_secs(inner.events.schedule_interval_secs);
        let capacity = inner.webhooks.concurrency as usize;
        let mut next_check = tokio::time::Instant::now();
        let mut in_flight: JoinSet<Result<()>> = JoinSet::new();
        loop {
            let notified = inner.signal.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if inner.events.scheduled_checks && tokio::time::Instant::now() >= next_check {
                match emit_passed_dates(&inner.db, inner.clock.now()).await {
                    Ok(0) => {}
                    Ok(_) => inner.signal.notify(),
                    Err(e) => tracing::warn!(error = %e, "the scheduled event check failed"),
                }
                next_check = tokio::time::Instant::now() + schedule;
            }
            if inner.webhooks.deliver && in_flight.len() < capacity {
                let free = capacity - in_flight.len();
                match self.start_due(free, &mut in_flight).await {
                    // As many as there was room for: more may be due.
                    Ok(started) if started == free => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "looking for webhook deliveries failed"),
                }
            }
            let mut wait = poll;
            if inner.events.scheduled_checks {
                wait = wait.min(next_check.saturating_duration_since(tokio::time::Instant::now()));
            }
            tokio::select! {
                Some(done) = in_flight.join_next(), if !in_flight.is_empty() => log_outcome(done),
                _ = &mut notified => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Claims up to `room` deliveries due now (the first of each active subscription's
    /// queue) and starts their attempts; returns how many it started.
    async fn start_due(&self, room: usize, in_flight: &mut JoinSet<Result<()>>) -> Result<usize> {
        let inner = &self.0;
        let now = inner.clock.now();
        let lease = chrono::Duration::seconds(inner.webhooks.lease_secs as i64);
        let due = stored::due(&inner.db, now, room as u64).await?;
        let mut started = 0;
        for delivery in due {
            if stored::claim(&inner.db, &delivery.id, &inner.worker_id, now, now + lease).await? {
                let this = self.clone();
                in_flight.spawn(async move { this.attempt(delivery).await });
                started += 1;
            }
        }
        Ok(started)
    }

    async fn attempt(&self, delivery: Due) -> Result<()> {
        let inner = &self.0;
        let event = by_seq(&inner.db, delivery.event_seq).await?;
        let body = serde_json::to_vec(&event).expect("JSON serializes");
        let started = Instant::now();
        let at = inner.clock.now();
        let outcome = self.send(&delivery, &event.id, body, at).await;
        let latency_ms = started.elapsed().as_millis() as i64;
        let attempts = u32::try_from(delivery.attempts).unwrap_or(0) + 1;
        let succeeded = outcome.status.is_some_and(|s| (200..300).contains(&s));
        let status = if succeeded {
            DeliveryStatus::Delivered
        } else if attempts >= inner.webhooks.max_attempts {
            DeliveryStatus::Failed
        } else {
            DeliveryStatus::Pending
        };
        let jitter = rand::rng().random_range(0.5..=1.0);
        let delay = backoff_ms(
            inner.webhooks.backoff_base_ms,
            inner.webhooks.backoff_max_ms,
            attempts,
            jitter,
        );
        let next_attempt_at = inner.clock.now() + chrono::Duration::milliseconds(delay as i64);
        if !succeeded {
            tracing::info!(
                delivery = %delivery.id,
                subscription = %delivery.subscription_id,
                attempts,
                status = outcome.status,
                error = outcome.error.as_deref().unwrap_or(""),
                "a webhook delivery attempt failed"
            );
        }
        let recorded = stored::record_attempt(
            &inner.db,
            &delivery.id,
            &inner.worker_id,
            Attempt {
                at,
                status,
                next_attempt_at,
                response_status: outcome.status.map(i32::from),
                latency_ms: Some(latency_ms),
                response_body: outcome.body,
                error: outcome.error,
            },
        )
        .await?;
        if !recorded {
            tracing::warn!(
                delivery = %delivery.id,
                "a webhook delivery's lease ran out before its attempt was recorded; it will be attempted again"
            );
        }
        Ok(())
    }

    async fn send(
        &self,
        delivery: &Due,
        event_id: &str,
        body: Vec<u8>,
        at: DateTime<Utc>,
    ) -> Outcome {
        let inner = &self.0;
        // Checked again at each attempt: where a name leads can change.
        if let Err(reason) = check_target(&delivery.url, inner.webhooks.allow_private_targets).await
        {
            return Outcome::error(format!("target refused: {reason}"));
        }
        let Some(key) = secret_key(&delivery.secret) else {
            return Outcome::error("the subscription's secret cannot be read".into());
        };
        let timestamp = at.timestamp();
        let signed = signature(&key, event_id, timestamp, &body);
        let sent = inner
            .client
            .post(&delivery.url)
            .header("content-type", "application/json")
            .header("webhook-id", event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signed)
            .body(body)
            .send()
            .await;
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return Outcome::error(describe(&e)),
        };
        let status = response.status().as_u16();
        let mut kept: Vec<u8> = Vec::new();
        let mut error = None;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    kept.extend_from_slice(&chunk[..chunk.len().min(RESPONSE_BODY_MAX * 4)]);
                    if kept.len() >= RESPONSE_BODY_MAX * 4 {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    error = Some(describe(&e));
                    break;
                }
            }
        }
        let text: String = String::from_utf8_lossy(&kept)
            .chars()
            .filter(|c| *c != '\0')
            .take(RESPONSE_BODY_MAX)
            .collect();
        if (300..400).contains(&status) && error.is_none() {
            error = Some("redirects are not followed".into());
        }
        Outcome {
            status: Some(status),
            body: Some(text).filter(|t| !t.is_empty()),
            error,
        }
    }
}

fn log_outcome(done: std::result::Result<Result<()>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "recording a webhook delivery failed"),
        Err(e) => tracing::error!(error = %e, "a webhook delivery task failed"),
    }
}

struct Outcome {
    status: Option<u16>,
    body: Option<String>,
    error: Option<String>,
}

impl Outcome {
    fn error(message: String) -> Self {
        Outcome {
            status: None,
            body: None,
            error: Some(message),
        }
    }
}

/// A transport error, with its causes, without the URL (it is in the subscription).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(RESPONSE_BODY_MAX).collect()
}
