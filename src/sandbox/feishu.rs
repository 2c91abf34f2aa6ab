//! The Feishu stand-in, and the one configurable Feishu fake of the sandbox, the tests and the
//! benchmark: token exchange, talent operation logs, department operation logs, answering as
//! Feishu does (envelopes with `code`/`msg`, `has_more` + token paging, the 100-department and
//! 366-day limits with `end_date` after `start_date`, 99991663 for a refused token, 99991400
//! with `x-ogw-ratelimit-reset`).
//!
//! [`Config`] holds the dataset (the sandbox's sample, where any ID has records generated from
//! it, or a test's own logs, which can grow while it runs: [`Feishu::push_dept`],
//! [`Feishu::push_talent`]) and a switch for each way Feishu may misbehave: talent logs in
//! another order, records repeated under fresh tokens, `has_more` without a token, `code 0` without `data`, a repeating token,
//! refusals, token revocation every N calls, rate limits (429 or 400), faults and latency, a
//! redirect on the token call, an endless body, a huge `expire`, error bodies that echo the
//! secret, a path prefix.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use jiff::civil::{Date, DateTime};
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

use super::sample::{PEOPLE, REASONS, Rng};
use super::{APP_ID, APP_SECRET, Fault, Faults, Seen};
use crate::error::Result;

pub const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";
pub const TALENT_PATH: &str = "/open-apis/hire/v1/talent_operation_logs/search";
pub const DEPT_PATH: &str = "/open-apis/corehr/v2/departments/query_operation_logs";

/// What page tokens look like (an offset after this prefix).
const TOKEN_PREFIX: &str = "eyJvZmZzZXQi";

/// A department's sample logs: when, and the record's text.
type SampleDept = Vec<(DateTime, String)>;
/// An operator's sample logs of one operation: when (ms), the job, and the record's text.
type SampleTalent = Vec<(i64, String, String)>;

/// One department operation log.
#[derive(Debug, Clone)]
pub struct DeptLog {
    pub department: String,
    /// `operation_time`, the tenant's wall clock.
    pub at: DateTime,
    pub value: Value,
}

/// One talent operation log.
#[derive(Debug, Clone)]
pub struct TalentLog {
    pub operator: String,
    pub operation: i64,
    pub job: String,
    pub ms: i64,
    pub value: Value,
}

/// The fake's dataset and behaviour. `Config::default()` is an empty, well-behaved Feishu that
/// accepts [`APP_ID`] / [`APP_SECRET`].
#[derive(Debug, Clone)]
pub struct Config {
    /// The sandbox's sample data (any operator or department has records) instead of the lists.
    pub sample: bool,
    /// Department logs, newest first.
    pub dept: Vec<DeptLog>,
    /// Talent logs, newest first.
    pub talent: Vec<TalentLog>,
    pub app_id: String,
    pub app_secret: String,
    /// Tokens issued are this followed by a number.
    pub token_prefix: String,
    /// The token answer's `expire` (seconds).
    pub expire: i64,
    /// Revoke every token after this many data calls (0: never).
    pub revoke_every: u64,
    /// Always answer the same next page token (a looping vendor).
    pub repeat_token: bool,
    /// Every page is the first page again, under a fresh token each time.
    pub fresh_token_repeats: bool,
    /// Every page after the first starts this many records early (an offset that drifts
    /// between requests), under a fresh-looking token.
    pub drift_pages: usize,
    /// Talent logs served oldest first: their order is not documented, so hrlogs must not
    /// rely on one.
    pub talent_oldest_first: bool,
    /// `has_more: true` with no token where a next page would be.
    pub more_without_token: bool,
    /// Data calls answer `{"code":0,"msg":"success"}`, without `data`.
    pub no_data: bool,
    /// Answer every data call with this code and message (HTTP 400).
    pub refuse_with: Option<(i64, String)>,
    /// Rate limits as HTTP 400 with code 99991400 (as some older APIs do), not 429.
    pub rate_limit_as_400: bool,
    /// Answer the first N data calls with a rate limit.
    pub throttle_first: u64,
    /// Enforce the vendor's rate limit: past this many data calls in one second (per API),
    /// answer with a rate limit (reset 1 s), as Feishu does.
    pub per_second: Option<u64>,
    /// `x-ogw-ratelimit-reset` on rate limits (also used by `faults.every_429`).
    pub reset_seconds: Option<u64>,
    /// Answer the token call 307 to this URL.
    pub redirect_token_to: Option<String>,
    /// Data calls answer 200 with a body that never ends.
    pub endless_body: bool,
    /// Refusals echo what was sent: the token call the app secret, data calls the
    /// Authorization header.
    pub echo_secret: bool,
    pub faults: Faults,
    /// Serve under this path prefix (an API gateway), e.g. `/feishu`.
    pub prefix: Option<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            sample: false,
            dept: Vec::new(),
            talent: Vec::new(),
            app_id: APP_ID.to_string(),
            app_secret: APP_SECRET.to_string(),
            token_prefix: "t-test-".to_string(),
            expire: 7200,
            revoke_every: 0,
            repeat_token: false,
            fresh_token_repeats: false,
            drift_pages: 0,
            talent_oldest_first: false,
            more_without_token: false,
            no_data: false,
            refuse_with: None,
            rate_limit_as_400: false,
            throttle_first: 0,
            per_second: None,
            reset_seconds: None,
            redirect_token_to: None,
            endless_body: false,
            echo_secret: false,
            faults: Faults::default(),
            prefix: None,
        }
    }
}

