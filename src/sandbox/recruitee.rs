//! The Recruitee stand-in, and the one configurable Recruitee fake of the tests and the
//! benchmark: audit log and candidate search (`filters_json`, `page`/`limit`, `total`, the
//! 10,000-result window: a deeper page answers 500, as Recruitee does), the candidate list by
//! `limit`/`offset`, candidates by ID, offers, both error body shapes.
//!
//! [`Config`] holds the dataset (the sandbox's sample, or a test's own entries) and a switch
//! for each thing Recruitee does not promise (FACTS.md): a page cap, `limit` ignored (60 a
//! page), `total` capped at 10,000, ties in `created_at` shuffled on every request, `page`
//! ignored, `offset` ignored, shifted pages (searches and lists alike), `/offers` paged, the
//! candidate list unpaged, a `total` on the lists, `created_at` without an offset or
//! unreadable; plus faults, throttling and latency. The data is
//! indexed (sorted newest first once, windows found by binary search), so tests with tens of
//! thousands of entries stay fast; the audit log is a plain list that can grow ([`Recruitee::push_audit`]).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::sample::{REASONS, Rng};
use super::{API_TOKEN, COMPANY_ID, Faults, Seen};
use crate::error::Result;

/// The most results one search query serves.
const WINDOW: u64 = 10_000;
/// What Recruitee serves a page when `limit` is not given (or ignored).
pub const DEFAULT_LIMIT: u64 = 60;

const AUDIT_ENTRIES: usize = 12_000;
/// In the sample, a new audit entry arrives this often (seconds), so that
/// `hrlogs --sandbox sync recruitee audit --follow` has something to show. The entries arrive
/// on the clock's slots of this length, and each is named by its slot, so that every run of
/// the sandbox, into the same archive or not, gets entries that no earlier run had.
const ARRIVAL_SECONDS: u64 = 5;
/// A test hook: arrivals every this many milliseconds instead of [`ARRIVAL_SECONDS`].
const ARRIVAL_MS_VAR: &str = "HRLOGS_SANDBOX_ARRIVAL_MS";
/// The most entries that arrive at once (after the clock jumped ahead).
const MAX_ARRIVALS_AT_ONCE: u64 = 1_000;
const CANDIDATES: usize = 300;

/// One audit entry or candidate, with what the fake filters on.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `created_at` in Unix seconds.
    pub created_at: i64,
    /// The record exactly as answered.
    pub value: Value,
    /// A candidate's status, for the search's `status` filter.
    pub status: Option<String>,
    /// A candidate's offer, for the list's `offer_id`.
    pub offer_id: Option<u64>,
}

impl Entry {
    pub fn new(created_at: i64, value: Value) -> Entry {
        Entry {
            created_at,
            value,
            status: None,
            offer_id: None,
        }
    }
}

/// The fake's dataset and behaviour. `Config::default()` is an empty, well-behaved Recruitee
/// that accepts [`COMPANY_ID`] and [`API_TOKEN`].
#[derive(Debug, Clone)]
pub struct Config {
    /// The sandbox's sample data (built on first use) instead of the lists below.
    pub sample: bool,
    pub audit: Vec<Entry>,
    pub candidates: Vec<Entry>,
    pub offers: Vec<Value>,
    pub company: String,
    pub token: String,
    /// Serve at most this many results a page, whatever `limit` says (searches, and lists
    /// asked with `limit`: a request without it answers the whole list, as FACTS.md says).
    pub page_cap: Option<u64>,
    /// Serve [`DEFAULT_LIMIT`] a page, whatever `limit` says (lists: when `limit` is sent).
    pub ignore_limit: bool,
    /// Report `total` as at most 10,000.
    pub cap_total: bool,
    /// Entries that share a `created_at` second come in another order on every request.
    pub shuffle_ties: bool,
    /// Serve page 1 whatever `page` says (searches, and `/offers` when paged).
    pub ignore_page: bool,
    /// `GET /candidates` serves from the start whatever `offset` says.
    pub ignore_offset: bool,
    /// `GET /offers` pages by `page`/`limit` (else one answer holds every offer).
    pub paged_offers: bool,
    /// `GET /candidates` answers every candidate at once, whatever `limit`/`offset` say.
    pub unpaged_candidates: bool,
    /// `GET /candidates` and `GET /offers` answers carry `total`: the count of the whole list.
    pub list_total: bool,
    /// Start every page after the first one entry early (a shift between requests), in the
    /// searches and the lists.
    pub overlap_pages: bool,
    /// The searches serve `created_at` without an offset (`2024-05-01 08:00:00`, UTC).
    pub created_at_without_offset: bool,
    /// The searches serve the newest record's `created_at` as this text.
    pub garbled_created_at: Option<String>,
    /// Answer the first N requests 429 (with `Retry-After: 0`).
    pub throttle_first: u64,
    /// Answer every request with this status and body.
    pub refuse_with: Option<(u16, Value)>,
    pub faults: Faults,
    /// Recruitee's own limiter (plug_limit, fixed window): at most this many requests a
    /// second; beyond, 429 with `x-ratelimit-limit`, `x-ratelimit-remaining` and
    /// `x-ratelimit-reset` (seconds), and `Retry-After` only with `rate_limit_retry_after`.
    pub rate_limit: Option<u32>,
    pub rate_limit_retry_after: bool,
    /// Serve under this path prefix (an API gateway), e.g. `/recruitee`.
    pub prefix: Option<String>,
    /// Entries that arrive while a run goes: the k-th is added as request k + 2 comes in
    /// (after the first page), so that a test's entries arrive mid-walk, every time.
    pub arrive_during: Vec<Entry>,
    /// The fake's clock runs this many seconds ahead of the host's (behind when negative):
    /// its `Date` header says so. Its entries' times are whatever the test gives them.
    pub clock_offset_s: i64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            sample: false,
            audit: Vec::new(),
            candidates: Vec::new(),
            offers: Vec::new(),
            company: COMPANY_ID.to_string(),
            token: API_TOKEN.to_string(),
            page_cap: None,
            ignore_limit: false,
            cap_total: false,
            shuffle_ties: false,
            ignore_page: false,
            ignore_offset: false,
            paged_offers: false,
            unpaged_candidates: false,
            list_total: false,
            overlap_pages: false,
            created_at_without_offset: false,
            garbled_created_at: None,
            throttle_first: 0,
            refuse_with: None,
            faults: Faults::default(),
            rate_limit: None,
            rate_limit_retry_after: false,
            prefix: None,
            clock_offset_s: 0,
            arrive_during: Vec::new(),
        }
    }
}

