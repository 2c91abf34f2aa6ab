//! An SQLite archive of schema 2, as the hrlogs before the compact archive wrote it
//! (`tests/fixtures/archive/v2.sqlite3`: the sandbox's Recruitee audit, Feishu department and
//! talent logs, 74 events), migrated to schema 4 on its first write: the same events, the
//! same chain, read back the same; read-only before that (also from a read-only folder), it is
//! read through a migrated temporary copy and left byte for byte as it is. An archive of
//! schema 3 (before `events.utc_offset`) likewise. A newer schema is refused and left as it
//! is.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use common::Env;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/archive");
const DEPARTMENT: &str = "6967374979541027342";
/// The fixture's department-log stream synced again (a write: it migrates the archive).
const SYNC_DEPARTMENT: &[&str] = &[
    "-q",
    "-f",
    "ndjson",
    "sync",
    "feishu",
    "dept-logs",
    "--department",
    DEPARTMENT,
];

fn fixture(env: &Env) -> PathBuf {
    let a = env.path("v2.sqlite3");
    std::fs::copy(Path::new(FIXTURES).join("v2.sqlite3"), &a).expect("copy the fixture");
    a
}

fn hrlogs(env: &Env, archive: &Path, args: &[&str]) -> std::process::Output {
    env.command()
        .arg("--sandbox")
        .arg("--archive")
        .arg(archive)
        .args(args)
        .output()
        .expect("run hrlogs")
}

/// A sync of the sandbox's Recruitee audit log into `archive`, which must succeed.
fn synced(env: &Env, archive: &Path) {
    let sync = hrlogs(
        env,
        archive,
        &["-q", "-f", "ndjson", "sync", "recruitee", "audit"],
    );
    assert!(
        sync.status.success(),
        "{}",
        String::from_utf8_lossy(&sync.stderr)
    );
}

fn lines(bytes: &[u8]) -> HashSet<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_string)
        .collect()
}

fn schema_version(archive: &Path) -> String {
    rusqlite::Connection::open(archive)
        .and_then(|c| {
            c.query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
        })
        .expect("schema version")
}

