//! Per-caller request limits: a token bucket per user, API key or anonymous client
//! address, refilled continuously, answered with `RateLimit-*` headers and, when empty,
//! `429` with `Retry-After`. Buckets live in the replica's memory, so the effective limit
//! of a deployment is the per-replica limit times the replicas behind the balancer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    pub fn enabled(&self) -> bool {
        self.per_minute > 0
    }

    /// Takes one token from `key`'s bucket, if there is one.
    pub fn check(&self, key: &str) -> Decision {
        let capacity = f64::from(self.per_minute);
        let refill_per_second = capacity / 60.0;
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Decision { allowed: true, limit: self.per_minute, remaining: self.per_minute, reset_seconds: 0 };
        };
        if buckets.len() > 100_000 {
            // Forget idle callers rather than grow without bound.
            buckets.retain(|_, b| now.duration_since(b.updated) < Duration::from_secs(120));
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
            limit: self.per_minute,
            remaining: bucket.tokens.floor() as u32,
            reset_seconds: (missing / refill_per_second).ceil() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_and_is_per_key() {
        let limiter = RateLimiter::new(3);
        assert!((0..3).all(|_| limiter.check("a").allowed));
        let refused = limiter.check("a");
        assert!(!refused.allowed);
        assert!(refused.reset_seconds >= 1 && refused.reset_seconds <= 20);
        assert!(limiter.check("b").allowed);
    }
}
