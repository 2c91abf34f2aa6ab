//! End-to-end benchmark: the crate's own Feishu and Recruitee fakes (`hrlogs::sandbox`, the
//! same ones the sandbox and the tests use) with a set latency, Feishu's rate limits enforced
//! by the fake (it answers 429 past them), hrlogs run against them, and for each scenario:
//! records, requests, wall time, records/s, the rate-limit floor
//! `(requests − 1) / limit + latency`, floor / ours, a sequential page walk on the same server
//! (hrlogs with one request in flight), peak RSS and CPU time of the hrlogs process.
//!
//! Run: `cargo bench --bench e2e` (add `-- quick` for smaller scenarios).

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hrlogs::sandbox::feishu::{self, DeptLog, TalentLog};
use hrlogs::sandbox::{self, Faults, recruitee};
use serde_json::{Value, json};

mod common;

const HRLOGS: &str = env!("CARGO_BIN_EXE_hrlogs");

/// Requests so far and those answered with a rate limit, as a fake counts them.
type Counts<'a> = &'a dyn Fn() -> (u64, u64);

fn faults(latency: Duration) -> Faults {
    Faults {
        latency,
        ..Faults::default()
    }
}

/// A Feishu fake with `dept`/`talent`, `latency` and the vendor's `per_second` limit.
fn feishu_fake(
    dept: Vec<DeptLog>,
    talent: Vec<TalentLog>,
    latency: Duration,
    per_second: Option<u64>,
) -> feishu::Fake {
    feishu::spawn(feishu::Config {
        dept,
        talent,
        per_second,
        faults: faults(latency),
        ..feishu::Config::default()
    })
    .expect("fake Feishu")
}

fn feishu_env(fake: &feishu::Fake) -> Vec<(&'static str, String)> {
    vec![
        ("HRLOGS_FEISHU_BASE_URL", fake.base_url()),
        ("HRLOGS_FEISHU_APP_ID", fake.state.config.app_id.clone()),
        (
            "HRLOGS_FEISHU_APP_SECRET",
            fake.state.config.app_secret.clone(),
        ),
    ]
}

fn feishu_counts(fake: &feishu::Fake) -> impl Fn() -> (u64, u64) + '_ {
    move || {
        (
            fake.state.data_calls(),
            fake.state.throttled.load(Ordering::Relaxed),
        )
    }
}

struct Run {
    wall: Duration,
    records: usize,
    requests: u64,
    throttled: u64,
    max_rss_kib: i64,
    cpu: Duration,
}

/// `hrlogs -q -f FORMAT feishu dept-logs --department IDS --since SINCE`.
fn dept_logs_args(format: &str, ids: &str, since: &str) -> Vec<String> {
    let args = [
        "-q",
        "-f",
        format,
        "feishu",
        "dept-logs",
        "--department",
        ids,
        "--since",
        since,
    ];
    args.map(String::from).to_vec()
}

