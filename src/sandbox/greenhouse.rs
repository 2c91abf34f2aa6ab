//! The Greenhouse stand-in, and the one configurable Greenhouse fake of the tests and the
//! benchmark: the JWT from `POST /auth/jwt_access_token` (HTTP Basic with the key, tokens that
//! expire), `GET /events` with its filters, `after_time`/`before_time`, answers at once (a
//! size of their own) or by pages behind a point in time (`paging=true`, the `Size`, `Pit-Id`
//! and `Search-After` headers, an empty last page without `next_search_after`), `hits`, the
//! 30 days it keeps, `X-RateLimit-*` on successes, and both documented limits (50 requests per
//! 10 s, 3 paginated per 30 s, scalable) answered by a 429 without headers.
//!
//! [`Config`] holds the dataset (the sandbox's sample, or a test's results) and a switch for
//! each thing Greenhouse does not promise (`shared/api/greenhouse-audit-log.md`): points in
//! time that expire mid-walk, `after_time`/`before_time` inclusive or exclusive, the order
//! within one ms changed on every request, `hits` as the count of the answer rather than of
//! every match, the size of an answer without paging and which matches it holds (the newest
//! or the oldest), results that arrive mid-walk (late
//! indexing: with times already past). Identical results are simply data (give them twice).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Seen;
use super::sample::Rng;
use crate::error::Result;

/// The key the sandbox accepts.
pub const API_KEY: &str = "sandbox-greenhouse-harvest-key";

/// What an answer without paging holds at most, by default (the document's example shows
/// `"size": "100"`).
pub const UNPAGED_SIZE: usize = 100;

/// How long the fake keeps results, as Greenhouse does.
const RETENTION_MS: i64 = 30 * 86_400_000;

/// One quota: at most `n` requests in any `period`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub n: u32,
    pub period: Duration,
}

impl Limit {
    /// 50 requests per 10 s: Greenhouse's limit of all requests.
    pub const OVERALL: Limit = Limit {
        n: 50,
        period: Duration::from_secs(10),
    };
    /// 3 paginated requests per 30 s.
    pub const PAGED: Limit = Limit {
        n: 3,
        period: Duration::from_secs(30),
    };
}

/// What `hits` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hits {
    /// Every match of the query.
    Total,
    /// The results of this answer only.
    ThisAnswer,
}

/// The fake's dataset and behaviour. `Config::default()` is an empty, well-behaved Greenhouse
/// that accepts [`API_KEY`], without rate limits.
#[derive(Debug, Clone)]
pub struct Config {
    /// The sandbox's sample data instead of `results`.
    pub sample: bool,
    /// The results (each with its `event_time`), in any order.
    pub results: Vec<Value>,
    pub key: String,
    /// How long a JWT lives.
    pub jwt_lifetime: Duration,
    /// The first N tokens issued are refused (401) by the events endpoint.
    pub refuse_tokens: u64,
    /// What an answer without paging holds at most.
    pub unpaged_size: usize,
    pub hits: Hits,
    /// Whether `after_time` includes its own ms, and `before_time` its own.
    pub after_inclusive: bool,
    pub before_inclusive: bool,
    /// Results of one ms come in another order on every request (within an answer).
    pub shuffle_ties: bool,
    /// An answer without paging holds the oldest matches, not the newest (the order of
    /// results is not documented).
    pub oldest_first: bool,
    /// The first N points in time expire after their first page (the next page answers
    /// 404, "No search context found").
    pub expire_pits: u64,
    /// Results that arrive while a run goes: the k-th is added as request k + 2 comes in.
    pub arrive_during: Vec<Value>,
    /// Greenhouse's limits, enforced (None: unlimited).
    pub limit: Option<Limit>,
    pub paged_limit: Option<Limit>,
    /// Answer every events request with this status and body.
    pub refuse_with: Option<(u16, Value)>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            sample: false,
            results: Vec::new(),
            key: API_KEY.to_string(),
            jwt_lifetime: Duration::from_secs(24 * 3600),
            refuse_tokens: 0,
            unpaged_size: UNPAGED_SIZE,
            hits: Hits::Total,
            after_inclusive: false,
            before_inclusive: false,
            shuffle_ties: false,
            oldest_first: false,
            expire_pits: 0,
            arrive_during: Vec::new(),
            limit: None,
            paged_limit: None,
            refuse_with: None,
        }
    }
}