impl Config {
    /// The sandbox: sample data, well behaved.
    pub fn sample() -> Config {
        Config {
            sample: true,
            token_prefix: "t-sandbox-".to_string(),
            ..Config::default()
        }
    }
}

/// The fake's state: its config and what it saw.
pub struct Feishu {
    pub config: Config,
    /// The logs, newest first, each with its JSON text made once (pages are joined from
    /// these); the config's, and those pushed since.
    dept: RwLock<Vec<(DeptLog, String)>>,
    talent: RwLock<Vec<(TalentLog, String)>>,
    /// How long each data call takes (ms): the config's latency until set otherwise.
    latency_ms: AtomicU64,
    /// The sample's logs of each department, and of each operator and operation, made once
    /// (with their text) when first asked for.
    sample_dept: Mutex<HashMap<String, Arc<SampleDept>>>,
    sample_talent: Mutex<HashMap<(String, i64), Arc<SampleTalent>>>,
    /// The recent department queries (their departments, sorted, and spans) and the indexes
    /// in `dept` of the logs each matches, so that each page is not a scan of every log (a
    /// walk of 40,000 logs by pages of 100 was 400 scans); cleared when a log is pushed.
    dept_matches: Mutex<HashMap<DeptQuery, Arc<Vec<usize>>>>,
    now: Timestamp,
    pub token_calls: AtomicU64,
    pub data_calls: AtomicU64,
    valid: Mutex<HashSet<String>>,
    /// Paths and queries of data calls, and broken rules (too many departments, bad spans).
    pub seen: Seen,
    /// The JSON body of each data call.
    pub bodies: Mutex<Vec<Value>>,
    /// When each data call arrived.
    pub arrivals: Mutex<Vec<Instant>>,
    /// Indexes (in `arrivals`) of the calls answered with a rate limit.
    pub limited: Mutex<Vec<usize>>,
    /// How many faults were injected.
    pub injected: AtomicU64,
    /// How many calls were answered with a rate limit past `per_second`.
    pub throttled: AtomicU64,
    /// Per API path: the second being counted and the calls in it.
    windows: Mutex<HashMap<&'static str, (u64, u64)>>,
    started: Instant,
    fresh: AtomicU64,
}

impl Feishu {
    pub fn new(config: Config) -> Feishu {
        Feishu {
            dept: RwLock::new(
                config
                    .dept
                    .iter()
                    .map(|l| (l.clone(), l.value.to_string()))
                    .collect(),
            ),
            talent: RwLock::new(
                config
                    .talent
                    .iter()
                    .map(|l| (l.clone(), l.value.to_string()))
                    .collect(),
            ),
            sample_dept: Mutex::new(HashMap::new()),
            sample_talent: Mutex::new(HashMap::new()),
            dept_matches: Mutex::new(HashMap::new()),
            latency_ms: AtomicU64::new(
                u64::try_from(config.faults.latency.as_millis()).unwrap_or(u64::MAX),
            ),
            config,
            now: Timestamp::now(),
            token_calls: AtomicU64::new(0),
            data_calls: AtomicU64::new(0),
            valid: Mutex::new(HashSet::new()),
            seen: Seen::default(),
            bodies: Mutex::new(Vec::new()),
            arrivals: Mutex::new(Vec::new()),
            limited: Mutex::new(Vec::new()),
            injected: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            windows: Mutex::new(HashMap::new()),
            started: Instant::now(),
            fresh: AtomicU64::new(0),
        }
    }

