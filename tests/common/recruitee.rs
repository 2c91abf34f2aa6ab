//! A loopback Recruitee: audit log and candidate search with `filters_json`, `page`/`limit`,
//! `total` and the 10,000-result window (a deeper page answers 500, as Recruitee does);
//! the candidate list by `limit`/`offset`; candidates by ID; offers; both error body shapes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::feishu::Lcg;
use super::{Faults, Seen};

pub const COMPANY: &str = "90598";
pub const TOKEN: &str = "recruitee-test-token-do-not-print";

#[derive(Default)]
pub struct State {
    /// (created_at seconds, entry), newest first.
    pub audit: Vec<(i64, Value)>,
    /// (created_at seconds, candidate as the search answers it), newest first.
    pub candidates: Vec<(i64, Value)>,
    pub offers: Vec<Value>,
    pub seen: Seen,
    pub faults: Faults,
    pub calls: AtomicU64,
    /// Answer every call with this status and body.
    pub refuse_with: Option<(u16, Value)>,
    /// Answer 429 with this Retry-After to the first N calls.
    pub throttle_first: u64,
    /// Start every page after the first one entry early, as a search whose order of equal
    /// timestamps changes between requests would.
    pub overlap_pages: bool,
}

pub struct RecruiteeFake {
    pub server: MockServer,
    pub state: Arc<State>,
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

fn matches(filters: &[Value], created: i64, item: &Value) -> bool {
    filters.iter().all(|f| match f["field"].as_str() {
        Some("created_at") => {
            let n = |k: &str| f[k].as_i64();
            n("gte").is_none_or(|v| created >= v)
                && n("gt").is_none_or(|v| created > v)
                && n("lte").is_none_or(|v| created <= v)
                && n("lt").is_none_or(|v| created < v)
        }
        Some("actor") => {
            let listed = |k: &str| f[k].as_array().map(|a| a.contains(&item["actor"]));
            listed("in").unwrap_or(true) && !listed("not_in").unwrap_or(false)
        }
        Some("status") => f["in"]
            .as_array()
            .is_none_or(|a| a.contains(&item["status_for_test"])),
        Some("all") => item
            .to_string()
            .to_lowercase()
            .contains(&f["query"].as_str().unwrap_or("").to_lowercase()),
        _ => true,
    })
}

fn query(req: &Request, k: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(kk, _)| kk == k)
        .map(|(_, v)| v.into_owned())
}

struct Endpoint(Arc<State>);

impl Respond for Endpoint {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let s = &self.0;
        let n = s.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let pairs: Vec<(String, String)> = req
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        s.seen.queries.lock().expect("lock").push(pairs);
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if auth != format!("Bearer {TOKEN}") {
            return ResponseTemplate::new(401).set_body_json(
                json!({"error": "Token not found.", "error_code": "invalid_token"}),
            );
        }
        if let Some((status, body)) = &s.refuse_with {
            return ResponseTemplate::new(*status).set_body_json(body.clone());
        }
        if n <= s.throttle_first {
            return ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(json!({"error": ["Too many requests"]}));
        }
        if let Some(f) = s
            .faults
            .pick(|| ResponseTemplate::new(429).insert_header("retry-after", "0"))
        {
            return f;
        }
        let p = req.url.path().to_string();
        let rest = p.strip_prefix(&format!("/c/{COMPANY}/")).unwrap_or("");
        if rest.is_empty() {
            return ResponseTemplate::new(404)
                .set_body_json(json!({"error": ["Company not found"], "error_fields": {}}));
        }
        match rest {
            "audit_log" => search(s, req, &s.audit, "entries"),
            "search/new/candidates" => search(s, req, &s.candidates, "hits"),
            "candidates" => {
                let limit: usize = query(req, "limit")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(usize::MAX);
                let offset: usize = query(req, "offset")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let offer: Option<u64> = query(req, "offer_id").and_then(|v| v.parse().ok());
                let list: Vec<Value> = s
                    .candidates
                    .iter()
                    .map(|(_, c)| c)
                    .filter(|c| offer.is_none_or(|o| c["offer_id_for_test"].as_u64() == Some(o)))
                    .skip(offset)
                    .take(limit)
                    .cloned()
                    .collect();
                ResponseTemplate::new(200)
                    .set_body_json(json!({"candidates": list, "references": []}))
            }
            "offers" => {
                let kind = query(req, "kind");
                let list: Vec<&Value> = s
                    .offers
                    .iter()
                    .filter(|o| kind.as_deref().is_none_or(|k| o["kind"] == k))
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({"offers": list}))
            }
            other => {
                match other.strip_prefix("candidates/") {
                    Some(id) => match s.candidates.iter().find(|(_, c)| {
                        c["id"].as_u64().map(|i| i.to_string()).as_deref() == Some(id)
                    }) {
                        Some((_, c)) => ResponseTemplate::new(200)
                            .set_body_json(json!({"candidate": c, "references": []})),
                        None => ResponseTemplate::new(404)
                            .set_body_json(json!({"error": ["Not found"], "error_fields": {}})),
                    },
                    None => ResponseTemplate::new(404)
                        .set_body_json(json!({"error": ["Not found"], "error_fields": {}})),
                }
            }
        }
    }
}

