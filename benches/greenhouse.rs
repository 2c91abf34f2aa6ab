//! The Greenhouse benchmark: 100,000 audit log results over 30 days on the crate's own
//! Greenhouse fake (`hrlogs::sandbox::greenhouse`, the one the sandbox and the tests use) at
//! Greenhouse's documented limits, enforced by the fake (50 requests per 10 s, 3 paginated per
//! 30 s, a 429 without headers past them), hrlogs run with its default pacing. It checks that
//! every result came exactly once and reports the wall time, requests and 429s; then a walk
//! by pages (the fake's `hits` made to count only the answer, so that hrlogs falls back to
//! pages) on a smaller set, extrapolated to 100,000 results by its requests.
//!
//! Run: `cargo bench --bench greenhouse` (add `-- quick` for 10,000 results). The time is
//! the limits', not the CPU's: `cargo bench --profile dev --bench greenhouse` measures the same.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hrlogs::sandbox::greenhouse::{self as fake, Config, Hits, Limit};
use serde_json::{Value, json};

const HRLOGS: &str = env!("CARGO_BIN_EXE_hrlogs");
const KEY: &str = "bench-greenhouse-key";

fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// `n` results over `days` days ending a minute ago: actions of one to four results sharing
/// their ms, busier in working hours, with a double now and then.
fn dataset(n: usize, days: i64) -> (Vec<Value>, i64, i64) {
    // An hour short of `days`: the fake forgets what is older than 30 days as the run goes,
    // as Greenhouse does, and the oldest results must still be there when they are asked for.
    let end = jiff::Timestamp::now().as_millisecond() - 60_000;
    let start = end - days * 86_400_000 + 3_600_000;
    let mut state = 42u64;
    let mut next = |m: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 16) % m.max(1)
    };
    let mut out = Vec::with_capacity(n);
    let mut i = 0u64;
    while out.len() < n {
        let mut ms = start + next((end - start) as u64) as i64;
        // Working hours are three times as busy: redraw most night-time actions.
        if (ms / 3_600_000) % 24 < 8 && next(3) != 0 {
            ms = start + next((end - start) as u64) as i64;
        }
        for g in 0..(1 + next(4)) {
            let kind = ["action", "data_change_update", "harvest_access"][(g % 3) as usize];
            let v = json!({
                "organization_id": 123,
                "event_time": iso(ms),
                "request": {"id": format!("r{i}"), "type": "candidates#update"},
                "performer": {"id": 4000 + i % 50, "type": "user", "ip_address": "192.168.0.1",
                    "meta": {"name": format!("User {}", i % 50), "username": format!("u{}@x.test", i % 50)}},
                "event": {"type": kind,
                    "target_type": "Candidate", "target_id": 100_000 + i, "meta": {"value": [null, format!("v{g}")]}},
            });
            if next(50) == 0 {
                out.push(v.clone());
            }
            out.push(v);
        }
        i += 1;
    }
    out.truncate(n);
    (out, start, end)
}

struct Run {
    wall: Duration,
    exact: bool,
    results: usize,
    requests: u64,
    pages: usize,
    limited: u64,
}

/// hrlogs over `start..=end` against a fake at the documented limits.
fn run(data: &[Value], start: i64, end: i64, hits: Hits) -> Run {
    let f = fake::spawn(Config {
        results: data.to_vec(),
        key: KEY.into(),
        hits,
        limit: Some(Limit::OVERALL),
        paged_limit: Some(Limit::PAGED),
        ..Config::default()
    })
    .expect("the Greenhouse fake");
    let t = Instant::now();
    let out = Command::new(HRLOGS)
        .env_clear()
        .env("HOME", std::env::temp_dir())
        .env("HRLOGS_GREENHOUSE_BASE_URL", f.base_url())
        .env("HRLOGS_GREENHOUSE_AUTH_URL", f.base_url())
        .env("HRLOGS_GREENHOUSE_API_KEY", KEY)
        .args(["-q", "greenhouse", "audit", "-f", "ndjson", "--since"])
        .arg(start.to_string())
        .args(["--until", &end.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .expect("run hrlogs");
    let wall = t.elapsed();
    assert!(out.status.success(), "hrlogs failed: {:?}", out.status);
    let mut want: HashMap<String, i64> = HashMap::new();
    for v in data {
        *want.entry(v.to_string()).or_insert(0) += 1;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut results = 0;
    for line in text.lines() {
        results += 1;
        *want.entry(line.to_string()).or_insert(0) -= 1;
    }
    let pages = f.state.paged_requests();
    Run {
        wall,
        exact: want.values().all(|n| *n == 0),
        results,
        requests: f.state.seen().requests(),
        pages,
        limited: f.state.limited(),
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let n = if quick { 10_000 } else { 100_000 };
    let (data, start, end) = dataset(n, 30);
    println!(
        "Greenhouse audit log: {n} results over 30 days, documented limits enforced by the fake"
    );
    let fast = run(&data, start, end, Hits::Total);
    println!(
        "windows at once:  {:>7} results  exact={}  {:>6.1} s  {:>5} requests ({} paged)  {} x 429  {:>6.0} results/s",
        fast.results,
        fast.exact,
        fast.wall.as_secs_f64(),
        fast.requests,
        fast.pages,
        fast.limited,
        fast.results as f64 / fast.wall.as_secs_f64()
    );
    let small = if quick { 1_500 } else { 2_500 };
    let (data, start, end) = dataset(small, 30);
    let pages = run(&data, start, end, Hits::ThisAnswer);
    // A walk of n results takes n / 500 pages and an empty last one, at 3 per 30 s; the
    // first page goes at once, each later one waits its slot: the time per page is the
    // walk's time over the pages after the first.
    let per_page = pages.wall.as_secs_f64() / pages.pages.saturating_sub(1).max(1) as f64;
    let pages_for_n = (n as f64 / 500.0).ceil() + 1.0;
    println!(
        "by pages:         {:>7} results  exact={}  {:>6.1} s  {:>5} requests ({} paged)  {} x 429  -> {n} results: {:.0} pages, about {:.1} min",
        pages.results,
        pages.exact,
        pages.wall.as_secs_f64(),
        pages.requests,
        pages.pages,
        pages.limited,
        pages_for_n,
        pages_for_n * per_page / 60.0
    );
    if !fast.exact || !pages.exact {
        eprintln!("NOT EXACT");
        std::process::exit(1);
    }
}
