//! Per-address limits on what anyone may do without an account: tracking-code look-ups (so a
//! code cannot be guessed by trying) and anonymous reports (so a script cannot flood the queue).
//! Fixed windows in memory: a restart forgets them, which only ever lets someone through early.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    window: Duration,
    max: u32,
    seen: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(max: u32, window: Duration) -> RateLimiter {
        RateLimiter { window, max, seen: Mutex::new(HashMap::new()) }
    }

    /// Counts one attempt by `key`; false when it is over the limit for the current window.
    pub fn allow(&self, key: &str) -> bool {
        let now = Instant::now();
        let Ok(mut seen) = self.seen.lock() else { return false };
        // Forget finished windows now and then, so the map holds only recent addresses.
        if seen.len() > 100_000 {
            let window = self.window;
            seen.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = seen.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.max
    }

    /// Seconds until `key` may try again (for Retry-After).
    pub fn retry_after(&self, key: &str) -> u64 {
        let Ok(seen) = self.seen.lock() else { return self.window.as_secs() };
        seen.get(key)
            .map(|(start, _)| {
                self.window.saturating_sub(Instant::now().duration_since(*start)).as_secs().max(1)
            })
            .unwrap_or(1)
    }
}

pub struct PublicLimits {
    pub lookups: RateLimiter,
    pub intake: RateLimiter,
    /// Photo uploads: a report may carry five.
    pub uploads: RateLimiter,
}

impl PublicLimits {
    pub fn new(lookups_per_minute: u32, intake_per_hour: u32) -> PublicLimits {
        PublicLimits {
            lookups: RateLimiter::new(lookups_per_minute, Duration::from_secs(60)),
            intake: RateLimiter::new(intake_per_hour, Duration::from_secs(3600)),
            uploads: RateLimiter::new(intake_per_hour.saturating_mul(5), Duration::from_secs(3600)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_over_its_limit_waits_and_others_do_not() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        assert!((0..3).all(|_| limiter.allow("10.0.0.1")));
        assert!(!limiter.allow("10.0.0.1"));
        assert!(limiter.allow("10.0.0.2"));
        assert!(limiter.retry_after("10.0.0.1") <= 60);
    }
}