impl Config {
    /// The sandbox: sample data, Greenhouse's documented limits.
    pub fn sample() -> Config {
        Config {
            sample: true,
            limit: Some(Limit::OVERALL),
            paged_limit: Some(Limit::PAGED),
            ..Config::default()
        }
    }
}

/// One result as the fake holds it.
#[derive(Debug)]
struct Item {
    ms: i64,
    /// Arrival order: the tiebreak of the sort (as OpenSearch's `_shard_doc`).
    seq: u64,
    value: Value,
    text: String,
}

/// A point in time: the matches as they were, sorted.
struct Pit {
    items: Vec<Arc<Item>>,
    pages: u64,
    expires_after_first: bool,
}

/// The fake's state: its config, data and what it saw.
pub struct Greenhouse {
    config: Config,
    /// Newest first (`ms` desc, `seq` desc).
    items: RwLock<Vec<Arc<Item>>>,
    next_seq: AtomicU64,
    seen: Seen,
    /// Tokens issued: token → (number from 1, expiry).
    tokens: Mutex<HashMap<String, (u64, Instant)>>,
    issued: AtomicU64,
    pits: Mutex<HashMap<String, Pit>>,
    pits_made: AtomicU64,
    /// Times of recent requests (all, paginated), for the limits.
    recent: Mutex<(VecDeque<Instant>, VecDeque<Instant>)>,
    arrived: AtomicU64,
    /// Requests refused with 429, and requests answered over a limit (a violation).
    limited: AtomicU64,
}

impl Greenhouse {
    pub fn new(config: Config) -> Greenhouse {
        let results = if config.sample {
            sample(Timestamp::now().as_millisecond())
        } else {
            config.results.clone()
        };
        let g = Greenhouse {
            config,
            items: RwLock::new(Vec::new()),
            next_seq: AtomicU64::new(0),
            seen: Seen::default(),
            tokens: Mutex::new(HashMap::new()),
            issued: AtomicU64::new(0),
            pits: Mutex::new(HashMap::new()),
            pits_made: AtomicU64::new(0),
            recent: Mutex::new((VecDeque::new(), VecDeque::new())),
            arrived: AtomicU64::new(0),
            limited: AtomicU64::new(0),
        };
        let mut items: Vec<Arc<Item>> = results.into_iter().filter_map(|v| g.item(v)).collect();
        items.sort_by_key(|i| std::cmp::Reverse((i.ms, i.seq)));
        if let Ok(mut all) = g.items.write() {
            *all = items;
        }
        g
    }

    fn item(&self, value: Value) -> Option<Arc<Item>> {
        let ms = crate::time::vendor_instant(value.get("event_time")?.as_str()?)?
            .0
            .as_millisecond();
        Some(Arc::new(Item {
            ms,
            seq: self.next_seq.fetch_add(1, Ordering::SeqCst),
            text: value.to_string(),
            value,
        }))
    }

    /// Adds a result (one indexed while hrlogs runs, or between syncs).
    pub fn push(&self, value: Value) {
        let Some(item) = self.item(value) else {
            return;
        };
        if let Ok(mut all) = self.items.write() {
            let at = all.partition_point(|i| (i.ms, i.seq) > (item.ms, item.seq));
            all.insert(at, item);
        }
    }

    /// What the fake was asked.
    pub fn seen(&self) -> &Seen {
        &self.seen
    }

    /// Tokens issued so far.
    pub fn tokens_issued(&self) -> u64 {
        self.issued.load(Ordering::SeqCst)
    }

    /// Every token issued (to check that none was printed).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.tokens
            .lock()
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Paginated requests received.
    pub fn paged_requests(&self) -> usize {
        self.seen
            .queries()
            .iter()
            .filter(|(_, q)| q.iter().any(|(k, v)| k == "paging" && v == "true"))
            .count()
    }

    /// Requests answered 429.
    pub fn limited(&self) -> u64 {
        self.limited.load(Ordering::SeqCst)
    }

    /// Every result held, as text.
    pub fn texts(&self) -> Vec<String> {
        self.items
            .read()
            .map(|all| all.iter().map(|i| i.text.clone()).collect())
            .unwrap_or_default()
    }

