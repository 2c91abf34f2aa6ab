//! Archive benchmark: `hrlogs sync feishu dept-logs` archiving 150,000 records from a loopback
//! Feishu (no latency, no rate limit: the archive is what is measured), then reading them back
//! with `--from-archive` (all of them, and a tenth, to show that memory stays flat). For each:
//! records, wall time, records/s, peak RSS of the hrlogs process.
//!
//! Run: `cargo bench --bench archive` (add `-- quick` for 15,000 records). The PostgreSQL
//! archive instead: `HRLOGS_BENCH_ARCHIVE=postgres://USER@HOST/DB HRLOGS_ARCHIVE_SCHEMA=bench`
//! (a schema of its own, which the bench does not drop).

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

mod common;

const HRLOGS: &str = env!("CARGO_BIN_EXE_hrlogs");
const DEPARTMENTS: u32 = 150;
const DAYS: i64 = 700;

/// (department, seconds, JSON), newest first.
struct Data {
    dept: Vec<(u32, i64, String)>,
    requests: AtomicU64,
}

async fn token() -> Response {
    axum::Json(json!({"code": 0, "msg": "ok", "tenant_access_token": "t-bench", "expire": 7200}))
        .into_response()
}

async fn dept(
    State(d): State<Arc<Data>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    d.requests.fetch_add(1, Ordering::Relaxed);
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let ids: std::collections::HashSet<u32> = v["department_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str()?.strip_prefix('d')?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let day = |k: &str| {
        v[k].as_str()
            .and_then(|s| s.parse::<jiff::civil::Date>().ok())
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp().as_second())
    };
    let (Some(from), Some(to)) = (day("start_date"), day("end_date")) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let to = to + 86_399;
    let hits: Vec<&str> = d
        .dept
        .iter()
        .filter(|(dep, at, _)| ids.contains(dep) && *at >= from && *at <= to)
        .map(|(_, _, j)| j.as_str())
        .collect();
    let size: usize = q
        .get("page_size")
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let offset: usize = q
        .get("page_token")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let end = (offset + size).min(hits.len());
    let items = hits.get(offset..end).unwrap_or(&[]);
    let next = (end < hits.len()).then_some(end);
    let body = format!(
        "{{\"code\":0,\"msg\":\"success\",\"data\":{{\"op_logs\":[{}],\"has_more\":{},\"next_page_token\":\"{}\"}}}}",
        items.join(","),
        next.is_some(),
        next.map(|n| n.to_string()).unwrap_or_default()
    );
    ([("content-type", "application/json")], body).into_response()
}

fn serve(data: Arc<Data>) -> (String, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route(
            "/open-apis/auth/v3/tenant_access_token/internal",
            post(token),
        )
        .route(
            "/open-apis/corehr/v2/departments/query_operation_logs",
            post(dept),
        )
        .with_state(data);
    rt.spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (format!("http://{addr}"), rt)
}

struct Run {
    wall: Duration,
    records: usize,
    max_rss_kib: u64,
}

/// Runs hrlogs, counting the lines it writes; peak RSS (VmHWM) polled from /proc.
fn run(base: &str, args: &[&str]) -> Run {
    let started = Instant::now();
    let mut child = Command::new(HRLOGS)
        .args(args)
        .env("HRLOGS_FEISHU_BASE_URL", base)
        .env("HRLOGS_FEISHU_APP_ID", "cli_bench")
        .env("HRLOGS_FEISHU_APP_SECRET", "bench")
        .env("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND", "100000")
        .env("TZ", "UTC")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn hrlogs");
    let pid = child.id();
    let peak = common::PeakRss::watch(pid);
    let lines = common::count_lines(child.stdout.take().expect("stdout"));
    common::until_exited(pid);
    let status = child.wait().expect("wait");
    let max_rss_kib = peak.kib();
    assert!(status.success(), "hrlogs {args:?} failed: {status}");
    Run {
        wall: started.elapsed(),
        records: lines,
        max_rss_kib,
    }
}

