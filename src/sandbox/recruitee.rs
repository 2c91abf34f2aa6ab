//! The Recruitee stand-in: audit log (12,000 entries over the last 30 days: more than one
//! search window holds), candidates (list, search, by ID) and offers. Search answers refuse to
//! go past the 10,000th result, as Recruitee does.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::sample::{REASONS, Rng};
use super::{API_TOKEN, COMPANY_ID};

const AUDIT_ENTRIES: usize = 12_000;
const CANDIDATES: usize = 300;
const WINDOW: u64 = 10_000;

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

struct Data {
    now: i64,
    audit: Vec<(i64, Value)>,
    candidates: Vec<Value>,
    offers: Vec<Value>,
}

pub struct Recruitee {
    data: OnceLock<Data>,
}

impl Recruitee {
    pub fn new() -> Recruitee {
        Recruitee {
            data: OnceLock::new(),
        }
    }

    fn data(&self) -> &Data {
        self.data.get_or_init(build)
    }
}

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

fn build() -> Data {
    let now = Timestamp::now().as_second();
    let offers = sample_offers();
    let mut rng = Rng::from_text(&["recruitee"]);
    let candidates: Vec<Value> = (0..CANDIDATES)
        .map(|i| {
            let id = 47_300_000 + i as u64 * 7;
            let name = format!("{} {}", rng.pick(FIRST), rng.pick(LAST));
            let created = now - rng.range(0, 400 * 86_400) as i64;
            let offer = &offers[rng.range(0, offers.len() as u64) as usize];
            let disqualified = rng.range(0, 4) == 0;
            let status = if disqualified { "disqualified" } else { *rng.pick(&["qualified", "new", "viewed", "overdue"]) };
            json!({
                "id": id, "name": name, "emails": [format!("candidate{i}@recruiteemail.com")], "phones": [],
                "created_at": iso(created), "updated_at": iso(created), "source": "manual",
                "placements": [{
                    "candidate_id": id, "id": 50_000_000 + i as u64, "offer_id": offer["id"],
                    "stage_id": 8176670 + rng.range(0, 8), "disqualified": disqualified,
                    "disqualify_reason": if disqualified { json!(rng.pick(REASONS)) } else { Value::Null },
                    "offer": {"id": offer["id"], "kind": offer["kind"], "title": offer["title"]},
                    "stage": {"id": 8176671, "name": rng.pick(&["Applied", "Phone interview", "Evaluation", "Offer"])}
                }],
                "_status": status,
            })
        })
        .collect();
    let mut audit: Vec<(i64, Value)> = Vec::with_capacity(AUDIT_ENTRIES);
    let mut at = now - 60;
    for i in 0..AUDIT_ENTRIES {
        // Bursts: a few entries often share a second, as bulk actions do.
        if rng.range(0, 3) != 0 {
            at -= rng.range(1, 400) as i64;
        }
        let (admin_id, first, last) = *rng.pick(ADMINS);
        let event = *rng.pick(EVENTS);
        let c = &candidates[rng.range(0, CANDIDATES as u64) as usize];
        let admin = json!({"email": format!("admin{admin_id}@example.com"), "first_name": first, "id": admin_id, "last_name": last});
        let candidate = json!({"emails": c["emails"], "id": c["id"], "name": c["name"]});
        let offer = &c["placements"][0]["offer"];
        let entry = json!({
            "_id": format!("sb{i:08}"),
            "actor": format!("{first} {last}"),
            "actor_type": "admin",
            "admin": admin,
            "candidate": candidate,
            "company_id": 90598,
            "created_at": iso(at),
            "details": {"admin": admin, "candidate": candidate, "offer": offer,
                        "disqualify_reason": {"id": 727738, "name": rng.pick(REASONS)}},
            "event_name": event,
            "highlight": null,
            "ip_address": format!("103.167.233.{}", rng.range(1, 255)),
            "offer": offer,
        });
        audit.push((at, entry));
    }
    Data {
        now,
        audit,
        candidates,
        offers,
    }
}

fn check(headers: &HeaderMap, company: &str) -> Option<Response> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {API_TOKEN}") {
        return Some(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": "Token not found.", "error_code": "invalid_token"})),
            )
                .into_response(),
        );
    }
    if company != COMPANY_ID {
        return Some(not_found());
    }
    None
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": ["Not found"], "error_fields": {}})),
    )
        .into_response()
}

