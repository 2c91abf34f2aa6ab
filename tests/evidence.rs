//! Issue 18, the archive as evidence: read from a read-only copy without changing a byte,
//! no secret stored or shown, one tenant whatever its spelling, and tampering with what
//! decides the future (cursors, links, types of a row) caught by `archive verify`.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use common::recruitee::{COMPANY, RecruiteeFake, State, TOKEN};
use common::{Env, words};

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(mut cmd: std::process::Command, args: &[&str]) -> Run {
    let out = cmd.args(args).output().expect("run hrlogs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// hrlogs on the sandbox with this archive.
fn sandbox(env: &Env, archive: &Path) -> std::process::Command {
    let mut cmd = env.command();
    cmd.arg("--sandbox").arg("--archive").arg(archive);
    cmd
}

/// An archive of the sandbox's Recruitee audit log, in its own folder.
fn synced(env: &Env) -> PathBuf {
    let dir = env.path("evidence");
    std::fs::create_dir(&dir).expect("mkdir");
    let a = dir.join("a.sqlite3");
    let out = run(
        sandbox(env, &a),
        &words("sync recruitee audit -q -f ndjson"),
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    a
}

/// The files of a folder with a digest of their bytes.
fn files(dir: &Path) -> Vec<(String, u64)> {
    use std::hash::{Hash, Hasher};
    let mut v: Vec<(String, u64)> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            let e = e.expect("entry");
            let mut h = std::collections::hash_map::DefaultHasher::new();
            std::fs::read(e.path()).expect("read").hash(&mut h);
            (e.file_name().to_string_lossy().into_owned(), h.finish())
        })
        .collect();
    v.sort();
    v
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The three reading commands, each run in `shell` (a wrapper that makes the folder read-only
/// first, or none).
const READS: &[&str] = &[
    "archive verify",
    "archive status -f json",
    "recruitee audit --from-archive --limit 3 -f ndjson",
];

#[test]
fn a_read_only_copy_is_read_and_verified_and_not_one_byte_changes() {
    let env = Env::new();
    let a = synced(&env);
    let dir = a.parent().expect("folder").to_path_buf();
    let before = files(&dir);
    assert_eq!(before.len(), 1, "one file, no -wal after a clean end");
    let bin = assert_cmd::cargo::cargo_bin("hrlogs");
    if is_root() {
        // A read-only bind mount, in a mount namespace of its own (gone with the process).
        for read in READS {
            let script = format!(
                "mount --bind {d} {d} && mount -o remount,ro,bind {d} && exec {bin} --sandbox --archive {a} {read}",
                d = dir.display(),
                bin = bin.display(),
                a = a.display()
            );
            let out = std::process::Command::new("unshare")
                .args(["-m", "sh", "-c", &script])
                .env("HOME", env.home.path())
                .env("TZ", "UTC")
                .output()
                .expect("unshare");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{read} on a read-only mount: {err}"
            );
            if read.starts_with("recruitee") {
                assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
            }
        }
        assert_eq!(files(&dir), before, "not one byte changed, no file added");
    } else {
        eprintln!(
            "SKIPPED the read-only mount (needs root, as CI has); checking a read-only file and folder instead"
        );
        // A read-only file in a read-only folder (root ignores these modes: the mount above
        // is what checks it there).
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o444)).expect("chmod");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        for read in READS {
            let out = run(sandbox(&env, &a), &words(read));
            assert_eq!(out.code, Some(0), "{read}: {}", out.stderr);
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(files(&dir), before, "not one byte changed, no file added");
    }

    // A copy taken with changes still in its write-ahead log cannot be read exactly on
    // read-only media: the error names the log.
    if is_root() {
        use std::os::unix::fs::PermissionsExt;
        let copy_dir = env.path("with-wal");
        std::fs::create_dir(&copy_dir).expect("mkdir");
        let copy = copy_dir.join("a.sqlite3");
        std::fs::copy(&a, &copy).expect("copy");
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let conn = rusqlite::Connection::open(&copy).expect("open");
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
             INSERT INTO gaps (stream_id, from_ms, until_ms, noted_at) VALUES (1, 0, 1, 1);",
        )
        .expect("write into the wal");
        let frozen = env.path("frozen");
        std::fs::create_dir(&frozen).expect("mkdir");
        for f in ["a.sqlite3", "a.sqlite3-wal"] {
            std::fs::copy(copy_dir.join(f), frozen.join(f)).expect("copy");
        }
        drop(conn);
        let script = format!(
            "mount --bind {d} {d} && mount -o remount,ro,bind {d} && exec {bin} --archive {d}/a.sqlite3 archive verify",
            d = frozen.display(),
            bin = bin.display()
        );
        let out = std::process::Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .env("HOME", env.home.path())
            .output()
            .expect("unshare");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{err}");
        assert!(err.contains("a.sqlite3-wal"), "names the log: {err}");
    }
}

