//! Webhooks (推送): the tenant's changes posted to an integrator's HTTPS endpoint, signed
//! as the Standard Webhooks specification says (<https://www.standardwebhooks.com>). The
//! rules here are pure: which URLs an endpoint may have, how secrets read and sign, how
//! long a failed delivery waits before its next attempt, when it is given up (dead
//! letter), and when an endpoint that keeps failing is switched off.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::entity::EntityKind;
use crate::platform::change::Operation;
use crate::{ErrorCode, FieldError};

/// The longest endpoint URL.
pub const MAX_URL: usize = 500;
/// What a secret starts with, as in the specification.
pub const SECRET_PREFIX: &str = "whsec_";
/// How long a delivery is retried, from its first attempt (or from a redelivery), before
/// it is dead-lettered.
pub const RETRY_WINDOW: Duration = Duration::hours(24);
/// How long an endpoint may fail every attempt, with no success at all, before it is
/// disabled.
pub const DISABLE_AFTER: Duration = Duration::hours(24);
/// Deliveries one endpoint may have in flight at once: the default and the bounds.
pub const DEFAULT_IN_FLIGHT: i32 = 4;
pub const MAX_IN_FLIGHT: i32 = 16;
/// The longest overlap a rotated secret may keep signing alongside the new one.
pub const MAX_OVERLAP_HOURS: i32 = 72;
/// The first retry waits this long, each later one twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF_SECONDS: i64 = 10;
const MAX_BACKOFF: Duration = Duration::hours(2);

text_enum! {
    /// Whether an endpoint is delivered to.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum EndpointStatus {
        Active => "ACTIVE";
        /// Switched off by an admin, or by the server after [`DISABLE_AFTER`] of failures.
        Disabled => "DISABLED";
    }
}

text_enum! {
    /// Where one delivery stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum DeliveryStatus {
        /// Waiting for its first or next attempt (or being attempted).
        Pending => "PENDING";
        /// The endpoint answered 2xx.
        Delivered => "DELIVERED";
        /// Given up after [`RETRY_WINDOW`] of failures; `redeliver` tries it again.
        Dead => "DEAD";
    }
}

/// A registered endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// The kinds of record whose changes it is sent.
    pub kinds: Vec<EntityKind>,
    /// The user the endpoint receives as: it is sent the changes of records this user may
    /// see, through their role's scopes at the time of each change's fan-out.
    pub user_id: Uuid,
    pub max_in_flight: i32,
    pub status: EndpointStatus,
    /// Why the server disabled it, when it did.
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Since when every attempt has failed (none succeeded since); `None` when the last
    /// attempt succeeded.
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Until when the previous secret still signs alongside the current one.
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// The tenant's change sequence the endpoint has been given deliveries up to.
    pub cursor_seq: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// One event for one endpoint: the message the endpoint is sent, every attempt with the
/// same `webhook-id` (the delivery's id), so a receiver drops a repeat.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub seq: i64,
    pub entity: EntityKind,
    pub entity_id: Uuid,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub window_start: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_response_status: Option<i32>,
    pub last_error: Option<String>,
}

/// One attempt at a delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub delivery_id: Uuid,
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    /// The HTTP status the endpoint answered, `None` when there was no answer.
    pub response_status: Option<i32>,
    /// Why it failed without an answer (a timeout, a refused connection), or the start of
    /// a non-2xx answer's body.
    pub error: Option<String>,
    pub succeeded: bool,
}

/// Checks an endpoint URL: `https://` anywhere, plain `http://` only to this machine
/// (loopback), for tests and local receivers. No credentials in the URL.
pub fn parse_url(raw: &str) -> Result<String, FieldError> {
    let invalid = |message: &str| FieldError::new("url", ErrorCode::Invalid, message);
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldError::new("url", ErrorCode::Required, "the endpoint needs a URL"));
    }
    if raw.len() > MAX_URL {
        return Err(invalid("at most 500 characters"));
    }
    let url = url::Url::parse(raw).map_err(|e| invalid(&format!("not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials do not belong in the URL; the signature authenticates the sender"));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(invalid("the URL needs a host")),
    };
    match url.scheme() {
        "https" => Ok(url.to_string()),
        "http" if loopback => Ok(url.to_string()),
        "http" => Err(invalid("use https:// (plain http:// only to this machine, for tests)")),
        other => Err(invalid(&format!("`{other}://` is not a web address; use https://"))),
    }
}