fn data(records: usize, end: i64) -> Vec<(u32, i64, String)> {
    let mut state: u64 = 1;
    let mut next = |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n.max(1)
    };
    let mut v: Vec<(u32, i64, String)> = (0..records)
        .map(|i| {
            let dep = next(u64::from(DEPARTMENTS)) as u32;
            let at = end - next((DAYS * 86_400) as u64) as i64;
            let t = jiff::Timestamp::from_second(at).expect("ts").strftime("%Y-%m-%d %H:%M:%S").to_string();
            let j = json!({"object_id": format!("d{dep}"), "changes": [{"field": "description", "before": "优秀部门", "after": format!("更优秀的部门 {i}")}], "operator": "E001", "operation_type": 50, "operation_time": t, "effective_time": &t[..10], "operation_reason": "因人员调整,变更部门负责人为张三", "change_reasons": ["组织调整"]}).to_string();
            (dep, at, j)
        })
        .collect();
    v.sort_by_key(|r| std::cmp::Reverse(r.1));
    v
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let n = if quick { 15_000 } else { 150_000 };
    let now = jiff::Timestamp::now().as_second();
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let since = today
        .checked_sub(jiff::Span::new().days(DAYS + 1))
        .expect("date")
        .to_string();
    let tenth = today
        .checked_sub(jiff::Span::new().days(DAYS / 10))
        .expect("date")
        .to_string();
    let d = Arc::new(Data {
        dept: data(n, now - 3600),
        requests: AtomicU64::new(0),
    });
    let (base, _rt) = serve(d.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bench.sqlite3");
    let url = std::env::var("HRLOGS_BENCH_ARCHIVE").ok();
    let archive = url
        .as_deref()
        .unwrap_or_else(|| file.to_str().expect("utf-8 path"));
    let departments = (0..DEPARTMENTS)
        .map(|i| format!("d{i}"))
        .collect::<Vec<_>>()
        .join(",");
    // `hrlogs --archive A -q -f ndjson <command> --department D --since S`.
    let args = |command: &[&'static str], since: &str| -> Vec<String> {
        ["--archive", archive, "-q", "-f", "ndjson"]
            .iter()
            .chain(command)
            .chain(&["--department", &departments, "--since", since])
            .map(|s| s.to_string())
            .collect()
    };
    let sync = args(&["sync", "feishu", "dept-logs"], &since);
    let read_all = args(&["feishu", "dept-logs", "--from-archive"], &since);
    let read_tenth = args(&["feishu", "dept-logs", "--from-archive"], &tenth);
    let [sync, read_all, read_tenth] =
        [&sync, &read_all, &read_tenth].map(|a| a.iter().map(String::as_str).collect::<Vec<_>>());
    let again = run(&base, &sync);
    assert_eq!(again.records, n, "the first sync archives every record");
    let requests = d.requests.load(Ordering::Relaxed);
    let nothing_new = run(&base, &sync);
    let quiet_requests = d.requests.load(Ordering::Relaxed) - requests;
    let all = run(&base, &read_all);
    assert_eq!(all.records, n, "read back every record");
    let part = run(&base, &read_tenth);
    let size = std::fs::metadata(archive).map(|m| m.len()).unwrap_or(0);
    println!("| step | records | wall | records/s | peak RSS |");
    println!("| --- | --- | --- | --- | --- |");
    let row = |name: &str, r: &Run| {
        println!(
            "| {name} | {} | {:.2}s | {:.0} | {:.1} MiB |",
            r.records,
            r.wall.as_secs_f64(),
            r.records as f64 / r.wall.as_secs_f64().max(1e-9),
            r.max_rss_kib as f64 / 1024.0
        );
    };
    row(&format!("sync (first, {requests} requests)"), &again);
    row(
        &format!("sync (nothing new, {quiet_requests} requests)"),
        &nothing_new,
    );
    row("--from-archive, all", &all);
    row("--from-archive, a tenth", &part);
    if url.is_none() {
        println!(
            "\narchive file: {:.1} MiB for {n} events",
            size as f64 / (1024.0 * 1024.0)
        );
    }
}