impl Config {
    /// The sandbox: sample data, well behaved.
    pub fn sample() -> Config {
        Config {
            sample: true,
            ..Config::default()
        }
    }
}

/// One record as the fake holds it: given as a value (a test's entries), or as text (the
/// sample's audit log, made cheaply); the other form is made once when first needed.
struct Item {
    at: i64,
    value: OnceLock<Value>,
    text: OnceLock<String>,
    status: Option<String>,
    offer_id: Option<u64>,
}

impl Item {
    /// The record, for the filters.
    fn value(&self) -> &Value {
        self.value.get_or_init(|| {
            self.text
                .get()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or(Value::Null)
        })
    }

    /// The record as served.
    fn text(&self) -> &str {
        self.text
            .get_or_init(|| self.value.get().map(Value::to_string).unwrap_or_default())
    }

    fn of(e: Entry) -> Item {
        Item {
            at: e.created_at,
            value: OnceLock::from(e.value),
            text: OnceLock::new(),
            status: e.status,
            offer_id: e.offer_id,
        }
    }

    /// An audit entry created at `at`, as JSON text.
    fn audit(at: i64, text: String) -> Item {
        Item {
            at,
            value: OnceLock::new(),
            text: OnceLock::from(text),
            status: None,
            offer_id: None,
        }
    }
}

/// Items sorted newest first (stable: entries of one second keep the order given).
struct Index(Vec<Item>);

impl Index {
    fn of(entries: Vec<Entry>) -> Index {
        Index::sorted(entries.into_iter().map(Item::of).collect())
    }

    fn sorted(mut items: Vec<Item>) -> Index {
        items.sort_by_key(|i| std::cmp::Reverse(i.at));
        Index(items)
    }

    /// The items created in `lo..=hi`, newest first.
    fn window(&self, lo: i64, hi: i64) -> &[Item] {
        let start = self.0.partition_point(|i| i.at > hi);
        let end = self.0.partition_point(|i| i.at >= lo);
        self.0.get(start..end.max(start)).unwrap_or(&[])
    }
}

struct Data {
    now: i64,
    /// Made on the first audit request: most runs of the sandbox never ask for it.
    audit: OnceLock<RwLock<Index>>,
    candidates: Index,
    offers: Vec<Value>,
    /// For the sample's audit log: the candidates as made, and the generator where they left it.
    sample: Option<(Vec<Value>, Rng)>,
}

/// The fake's state: its config, data and what it saw.
pub struct Recruitee {
    config: Config,
    data: OnceLock<Data>,
    seen: Seen,
    started: std::time::Instant,
    /// The rate limiter's window (seconds since start) and requests in it.
    window: std::sync::Mutex<(u64, u32)>,
    /// The length of an arrival slot, in milliseconds.
    arrival_ms: u64,
    /// The clock slot of the last sample entry that arrived (at first, the one after the
    /// start's: the first arrival comes a whole slot after the start, so that a short run,
    /// a golden test, never sees one by chance).
    arrived: std::sync::Mutex<u64>,
    /// Set while it runs ([`Recruitee::refuse_with`]): every call answered so from then on.
    refusing: std::sync::Mutex<Option<(u16, Value)>>,
}

