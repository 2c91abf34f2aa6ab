//! A loopback Feishu: token exchange, talent operation logs and department operation logs,
//! answering as Feishu does (envelopes with `code`/`msg`, `has_more` + token paging, the 100
//! department and 366-day limits, 99991663 for a refused token, 99991400 with reset headers).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use jiff::ToSpan;
use jiff::civil::{Date, DateTime};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::{Faults, Seen};

pub const APP_ID: &str = "cli_test_app";
pub const APP_SECRET: &str = "test-app-secret-do-not-print";
pub const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";
pub const TALENT_PATH: &str = "/open-apis/hire/v1/talent_operation_logs/search";
pub const DEPT_PATH: &str = "/open-apis/corehr/v2/departments/query_operation_logs";

#[derive(Clone)]
pub struct DeptLog {
    pub department: String,
    pub at: DateTime,
    pub value: Value,
}

#[derive(Clone)]
pub struct TalentLog {
    pub operator: String,
    pub operation: i64,
    pub job: String,
    pub ms: i64,
    pub value: Value,
}

#[derive(Default)]
pub struct State {
    pub token_calls: AtomicU64,
    pub data_calls: AtomicU64,
    pub valid: Mutex<HashSet<String>>,
    /// Revoke every token after this many data calls (0: never).
    pub revoke_every: u64,
    pub dept: Vec<DeptLog>,
    pub talent: Vec<TalentLog>,
    pub seen: Seen,
    pub faults: Faults,
    /// Always answer the same next page token (a looping vendor).
    pub repeat_token: bool,
    /// Answer every data call with this code and message (HTTP 400).
    pub refuse_with: Option<(i64, String)>,
    /// Send rate limits as HTTP 400 with code 99991400 (as some older Feishu APIs do).
    pub rate_limit_as_400: bool,
    /// `x-ogw-ratelimit-reset` seconds on rate limits.
    pub reset_seconds: u64,
    /// When each data call arrived.
    pub arrivals: Mutex<Vec<std::time::Instant>>,
    /// How long each data answer takes.
    pub delay: std::time::Duration,
    /// Indexes (in `arrivals`) of the calls answered with a rate limit.
    pub limited: Mutex<Vec<usize>>,
}

pub struct FeishuFake {
    pub server: MockServer,
    pub state: Arc<State>,
}

/// A calendar date, for test data.
pub fn date(s: &str) -> Date {
    s.parse().expect("date")
}

/// A tiny deterministic generator for test data.
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

/// `per_department` logs for each of `departments` departments between `from` and `to`;
/// every tenth record shares its second with another department's (ties across batches).
/// `operation_reason` is unique, so each record can be told apart.
pub fn dept_dataset(
    departments: usize,
    from: Date,
    to: Date,
    per_department: usize,
) -> Vec<DeptLog> {
    let mut rng = Lcg(7);
    let days = (to - from).get_days() as u64 + 1;
    let mut out = Vec::new();
    let mut shared: Option<DateTime> = None;
    for d in 0..departments {
        let department = format!("70941365228609{d:05}");
        for i in 0..per_department {
            let day = from
                .checked_add((rng.next(days) as i64).days())
                .expect("day");
            let mut at = day.at(
                rng.next(24) as i8,
                rng.next(60) as i8,
                rng.next(60) as i8,
                0,
            );
            if i % 10 == 0 {
                at = *shared.get_or_insert(at);
            }
            let n = out.len();
            let operation_type = [10, 20, 50, 60, 70, 80, 90, 100, 110, 120][n % 10];
            out.push(DeptLog {
                department: department.clone(),
                at,
                value: json!({
                    "object_id": department,
                    "changes": [{"field": "description", "before": "优秀部门", "after": format!("更优秀的部门 {n}")}],
                    "operator": format!("E{:03}", n % 97),
                    "operation_type": operation_type,
                    "operation_time": at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                    "effective_time": day.to_string(),
                    "operation_reason": format!("reason-{n}"),
                    "change_reasons": ["新建部门"]
                }),
            });
        }
    }
    out.sort_by_key(|l| std::cmp::Reverse(l.at));
    out
}

/// Talent logs for each operator × operation; `operation_type` and `operation_time` come as a
/// string in some records and as a number in others, as the vendor's own examples disagree.
/// `application_id` is unique.
pub fn talent_dataset(
    operators: &[&str],
    operations: &[i64],
    per_pair: usize,
    start_ms: i64,
) -> Vec<TalentLog> {
    let mut rng = Lcg(11);
    let mut out = Vec::new();
    for op in operators {
        for &operation in operations {
            for _ in 0..per_pair {
                let n = out.len();
                let ms = start_ms + rng.next(30 * 86_400_000) as i64;
                let job = format!("69498054677995379{}", n % 3);
                let (op_type, op_time) = if n % 2 == 0 {
                    (json!(operation.to_string()), json!(ms.to_string()))
                } else {
                    (json!(operation), json!(ms))
                };
                out.push(TalentLog {
                    operator: op.to_string(),
                    operation,
                    job,
                    ms,
                    value: json!({
                        "application_id": format!("app-{n}"),
                        "talent_id": format!("talent-{}", n % 50),
                        "operator": {"id": op, "name": {"zh_cn": "张三", "en_us": "Tom, \"the\" recruiter"}},
                        "operation_type": op_type,
                        "operation_time": op_time,
                        "operator_type": 1
                    }),
                });
            }
        }
    }
    out.sort_by_key(|l| std::cmp::Reverse(l.ms));
    out
}

