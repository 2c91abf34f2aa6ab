//! The PostgreSQL backend against the real server: the conformance suite, tampering, a newer
//! schema version, many writers at once. Each test in a schema of its own, dropped after it.

use super::testing::{Schema, reachable};
use super::*;
use crate::archive::conformance::{self, key, stage_with};
use crate::archive::{
    CopyStore, DeliveryStore, InspectStore, Integrity, ReadFilter, RunEnd, RunStore, Store,
    StreamKey, StreamStore,
};
use crate::identity::Source;

/// Stages `ids` (id, time) as records by Ann.
fn stage(s: &mut dyn Store, stream: i64, ids: &[(&str, i64)]) {
    stage_with(s, stream, ids, r#","actor":"Ann""#);
}

fn end(now_ms: i64) -> RunEnd {
    conformance::end(Some(now_ms), now_ms)
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_passes_the_conformance_suite() {
    if !reachable("postgres_passes_the_conformance_suite") {
        return;
    }
    let make = || {
        let schema = Schema::new();
        let store = Postgres::open_for_writing(&schema.location()).expect("open");
        (
            Box::new(store) as Box<dyn Store>,
            Box::new(schema) as Box<dyn std::any::Any>,
        )
    };
    crate::archive::conformance::all(&make).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_altered_row_breaks_the_chain_and_both_backends_chain_identically() {
    if !reachable("an_altered_row_breaks_the_chain") {
        return;
    }
    let schema = Schema::new();
    let mut pg = Postgres::open_for_writing(&schema.location()).expect("open");
    let dir = tempfile::tempdir().expect("dir");
    let mut lite = crate::archive::sqlite::Sqlite::open_or_create(&dir.path().join("a.sqlite3"))
        .expect("sqlite");
    let k = key("a");
    let mut heads = vec![];
    for s in [&mut pg as &mut dyn Store, &mut lite as &mut dyn Store] {
        let id = s.stream(&k, 1).expect("stream").id;
        stage(s, id, &[("2", 20), ("1", 10)]);
        let done = s.finalize(&k, id, &end(100)).expect("finalize");
        assert_eq!((done.new, done.count), (2, 2));
        heads.push(done.head);
    }
    assert_eq!(heads[0], heads[1], "the same events chain to the same head");
    // The same view in both: who did what, when.
    let lite_row: (String, String, String, String) = lite
        .conn
        .query_row(
            "SELECT event_id, occurred_at, actor, archived_at FROM audit_events ORDER BY seq LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("sqlite view");
    assert_eq!(
        lite_row,
        (
            "1".to_string(),
            "1970-01-01T00:00:00.010Z".to_string(),
            "Ann".to_string(),
            "1970-01-01T00:00:00.100Z".to_string()
        )
    );
    let c = pg.lock();
    let pg_row = pg
        .block(c.query_one(
            "SELECT event_id, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), actor, record->>'_id' FROM audit_events ORDER BY seq LIMIT 1",
            &[],
        ))
        .expect("postgres view");
    let pg_row: (String, String, String, String) =
        (pg_row.get(0), pg_row.get(1), pg_row.get(2), pg_row.get(3));
    drop(c);
    assert_eq!(
        pg_row,
        (
            "1".to_string(),
            "1970-01-01T00:00:00.010Z".to_string(),
            "Ann".to_string(),
            "1".to_string()
        )
    );
    schema.execute("UPDATE events SET record = '{\"_id\":\"1\",\"actor\":\"Eve\"}' WHERE seq = 1");
    match pg.verify(&[]).expect("verify") {
        Integrity::Broken { seq, .. } => assert_eq!(seq, 1),
        Integrity::Intact { .. } => panic!("an altered record was taken for intact"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newer_schema_version_is_refused_and_left_unchanged() {
    if !reachable("a_newer_schema_version_is_refused") {
        return;
    }
    let schema = Schema::new();
    drop(Postgres::open_for_writing(&schema.location()).expect("create"));
    schema.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    for e in [
        Postgres::open_for_writing(&schema.location()).err(),
        Postgres::open_for_reading(&schema.location()).err(),
    ] {
        let e = e.expect("refused");
        assert_eq!(e.kind.exit_code(), 3, "{e}");
        assert!(
            e.message.contains("99") && e.message.contains(&SCHEMA_VERSION.to_string()),
            "{e}"
        );
    }
    // Untouched: still 99, nothing added.
    let reader = Postgres::connect(&schema.location()).expect("connect");
    let c = reader.lock();
    let v: String = reader
        .block(c.query_one("SELECT value FROM meta WHERE key = 'schema_version'", &[]))
        .expect("version")
        .get(0);
    assert_eq!(v, "99");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_schema_of_version_2_is_read_as_it_is_and_migrated_by_a_sync() {
    if !reachable("a_schema_of_version_2_is_read_as_it_is") {
        return;
    }
    let schema = Schema::new();
    let k = StreamKey {
        source: Source::FeishuDeptLogs,
        tenant: "t".into(),
        query: "{}".into(),
    };
    {
        let mut pg = Postgres::open_for_writing(&schema.location()).expect("create");
        let id = pg.stream(&k, 1).expect("stream").id;
        stage(&mut pg, id, &[("a", 10), ("b", 20)]);
        pg.finalize(&k, id, &end(100)).expect("finalize");
    }
    // Version 2: no `utc_offset`, the view of version 2.
    schema.execute(
        "DROP VIEW audit_events; ALTER TABLE events DROP COLUMN utc_offset;
         UPDATE meta SET value = '2' WHERE key = 'schema_version'",
    );
    let reader = Postgres::open_for_reading(&schema.location()).expect("read version 2");
    assert!(!reader.has_offsets());
    assert!(matches!(
        reader.verify(&[]).expect("verify"),
        Integrity::Intact { rows: 2, .. }
    ));
    let id = reader.find_stream(&k).expect("find").expect("stream").id;
    let events = reader.linked_events(id, (0, 10), 10).expect("events");
    assert!(events.iter().all(|e| e.utc_offset.is_none()));
    drop(reader);
    assert_eq!(
        schema.count("SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'utc_offset'"),
        0,
        "reading changed nothing"
    );
    // A sync migrates it: the column, the view, the version; a run that knows the zone fills
    // the offsets.
    let mut pg = Postgres::open_for_writing(&schema.location()).expect("migrate");
    assert!(pg.has_offsets());
    assert_eq!(
        schema.query("SELECT value FROM meta WHERE key = 'schema_version'")[0][0].as_deref(),
        Some("3")
    );
    pg.finalize(
        &k,
        id,
        &RunEnd {
            offsets: Some(std::sync::Arc::new(|_| Some(480))),
            ..end(200)
        },
    )
    .expect("finalize");
    assert_eq!(
        schema.query("SELECT occurred_zone, to_char(occurred_at AT TIME ZONE 'UTC', 'HH24:MI:SS.MS') FROM audit_events ORDER BY seq"),
        vec![
            vec![Some("+08:00".to_string()), Some("16:00:00.010".to_string())],
            vec![Some("+08:00".to_string()), Some("16:00:00.020".to_string())],
        ]
    );
    assert!(matches!(
        pg.verify(&[]).expect("verify"),
        Integrity::Intact { rows: 2, .. }
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_archive_is_named_and_reading_never_creates_one() {
    if !reachable("a_missing_archive_is_named") {
        return;
    }
    let schema = Schema::new();
    let e = Postgres::open_for_reading(&schema.location())
        .err()
        .expect("missing");
    assert_eq!(e.kind.exit_code(), 2, "{e}");
    assert!(
        e.message.contains(&schema.name) && e.message.contains("database test"),
        "{e}"
    );
    assert!(!Postgres::exists(&schema.location()).expect("exists"));
}

#[tokio::test(flavor = "multi_thread")]
async fn many_writers_at_once_keep_each_event_once_and_the_chain_intact() {
    if !reachable("many_writers_at_once") {
        return;
    }
    let schema = Schema::new();
    let loc = schema.location();
    // Four writers, each its own connection, overlapping streams and events, all at once.
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let loc = loc.clone();
            tokio::spawn(async move {
                let mut s = Postgres::open_for_writing(&loc).expect("open");
                for round in 0..5 {
                    let k = key(&format!("q{}", w % 2));
                    let id = s.stream(&k, 1).expect("stream").id;
                    let ids: Vec<String> = (0..40).map(|i| format!("{}", round * 20 + i)).collect();
                    let rows: Vec<(&str, i64)> =
                        ids.iter().map(|i| (i.as_str(), i.len() as i64)).collect();
                    stage(&mut s, id, &rows);
                    s.finalize(&k, id, &end(100 + round)).expect("finalize");
                    s.claim(id, &format!("w{w}"), &|_| true).expect("claim");
                }
            })
        })
        .collect();
    for h in handles {
        h.await.expect("a writer");
    }
    let s = Postgres::open_for_reading(&loc).expect("read");
    let status = s.status().expect("status");
    assert_eq!(status.events, 120, "ids 0..120, each once");
    match s.verify(&[]).expect("verify") {
        Integrity::Intact { rows, .. } => assert_eq!(rows, 120),
        Integrity::Broken { why, .. } => panic!("broken: {why}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_is_used_when_asked_and_verify_full_checks_the_certificate() {
    if !reachable("tls_is_used_when_asked") {
        return;
    }
    let schema = Schema::new();
    let mut loc = schema.location();
    let plain = Postgres::connect(&loc).expect("connect");
    let c = plain.lock();
    let ssl: String = plain
        .block(c.query_one("SHOW ssl", &[]))
        .expect("show ssl")
        .get(0);
    drop(c);
    if ssl != "on" {
        eprintln!("SKIPPED (the test server has ssl = off): tls_is_used_when_asked");
        return;
    }
    loc.url.set_query(Some("sslmode=require"));
    let tls = Postgres::connect(&loc).expect("connect with sslmode=require");
    let c = tls.lock();
    let used: bool = tls
        .block(c.query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        ))
        .expect("pg_stat_ssl")
        .get(0);
    drop(c);
    assert!(used, "sslmode=require connected without TLS");
    // The test server's certificate is signed by no root of the webpki set.
    loc.url.set_query(Some("sslmode=verify-full"));
    let e = Postgres::connect(&loc)
        .err()
        .expect("an unknown issuer is refused");
    assert_eq!(e.kind.exit_code(), 3, "{e}");
    assert!(e.to_string().contains("sslrootcert"), "{e}");
}

/// A role of the test's own, dropped after it.
struct Role(String);

impl Drop for Role {
    fn drop(&mut self) {
        let admin = Schema::new();
        admin.execute(&format!(
            "DROP OWNED BY \"{0}\"; DROP ROLE IF EXISTS \"{0}\"",
            self.0
        ));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_with_only_select_reads_status_verify_and_events() {
    if !reachable("a_role_with_only_select_reads") {
        return;
    }
    let schema = Schema::new();
    let mut w = Postgres::open_for_writing(&schema.location()).expect("open");
    let k = key("a");
    let id = w.stream(&k, 1).expect("stream").id;
    stage(&mut w, id, &[("2", 20), ("1", 10)]);
    w.finalize(&k, id, &end(100)).expect("finalize");
    let role = Role(format!("{}_reader", schema.name));
    schema.execute(&format!(
        "CREATE ROLE \"{0}\" LOGIN; GRANT USAGE ON SCHEMA \"{1}\" TO \"{0}\"; GRANT SELECT ON ALL TABLES IN SCHEMA \"{1}\" TO \"{0}\"",
        role.0, schema.name
    ));
    let mut loc = schema.location();
    loc.url.set_username(&role.0).expect("user");
    let r = Postgres::open_for_reading(&loc).expect("a reader opens it");
    assert_eq!(r.status().expect("status").events, 2);
    assert!(matches!(
        r.verify(&[]).expect("verify"),
        Integrity::Intact { rows: 2, .. }
    ));
    let mut rows = r.read(ReadFilter {
        source: Source::RecruiteeAudit,
        tenant: None,
        from_ms: None,
        until_ms: None,
        order: crate::archive::Order::NewestFirst,
        linked_streams: vec![id],
        keep: None,
    });
    let mut ids = vec![];
    while let Some(b) = rows.next_batch().await {
        ids.extend(b.expect("batch").into_iter().filter_map(|r| r.id));
    }
    assert_eq!(ids, ["2", "1"]);
    // Writing is refused, named as a matter of grants.
    let mut rw = Postgres::open_for_writing(&loc).expect("the tables exist");
    let e = rw.stream(&key("b"), 1).expect_err("no INSERT grant");
    assert_eq!(e.kind.exit_code(), 3, "{e}");
    assert!(e.to_string().contains("grant"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_connection_is_made_again_for_the_next_call() {
    if !reachable("a_lost_connection_is_made_again") {
        return;
    }
    let schema = Schema::new();
    let mut s = Postgres::open_for_writing(&schema.location()).expect("open");
    let pid: i32 = {
        let c = s.lock();
        s.block(c.query_one("SELECT pg_backend_pid()", &[]))
            .expect("pid")
            .get(0)
    };
    schema.execute(&format!("SELECT pg_terminate_backend({pid})"));
    // The call that meets the cut may fail (unavailable); a later one reconnects.
    let mut ok = None;
    for _ in 0..50 {
        match s.stream(&key("a"), 1) {
            Ok(state) => {
                ok = Some(state);
                break;
            }
            Err(e) => {
                assert_eq!(e.kind.exit_code(), 5, "{e}");
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }
    assert!(ok.is_some(), "the archive never came back");
    let c = s.lock();
    let again: i32 = s
        .block(c.query_one("SELECT pg_backend_pid()", &[]))
        .expect("pid")
        .get(0);
    assert_ne!(again, pid);
}