impl Recruitee {
    pub fn new(config: Config) -> Recruitee {
        let arrival_ms = std::env::var(ARRIVAL_MS_VAR)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .unwrap_or(ARRIVAL_SECONDS * 1000);
        Recruitee {
            config,
            data: OnceLock::new(),
            seen: Seen::default(),
            started: std::time::Instant::now(),
            window: std::sync::Mutex::new((0, 0)),
            arrival_ms,
            arrived: std::sync::Mutex::new(
                slot_of(Timestamp::now().as_millisecond(), arrival_ms).saturating_add(1),
            ),
            refusing: std::sync::Mutex::new(None),
        }
    }

    fn data(&self) -> &Data {
        self.data.get_or_init(|| {
            if self.config.sample {
                build_sample()
            } else {
                Data {
                    now: Timestamp::now().as_second(),
                    audit: OnceLock::new(),
                    candidates: Index::of(self.config.candidates.clone()),
                    offers: self.config.offers.clone(),
                    sample: None,
                }
            }
        })
    }

    /// The audit log, made on first use.
    fn audit(&self) -> &RwLock<Index> {
        let d = self.data();
        d.audit.get_or_init(|| {
            RwLock::new(match &d.sample {
                Some((candidates, rng)) => {
                    Index::sorted(sample_audit(d.now, candidates, rng.clone()))
                }
                None => Index::of(self.config.audit.clone()),
            })
        })
    }

    /// In the sample, the entries due by now arrive: one for each slot of the clock
    /// ([`ARRIVAL_SECONDS`] long) that began since the start, made on request, named by its
    /// slot (fresh in every run) and otherwise made from it alone.
    fn arrivals(&self) {
        self.arrivals_at(Timestamp::now().as_millisecond());
    }

    /// [`Recruitee::arrivals`] when the clock reads `now_ms` (Unix milliseconds).
    fn arrivals_at(&self, now_ms: i64) {
        if !self.config.sample {
            return;
        }
        let due = slot_of(now_ms, self.arrival_ms);
        let Ok(mut arrived) = self.arrived.lock() else {
            return;
        };
        *arrived = (*arrived).max(due.saturating_sub(MAX_ARRIVALS_AT_ONCE));
        while *arrived < due {
            *arrived += 1;
            let ms = u128::from(*arrived) * u128::from(self.arrival_ms);
            let at = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
            self.push_item(arrival(*arrived, at));
        }
    }

    /// What the fake was asked.
    pub fn seen(&self) -> &Seen {
        &self.seen
    }

    /// Adds an audit entry (one that arrives while hrlogs runs, or between syncs).
    /// From now on, answers every call with `status` and `body` (the vendor starts failing
    /// while a `--follow` runs), as `Config::refuse_with` does from the start.
    pub fn refuse_with(&self, status: u16, body: Value) {
        if let Ok(mut r) = self.refusing.lock() {
            *r = Some((status, body));
        }
    }

    pub fn push_audit(&self, entry: Entry) {
        self.push_item(Item::of(entry));
    }

    fn push_item(&self, item: Item) {
        if let Ok(mut index) = self.audit().write() {
            let at = index.0.partition_point(|i| i.at > item.at);
            index.0.insert(at, item);
        }
    }

    /// The `filters_json` of every search request, parsed.
    pub fn filters_sent(&self) -> Vec<Value> {
        self.seen
            .queries()
            .iter()
            .filter_map(|(_, q)| {
                q.iter()
                    .find(|(k, _)| k == "filters_json")
                    .and_then(|(_, v)| serde_json::from_str(v).ok())
            })
            .collect()
    }
}

impl Recruitee {
    /// The limiter's answer when this request is over `limit` in the current second.
    fn limited(&self, limit: u32) -> Option<Response> {
        let elapsed = self.started.elapsed();
        let second = elapsed.as_secs();
        let mut w = self.window.lock().ok()?;
        if w.0 != second {
            *w = (second, 0);
        }
        w.1 = w.1.saturating_add(1);
        if w.1 <= limit {
            return None;
        }
        let mut r = json_response(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": ["Too many requests"]}).to_string(),
        );
        let h = r.headers_mut();
        h.insert("x-ratelimit-limit", limit.into());
        h.insert("x-ratelimit-remaining", 0.into());
        h.insert("x-ratelimit-reset", 1.into());
        if self.config.rate_limit_retry_after {
            h.insert("retry-after", 1.into());
        }
        Some(r)
    }
}

/// A fake Recruitee served on its own thread; stops when dropped.
pub type Fake = super::Fake<Recruitee>;

impl super::VendorFake for Recruitee {
    fn prefix(&self) -> Option<&str> {
        self.config.prefix.as_deref()
    }

    fn routes(state: Arc<Recruitee>) -> Router {
        Router::new()
            .route("/c/{company}/audit_log", get(audit_log))
            .route("/c/{company}/candidates", get(candidates))
            .route("/c/{company}/candidates/{id}", get(candidate))
            .route("/c/{company}/search/new/candidates", get(search_candidates))
            .route("/c/{company}/offers", get(offers))
            .layer(axum::middleware::map_response_with_state(
                state.clone(),
                own_clock,
            ))
            .with_state(state)
    }
}

