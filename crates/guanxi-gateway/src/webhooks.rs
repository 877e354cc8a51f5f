//! The webhook deliverer: each pass fans the tenant's new changes out to the endpoints
//! that asked for them, then sends what is due, several endpoints at once and up to each
//! endpoint's in-flight bound. Any number of replicas may run it against one database:
//! the store locks an endpoint while one of them fans it out or claims its messages, and
//! leases each message while it is attempted (see `guanxi_store::platform::webhook`).
//! A replica that dies mid-send leaves the lease to run out; the message then goes out
//! again with the same `webhook-id` (at least once; the receiver drops the repeat).

use std::collections::HashMap;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{TenantId, UserId};
use guanxi_domain::platform::change::ChangeEvent;
use guanxi_domain::platform::webhook::{self as rules, AfterFailure, Attempt, Delivery, DeliveryStatus, Endpoint};
use guanxi_store::Database;
use guanxi_store::platform::webhook::{self as store, Finished, NewDelivery, Secrets};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::graphql::integration::webhook::message_id;
use crate::graphql::relay::global_id;

/// Changes one fan-out reads for one endpoint.
const FAN_OUT_BATCH: u64 = 500;
/// Pages of changes one pass fans out to one endpoint, at most.
const FAN_OUT_PAGES: usize = 40;
/// How long one pass keeps sending to one endpoint before it moves on.
const SEND_TIME_PER_PASS: StdDuration = StdDuration::from_secs(10);
/// Endpoints one pass looks at.
const ENDPOINTS_PER_PASS: u64 = 200;
/// Endpoints one pass sends to at once.
const ENDPOINTS_AT_ONCE: usize = 16;
/// The longest answer body kept as an attempt's error.
const ERROR_CHARS: usize = 200;

/// A pass's clock: the time it was given, running on with real time.
struct PassClock {
    start: DateTime<Utc>,
    started: Instant,
}

impl PassClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + Duration::from_std(self.started.elapsed()).unwrap_or_default()
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Messages written by the fan-out.
    pub queued: u64,
    /// Attempts made.
    pub attempted: u64,
    pub delivered: u64,
}

/// Sends webhooks; one per replica.
#[derive(Clone)]
pub struct Deliverer {
    db: Database,
    client: reqwest::Client,
    timeout: StdDuration,
}