/// The Recruitee fake reached through a base URL that carries a user and password.
async fn fake() -> RecruiteeFake {
    let now = jiff::Timestamp::now().as_second();
    let audit = (0..20)
        .map(|i| {
            let at = now - 600 - i * 10;
            (
                at,
                json!({"_id": format!("p{i}"), "actor": "Ann", "event_name": "Admin viewed candidate",
                       "created_at": jiff::Timestamp::from_second(at).expect("ts").to_string()}),
            )
        })
        .collect();
    RecruiteeFake::start(State {
        audit,
        ..Default::default()
    })
    .await
}

fn with_base(env: &Env, base: &str, archive: &Path) -> std::process::Command {
    let mut cmd = env.command();
    cmd.env("HRLOGS_RECRUITEE_BASE_URL", base)
        .env("HRLOGS_RECRUITEE_COMPANY_ID", COMPANY)
        .env("HRLOGS_RECRUITEE_API_TOKEN", TOKEN)
        .arg("--archive")
        .arg(archive);
    cmd
}

const PASSWORD: &str = "gw-Pa55word-never-stored";

#[tokio::test(flavor = "multi_thread")]
async fn a_base_url_password_is_never_stored_and_one_tenant_has_one_spelling() {
    let fake = fake().await;
    let env = Env::new();
    let a = env.path("a.sqlite3");
    let port = fake.uri().rsplit(':').next().expect("port").to_string();
    let with_password = format!("http://gwuser:{PASSWORD}@127.0.0.1:{port}");
    // The tenant is written before the first request (the fake, wanting a bearer token only,
    // refuses what the gateway's user and password add): the password must not be in it.
    let _ = run(
        with_base(&env, &with_password, &a),
        &words("sync recruitee audit -q -f ndjson"),
    );
    let bytes = std::fs::read(&a).expect("archive");
    assert!(
        !String::from_utf8_lossy(&bytes).contains(PASSWORD),
        "the password is in the archive file"
    );
    let plain = format!("http://127.0.0.1:{port}");
    let out = run(
        with_base(&env, &plain, &a),
        &words("sync recruitee audit -q -f ndjson"),
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 20);
    for format in ["table", "json"] {
        let mut c = env.command();
        c.arg("--archive").arg(&a);
        let status = run(c, &["archive", "status", "-f", format]);
        assert!(!status.stdout.contains(PASSWORD) && !status.stdout.contains("gwuser"));
        assert!(
            status
                .stdout
                .contains(&format!("http://127.0.0.1:{port}/c/{COMPANY}"))
        );
    }
    // Other spellings of the same server are the same tenant: nothing is archived or printed
    // again.
    for spelling in [
        format!("http://127.0.0.1:0{port}/."),
        format!("HTTP://127.0.0.1:{port}/"),
    ] {
        let again = run(
            with_base(&env, &spelling, &a),
            &words("sync recruitee audit -f ndjson"),
        );
        assert_eq!(again.code, Some(0), "{}", again.stderr);
        assert_eq!(again.stdout, "", "{spelling}: {}", again.stderr);
        assert!(
            again.stderr.contains("sync recruitee audit: 0 new, "),
            "{}",
            again.stderr
        );
    }
    let conn = rusqlite::Connection::open(&a).expect("open");
    let streams: i64 = conn
        .query_row("SELECT COUNT(*) FROM streams", [], |r| r.get(0))
        .expect("streams");
    assert_eq!(streams, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_archive_written_before_keeps_no_password_once_migrated() {
    let fake = fake().await;
    let env = Env::new();
    let a = env.path("a.sqlite3");
    let port = fake.uri().rsplit(':').next().expect("port").to_string();
    let base = format!("http://127.0.0.1:{port}");
    let out = run(
        with_base(&env, &base, &a),
        &words("sync recruitee audit -q -f ndjson"),
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // As an older hrlogs wrote it: the base URL as given, password and all, chained.
    let legacy = format!("http://gwuser:{PASSWORD}@127.0.0.1:{port}/c/{COMPANY}");
    {
        let conn = rusqlite::Connection::open(&a).expect("open");
        // Schema 2's tables (text sources, tenants, ids and hashes), where legacy tenants
        // were kept.
        conn.execute_batch(
            "DROP VIEW audit_events;
             CREATE TABLE events_v2 (seq INTEGER PRIMARY KEY, source TEXT NOT NULL,
                 tenant TEXT NOT NULL, event_id TEXT NOT NULL, time_ms INTEGER NOT NULL,
                 archived_at INTEGER NOT NULL, record TEXT NOT NULL, hash TEXT NOT NULL,
                 UNIQUE (source, tenant, event_id));
             INSERT INTO events_v2 SELECT e.seq, s.name, t.name, e.event_id, e.time_ms,
                 e.archived_at, e.record, lower(hex(e.hash))
                 FROM events e JOIN sources s ON s.id = e.source_id JOIN tenants t ON t.id = e.tenant_id;
             DROP TABLE events; DROP TABLE sources; DROP TABLE tenants;
             ALTER TABLE events_v2 RENAME TO events;
             CREATE INDEX events_by_time ON events (source, time_ms);
             DROP INDEX stream_events_by_seq;
             CREATE TABLE links_v2 (stream_id INTEGER NOT NULL, seq INTEGER NOT NULL,
                 pos INTEGER, PRIMARY KEY (stream_id, seq)) WITHOUT ROWID;
             INSERT INTO links_v2 SELECT stream_id, seq, pos FROM stream_events;
             DROP TABLE stream_events;
             ALTER TABLE links_v2 RENAME TO stream_events;
             CREATE UNIQUE INDEX stream_events_by_pos ON stream_events (stream_id, pos);
             CREATE INDEX stream_events_by_seq ON stream_events (seq);
             UPDATE meta SET value = '2' WHERE key = 'schema_version';",
        )
        .expect("schema 2");
        conn.execute("UPDATE streams SET tenant = ?1", [&legacy])
            .expect("streams");
        let rows: Vec<(i64, String, String, i64, i64, String)> = conn
            .prepare("SELECT seq, source, event_id, time_ms, archived_at, record FROM events ORDER BY seq")
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
                })?
                .collect()
            })
            .expect("events");
        let mut prev = hrlogs::archive::chain::GENESIS.to_string();
        for (seq, source, id, t, at, record) in rows {
            let hash = hrlogs::archive::chain::hash(
                &prev,
                &hrlogs::archive::chain::Link {
                    seq,
                    source: &source,
                    tenant: &legacy,
                    event_id: &id,
                    time_ms: t,
                    archived_at: at,
                    record: &record,
                },
            );
            conn.execute(
                "UPDATE events SET tenant = ?1, hash = ?2 WHERE seq = ?3",
                rusqlite::params![legacy, hash, seq],
            )
            .expect("event");
            prev = hash;
        }
        conn.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'chain_head'",
            [&prev],
        )
        .expect("head");
        conn.execute_batch("DELETE FROM runs; DELETE FROM meta WHERE key = 'runs_head'; VACUUM;")
            .expect("runs");
    }
    assert!(String::from_utf8_lossy(&std::fs::read(&a).expect("read")).contains(PASSWORD));
    // The next sync migrates it: the same events, no password, a chain that verifies.
    let out = run(
        with_base(&env, &base, &a),
        &words("sync recruitee audit -f ndjson"),
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        out.stdout, "",
        "nothing new, nothing printed again: {}",
        out.stderr
    );
    let mut files = vec![a.clone()];
    for ext in ["-wal", "-shm"] {
        let mut p = a.clone().into_os_string();
        p.push(ext);
        files.push(PathBuf::from(p));
    }
    for f in files.iter().filter(|f| f.exists()) {
        let text = String::from_utf8_lossy(&std::fs::read(f).expect("read")).into_owned();
        assert!(
            !text.contains(PASSWORD),
            "{} still holds the password",
            f.display()
        );
    }
    let mut c = env.command();
    c.arg("--archive").arg(&a);
    let verify = run(c, &["archive", "verify"]);
    assert_eq!(verify.code, Some(0), "{}", verify.stderr);
}

