//! Per-caller limits: a token bucket per user, API key or anonymous client address (and,
//! for failed logins, per client address), refilled continuously, answered with
//! `RateLimit-*` headers and, when empty, `429` with `Retry-After`.
//!
//! With `limits.redis_url` set, the buckets live in Redis and every gateway replica draws
//! from the same ones (one Lua script takes or gives back a token atomically, on Redis's
//! clock). Without it, or while Redis does not answer, they live in the replica's memory,
//! so a deployment's effective limit is the per-replica limit times its replicas.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Takes (`ARGV[3]` = 1) or gives back (-1) a token of the bucket `KEYS[1]`, which holds
/// `ARGV[1]` tokens and refills over `ARGV[2]` ms: returns allowed (0/1), the tokens left
/// and the seconds until one is back.
const TAKE_SCRIPT: &str = r"
local capacity = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * capacity / window)
local allowed = 0
if cost < 0 then
  tokens = math.min(capacity, tokens - cost)
  allowed = 1
elseif tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], window * 2)
return {allowed, math.floor(tokens), math.ceil(math.max(0, 1 - tokens) * window / capacity / 1000)}
";

/// The buckets every replica shares: a Redis connection (made on first use, reconnected
/// on failure) and the key prefix of one limiter.
#[derive(Clone)]
pub struct Shared {
    redis: redis::aio::ConnectionManager,
    /// The take-or-refund script, hashed once (its SHA-1 names it to Redis).
    script: std::sync::Arc<redis::Script>,
    prefix: String,
    /// After a failure, requests limit locally until then instead of each waiting for Redis.
    resting_until: std::sync::Arc<Mutex<Option<Instant>>>,
}

/// How long the limits stay local after Redis failed to answer.
const REST_AFTER_FAILURE: Duration = Duration::from_secs(5);

impl Shared {
    /// `name` prefixes the keys (`guanxi:requests`). Connects lazily: a gateway starts,
    /// and limits locally, while Redis is away.
    pub fn new(url: &str, name: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(1);
        let redis = redis::aio::ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self {
            redis,
            script: std::sync::Arc::new(redis::Script::new(TAKE_SCRIPT)),
            prefix: format!("{name}:"),
            resting_until: Default::default(),
        })
    }

    fn resting(&self) -> bool {
        self.resting_until.lock().ok().and_then(|until| *until).is_some_and(|until| Instant::now() < until)
    }

    fn rest(&self) {
        if let Ok(mut until) = self.resting_until.lock() {
            *until = Some(Instant::now() + REST_AFTER_FAILURE);
        }
    }

    async fn take(&self, key: &str, capacity: u32, window: Duration, cost: i32) -> redis::RedisResult<Decision> {
        let mut redis = self.redis.clone();
        let window_ms = window.as_millis().max(1) as u64;
        let (allowed, remaining, reset): (i64, i64, i64) = self
            .script
            .key(format!("{}{key}", self.prefix))
            .arg(capacity)
            .arg(window_ms)
            .arg(cost)
            .invoke_async(&mut redis)
            .await?;
        Ok(Decision {
            allowed: allowed == 1,
            limit: capacity,
            remaining: remaining.max(0) as u32,
            reset_seconds: reset.max(0) as u64,
        })
    }
}

/// What the limiter decided for one request.
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until a token is available again.
    pub reset_seconds: u64,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

pub struct RateLimiter {
    /// Tokens a full bucket holds.
    capacity: u32,
    /// How long an empty bucket takes to fill again.
    window: Duration,
    buckets: Mutex<HashMap<String, Bucket>>,
    shared: Option<Shared>,
}

impl RateLimiter {
    /// `per_minute` requests a minute per key; 0 turns the limiter off.
    pub fn new(per_minute: u32) -> Self {
        Self::per_window(per_minute, Duration::from_secs(60))
    }

    /// `capacity` tokens per key, refilled evenly over `window`; 0 turns the limiter off.
    pub fn per_window(capacity: u32, window: Duration) -> Self {
        Self { capacity, window, buckets: Mutex::new(HashMap::new()), shared: None }
    }