    pub fn token_calls(&self) -> u64 {
        self.token_calls.load(Ordering::SeqCst)
    }

    pub fn data_calls(&self) -> u64 {
        self.data_calls.load(Ordering::SeqCst)
    }

    /// The sample's logs of `department` (made on first use).
    fn sample_dept(&self, department: &str) -> Arc<SampleDept> {
        let today = self.now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let make = || {
            let logs = dept_records(department, today);
            Arc::new(
                logs.into_iter()
                    .map(|(at, v)| (at, v.to_string()))
                    .collect(),
            )
        };
        match self.sample_dept.lock() {
            Ok(mut made) => made
                .entry(department.to_string())
                .or_insert_with(make)
                .clone(),
            Err(_) => make(),
        }
    }

    /// The sample's logs of `operator`'s `operation` (made on first use).
    fn sample_talent(&self, operator: &str, operation: i64) -> Arc<SampleTalent> {
        let make = || {
            let logs = talent_records(operator, operation, self.now);
            Arc::new(
                logs.into_iter()
                    .map(|(ms, job, v)| (ms, job, v.to_string()))
                    .collect(),
            )
        };
        match self.sample_talent.lock() {
            Ok(mut made) => made
                .entry((operator.to_string(), operation))
                .or_insert_with(make)
                .clone(),
            Err(_) => make(),
        }
    }

    /// How many data calls went to `path` (`DEPT_PATH`, `TALENT_PATH`).
    pub fn calls_to(&self, path: &str) -> usize {
        self.seen
            .queries()
            .iter()
            .filter(|(p, _)| p == path)
            .count()
    }

    /// Adds a department log (one made, or indexed late, between or during runs). Among logs
    /// of the same second it comes last.
    pub fn push_dept(&self, log: DeptLog) {
        if let Ok(mut logs) = self.dept.write() {
            let at = logs.partition_point(|(l, _)| l.at >= log.at);
            let text = log.value.to_string();
            logs.insert(at, (log, text));
            if let Ok(mut matches) = self.dept_matches.lock() {
                matches.clear();
            }
        }
    }

    /// The indexes in `logs` (the `dept` list, read-locked by the caller) of the logs of
    /// `query`, in the list's order.
    fn dept_matching(&self, logs: &[(DeptLog, String)], query: DeptQuery) -> Arc<Vec<usize>> {
        let mut known = self.dept_matches.lock().ok();
        if let Some(found) = known.as_ref().and_then(|k| k.get(&query)) {
            return found.clone();
        }
        let (departments, from, to) = &query;
        let ids: HashSet<&str> = departments.iter().map(String::as_str).collect();
        // Newest first (as the config and `push_dept` keep them): only the span's part is
        // looked at. A test's list out of order is looked at whole.
        let (first, last) = if logs.is_sorted_by(|a, b| a.0.at >= b.0.at) {
            (
                logs.partition_point(|(l, _)| l.at > *to),
                logs.partition_point(|(l, _)| l.at >= *from),
            )
        } else {
            (0, logs.len())
        };
        let found: Arc<Vec<usize>> = Arc::new(
            (first..last.max(first))
                .filter(|&i| {
                    logs.get(i).is_some_and(|(l, _)| {
                        ids.contains(l.department.as_str()) && l.at >= *from && l.at <= *to
                    })
                })
                .collect(),
        );
        if let Some(known) = known.as_mut() {
            if known.len() >= 256 {
                known.clear();
            }
            known.insert(query, found.clone());
        }
        found
    }

    /// Adds a talent log, as [`Feishu::push_dept`] does.
    pub fn push_talent(&self, log: TalentLog) {
        if let Ok(mut logs) = self.talent.write() {
            let at = logs.partition_point(|(l, _)| l.ms >= log.ms);
            let text = log.value.to_string();
            logs.insert(at, (log, text));
        }
    }

