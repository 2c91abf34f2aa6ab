//! Pacing with governor: never more requests than the vendor's documented limit in any
//! second (or minute, or any period: [`Pacer::every`]), shared by every chain of the run. A
//! request that counts against two quotas (a paginated request, under both a vendor's limit of
//! all requests and its own) passes a pacer made of both ([`Pacer::and`]), whose quotas stay
//! shared with the pacer they came from.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A margin added to each interval so that network jitter cannot squeeze one request too many
/// into a vendor's second.
const MARGIN: Duration = Duration::from_millis(2);

pub struct Pacer {
    limiters: Vec<Arc<DefaultDirectRateLimiter>>,
}

impl Pacer {
    /// At most `per_second` requests in any second, evenly spaced (no burst); and, if given,
    /// at most `per_minute` in any minute: half of that may come in a burst at `per_second`,
    /// the rest is spread so that no 60-second window sees more than `per_minute`.
    pub fn new(per_second: u32, per_minute: Option<u32>) -> Pacer {
        Pacer {
            limiters: quotas(per_second, per_minute)
                .into_iter()
                .map(|q| Arc::new(RateLimiter::direct(q)))
                .collect(),
        }
    }

    /// At most `n` requests in any `period`, evenly spaced (no burst): `every(3, 30 s)` sends
    /// one every 10 s and a little, so no window of 30 s sees a fourth.
    pub fn every(n: u32, period: Duration) -> Pacer {
        Pacer {
            limiters: evenly(n, period)
                .into_iter()
                .map(|q| Arc::new(RateLimiter::direct(q)))
                .collect(),
        }
    }

    /// A pacer whose requests pass this pacer's quotas and then `other`'s, counting against
    /// both: the quotas are shared with `self` and `other`, not copied.
    pub fn and(&self, other: &Pacer) -> Pacer {
        Pacer {
            limiters: self
                .limiters
                .iter()
                .chain(other.limiters.iter())
                .cloned()
                .collect(),
        }
    }

    /// Waits until one more request may go.
    pub async fn wait(&self) {
        for l in &self.limiters {
            l.until_ready().await;
        }
    }
}

/// `n` requests in any `period`, evenly spaced, with a margin of 2 % (at least [`MARGIN`]): a
/// vendor that counts requests in a sliding window sees them as they arrive, and arrival
/// jitter must not squeeze `n + 1` into one.
fn evenly(n: u32, period: Duration) -> Option<Quota> {
    let interval = period / n.max(1);
    Quota::with_period(interval + (interval / 50).max(MARGIN))
        .map(|q| q.allow_burst(NonZeroU32::MIN))
}

/// The quotas a request passes, in order. The per-second one comes last, so that it spaces
/// the requests as they are sent.
fn quotas(per_second: u32, per_minute: Option<u32>) -> Vec<Quota> {
    let mut out = Vec::new();
    if let Some(per_minute) = per_minute.filter(|m| *m >= 2) {
        let burst = per_minute / 2;
        let rest = per_minute - burst;
        let period = Duration::from_secs(60) / rest + MARGIN;
        if let (Some(q), Some(b)) = (Quota::with_period(period), NonZeroU32::new(burst)) {
            out.push(q.allow_burst(b));
        }
    }
    let interval = Duration::from_secs(1) / per_second.max(1) + MARGIN;
    if let Some(q) = Quota::with_period(interval) {
        out.push(q.allow_burst(NonZeroU32::MIN));
    }
    out
}

#[cfg(test)]
mod tests {
    //! The pacer's quotas on a simulated clock: a sender that always goes as early as the
    //! quotas allow (as every chain together does), checked against the vendor's limits in
    //! every window. No wall clock, so nothing here depends on the machine's load.

    use super::*;
    use governor::clock::{Clock, FakeRelativeClock, Reference};

    /// Send times, in ns, of `n` requests sent as early as the quotas allow.
    fn greedy_sends(per_second: u32, per_minute: Option<u32>, n: usize) -> Vec<u64> {
        let clock = FakeRelativeClock::default();
        let limiters: Vec<_> = quotas(per_second, per_minute)
            .into_iter()
            .map(|q| RateLimiter::direct_with_clock(q, clock.clone()))
            .collect();
        let start = clock.now();
        (0..n)
            .map(|_| {
                for l in &limiters {
                    while let Err(not_yet) = l.check() {
                        clock.advance(not_yet.wait_time_from(clock.now()));
                    }
                }
                clock.now().duration_since(start).as_u64()
            })
            .collect()
    }