fn envelope(code: i64, msg: &str, data: Option<Value>) -> Value {
    let mut v = json!({"code": code, "msg": msg});
    if let Some(d) = data {
        v["data"] = d;
    }
    v
}

fn fail(status: u16, code: i64, msg: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(envelope(code, msg, None))
}

fn rate_limited(status: u16, reset: u64) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(envelope(99991400, "request trigger frequency limit", None))
        .insert_header("x-ogw-ratelimit-limit", "5")
        .insert_header("x-ogw-ratelimit-reset", reset.to_string().as_str())
}

struct TokenEndpoint(Arc<State>);
impl Respond for TokenEndpoint {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let s = &self.0;
        let n = s.token_calls.fetch_add(1, Ordering::SeqCst) + 1;
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        if body["app_id"] != APP_ID || body["app_secret"] != APP_SECRET {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"code": 10014, "msg": "app secret invalid"}));
        }
        let token = format!("t-test-{n}");
        s.valid.lock().expect("lock").insert(token.clone());
        ResponseTemplate::new(200).set_body_json(
            json!({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": 7200}),
        )
    }
}

impl State {
    /// Checks the token and applies revocation and faults; Some(answer) to send instead.
    fn gate(&self, req: &Request) -> Option<ResponseTemplate> {
        let calls = self.data_calls.fetch_add(1, Ordering::SeqCst) + 1;
        let index = {
            let mut a = self.arrivals.lock().expect("lock");
            a.push(std::time::Instant::now());
            a.len() - 1
        };
        let query: Vec<(String, String)> = req
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        self.seen.queries.lock().expect("lock").push(query);
        self.seen
            .bodies
            .lock()
            .expect("lock")
            .push(serde_json::from_slice(&req.body).unwrap_or(Value::Null));
        if self.revoke_every > 0 && calls % self.revoke_every == 0 {
            self.valid.lock().expect("lock").clear();
        }
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let Some(token) = auth.strip_prefix("Bearer ") else {
            return Some(fail(
                400,
                99991661,
                "Missing access token for authorization",
            ));
        };
        if !self.valid.lock().expect("lock").contains(token) {
            return Some(fail(
                400,
                99991663,
                "Invalid access token for authorization",
            ));
        }
        let status = if self.rate_limit_as_400 { 400 } else { 429 };
        if let Some(f) = self.faults.pick(|| {
            self.limited.lock().expect("lock").push(index);
            rate_limited(status, self.reset_seconds)
        }) {
            return Some(f);
        }
        if let Some((code, msg)) = &self.refuse_with {
            return Some(fail(400, *code, msg));
        }
        None
    }

    #[allow(clippy::result_large_err)] // the Err is the answer to send
    fn page(
        &self,
        req: &Request,
        max: usize,
        total: usize,
    ) -> Result<(usize, usize, Option<String>), ResponseTemplate> {
        let q = |k: &str| {
            req.url
                .query_pairs()
                .find(|(kk, _)| kk == k)
                .map(|(_, v)| v.into_owned())
        };
        let size: usize = match q("page_size").map(|s| s.parse::<usize>()) {
            Some(Ok(n)) if (1..=max).contains(&n) => n,
            _ => {
                self.seen
                    .violation(format!("bad page_size {:?}", q("page_size")));
                return Err(fail(400, 1002002, "page_size out of range"));
            }
        };
        let offset = match q("page_token") {
            None => 0,
            Some(t) => match t
                .strip_prefix("eyJvZmZzZXQi")
                .and_then(|n| n.parse::<usize>().ok())
            {
                Some(n) => n,
                None => return Err(fail(400, 1002002, "invalid page_token")),
            },
        };
        let end = (offset + size).min(total);
        let next = if self.repeat_token {
            Some("eyJvZmZzZXQi1".to_string())
        } else {
            (end < total).then(|| format!("eyJvZmZzZXQi{end}"))
        };
        Ok((offset, end, next))
    }
}

struct DeptEndpoint(Arc<State>);
impl Respond for DeptEndpoint {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        self.answer(req).set_delay(self.0.delay)
    }
}