    /// From now on each data call takes `latency`.
    pub fn set_latency(&self, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.latency_ms.store(ms, Ordering::SeqCst);
    }

    /// The JSON bodies of the data calls so far.
    pub fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

/// A fake Feishu served on its own thread; stops when dropped.
pub type Fake = super::Fake<Feishu>;

impl super::VendorFake for Feishu {
    fn prefix(&self) -> Option<&str> {
        self.config.prefix.as_deref()
    }

    fn routes(state: Arc<Feishu>) -> Router {
        Router::new()
            .route(TOKEN_PATH, post(token))
            .route(TALENT_PATH, post(talent_logs))
            .route(DEPT_PATH, post(dept_logs))
            .with_state(state)
    }
}

/// Serves `config` on 127.0.0.1 on a thread of its own.
pub fn spawn(config: Config) -> Result<Fake> {
    Fake::serve(Feishu::new(config))
}

fn envelope(code: i64, msg: &str, data: Option<Value>) -> Value {
    let mut body = json!({"code": code, "msg": msg});
    if let Some(d) = data {
        body["data"] = d;
    }
    body
}

fn answer(status: StatusCode, code: i64, msg: &str, data: Option<Value>) -> Response {
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        envelope(code, msg, data).to_string(),
    )
        .into_response()
}

fn bad_param(msg: &str) -> Response {
    answer(StatusCode::BAD_REQUEST, 1002002, msg, None)
}