/// A new secret from 32 random bytes: `whsec_` and their base64.
pub fn secret_from(bytes: &[u8; 32]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` entry of one secret for one message: `v1,` and the base64 of
/// HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with the secret's decoded bytes.
/// `None` for a secret that does not decode (never one this server made).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret)).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The whole `webhook-signature` header: the current secret's signature, and the
/// previous secret's while it overlaps, space-separated as the specification allows.
pub fn signature_header(current: &str, previous: Option<&str>, id: &str, timestamp: i64, body: &str) -> String {
    [Some(current), previous]
        .into_iter()
        .flatten()
        .filter_map(|secret| sign(secret, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How long to wait after `attempts` failed attempts: ten seconds, doubling to at most two
/// hours, spread by `jitter` (0 to 1) over ±20% so that a recovered endpoint is not hit by
/// every waiting delivery at once.
pub fn backoff(attempts: i32, jitter: f64) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    let base = Duration::seconds(FIRST_BACKOFF_SECONDS.saturating_mul(1_i64 << doublings)).min(MAX_BACKOFF);
    let spread = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    Duration::milliseconds((base.num_milliseconds() as f64 * spread) as i64)
}

/// What a failed attempt leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// Another attempt, at this time.
    RetryAt(DateTime<Utc>),
    /// The retry window is spent: the delivery is dead-lettered.
    Dead,
}

/// After the `attempts`-th failed attempt at `now` of a delivery whose retry window opened
/// at `window_start`: the next attempt, or the dead letter when it would fall past the
/// window.
pub fn after_failure(attempts: i32, window_start: DateTime<Utc>, now: DateTime<Utc>, jitter: f64) -> AfterFailure {
    let next = now + backoff(attempts, jitter);
    if next - window_start > RETRY_WINDOW { AfterFailure::Dead } else { AfterFailure::RetryAt(next) }
}

/// Whether an endpoint failing every attempt since `failing_since` is to be switched off
/// at `now`: after [`DISABLE_AFTER`] of failures, or when a message is dead-lettered (its
/// retry window opened at `dead_window_start`) and no attempt has succeeded since that
/// window opened (`last_success`).
pub fn should_disable(
    failing_since: Option<DateTime<Utc>>,
    last_success: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    dead_window_start: Option<DateTime<Utc>>,
) -> bool {
    let Some(since) = failing_since else { return false };
    now - since >= DISABLE_AFTER
        || dead_window_start.is_some_and(|start| last_success.is_none_or(|success| success < start))
}

/// The event type a change is sent as: the kind in snake case and the operation in the
/// past tense, e.g. `customer.updated`, `work_order.created`.
pub fn event_type(kind: EntityKind, operation: Operation) -> String {
    let mut name = String::new();
    for (i, c) in kind.name().chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_lowercase());
    }
    let done = match operation {
        Operation::Create => "created",
        Operation::Update => "updated",
        Operation::Delete => "deleted",
        Operation::Restore => "restored",
        Operation::Disable => "disabled",
        Operation::Enable => "enabled",
        Operation::Revoke => "revoked",
        Operation::Login => "logged_in",
        Operation::PasswordChange => "password_changed",
        Operation::Merge => "merged",
        Operation::Copy => "copied",
        Operation::Claim => "claimed",
        Operation::Release => "released",
        Operation::Reclaim => "reclaimed",
        Operation::Assign => "assigned",
        Operation::Transfer => "transferred",
        Operation::Convert => "converted",
    };
    format!("{name}.{done}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_specifications_test_vector() {
        // From the Standard Webhooks reference libraries' tests.
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(signature.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn an_overlapping_secret_adds_a_second_signature() {
        let header =
            signature_header("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Some(&secret_from(&[7; 32])), "id", 1, "{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_ne!(parts[0], parts[1]);
        assert_eq!(signature_header("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", None, "id", 1, "{}"), parts[0]);
    }

    #[test]
    fn urls_are_https_or_loopback_http() {
        assert_eq!(parse_url(" https://erp.example.com/hooks ").as_deref(), Ok("https://erp.example.com/hooks"));
        assert!(parse_url("http://127.0.0.1:9000/h").is_ok());
        assert!(parse_url("http://localhost/h").is_ok());
        assert!(parse_url("http://[::1]:80/h").is_ok());
        for bad in ["", "http://erp.example.com/h", "ftp://x/y", "https://user:pw@x.com/", "not a url"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        assert!(parse_url(&format!("https://x.com/{}", "a".repeat(500))).is_err());
    }

    #[test]
    fn backoff_doubles_to_a_cap_with_bounded_jitter() {
        assert_eq!(backoff(1, 0.5), Duration::seconds(10));
        assert_eq!(backoff(2, 0.5), Duration::seconds(20));
        assert_eq!(backoff(4, 0.5), Duration::seconds(80));
        assert_eq!(backoff(30, 0.5), Duration::hours(2));
        assert_eq!(backoff(1, 0.0), Duration::seconds(8));
        assert_eq!(backoff(1, 1.0), Duration::seconds(12));
    }

    #[test]
    fn a_delivery_dies_when_its_next_attempt_would_pass_the_window() {
        let start = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(after_failure(1, start, start, 0.5), AfterFailure::RetryAt(start + Duration::seconds(10)));
        let late = start + Duration::hours(23);
        assert_eq!(after_failure(20, start, late, 0.5), AfterFailure::Dead);
        assert!(!should_disable(None, None, late, Some(start)));
        assert!(!should_disable(Some(start), None, late, None));
        assert!(should_disable(Some(start), None, start + Duration::hours(24), None));
        // A message dead-lettered with no success in its whole window switches it off.
        assert!(should_disable(Some(start), None, late, Some(start)));
        // One whose window saw a success (the failures began after it) does not.
        let success = start + Duration::hours(1);
        assert!(!should_disable(Some(late), Some(success), late, Some(start)));
    }

    #[test]
    fn event_types_read_as_the_kind_and_what_happened() {
        assert_eq!(event_type(EntityKind::Customer, Operation::Update), "customer.updated");
        assert_eq!(event_type(EntityKind::WorkOrder, Operation::Create), "work_order.created");
    }
}