fn unprocessable(msg: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"error": [msg], "error_fields": {}})),
    )
        .into_response()
}

/// Applies `filters_json` to one item: created_at ranges, actor in/not_in, status, `all` text.
fn matches(filters: &[Value], created: i64, item: &Value) -> bool {
    filters.iter().all(|f| match f["field"].as_str() {
        Some("created_at") => {
            let n = |k: &str| {
                f[k].as_i64()
                    .or_else(|| f[k].as_str().and_then(|s| s.parse().ok()))
            };
            n("gte").is_none_or(|v| created >= v)
                && n("gt").is_none_or(|v| created > v)
                && n("lte").is_none_or(|v| created <= v)
                && n("lt").is_none_or(|v| created < v)
        }
        Some("actor") => {
            let actor = &item["actor"];
            let listed = |k: &str| f[k].as_array().map(|a| a.contains(actor));
            listed("in").unwrap_or(true) && !listed("not_in").unwrap_or(false)
        }
        Some("status") => f["in"]
            .as_array()
            .is_none_or(|a| a.contains(&item["_status"])),
        Some("all") => {
            let q = f["query"].as_str().unwrap_or("").to_lowercase();
            item.to_string().to_lowercase().contains(&q)
        }
        _ => true,
    })
}

/// Pages a search answer; refuses past the 10,000th result like the real service.
fn search_answer(items: Vec<&Value>, key: &str, q: &HashMap<String, String>) -> Response {
    let page: u64 = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let limit: u64 = q
        .get("limit")
        .and_then(|p| p.parse().ok())
        .unwrap_or(20)
        .clamp(1, WINDOW);
    if page * limit > WINDOW {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": ["Server internal error"]})),
        )
            .into_response();
    }
    let total = items.len();
    let start = ((page - 1) * limit) as usize;
    let slice: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(limit as usize)
        .map(clean)
        .collect();
    Json(json!({"aggregations": null, key: slice, "total": total})).into_response()
}

/// Drops the sandbox's own bookkeeping fields.
fn clean(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("_status");
    }
    v
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

pub async fn audit_log(
    State(s): State<Arc<Recruitee>>,
    Path(company): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = check(&headers, &company) {
        return r;
    }
    let f = match filters(&q) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let items: Vec<&Value> = s
        .data()
        .audit
        .iter()
        .filter(|(at, e)| matches(&f, *at, e))
        .map(|(_, e)| e)
        .collect();
    search_answer(items, "entries", &q)
}

fn created(c: &Value) -> i64 {
    c["created_at"]
        .as_str()
        .and_then(|s| s.parse::<Timestamp>().ok())
        .map_or(0, |t| t.as_second())
}

pub async fn search_candidates(
    State(s): State<Arc<Recruitee>>,
    Path(company): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = check(&headers, &company) {
        return r;
    }
    let f = match filters(&q) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut items: Vec<&Value> = s
        .data()
        .candidates
        .iter()
        .filter(|c| matches(&f, created(c), c))
        .collect();
    items.sort_by_key(|c| std::cmp::Reverse((created(c), c["id"].as_u64())));
    search_answer(items, "hits", &q)
}

pub async fn candidates(
    State(s): State<Arc<Recruitee>>,
    Path(company): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = check(&headers, &company) {
        return r;
    }
    let d = s.data();
    let offer: Option<u64> = q.get("offer_id").and_then(|o| o.parse().ok());
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(usize::MAX);
    let offset: usize = q.get("offset").and_then(|l| l.parse().ok()).unwrap_or(0);
    let list: Vec<Value> = d
        .candidates
        .iter()
        .filter(|c| offer.is_none_or(|o| c["placements"][0]["offer_id"].as_u64() == Some(o)))
        .skip(offset)
        .take(limit)
        .map(clean)
        .collect();
    Json(json!({"candidates": list, "generated_at": iso(d.now), "references": []})).into_response()
}

pub async fn candidate(
    State(s): State<Arc<Recruitee>>,
    Path((company, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = check(&headers, &company) {
        return r;
    }
    match s
        .data()
        .candidates
        .iter()
        .find(|c| c["id"].as_u64().is_some_and(|n| n.to_string() == id))
    {
        Some(c) => Json(json!({"candidate": clean(c), "references": []})).into_response(),
        None => not_found(),
    }
}

pub async fn offers(
    State(s): State<Arc<Recruitee>>,
    Path(company): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = check(&headers, &company) {
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
    Json(json!({"offers": list})).into_response()
}