/// Every answer carries the fake's own clock in `Date` (a server's clock is not the host's).
async fn own_clock(State(s): State<Arc<Recruitee>>, mut response: Response) -> Response {
    let now = Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(s.config.clock_offset_s))
        .unwrap_or_else(|_| Timestamp::now());
    let date = jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&now);
    if let Ok(Ok(value)) = date.map(|d| axum::http::HeaderValue::from_str(&d)) {
        response
            .headers_mut()
            .insert(axum::http::header::DATE, value);
    }
    response
}

/// Serves `config` on 127.0.0.1 on a thread of its own.
pub fn spawn(config: Config) -> Result<Fake> {
    Fake::serve(Recruitee::new(config))
}

const ADMINS: &[(u64, &str, &str)] = &[
    (322453, "Ishwar", "Gautam"),
    (322454, "Anna", "Kowalska"),
    (322455, "王", "芳"),
    (322456, "=cmd|' /C calc'!A0", "Mallory"),
];
const EVENTS: &[&str] = &[
    "Admin updated candidate field",
    "Admin changed candidate stage",
    "Admin assigned candidate to offer",
    "Admin deassigned candidate from offer",
    "Admin viewed candidate",
    "Admin created candidate",
    "Admin deleted candidate",
    "Admin disqualified candidate",
];
const FIRST: &[&str] = &[
    "Jasprit",
    "Arjun",
    "John",
    "Zachery",
    "Mikel",
    "李",
    "María",
    "Zoë",
    "Ann\u{1b}[2J",
    "+Eve",
];
const LAST: &[&str] = &[
    "Bumrah",
    "Sharma",
    "Doe",
    "Bahringer",
    "Lang",
    "小龙",
    "García",
    "O'Brien, Jr.",
    "Smith",
];