fn search(s: &State, req: &Request, items: &[(i64, Value)], key: &str) -> ResponseTemplate {
    let filters: Vec<Value> = match query(req, "filters_json").map(|f| serde_json::from_str::<Value>(&f)) {
        None => vec![],
        Some(Ok(Value::Array(a))) => a,
        Some(_) => return ResponseTemplate::new(422).set_body_json(json!({"error": ["filters_json invalid"], "error_fields": {"filters_json": ["invalid"]}})),
    };
    let page: u64 = query(req, "page").and_then(|v| v.parse().ok()).unwrap_or(1);
    let limit: u64 = query(req, "limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    if page * limit > 10_000 {
        s.seen.violation(format!(
            "asked past the 10,000th result: page {page} limit {limit}"
        ));
        return ResponseTemplate::new(500)
            .set_body_json(json!({"error": ["Server internal error"]}));
    }
    let hits: Vec<&Value> = items
        .iter()
        .filter(|(at, v)| matches(&filters, *at, v))
        .map(|(_, v)| v)
        .collect();
    let total = hits.len();
    let mut start = ((page - 1) * limit) as usize;
    if s.overlap_pages && page > 1 {
        start -= 1;
    }
    let page_items: Vec<&Value> = hits.into_iter().skip(start).take(limit as usize).collect();
    ResponseTemplate::new(200)
        .set_body_json(json!({"aggregations": null, key: page_items, "total": total}))
}

impl RecruiteeFake {
    pub async fn start(state: State) -> RecruiteeFake {
        let server = MockServer::start().await;
        let state = Arc::new(state);
        Mock::given(method("GET"))
            .and(path_regex("^/c/.*"))
            .respond_with(Endpoint(state.clone()))
            .mount(&server)
            .await;
        RecruiteeFake { server, state }
    }

    pub fn hrlogs(&self, env: &super::Env) -> assert_cmd::Command {
        let mut cmd = env.hrlogs();
        cmd.env("HRLOGS_RECRUITEE_BASE_URL", self.server.uri())
            .env("HRLOGS_RECRUITEE_COMPANY_ID", COMPANY)
            .env("HRLOGS_RECRUITEE_API_TOKEN", TOKEN)
            .env("HRLOGS_RECRUITEE_RATE_LIMIT", "1000")
            .env("HRLOGS_RECRUITEE_MAX_IN_FLIGHT", "8");
        cmd
    }

    pub fn calls(&self) -> u64 {
        self.state.calls.load(Ordering::SeqCst)
    }

    /// The `filters_json` of every request, parsed.
    pub fn filters_sent(&self) -> Vec<Value> {
        self.state
            .seen
            .queries
            .lock()
            .expect("lock")
            .iter()
            .filter_map(|q| {
                q.iter()
                    .find(|(k, _)| k == "filters_json")
                    .map(|(_, v)| serde_json::from_str(v).expect("filters_json is JSON"))
            })
            .collect()
    }
}
