//! End-to-end benchmark: a loopback server that answers like Feishu and Recruitee with a set
//! latency and the vendors' rate limits (it answers 429 past them), hrlogs run against it, and
//! for each scenario: records, requests, wall time, records/s, the rate-limit floor
//! `(requests − 1) / limit + latency`, floor / ours, a sequential page walk on the same server
//! (hrlogs with one request in flight), peak RSS and CPU time of the hrlogs process.
//!
//! Run: `cargo bench --bench e2e` (add `-- quick` for smaller scenarios).

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

const HRLOGS: &str = env!("CARGO_BIN_EXE_hrlogs");

/// What one scenario's server serves.
struct Data {
    latency: Duration,
    /// Requests per second the server allows per API before answering 429.
    per_second: u64,
    /// (department index, seconds, JSON) newest first.
    dept: Vec<(u32, i64, String)>,
    /// (operator index, operation, ms, JSON) newest first.
    talent: Vec<(u32, i64, i64, String)>,
    /// (seconds, JSON) newest first.
    audit: Vec<(i64, String)>,
    requests: AtomicU64,
    throttled: AtomicU64,
    window: Mutex<(u64, u64)>,
}

impl Data {
    /// Paces like the vendor: more than `per_second` in one second is answered 429.
    fn admit(&self) -> bool {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let now = START.get_or_init(Instant::now).elapsed().as_secs();
        let mut w = self.window.lock().expect("lock");
        if w.0 != now {
            *w = (now, 0);
        }
        w.1 += 1;
        if w.1 > self.per_second {
            self.throttled.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }
}

static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn throttled() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [("x-ogw-ratelimit-reset", "1"), ("retry-after", "1")],
        axum::Json(json!({"code": 99991400, "msg": "request trigger frequency limit"})),
    )
        .into_response()
}

fn page<T>(hits: &[T], offset: usize, size: usize) -> (&[T], Option<usize>) {
    let end = (offset + size).min(hits.len());
    (
        &hits[offset.min(end)..end],
        (end < hits.len()).then_some(end),
    )
}

fn json_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut s = String::from("[");
    for (i, item) in items.enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(item);
    }
    s.push(']');
    s
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
    tokio::time::sleep(d.latency).await;
    if !d.admit() {
        return throttled();
    }
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
    if ids.len() > 100 || (to - from) / 86_400 > 366 {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"code": 1160101, "msg": "limits"})),
        )
            .into_response();
    }
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
    let (items, next) = page(&hits, offset, size);
    let body = format!(
        "{{\"code\":0,\"msg\":\"success\",\"data\":{{\"op_logs\":{},\"has_more\":{},\"next_page_token\":\"{}\"}}}}",
        json_list(items.iter().copied()),
        next.is_some(),
        next.map(|n| n.to_string()).unwrap_or_default()
    );
    ([("content-type", "application/json")], body).into_response()
}

async fn talent(
    State(d): State<Arc<Data>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    tokio::time::sleep(d.latency).await;
    if !d.admit() {
        return throttled();
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let ops: Vec<u32> = v["operator_id_list"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str()?.strip_prefix("ou_")?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let kinds: Vec<i64> = v["operation_list"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let hits: Vec<&str> = d
        .talent
        .iter()
        .filter(|(o, k, _, _)| ops.contains(o) && kinds.contains(k))
        .map(|(_, _, _, j)| j.as_str())
        .collect();
    let size: usize = q
        .get("page_size")
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let offset: usize = q
        .get("page_token")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (items, next) = page(&hits, offset, size);
    let body = format!(
        "{{\"code\":0,\"msg\":\"ok\",\"data\":{{\"items\":{},\"has_more\":{}{}}}}}",
        json_list(items.iter().copied()),
        next.is_some(),
        next.map(|n| format!(",\"page_token\":\"{n}\""))
            .unwrap_or_default()
    );
    ([("content-type", "application/json")], body).into_response()
}

async fn audit(
    State(d): State<Arc<Data>>,
    Query(q): Query<HashMap<String, String>>,
    _h: HeaderMap,
) -> Response {
    tokio::time::sleep(d.latency).await;
    if !d.admit() {
        return throttled();
    }
    let filters: Value = q
        .get("filters_json")
        .and_then(|f| serde_json::from_str(f).ok())
        .unwrap_or(Value::Null);
    let (mut lo, mut hi) = (i64::MIN, i64::MAX);
    for f in filters.as_array().into_iter().flatten() {
        if f["field"] == "created_at" {
            lo = f["gte"].as_i64().unwrap_or(lo);
            hi = f["lte"].as_i64().unwrap_or(hi);
        }
    }
    let pg: usize = q.get("page").and_then(|s| s.parse().ok()).unwrap_or(1);
    let limit: usize = q.get("limit").and_then(|s| s.parse().ok()).unwrap_or(20);
    if pg * limit > 10_000 {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"error": ["Server internal error"]})),
        )
            .into_response();
    }
    let hits: Vec<&str> = d
        .audit
        .iter()
        .filter(|(at, _)| *at >= lo && *at <= hi)
        .map(|(_, j)| j.as_str())
        .collect();
    let (items, _) = page(&hits, (pg - 1) * limit, limit);
    let body = format!(
        "{{\"aggregations\":null,\"entries\":{},\"total\":{}}}",
        json_list(items.iter().copied()),
        hits.len()
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
        .route(
            "/open-apis/hire/v1/talent_operation_logs/search",
            post(talent),
        )
        .route("/c/{company}/audit_log", get(audit))
        .with_state(data);
    rt.spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (format!("http://{addr}"), rt)
}