fn iso(secs: i64) -> String {
    Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn sample_offers() -> Vec<Value> {
    let list = [
        (
            1209652,
            "talent_pool",
            "Next recruitment - Q3 (Sample)",
            "archived",
            Value::Null,
        ),
        (
            1209653,
            "talent_pool",
            "Rising stars (Sample)",
            "draft",
            Value::Null,
        ),
        (
            1209655,
            "job",
            "Senior Marketer (Sample)",
            "published",
            json!("New York"),
        ),
        (
            1209656,
            "job",
            "Recruiter (Sample)",
            "internal",
            Value::Null,
        ),
        (
            1209657,
            "job",
            "Marketer (Sample)",
            "archived",
            json!("London"),
        ),
        (1209658, "job", "后端工程师", "published", json!("上海")),
    ];
    list.into_iter()
        .map(|(id, kind, title, status, city)| {
            json!({"id": id, "kind": kind, "title": title, "status": status, "city": city,
                   "slug": title.to_lowercase().replace(' ', "-"), "candidates_count": 0,
                   "created_at": "2023-01-31T08:15:23.094934Z", "department": "Marketing"})
        })
        .collect()
}

/// An audit entry as Recruitee answers it, as JSON text (made directly: the sample has
/// thousands): `admin` did `event` to `candidate` (an object's text) at `at`, from
/// `103.167.233.{ip}`; `about` is the offer (its text) and disqualify reason its details name,
/// if any.
fn audit_entry(
    id: &str,
    at: i64,
    (admin_id, first, last): (u64, &str, &str),
    event: &str,
    candidate: &str,
    about: Option<(&str, &str)>,
    ip: u64,
) -> Item {
    let q = |s: &str| Value::from(s).to_string();
    let admin = format!(
        r#"{{"email":{},"first_name":{},"id":{admin_id},"last_name":{}}}"#,
        q(&format!("admin{admin_id}@example.com")),
        q(first),
        q(last)
    );
    let (details_more, offer) = match about {
        Some((offer, reason)) => (
            format!(
                r#","offer":{offer},"disqualify_reason":{{"id":727738,"name":{}}}"#,
                q(reason)
            ),
            offer,
        ),
        None => (String::new(), "null"),
    };
    let text = format!(
        r#"{{"_id":{},"actor":{},"actor_type":"admin","admin":{admin},"candidate":{candidate},"company_id":90598,"created_at":{},"details":{{"admin":{admin},"candidate":{candidate}{details_more}}},"event_name":{},"highlight":null,"ip_address":"103.167.233.{ip}","offer":{offer}}}"#,
        q(id),
        q(&format!("{first} {last}")),
        q(&iso(at)),
        q(event),
    );
    Item::audit(at, text)
}

/// The clock slot of `ms` (Unix milliseconds) when slots are `every_ms` long.
fn slot_of(ms: i64, every_ms: u64) -> u64 {
    u64::try_from(ms).unwrap_or(0) / every_ms.max(1)
}

/// The sample entry that arrives in clock slot `k`, created at `at`: its id names the slot.
fn arrival(k: u64, at: i64) -> Item {
    let n = k as usize;
    let candidate = json!({"emails": [format!("new{k}@recruiteemail.com")], "id": 48_000_000 + k,
                           "name": format!("{} {}", FIRST[n % FIRST.len()], LAST[n % LAST.len()])});
    audit_entry(
        &format!("sbnew{k:010}"),
        at,
        ADMINS[n % ADMINS.len()],
        EVENTS[n % EVENTS.len()],
        &candidate.to_string(),
        None,
        1 + k % 254,
    )
}

/// The sandbox's sample: 300 candidates and 6 offers, and what [`sample_audit`] needs to make
/// the audit log about them when it is first asked for.
fn build_sample() -> Data {
    let now = Timestamp::now().as_second();
    let offers = sample_offers();
    let mut rng = Rng::from_text(&["recruitee"]);
    let candidates: Vec<Entry> = (0..CANDIDATES)
        .map(|i| {
            let id = 47_300_000 + i as u64 * 7;
            let name = format!("{} {}", rng.pick(FIRST), rng.pick(LAST));
            let created = now - rng.range(0, 400 * 86_400) as i64;
            let offer = &offers[rng.range(0, offers.len() as u64) as usize];
            let disqualified = rng.range(0, 4) == 0;
            let status = if disqualified { "disqualified" } else { *rng.pick(&["qualified", "new", "viewed", "overdue"]) };
            let value = json!({
                "id": id, "name": name, "emails": [format!("candidate{i}@recruiteemail.com")], "phones": [],
                "created_at": iso(created), "updated_at": iso(created), "source": "manual",
                "placements": [{
                    "candidate_id": id, "id": 50_000_000 + i as u64, "offer_id": offer["id"],
                    "stage_id": 8176670 + rng.range(0, 8), "disqualified": disqualified,
                    "disqualify_reason": if disqualified { json!(rng.pick(REASONS)) } else { Value::Null },
                    "offer": {"id": offer["id"], "kind": offer["kind"], "title": offer["title"]},
                    "stage": {"id": 8176671, "name": rng.pick(&["Applied", "Phone interview", "Evaluation", "Offer"])}
                }],
            });
            Entry {
                created_at: created,
                status: Some(status.to_string()),
                offer_id: offer["id"].as_u64(),
                value,
            }
        })
        .collect();
    let made = candidates.iter().map(|c| c.value.clone()).collect();
    Data {
        now,
        audit: OnceLock::new(),
        candidates: Index::of(candidates),
        offers,
        sample: Some((made, rng)),
    }
}

/// The sample's audit log: [`AUDIT_ENTRIES`] entries over the days before `now` (more than
/// one search window holds), about the `candidates`.
fn sample_audit(now: i64, candidates: &[Value], mut rng: Rng) -> Vec<Item> {
    // Each candidate's part of an entry, and its offer, as text once.
    let parts: Vec<(String, String)> = candidates
        .iter()
        .map(|c| {
            let candidate = json!({"emails": c["emails"], "id": c["id"], "name": c["name"]});
            (
                candidate.to_string(),
                c["placements"][0]["offer"].to_string(),
            )
        })
        .collect();
    let mut audit: Vec<Item> = Vec::with_capacity(AUDIT_ENTRIES);
    let mut at = now - 60;
    for i in 0..AUDIT_ENTRIES {
        // Bursts: a few entries often share a second, as bulk actions do.
        if rng.range(0, 3) != 0 {
            at -= rng.range(1, 400) as i64;
        }
        let admin = *rng.pick(ADMINS);
        let event = *rng.pick(EVENTS);
        let Some((candidate, offer)) = parts.get(rng.range(0, CANDIDATES as u64) as usize) else {
            continue;
        };
        let reason = *rng.pick(REASONS);
        let ip = rng.range(1, 255);
        audit.push(audit_entry(
            &format!("sb{i:08}"),
            at,
            admin,
            event,
            candidate,
            Some((offer, reason)),
            ip,
        ));
    }
    audit
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

fn not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        json!({"error": ["Not found"], "error_fields": {}}).to_string(),
    )
}

fn unprocessable(msg: &str) -> Response {
    json_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"error": [msg], "error_fields": {}}).to_string(),
    )
}

