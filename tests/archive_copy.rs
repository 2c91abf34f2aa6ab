//! `hrlogs archive copy FROM TO` through the real binary: SQLite → SQLite, SQLite →
//! PostgreSQL → SQLite. Each destination verifies, `--from-archive` reads the same records from
//! it, and a second copy adds nothing. The PostgreSQL test works in a schema of its own,
//! dropped after it; where PostgreSQL cannot be reached at 127.0.0.1:5432 it fails if `CI` is
//! set, and otherwise prints a loud SKIPPED line and returns.

mod common;

use std::path::Path;

use common::postgres::{Schema, reachable, server_url};
use common::{Env, text};

/// Runs `hrlogs ARGS` (with `schema` as the archive schema), expecting exit 0.
fn run(env: &Env, schema: Option<&Schema>, args: &[&str]) -> std::process::Output {
    let mut cmd = env.command();
    if let Some(s) = schema {
        cmd.env("HRLOGS_ARCHIVE_SCHEMA", &s.name);
    }
    let out = cmd.args(args).output().expect("run hrlogs");
    assert!(out.status.success(), "hrlogs {args:?}: {}", text(&out));
    out
}

/// An SQLite archive with two syncs of the sandbox's Recruitee audit log.
fn synced(env: &Env) -> std::path::PathBuf {
    let a = env.path("a.sqlite3");
    for _ in 0..2 {
        let out = env
            .command()
            .arg("--sandbox")
            .arg("--archive")
            .arg(&a)
            .args(["sync", "recruitee", "audit", "-q"])
            .output()
            .expect("sync");
        assert!(out.status.success(), "sync: {}", text(&out));
    }
    a
}

/// The records `--from-archive` reads, as NDJSON text.
fn records(env: &Env, schema: Option<&Schema>, archive: &str) -> String {
    let out = run(
        env,
        schema,
        &[
            "--archive",
            archive,
            "recruitee",
            "audit",
            "--from-archive",
            "-f",
            "ndjson",
        ],
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn head(env: &Env, schema: Option<&Schema>, archive: &str) -> String {
    let out = run(
        env,
        schema,
        &["--archive", archive, "archive", "status", "-f", "json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
    v["chain_head"].as_str().expect("head").to_string()
}

/// Copies, checks the line, verifies the destination and reads it back.
fn copy_and_check(env: &Env, schema: Option<&Schema>, from: &str, to: &str, source: &str) {
    let out = run(env, schema, &["archive", "copy", from, to]);
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!said.contains(" 0 new"), "the first copy adds: {said}");
    run(env, schema, &["--archive", to, "archive", "verify"]);
    assert_eq!(records(env, schema, to), source, "the same records");
    assert_eq!(
        head(env, schema, to),
        head(env, schema, from),
        "the same chain"
    );
    let again = run(env, schema, &["archive", "copy", from, to]);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains(": 0 new"),
        "copying again adds nothing: {said}"
    );
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

#[test]
fn sqlite_into_sqlite_verifies_reads_the_same_and_copies_again_to_nothing() {
    let env = Env::new();
    let a = synced(&env);
    let source = records(&env, None, s(&a));
    assert!(source.lines().count() > 100, "the sandbox gave records");
    let b = env.path("b.sqlite3");
    copy_and_check(&env, None, s(&a), s(&b), &source);
    // What the source delivered counts as delivered: a sync into the copy prints nothing old.
    let out = env
        .command()
        .arg("--sandbox")
        .arg("--archive")
        .arg(&b)
        .args(["sync", "recruitee", "audit", "-q", "-f", "ndjson"])
        .output()
        .expect("sync");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        out.stdout.is_empty(),
        "nothing printed again: {}",
        text(&out)
    );
}

#[test]
fn the_same_archive_and_a_password_on_the_command_line_are_refused() {
    let env = Env::new();
    let a = synced(&env);
    let out = env
        .command()
        .args(["archive", "copy", s(&a), s(&a)])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = env
        .command()
        .args([
            "archive",
            "copy",
            s(&a),
            "postgres://postgres:hunter2@127.0.0.1:1/test",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"));
}

#[test]
fn sqlite_into_postgres_and_back() {
    if !reachable("sqlite_into_postgres_and_back") {
        return;
    }
    let env = Env::new();
    let schema = Schema::new();
    let a = synced(&env);
    let source = records(&env, None, s(&a));
    let pg = server_url();
    copy_and_check(&env, Some(&schema), s(&a), &pg, &source);
    let c = env.path("c.sqlite3");
    copy_and_check(&env, Some(&schema), &pg, s(&c), &source);
}