struct Run {
    wall: Duration,
    records: usize,
    requests: u64,
    throttled: u64,
    max_rss_kib: i64,
    cpu: Duration,
}

/// Runs hrlogs, counting the lines it writes; peak RSS from /proc, CPU from wait4.
#[allow(clippy::zombie_processes)] // the child is reaped by wait4, which std cannot do
fn run(base: &str, data: &Data, args: &[&str], env: &[(&str, &str)]) -> Run {
    let before = data.requests.load(Ordering::Relaxed);
    let throttled_before = data.throttled.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut child = Command::new(HRLOGS)
        .args(args)
        .env("HRLOGS_FEISHU_BASE_URL", base)
        .env("HRLOGS_FEISHU_APP_ID", "cli_bench")
        .env("HRLOGS_FEISHU_APP_SECRET", "bench")
        .env("HRLOGS_RECRUITEE_BASE_URL", base)
        .env("HRLOGS_RECRUITEE_COMPANY_ID", "1")
        .env("HRLOGS_RECRUITEE_API_TOKEN", "bench")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn hrlogs");
    let pid = child.id();
    let peak = Arc::new(AtomicU64::new(0));
    let watcher = {
        let peak = peak.clone();
        // VmHWM belongs to the process image after exec (ru_maxrss would also count the
        // forked bench process before it); it only grows, so polling until exit finds the peak.
        std::thread::spawn(move || {
            while let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                let kib = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
                match kib {
                    Some(k) => {
                        peak.fetch_max(k, Ordering::Relaxed);
                    }
                    None => break,
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let mut stdout = child.stdout.take().expect("stdout");
    let counter = std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = vec![0u8; 1 << 16];
        let mut lines = 0usize;
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            lines += buf[..n].iter().filter(|b| **b == b'\n').count();
        }
        lines
    });
    // Let the watcher read the last VmHWM before the process is reaped.
    while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z ")) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let (status, usage) = wait4(pid as i32);
    watcher.join().expect("watcher");
    let wall = started.elapsed();
    let records = counter.join().expect("counter");
    assert!(status == 0, "hrlogs {args:?} exited with {status}");
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    Run {
        wall,
        records,
        requests: data.requests.load(Ordering::Relaxed) - before,
        throttled: data.throttled.load(Ordering::Relaxed) - throttled_before,
        max_rss_kib: peak.load(Ordering::Relaxed) as i64,
        cpu,
    }
}

fn tv(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

fn wait4(pid: i32) -> (i32, libc::rusage) {
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is a child of this process; pointers are to live locals.
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, usage)
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

fn dept_data(departments: u32, days: i64, records: usize, end: i64) -> Vec<(u32, i64, String)> {
    let mut rng = Lcg(1);
    let mut v: Vec<(u32, i64, String)> = (0..records)
        .map(|i| {
            let dep = rng.next(u64::from(departments)) as u32;
            let at = end - rng.next((days * 86_400) as u64) as i64;
            let t = jiff::Timestamp::from_second(at).expect("ts").strftime("%Y-%m-%d %H:%M:%S").to_string();
            let j = json!({"object_id": format!("d{dep}"), "changes": [{"field": "description", "before": "优秀部门", "after": format!("更优秀的部门 {i}")}], "operator": "E001", "operation_type": 50, "operation_time": t, "effective_time": &t[..10], "operation_reason": "因人员调整,变更部门负责人为张三", "change_reasons": ["组织调整"]}).to_string();
            (dep, at, j)
        })
        .collect();
    v.sort_by_key(|r| std::cmp::Reverse(r.1));
    v
}

fn talent_data(operators: u32, per_operator: usize, end_ms: i64) -> Vec<(u32, i64, i64, String)> {
    let mut rng = Lcg(2);
    let mut v = Vec::new();
    for op in 0..operators {
        for i in 0..per_operator {
            let kind = [1, 3001, 3002][i % 3];
            let ms = end_ms - rng.next(90 * 86_400_000) as i64;
            let j = json!({"application_id": format!("{op}-{i}"), "talent_id": format!("t{i}"), "operator": {"id": format!("ou_{op}"), "name": {"zh_cn": "张三", "en_us": "Tom"}}, "operation_type": kind.to_string(), "operation_time": ms.to_string(), "operator_type": 1}).to_string();
            v.push((op, kind, ms, j));
        }
    }
    v.sort_by_key(|r| std::cmp::Reverse(r.2));
    v
}

fn audit_data(n: usize, end: i64) -> Vec<(i64, String)> {
    let mut rng = Lcg(3);
    let mut at = end;
    (0..n)
        .map(|i| {
            at -= rng.next(200) as i64;
            let t = jiff::Timestamp::from_second(at).expect("ts").strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
            (at, json!({"_id": format!("e{i}"), "actor": "Ishwar Gautam", "created_at": t, "event_name": "Admin viewed candidate", "candidate": {"id": i, "name": "Jasprit Bumrah"}, "details": {"placement": {"offer_id": 1209656}}, "offer": null}).to_string())
        })
        .collect()
}

struct Row {
    name: String,
    ours: Run,
    limit: f64,
    latency: Duration,
    sequential: Option<Run>,
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    // `memory`: only the no-latency export scenarios.
    let only_memory = std::env::args().any(|a| a == "memory");
    let scale = if quick { 10 } else { 1 };
    let now = jiff::Timestamp::now().as_second();
    let mut rows: Vec<Row> = Vec::new();

    // 1. dept-logs: 230 departments × 3.5 years, 60,000 records, 400 ms, 5 requests/s.
    if !only_memory {
        let days = 3 * 365 + 182;
        let data = Arc::new(Data {
            latency: Duration::from_millis(400),
            per_second: 5,
            dept: dept_data(230, days, 60_000 / scale, now),
            talent: vec![],
            audit: vec![],
            requests: 0.into(),
            throttled: 0.into(),
            window: Mutex::new((0, 0)),
        });
        let (base, _rt) = serve(data.clone());
        let ids: Vec<String> = (0..230).map(|d| format!("d{d}")).collect();
        let since = jiff::Timestamp::from_second(now - days * 86_400)
            .expect("ts")
            .strftime("%Y-%m-%d")
            .to_string();
        let args = [
            "-q",
            "-f",
            "ndjson",
            "feishu",
            "dept-logs",
            "--department",
            &ids.join(","),
            "--since",
            &since,
        ];
        let ours = run(&base, &data, &args, &[("TZ", "UTC")]);
        let sequential = run(
            &base,
            &data,
            &args,
            &[("TZ", "UTC"), ("HRLOGS_FEISHU_MAX_IN_FLIGHT", "1")],
        );
        rows.push(Row {
            name: format!(
                "dept-logs 230 depts × 3.5 y, {} records, 400 ms",
                60_000 / scale
            ),
            ours,
            limit: 5.0,
            latency: data.latency,
            sequential: Some(sequential),
        });
    }
    // 2. talent-logs: 9 operators × 2,500 records, 250 ms, 50/s (and 1000/min, enforced by hrlogs).
    if !only_memory {
        let data = Arc::new(Data {
            latency: Duration::from_millis(250),
            per_second: 50,
            dept: vec![],
            talent: talent_data(9, 2_500 / scale, now * 1000),
            audit: vec![],
            requests: 0.into(),
            throttled: 0.into(),
            window: Mutex::new((0, 0)),
        });
        let (base, _rt) = serve(data.clone());
        let ops: Vec<String> = (0..9).map(|o| format!("ou_{o}")).collect();
        let args = [
            "-q",
            "-f",
            "ndjson",
            "feishu",
            "talent-logs",
            "--operator",
            &ops.join(","),
            "--operation",
            "1,3001,3002",
        ];
        let ours = run(&base, &data, &args, &[]);
        let sequential = run(&base, &data, &args, &[("HRLOGS_FEISHU_MAX_IN_FLIGHT", "1")]);
        rows.push(Row {
            name: format!("talent-logs 9 operators × {}, 250 ms", 2_500 / scale),
            ours,
            limit: 50.0,
            latency: data.latency,
            sequential: Some(sequential),
        });
    }
    // 3. Recruitee audit: 25,000 entries, 200 ms, 10/s.
    if !only_memory {
        let data = Arc::new(Data {
            latency: Duration::from_millis(200),
            per_second: 10,
            dept: vec![],
            talent: vec![],
            audit: audit_data(25_000 / scale, now - 60),
            requests: 0.into(),
            throttled: 0.into(),
            window: Mutex::new((0, 0)),
        });
        let (base, _rt) = serve(data.clone());
        let args = ["-q", "-f", "ndjson", "recruitee", "audit"];
        let ours = run(&base, &data, &args, &[]);
        let sequential = run(
            &base,
            &data,
            &args,
            &[("HRLOGS_RECRUITEE_MAX_IN_FLIGHT", "1")],
        );
        rows.push(Row {
            name: format!("recruitee audit {} entries, 200 ms", 25_000 / scale),
            ours,
            limit: 10.0,
            latency: data.latency,
            sequential: Some(sequential),
        });
    }
    // 4. 150,000 records to ndjson and csv, no latency, no rate limit: memory and CPU.
    {
        let data = Arc::new(Data {
            latency: Duration::ZERO,
            per_second: u64::MAX,
            dept: dept_data(100, 360, 150_000 / scale, now),
            talent: vec![],
            audit: vec![],
            requests: 0.into(),
            throttled: 0.into(),
            window: Mutex::new((0, 0)),
        });
        let (base, _rt) = serve(data.clone());
        let ids: Vec<String> = (0..100).map(|d| format!("d{d}")).collect();
        let since = jiff::Timestamp::from_second(now - 360 * 86_400)
            .expect("ts")
            .strftime("%Y-%m-%d")
            .to_string();
        for format in ["ndjson", "csv"] {
            let args = [
                "-q",
                "-f",
                format,
                "feishu",
                "dept-logs",
                "--department",
                &ids.join(","),
                "--since",
                &since,
            ];
            let ours = run(
                &base,
                &data,
                &args,
                &[
                    ("TZ", "UTC"),
                    ("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND", "100000"),
                ],
            );
            rows.push(Row {
                name: format!("{} records to {format}, no latency", 150_000 / scale),
                ours,
                limit: f64::INFINITY,
                latency: Duration::ZERO,
                sequential: None,
            });
        }
    }

    println!(
        "| scenario | records | requests | 429s | wall | records/s | rate-limit floor | floor / ours | sequential walk | speed-up | peak RSS | CPU | records per CPU-s |"
    );
    println!(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for r in &rows {
        let o = &r.ours;
        let floor = if r.limit.is_finite() {
            (o.requests.saturating_sub(1)) as f64 / r.limit + r.latency.as_secs_f64()
        } else {
            0.0
        };
        let (seq, speedup) = match &r.sequential {
            Some(s) => (
                format!("{:.1} s", s.wall.as_secs_f64()),
                format!("{:.1}×", s.wall.as_secs_f64() / o.wall.as_secs_f64()),
            ),
            None => ("-".into(), "-".into()),
        };
        let records = o
            .records
            .saturating_sub(if r.name.contains("csv") { 1 } else { 0 });
        println!(
            "| {} | {} | {} | {} | {:.2} s | {:.0} | {} | {} | {} | {} | {:.1} MiB | {:.2} s | {:.0} |",
            r.name,
            records,
            o.requests,
            o.throttled,
            o.wall.as_secs_f64(),
            records as f64 / o.wall.as_secs_f64(),
            if floor > 0.0 {
                format!("{floor:.2} s")
            } else {
                "-".into()
            },
            if floor > 0.0 {
                format!("{:.2}", floor / o.wall.as_secs_f64())
            } else {
                "-".into()
            },
            seq,
            speedup,
            o.max_rss_kib as f64 / 1024.0,
            o.cpu.as_secs_f64(),
            records as f64 / o.cpu.as_secs_f64().max(1e-9),
        );
    }
    // Start-up: median of 21 runs.
    for args in [["--version"], ["--help"]] {
        let mut times: Vec<Duration> = (0..21)
            .map(|_| {
                let t = Instant::now();
                let s = Command::new(HRLOGS)
                    .args(args)
                    .stdout(Stdio::null())
                    .status()
                    .expect("run");
                assert!(s.success());
                t.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "\n`hrlogs {}`: median {:.1} ms over 21 runs",
            args[0],
            times[10].as_secs_f64() * 1000.0
        );
    }
}