/// What every request goes through first: counting, latency, auth, refusals, throttling
/// and faults. Some(answer) when that is the answer.
async fn gate(
    s: &Recruitee,
    path: &str,
    company: &str,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Option<Response> {
    let mut pairs: Vec<(String, String)> = q.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    pairs.sort();
    let n = s.seen.request(path, pairs);
    let c = &s.config;
    if let Some(entry) = n
        .checked_sub(2)
        .and_then(|k| usize::try_from(k).ok())
        .and_then(|k| c.arrive_during.get(k))
    {
        s.push_audit(entry.clone());
    }
    if c.faults.latency > Duration::ZERO {
        tokio::time::sleep(c.faults.latency).await;
    }
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {}", c.token) {
        return Some(json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Token not found.", "error_code": "invalid_token"}).to_string(),
        ));
    }
    let refusing = s.refusing.lock().ok().and_then(|r| r.clone());
    if let Some((status, body)) = c.refuse_with.as_ref().or(refusing.as_ref()) {
        let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Some(json_response(status, body.to_string()));
    }
    if n <= c.throttle_first {
        let mut r = json_response(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": ["Too many requests"]}).to_string(),
        );
        r.headers_mut().insert("retry-after", 0.into());
        return Some(r);
    }
    if let Some(limit) = c.rate_limit {
        if let Some(r) = s.limited(limit) {
            return Some(r);
        }
    }
    if let Some(f) = c.faults.pick(n) {
        return Some(c.faults.answer(
            f,
            "x-ratelimit-reset",
            &json!({"error": ["Too many requests"]}).to_string(),
        ));
    }
    if company != c.company {
        return Some(json_response(
            StatusCode::NOT_FOUND,
            json!({"error": ["Company not found"], "error_fields": {}}).to_string(),
        ));
    }
    None
}

/// Applies `filters_json` other than `created_at` to one item: actor in/not_in, status, `all`.
fn matches(filters: &[Value], item: &Item) -> bool {
    filters.iter().all(|f| match f["field"].as_str() {
        Some("actor") => {
            let actor = &item.value()["actor"];
            let listed = |k: &str| f[k].as_array().map(|a| a.contains(actor));
            listed("in").unwrap_or(true) && !listed("not_in").unwrap_or(false)
        }
        Some("status") => f["in"].as_array().is_none_or(|a| {
            item.status
                .as_deref()
                .is_some_and(|st| a.iter().any(|v| v == st))
        }),
        Some("all") => {
            let q = f["query"].as_str().unwrap_or("").to_lowercase();
            item.text().to_lowercase().contains(&q)
        }
        _ => true,
    })
}

/// The `created_at` range of the filters, inclusive.
fn created_range(filters: &[Value]) -> (i64, i64) {
    let (mut lo, mut hi) = (i64::MIN, i64::MAX);
    for f in filters.iter().filter(|f| f["field"] == "created_at") {
        let n = |k: &str| {
            f[k].as_i64()
                .or_else(|| f[k].as_str().and_then(|s| s.parse().ok()))
        };
        if let Some(v) = n("gte") {
            lo = lo.max(v);
        }
        if let Some(v) = n("gt") {
            lo = lo.max(v.saturating_add(1));
        }
        if let Some(v) = n("lte") {
            hi = hi.min(v);
        }
        if let Some(v) = n("lt") {
            hi = hi.min(v.saturating_sub(1));
        }
    }
    (lo, hi)
}

#[allow(clippy::result_large_err)] // the Err is the answer to send
fn filters(q: &HashMap<String, String>) -> Result<Vec<Value>, Response> {
    match q.get("filters_json") {
        None => Ok(vec![]),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(a)) => Ok(a),
            _ => Err(unprocessable("filters_json must be a JSON array")),
        },
    }
}

fn number(q: &HashMap<String, String>, key: &str) -> Option<u64> {
    q.get(key).and_then(|v| v.parse().ok())
}

/// One page of a search over `index`, as the config says the vendor serves it.
fn search(
    s: &Recruitee,
    index: &Index,
    key: &str,
    q: &HashMap<String, String>,
    request: u64,
) -> Response {
    let c = &s.config;
    let f = match filters(q) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let (lo, hi) = created_range(&f);
    let mut hits: Vec<&Item> = index
        .window(lo, hi)
        .iter()
        .filter(|i| matches(&f, i))
        .collect();
    let page = if c.ignore_page {
        1
    } else {
        number(q, "page").unwrap_or(1).max(1)
    };
    let mut limit = if c.ignore_limit {
        DEFAULT_LIMIT
    } else {
        number(q, "limit").unwrap_or(DEFAULT_LIMIT).clamp(1, WINDOW)
    };
    if let Some(cap) = c.page_cap {
        limit = limit.min(cap.max(1));
    }
    if page.saturating_mul(limit) > WINDOW {
        s.seen.violation(format!(
            "asked past the 10,000th result: page {page} limit {limit}"
        ));
        return json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": ["Server internal error"]}).to_string(),
        );
    }
    let total = hits.len() as u64;
    let mut start = ((page - 1) * limit) as usize;
    if c.overlap_pages && page > 1 {
        start -= 1;
    }
    let end = (start + limit as usize).min(hits.len());
    let start = start.min(end);
    if c.shuffle_ties {
        shuffle_ties(&mut hits, start, end, request);
    }
    let shown = if c.cap_total {
        total.min(WINDOW)
    } else {
        total
    };
    let newest = index.0.first();
    let texts: Vec<std::borrow::Cow<str>> = hits[start..end]
        .iter()
        .map(|i| served(c, i, newest.is_some_and(|n| std::ptr::eq(n, *i))))
        .collect();
    json_response(
        StatusCode::OK,
        format!(
            "{{\"aggregations\":null,\"{key}\":[{}],\"total\":{shown}}}",
            texts.join(",")
        ),
    )
}