/// A copy of the archive `a` (as a sync left it) with `sql` applied to it: what `archive
/// verify` says.
fn verify_after(a: &Path, sql: &str) -> Run {
    let env = Env::new();
    let copy = env.path("copy.sqlite3");
    std::fs::copy(a, &copy).expect("copy the archive");
    let wal = |p: &Path| PathBuf::from(format!("{}-wal", p.display()));
    if wal(a).exists() {
        std::fs::copy(wal(a), wal(&copy)).expect("copy the archive's -wal");
    }
    rusqlite::Connection::open(&copy)
        .and_then(|c| c.execute_batch(sql))
        .expect("tamper");
    let mut c = env.command();
    c.arg("--archive").arg(&copy);
    let out = run(c, &["archive", "verify"]);
    // Kept alive until here.
    drop(env);
    out
}

#[test]
fn verify_covers_cursors_links_and_the_type_of_every_column() {
    let env = Env::new();
    let a = synced(&env);
    for (what, sql, says) in [
        (
            "a cursor moved to the future",
            "UPDATE streams SET cursor = 4102444800000",
            "cursor",
        ),
        (
            "a cursor moved a day on",
            "UPDATE streams SET cursor = cursor + 86400000",
            "cursor",
        ),
        (
            "an event linked to a stream that never fetched it",
            "INSERT INTO streams (source, tenant, query, created_at) VALUES ('recruitee audit', 'sandbox', '{}', 0);
             INSERT INTO stream_events (stream_id, seq, pos) VALUES (2, 1, 1)",
            "stream 2",
        ),
        (
            "a record turned into a blob",
            "UPDATE events SET record = CAST(record AS BLOB) WHERE seq = 5",
            "row 5",
        ),
        (
            "a record made invalid UTF-8",
            "UPDATE events SET record = CAST(X'7B22FF227D' AS TEXT) WHERE seq = 7",
            "row 7",
        ),
        (
            "a run removed",
            "DELETE FROM runs",
            "run",
        ),
    ] {
        let out = verify_after(&a, sql);
        assert_eq!(out.code, Some(6), "{what}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{what}: {}", out.stderr);
    }
    // What verify cannot cover, it names: rows staged by a run that did not complete.
    let out = verify_after(
        &a,
        "INSERT INTO staging (stream_id, event_id, time_ms, ord, record) VALUES (1, 'x', 0, 1, '{}')",
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("not covered: 1 records staged"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_sync_refuses_an_archive_that_lost_rows_its_head_log_recorded() {
    let env = Env::new();
    let a = synced(&env);
    let log = env.path("heads.log");
    let sync = |extra: &str| {
        run(
            sandbox(&env, &a),
            &words(&format!(
                "sync recruitee audit -q -f ndjson --head-log {} {extra}",
                log.display()
            )),
        )
    };
    assert_eq!(sync("").code, Some(0));
    let line: Value = serde_json::from_str(
        std::fs::read_to_string(&log)
            .expect("log")
            .lines()
            .last()
            .expect("a line"),
    )
    .expect("json");
    let count = line["count"].as_i64().expect("count");
    // The newest rows go (a restored older copy, a cut -wal): the next sync would extend the
    // shorter chain and print the lost events again as new.
    rusqlite::Connection::open(&a)
        .and_then(|c| {
            c.execute_batch(&format!(
                "DELETE FROM events WHERE seq > {};
                 UPDATE meta SET value = (SELECT lower(hex(hash)) FROM events ORDER BY seq DESC LIMIT 1) WHERE key = 'chain_head';
                 UPDATE meta SET value = '{}' WHERE key = 'chain_count';",
                count - 3,
                count - 3
            ))
        })
        .expect("cut");
    let out = sync("");
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    assert!(
        out.stderr.contains("no longer holds the head"),
        "{}",
        out.stderr
    );
}
