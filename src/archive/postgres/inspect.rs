//! `archive status` and `archive verify` on PostgreSQL: each in one read-only snapshot
//! (`REPEATABLE READ`), so that syncs committing meanwhile are either wholly in it or not at
//! all. Verify recomputes both chains exactly as SQLite's does (`archive::chain`).

use std::collections::HashMap;

use tokio_postgres::{IsolationLevel, Transaction};

use super::store::chain_state;
use super::{PgResult, Postgres};
use crate::archive::chain::{self, GENESIS, Link};
use crate::archive::{Anchor, Gap, Integrity, Status, StreamStatus};
use crate::error::Result;

/// How many rows verify reads at a time.
const BATCH: i32 = 5000;

fn parse_query(q: String) -> serde_json::Value {
    serde_json::from_str(&q).unwrap_or(serde_json::Value::String(q))
}

/// Runs `f` in a read-only snapshot.
fn snapshot<T>(
    pg: &Postgres,
    doing: &str,
    f: impl AsyncFnOnce(&Transaction<'_>) -> PgResult<T>,
) -> Result<T> {
    let mut c = pg.lock();
    pg.block(async {
        let tx = c
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let out = f(&tx).await?;
        tx.commit().await?;
        Ok(out)
    })
    .map_err(|e| pg.err(doing, e))
}

pub fn streams(pg: &Postgres) -> Result<Vec<(i64, String, String, serde_json::Value)>> {
    snapshot(pg, "reading the streams", async |tx| {
        let rows = tx
            .query(
                "SELECT id, source, tenant, query FROM streams ORDER BY id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), parse_query(r.get(3))))
            .collect())
    })
}

pub fn status(pg: &Postgres) -> Result<Status> {
    let path = pg.describe();
    snapshot(pg, "reading the archive's status", async |tx| {
        let events: i64 = tx
            .query_one("SELECT COUNT(*) FROM events", &[])
            .await?
            .get(0);
        let (chain_head, chain_count) = chain_state(tx).await?;
        let rows = tx
            .query(
                "SELECT s.id, s.source, s.tenant, s.query, s.covered_from, s.cursor, s.last_run_at,
                        s.last_run_new, s.last_run_seen, s.last_run_requests, s.last_run_complete,
                        (SELECT COUNT(*) FROM stream_events x WHERE x.stream_id = s.id),
                        (SELECT COUNT(*) FROM staging g WHERE g.stream_id = s.id)
                 FROM streams s ORDER BY s.id",
                &[],
            )
            .await?;
        let streams = rows
            .iter()
            .map(|r| StreamStatus {
                id: r.get(0),
                source: r.get(1),
                tenant: r.get(2),
                query: parse_query(r.get(3)),
                covered_from_ms: r.get(4),
                cursor_ms: r.get(5),
                last_run_ms: r.get(6),
                last_run_new: r.get(7),
                last_run_already_archived: r.get(8),
                last_run_requests: r.get(9),
                last_run_complete: r.get(10),
                events: r.get(11),
                staged: r.get(12),
            })
            .collect();
        let gaps = tx
            .query(
                "SELECT stream_id, from_ms, until_ms, noted_at FROM gaps ORDER BY id",
                &[],
            )
            .await?
            .iter()
            .map(|r| Gap {
                stream_id: r.get(0),
                from_ms: r.get(1),
                until_ms: r.get(2),
                noted_ms: r.get(3),
            })
            .collect();
        Ok(Status {
            path,
            events,
            chain_head,
            chain_count,
            streams,
            gaps,
        })
    })
}

pub fn verify(pg: &Postgres, anchors: &[Anchor]) -> Result<Integrity> {
    snapshot(pg, "verifying the archive", async |tx| {
        let mut anchors = anchors.to_vec();
        match verify_runs(tx).await? {
            Ok(heads) => anchors.extend(heads),
            Err(broken) => return Ok(broken),
        }
        verify_events(tx, &anchors).await
    })
}

type RunRow = (
    i64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    String,
    String,
    i64,
    String,
);

/// The state chain, as SQLite's verify checks it: each run chained to the one before, its
/// links as recorded, no span skipped, every stream's row as its last run left it. Returns
/// the heads the runs saw, which the event chain must reach.
async fn verify_runs(
    tx: &Transaction<'_>,
) -> PgResult<std::result::Result<Vec<Anchor>, Integrity>> {
    let broken = |why: String| Ok(Err(Integrity::Broken { seq: 0, why }));
    let runs: Vec<RunRow> = tx
        .query(
            "SELECT id, stream_id, ended_at, asked_from, covered_from, cursor, linked_from,
                    linked_to, links, head, count, hash FROM runs ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
                r.get(8),
                r.get(9),
                r.get(10),
                r.get(11),
            )
        })
        .collect();
    let mut last: HashMap<i64, (Option<i64>, Option<i64>, i64)> = HashMap::new();
    let mut prev = GENESIS.to_string();
    let mut heads = Vec::new();
    let links_of = tx
        .prepare(
            "SELECT pos, seq FROM stream_events WHERE stream_id = $1 AND pos > $2 AND pos <= $3
             ORDER BY pos",
        )
        .await?;
    for (
        id,
        stream,
        ended_at,
        asked_from,
        covered_from,
        cursor,
        from,
        to,
        links,
        head,
        count,
        hash,
    ) in runs
    {
        let link = chain::RunLink {
            stream_id: stream,
            ended_at,
            asked_from,
            covered_from,
            cursor,
            linked_from: from,
            linked_to: to,
            links: &links,
            head: &head,
            count,
        };
        if chain::run_hash(&prev, &link) != hash {
            return broken(format!(
                "run {id} (stream {stream}) does not match its chain hash: a cursor, a stream's links or a run was altered, inserted or removed"
            ));
        }
        let before = last.get(&stream).copied().unwrap_or((None, None, 0));
        if from != before.2 {
            return broken(format!(
                "run {id} of stream {stream} numbers its events from {from}, but the run before ended at {}",
                before.2
            ));
        }
        if let (Some(asked), Some(cursor)) = (asked_from, before.0) {
            if asked > cursor {
                return broken(format!(
                    "run {id} of stream {stream} fetched from {asked} (ms), after the stream's cursor {cursor}: the span between was skipped (the cursor or a run was altered)"
                ));
            }
        }
        let mut hashed = chain::Links::default();
        let mut n = 0i64;
        for row in tx.query(&links_of, &[&stream, &from, &to]).await? {
            hashed.add(row.get(0), row.get(1));
            n = n.saturating_add(1);
        }
        if n != to.saturating_sub(from) || hashed.finish() != links {
            return broken(format!(
                "the events stream {stream} numbered in run {id} were altered (its links to the events table)"
            ));
        }
        heads.push(Anchor {
            head: head.clone(),
            count: Some(count),
            from: format!("run {id}"),
        });
        last.insert(stream, (cursor, covered_from, to));
        prev = hash;
    }
    let recorded: Option<String> = tx
        .query_opt("SELECT value FROM meta WHERE key = 'runs_head'", &[])
        .await?
        .map(|r| r.get(0));
    if recorded.as_deref().unwrap_or(GENESIS) != prev {
        return broken(
            "the last runs were removed (the recorded head of the runs is not the last run's)"
                .to_string(),
        );
    }
    let streams = tx
        .query(
            "SELECT s.id, s.cursor, s.covered_from, s.linked,
                    (SELECT COUNT(*) FROM stream_events x WHERE x.stream_id = s.id)
             FROM streams s ORDER BY s.id",
            &[],
        )
        .await?;
    for r in streams {
        let (id, cursor, covered_from, linked, links): (i64, Option<i64>, Option<i64>, i64, i64) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        let (c, f, l) = last.get(&id).copied().unwrap_or((None, None, 0));
        if (cursor, linked) != (c, l) || (last.contains_key(&id) && covered_from != f) {
            return broken(format!(
                "stream {id}'s cursor or coverage is not what its last run left (cursor {cursor:?}, was {c:?}): it was altered"
            ));
        }
        if links != l {
            return broken(format!(
                "stream {id} is linked to {links} events, but its runs numbered {l}: links were inserted or removed"
            ));
        }
    }
    Ok(Ok(heads))
}