/// A search's record as served: as held, or with its `created_at` rewritten as the config
/// says (`newest`: the newest record of the data).
fn served<'a>(c: &Config, item: &'a Item, newest: bool) -> std::borrow::Cow<'a, str> {
    let created = match &c.garbled_created_at {
        Some(text) if newest => text.clone(),
        _ if c.created_at_without_offset => Timestamp::from_second(item.at)
            .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default(),
        _ => return std::borrow::Cow::Borrowed(item.text()),
    };
    let mut value = item.value().clone();
    value["created_at"] = Value::String(created);
    std::borrow::Cow::Owned(value.to_string())
}

/// Shuffles each run of equal `created_at` that meets `start..end`, seeded by the request:
/// Elasticsearch orders ties by shard, differently on each request.
fn shuffle_ties(hits: &mut [&Item], start: usize, end: usize, request: u64) {
    if start >= end {
        return;
    }
    let mut rng = Rng::from_text(&["ties", &request.to_string()]);
    let mut i = start;
    // Back to the start of the run holding `start`.
    while i > 0 && hits[i - 1].at == hits[i].at {
        i -= 1;
    }
    while i < end {
        let mut j = i + 1;
        while j < hits.len() && hits[j].at == hits[i].at {
            j += 1;
        }
        let run = &mut hits[i..j];
        for k in (1..run.len()).rev() {
            let r = rng.range(0, k as u64 + 1) as usize;
            run.swap(k, r);
        }
        i = j;
    }
}

async fn audit_log(
    State(s): State<Arc<Recruitee>>,
    Path(company): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&s, "audit_log", &company, &headers, &q).await {
        return r;
    }
    s.arrivals();
    let n = s.seen.requests();
    match s.audit().read() {
        Ok(index) => search(&s, &index, "entries", &q, n),
        Err(_) => json_response(StatusCode::INTERNAL_SERVER_ERROR, "{}".into()),
    }
}

async fn search_candidates(
    State(s): State<Arc<Recruitee>>,
    Path(company): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&s, "search/new/candidates", &company, &headers, &q).await {
        return r;
    }
    let n = s.seen.requests();
    search(&s, &s.data().candidates, "hits", &q, n)
}

async fn candidates(
    State(s): State<Arc<Recruitee>>,
    Path(company): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&s, "candidates", &company, &headers, &q).await {
        return r;
    }
    let d = s.data();
    let offer = number(&q, "offer_id");
    let list: Vec<&str> = d
        .candidates
        .0
        .iter()
        .filter(|c| offer.is_none_or(|o| c.offer_id == Some(o)))
        .map(|c| c.text())
        .collect();
    let c = &s.config;
    let ask = if c.unpaged_candidates {
        None
    } else {
        number(&q, "limit").map(|limit| {
            let offset = if c.ignore_offset {
                0
            } else {
                number(&q, "offset").unwrap_or(0)
            };
            (offset, limit)
        })
    };
    let total = list.len();
    let list = list_page(c, list, ask, |_| 0);
    json_response(
        StatusCode::OK,
        format!(
            "{{\"candidates\":[{}],\"generated_at\":{},\"references\":[]{}}}",
            list.join(","),
            json!(iso(d.now)),
            list_total(c, total)
        ),
    )
}

/// `,"total":N` when the lists carry a total.
fn list_total(c: &Config, total: usize) -> String {
    if c.list_total {
        format!(",\"total\":{total}")
    } else {
        String::new()
    }
}

/// One page of a list as the config says the vendor serves it. `ask` is (offset, limit) of a
/// paged request, None for an unpaged one (every record); `offset_of(size)` is where a page
/// starts when the offset depends on the page size served (`page`/`limit`), 0 when given.
fn list_page<T>(
    c: &Config,
    list: Vec<T>,
    ask: Option<(u64, u64)>,
    offset_of: impl Fn(u64) -> u64,
) -> Vec<T> {
    let Some((offset, limit)) = ask else {
        return list;
    };
    let mut size = if c.ignore_limit {
        DEFAULT_LIMIT
    } else {
        limit.max(1)
    };
    if let Some(cap) = c.page_cap {
        size = size.min(cap.max(1));
    }
    let mut start = offset.saturating_add(offset_of(size));
    if c.overlap_pages && start > 0 {
        start -= 1;
    }
    list.into_iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(size).unwrap_or(usize::MAX))
        .collect()
}