/// Runs hrlogs, counting the lines it writes; peak RSS from /proc, CPU from wait4.
#[allow(clippy::zombie_processes)] // the child is reaped by wait4, which std cannot do
fn run(
    vendor: &[(&'static str, String)],
    counts: Counts,
    args: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let (before, throttled_before) = counts();
    let started = Instant::now();
    let mut child = Command::new(HRLOGS)
        .args(args)
        .envs(vendor.iter().map(|(k, v)| (*k, v.as_str())))
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn hrlogs");
    let pid = child.id();
    let peak = common::PeakRss::watch(pid);
    let stdout = child.stdout.take().expect("stdout");
    let counter = std::thread::spawn(move || common::count_lines(stdout));
    common::until_exited(pid);
    let (status, usage) = wait4(pid as i32);
    let max_rss_kib = peak.kib();
    let wall = started.elapsed();
    let records = counter.join().expect("counter");
    assert!(status == 0, "hrlogs {args:?} exited with {status}");
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    Run {
        wall,
        records,
        requests: counts().0.saturating_sub(before),
        throttled: counts().1.saturating_sub(throttled_before),
        max_rss_kib: max_rss_kib as i64,
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

fn dept_data(departments: u32, days: i64, records: usize, end: i64) -> Vec<DeptLog> {
    let mut rng = Lcg(1);
    let mut v: Vec<DeptLog> = (0..records)
        .map(|i| {
            let dep = rng.next(u64::from(departments)) as u32;
            let at = end - rng.next((days * 86_400) as u64) as i64;
            let at = jiff::Timestamp::from_second(at)
                .expect("ts")
                .to_zoned(jiff::tz::TimeZone::UTC)
                .datetime();
            let t = at.strftime("%Y-%m-%d %H:%M:%S").to_string();
            let value = json!({"object_id": format!("d{dep}"), "changes": [{"field": "description", "before": "优秀部门", "after": format!("更优秀的部门 {i}")}], "operator": "E001", "operation_type": 50, "operation_time": t, "effective_time": &t[..10], "operation_reason": "因人员调整,变更部门负责人为张三", "change_reasons": ["组织调整"]});
            DeptLog { department: format!("d{dep}"), at, value }
        })
        .collect();
    v.sort_by_key(|r| std::cmp::Reverse(r.at));
    v
}

fn talent_data(operators: u32, per_operator: usize, end_ms: i64) -> Vec<TalentLog> {
    let mut rng = Lcg(2);
    let mut v = Vec::new();
    for op in 0..operators {
        for i in 0..per_operator {
            let kind = [1, 3001, 3002][i % 3];
            let ms = end_ms - rng.next(90 * 86_400_000) as i64;
            let value = json!({"application_id": format!("{op}-{i}"), "talent_id": format!("t{i}"), "operator": {"id": format!("ou_{op}"), "name": {"zh_cn": "张三", "en_us": "Tom"}}, "operation_type": kind.to_string(), "operation_time": ms.to_string(), "operator_type": 1});
            v.push(TalentLog {
                operator: format!("ou_{op}"),
                operation: kind,
                job: String::new(),
                ms,
                value,
            });
        }
    }
    v.sort_by_key(|r| std::cmp::Reverse(r.ms));
    v
}

fn audit_data(n: usize, end: i64) -> Vec<recruitee::Entry> {
    let mut rng = Lcg(3);
    let mut at = end;
    (0..n)
        .map(|i| {
            at -= rng.next(200) as i64;
            let t = jiff::Timestamp::from_second(at).expect("ts").strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
            let value: Value = json!({"_id": format!("e{i}"), "actor": "Ishwar Gautam", "created_at": t, "event_name": "Admin viewed candidate", "candidate": {"id": i, "name": "Jasprit Bumrah"}, "details": {"placement": {"offer_id": 1209656}}, "offer": null});
            recruitee::Entry::new(at, value)
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
    let mut notes: Vec<String> = Vec::new();

    // 1. dept-logs: 230 departments × 3.5 years, 60,000 records, 400 ms, 5 requests/s.
    if !only_memory {
        let days = 3 * 365 + 182;
        let latency = Duration::from_millis(400);
        let fake = feishu_fake(
            dept_data(230, days, 60_000 / scale, now),
            vec![],
            latency,
            Some(5),
        );
        let (vendor, counts) = (feishu_env(&fake), feishu_counts(&fake));
        let ids: Vec<String> = (0..230).map(|d| format!("d{d}")).collect();
        let since = jiff::Timestamp::from_second(now - days * 86_400)
            .expect("ts")
            .strftime("%Y-%m-%d")
            .to_string();
        let args = dept_logs_args("ndjson", &ids.join(","), &since);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ours = run(&vendor, &counts, &args, &[("TZ", "UTC")]);
        let sequential = run(
            &vendor,
            &counts,
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
            latency,
            sequential: Some(sequential),
        });
    }
    // 2. talent-logs: 9 operators × 2,500 records, 250 ms, 50/s (and 1000/min, enforced by hrlogs).
    if !only_memory {
        let latency = Duration::from_millis(250);
        let fake = feishu_fake(
            vec![],
            talent_data(9, 2_500 / scale, now * 1000),
            latency,
            Some(50),
        );
        let (vendor, counts) = (feishu_env(&fake), feishu_counts(&fake));
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
        let ours = run(&vendor, &counts, &args, &[]);
        let sequential = run(
            &vendor,
            &counts,
            &args,
            &[("HRLOGS_FEISHU_MAX_IN_FLIGHT", "1")],
        );
        rows.push(Row {
            name: format!("talent-logs 9 operators × {}, 250 ms", 2_500 / scale),
            ours,
            limit: 50.0,
            latency,
            sequential: Some(sequential),
        });
    }
    // 3. Recruitee audit: 25,000 entries, 200 ms, 10/s.
    if !only_memory {
        let latency = Duration::from_millis(200);
        let fake = recruitee::spawn(recruitee::Config {
            audit: audit_data(25_000 / scale, now - 60),
            faults: faults(latency),
            // Recruitee's own limiter, 10 a second (its 429s are not counted by the fake).
            rate_limit: Some(10),
            ..recruitee::Config::default()
        })
        .expect("fake Recruitee");
        let vendor = vec![
            ("HRLOGS_RECRUITEE_BASE_URL", fake.base_url()),
            (
                "HRLOGS_RECRUITEE_COMPANY_ID",
                sandbox::COMPANY_ID.to_string(),
            ),
            ("HRLOGS_RECRUITEE_API_TOKEN", sandbox::API_TOKEN.to_string()),
        ];
        let counts = || (fake.state.seen().requests(), 0);
        let args = ["-q", "-f", "ndjson", "recruitee", "audit"];
        let ours = run(&vendor, &counts, &args, &[]);
        let sequential = run(
            &vendor,
            &counts,
            &args,
            &[("HRLOGS_RECRUITEE_MAX_IN_FLIGHT", "1")],
        );
        rows.push(Row {
            name: format!("recruitee audit {} entries, 200 ms", 25_000 / scale),
            ours,
            limit: 10.0,
            latency,
            sequential: Some(sequential),
        });
    }
    // 4. 150,000 records to ndjson and csv, no latency, no rate limit: memory and CPU.
    {
        let fake = feishu_fake(
            dept_data(100, 360, 150_000 / scale, now),
            vec![],
            Duration::ZERO,
            None,
        );
        let (vendor, counts) = (feishu_env(&fake), feishu_counts(&fake));
        let ids: Vec<String> = (0..100).map(|d| format!("d{d}")).collect();
        let since = jiff::Timestamp::from_second(now - 360 * 86_400)
            .expect("ts")
            .strftime("%Y-%m-%d")
            .to_string();
        // The CPU time of one run varies by up to a third on this shared machine, and
        // interference only ever adds to it: each format runs seven times, in turns, and the
        // run of least CPU time is the one shown (the spread is printed beside it).
        const RUNS: usize = 7;
        let formats = ["ndjson", "csv"];
        let mut runs: Vec<Vec<Run>> = formats.iter().map(|_| Vec::new()).collect();
        for _ in 0..RUNS {
            for (format, runs) in formats.iter().zip(&mut runs) {
                let args = dept_logs_args(format, &ids.join(","), &since);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                runs.push(run(
                    &vendor,
                    &counts,
                    &args,
                    &[
                        ("TZ", "UTC"),
                        ("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND", "100000"),
                    ],
                ));
            }
        }
        // Each csv run against the ndjson run just before it: slow drifts of the machine
        // touch both alike.
        let mut pairs: Vec<f64> = runs[0]
            .iter()
            .zip(&runs[1])
            .map(|(n, c)| n.cpu.as_secs_f64() / c.cpu.as_secs_f64().max(1e-9))
            .collect();
        pairs.sort_by(f64::total_cmp);
        let pair_ratio = pairs.get(pairs.len() / 2).copied().unwrap_or(0.0);
        let mut per_cpu_s = Vec::new();
        for (format, mut runs) in formats.iter().zip(runs) {
            runs.sort_by_key(|r| r.cpu);
            let spread: Vec<String> = runs
                .iter()
                .map(|r| format!("{:.2}", r.cpu.as_secs_f64()))
                .collect();
            notes.push(format!(
                "{format}: CPU seconds of the {RUNS} runs: {}",
                spread.join(", ")
            ));
            let ours = runs.swap_remove(0);
            per_cpu_s.push(150_000.0 / scale as f64 / ours.cpu.as_secs_f64().max(1e-9));
            rows.push(Row {
                name: format!(
                    "{} records to {format}, no latency (least CPU of {RUNS})",
                    150_000 / scale
                ),
                ours,
                limit: f64::INFINITY,
                latency: Duration::ZERO,
                sequential: None,
            });
        }
        if let [ndjson, csv] = per_cpu_s[..] {
            notes.push(format!(
                "csv writes {:.0}% of the records per CPU-second that ndjson writes (the median \
                 of the {RUNS} back-to-back pairs; the least CPU of each gives {:.0}%)",
                100.0 * pair_ratio,
                100.0 * csv / ndjson
            ));
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
    for note in &notes {
        println!("\n{note}");
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