#[test]
fn a_schema_2_archive_is_read_after_one_sync_migrates_it_with_its_chain() {
    let env = Env::new();
    let a = fixture(&env);
    let before = std::fs::read(&a).expect("read");
    // Read-only, it is read through a migrated copy: verified up to the head it had, its
    // events read back, and not one byte of it changed, also from a read-only file and folder.
    let head = "bae69688c7469e685554271c2875cc99fc29ded7db853f9d8de662036e78f0d2";
    let verify = hrlogs(&env, &a, &["archive", "verify", "--expect-head", head]);
    let said = String::from_utf8_lossy(&verify.stderr);
    assert_eq!(verify.status.code(), Some(0), "{said}");
    read_back_as_schema_2_did(&env, &a);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let folder = env.path("sealed");
        std::fs::create_dir(&folder).expect("a folder");
        let sealed = folder.join("v2.sqlite3");
        std::fs::copy(&a, &sealed).expect("copy");
        std::fs::set_permissions(&sealed, std::fs::Permissions::from_mode(0o444)).expect("chmod");
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        let status = hrlogs(&env, &sealed, &["archive", "status"]);
        let said = String::from_utf8_lossy(&status.stderr);
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(status.status.code(), Some(0), "{said}");
        assert!(
            String::from_utf8_lossy(&status.stdout).contains("v2.sqlite3"),
            "status names the archive, not its copy"
        );
        assert_eq!(
            std::fs::read(&sealed).expect("read"),
            before,
            "not one byte changed"
        );
    }
    assert_eq!(std::fs::read(&a).expect("read"), before);
    assert_eq!(schema_version(&a), "2");
    // The first write migrates it.
    let sync = hrlogs(&env, &a, SYNC_DEPARTMENT);
    assert!(
        sync.status.success(),
        "{}",
        String::from_utf8_lossy(&sync.stderr)
    );
    assert_eq!(schema_version(&a), "4");
    let verify = hrlogs(&env, &a, &["archive", "verify"]);
    let said = String::from_utf8_lossy(&verify.stderr);
    assert_eq!(verify.status.code(), Some(0), "{said}");
    // The chain of schema 2 goes on: the head it had is still reached, at its row count.
    let verify = hrlogs(
        &env,
        &a,
        &[
            "archive",
            "verify",
            "--expect-head",
            "bae69688c7469e685554271c2875cc99fc29ded7db853f9d8de662036e78f0d2",
        ],
    );
    let said = String::from_utf8_lossy(&verify.stderr);
    assert_eq!(verify.status.code(), Some(0), "{said}");
    // Every event read back as schema 2 read it.
    read_back_as_schema_2_did(&env, &a);
    // The view as analysts query it: names and text ids.
    let c = rusqlite::Connection::open(&a).expect("open");
    let (sources, hex_ids): (i64, i64) = c
        .query_row(
            "SELECT COUNT(DISTINCT source),
                    SUM(event_id GLOB '[0-9a-f]*-[0-9]*' AND length(event_id) > 65)
             FROM audit_events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("view");
    assert_eq!(sources, 3);
    assert!(hex_ids >= 30, "{hex_ids} Feishu ids as text");
    // Times: department logs archived without the tenant's zone say none; the others are UTC.
    assert_eq!(
        zones(&a),
        [
            ("feishu dept-logs".into(), None),
            ("feishu talent-logs".into(), Some("UTC".into())),
            ("recruitee audit".into(), Some("UTC".into()))
        ]
    );
    // A sync that knows the zone gives the older department events their offset.
    let sync = env
        .command()
        .env("HRLOGS_FEISHU_TENANT_TIME_ZONE", "Asia/Shanghai")
        .args(["--sandbox", "--archive"])
        .arg(&a)
        .args(SYNC_DEPARTMENT)
        .output()
        .expect("sync");
    assert!(
        sync.status.success(),
        "{}",
        String::from_utf8_lossy(&sync.stderr)
    );
    assert_eq!(
        zones(&a)[0],
        ("feishu dept-logs".into(), Some("+08:00".into()))
    );
    let verify = hrlogs(&env, &a, &["archive", "verify", "--expect-head", head]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

/// Each source of the view with its `occurred_zone`s (distinct), in order.
fn zones(a: &Path) -> Vec<(String, Option<String>)> {
    let c = rusqlite::Connection::open(a).expect("open");
    let mut stmt = c
        .prepare("SELECT DISTINCT source, occurred_zone FROM audit_events ORDER BY 1, 2")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

#[test]
fn an_archive_of_schema_3_is_read_as_it_is_and_migrated_on_its_first_write() {
    let env = Env::new();
    let a = fixture(&env);
    // Migrated to the current schema, then made schema 3 again: no `utc_offset`, the view
    // of schema 3.
    synced(&env, &a);
    rusqlite::Connection::open(&a)
        .and_then(|c| {
            c.execute_batch(
                "DROP VIEW audit_events;
                 ALTER TABLE events DROP COLUMN utc_offset;
                 UPDATE meta SET value = '3' WHERE key = 'schema_version';
                 VACUUM;",
            )
        })
        .expect("schema 3");
    let before = std::fs::read(&a).expect("read");
    for args in [
        vec!["archive", "verify"],
        vec!["archive", "status"],
        vec![
            "-f",
            "ndjson",
            "recruitee",
            "audit",
            "--since",
            "2020-01-01",
            "--from-archive",
        ],
    ] {
        let out = hrlogs(&env, &a, &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        std::fs::read(&a).expect("read"),
        before,
        "not one byte changed"
    );
    assert_eq!(schema_version(&a), "3");
    read_back_as_schema_2_did(&env, &a);
    synced(&env, &a);
    assert_eq!(schema_version(&a), "4");
    assert_eq!(zones(&a)[0], ("feishu dept-logs".into(), None));
    read_back_as_schema_2_did(&env, &a);
    let verify = hrlogs(&env, &a, &["archive", "verify"]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

/// Every event of the fixture read back with `--from-archive` as schema 2 read it.
fn read_back_as_schema_2_did(env: &Env, a: &Path) {
    for (file, args) in [
        (
            "v2-recruitee-audit.ndjson",
            vec!["recruitee", "audit", "--since", "2020-01-01"],
        ),
        (
            "v2-feishu-dept-logs.ndjson",
            vec![
                "feishu",
                "dept-logs",
                "--department",
                DEPARTMENT,
                "--since",
                "2024-01-01",
            ],
        ),
    ] {
        let mut all = vec!["-f", "ndjson"];
        all.extend(args);
        all.push("--from-archive");
        let out = hrlogs(env, a, &all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = lines(&std::fs::read(Path::new(FIXTURES).join(file)).expect("fixture"));
        let got = lines(&out.stdout);
        assert!(
            want.is_subset(&got),
            "{file}: {} of {} events read back",
            want.intersection(&got).count(),
            want.len()
        );
    }
}

#[test]
fn a_newer_schema_is_refused_and_left_as_it_is() {
    let env = Env::new();
    let a = fixture(&env);
    rusqlite::Connection::open(&a)
        .and_then(|c| {
            c.execute(
                "UPDATE meta SET value = '5' WHERE key = 'schema_version'",
                [],
            )
        })
        .expect("newer");
    let before = std::fs::read(&a).expect("read");
    for args in [
        vec![
            "-q",
            "sync",
            "feishu",
            "dept-logs",
            "--department",
            DEPARTMENT,
        ],
        vec!["archive", "status"],
    ] {
        let out = hrlogs(&env, &a, &args);
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {said}");
        assert!(said.contains("schema version 5"), "{said}");
        assert_eq!(std::fs::read(&a).expect("read"), before, "{args:?}");
    }
}
