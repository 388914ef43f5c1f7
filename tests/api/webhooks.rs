//! Webhook subscriptions and their deliveries, against a real HTTP receiver in the test.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::both;
use crate::helpers::{Backend, TestApp, assert_problem};

const BASE: &str = "/api/v1/webhooks";

/// Quick retries, and private targets allowed (the receiver is on 127.0.0.1).
pub const DELIVERING: &[(&str, &str)] = &[
    ("ITSMS__WEBHOOKS__DELIVER", "true"),
    ("ITSMS__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true"),
    ("ITSMS__WEBHOOKS__POLL_INTERVAL_MS", "50"),
    ("ITSMS__WEBHOOKS__BACKOFF_BASE_MS", "50"),
    ("ITSMS__WEBHOOKS__BACKOFF_MAX_MS", "200"),
    ("ITSMS__WEBHOOKS__MAX_ATTEMPTS", "3"),
    ("ITSMS__WEBHOOKS__TIMEOUT_MS", "3000"),
    ("ITSMS__WEBHOOKS__LEASE_SECS", "10"),
];

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub status: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A small HTTP server on a free port that records every request and answers each with
/// the next status of its script (200 once the script is used up).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    pub async fn start(script: &[u16], delay: Duration) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let receiver = Receiver {
            url,
            received: Arc::default(),
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
        };
        let this = receiver.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let this = this.clone();
                tokio::spawn(async move {
                    let Some((path, headers, body)) = read_request(&mut socket).await else {
                        return;
                    };
                    tokio::time::sleep(delay).await;
                    let status = this.script.lock().unwrap().pop_front().unwrap_or(200);
                    this.received.lock().unwrap().push(Received {
                        path,
                        headers,
                        body,
                        status,
                    });
                    let answer = format!(
                        "HTTP/1.1 {status} Scripted\r\ncontent-type: text/plain\r\ncontent-length: 8\r\nconnection: close\r\n\r\nanswered"
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        receiver
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `done` holds for what was received (at most 20 s).
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        for _ in 0..400 {
            let got = self.received();
            if done(&got) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {what}: {:#?}", self.received());
    }
}

async fn read_request(
    socket: &mut tokio::net::TcpStream,
) -> Option<(String, HashMap<String, String>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((path, headers, body))
}

/// Verifies a delivery as the README tells receivers to: HMAC-SHA256 over
/// `{webhook-id}.{webhook-timestamp}.{body}` with the base64-decoded part of the secret.
pub fn verify(secret: &str, r: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    let signed = format!(
        "{}.{}.",
        r.headers["webhook-id"], r.headers["webhook-timestamp"]
    );
    mac.update(signed.as_bytes());
    mac.update(&r.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    r.headers["webhook-signature"]
        .split(' ')
        .any(|s| s == expected)
}

pub async fn subscribe(app: &TestApp, url: &str, types: Value) -> Value {
    let (status, body) = app
        .post(
            BASE,
            &app.admin_token,
            json!({"url": url, "event_types": types, "description": "Test receiver"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

pub async fn corrective_action(app: &TestApp, title: &str) -> String {
    let (status, body) = app
        .post(
            "/api/v1/corrective-actions",
            &app.admin_token,
            json!({"title": title, "nonconformity": "Found in a review", "source": "incident"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_string()
}

async fn log(app: &TestApp, id: &str) -> Vec<Value> {
    let (status, body) = app
        .get(
            &format!("{BASE}/{id}/deliveries?sort=event_seq&limit=200"),
            &app.admin_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// Waits until every delivery of the subscription is delivered or failed.
async fn settled(app: &TestApp, id: &str, count: usize) -> Vec<Value> {
    for _ in 0..400 {
        let items = log(app, id).await;
        if items.len() >= count && items.iter().all(|d| d["status"] != "pending") {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("deliveries did not settle: {:#?}", log(app, id).await);
}

async fn spawn_delivering(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, DELIVERING).await
}

/// Runs a test body once per backend with the delivery worker on.
macro_rules! delivering {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = spawn_delivering(Backend::Sqlite).await.unwrap();
                ($body)(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = spawn_delivering(Backend::Postgres).await else {
                    return;
                };
                ($body)(app).await;
            }
        }
    };
}

both!(crud_secret_and_access, |app: TestApp| async move {
    let allowed = app
        .replica(&[("ITSMS__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true")])
        .await;
    let (status, made, headers) = allowed
        .call_full(
            Method::POST,
            BASE,
            &allowed.admin_token,
            Some(json!({"url": "http://127.0.0.1:9/hook",
                    "event_types": ["finding.created", "finding.created", "audit.transitioned"]})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["id"].as_str().unwrap().to_string();
    let secret = made["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(STANDARD.decode(&secret[6..]).unwrap().len(), 32);
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(headers["location"], format!("{BASE}/{id}"));
    assert_eq!(made["status"], "active");
    assert_eq!(
        made["event_types"],
        json!(["finding.created", "audit.transitioned"])
    );

    let path = format!("{BASE}/{id}");
    let (status, read) = app.get(&path, &app.admin_token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(read.get("secret").is_none(), "{read}");

    let (status, _, _) = app
        .if_match(Method::PATCH, &path, Some(json!({"status": "paused"})), 7)
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, paused, headers) = app
        .if_match(
            Method::PATCH,
            &path,
            Some(json!({"status": "paused", "description": "Off for now"})),
            1,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{paused}");
    assert_eq!(paused["status"], "paused");
    assert_eq!(headers["etag"], "\"2\"");
    let (status, _) = app
        .post(&format!("{path}/ping"), &app.admin_token, json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a paused subscription is not pinged"
    );

    // A URL is checked again when it changes: this service refuses private targets.
    let (status, body) = app
        .patch(
            &path,
            &app.admin_token,
            json!({"url": "http://10.0.0.7/hook"}),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(body["errors"][0]["field"], "url");

    let (status, rotated) = app
        .post(
            &format!("{path}/rotate-secret"),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    assert_eq!(rotated["version"], 3);

    let (status, list) = app
        .get(
            &format!("{BASE}?status=paused&event_type=finding.created"),
            &app.admin_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0].get("secret").is_none());
    let (_, list) = app
        .get(&format!("{BASE}?status=active"), &app.admin_token)
        .await;
    assert_eq!(list["items"], json!([]));
    let (_, list) = app
        .get(
            &format!("{BASE}?event_type=process.transitioned"),
            &app.admin_token,
        )
        .await;
    assert_eq!(list["items"], json!([]));

    // The audit trail records every change, never a secret.
    let (_, trail) = app
        .get(
            &format!("/api/v1/audit-trail?entity_id={id}"),
            &app.admin_token,
        )
        .await;
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "update", "rotate_secret"]);
    let text = trail.to_string();
    assert!(!text.contains(&secret) && !text.contains(new_secret) && !text.contains("whsec_"));
    assert_eq!(
        trail["items"][2]["changes"]["secret_rotated_at"]["before"],
        made["secret_rotated_at"]
    );

    // Bad input.
    for (body, field) in [
        (
            json!({"url": "ftp://example.com/x", "event_types": ["*"]}),
            "url",
        ),
        (
            json!({"url": "https://example.com/x", "event_types": []}),
            "event_types",
        ),
        (
            json!({"url": "https://example.com/x", "event_types": ["*", "finding.created"]}),
            "event_types",
        ),
        (
            json!({"url": "https://example.com/x", "event_types": ["process.created"]}),
            "event_types",
        ),
    ] {
        let (status, problem) = app.post(BASE, &app.admin_token, body).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert!(
            problem["errors"][0]["field"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{problem}"
        );
    }

    // Only admins; nobody without a token.
    for role in ["manager", "auditor", "viewer", "contributor"] {
        let token = app.token_for(role).await;
        for (method, p) in [
            (Method::GET, BASE.to_string()),
            (Method::POST, BASE.to_string()),
            (Method::GET, path.clone()),
            (Method::PATCH, path.clone()),
            (Method::DELETE, path.clone()),
            (Method::GET, format!("{path}/deliveries")),
            (Method::POST, format!("{path}/ping")),
            (Method::POST, format!("{path}/rotate-secret")),
        ] {
            let body = (method != Method::GET && method != Method::DELETE)
                .then(|| json!({"url": "https://example.com/", "event_types": ["*"]}));
            let (status, problem) = app.call(method.clone(), &p, &token, body).await;
            assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        }
        let (status, _, _) = app.anon(Method::GET, BASE, None, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    let (status, _, _) = app.if_match(Method::DELETE, &path, None, 3).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&path, &app.admin_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});

both!(private_targets_are_refused, |app: TestApp| async move {
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ] {
        let (status, problem) = app
            .post(
                BASE,
                &app.admin_token,
                json!({"url": url, "event_types": ["*"]}),
            )
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["field"], "url", "{url}: {problem}");
    }

    // Checked again at delivery: a target that became private (here: one an instance
    // allowing private targets accepted) is refused by an instance that does not.
    let receiver = Receiver::start(&[], Duration::ZERO).await;
    let lenient = app
        .replica(&[("ITSMS__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true")])
        .await;
    let sub = subscribe(&lenient, &receiver.url, json!(["*"])).await;
    let _strict = app
        .replica(&[
            ("ITSMS__WEBHOOKS__DELIVER", "true"),
            ("ITSMS__WEBHOOKS__POLL_INTERVAL_MS", "50"),
            ("ITSMS__WEBHOOKS__MAX_ATTEMPTS", "1"),
        ])
        .await;
    corrective_action(&app, "Refused").await;
    let items = settled(&app, sub["id"].as_str().unwrap(), 1).await;
    assert_eq!(items[0]["status"], "failed");
    assert_eq!(items[0]["response_status"], Value::Null);
    let error = items[0]["error"].as_str().unwrap();
    assert!(error.starts_with("target refused"), "{error}");
    assert!(receiver.received().is_empty());
});

delivering!(signed_in_order_with_retries, |app: TestApp| async move {
    // The first attempt fails; the events behind it wait for its retry.
    let receiver = Receiver::start(&[500], Duration::ZERO).await;
    let sub = subscribe(
        &app,
        &format!("{}/hook", receiver.url),
        json!([
            "corrective_action.created",
            "corrective_action.transitioned"
        ]),
    )
    .await;
    let secret = sub["secret"].as_str().unwrap();
    let id = sub["id"].as_str().unwrap();
    let first = corrective_action(&app, "First").await;
    corrective_action(&app, "Second").await;
    let (status, _) = app
        .post(
            &format!("/api/v1/corrective-actions/{first}/transitions"),
            &app.admin_token,
            json!({"action": "cancel", "reason": "Raised twice"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let got = receiver.wait_for("four requests", |r| r.len() >= 4).await;
    assert_eq!(got.len(), 4);
    for r in &got {
        assert!(verify(secret, r), "signature of {r:?}");
        assert_eq!(r.path, "/hook");
        assert_eq!(r.headers["content-type"], "application/json");
        let ts: i64 = r.headers["webhook-timestamp"].parse().unwrap();
        assert!((ts - app.clock.now().timestamp()).abs() < 60);
        assert_eq!(r.json()["id"], r.headers["webhook-id"].as_str());
    }
    assert_eq!(got[0].status, 500);
    assert_eq!(
        got[0].headers["webhook-id"], got[1].headers["webhook-id"],
        "the retry comes first, with the same id"
    );
    let seqs: Vec<i64> = got[1..]
        .iter()
        .map(|r| r.json()["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    let bodies: Vec<Value> = got[1..].iter().map(Received::json).collect();
    assert_eq!(bodies[0]["type"], "corrective_action.created");
    assert_eq!(
        bodies[0]["resource"],
        json!({"type": "corrective_action", "id": first})
    );
    assert_eq!(bodies[0]["data"]["title"], "First");
    assert!(bodies[0]["audit_seq"].as_i64().is_some());
    assert_eq!(bodies[2]["type"], "corrective_action.transitioned");
    assert_eq!(
        bodies[2]["data"],
        json!({"action": "cancel", "from": "open", "to": "cancelled"})
    );

    let items = settled(&app, id, 3).await;
    assert_eq!(items[0]["status"], "delivered");
    assert_eq!(items[0]["attempts"], 2);
    assert_eq!(items[0]["response_status"], 200);
    assert_eq!(items[0]["response_body"], "answered");
    assert!(items[0]["latency_ms"].as_i64().is_some());
    assert_eq!(items[0]["next_attempt_at"], Value::Null);
    assert_eq!(items[0]["event"]["type"], "corrective_action.created");
    assert!(items[1..].iter().all(|d| d["attempts"] == 1));
});

delivering!(
    failed_after_max_attempts_then_redelivered_and_pinged,
    |app: TestApp| async move {
        // max_attempts is 3: the first event fails for good, and the next goes on.
        let receiver = Receiver::start(&[500, 503, 302], Duration::ZERO).await;
        let sub = subscribe(&app, &receiver.url, json!(["*"])).await;
        let id = sub["id"].as_str().unwrap();
        corrective_action(&app, "One").await;
        corrective_action(&app, "Two").await;
        let items = settled(&app, id, 2).await;
        assert_eq!(items[0]["status"], "failed");
        assert_eq!(items[0]["attempts"], 3);
        assert_eq!(items[0]["response_status"], 302);
        assert_eq!(items[0]["error"], "redirects are not followed");
        assert!(items[0]["completed_at"].is_string());
        assert_eq!(items[1]["status"], "delivered");
        let got = receiver.received();
        assert_eq!(got.len(), 4);
        assert_eq!(got[3].json()["data"]["title"], "Two");

        let first = items[0]["id"].as_str().unwrap();
        let (status, queued) = app
            .post(
                &format!("{BASE}/{id}/deliveries/{first}/redeliver"),
                &app.admin_token,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
        assert_eq!(queued["redelivery_of"], first);
        assert_eq!(queued["event"]["id"], items[0]["event"]["id"]);
        let (status, ping) = app
            .post(&format!("{BASE}/{id}/ping"), &app.admin_token, json!({}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{ping}");
        assert_eq!(ping["event"]["type"], "webhook.ping");
        let got = receiver
            .wait_for("the redelivery and the ping", |r| r.len() >= 6)
            .await;
        assert_eq!(got[4].json()["data"]["title"], "One");
        assert_eq!(got[4].headers["webhook-id"], got[0].headers["webhook-id"]);
        assert_eq!(got[5].json()["type"], "webhook.ping");
        let items = settled(&app, id, 4).await;
        assert!(items.iter().filter(|d| d["status"] == "delivered").count() == 3);
        // A ping goes to its subscription only, and stays out of the feed.
        let (_, feed) = app.get("/api/v1/events?limit=200", &app.admin_token).await;
        assert!(
            feed["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["type"] != "webhook.ping")
        );

        let (status, _) = app
            .post(
                &format!("{BASE}/{id}/deliveries/{}/redeliver", uuid::Uuid::now_v7()),
                &app.admin_token,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
);

both!(
    events_written_while_stopped_are_delivered_after_start,
    |app: TestApp| async move {
        // This instance does not deliver (as a service that is down would not).
        let receiver = Receiver::start(&[], Duration::ZERO).await;
        let allowed = app
            .replica(&[("ITSMS__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true")])
            .await;
        let sub = subscribe(
            &allowed,
            &receiver.url,
            json!(["corrective_action.created"]),
        )
        .await;
        let id = sub["id"].as_str().unwrap();
        for title in ["A", "B", "C"] {
            corrective_action(&app, title).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(receiver.received().is_empty());
        let items = log(&app, id).await;
        assert_eq!(items.len(), 3);
        assert!(
            items
                .iter()
                .all(|d| d["status"] == "pending" && d["attempts"] == 0)
        );

        // Started (again), the worker finds them in the outbox.
        let _started = app.replica(DELIVERING).await;
        let got = receiver
            .wait_for("three deliveries", |r| r.len() >= 3)
            .await;
        let titles: Vec<Value> = got
            .iter()
            .map(|r| r.json()["data"]["title"].clone())
            .collect();
        assert_eq!(titles, [json!("A"), json!("B"), json!("C")]);
        settled(&app, id, 3).await;
    }
);

both!(
    two_workers_never_deliver_one_event_twice,
    |app: TestApp| async move {
        // Two instances on one database, both delivering, to a slow receiver.
        let receiver = Receiver::start(&[], Duration::from_millis(30)).await;
        let one = app.replica(DELIVERING).await;
        let two = app.replica(DELIVERING).await;
        let subs = [
            subscribe(&one, &format!("{}/a", receiver.url), json!(["*"])).await,
            subscribe(
                &one,
                &format!("{}/b", receiver.url),
                json!(["corrective_action.created"]),
            )
            .await,
        ];
        for i in 0..8 {
            let writer = if i % 2 == 0 { &one } else { &two };
            corrective_action(writer, &format!("Action {i}")).await;
        }
        let got = receiver
            .wait_for("sixteen deliveries", |r| r.len() >= 16)
            .await;
        // Give a duplicate time to show up.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let got = if receiver.received().len() > got.len() {
            receiver.received()
        } else {
            got
        };
        assert_eq!(got.len(), 16, "{got:#?}");
        let distinct: HashSet<(String, String)> = got
            .iter()
            .map(|r| (r.path.clone(), r.headers["webhook-id"].clone()))
            .collect();
        assert_eq!(distinct.len(), 16);
        for (sub, path) in subs.iter().zip(["/a", "/b"]) {
            let seqs: Vec<i64> = got
                .iter()
                .filter(|r| r.path == path)
                .map(|r| r.json()["seq"].as_i64().unwrap())
                .collect();
            assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "{path} in order: {seqs:?}"
            );
            let items = settled(&app, sub["id"].as_str().unwrap(), 8).await;
            assert!(
                items
                    .iter()
                    .all(|d| d["status"] == "delivered" && d["attempts"] == 1)
            );
        }
    }
);