async fn token(State(s): State<Arc<Feishu>>, body: Bytes) -> Response {
    let c = &s.config;
    let n = s.token_calls.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(to) = &c.redirect_token_to {
        return (StatusCode::TEMPORARY_REDIRECT, [("location", to.as_str())]).into_response();
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if v["app_id"] != c.app_id.as_str() || v["app_secret"] != c.app_secret.as_str() {
        let msg = if c.echo_secret {
            format!(
                "app secret invalid: got app_secret {} for app {}",
                v["app_secret"], v["app_id"]
            )
        } else {
            "app secret invalid".to_string()
        };
        return answer(StatusCode::BAD_REQUEST, 10014, &msg, None);
    }
    let token = format!("{}{n}", c.token_prefix);
    if let Ok(mut valid) = s.valid.lock() {
        valid.insert(token.clone());
    }
    let body = json!({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": c.expire});
    (
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn rate_limited(c: &Config) -> Response {
    let status = if c.rate_limit_as_400 {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::TOO_MANY_REQUESTS
    };
    let mut r = answer(status, 99991400, "request trigger frequency limit", None);
    let h = r.headers_mut();
    h.insert("x-ogw-ratelimit-limit", 5.into());
    if let Some(reset) = c.reset_seconds {
        h.insert("x-ogw-ratelimit-reset", reset.into());
    }
    r
}

/// An answer that never ends: a page whose item list goes on forever.
fn endless() -> Response {
    let head = futures::stream::once(async {
        Ok::<_, std::io::Error>(Bytes::from_static(b"{\"code\":0,\"data\":{\"items\":["))
    });
    let item = Bytes::from(format!("{{\"operation_time\":\"{}\"}},", "9".repeat(4000)));
    let tail = futures::stream::repeat_with(move || Ok::<_, std::io::Error>(item.clone()));
    let mut r = Body::from_stream(futures::StreamExt::chain(head, tail)).into_response();
    r.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/json"),
    );
    r
}

impl Feishu {
    /// False when this call is one too many in the current second of `path`'s limit.
    fn admit(&self, path: &'static str) -> bool {
        let Some(limit) = self.config.per_second else {
            return true;
        };
        let second = self.started.elapsed().as_secs();
        let Ok(mut windows) = self.windows.lock() else {
            return true;
        };
        let w = windows.entry(path).or_insert((second, 0));
        if w.0 != second {
            *w = (second, 0);
        }
        w.1 += 1;
        w.1 <= limit
    }
}

/// A data call's JSON body, once the call has passed the [`gate`]; Err(the answer) when the
/// gate answers or the body is not JSON.
#[allow(clippy::result_large_err)] // the Err is the answer to send
async fn json_body(
    s: &Feishu,
    path: &'static str,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    body: &[u8],
) -> std::result::Result<Value, Response> {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if let Some(r) = gate(s, path, headers, q, &v).await {
        return Err(r);
    }
    if v.is_null() {
        return Err(bad_param("body is not JSON"));
    }
    Ok(v)
}

/// What every data call goes through first: counting, latency, revocation, auth, faults,
/// refusals. Some(answer) when that is the answer.
async fn gate(
    s: &Feishu,
    path: &'static str,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    body: &Value,
) -> Option<Response> {
    let c = &s.config;
    let calls = s.data_calls.fetch_add(1, Ordering::SeqCst) + 1;
    let index = s.arrivals.lock().map_or(0, |mut a| {
        a.push(Instant::now());
        a.len() - 1
    });
    let mut pairs: Vec<(String, String)> = q.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    pairs.sort();
    s.seen.request(path, pairs);
    if let Ok(mut b) = s.bodies.lock() {
        b.push(body.clone());
    }
    let latency = Duration::from_millis(s.latency_ms.load(Ordering::SeqCst));
    if latency > Duration::ZERO {
        tokio::time::sleep(latency).await;
    }
    if c.revoke_every > 0 && calls % c.revoke_every == 0 {
        if let Ok(mut valid) = s.valid.lock() {
            valid.clear();
        }
    }
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if c.echo_secret {
        return Some(bad_param(&format!(
            "invalid request: header authorization: {auth}"
        )));
    }
    let Some(token) = auth.strip_prefix("Bearer ").filter(|t| !t.is_empty()) else {
        return Some(answer(
            StatusCode::BAD_REQUEST,
            99991661,
            "Missing access token for authorization",
            None,
        ));
    };
    if !s.valid.lock().is_ok_and(|v| v.contains(token)) {
        return Some(answer(
            StatusCode::BAD_REQUEST,
            99991663,
            "Invalid access token for authorization",
            None,
        ));
    }
    let limit = |s: &Feishu| {
        if let Ok(mut l) = s.limited.lock() {
            l.push(index);
        }
        rate_limited(c)
    };
    if calls <= c.throttle_first {
        return Some(limit(s));
    }
    if !s.admit(path) {
        s.throttled.fetch_add(1, Ordering::SeqCst);
        let mut r = limit(s);
        r.headers_mut().insert("x-ogw-ratelimit-reset", 1.into());
        return Some(r);
    }
    if let Some(f) = c.faults.pick(calls) {
        s.injected.fetch_add(1, Ordering::SeqCst);
        return Some(match f {
            Fault::RateLimited => limit(s),
            other => c.faults.answer(other, "x-ogw-ratelimit-reset", ""),
        });
    }
    if let Some((code, msg)) = &c.refuse_with {
        return Some(answer(StatusCode::BAD_REQUEST, *code, msg, None));
    }
    if c.endless_body {
        return Some(endless());
    }
    if c.no_data {
        return Some(answer(StatusCode::OK, 0, "success", None));
    }
    None
}

/// The page of `total` items a request asks for: `(from, to, next token)`.
#[allow(clippy::result_large_err)] // the Err is the answer to send
fn page(
    s: &Feishu,
    q: &HashMap<String, String>,
    max: usize,
    total: usize,
) -> std::result::Result<(usize, usize, Option<String>), Response> {
    let c = &s.config;
    let size: usize = match q.get("page_size").map(|s| s.parse::<usize>()) {
        Some(Ok(n)) if (1..=max).contains(&n) => n,
        other => {
            s.seen.violation(format!("bad page_size {other:?}"));
            return Err(bad_param(&format!("page_size must be 1..{max}")));
        }
    };
    let offset = match q.get("page_token").filter(|t| !t.is_empty()) {
        None => 0,
        Some(_) if c.fresh_token_repeats => 0,
        Some(t) => match t
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => n,
            None => return Err(bad_param("invalid page_token")),
        },
    };
    let offset = if offset > 0 {
        offset.saturating_sub(c.drift_pages)
    } else {
        offset
    };
    let from = offset.min(total);
    let to = offset.saturating_add(size).min(total);
    let next = if c.fresh_token_repeats {
        let n = s.fresh.fetch_add(1, Ordering::SeqCst) + 1;
        Some(format!("{TOKEN_PREFIX}{n}x"))
    } else if c.repeat_token {
        Some(format!("{TOKEN_PREFIX}1"))
    } else {
        (to < total).then(|| format!("{TOKEN_PREFIX}{to}"))
    };
    Ok((from, to, next))
}

/// A page answer: the items (JSON texts) under `items_key`, `has_more`, the token under
/// `token_key` (left out, with `has_more` still true, when the config says so).
fn page_answer(
    c: &Config,
    msg: &str,
    items_key: &str,
    items: &[&str],
    token_key: &str,
    next: Option<String>,
) -> Response {
    let mut body = String::with_capacity(items.iter().map(|i| i.len() + 1).sum::<usize>() + 200);
    body.push_str(&format!(
        r#"{{"code":0,"msg":{},"data":{{{}:["#,
        json!(msg),
        json!(items_key)
    ));
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    body.push_str(&format!(r#"],"has_more":{}"#, next.is_some()));
    if let (Some(t), false) = (next, c.more_without_token) {
        body.push_str(&format!(",{}:{}", json!(token_key), json!(t)));
    }
    body.push_str("}}");
    (
        StatusCode::OK,
        [("content-type", "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn talent_logs(
    State(s): State<Arc<Feishu>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let v = match json_body(&s, TALENT_PATH, &headers, &q, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let operators = strings(&v["operator_id_list"]);
    let operations: Vec<i64> = v["operation_list"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let jobs = strings(&v["job_id_list"]);
    if operators.is_empty() || operations.is_empty() {
        return bad_param("operator_id_list and operation_list are required");
    }
    let sample: Vec<Arc<SampleTalent>>;
    let logs;
    let items: Vec<&str> = if s.config.sample {
        sample = operators
            .iter()
            .flat_map(|op| operations.iter().map(|t| s.sample_talent(op, *t)))
            .collect();
        let mut all: Vec<(i64, &str)> = sample
            .iter()
            .flat_map(|logs| logs.iter())
            .filter(|(_, job, _)| jobs.is_empty() || jobs.contains(job))
            .map(|(ms, _, text)| (*ms, text.as_str()))
            .collect();
        all.sort_by_key(|a| std::cmp::Reverse(a.0));
        all.into_iter().map(|(_, text)| text).collect()
    } else {
        logs = s.talent.read().map_err(|_| ()).ok();
        logs.iter()
            .flat_map(|logs| logs.iter())
            .filter(|(l, _)| {
                operators.contains(&l.operator)
                    && operations.contains(&l.operation)
                    && (jobs.is_empty() || jobs.contains(&l.job))
            })
            .map(|(_, t)| t.as_str())
            .collect()
    };
    let mut items = items;
    if s.config.talent_oldest_first {
        items.reverse();
    }
    match page(&s, &q, 100, items.len()) {
        Err(r) => r,
        Ok((from, to, next)) => {
            let items = items.get(from..to).unwrap_or_default();
            page_answer(&s.config, "ok", "items", items, "page_token", next)
        }
    }
}

async fn dept_logs(
    State(s): State<Arc<Feishu>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let v = match json_body(&s, DEPT_PATH, &headers, &q, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let departments = strings(&v["department_ids"]);
    if departments.is_empty() || departments.len() > 100 {
        s.seen
            .violation(format!("{} departments in one query", departments.len()));
        return bad_param("department_ids must hold 1 to 100 IDs");
    }
    let date = |k: &str| v[k].as_str().and_then(|s| s.parse::<Date>().ok());
    let (Some(start), Some(end)) = (date("start_date"), date("end_date")) else {
        return bad_param("start_date and end_date must be YYYY-MM-DD");
    };
    if end <= start {
        s.seen
            .violation(format!("end_date {end} not after start_date {start}"));
        return bad_param("end_date must be after start_date");
    }
    if (end - start).get_days() > 366 {
        s.seen.violation(format!("span {start}..{end}"));
        return answer(
            StatusCode::BAD_REQUEST,
            1160101,
            "date interval exceeds 366",
            None,
        );
    }
    let (from, to) = (start.at(0, 0, 0, 0), end.at(23, 59, 59, 0));
    if s.config.sample {
        let sample: Vec<Arc<SampleDept>> = departments.iter().map(|d| s.sample_dept(d)).collect();
        let mut all: Vec<(DateTime, &str)> = sample
            .iter()
            .flat_map(|logs| logs.iter())
            .filter(|(at, _)| *at >= from && *at <= to)
            .map(|(at, text)| (*at, text.as_str()))
            .collect();
        all.sort_by_key(|a| std::cmp::Reverse(a.0));
        let items: Vec<&str> = all.into_iter().map(|(_, text)| text).collect();
        return match page(&s, &q, 1000, items.len()) {
            Err(r) => r,
            Ok((from, to, next)) => dept_page(&s, items.get(from..to).unwrap_or_default(), next),
        };
    }
    let Ok(logs) = s.dept.read() else {
        return answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            1,
            "the fake's logs",
            None,
        );
    };
    let mut wanted = departments;
    wanted.sort();
    wanted.dedup();
    let found = s.dept_matching(&logs, (wanted, from, to));
    match page(&s, &q, 1000, found.len()) {
        Err(r) => r,
        Ok((from, to, next)) => {
            let items: Vec<&str> = found
                .get(from..to)
                .unwrap_or_default()
                .iter()
                .filter_map(|&i| logs.get(i))
                .map(|(_, t)| t.as_str())
                .collect();
            dept_page(&s, &items, next)
        }
    }
}

/// A department query as the fake matches it: its departments (sorted) and its span.
type DeptQuery = (Vec<String>, DateTime, DateTime);

fn dept_page(s: &Feishu, items: &[&str], next: Option<String>) -> Response {
    page_answer(
        &s.config,
        "success",
        "op_logs",
        items,
        "next_page_token",
        next,
    )
}

/// Sample talent logs of one operator and operation type, with the job each belongs to.
fn talent_records(operator: &str, operation: i64, now: Timestamp) -> Vec<(i64, String, Value)> {
    let mut rng = Rng::from_text(&[operator, &operation.to_string()]);
    let count = rng.range(5, 60);
    let jobs = [
        "6949805467799537965",
        "6949805467799537966",
        "6960663240925956573",
    ];
    (0..count)
        .map(|_| {
            let ms = now.as_millisecond() - rng.range(0, 2 * 365 * 86_400_000) as i64;
            let (zh, en) = *rng.pick(PEOPLE);
            let job = rng.pick(&jobs).to_string();
            let record = json!({
                "application_id": format!("69498054677995{:05}", rng.range(0, 99_999)),
                "talent_id": format!("68435478728372{:05}", rng.range(0, 99_999)),
                "operator": {"id": operator, "name": {"zh_cn": zh, "en_us": en}},
                "operation_type": operation.to_string(),
                "operation_time": ms.to_string(),
                "operator_type": 1
            });
            (ms, job, record)
        })
        .collect()
}

/// Sample department logs of one department, newest first, spread over the years up to `today`.
fn dept_records(department: &str, today: Date) -> Vec<(DateTime, Value)> {
    let mut rng = Rng::from_text(&[department]);
    let count = rng.range(10, 60);
    let fields = [
        "name",
        "description",
        "manager",
        "parent_department",
        "cost_center",
    ];
    let types = [10, 20, 50, 60, 70, 80, 90, 100, 110, 120];
    let mut out: Vec<(DateTime, Value)> = (0..count)
        .map(|_| {
            let days = rng.range(0, 6 * 365) as i64;
            let day = today.checked_sub(days.days()).unwrap_or(today);
            let at = day.at(rng.range(8, 20) as i8, rng.range(0, 60) as i8, rng.range(0, 60) as i8, 0);
            let field = *rng.pick(&fields);
            let (before, _) = *rng.pick(PEOPLE);
            let (after, _) = *rng.pick(PEOPLE);
            let record = json!({
                "object_id": department,
                "changes": [{"field": field, "before": format!("{field}: {before}"), "after": format!("{field}: {after}")}],
                "operator": format!("E{:03}", rng.range(1, 120)),
                "operation_type": rng.pick(&types),
                "operation_time": at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                "effective_time": day.to_string(),
                "operation_reason": rng.pick(REASONS),
                "change_reasons": [rng.pick(&["新建部门", "组织调整", "Reorganisation"])]
            });
            (at, record)
        })
        .collect();
    out.sort_by_key(|a| std::cmp::Reverse(a.0));
    out
}