    /// Whether this request may pass the limits now (it is counted when it does).
    fn admit(&self, paged: bool) -> bool {
        let now = Instant::now();
        let Ok(mut recent) = self.recent.lock() else {
            return true;
        };
        let (all, pages) = &mut *recent;
        let full = |q: &mut VecDeque<Instant>, l: Option<Limit>| match l {
            None => false,
            Some(l) => {
                while q
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= l.period)
                {
                    q.pop_front();
                }
                q.len() >= l.n as usize
            }
        };
        if full(all, self.config.limit) || (paged && full(pages, self.config.paged_limit)) {
            return false;
        }
        all.push_back(now);
        if paged {
            pages.push_back(now);
        }
        true
    }
}

/// A fake Greenhouse served on its own thread; stops when dropped.
pub type Fake = super::Fake<Greenhouse>;

impl super::VendorFake for Greenhouse {
    fn prefix(&self) -> Option<&str> {
        None
    }

    fn routes(state: Arc<Greenhouse>) -> Router {
        Router::new()
            .route("/auth/jwt_access_token", post(token))
            .route("/events", get(events))
            .with_state(state)
    }
}

/// Serves `config` on 127.0.0.1 on a thread of its own.
pub fn spawn(config: Config) -> Result<Fake> {
    Fake::serve(Greenhouse::new(config))
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

fn iso(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// `user:password` of an HTTP Basic header.
fn basic_user(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let b64 = v.strip_prefix("Basic ")?;
    let bytes = decode_base64(b64.trim())?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    password.is_empty().then(|| user.to_string())
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::new();
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

async fn token(State(s): State<Arc<Greenhouse>>, headers: HeaderMap) -> Response {
    s.seen.request("/auth/jwt_access_token", vec![]);
    if basic_user(&headers).as_deref() != Some(s.config.key.as_str()) {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"message": "Invalid Basic Auth credentials"}).to_string(),
        );
    }
    let n = s.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let mut rng = Rng::from_text(&["jwt", &n.to_string(), &s.config.key]);
    let token = format!(
        "eyJhbGciOiJIUzI1NiJ9.eyJuIjo{n}fQ.{:016x}{:016x}",
        rng.next(),
        rng.next()
    );
    let lifetime = s.config.jwt_lifetime;
    if let Ok(mut t) = s.tokens.lock() {
        t.insert(token.clone(), (n, Instant::now() + lifetime));
    }
    let expires = Timestamp::now()
        .checked_add(jiff::SignedDuration::try_from(lifetime).unwrap_or_default())
        .map(|t| iso(t.as_millisecond()))
        .unwrap_or_default();
    json_response(
        StatusCode::OK,
        json!({"access_token": token, "expires": expires}).to_string(),
    )
}

/// 401 unless the Bearer token is one issued, alive and not refused.
fn check_token(s: &Greenhouse, headers: &HeaderMap) -> Option<Response> {
    let refused = || {
        Some(json_response(
            StatusCode::UNAUTHORIZED,
            json!({"message": "Unauthorized: access token is invalid or has expired"}).to_string(),
        ))
    };
    let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return refused();
    };
    let known = s.tokens.lock().ok()?.get(token).copied();
    match known {
        Some((n, until)) if n > s.config.refuse_tokens && Instant::now() < until => None,
        _ => refused(),
    }
}

/// A time parameter: ISO 8601 with ms.
fn time_param(
    q: &HashMap<String, String>,
    name: &str,
) -> std::result::Result<Option<i64>, Box<Response>> {
    match q.get(name) {
        None => Ok(None),
        Some(t) => match crate::time::vendor_instant(t) {
            Some((t, _)) => Ok(Some(t.as_millisecond())),
            None => Err(Box::new(json_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"message": "Validation failed", "errors": [{"field": name, "message": "must be ISO-8601"}]}).to_string(),
            ))),
        },
    }
}

/// The filters of a query: (the result's field, the values asked).
fn filters(q: &HashMap<String, String>) -> Vec<(&'static [&'static str], Vec<String>)> {
    let list = |k: &str| -> Vec<String> {
        q.get(k)
            .map(|v| v.split(',').map(|x| x.trim().to_string()).collect())
            .unwrap_or_default()
    };
    let fields: [(&str, &'static [&'static str]); 8] = [
        ("performer_ids", &["performer", "id"]),
        ("performer_types", &["performer", "type"]),
        ("performer_ip_addresses", &["performer", "ip_address"]),
        ("event_types", &["event", "type"]),
        ("event_target_ids", &["event", "target_id"]),
        ("event_target_types", &["event", "target_type"]),
        ("request_ids", &["request", "id"]),
        ("request_types", &["request", "type"]),
    ];
    fields
        .into_iter()
        .map(|(k, path)| (path, list(k)))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn passes(item: &Item, filters: &[(&[&str], Vec<String>)]) -> bool {
    filters.iter().all(|(path, wanted)| {
        let mut v = &item.value;
        for key in *path {
            match v.get(*key) {
                Some(x) => v = x,
                None => return false,
            }
        }
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Null => return false,
            other => other.to_string(),
        };
        wanted.contains(&text)
    })
}

