//! The conformance suite of the archive contract: what every [`Store`] must do, checked
//! through the trait alone, so that a backend is added by passing it (`all`) — SQLite in
//! `sqlite/mod.rs`'s tests, and each backend after it. Tampering is backend-specific (it
//! edits the store behind the contract's back) and is tested beside each backend.

use super::{
    Anchor, Finalized, Integrity, Order, ReadFilter, RunEnd, Staged, Store, StreamKey, chain,
};
use crate::identity::Source;

/// A fresh, empty store, and whatever keeps it alive (a temporary folder, a schema).
pub type Make<'a> = &'a dyn Fn() -> (Box<dyn Store>, Box<dyn std::any::Any>);

/// Every check, each on a fresh store.
pub async fn all(make: Make<'_>) {
    events_are_kept_once_oldest_first_and_chained(make).await;
    each_stream_numbers_and_delivers_its_own_events(make);
    two_syncs_share_a_stream_and_a_dead_one_is_printed_again(make);
    a_killed_run_keeps_its_staging_floors_and_done_units(make);
    the_cursor_moves_only_when_a_run_says(make);
    verify_reaches_the_heads_written_down(make);
    status_counts_streams_and_staging(make);
    copying_into_an_empty_store_gives_the_same_events_cursors_and_chains(make).await;
    wall_clock_offsets_are_kept_beside_the_time_filled_later_copied_and_not_chained(make);
}

pub fn key(query: &str) -> StreamKey {
    StreamKey {
        source: Source::RecruiteeAudit,
        tenant: "https://t.example/c/1".into(),
        query: query.into(),
    }
}

/// Stages `rows` (id, time) as records `{"_id": id}`, after what the stream staged.
pub fn stage(s: &mut dyn Store, stream: i64, rows: &[(&str, i64)]) {
    stage_with(s, stream, rows, "");
}

