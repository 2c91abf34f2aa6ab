//! Pacing with governor: never more requests than the vendor's documented limit in any
//! second (or minute), shared by every chain of the run.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A margin added to each interval so that network jitter cannot squeeze one request too many
/// into a vendor's second.
const MARGIN: Duration = Duration::from_millis(2);

pub struct Pacer {
    limiters: Vec<DefaultDirectRateLimiter>,
}

impl Pacer {
    /// At most `per_second` requests in any second, evenly spaced (no burst); and, if given,
    /// at most `per_minute` in any minute: half of that may come in a burst at `per_second`,
    /// the rest is spread so that no 60-second window sees more than `per_minute`.
    pub fn new(per_second: u32, per_minute: Option<u32>) -> Pacer {
        let mut limiters = Vec::new();
        if let Some(per_minute) = per_minute.filter(|m| *m >= 2) {
            let burst = per_minute / 2;
            let rest = per_minute - burst;
            let period = Duration::from_secs(60) / rest + MARGIN;
            if let (Some(q), Some(b)) = (Quota::with_period(period), NonZeroU32::new(burst)) {
                limiters.push(RateLimiter::direct(q.allow_burst(b)));
            }
        }
        // The per-second limiter comes last, so that it spaces the requests as they are sent.
        let per_second = per_second.max(1);
        let interval = Duration::from_secs(1) / per_second + MARGIN;
        if let Some(q) = Quota::with_period(interval) {
            limiters.push(RateLimiter::direct(q.allow_burst(NonZeroU32::MIN)));
        }
        Pacer { limiters }
    }

    /// Waits until one more request may go.
    pub async fn wait(&self) {
        for l in &self.limiters {
            l.until_ready().await;
        }
    }
}