async fn events(
    State(s): State<Arc<Greenhouse>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut asked: Vec<(String, String)> = q.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for h in ["size", "pit-id", "search-after"] {
        if let Some(v) = headers.get(h).and_then(|v| v.to_str().ok()) {
            asked.push((format!("header:{h}"), v.to_string()));
        }
    }
    asked.sort();
    let n = s.seen.request("/events", asked);
    // Late arrivals: the k-th as request k + 2 comes in.
    let due = n.saturating_sub(1) as usize;
    while (s.arrived.load(Ordering::SeqCst) as usize) < due.min(s.config.arrive_during.len()) {
        let k = s.arrived.fetch_add(1, Ordering::SeqCst) as usize;
        if let Some(v) = s.config.arrive_during.get(k) {
            s.push(v.clone());
        }
    }
    if let Some(r) = check_token(&s, &headers) {
        return r;
    }
    if let Some((status, body)) = &s.config.refuse_with {
        return json_response(
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body.to_string(),
        );
    }
    let paged = q.get("paging").is_some_and(|p| p == "true");
    if !s.admit(paged) {
        s.limited.fetch_add(1, Ordering::SeqCst);
        // No X-RateLimit-* headers on a 429, as documented.
        return json_response(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"message": "Rate limit exceeded"}).to_string(),
        );
    }
    let (after, before) = match (time_param(&q, "after_time"), time_param(&q, "before_time")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let pit_id = headers
        .get("pit-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let search_after = headers
        .get("search-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut answer = if paged {
        let size = match headers.get("size").and_then(|v| v.to_str().ok()) {
            None => 100,
            Some(t) => match t.trim().parse::<usize>() {
                Ok(n) if (100..=500).contains(&n) => n,
                _ => {
                    return json_response(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        json!({"message": "Validation failed", "errors": [{"field": "Size", "message": "must be between 100 and 500"}]}).to_string(),
                    );
                }
            },
        };
        match page(&s, &q, after, before, pit_id, search_after, size) {
            Ok(a) => a,
            Err(r) => return *r,
        }
    } else {
        let matches = matching(&s, &q, after, before);
        let total = matches.len();
        let served: Vec<Arc<Item>> = if s.config.oldest_first {
            matches
                .into_iter()
                .rev()
                .take(s.config.unpaged_size)
                .collect()
        } else {
            matches.into_iter().take(s.config.unpaged_size).collect()
        };
        Answer {
            hits: total,
            items: served,
            paging: None,
        }
    };
    if s.config.hits == Hits::ThisAnswer {
        answer.hits = answer.items.len();
    }
    if s.config.shuffle_ties {
        shuffle_ties(&mut answer.items, n);
    }
    let results: Vec<&str> = answer.items.iter().map(|i| i.text.as_str()).collect();
    let body = format!(
        "{{\"paging\":{},\"hits\":{},\"results\":[{}]}}",
        answer.paging.unwrap_or_else(|| json!({"pit_id": null, "search_after": null, "size": s.config.unpaged_size.to_string(), "next_search_after": null})),
        answer.hits,
        results.join(",")
    );
    let mut r = json_response(StatusCode::OK, body);
    let remaining = s
        .recent
        .lock()
        .map(|r| {
            s.config
                .limit
                .map_or(50, |l| l.n)
                .saturating_sub(r.0.len() as u32)
        })
        .unwrap_or(0);
    let h = r.headers_mut();
    h.insert(
        "x-ratelimit-limit",
        s.config.limit.map_or(50, |l| l.n).into(),
    );
    h.insert("x-ratelimit-remaining", remaining.into());
    r
}

struct Answer {
    hits: usize,
    items: Vec<Arc<Item>>,
    paging: Option<Value>,
}

/// The matches of a query, newest first; only what the fake still keeps (30 days).
fn matching(
    s: &Greenhouse,
    q: &HashMap<String, String>,
    after: Option<i64>,
    before: Option<i64>,
) -> Vec<Arc<Item>> {
    let Ok(all) = s.items.read() else {
        return Vec::new();
    };
    let kept_from = Timestamp::now().as_millisecond() - RETENTION_MS;
    let (ai, bi) = (s.config.after_inclusive, s.config.before_inclusive);
    // Newest first: from the first item not after `before` to the last after `after`.
    let start = match before {
        Some(b) => all.partition_point(|i| if bi { i.ms > b } else { i.ms >= b }),
        None => 0,
    };
    let end = all.partition_point(|i| {
        i.ms >= kept_from
            && match after {
                None => true,
                Some(a) if ai => i.ms >= a,
                Some(a) => i.ms > a,
            }
    });
    let f = filters(q);
    all.get(start..end.max(start))
        .unwrap_or(&[])
        .iter()
        .filter(|i| f.is_empty() || passes(i, &f))
        .cloned()
        .collect()
}

/// A page of a walk: the first makes a point in time, the next ones read it after
/// `search_after` (`ms,seq` of the last result served).
fn page(
    s: &Greenhouse,
    q: &HashMap<String, String>,
    after: Option<i64>,
    before: Option<i64>,
    pit_id: Option<String>,
    search_after: Option<String>,
    size: usize,
) -> std::result::Result<Answer, Box<Response>> {
    let gone = || {
        Box::new(json_response(
            StatusCode::NOT_FOUND,
            json!({"message": "No search context found for the given pit_id: it expired"})
                .to_string(),
        ))
    };
    let Ok(mut pits) = s.pits.lock() else {
        return Err(gone());
    };
    let id = match pit_id {
        None => {
            let made = s.pits_made.fetch_add(1, Ordering::SeqCst) + 1;
            let id = format!("cGl0LXtm{made:08}");
            pits.insert(
                id.clone(),
                Pit {
                    items: matching(s, q, after, before),
                    pages: 0,
                    expires_after_first: made <= s.config.expire_pits,
                },
            );
            id
        }
        Some(id) => id,
    };
    let Some(pit) = pits.get_mut(&id) else {
        return Err(gone());
    };
    pit.pages += 1;
    if pit.expires_after_first && pit.pages > 1 {
        pits.remove(&id);
        return Err(gone());
    }
    let from = match &search_after {
        None => 0,
        Some(sa) => {
            let Some((ms, seq)) = sa.split_once(',').and_then(|(a, b)| {
                Some((a.trim().parse::<i64>().ok()?, b.trim().parse::<u64>().ok()?))
            }) else {
                return Err(Box::new(json_response(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"message": "Validation failed", "errors": [{"field": "Search-After", "message": "is invalid"}]}).to_string(),
                )));
            };
            pit.items.partition_point(|i| (i.ms, i.seq) >= (ms, seq))
        }
    };
    let items: Vec<Arc<Item>> = pit.items.iter().skip(from).take(size).cloned().collect();
    let next = items.last().map(|i| format!("{},{}", i.ms, i.seq));
    Ok(Answer {
        hits: pit.items.len(),
        items,
        paging: Some(json!({
            "pit_id": id,
            "search_after": search_after,
            "size": size.to_string(),
            "next_search_after": next,
        })),
    })
}

