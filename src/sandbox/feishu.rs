//! The Feishu stand-in: token exchange, talent operation logs, department operation logs.
//! Any operator or department ID has records (generated from the ID), so every example works.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::civil::{Date, DateTime};
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

use super::sample::{PEOPLE, REASONS, Rng};
use super::{APP_ID, APP_SECRET};

pub struct Feishu {
    issued: AtomicU64,
    now: Timestamp,
}

impl Feishu {
    pub fn new() -> Feishu {
        Feishu {
            issued: AtomicU64::new(0),
            now: Timestamp::now(),
        }
    }
}

fn answer(status: StatusCode, code: i64, msg: &str, data: Option<Value>) -> Response {
    let mut body = json!({"code": code, "msg": msg});
    if let Some(d) = data {
        body["data"] = d;
    }
    (status, Json(body)).into_response()
}

fn bad_param(msg: &str) -> Response {
    answer(StatusCode::BAD_REQUEST, 1002002, msg, None)
}

pub async fn token(State(s): State<Arc<Feishu>>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if v["app_id"] != APP_ID || v["app_secret"] != APP_SECRET {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"code": 10014, "msg": "app secret invalid"})),
        )
            .into_response();
    }
    let n = s.issued.fetch_add(1, Ordering::Relaxed) + 1;
    Json(json!({"code": 0, "msg": "ok", "tenant_access_token": format!("t-sandbox-{n}"), "expire": 7200})).into_response()
}

fn check_auth(headers: &HeaderMap) -> Option<Response> {
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        None | Some("") => Some(answer(
            StatusCode::BAD_REQUEST,
            99991661,
            "Missing access token for authorization",
            None,
        )),
        Some(v) if v.starts_with("Bearer t-sandbox-") => None,
        Some(_) => Some(answer(
            StatusCode::BAD_REQUEST,
            99991663,
            "Invalid access token for authorization",
            None,
        )),
    }
}

#[allow(clippy::result_large_err)] // the Err is the answer to send
fn page_of<T: Clone>(
    items: &[T],
    q: &HashMap<String, String>,
    max: usize,
) -> Result<(Vec<T>, Option<String>), Response> {
    let size: usize = match q.get("page_size").map(|s| s.parse::<usize>()) {
        Some(Ok(n)) if (1..=max).contains(&n) => n,
        Some(_) => return Err(bad_param(&format!("page_size must be 1..{max}"))),
        None => 10,
    };
    let offset: usize = match q.get("page_token").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match t.strip_prefix("p").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => return Err(bad_param("invalid page_token")),
        },
    };
    let end = (offset + size).min(items.len());
    let page = items
        .get(offset..end)
        .map(<[T]>::to_vec)
        .unwrap_or_default();
    let next = (end < items.len()).then(|| format!("p{end}"));
    Ok((page, next))
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

/// Talent logs of one operator and operation type, with the job each belongs to.
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

pub async fn talent_logs(
    State(s): State<Arc<Feishu>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Some(r) = check_auth(&headers) {
        return r;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bad_param("body is not JSON");
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
    let mut all: Vec<(i64, String, Value)> = Vec::new();
    for op in &operators {
        for t in &operations {
            all.extend(
                talent_records(op, *t, s.now)
                    .into_iter()
                    .filter(|(_, job, _)| jobs.is_empty() || jobs.contains(job)),
            );
        }
    }
    all.sort_by_key(|a| std::cmp::Reverse(a.0));
    let items: Vec<Value> = all.into_iter().map(|(_, _, r)| r).collect();
    match page_of(&items, &q, 100) {
        Err(r) => r,
        Ok((page, next)) => {
            let mut data = json!({"items": page, "has_more": next.is_some()});
            if let Some(t) = next {
                data["page_token"] = json!(t);
            }
            answer(StatusCode::OK, 0, "ok", Some(data))
        }
    }
}

/// Department logs of one department, newest first, spread over the years up to `today`.
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

pub async fn dept_logs(
    State(s): State<Arc<Feishu>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Some(r) = check_auth(&headers) {
        return r;
    }
    if !q.contains_key("page_size") {
        return bad_param("page_size is required");
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bad_param("body is not JSON");
    };
    let departments = strings(&v["department_ids"]);
    if departments.is_empty() || departments.len() > 100 {
        return bad_param("department_ids must hold 1 to 100 IDs");
    }
    let date = |k: &str| v[k].as_str().and_then(|s| s.parse::<Date>().ok());
    let (Some(start), Some(end)) = (date("start_date"), date("end_date")) else {
        return bad_param("start_date and end_date must be YYYY-MM-DD");
    };
    if end < start {
        return bad_param("end_date must not be before start_date");
    }
    if (end - start).get_days() > 366 {
        return answer(
            StatusCode::BAD_REQUEST,
            1160101,
            "date interval exceeds 366",
            None,
        );
    }
    let today = s.now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let (from, to) = (start.at(0, 0, 0, 0), end.at(23, 59, 59, 0));
    let mut all: Vec<(DateTime, Value)> = departments
        .iter()
        .flat_map(|d| dept_records(d, today))
        .filter(|(at, _)| *at >= from && *at <= to)
        .collect();
    all.sort_by_key(|a| std::cmp::Reverse(a.0));
    let items: Vec<Value> = all.into_iter().map(|(_, r)| r).collect();
    match page_of(&items, &q, 1000) {
        Err(r) => r,
        Ok((page, next)) => {
            let data = json!({"op_logs": page, "next_page_token": next.clone().unwrap_or_default(), "has_more": next.is_some()});
            answer(StatusCode::OK, 0, "success", Some(data))
        }
    }
}
