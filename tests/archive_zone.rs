//! Feishu department log times in the archive (issue 22): the vendor gives the tenant's wall
//! clock without an offset; `time_ms` keeps it read as UTC (chained, unchanged), and a sync
//! that knows `feishu.tenant_time_zone` keeps the zone's offset beside it (`utc_offset`), so
//! that the view's `occurred_at` is a true instant and `occurred_zone` says how it was read.
//! Through the real binary against the loopback Feishu fake, on SQLite and PostgreSQL (its
//! tests in a schema of their own; where PostgreSQL cannot be reached at 127.0.0.1:5432 they
//! fail if `CI` is set, and otherwise print a loud SKIPPED line and return).

mod common;

use std::path::Path;

use common::feishu::{FeishuFake, dept_log};
use common::postgres::{Schema, reachable, server_url};
use common::{Env, text};

/// The department logs of the tests: D1 changed at these wall-clock times.
const TIMES: [&str; 3] = [
    "2024-01-15 10:00:00",
    "2024-03-01 10:00:00",
    "2024-07-15 10:00:00",
];

async fn fake() -> FeishuFake {
    let fake = FeishuFake::start(common::feishu::State::default()).await;
    for (n, at) in TIMES.iter().enumerate() {
        fake.state.push_dept(dept_log("D1", at, n as u64));
    }
    fake
}

/// `hrlogs` pointed at `fake`, unpaced, with the tenant's zone when given.
fn hrlogs(env: &Env, fake: &FeishuFake, zone: Option<&str>) -> std::process::Command {
    let mut cmd = env.command();
    cmd.envs(fake.vars())
        .env("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND", "1000")
        .env_remove("HRLOGS_FEISHU_TENANT_TIME_ZONE")
        .env_remove("PGPASSWORD");
    if let Some(z) = zone {
        cmd.env("HRLOGS_FEISHU_TENANT_TIME_ZONE", z);
    }
    cmd
}

fn ok(mut cmd: std::process::Command, args: &[&str]) -> std::process::Output {
    let out = cmd.args(args).output().expect("run hrlogs");
    assert!(out.status.success(), "hrlogs {args:?}: {}", text(&out));
    out
}