impl Deliverer {
    /// A deliverer whose attempts give up after `timeout`. Redirects are not followed: an
    /// endpoint answers where it was registered.
    pub fn new(db: Database, timeout: StdDuration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Guanxi-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { db, client, timeout })
    }

    /// Passes every `poll` until `stop` turns true.
    pub async fn run_until(self, mut stop: tokio::sync::watch::Receiver<bool>, poll: StdDuration) {
        loop {
            if let Err(error) = self.run_once(Utc::now()).await {
                tracing::warn!(%error, "webhook pass failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// One pass as seen at `now` (tests move the clock with it).
    /// The pass's clock runs on from `now` as real time passes, so that a lease or a retry
    /// taken late in a long pass is reckoned from when it is taken. One endpoint's failure
    /// is logged and the pass goes on to the next.
    pub async fn run_once(&self, now: DateTime<Utc>) -> anyhow::Result<Pass> {
        let clock = PassClock { start: now, started: Instant::now() };
        let mut pass = Pass::default();
        for (tenant, endpoint) in store::behind(self.db.connection(), ENDPOINTS_PER_PASS).await? {
            // Page after page while pages come, up to a bound per pass.
            for _ in 0..FAN_OUT_PAGES {
                match self.fan_out(tenant, endpoint, clock.now()).await {
                    Ok((queued, more)) => {
                        pass.queued += queued;
                        if !more {
                            break;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, %endpoint, "webhook fan-out failed");
                        break;
                    }
                }
            }
        }
        let due = store::due(self.db.connection(), clock.now(), ENDPOINTS_PER_PASS).await?;
        let clock = &clock;
        let sends = futures::stream::iter(due)
            .map(|(tenant, endpoint)| async move { (endpoint, self.send_due(tenant, endpoint, clock).await) })
            .buffer_unordered(ENDPOINTS_AT_ONCE)
            .collect::<Vec<_>>()
            .await;
        for (endpoint, sent) in sends {
            match sent {
                Ok((attempted, delivered)) => {
                    pass.attempted += attempted;
                    pass.delivered += delivered;
                }
                Err(error) => tracing::warn!(%error, %endpoint, "webhook sending failed"),
            }
        }
        Ok(pass)
    }

    /// Writes one endpoint's messages for a page of the changes past its cursor that its
    /// user may see, and moves the cursor; returns how many it wrote, and whether the page
    /// read any change (more may follow).
    async fn fan_out(&self, tenant: TenantId, endpoint: Uuid, now: DateTime<Utc>) -> anyhow::Result<(u64, bool)> {
        let tx = self.db.begin_write().await?;
        let Some((endpoint, _)) = store::lock(&tx, tenant, endpoint).await? else { return Ok((0, false)) };
        let user = UserId::from_uuid(endpoint.user_id);
        let Some(actor) = guanxi_store::platform::auth::user_actor(&tx, tenant, user).await? else {
            let reason = "the user it receives as is no longer active";
            store::disable_failing(&tx, tenant, endpoint.id, reason, now).await?;
            tx.commit().await?;
            return Ok((0, false));
        };
        // Every change up to the tenant's committed sequence has committed (a writer holds
        // the tenant's row until it commits), so a short page moves the cursor to it.
        let committed = guanxi_store::platform::tenant::find(&tx, tenant).await?.map(|t| t.change_seq).unwrap_or(0);
        let (events, last) = guanxi_store::platform::audit::since(
            &tx,
            tenant,
            Some(endpoint.kinds.as_slice()),
            endpoint.cursor_seq,
            FAN_OUT_BATCH,
        )
        .await?;
        // Rows read (some may have been passed over as undecodable): the cursor goes to the
        // last, and another page is read; none: the cursor goes to what had committed.
        let more = last.is_some();
        let cursor = last.unwrap_or(committed).max(endpoint.cursor_seq);
        let visible = guanxi_store::visibility::visible_events(&tx, &actor, events).await?;
        let external = external_ids(&self.db, tenant, &visible).await?;
        let deliveries: Vec<NewDelivery> = visible
            .into_iter()
            .map(|event| {
                let external_id = external.get(&(event.entity, event.entity_id)).cloned();
                let event_type = rules::event_type(event.entity, event.operation);
                NewDelivery {
                    seq: event.seq,
                    entity: event.entity,
                    entity_id: event.entity_id,
                    payload: payload(&event_type, &event, external_id, actor.sees_unmasked_phones()),
                    event_type,
                }
            })
            .collect();
        let queued = store::add_deliveries(&tx, tenant, endpoint.id, deliveries, cursor, now).await?;
        tx.commit().await?;
        Ok((queued, more))
    }

    /// Sends an endpoint's due messages, a claim of at most its in-flight bound at a time,
    /// until none is left or the pass's time for it is spent; returns the attempts made and
    /// how many were delivered.
    async fn send_due(&self, tenant: TenantId, endpoint: Uuid, clock: &PassClock) -> anyhow::Result<(u64, u64)> {
        let started = Instant::now();
        let (mut attempted, mut delivered) = (0, 0);
        while started.elapsed() < SEND_TIME_PER_PASS {
            let (a, d) = self.send_claim(tenant, endpoint, clock).await?;
            if a == 0 {
                break;
            }
            attempted += a;
            delivered += d;
        }
        Ok((attempted, delivered))
    }

    /// Claims up to an endpoint's in-flight bound of its due messages, sends them at once,
    /// and records what came of them.
    async fn send_claim(&self, tenant: TenantId, endpoint: Uuid, clock: &PassClock) -> anyhow::Result<(u64, u64)> {
        let now = clock.now();
        let token = Uuid::now_v7();
        let lease_until = now + Duration::from_std(self.timeout)? + Duration::seconds(30);
        let tx = self.db.begin_write().await?;
        let Some((endpoint, secrets)) = store::lock(&tx, tenant, endpoint).await? else { return Ok((0, 0)) };
        let claimed = store::claim(&tx, tenant, &endpoint, now, lease_until, token).await?;
        tx.commit().await?;
        if claimed.is_empty() {
            return Ok((0, 0));
        }
        let sends = claimed.iter().map(|delivery| self.attempt(&endpoint, &secrets, delivery, now));
        let attempts = futures::future::join_all(sends).await;
        let finished: Vec<Finished> = claimed
            .iter()
            .zip(attempts)
            .map(|(delivery, attempt)| {
                let (status, next_attempt_at) = if attempt.succeeded {
                    (DeliveryStatus::Delivered, now)
                } else {
                    match rules::after_failure(attempt.attempt, delivery.window_start, now, rand::random()) {
                        AfterFailure::RetryAt(at) => (DeliveryStatus::Pending, at),
                        AfterFailure::Dead => (DeliveryStatus::Dead, now),
                    }
                };
                Finished { delivery_id: delivery.id, token, attempt, status, next_attempt_at }
            })
            .collect();
        let delivered = finished.iter().filter(|f| f.status == DeliveryStatus::Delivered).count() as u64;
        for f in &finished {
            let outcome = match f.status {
                DeliveryStatus::Delivered => "delivered",
                DeliveryStatus::Pending => "retry",
                DeliveryStatus::Dead => "dead",
            };
            metrics::counter!("guanxi_webhook_attempts_total", "outcome" => outcome).increment(1);
        }
        let now = clock.now();
        let tx = self.db.begin_write().await?;
        let (failing_since, last_success) = store::finish(&tx, tenant, endpoint.id, &finished, now).await?;
        let dead_window_start = claimed
            .iter()
            .zip(&finished)
            .filter(|(_, f)| f.status == DeliveryStatus::Dead)
            .map(|(d, _)| d.window_start)
            .min();
        if rules::should_disable(failing_since, last_success, now, dead_window_start) {
            let reason = "every attempt failed for a day";
            store::disable_failing(&tx, tenant, endpoint.id, reason, now).await?;
        }
        tx.commit().await?;
        Ok((finished.len() as u64, delivered))
    }

    /// One signed POST of one message.
    async fn attempt(
        &self,
        endpoint: &Endpoint,
        secrets: &Secrets,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Attempt {
        let id = message_id(delivery.id);
        let body = delivery.payload.to_string();
        let timestamp = Utc::now().timestamp();
        let signature = rules::signature_header(&secrets.current, secrets.previous_at(now), &id, timestamp, &body);
        let clock = Instant::now();
        let sent = self
            .client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let (response_status, error, succeeded) = match sent {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    (Some(status.as_u16()), None, true)
                } else {
                    let text = response.text().await.unwrap_or_default();
                    let head: String = text.chars().take(ERROR_CHARS).collect();
                    (Some(status.as_u16()), Some(format!("HTTP {status}: {head}").trim_end().to_owned()), false)
                }
            }
            Err(error) if error.is_timeout() => {
                (None, Some(format!("no answer within {} ms", self.timeout.as_millis())), false)
            }
            Err(error) => (None, Some(error.to_string().chars().take(ERROR_CHARS).collect()), false),
        };
        Attempt {
            delivery_id: delivery.id,
            attempt: delivery.attempts + 1,
            // On the pass's clock, which the failure rules also read.
            started_at: now,
            duration_ms: i32::try_from(clock.elapsed().as_millis()).unwrap_or(i32::MAX),
            response_status: response_status.map(i32::from),
            error,
            succeeded,
        }
    }
}

/// The body of one message, as the Standard Webhooks specification shapes it: `type`,
/// `timestamp` and `data`, the change as the change log holds it.
/// Phone numbers are masked unless the endpoint's user may see them whole.
fn payload(event_type: &str, event: &ChangeEvent, external_id: Option<String>, unmasked: bool) -> Value {
    json!({
        "type": event_type,
        "timestamp": event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": {
            "kind": event_type.split('.').next().unwrap_or_default().to_uppercase(),
            "id": global_id(event.entity.name(), event.entity_id).0,
            "externalId": external_id,
            "operation": event.operation.as_str(),
            "seq": event.seq,
            "changes": crate::graphql::platform::audit::changes_as_seen(&event.changes, unmasked),
            "actorUserId": event.actor_user_id.map(|u| global_id(EntityKind::User.name(), u).0),
            "requestId": event.request_id,
        }
    })
}

/// The outside systems' ids of the changed records that carry one: one statement per kind.
async fn external_ids(
    db: &Database,
    tenant: TenantId,
    events: &[ChangeEvent],
) -> anyhow::Result<HashMap<(EntityKind, Uuid), String>> {
    let mut by_kind: HashMap<EntityKind, Vec<Uuid>> = HashMap::new();
    for event in events {
        by_kind.entry(event.entity).or_default().push(event.entity_id);
    }
    let mut found = HashMap::new();
    for (kind, ids) in by_kind {
        let ids = guanxi_store::visibility::external_ids(db.connection(), tenant, kind, &ids).await?;
        found.extend(ids.into_iter().map(|(id, external)| ((kind, id), external)));
    }
    Ok(found)
}
