//! The team archive in PostgreSQL, through the real binary against the real server: many
//! processes syncing overlapping streams into one schema at once, `--from-archive`,
//! `archive status|verify` (exit 6 after an UPDATE), a password on the command line refused
//! before anything is sent, and the password never printed.
//!
//! Each test works in a schema of its own (a random name), dropped after it, even when it
//! fails. Where PostgreSQL cannot be reached at 127.0.0.1:5432, the tests fail if `CI` is set,
//! and otherwise print a loud SKIPPED line and return.

mod common;

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use common::feishu::{FeishuFake, day, dept_log};
use common::postgres::{Schema, reachable, server_url};
use common::{Env, text};

/// `hrlogs` pointed at `schema` of the test server (the URL in the environment).
fn hrlogs(env: &Env, schema: &Schema) -> std::process::Command {
    let mut cmd = env.command();
    cmd.env("HRLOGS_ARCHIVE", server_url())
        .env("HRLOGS_ARCHIVE_SCHEMA", &schema.name)
        .env_remove("PGPASSWORD");
    cmd
}

const DEPARTMENTS: [&str; 4] = ["A", "B", "C", "D"];

#[tokio::test(flavor = "multi_thread")]
async fn four_processes_sync_overlapping_streams_at_once_and_each_event_is_kept_once() {
    if !reachable("four_processes_sync_overlapping_streams_at_once") {
        return;
    }
    let schema = Schema::new();
    let fake = FeishuFake::start(common::feishu::State::default()).await;
    for i in 0..80u64 {
        let dept = DEPARTMENTS[i as usize % 4];
        fake.state.push_dept(dept_log(
            dept,
            &format!("{} 1{}:0{}:00", day(i as i64 % 20), i % 10, i % 7),
            i,
        ));
    }
    fake.state.set_latency(Duration::from_millis(20));
    let env = Env::new();
    let since = day(30).to_string();
    let lists = ["A,B", "B,C", "C,D", "D,A,B"];
    let spawn = |list: &str| {
        hrlogs(&env, &schema)
            .envs(fake.vars())
            .args(["sync", "feishu", "dept-logs", "--department", list])
            .args(["--since", &since, "--page-size", "3", "-f", "ndjson", "-q"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hrlogs")
    };
    for round in 0..2 {
        let children: Vec<_> = lists.iter().map(|l| spawn(l)).collect();
        let outs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().expect("wait"))
            .collect();
        for (out, list) in outs.iter().zip(lists) {
            assert!(out.status.success(), "{list}: {}", text(out));
            let got = common::ndjson(&out.stdout);
            let unique: HashSet<String> = got.iter().map(Value::to_string).collect();
            let want = if round == 0 {
                (0..80)
                    .filter(|i| list.split(',').any(|d| d == DEPARTMENTS[i % 4]))
                    .count()
            } else {
                0
            };
            assert_eq!(
                (got.len(), unique.len()),
                (want, want),
                "round {round}, {list}: each event of the stream printed once"
            );
        }
    }
    assert_eq!(schema.count("SELECT COUNT(*) FROM events"), 80);
    assert_eq!(
        schema.count("SELECT COUNT(DISTINCT record) FROM events"),
        80,
        "nothing doubled"
    );
    assert_eq!(
        schema.count("SELECT MAX(seq) FROM events"),
        80,
        "rows numbered without a hole"
    );
    let verify = hrlogs(&env, &schema)
        .args(["archive", "verify"])
        .output()
        .expect("verify");
    assert!(verify.status.success(), "{}", text(&verify));
    // The archive read back, with no vendor at all: every event once, newest first.
    let back = hrlogs(&env, &schema)
        .args([
            "feishu",
            "dept-logs",
            "--from-archive",
            "--department",
            "A,B,C,D",
        ])
        .args(["--since", &since, "-f", "ndjson"])
        .output()
        .expect("from archive");
    assert!(back.status.success(), "{}", text(&back));
    let records = common::ndjson(&back.stdout);
    assert_eq!(records.len(), 80);
    let times: Vec<&str> = records
        .iter()
        .map(|r| r["operation_time"].as_str().unwrap_or(""))
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    // The view every analyst reads.
    assert_eq!(
        schema.count(
            "SELECT COUNT(*) FROM audit_events WHERE source = 'feishu dept-logs' AND actor = 'E001' AND action = '110' AND target IN ('A','B','C','D')"
        ),
        80
    );
}

/// A run that staged many events leaves no dead staging behind (the next runs of the stream
/// would read through it: a sync with nothing new after 1,000,000 took over a second), unless
/// the staging still holds a killed run's rows, which are kept for it to resume.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_run_empties_the_staging_but_keeps_a_killed_runs_rows() {
    if !reachable("a_large_run_empties_the_staging") {
        return;
    }
    let schema = Schema::new();
    let fake = FeishuFake::start(common::feishu::State::default()).await;
    for (dept, base) in [("A", 0u64), ("B", 20_000)] {
        for i in 0..10_000u64 {
            let at = format!(
                "{} {:02}:{:02}:{:02}",
                day(1 + (i % 5) as i64),
                (i / 3600) % 24,
                (i / 60) % 60,
                i % 60
            );
            fake.state.push_dept(dept_log(dept, &at, base + i));
        }
    }
    let env = Env::new();
    let since = day(10).to_string();
    let sync = |dept: &str| {
        let out = hrlogs(&env, &schema)
            .envs(fake.vars())
            .args(["sync", "feishu", "dept-logs", "--department", dept])
            .args([
                "--since",
                &since,
                "--page-size",
                "1000",
                "-f",
                "ndjson",
                "-q",
            ])
            .output()
            .expect("sync");
        assert!(out.status.success(), "{dept}: {}", text(&out));
        common::ndjson(&out.stdout).len()
    };
    assert_eq!(sync("A"), 10_000);
    assert_eq!(
        schema.count("SELECT pg_relation_size('staging')"),
        0,
        "the emptied staging is given back at once"
    );
    // A run of another stream that was killed: its rows wait for it to be run again.
    schema.execute(
        "INSERT INTO staging (stream_id, event_id, time_ms, ord, record) VALUES (99, 'x', 0, 1, '{}')",
    );
    assert_eq!(sync("B"), 10_000);
    assert_eq!(
        schema.count("SELECT COUNT(*) FROM staging WHERE stream_id = 99"),
        1,
        "a killed run's staged rows are kept"
    );
    assert_eq!(schema.count("SELECT COUNT(*) FROM events"), 20_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_the_url_without_a_password_and_verify_catches_an_update() {
    if !reachable("status_and_verify") {
        return;
    }
    let schema = Schema::new();
    let env = Env::new();
    let secret = "pg-Secret-8472-never-shown";
    // A password in the URL from the environment is taken (trust authentication ignores it).
    let url = server_url().replacen("postgres@", &format!("postgres:{secret}@"), 1);
    let run = |args: &[&str], verbose: bool| {
        let mut cmd = hrlogs(&env, &schema);
        cmd.env("HRLOGS_ARCHIVE", &url).args(args);
        if verbose {
            cmd.arg("-vv");
        }
        let out = cmd.output().expect("run hrlogs");
        let all = text(&out);
        assert!(!all.contains(secret), "the password was printed: {all}");
        out
    };
    let sync = run(
        &["--sandbox", "sync", "recruitee", "audit", "-f", "ndjson"],
        true,
    );
    assert!(sync.status.success(), "{}", text(&sync));
    let synced = common::ndjson(&sync.stdout).len();
    assert!(synced > 100, "the sandbox's audit log: {synced}");
    let status = run(&["archive", "status", "-f", "json"], true);
    assert!(status.status.success(), "{}", text(&status));
    let json: Value = serde_json::from_slice(&status.stdout).expect("status json");
    let path = json["path"].as_str().unwrap_or("");
    assert!(
        path.starts_with("postgres://postgres@127.0.0.1:5432/test") && path.contains(&schema.name),
        "{path}"
    );
    assert_eq!(json["events"].as_i64(), Some(synced as i64));
    let table = run(&["archive", "status", "-f", "table"], false);
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("postgres://postgres@127.0.0.1:5432/test")
    );
    for args in [
        vec!["archive", "verify"],
        vec!["config", "show"],
        vec!["recruitee", "audit", "--from-archive", "--limit", "5"],
        vec!["--sandbox", "sync", "recruitee", "audit", "--dry-run"],
    ] {
        let out = run(&args, true);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    }
    // A database that does not exist: the error names the server and the database, not the
    // password.
    let mut cmd = hrlogs(&env, &schema);
    cmd.env(
        "HRLOGS_ARCHIVE",
        url.replace("/test", "/no_such_database_hrlogs"),
    )
    .args(["archive", "status"]);
    let out = cmd.output().expect("run");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(!all.contains(secret), "{all}");
    assert!(
        all.contains("127.0.0.1:5432") && all.contains("no_such_database_hrlogs"),
        "{all}"
    );
    // An UPDATE of one record: verify says where (exit 6).
    schema.query("UPDATE events SET record = replace(record, 'Admin', 'Someone') WHERE seq = 7");
    let out = run(&["archive", "verify"], false);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("row 7"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_in_the_flags_url_is_refused_before_anything_is_sent() {
    // No server needed: a listener stands for one, and must see no connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let env = Env::new();
    let secret = "flag-Secret-5531-refused";
    for url in [
        format!("postgres://me:{secret}@127.0.0.1:{port}/test"),
        format!("postgresql://me@127.0.0.1:{port}/test?password={secret}"),
    ] {
        let out = env
            .command()
            .args(["--archive", &url, "archive", "status"])
            .output()
            .expect("run");
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{all}");
        assert!(!all.contains(secret), "{all}");
        assert!(all.contains("HRLOGS_ARCHIVE_PASSWORD"), "{all}");
    }
    assert!(
        listener.accept().is_err(),
        "a connection was made before the flag was refused"
    );
}

#[test]
fn an_unreachable_server_is_named_with_what_to_do() {
    // A port where nothing listens.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        l.local_addr().expect("addr").port()
    };
    let env = Env::new();
    let out = env
        .command()
        .env(
            "HRLOGS_ARCHIVE",
            format!("postgres://me@127.0.0.1:{port}/teamdb?sslmode=disable&connect_timeout=3"),
        )
        .args(["archive", "verify"])
        .output()
        .expect("run");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(5), "{all}");
    assert!(
        all.contains(&format!("127.0.0.1:{port}")) && all.contains("teamdb"),
        "{all}"
    );
    assert!(all.contains("pg_isready"), "{all}");
}
