//! Per-caller request limits: a token bucket per user, API key or anonymous client
//! address (and, for failed logins, per client address), refilled continuously, answered with `RateLimit-*` headers and, when empty,
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
    /// Tokens a full bucket holds.
    capacity: u32,
    /// How long an empty bucket takes to fill again.
    window: Duration,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// `per_minute` requests a minute per key; 0 turns the limiter off.
    pub fn new(per_minute: u32) -> Self {
        Self::per_window(per_minute, Duration::from_secs(60))
    }

    /// `capacity` tokens per key, refilled evenly over `window`; 0 turns the limiter off.
    pub fn per_window(capacity: u32, window: Duration) -> Self {
        Self { capacity, window, buckets: Mutex::new(HashMap::new()) }
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Gives back a token taken by [`RateLimiter::check`] (an attempt that turned out
    /// not to count, such as a login that succeeded).
    pub fn refund(&self, key: &str) {
        if let Ok(mut buckets) = self.buckets.lock()
            && let Some(bucket) = buckets.get_mut(key)
        {
            bucket.tokens = (bucket.tokens + 1.0).min(f64::from(self.capacity));
        }
    }

    /// Takes one token from `key`'s bucket, if there is one.
    pub fn check(&self, key: &str) -> Decision {
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

    #[test]
    fn a_bucket_empties_and_is_per_key() {
        let limiter = RateLimiter::new(3);
        assert!((0..3).all(|_| limiter.check("a").allowed));
        let refused = limiter.check("a");
        assert!(!refused.allowed);
        assert!(refused.reset_seconds >= 1 && refused.reset_seconds <= 20);
        assert!(limiter.check("b").allowed);
    }

    #[test]
    fn a_refund_gives_a_token_back_up_to_the_capacity() {
        let limiter = RateLimiter::per_window(2, Duration::from_secs(600));
        assert!(limiter.check("a").allowed && limiter.check("a").allowed);
        assert!(!limiter.check("a").allowed);
        limiter.refund("a");
        assert!(limiter.check("a").allowed);
        limiter.refund("a");
        limiter.refund("a");
        limiter.refund("a");
        assert_eq!(limiter.check("a").remaining, 1, "refunds never go past a full bucket");
    }
}