/// Stages `rows` (id, time) as records `{"_id": id` and the fields `more` (`,"actor":"Ann"`)
/// `}`, after what the stream staged.
pub fn stage_with(s: &mut dyn Store, stream: i64, rows: &[(&str, i64)], more: &str) {
    let records: Vec<String> = rows
        .iter()
        .map(|(id, _)| format!(r#"{{"_id":"{id}"{more}}}"#))
        .collect();
    let staged: Vec<Staged<'_>> = rows
        .iter()
        .zip(&records)
        .map(|((id, t), r)| Staged {
            event_id: id,
            time_ms: *t,
            record: r,
        })
        .collect();
    let next = s.staged_until(stream).expect("staged until");
    s.stage(stream, next, &staged, None).expect("stage");
}

/// The end of a run at `now_ms` with this cursor.
pub fn end(cursor: Option<i64>, now_ms: i64) -> RunEnd {
    RunEnd {
        asked_from: None,
        covered_from: None,
        cursor,
        now_ms,
        requests: 1,
        offsets: None,
    }
}

fn finalize(s: &mut dyn Store, k: &StreamKey, stream: i64, now_ms: i64) -> Finalized {
    s.finalize(k, stream, &end(Some(now_ms), now_ms))
        .expect("finalize")
}

async fn read_ids(s: &dyn Store, order: Order) -> Vec<String> {
    let mut rows = s.read(ReadFilter {
        source: Source::RecruiteeAudit,
        tenant: None,
        from_ms: None,
        until_ms: None,
        order,
        linked_streams: vec![],
        keep: None,
    });
    let mut out = Vec::new();
    while let Some(b) = rows.next_batch().await {
        for r in b.expect("batch") {
            assert!(r.link.is_some(), "records read back carry their chain link");
            out.push(r.id.expect("id"));
        }
    }
    out
}

async fn events_are_kept_once_oldest_first_and_chained(make: Make<'_>) {
    let (mut s, _keep) = make();
    let (ka, kb) = (key("a"), key("b"));
    let a = s.stream(&ka, 1).expect("stream a").id;
    let b = s.stream(&kb, 1).expect("stream b").id;
    assert_ne!(a, b);
    // Newest first, as fetched; staged twice (a resumed run) is kept once.
    stage(s.as_mut(), a, &[("3", 30), ("2", 20)]);
    stage(s.as_mut(), a, &[("2", 20), ("1", 10)]);
    let done = finalize(s.as_mut(), &ka, a, 100);
    assert_eq!((done.new, done.seen, done.linked), (3, 0, 3));
    assert_eq!((done.first_seq, done.last_seq, done.count), (1, 3, 3));
    stage(s.as_mut(), b, &[("4", 40), ("3", 30)]);
    let done = finalize(s.as_mut(), &kb, b, 200);
    assert_eq!(
        (done.new, done.seen, done.linked),
        (1, 1, 2),
        "stream b numbers 3 (archived by a) and 4"
    );
    assert_eq!(
        read_ids(s.as_ref(), Order::NewestFirst).await,
        ["4", "3", "2", "1"]
    );
    assert_eq!(
        read_ids(
            s.as_ref(),
            Order::Delivery {
                stream: b,
                after: 0
            }
        )
        .await,
        ["3", "4"],
        "a stream's output holds what another stream archived first"
    );
    assert_eq!(
        read_ids(
            s.as_ref(),
            Order::Delivery {
                stream: a,
                after: 1
            }
        )
        .await,
        ["2", "3"]
    );
    assert_eq!(s.newest_event_ms(a).expect("newest"), Some(30));
    assert_eq!(
        s.row_hash(4).expect("row 4").as_deref(),
        Some(done.head.as_str())
    );
    assert_eq!(s.row_hash(5).expect("row 5"), None);
    match s.verify(&[]).expect("verify") {
        Integrity::Intact { rows, head, staged } => {
            assert_eq!((rows, staged), (4, 0));
            assert_eq!(head, done.head);
        }
        Integrity::Broken { why, .. } => panic!("intact archive taken for broken: {why}"),
    }
}

fn each_stream_numbers_and_delivers_its_own_events(make: Make<'_>) {
    let (mut s, _keep) = make();
    let k = key("a");
    let id = s.stream(&k, 1).expect("stream").id;
    stage(s.as_mut(), id, &[("1", 10), ("2", 20)]);
    finalize(s.as_mut(), &k, id, 100);
    let alive = |_: &str| true;
    assert_eq!(s.claim(id, "me", &alive).expect("claim"), (0, 2));
    // Taken already, by me: nothing more.
    assert_eq!(s.claim(id, "me", &alive).expect("claim"), (2, 2));
    s.mark_delivered(id, 0, 2).expect("delivered");
    s.mark_delivered(id, 0, 1).expect("never back");
    s.mark_delivered(id, 2, 99).expect("never past");
    stage(s.as_mut(), id, &[("3", 30)]);
    finalize(s.as_mut(), &k, id, 200);
    assert_eq!(s.claim(id, "me", &alive).expect("claim"), (2, 3));
    // The reader went away: released, printed again by the next sync.
    s.release(id, "me").expect("release");
    assert_eq!(s.claim(id, "next", &alive).expect("claim"), (2, 3));
}

fn two_syncs_share_a_stream_and_a_dead_one_is_printed_again(make: Make<'_>) {
    let (mut s, _keep) = make();
    let k = key("a");
    let id = s.stream(&k, 1).expect("stream").id;
    stage(s.as_mut(), id, &[("1", 10), ("2", 20)]);
    finalize(s.as_mut(), &k, id, 100);
    assert_eq!(s.claim(id, "one", &|_| true).expect("one"), (0, 2));
    // "one" still runs: "two" prints only what comes after.
    assert_eq!(s.claim(id, "two", &|o| o == "one").expect("two"), (2, 2));
    // "two" died (killed) without a receipt: "three" prints from the delivery cursor.
    assert_eq!(s.claim(id, "three", &|_| false).expect("three"), (0, 2));
    // A sync whose range starts after another's unproven one does not move the cursor past
    // it: if that other sync then fails, its events are printed again.
    stage(s.as_mut(), id, &[("3", 30)]);
    finalize(s.as_mut(), &k, id, 200);
    assert_eq!(
        s.claim(id, "four", &|o| o == "three").expect("four"),
        (2, 3)
    );
    s.mark_delivered(id, 2, 3).expect("delivered, in its turn");
    s.release(id, "three").expect("three failed");
    assert_eq!(s.claim(id, "five", &|_| false).expect("five"), (0, 3));
}

fn a_killed_run_keeps_its_staging_floors_and_done_units(make: Make<'_>) {
    let (mut s, _keep) = make();
    let k = key("a");
    let id = s.stream(&k, 1).expect("stream").id;
    s.set_pending(id, Some("[[null,100]]")).expect("pending");
    let row = |id: &'static str, t: i64| (id, t);
    let r = [row("9", 90), row("8", 80)];
    let records: Vec<String> = r
        .iter()
        .map(|(i, _)| format!(r#"{{"_id":"{i}"}}"#))
        .collect();
    let staged: Vec<Staged<'_>> = r
        .iter()
        .zip(&records)
        .map(|((i, t), rec)| Staged {
            event_id: i,
            time_ms: *t,
            record: rec,
        })
        .collect();
    s.stage(id, 0, &staged, Some(("u1", 81)))
        .expect("stage with floor");
    s.stage(id, 2, &staged[1..], Some(("u1", 85)))
        .expect("a higher floor never raises it");
    assert_eq!(s.unit_floor(id, "u1").expect("floor"), Some(81));
    assert!(!s.unit_done(id, "u1").expect("not done"));
    s.mark_unit_done(id, "u1").expect("done");
    assert!(s.unit_done(id, "u1").expect("done"));
    assert_eq!(s.unit_floor(id, "u1").expect("no floor once done"), None);
    assert_eq!(s.staged_count(id).expect("count"), 2);
    assert_eq!(
        s.staged_until(id).expect("until"),
        2,
        "a record staged again keeps its place"
    );
    let state = s.find_stream(&k).expect("find").expect("exists");
    assert_eq!(state.pending.as_deref(), Some("[[null,100]]"));
    s.note_incomplete_run(id, 50, 3).expect("incomplete");
    let done = finalize(s.as_mut(), &k, id, 100);
    assert_eq!(done.new, 2);
    assert_eq!(s.staged_count(id).expect("count"), 0, "staging cleared");
    assert!(!s.unit_done(id, "u1").expect("progress cleared"));
    assert_eq!(
        s.find_stream(&k).expect("find").expect("exists").pending,
        None
    );
}

fn the_cursor_moves_only_when_a_run_says(make: Make<'_>) {
    let (mut s, _keep) = make();
    let k = key("a");
    let id = s.stream(&k, 1).expect("stream").id;
    assert_eq!(s.find_stream(&k).expect("find").expect("row").cursor, None);
    s.finalize(&k, id, &end(Some(500), 600)).expect("finalize");
    assert_eq!(
        s.find_stream(&k).expect("find").expect("row").cursor,
        Some(500)
    );
    s.finalize(&k, id, &end(None, 700)).expect("finalize");
    let state = s.find_stream(&k).expect("find").expect("row");
    assert_eq!((state.cursor, state.last_run_at), (Some(500), Some(700)));
    s.note_gap(id, (None, 400), 700).expect("gap");
    assert!(matches!(
        s.verify(&[]).expect("verify"),
        Integrity::Intact { .. }
    ));
}

fn verify_reaches_the_heads_written_down(make: Make<'_>) {
    let (mut s, _keep) = make();
    let k = key("a");
    let id = s.stream(&k, 1).expect("stream").id;
    stage(s.as_mut(), id, &[("1", 10), ("2", 20)]);
    let first = finalize(s.as_mut(), &k, id, 100);
    stage(s.as_mut(), id, &[("3", 30)]);
    finalize(s.as_mut(), &k, id, 200);
    let anchor = |head: &str, count: Option<i64>| Anchor {
        head: head.to_string(),
        count,
        from: "test".into(),
    };
    let ok = [
        anchor(&first.head, Some(2)),
        anchor(chain::GENESIS, Some(0)),
    ];
    assert!(matches!(
        s.verify(&ok).expect("verify"),
        Integrity::Intact { .. }
    ));
    let wrong_count = [anchor(&first.head, Some(3))];
    assert!(matches!(
        s.verify(&wrong_count).expect("verify"),
        Integrity::Broken { .. }
    ));
    let never = [anchor(&"ab".repeat(32), None)];
    match s.verify(&never).expect("verify") {
        Integrity::Broken { why, .. } => assert!(why.contains("no longer reaches"), "{why}"),
        Integrity::Intact { .. } => panic!("a head the chain never had was taken as reached"),
    }
}

fn status_counts_streams_and_staging(make: Make<'_>) {
    let (mut s, _keep) = make();
    let (ka, kb) = (key(r#"{"actors":["Ann"]}"#), key("{}"));
    let a = s.stream(&ka, 1).expect("a").id;
    let b = s.stream(&kb, 1).expect("b").id;
    stage(s.as_mut(), a, &[("1", 10)]);
    finalize(s.as_mut(), &ka, a, 100);
    stage(s.as_mut(), b, &[("1", 10), ("2", 20)]);
    let status = s.status().expect("status");
    assert_eq!(status.events, 1);
    assert_eq!(status.streams.len(), 2);
    let sa = &status.streams[0];
    assert_eq!((sa.events, sa.staged, sa.cursor_ms), (1, 0, Some(100)));
    assert_eq!(sa.query["actors"][0], "Ann");
    let sb = &status.streams[1];
    assert_eq!((sb.events, sb.staged, sb.cursor_ms), (0, 2, None));
    let streams = s.streams().expect("streams");
    assert_eq!(streams.iter().map(|x| x.0).collect::<Vec<_>>(), [a, b]);
    assert!(s.location().len() > 1);
}

async fn copying_into_an_empty_store_gives_the_same_events_cursors_and_chains(make: Make<'_>) {
    let (mut s, _keep) = make();
    let (ka, kb) = (key("a"), key("b"));
    let a = s.stream(&ka, 1).expect("stream a").id;
    let b = s.stream(&kb, 1).expect("stream b").id;
    // Two events of one time: the copy keeps their order.
    stage(
        s.as_mut(),
        a,
        &[("3", 30), ("2", 20), ("2b", 20), ("1", 10)],
    );
    finalize(s.as_mut(), &ka, a, 100);
    stage(s.as_mut(), b, &[("4", 40), ("3", 30)]);
    finalize(s.as_mut(), &kb, b, 200);
    s.finalize(&ka, a, &end(None, 250))
        .expect("a run that numbered nothing");
    stage(s.as_mut(), a, &[("5", 50)]);
    let last = finalize(s.as_mut(), &ka, a, 300);
    s.mark_delivered(a, 0, 4).expect("delivered");
    let (mut d, _keep_d) = make();
    let copied = super::copy::copy(s.as_ref(), d.as_mut(), 999).expect("copy");
    assert_eq!((copied.new, copied.seen, copied.streams), (6, 1, 2));
    match d.verify(&[]).expect("verify") {
        Integrity::Intact { rows, head, .. } => {
            assert_eq!(rows, 6);
            assert_eq!(
                head, last.head,
                "the same events in the same order: the same chain"
            );
        }
        Integrity::Broken { why, .. } => panic!("the copy does not verify: {why}"),
    }
    assert_eq!(
        read_ids(d.as_ref(), Order::NewestFirst).await,
        read_ids(s.as_ref(), Order::NewestFirst).await
    );
    let src_runs = s.runs().expect("runs");
    let dst_runs = d.runs().expect("runs");
    assert_eq!(
        src_runs.iter().map(|r| &r.hash).collect::<Vec<_>>(),
        dst_runs.iter().map(|r| &r.hash).collect::<Vec<_>>(),
        "the same state chain"
    );
    for k in [&ka, &kb] {
        let (x, y) = (
            s.find_stream(k).expect("find").expect("source"),
            d.find_stream(k).expect("find").expect("copy"),
        );
        assert_eq!((x.cursor, x.covered_from), (y.cursor, y.covered_from));
        let ox = read_ids(
            s.as_ref(),
            Order::Delivery {
                stream: x.id,
                after: 0,
            },
        )
        .await;
        let oy = read_ids(
            d.as_ref(),
            Order::Delivery {
                stream: y.id,
                after: 0,
            },
        )
        .await;
        assert_eq!(ox, oy, "each stream numbers its events in the same order");
    }
    let rows = d.stream_rows().expect("rows");
    let da = rows.iter().find(|r| r.query == "a").expect("a");
    let db = rows.iter().find(|r| r.query == "b").expect("b");
    assert_eq!(
        (da.delivered, da.linked),
        (4, 5),
        "what the source had not delivered stays"
    );
    assert_eq!((db.delivered, db.linked), (0, 2));
    let again = super::copy::copy(s.as_ref(), d.as_mut(), 1000).expect("again");
    assert_eq!(
        (again.new, again.runs),
        (0, 0),
        "copying again adds nothing"
    );
    assert_eq!(d.runs().expect("runs").len(), dst_runs.len());
}

/// The `utc_offset` each event of the stream numbered, in its order (through `archive copy`'s
/// reader).
fn offsets_of(s: &dyn Store, stream: i64) -> Vec<(String, Option<i32>)> {
    s.linked_events(stream, (0, i64::MAX), 100)
        .expect("linked events")
        .into_iter()
        .map(|e| (e.event_id, e.utc_offset))
        .collect()
}

/// A zone of the test: +08:00 before ms 25, +09:00 from it (a change of offset).
fn offsets() -> super::Offsets {
    std::sync::Arc::new(|ms| Some(if ms < 25 { 480 } else { 540 }))
}

fn wall_clock_offsets_are_kept_beside_the_time_filled_later_copied_and_not_chained(make: Make<'_>) {
    let dept = |tenant: &str| StreamKey {
        source: Source::FeishuDeptLogs,
        tenant: tenant.into(),
        query: "{}".into(),
    };
    let (k, other) = (dept("https://t.example"), dept("https://u.example"));
    let rows = [("c", 30), ("b", 20), ("a", 10)];
    // The same events appended with and without the zone: the same chain.
    let (mut with, _keep_with) = make();
    let w = with.stream(&k, 1).expect("stream").id;
    stage(with.as_mut(), w, &rows);
    let zoned = with
        .finalize(
            &k,
            w,
            &RunEnd {
                offsets: Some(offsets()),
                ..end(Some(100), 100)
            },
        )
        .expect("finalize");
    assert_eq!(
        offsets_of(with.as_ref(), w),
        [
            ("a".to_string(), Some(480)),
            ("b".to_string(), Some(480)),
            ("c".to_string(), Some(540))
        ],
        "each event's offset at its own time"
    );
    let (mut without, _keep_without) = make();
    let n = without.stream(&k, 1).expect("stream").id;
    stage(without.as_mut(), n, &rows);
    let plain = finalize(without.as_mut(), &k, n, 100);
    assert_eq!(plain.head, zoned.head, "the offset is not chained");
    assert!(
        offsets_of(without.as_ref(), n)
            .iter()
            .all(|(_, o)| o.is_none())
    );
    // Another tenant's and another source's events, without offsets.
    let o = without.stream(&other, 1).expect("stream").id;
    stage(without.as_mut(), o, &[("x", 10)]);
    finalize(without.as_mut(), &other, o, 110);
    let r = without.stream(&key("r"), 1).expect("stream").id;
    stage(without.as_mut(), r, &[("r1", 10)]);
    finalize(without.as_mut(), &key("r"), r, 120);
    // A later run that knows the zone fills its tenant's older events (and its own new one),
    // and no other's; the chain it extends is the same.
    stage(without.as_mut(), n, &[("d", 40)]);
    let filled = without
        .finalize(
            &k,
            n,
            &RunEnd {
                offsets: Some(offsets()),
                ..end(Some(200), 200)
            },
        )
        .expect("finalize");
    assert_eq!(filled.new, 1);
    assert_eq!(
        offsets_of(without.as_ref(), n),
        [
            ("a".to_string(), Some(480)),
            ("b".to_string(), Some(480)),
            ("c".to_string(), Some(540)),
            ("d".to_string(), Some(540))
        ]
    );
    assert_eq!(offsets_of(without.as_ref(), o), [("x".to_string(), None)]);
    assert_eq!(offsets_of(without.as_ref(), r), [("r1".to_string(), None)]);
    // Events appended after by a run without the zone are filled by the next one with it.
    stage(without.as_mut(), n, &[("e", 50)]);
    finalize(without.as_mut(), &k, n, 300);
    assert_eq!(offsets_of(without.as_ref(), n)[4], ("e".to_string(), None));
    without
        .finalize(
            &k,
            n,
            &RunEnd {
                offsets: Some(offsets()),
                ..end(Some(400), 400)
            },
        )
        .expect("finalize");
    assert_eq!(
        offsets_of(without.as_ref(), n)[4],
        ("e".to_string(), Some(540))
    );
    assert!(matches!(
        without.verify(&[]).expect("verify"),
        Integrity::Intact { .. }
    ));
    // A copy carries the offsets across.
    let (mut copy, _keep_copy) = make();
    super::copy::copy(without.as_ref(), copy.as_mut(), 999).expect("copy");
    let c = copy.find_stream(&k).expect("find").expect("copied").id;
    assert_eq!(
        offsets_of(copy.as_ref(), c),
        offsets_of(without.as_ref(), n)
    );
    let co = copy.find_stream(&other).expect("find").expect("copied").id;
    assert_eq!(offsets_of(copy.as_ref(), co), [("x".to_string(), None)]);
    match copy.verify(&[]).expect("verify") {
        Integrity::Intact { head, .. } => {
            assert_eq!(
                head,
                without
                    .verify(&[])
                    .map(|i| match i {
                        Integrity::Intact { head, .. } => head,
                        Integrity::Broken { why, .. } => why,
                    })
                    .expect("verify")
            );
        }
        Integrity::Broken { why, .. } => panic!("the copy does not verify: {why}"),
    }
}