async fn verify_events(tx: &Transaction<'_>, anchors: &[Anchor]) -> PgResult<Integrity> {
    let mut waiting: HashMap<&str, Vec<&Anchor>> = HashMap::new();
    for a in anchors {
        if a.head == GENESIS && a.count.unwrap_or(0) == 0 {
            continue;
        }
        waiting.entry(a.head.as_str()).or_default().push(a);
    }
    let (head, count) = chain_state(tx).await?;
    let stmt = tx
        .prepare(
            "SELECT seq, source, tenant, event_id, time_ms, archived_at, record, hash
             FROM events ORDER BY seq",
        )
        .await?;
    let portal = tx.bind(&stmt, &[]).await?;
    let mut prev = GENESIS.to_string();
    let mut expected: i64 = 1;
    let mut n: i64 = 0;
    loop {
        let rows = tx.query_portal(&portal, BATCH).await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let seq: i64 = row.get(0);
            if seq != expected {
                return Ok(Integrity::Broken {
                    seq: expected,
                    why: if seq > expected {
                        format!("row {expected} was removed (the next row is {seq})")
                    } else {
                        format!("row {seq} is out of order")
                    },
                });
            }
            // Columns made nullable and emptied are altered rows, not failures to read.
            let text = |i: usize| row.try_get::<_, Option<String>>(i).ok().flatten();
            let int = |i: usize| row.try_get::<_, Option<i64>>(i).ok().flatten();
            let altered = |what: &str| Integrity::Broken {
                seq,
                why: format!(
                    "row {seq}'s {what} is missing or not of the type the archive wrote (altered)"
                ),
            };
            let Some(source) = text(1) else {
                return Ok(altered("source"));
            };
            let Some(tenant) = text(2) else {
                return Ok(altered("tenant"));
            };
            let Some(event_id) = text(3) else {
                return Ok(altered("event id"));
            };
            let Some(time_ms) = int(4) else {
                return Ok(altered("time"));
            };
            let Some(archived_at) = int(5) else {
                return Ok(altered("archive time"));
            };
            let Some(record) = text(6) else {
                return Ok(altered("record"));
            };
            let Some(stored) = text(7) else {
                return Ok(altered("chain hash"));
            };
            let computed = chain::hash(
                &prev,
                &Link {
                    seq,
                    source: &source,
                    tenant: &tenant,
                    event_id: &event_id,
                    time_ms,
                    archived_at,
                    record: &record,
                },
            );
            if computed != stored {
                return Ok(Integrity::Broken {
                    seq,
                    why: format!(
                        "row {seq} (event {event_id}) does not match its chain hash: it was altered, inserted, or a row before it was changed"
                    ),
                });
            }
            prev = stored;
            n = n.saturating_add(1);
            expected = seq.saturating_add(1);
            if let Some(reached) = waiting.remove(prev.as_str()) {
                if let Some(a) = reached.iter().find(|a| a.count.is_some_and(|c| c != n)) {
                    return Ok(Integrity::Broken {
                        seq: n,
                        why: format!(
                            "the chain reaches the head {} of {} at row {n}, but it was written down with {} rows",
                            a.head,
                            a.from,
                            a.count.unwrap_or(n)
                        ),
                    });
                }
            }
        }
        if rows.len() < BATCH as usize {
            break;
        }
    }
    if n != count || prev != head {
        let why = if n < count {
            format!(
                "the archive recorded {count} rows but holds {n}: row {} onwards was removed",
                n.saturating_add(1)
            )
        } else if n > count {
            format!(
                "the archive recorded {count} rows but holds {n}: row {} onwards was inserted",
                count.saturating_add(1)
            )
        } else {
            format!("the last row's hash is not the recorded chain head {head}")
        };
        return Ok(Integrity::Broken {
            seq: n.min(count).saturating_add(1),
            why,
        });
    }
    if let Some(a) = waiting.values().flatten().min_by_key(|a| a.count) {
        return Ok(Integrity::Broken {
            seq: a.count.map_or(n, |c| c.min(n)).saturating_add(1),
            why: format!(
                "the chain no longer reaches the head {} of {}{}: rows were removed from its end or rewritten, and the archive's own record of its head was changed to match",
                a.head,
                a.from,
                a.count.map(|c| format!(" ({c} rows)")).unwrap_or_default()
            ),
        });
    }
    let staged: i64 = tx
        .query_one("SELECT COUNT(*) FROM staging", &[])
        .await?
        .get(0);
    Ok(Integrity::Intact {
        rows: n,
        head,
        staged,
    })
}