    /// No `limit + 1` requests within `window`.
    fn assert_within(sends: &[u64], limit: usize, window: Duration) {
        for w in sends.windows(limit + 1) {
            let span = Duration::from_nanos(w[limit] - w[0]);
            assert!(span >= window, "{} requests within {span:?}", limit + 1);
        }
    }

    #[test]
    fn department_logs_never_exceed_5_per_second() {
        let sends = greedy_sends(5, None, 200);
        assert_within(&sends, 5, Duration::from_secs(1));
        // Evenly spaced, not bursting: the 200 requests take about 40 s, not much more.
        let total = Duration::from_nanos(sends[199]);
        assert!(total < Duration::from_secs(41), "{total:?}");
    }

    #[test]
    fn talent_logs_never_exceed_50_per_second_nor_1000_per_minute() {
        let sends = greedy_sends(50, Some(1000), 3000);
        assert_within(&sends, 50, Duration::from_secs(1));
        assert_within(&sends, 1000, Duration::from_secs(60));
        // The first 500 go at the per-second rate (the burst), about 10 s.
        let burst = Duration::from_nanos(sends[499]);
        assert!(burst < Duration::from_secs(11), "{burst:?}");
    }

    #[test]
    fn paged_requests_pass_both_quotas_and_share_the_overall_one() {
        // Greenhouse: 50 requests per 10 s in all, of which paginated 3 per 30 s. Every
        // chain sends as early as it may; the paged ones pass both quotas (the overall one
        // shared with the unpaged ones).
        let clock = FakeRelativeClock::default();
        let overall = RateLimiter::direct_with_clock(
            evenly(50, Duration::from_secs(10)).expect("quota"),
            clock.clone(),
        );
        let paged = RateLimiter::direct_with_clock(
            evenly(3, Duration::from_secs(30)).expect("quota"),
            clock.clone(),
        );
        let start = clock.now();
        let (mut all, mut pages) = (Vec::new(), Vec::new());
        let pass = |l: &RateLimiter<
            _,
            _,
            FakeRelativeClock,
            governor::middleware::NoOpMiddleware<governor::nanos::Nanos>,
        >| {
            while let Err(not_yet) = l.check() {
                clock.advance(not_yet.wait_time_from(clock.now()));
            }
            clock.now().duration_since(start).as_u64()
        };
        for i in 0..600 {
            // One paged request whenever the paged quota has room, else an unpaged one.
            if i % 10 == 0 && paged.check().is_ok() {
                let t = pass(&overall);
                pages.push(t);
                all.push(t);
            } else {
                all.push(pass(&overall));
            }
        }
        assert_within(&all, 50, Duration::from_secs(10));
        assert_within(&pages, 3, Duration::from_secs(30));
        assert!(pages.len() >= 3, "{}", pages.len());
        // 600 requests at 50 per 10 s: about 120 s, not much more.
        let total = Duration::from_nanos(*all.last().expect("sends"));
        assert!(total < Duration::from_secs(125), "{total:?}");
    }

    #[test]
    fn a_pacer_that_bursts_would_be_caught() {
        // The check itself can fail: a burst of 5 puts 6 requests within a second.
        let clock = FakeRelativeClock::default();
        let q = Quota::with_period(Duration::from_millis(200))
            .expect("quota")
            .allow_burst(NonZeroU32::new(5).expect("5"));
        let l = RateLimiter::direct_with_clock(q, clock.clone());
        let start = clock.now();
        let sends: Vec<u64> = (0..12)
            .map(|_| {
                while let Err(not_yet) = l.check() {
                    clock.advance(not_yet.wait_time_from(clock.now()));
                }
                clock.now().duration_since(start).as_u64()
            })
            .collect();
        let result = std::panic::catch_unwind(|| assert_within(&sends, 5, Duration::from_secs(1)));
        assert!(result.is_err());
    }
}
