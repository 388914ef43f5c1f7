//! Webhook subscriptions: what they may name and where they may point, how a delivery is
//! signed (the Standard Webhooks scheme) and when a failed one is tried again.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;

use super::DomainError;
use super::event::EventType;
use super::validation::Validator;
use crate::{editable_fields, text_enum};

pub const URL_MAX: usize = 2048;
pub const DESCRIPTION_MAX: usize = 1000;
pub const EVENT_TYPES_MAX: usize = 16;
/// The prefix of a signing secret as it is shown (`whsec_<base64>`).
pub const SECRET_PREFIX: &str = "whsec_";

text_enum! {
    /// An event type a subscription may name, or `*` for every type (also those added later).
    pub enum SubscribedEventType {
        All => "*",
        CorrectiveActionCreated => "corrective_action.created",
        CorrectiveActionTransitioned => "corrective_action.transitioned",
        CorrectiveActionOverdue => "corrective_action.overdue",
        FindingCreated => "finding.created",
        AuditTransitioned => "audit.transitioned",
        ProcessTransitioned => "process.transitioned",
        ObjectiveOffTrack => "objective.off_track",
        DocumentReviewDue => "document.review_due",
    }
}

text_enum! {
    /// `active` subscriptions receive events; `paused` ones get no new deliveries, and their
    /// queued deliveries wait until they are active again.
    pub enum SubscriptionStatus { Active => "active", Paused => "paused" }
}

text_enum! {
    /// `pending` (waiting for its first attempt or a retry), `delivered` (a 2xx answer) or
    /// `failed` (every attempt failed).
    pub enum DeliveryStatus { Pending => "pending", Delivered => "delivered", Failed => "failed" }
}

editable_fields! {
    /// The editable fields of a webhook subscription.
    pub struct SubscriptionFields / SubscriptionPatch {
        /// Where events are POSTed: an `http` or `https` URL whose host resolves to public
        /// addresses only (unless the service allows private targets).
        #[schema(example = "https://hooks.example.com/itsms", min_length = 1, max_length = 2048)]
        url: String,
        /// The event types to deliver (at least one), or `["*"]` for all of them, also
        /// types added later.
        #[schema(min_items = 1, max_items = 16)]
        event_types: Vec<SubscribedEventType>,
        /// `active` (the default) or `paused`.
        #[serde(default = "active")]
        status: SubscriptionStatus,
        #[serde(default)]
        #[schema(example = "Ticketing integration", max_length = 1000)]
        description: Option<String>,
    }
}

fn active() -> SubscriptionStatus {
    SubscriptionStatus::Active
}

/// Normalizes and validates a subscription's fields; where its host points is checked by
/// the service (that needs DNS).
pub fn validate(input: SubscriptionFields) -> Result<SubscriptionFields, DomainError> {
    let mut v = Validator::new();
    let url = v.required_text("url", &input.url, URL_MAX);
    if let Err(message) = parse_target(&url) {
        v.add("url", message);
    }
    if input.event_types.is_empty() {
        v.add("event_types", "must name at least one event type, or \"*\"");
    } else if input.event_types.len() > EVENT_TYPES_MAX {
        v.add(
            "event_types",
            format!("must have at most {EVENT_TYPES_MAX} items"),
        );
    } else if input.event_types.len() > 1 && input.event_types.contains(&SubscribedEventType::All) {
        v.add(
            "event_types",
            "\"*\" stands alone: it already means every type",
        );
    }
    let description = v.optional_text("description", input.description.as_deref(), DESCRIPTION_MAX);
    v.finish()?;
    Ok(SubscriptionFields {
        url,
        event_types: super::validation::dedup(&input.event_types),
        description,
        ..input
    })
}

/// A target URL: `http` or `https`, with a host, without credentials or a fragment.
pub fn parse_target(url: &str) -> Result<Url, &'static str> {
    let parsed = Url::parse(url).map_err(|_| "must be an absolute http or https URL")?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("must be an http or https URL");
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("must name a host");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials");
    }
    if parsed.fragment().is_some() {
        return Err("must not have a fragment");
    }
    Ok(parsed)
}

