//! The archive's size: an SQLite archive, the file and its `-wal` as a sync leaves them, holds
//! Feishu department events in at most 1.5 times the bytes of the same events as ndjson
//! (sizes are deterministic: the same events always make the same file).

mod common;

use common::Env;
use common::feishu::{DeptLog, FeishuFake, State, date};
use serde_json::json;

/// `n` department events of the benchmark's shape over `departments` departments and two
/// years, one every few minutes.
fn dataset(n: usize, departments: usize) -> Vec<DeptLog> {
    let mut rng = common::feishu::Lcg(3);
    let start = date("2023-01-01").at(0, 0, 0, 0);
    let mut out: Vec<DeptLog> = (0..n)
        .map(|i| {
            let dep = rng.next(departments as u64);
            let department = format!("70941365228609{dep:05}");
            let minutes = rng.next(2 * 365 * 24 * 60) as i64;
            let at = start
                .checked_add(jiff::Span::new().minutes(minutes))
                .expect("time");
            let t = at.strftime("%Y-%m-%d %H:%M:%S").to_string();
            DeptLog {
                department: department.clone(),
                at,
                value: json!({
                    "object_id": department,
                    "changes": [{"field": "description", "before": "优秀部门", "after": format!("更优秀的部门 {i}")}],
                    "operator": "E001",
                    "operation_type": 50,
                    "operation_time": t,
                    "effective_time": &t[..10],
                    "operation_reason": "因人员调整,变更部门负责人为张三",
                    "change_reasons": ["组织调整"]
                }),
            }
        })
        .collect();
    out.sort_by_key(|l| std::cmp::Reverse(l.at));
    out
}

struct Sizes {
    events: usize,
    ndjson: u64,
    file: u64,
    wal: u64,
}

impl Sizes {
    fn ratio(&self) -> f64 {
        (self.file + self.wal) as f64 / self.ndjson.max(1) as f64
    }
}

/// Syncs `n` events into a fresh SQLite archive; the ndjson the sync printed (the same
/// events), and the archive's file and write-ahead log after it.
async fn sync_sizes(n: usize, departments: usize) -> Sizes {
    let fake = FeishuFake::start(State {
        dept: dataset(n, departments),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let archive = env.path("a.sqlite3");
    let ids: Vec<String> = (0..departments)
        .map(|d| format!("70941365228609{d:05}"))
        .collect();
    let out = fake
        .hrlogs_unpaced(&env)
        .timeout(std::time::Duration::from_secs(3600))
        .args([
            "--archive",
            archive.to_str().expect("path"),
            "-q",
            "-f",
            "ndjson",
        ])
        .args([
            "sync",
            "feishu",
            "dept-logs",
            "--department",
            &ids.join(","),
        ])
        .args(["--since", "2022-12-31", "--page-size", "100"])
        .output()
        .expect("run");
    common::assert_ok(&out);
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    if let Ok(keep) = std::env::var("HRLOGS_SIZE_KEEP") {
        std::fs::copy(&archive, keep).expect("keep the archive");
    }
    let mut wal = archive.as_os_str().to_owned();
    wal.push("-wal");
    Sizes {
        events: out.stdout.iter().filter(|b| **b == b'\n').count(),
        ndjson: out.stdout.len() as u64,
        file: size(&archive),
        wal: size(std::path::Path::new(&wal)),
    }
}

/// 40,000 events: the fixed part of an archive (one 16 KiB page for each of its twenty tables
/// and indexes, about 330 KiB) is under 2.5% of it, so the ratio is within a few hundredths
/// of what it is for hundreds of thousands of events (1.46 for these records); with 4,000
/// events the fixed part alone would be a quarter of the ndjson.
#[tokio::test(flavor = "multi_thread")]
async fn an_sqlite_archive_is_at_most_one_and_a_half_times_its_events_as_ndjson() {
    let s = sync_sizes(40_000, 40).await;
    assert_eq!(s.events, 40_000);
    assert!(
        s.ratio() <= 1.5,
        "{} events: {} bytes of ndjson, archive {} + wal {} bytes ({:.2}×)",
        s.events,
        s.ndjson,
        s.file,
        s.wal,
        s.ratio()
    );
}

/// The figure for the report: `HRLOGS_SIZE_EVENTS=300000 cargo test --test archive_size --
/// --ignored --nocapture` (minutes in a debug build).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement: run it by hand"]
async fn measure_the_archive_size() {
    let n = std::env::var("HRLOGS_SIZE_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let s = sync_sizes(n, 150).await;
    println!(
        "{} events: ndjson {} bytes ({:.1} per event); archive {} + wal {} bytes ({:.1} per event, {:.2}× ndjson)",
        s.events,
        s.ndjson,
        s.ndjson as f64 / s.events.max(1) as f64,
        s.file,
        s.wal,
        (s.file + s.wal) as f64 / s.events.max(1) as f64,
        s.ratio()
    );
}