async fn candidate(
    State(s): State<Arc<Recruitee>>,
    Path((company, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("candidates/{id}");
    if let Some(r) = gate(&s, &path, &company, &headers, &HashMap::new()).await {
        return r;
    }
    match s.data().candidates.0.iter().find(|c| {
        c.value()["id"]
            .as_u64()
            .is_some_and(|n| n.to_string() == id)
    }) {
        Some(c) => json_response(
            StatusCode::OK,
            format!("{{\"candidate\":{},\"references\":[]}}", c.text()),
        ),
        None => not_found(),
    }
}

async fn offers(
    State(s): State<Arc<Recruitee>>,
    Path(company): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&s, "offers", &company, &headers, &q).await {
        return r;
    }
    let kind = q.get("kind");
    if kind.is_some_and(|k| k != "job" && k != "talent_pool") {
        return unprocessable("kind must be job or talent_pool");
    }
    let list: Vec<&Value> = s
        .data()
        .offers
        .iter()
        .filter(|o| kind.is_none_or(|k| o["kind"] == k.as_str()))
        .collect();
    let c = &s.config;
    let total = list.len();
    let list: Vec<&Value> = if c.paged_offers {
        let ask = number(&q, "limit").map(|limit| (0, limit));
        let page = if c.ignore_page {
            1
        } else {
            number(&q, "page").unwrap_or(1).max(1)
        };
        list_page(c, list, ask, |size| (page - 1).saturating_mul(size))
    } else {
        list
    };
    let mut answer = json!({ "offers": list });
    if c.list_total {
        answer["total"] = json!(total);
    }
    json_response(StatusCode::OK, answer.to_string())
}

#[cfg(test)]
mod arrival_tests {
    use super::*;

    #[test]
    fn sample_entries_are_json_as_a_value_writes_it() {
        let fake = Recruitee::new(Config::sample());
        let index = fake.audit().read().expect("index");
        assert_eq!(index.0.len(), AUDIT_ENTRIES);
        for item in index
            .0
            .iter()
            .step_by(97)
            .chain(std::iter::once(&arrival(3, 60)))
        {
            let v: Value = serde_json::from_str(item.text()).expect("json");
            assert_eq!(v.to_string(), item.text());
            assert_eq!(v["created_at"], iso(item.at));
            assert_eq!(v["admin"], v["details"]["admin"]);
            assert_eq!(v["candidate"], v["details"]["candidate"]);
        }
    }

    /// The ids of the entries that arrived, oldest first.
    fn arrived_ids(fake: &Recruitee) -> Vec<String> {
        let index = fake.audit().read().expect("index");
        let mut ids: Vec<String> = index
            .0
            .iter()
            .map(|i| i.value()["_id"].as_str().unwrap_or_default().to_string())
            .filter(|id| id.starts_with("sbnew"))
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn sample_entries_keep_arriving_one_every_few_seconds() {
        let fake = Recruitee::new(Config::sample());
        let count = |f: &Recruitee| f.audit().read().map(|i| i.0.len()).unwrap_or(0);
        let start = count(&fake);
        let every = i64::try_from(fake.arrival_ms).expect("ms");
        let from = i64::try_from(*fake.arrived.lock().expect("lock")).expect("slot") * every;
        fake.arrivals_at(from + every - 1);
        assert_eq!(count(&fake), start);
        fake.arrivals_at(from + 3 * every);
        assert_eq!(count(&fake), start + 3);
        fake.arrivals_at(from + 3 * every + 1);
        assert_eq!(count(&fake), start + 3, "each arrives once");
        fake.arrivals_at(from + 1_000_000 * every);
        assert_eq!(
            count(&fake),
            start + 3 + MAX_ARRIVALS_AT_ONCE as usize,
            "a clock that jumps ahead brings a bounded number"
        );
        let plain = Recruitee::new(Config::default());
        plain.arrivals_at(from + 60 * every);
        assert_eq!(count(&plain), 0, "only the sample grows by itself");
    }

    /// Two runs of the sandbox, one after the other, get entries of their own: the README's
    /// `--follow` demo shows new events on an archive an earlier run filled.
    #[test]
    fn each_run_gets_fresh_arrivals_named_by_the_clock() {
        let first = Recruitee::new(Config::sample());
        let every = i64::try_from(first.arrival_ms).expect("ms");
        let start = i64::try_from(*first.arrived.lock().expect("lock")).expect("slot") * every;
        first.arrivals_at(start + 3 * every);
        let later = Recruitee::new(Config::sample());
        // The later run starts where the first one stopped, and runs as long.
        *later.arrived.lock().expect("lock") = slot_of(start + 3 * every, first.arrival_ms);
        later.arrivals_at(start + 6 * every);
        let (a, b) = (arrived_ids(&first), arrived_ids(&later));
        assert_eq!((a.len(), b.len()), (3, 3));
        assert!(a.iter().all(|id| !b.contains(id)), "{a:?} and {b:?}");
        // The same slot is the same entry, whichever run serves it.
        let slot = slot_of(start + every, first.arrival_ms);
        assert_eq!(arrival(slot, 0).text(), arrival(slot, 0).text());
        assert_eq!(
            arrival(slot, 0).value()["_id"],
            format!("sbnew{slot:010}").as_str()
        );
    }
}