/// Results of one ms in another order, different on every request `n`.
fn shuffle_ties(items: &mut [Arc<Item>], n: u64) {
    let mut rng = Rng::from_text(&["ties", &n.to_string()]);
    let mut start = 0;
    while start < items.len() {
        let ms = items[start].ms;
        let end = start + items[start..].iter().take_while(|i| i.ms == ms).count();
        for i in (start + 1..end).rev() {
            let j = start + rng.range(0, (i - start + 1) as u64) as usize;
            items.swap(i, j);
        }
        start = end;
    }
}

/// Users of the sample, with a hostile name or two (output must neutralise them).
const USERS: &[(u64, &str, &str)] = &[
    (4080, "Allison Jamie", "allison.j@omniva-corp.com"),
    (4081, "王芳", "wang.fang@omniva-corp.com"),
    (4082, "=cmd|' /C calc'!A0", "mallory@omniva-corp.com"),
    (4083, "Zoë O'Brien, Jr.", "zoe@omniva-corp.com"),
];
const TARGETS: &[&str] = &[
    "Candidate",
    "Application",
    "Job",
    "User",
    "OrganizationEmail",
    "Offer",
];
const ACTIONS: &[&str] = &[
    "Global Email Added",
    "Report Exported",
    "User Login",
    "Bulk Rejection",
];