/// Syncs D1's department logs into `archive` (with `schema` when it is PostgreSQL).
fn sync(env: &Env, fake: &FeishuFake, zone: Option<&str>, archive: &str, schema: Option<&Schema>) {
    let mut cmd = hrlogs(env, fake, zone);
    if let Some(s) = schema {
        cmd.env("HRLOGS_ARCHIVE_SCHEMA", &s.name);
    }
    let out = ok(
        cmd,
        &[
            "--archive",
            archive,
            "sync",
            "feishu",
            "dept-logs",
            "--department",
            "D1",
            "--since",
            "2024-01-01",
            "-f",
            "ndjson",
            "-q",
        ],
    );
    // Without the zone, the sync says once what the archive will lack and how to set it.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said = stderr.matches("HRLOGS_FEISHU_TENANT_TIME_ZONE").count();
    assert_eq!(said, usize::from(zone.is_none()), "{stderr}");
    if zone.is_none() {
        assert!(stderr.contains("occurred_at reads them as UTC"), "{stderr}");
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

fn sqlite(a: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(a).expect("open the archive")
}

/// `(operation_time, occurred_at, occurred_zone)` of every department log in the SQLite view.
fn view(a: &Path) -> Vec<(String, String, Option<String>)> {
    let c = sqlite(a);
    let mut stmt = c
        .prepare(
            "SELECT json_extract(record, '$.operation_time'), occurred_at, occurred_zone
             FROM audit_events WHERE source = 'feishu dept-logs'
             ORDER BY json_extract(record, '$.operation_time')",
        )
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

/// `(utc_offset, hash)` of every event, by row.
fn offsets_and_hashes(a: &Path) -> Vec<(Option<i64>, Vec<u8>)> {
    let c = sqlite(a);
    let mut stmt = c
        .prepare("SELECT utc_offset, hash FROM events ORDER BY seq")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

fn chain_head(env: &Env, archive: &str, schema: Option<&Schema>) -> String {
    let mut cmd = env.command();
    if let Some(s) = schema {
        cmd.env("HRLOGS_ARCHIVE_SCHEMA", &s.name);
    }
    let out = ok(
        cmd,
        &["--archive", archive, "archive", "status", "-f", "json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
    v["chain_head"].as_str().expect("head").to_string()
}

fn owned(rows: &[(&str, &str, Option<&str>)]) -> Vec<(String, String, Option<String>)> {
    rows.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.map(str::to_string)))
        .collect()
}

/// `archive verify` of `archive`: its exit code and what it said.
fn verify(env: &Env, archive: &str, schema: Option<&Schema>) -> (Option<i32>, String) {
    let mut cmd = env.command();
    if let Some(s) = schema {
        cmd.env("HRLOGS_ARCHIVE_SCHEMA", &s.name);
    }
    let out = cmd
        .args(["--archive", archive, "archive", "verify"])
        .output()
        .expect("verify");
    (out.status.code(), text(&out))
}

#[tokio::test]
async fn a_sync_that_knows_the_tenant_zone_keeps_its_offset_and_the_view_shows_instants() {
    let fake = fake().await;
    let env = Env::new();
    let a = env.path("a.sqlite3");

    // Without the zone: the wall clock as if it were UTC, and no zone said.
    sync(&env, &fake, None, s(&a), None);
    assert_eq!(
        view(&a),
        owned(&[
            ("2024-01-15 10:00:00", "2024-01-15T10:00:00.000Z", None),
            ("2024-03-01 10:00:00", "2024-03-01T10:00:00.000Z", None),
            ("2024-07-15 10:00:00", "2024-07-15T10:00:00.000Z", None),
        ])
    );
    let before = offsets_and_hashes(&a);
    assert!(before.iter().all(|(o, _)| o.is_none()));
    let head = chain_head(&env, s(&a), None);

    // A later sync with the zone, bringing nothing new, fills the older events' offsets; the
    // chain is the same (the offset is not chained, the time unchanged).
    sync(&env, &fake, Some("Asia/Shanghai"), s(&a), None);
    assert_eq!(
        view(&a),
        owned(&[
            (
                "2024-01-15 10:00:00",
                "2024-01-15T02:00:00.000Z",
                Some("+08:00")
            ),
            (
                "2024-03-01 10:00:00",
                "2024-03-01T02:00:00.000Z",
                Some("+08:00")
            ),
            (
                "2024-07-15 10:00:00",
                "2024-07-15T02:00:00.000Z",
                Some("+08:00")
            ),
        ])
    );
    let after = offsets_and_hashes(&a);
    assert!(after.iter().all(|(o, _)| *o == Some(480)));
    assert_eq!(
        after.iter().map(|(_, h)| h).collect::<Vec<_>>(),
        before.iter().map(|(_, h)| h).collect::<Vec<_>>(),
        "the same rows, the same chain hashes"
    );
    assert_eq!(chain_head(&env, s(&a), None), head, "the same chain head");
    let times: Vec<i64> = sqlite(&a)
        .prepare("SELECT time_ms FROM events ORDER BY seq")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .expect("times");
    assert!(
        times.contains(&1_709_287_200_000),
        "time_ms stays the wall clock read as UTC: {times:?}"
    );

    // A new event appended by a sync with the zone gets its offset at once (a later sync
    // fetches from the day before its cursor).
    let yesterday = common::feishu::day(1);
    fake.state
        .push_dept(dept_log("D1", &format!("{yesterday} 09:00:00"), 9));
    sync(&env, &fake, Some("Asia/Shanghai"), s(&a), None);
    let new = (
        format!("{yesterday} 09:00:00"),
        format!("{yesterday}T01:00:00.000Z"),
        Some("+08:00".to_string()),
    );
    assert!(view(&a).contains(&new), "{:?}", view(&a));

    // Recruitee's times are instants: UTC, no offset.
    ok(
        env.command(),
        &[
            "--sandbox",
            "--archive",
            s(&a),
            "sync",
            "recruitee",
            "audit",
            "-q",
        ],
    );
    let zones: Vec<(Option<String>, Option<i64>)> = sqlite(&a)
        .prepare(
            "SELECT v.occurred_zone, e.utc_offset FROM audit_events v JOIN events e ON e.seq = v.seq
             WHERE v.source = 'recruitee audit'",
        )
        .and_then(|mut st| st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .expect("recruitee rows");
    assert!(!zones.is_empty(), "the sandbox gave Recruitee events");
    assert!(
        zones.iter().all(|z| *z == (Some("UTC".to_string()), None)),
        "{zones:?}"
    );
    assert_eq!(verify(&env, s(&a), None).0, Some(0));

    // verify checks the column: a value out of any zone's range, or an offset on an event
    // whose vendor gives instants, is an altered row (exit 6), named.
    for (name, sql, row) in [
        (
            "range.sqlite3",
            "UPDATE events SET utc_offset = 100000 WHERE seq = 2",
            "row 2",
        ),
        (
            "instant.sqlite3",
            "UPDATE events SET utc_offset = 60 WHERE seq = (SELECT MAX(seq) FROM events)",
            "UTC offset",
        ),
        (
            "type.sqlite3",
            "UPDATE events SET utc_offset = 'eight' WHERE seq = 1",
            "row 1",
        ),
    ] {
        let copy = env.path(name);
        sqlite(&a)
            .execute("VACUUM INTO ?1", [s(&copy)])
            .expect("copy");
        sqlite(&copy).execute(sql, []).expect("tamper");
        let (code, said) = verify(&env, s(&copy), None);
        assert_eq!(code, Some(6), "{name}: {said}");
        assert!(said.contains(row), "{name}: {said}");
    }
}

#[tokio::test]
async fn a_zone_with_summer_time_gives_each_event_the_offset_of_its_own_date() {
    let fake = fake().await;
    let env = Env::new();
    let b = env.path("b.sqlite3");
    sync(&env, &fake, Some("America/New_York"), s(&b), None);
    assert_eq!(
        view(&b),
        owned(&[
            (
                "2024-01-15 10:00:00",
                "2024-01-15T15:00:00.000Z",
                Some("-05:00")
            ),
            (
                "2024-03-01 10:00:00",
                "2024-03-01T15:00:00.000Z",
                Some("-05:00")
            ),
            (
                "2024-07-15 10:00:00",
                "2024-07-15T14:00:00.000Z",
                Some("-04:00")
            ),
        ])
    );
    let offsets: Vec<Option<i64>> = offsets_and_hashes(&b).into_iter().map(|r| r.0).collect();
    let mut sorted = offsets.clone();
    sorted.sort();
    assert_eq!(sorted, [Some(-300), Some(-300), Some(-240)]);
    assert_eq!(verify(&env, s(&b), None).0, Some(0));
}

/// `(operation_time, occurred_at as UTC text, occurred_zone)` of the department logs in the
/// PostgreSQL view.
fn pg_view(schema: &Schema) -> Vec<(String, String, Option<String>)> {
    schema
        .query(
            "SELECT record->>'operation_time',
                    to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    occurred_zone
             FROM audit_events WHERE source = 'feishu dept-logs' ORDER BY 1",
        )
        .into_iter()
        .map(|r| {
            let mut r = r.into_iter();
            let mut next = || r.next().flatten();
            (
                next().unwrap_or_default(),
                next().unwrap_or_default(),
                next(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_keeps_the_offsets_fills_them_later_and_copies_carry_them_both_ways() {
    if !reachable("postgres_keeps_the_offsets_fills_them_later") {
        return;
    }
    let fake = fake().await;
    let env = Env::new();
    let schema = Schema::new();
    let url = server_url();

    sync(&env, &fake, None, &url, Some(&schema));
    assert_eq!(
        pg_view(&schema),
        owned(&[
            ("2024-01-15 10:00:00", "2024-01-15T10:00:00Z", None),
            ("2024-03-01 10:00:00", "2024-03-01T10:00:00Z", None),
            ("2024-07-15 10:00:00", "2024-07-15T10:00:00Z", None),
        ])
    );
    let head = chain_head(&env, &url, Some(&schema));
    sync(&env, &fake, Some("Asia/Shanghai"), &url, Some(&schema));
    assert_eq!(
        pg_view(&schema),
        owned(&[
            (
                "2024-01-15 10:00:00",
                "2024-01-15T02:00:00Z",
                Some("+08:00")
            ),
            (
                "2024-03-01 10:00:00",
                "2024-03-01T02:00:00Z",
                Some("+08:00")
            ),
            (
                "2024-07-15 10:00:00",
                "2024-07-15T02:00:00Z",
                Some("+08:00")
            ),
        ])
    );
    assert_eq!(
        chain_head(&env, &url, Some(&schema)),
        head,
        "the same chain"
    );
    assert_eq!(
        schema.count("SELECT count(*) FROM events WHERE utc_offset = 480"),
        3
    );
    assert_eq!(
        schema.query("SELECT value FROM meta WHERE key = 'schema_version'")[0][0].as_deref(),
        Some("3")
    );

    // SQLite (New York) → PostgreSQL → SQLite: the offsets come across, both ways.
    let a = env.path("a.sqlite3");
    sync(&env, &fake, Some("America/New_York"), s(&a), None);
    let there = Schema::new();
    let mut cmd = env.command();
    cmd.env("HRLOGS_ARCHIVE_SCHEMA", &there.name);
    ok(cmd, &["archive", "copy", s(&a), &url]);
    let mut got: Vec<i64> = there
        .query("SELECT utc_offset FROM events ORDER BY seq")
        .into_iter()
        .filter_map(|r| r[0].as_deref().and_then(|v| v.parse().ok()))
        .collect();
    got.sort();
    assert_eq!(got, [-300, -300, -240]);
    let back = env.path("back.sqlite3");
    let mut cmd = env.command();
    cmd.env("HRLOGS_ARCHIVE_SCHEMA", &there.name);
    ok(cmd, &["archive", "copy", &url, s(&back)]);
    assert_eq!(offsets_and_hashes(&back), offsets_and_hashes(&a));
    assert_eq!(view(&back), view(&a));
    assert_eq!(verify(&env, &url, Some(&there)).0, Some(0));

    // A tampered offset: exit 6, naming the row.
    there.execute("UPDATE events SET utc_offset = 100000 WHERE seq = 1");
    let (code, said) = verify(&env, &url, Some(&there));
    assert_eq!(code, Some(6), "{said}");
    assert!(said.contains("row 1"), "{said}");
}