/// Whether a subscription whose `event_types` column holds `stored` (a JSON array) wants
/// an event of `event_type`.
pub fn wants(stored: &str, event_type: EventType) -> bool {
    let Ok(types) = serde_json::from_str::<Vec<String>>(stored) else {
        return false;
    };
    event_type.subscribable() && types.iter().any(|t| t == "*" || t == event_type.as_str())
}

/// Whether an address is one the public internet routes to. Loopback, private (RFC 1918,
/// unique local), link-local, unspecified, multicast, broadcast, shared (CGNAT),
/// documentation, benchmarking and reserved ranges are not; nor is an IPv4-mapped or
/// -translated IPv6 address of one.
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_global_v4(v4);
            }
            is_global_v6(v6)
        }
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        // shared address space (100.64.0.0/10)
        || (a == 100 && (b & 0xc0) == 64)
        // IETF protocol assignments (192.0.0.0/24)
        || (a == 192 && b == 0 && c == 0)
        // benchmarking (198.18.0.0/15)
        || (a == 198 && (b & 0xfe) == 18)
        // reserved (240.0.0.0/4)
        || a >= 240)
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // unique local fc00::/7
        || (s[0] & 0xfe00) == 0xfc00
        // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfe80
        // site-local (deprecated) fec0::/10
        || (s[0] & 0xffc0) == 0xfec0
        // documentation 2001:db8::/32
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        // IPv4-compatible, NAT64 (64:ff9b::/96 and 64:ff9b:1::/48) and discard (100::/64):
        // they lead to addresses judged elsewhere, or nowhere
        || (s[0..6] == [0, 0, 0, 0, 0, 0])
        || (s[0] == 0x64 && s[1] == 0xff9b)
        || (s[0] == 0x100 && s[1..4] == [0, 0, 0]))
}

/// The signing key of a secret shown as `whsec_<base64>`.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()
}

/// The `webhook-signature` header of the Standard Webhooks scheme:
/// `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The delay before retry number `attempt` (1 after the first failure): `base` doubled for
/// each earlier retry, at most `max`, then scaled by `jitter` (a factor in [0.5, 1]) so
/// that receivers coming back are not hit by every sender at once.
pub fn backoff_ms(base_ms: u64, max_ms: u64, attempt: u32, jitter: f64) -> u64 {
    let doubled = base_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(32));
    let capped = doubled.min(max_ms);
    (capped as f64 * jitter.clamp(0.5, 1.0)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_or_https_with_a_host() {
        assert!(parse_target("https://hooks.example.com/x").is_ok());
        assert!(parse_target("http://127.0.0.1:8080/x").is_ok());
        assert!(parse_target("ftp://example.com/").is_err());
        assert!(parse_target("file:///etc/passwd").is_err());
        assert!(parse_target("https://user:pw@example.com/").is_err());
        assert!(parse_target("not a url").is_err());
    }

    #[test]
    fn non_global_addresses_are_recognized() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "ff02::1",
        ] {
            assert!(!is_global(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"] {
            assert!(is_global(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn the_signature_follows_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn subscriptions_want_their_types() {
        assert!(wants(r#"["*"]"#, EventType::FindingCreated));
        assert!(!wants(r#"["*"]"#, EventType::WebhookPing));
        assert!(wants(
            r#"["finding.created","audit.transitioned"]"#,
            EventType::AuditTransitioned
        ));
        assert!(!wants(
            r#"["finding.created"]"#,
            EventType::AuditTransitioned
        ));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff_ms(1000, 60_000, 1, 1.0), 1000);
        assert_eq!(backoff_ms(1000, 60_000, 3, 1.0), 4000);
        assert_eq!(backoff_ms(1000, 60_000, 30, 1.0), 60_000);
        assert_eq!(backoff_ms(1000, 60_000, 2, 0.5), 1000);
    }

    #[test]
    fn star_stands_alone() {
        let fields = |types| SubscriptionFields {
            url: "https://example.com/".into(),
            event_types: types,
            status: SubscriptionStatus::Active,
            description: None,
        };
        assert!(validate(fields(vec![SubscribedEventType::All])).is_ok());
        assert!(validate(fields(vec![])).is_err());
        assert!(
            validate(fields(vec![
                SubscribedEventType::All,
                SubscribedEventType::FindingCreated
            ]))
            .is_err()
        );
    }
}