/// One sample action at `ms` (a slot's): its results, which share the request.
pub fn sample_action(slot: u64, ms: i64) -> Vec<Value> {
    let mut rng = Rng::from_text(&["greenhouse", &slot.to_string()]);
    let at = iso(ms);
    let request_id = format!("{:x}{:04x}zID", slot, rng.range(0, 0xffff));
    let kind = rng.range(0, 10);
    let (performer, request_type) = match kind {
        0..=5 => {
            let (id, name, email) = *rng.pick(USERS);
            (
                json!({"id": id, "type": "user", "ip_address": format!("192.168.0.{}", rng.range(1, 255)), "meta": {"name": name, "username": email}}),
                "candidates#update".to_string(),
            )
        }
        6..=8 => (
            json!({"id": 911, "type": "api_key", "ip_address": "203.0.113.7", "meta": {"name": "Harvest", "username": "harvest_key"}}),
            format!("/v1/candidates/{}", 7_000_000 + rng.range(0, 99_999)),
        ),
        _ => (
            json!({"id": null, "type": "greenhouse_internal", "ip_address": null, "meta": null}),
            "system#cleanup".to_string(),
        ),
    };
    let base = |event: Value| {
        json!({
            "organization_id": 123,
            "event_time": at,
            "request": {"id": request_id, "type": request_type},
            "performer": performer,
            "event": event,
        })
    };
    let target = *rng.pick(TARGETS);
    let target_id = 1_000 + rng.range(0, 90_000);
    match kind {
        6..=8 => vec![base(
            json!({"type": "harvest_access", "target_type": target, "target_id": target_id, "meta": null}),
        )],
        9 => vec![base(
            json!({"type": "data_change_destroy", "target_type": target, "target_id": target_id, "meta": {"id": [target_id, null]}}),
        )],
        _ => {
            let action = *rng.pick(ACTIONS);
            let mut out = vec![base(
                json!({"type": "action", "target_type": action, "meta": {"note": "a, \"quoted\"\nline"}}),
            )];
            let change = match rng.range(0, 3) {
                0 => {
                    json!({"type": "data_change_create", "target_type": target, "target_id": target_id, "meta": {"value": [null, "johnny.c@omniva-corp.com"]}})
                }
                1 => {
                    json!({"type": "data_change_update", "target_type": target, "target_id": target_id, "meta": {"stage": ["Application Review", "Offer"]}})
                }
                _ => {
                    json!({"type": "data_change_destroy", "target_type": target, "target_id": target_id, "meta": null})
                }
            };
            out.push(base(change));
            out
        }
    }
}

/// How often a sample action happens (so 30 days hold about 700 results).
const SAMPLE_SLOT_MS: i64 = 4_000_000;

/// The sample's results of the 30 days before `now_ms`: one action per slot, each made from
/// its slot alone (the same results in every run that covers the slot).
fn sample(now_ms: i64) -> Vec<Value> {
    let first = (now_ms - RETENTION_MS).div_euclid(SAMPLE_SLOT_MS) + 1;
    let last = now_ms.div_euclid(SAMPLE_SLOT_MS);
    (first..=last)
        .flat_map(|slot| {
            let mut rng = Rng::from_text(&["greenhouse-at", &slot.to_string()]);
            let ms = slot * SAMPLE_SLOT_MS + rng.range(0, 3_000_000) as i64;
            if ms > now_ms {
                return Vec::new();
            }
            sample_action(slot.unsigned_abs(), ms)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_read() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Basic YWJjOg==".parse().expect("header"));
        assert_eq!(basic_user(&h).as_deref(), Some("abc"));
        h.insert("authorization", "Basic YWJjOng=".parse().expect("header"));
        assert_eq!(basic_user(&h), None, "a password is refused");
    }

    #[test]
    fn the_sample_is_the_same_for_the_same_slots() {
        let now = 1_750_000_000_000;
        let a = sample(now);
        let b = sample(now + 1);
        assert!(a.len() > 500, "{}", a.len());
        assert_eq!(a[..10], b[..10]);
    }
}
