//! A loopback Recruitee for the tests: the one configurable Recruitee fake of hrlogs
//! (`hrlogs::sandbox::recruitee`: `filters_json`, `page`/`limit`, `total`, the 10,000-result
//! window, the list by `limit`/`offset`, candidates by ID, offers, both error body shapes, and a
//! switch for each thing Recruitee does not promise), started on its own thread with a test's
//! data, and the datasets the tests use.

use std::sync::Arc;

use hrlogs::sandbox::recruitee::{self as fake, Config, Entry, Recruitee};
use serde_json::{Value, json};

use super::Faults;

/// A tiny deterministic generator for test data (the same sequence as the Feishu fake's).
pub struct Lcg(pub u64);
impl Lcg {
    pub fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

pub const COMPANY: &str = "90598";
pub const TOKEN: &str = "recruitee-test-token-do-not-print";

/// A test's Recruitee: its data and how it behaves (see [`Config`] for each switch).
#[derive(Default)]
pub struct State {
    /// (created_at seconds, entry), newest first.
    pub audit: Vec<(i64, Value)>,
    /// (created_at seconds, candidate as the search answers it), newest first.
    pub candidates: Vec<(i64, Value)>,
    pub offers: Vec<Value>,
    pub faults: Faults,
    /// Answer every call with this status and body.
    pub refuse_with: Option<(u16, Value)>,
    /// Answer 429 with `Retry-After: 0` to the first N calls.
    pub throttle_first: u64,
    /// Start every page after the first one entry early (a shift between requests).
    pub overlap_pages: bool,
    /// The other switches of the fake (page cap, `limit`/`page`/`offset` ignored, capped
    /// `total`, shuffled ties, paged offers, latency, prefix…); its data fields are ignored.
    pub config: Option<Config>,
}

pub struct RecruiteeFake {
    pub fake: fake::Fake,
    pub state: Arc<Recruitee>,
}
/// `n` audit entries, newest first, from `newest` back; many share their second with the next
/// (bulk actions), so that window boundaries fall inside groups of equal timestamps.
pub fn audit_dataset(n: usize, newest: i64) -> Vec<(i64, Value)> {
    let mut rng = Lcg(3);
    let mut at = newest;
    let actors = ["Ishwar Gautam", "Anna Kowalska", "王芳", "System"];
    let events = [
        "Admin deleted candidate",
        "Admin viewed candidate",
        "Admin disqualified candidate",
        "Admin changed candidate stage",
    ];
    (0..n)
        .map(|i| {
            if rng.next(3) == 0 {
                at -= rng.next(90) as i64 + 1;
            }
            let ts = jiff::Timestamp::from_second(at).expect("ts").strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
            let entry = json!({
                "_id": format!("e{i:06}"),
                "actor": actors[i % actors.len()],
                "actor_type": "admin",
                "candidate": {"id": 47_000_000 + i, "name": format!("Cand {i}"), "emails": [format!("c{i}@x.test")]},
                "company_id": 90598,
                "created_at": ts,
                "details": {"placement": {"offer_id": 1209656, "stage_id": 8176680}, "note": "a, \"quoted\"\nline"},
                "event_name": events[i % events.len()],
                "highlight": null,
                "offer": null
            });
            (at, entry)
        })
        .collect()
}

pub fn candidate_dataset(n: usize, newest: i64) -> Vec<(i64, Value)> {
    let statuses = ["qualified", "disqualified", "new", "viewed", "overdue"];
    (0..n)
        .map(|i| {
            let at = newest - (i as i64) * 3600;
            let ts = jiff::Timestamp::from_second(at).expect("ts").strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
            (at, json!({
                "id": 47_628_534 + i,
                "name": format!("Candidate {i}"),
                "emails": [format!("cand{i}@example.test")],
                "created_at": ts,
                "status_for_test": statuses[i % statuses.len()],
                "offer_id_for_test": 1209650 + (i % 3),
                "placements": [{"offer_id": 1209650 + (i % 3), "stage_id": 8176678, "offer": {"id": 1209650 + (i % 3), "title": "Recruiter (Sample)"}, "stage": {"name": "Applied"}}]
            }))
        })
        .collect()
}

impl RecruiteeFake {
    pub async fn start(state: State) -> RecruiteeFake {
        let mut config = state.config.unwrap_or_default();
        config.audit = state
            .audit
            .into_iter()
            .map(|(at, v)| Entry::new(at, v))
            .collect();
        config.candidates = state
            .candidates
            .into_iter()
            .map(|(at, v)| Entry {
                created_at: at,
                status: v["status_for_test"].as_str().map(str::to_string),
                offer_id: v["offer_id_for_test"].as_u64(),
                value: v,
            })
            .collect();
        config.offers = state.offers;
        config.company = COMPANY.to_string();
        config.token = TOKEN.to_string();
        config.refuse_with = state.refuse_with;
        config.throttle_first = state.throttle_first;
        config.overlap_pages = config.overlap_pages || state.overlap_pages;
        let f = state.faults;
        if f.every_5xx + f.every_cut + f.every_429 > 0 {
            config.faults.every_5xx = f.every_5xx;
            config.faults.every_cut = f.every_cut;
            config.faults.every_429 = f.every_429;
            config.faults.retry_after = f.retry_after.or(Some(0));
        }
        let fake = fake::spawn(config).expect("start the Recruitee fake");
        let state = fake.state.clone();
        RecruiteeFake { fake, state }
    }

    /// The base URL hrlogs is pointed at.
    pub fn uri(&self) -> String {
        self.fake.base_url()
    }

    pub fn hrlogs(&self, env: &super::Env) -> assert_cmd::Command {
        let mut cmd = env.hrlogs();
        cmd.env("HRLOGS_RECRUITEE_BASE_URL", self.uri())
            .env("HRLOGS_RECRUITEE_COMPANY_ID", COMPANY)
            .env("HRLOGS_RECRUITEE_API_TOKEN", TOKEN)
            .env("HRLOGS_RECRUITEE_RATE_LIMIT", "1000")
            .env("HRLOGS_RECRUITEE_MAX_IN_FLIGHT", "8");
        cmd
    }

    /// Requests the fake answered.
    pub fn calls(&self) -> u64 {
        self.state.seen().requests()
    }

    /// The `filters_json` of every request, parsed.
    pub fn filters_sent(&self) -> Vec<Value> {
        self.state.filters_sent()
    }

    /// Pages asked past the 10,000th result.
    pub fn violations(&self) -> Vec<String> {
        self.state.seen().violations()
    }
}