    /// The same limiter, with its buckets in Redis when `shared` is given.
    pub fn shared(self, shared: Option<Shared>) -> Self {
        Self { shared, ..self }
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Takes one token from `key`'s bucket, if there is one.
    pub async fn check(&self, key: &str) -> Decision {
        self.take(key, 1).await
    }

    /// Gives back a token taken by [`RateLimiter::check`] (an attempt that turned out
    /// not to count, such as a login that succeeded).
    pub async fn refund(&self, key: &str) {
        self.take(key, -1).await;
    }

    async fn take(&self, key: &str, cost: i32) -> Decision {
        if let Some(shared) = self.shared.as_ref().filter(|s| !s.resting()) {
            match shared.take(key, self.capacity, self.window, cost).await {
                Ok(decision) => return decision,
                Err(error) => {
                    shared.rest();
                    metrics::counter!("guanxi_rate_limit_redis_errors_total").increment(1);
                    tracing::warn!(%error, "rate limit: Redis did not answer; limiting in this replica for 5 s");
                }
            }
        }
        if cost < 0 {
            self.refund_local(key);
            return Decision { allowed: true, limit: self.capacity, remaining: 0, reset_seconds: 0 };
        }
        self.check_local(key)
    }

    fn refund_local(&self, key: &str) {
        if let Ok(mut buckets) = self.buckets.lock()
            && let Some(bucket) = buckets.get_mut(key)
        {
            bucket.tokens = (bucket.tokens + 1.0).min(f64::from(self.capacity));
        }
    }

    /// Takes one token from `key`'s bucket in this replica's memory, if there is one.
    fn check_local(&self, key: &str) -> Decision {
        let capacity = f64::from(self.capacity);
        let refill_per_second = capacity / self.window.as_secs_f64();
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Decision { allowed: true, limit: self.capacity, remaining: self.capacity, reset_seconds: 0 };
        };
        if buckets.len() > 100_000 {
            // Forget idle callers (their buckets are full again) rather than grow without bound.
            let idle = self.window * 2;
            buckets.retain(|_, b| now.duration_since(b.updated) < idle);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket { tokens: capacity, updated: now });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * refill_per_second).min(capacity);
        bucket.updated = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let missing = (1.0 - bucket.tokens).max(0.0);
        Decision {
            allowed,
            limit: self.capacity,
            remaining: bucket.tokens.floor() as u32,
            reset_seconds: (missing / refill_per_second).ceil() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same behaviour in the replica's memory and in Redis (127.0.0.1:6379, a key
    /// prefix of its own per run).
    async fn limiters(capacity: u32, window: Duration) -> Vec<RateLimiter> {
        let name = format!("unit-{}", uuid::Uuid::now_v7().simple());
        let shared = Shared::new("redis://127.0.0.1:6379", &name).ok();
        assert!(shared.is_some(), "a well-formed Redis URL");
        vec![RateLimiter::per_window(capacity, window), RateLimiter::per_window(capacity, window).shared(shared)]
    }

    #[tokio::test]
    async fn a_bucket_empties_and_is_per_key() {
        for limiter in limiters(3, Duration::from_secs(60)).await {
            for _ in 0..3 {
                assert!(limiter.check("a").await.allowed);
            }
            let refused = limiter.check("a").await;
            assert!(!refused.allowed);
            assert!(refused.reset_seconds >= 1 && refused.reset_seconds <= 20, "{}", refused.reset_seconds);
            assert!(limiter.check("b").await.allowed);
        }
    }

    #[tokio::test]
    async fn a_refund_gives_a_token_back_up_to_the_capacity() {
        for limiter in limiters(2, Duration::from_secs(600)).await {
            assert!(limiter.check("a").await.allowed && limiter.check("a").await.allowed);
            assert!(!limiter.check("a").await.allowed);
            limiter.refund("a").await;
            assert!(limiter.check("a").await.allowed);
            for _ in 0..3 {
                limiter.refund("a").await;
            }
            assert_eq!(limiter.check("a").await.remaining, 1, "refunds never go past a full bucket");
        }
    }

    #[tokio::test]
    async fn two_limiters_with_one_redis_share_their_buckets() {
        let name = format!("unit-{}", uuid::Uuid::now_v7().simple());
        let replica = |name: &str| {
            let shared = Shared::new("redis://127.0.0.1:6379", name).ok();
            RateLimiter::per_window(2, Duration::from_secs(60)).shared(shared)
        };
        let (a, b) = (replica(&name), replica(&name));
        assert!(a.check("k").await.allowed);
        assert!(b.check("k").await.allowed);
        assert!(!a.check("k").await.allowed, "the second replica's request came out of the same bucket");
        b.refund("k").await;
        assert!(a.check("k").await.allowed, "a refund through one replica is seen by the other");
    }

    #[tokio::test]
    async fn an_unreachable_redis_falls_back_to_the_replica() {
        let shared = Shared::new("redis://127.0.0.1:1", "unreachable").ok();
        assert!(shared.is_some(), "a well-formed Redis URL");
        let limiter = RateLimiter::per_window(1, Duration::from_secs(60)).shared(shared);
        assert!(limiter.check("a").await.allowed);
        assert!(!limiter.check("a").await.allowed);
    }
}