impl DeptEndpoint {
    fn answer(&self, req: &Request) -> ResponseTemplate {
        let s = &self.0;
        if let Some(r) = s.gate(req) {
            return r;
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let ids: Vec<String> = body["department_ids"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if ids.is_empty() || ids.len() > 100 {
            s.seen
                .violation(format!("{} departments in one query", ids.len()));
            return fail(400, 1002002, "department_ids length must be 1..100");
        }
        let date = |k: &str| body[k].as_str().and_then(|d| d.parse::<Date>().ok());
        let (Some(start), Some(end)) = (date("start_date"), date("end_date")) else {
            return fail(400, 1002002, "bad dates");
        };
        if (end - start).get_days() > 366 || end < start {
            s.seen.violation(format!("span {start}..{end}"));
            return fail(400, 1160101, "date interval exceeds 366");
        }
        let (from, to) = (start.at(0, 0, 0, 0), end.at(23, 59, 59, 0));
        let ids: HashSet<String> = ids.into_iter().collect();
        let hits: Vec<&DeptLog> = s
            .dept
            .iter()
            .filter(|l| ids.contains(&l.department) && l.at >= from && l.at <= to)
            .collect();
        match s.page(req, 1000, hits.len()) {
            Err(r) => r,
            Ok((a, b, next)) => {
                let logs: Vec<Value> = hits[a..b].iter().map(|l| l.value.clone()).collect();
                let mut data = json!({"op_logs": logs, "has_more": next.is_some()});
                if let Some(t) = next {
                    data["next_page_token"] = json!(t);
                }
                ResponseTemplate::new(200).set_body_json(envelope(0, "success", Some(data)))
            }
        }
    }
}

struct TalentEndpoint(Arc<State>);
impl Respond for TalentEndpoint {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        self.answer(req).set_delay(self.0.delay)
    }
}

impl TalentEndpoint {
    fn answer(&self, req: &Request) -> ResponseTemplate {
        let s = &self.0;
        if let Some(r) = s.gate(req) {
            return r;
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let strings = |k: &str| -> Vec<String> {
            body[k]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let operators = strings("operator_id_list");
        let jobs = strings("job_id_list");
        let operations: Vec<i64> = body["operation_list"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        if operators.is_empty() || operations.is_empty() {
            return fail(
                400,
                1002002,
                "operator_id_list and operation_list are required",
            );
        }
        let hits: Vec<&TalentLog> = s
            .talent
            .iter()
            .filter(|l| {
                operators.contains(&l.operator)
                    && operations.contains(&l.operation)
                    && (jobs.is_empty() || jobs.contains(&l.job))
            })
            .collect();
        match s.page(req, 100, hits.len()) {
            Err(r) => r,
            Ok((a, b, next)) => {
                let items: Vec<Value> = hits[a..b].iter().map(|l| l.value.clone()).collect();
                let mut data = json!({"items": items, "has_more": next.is_some()});
                if let Some(t) = next {
                    data["page_token"] = json!(t);
                }
                ResponseTemplate::new(200).set_body_json(envelope(0, "ok", Some(data)))
            }
        }
    }
}

impl FeishuFake {
    pub async fn start(state: State) -> FeishuFake {
        let server = MockServer::start().await;
        let state = Arc::new(state);
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(TokenEndpoint(state.clone()))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(DEPT_PATH))
            .respond_with(DeptEndpoint(state.clone()))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(TALENT_PATH))
            .respond_with(TalentEndpoint(state.clone()))
            .mount(&server)
            .await;
        FeishuFake { server, state }
    }

    /// The variables that point hrlogs at this server with app credentials.
    pub fn vars(&self) -> [(&'static str, String); 3] {
        [
            ("HRLOGS_FEISHU_BASE_URL", self.server.uri()),
            ("HRLOGS_FEISHU_APP_ID", APP_ID.to_string()),
            ("HRLOGS_FEISHU_APP_SECRET", APP_SECRET.to_string()),
        ]
    }

    /// `hrlogs` pointed at this server with app credentials.
    pub fn hrlogs(&self, env: &super::Env) -> assert_cmd::Command {
        let mut cmd = env.hrlogs();
        cmd.envs(self.vars());
        cmd
    }

    /// `hrlogs` as above, with pacing lifted, for tests that are not about pacing.
    pub fn hrlogs_unpaced(&self, env: &super::Env) -> assert_cmd::Command {
        let mut cmd = self.hrlogs(env);
        cmd.env("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND", "1000")
            .env("HRLOGS_FEISHU_TALENT_LOGS_PER_SECOND", "1000")
            .env("HRLOGS_FEISHU_TALENT_LOGS_PER_MINUTE", "100000");
        cmd
    }

    pub fn token_calls(&self) -> u64 {
        self.state.token_calls.load(Ordering::SeqCst)
    }

    pub fn data_calls(&self) -> u64 {
        self.state.data_calls.load(Ordering::SeqCst)
    }
}
