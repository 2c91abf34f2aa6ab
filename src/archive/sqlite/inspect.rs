//! `archive status` and `archive verify`: what the archive holds, and whether its hash chain
//! still matches its rows.

use rusqlite::params;
use rusqlite::types::ValueRef;

use super::Sqlite;
use super::store::chain_state;
use crate::archive::chain::{self, GENESIS, Link};
use crate::archive::{Anchor, Gap, Integrity, Status, StreamStatus};
use crate::error::Result;
use rusqlite::OptionalExtension;

impl Sqlite {
    /// Every stream: id, source, tenant and query (parsed), without counting anything.
    pub fn streams(&self) -> Result<Vec<(i64, String, String, serde_json::Value)>> {
        let e = |err| self.err(err);
        let mut stmt = self
            .conn
            .prepare("SELECT id, source, tenant, query FROM streams ORDER BY id")
            .map_err(e)?;
        let rows = stmt
            .query_map([], |r| {
                let query: String = r.get(3)?;
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    serde_json::from_str(&query).unwrap_or(serde_json::Value::String(query)),
                ))
            })
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(e)?;
        Ok(rows)
    }

    pub fn status(&self) -> Result<Status> {
        let e = |err| self.err(err);
        let events: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .map_err(e)?;
        let (chain_head, chain_count) = chain_state(&self.conn).map_err(e)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.id, s.source, s.tenant, s.query, s.covered_from, s.cursor, s.last_run_at,
                        s.last_run_new, s.last_run_seen, s.last_run_requests, s.last_run_complete,
                        (SELECT COUNT(*) FROM stream_events x WHERE x.stream_id = s.id),
                        (SELECT COUNT(*) FROM staging g WHERE g.stream_id = s.id)
                 FROM streams s ORDER BY s.id",
            )
            .map_err(e)?;
        let streams = stmt
            .query_map([], |r| {
                let query: String = r.get(3)?;
                Ok(StreamStatus {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    tenant: r.get(2)?,
                    query: serde_json::from_str(&query).unwrap_or(serde_json::Value::String(query)),
                    covered_from_ms: r.get(4)?,
                    cursor_ms: r.get(5)?,
                    last_run_ms: r.get(6)?,
                    last_run_new: r.get(7)?,
                    last_run_already_archived: r.get(8)?,
                    last_run_requests: r.get(9)?,
                    last_run_complete: r.get::<_, Option<i64>>(10)?.map(|c| c != 0),
                    events: r.get(11)?,
                    staged: r.get(12)?,
                })
            })
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(e)?;
        let mut stmt = self
            .conn
            .prepare("SELECT stream_id, from_ms, until_ms, noted_at FROM gaps ORDER BY rowid")
            .map_err(e)?;
        let gaps = stmt
            .query_map([], |r| {
                Ok(Gap {
                    stream_id: r.get(0)?,
                    from_ms: r.get(1)?,
                    until_ms: r.get(2)?,
                    noted_ms: r.get(3)?,
                })
            })
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(e)?;
        Ok(Status {
            path: self.path.display().to_string(),
            events,
            chain_head,
            chain_count,
            streams,
            gaps,
        })
    }

    /// Recomputes the chain over every event in insertion order, and checks that it still
    /// reaches every anchor kept elsewhere; then the state chain of the runs (cursors and
    /// the events each stream numbered for its output), and that each run's head is reached.
    pub fn verify(&self, anchors: &[Anchor]) -> Result<Integrity> {
        let mut anchors = anchors.to_vec();
        if self.version >= 2 {
            match self.verify_runs()? {
                Ok(heads) => anchors.extend(heads),
                Err(broken) => return Ok(broken),
            }
        }
        self.verify_events(&anchors)
    }

    /// The state chain: each run chained to the one before, its links as recorded, no span
    /// skipped between a stream's runs, and every stream's row as its last run left it.
    /// Returns the heads the runs saw, which the event chain must reach.
    fn verify_runs(&self) -> Result<std::result::Result<Vec<Anchor>, Integrity>> {
        let e = |err| self.err(err);
        let broken = |why: String| Ok(Err(Integrity::Broken { seq: 0, why }));
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, stream_id, ended_at, asked_from, covered_from, cursor, linked_from,
                        linked_to, links, head, count, hash FROM runs ORDER BY id",
            )
            .map_err(e)?;
        type Row = (
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
        let runs: Vec<Row> = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                ))
            })
            .map_err(e)?
            .collect::<rusqlite::Result<_>>()
            .map_err(|err| {
                crate::error::Error::new(
                    crate::error::Kind::Tampered,
                    format!(
                        "archive {}: the runs table was altered: {err}",
                        self.path.display()
                    ),
                )
            })?;
        // Per stream: (cursor, covered_from, linked) as its last run left them.
        let mut last: std::collections::HashMap<i64, (Option<i64>, Option<i64>, i64)> =
            std::collections::HashMap::new();
        let mut prev = GENESIS.to_string();
        let mut heads = Vec::new();
        let mut links_of = self
            .conn
            .prepare("SELECT pos, seq FROM stream_events WHERE stream_id = ?1 AND pos > ?2 AND pos <= ?3 ORDER BY pos")
            .map_err(e)?;
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
            let mut rows = links_of.query(params![stream, from, to]).map_err(e)?;
            while let Some(row) = rows.next().map_err(e)? {
                let (pos, seq): (i64, i64) = (row.get(0).map_err(e)?, row.get(1).map_err(e)?);
                hashed.add(pos, seq);
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
        let recorded: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'runs_head'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(e)?;
        if recorded.as_deref().unwrap_or(GENESIS) != prev {
            return broken(
                "the last runs were removed (the recorded head of the runs is not the last run's)"
                    .to_string(),
            );
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.id, s.cursor, s.covered_from, s.linked,
                        (SELECT COUNT(*) FROM stream_events x WHERE x.stream_id = s.id)
                 FROM streams s ORDER BY s.id",
            )
            .map_err(e)?;
        type StreamRow = (i64, Option<i64>, Option<i64>, i64, i64);
        let streams: Vec<StreamRow> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(e)?
            .collect::<rusqlite::Result<_>>()
            .map_err(e)?;
        for (id, cursor, covered_from, linked, links) in streams {
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

    fn verify_events(&self, anchors: &[Anchor]) -> Result<Integrity> {
        verify_events(&self.conn, &self.path, anchors)
    }
}

/// The event chain of the archive on `conn`, recomputed row by row, checked against `anchors`
/// (also before a migration rewrites it).
pub(super) fn verify_events(
    conn: &rusqlite::Connection,
    path: &std::path::Path,
    anchors: &[Anchor],
) -> Result<Integrity> {
    let mut waiting: std::collections::HashMap<&str, Vec<&Anchor>> =
        std::collections::HashMap::new();
    for a in anchors {
        if a.head == GENESIS && a.count.unwrap_or(0) == 0 {
            continue;
        }
        waiting.entry(a.head.as_str()).or_default().push(a);
    }
    let e = |err| super::db_error(path, err);
    let (head, count) = chain_state(conn).map_err(e)?;
    let mut stmt = conn
        .prepare(
            "SELECT seq, source, tenant, event_id, time_ms, archived_at, record, hash
                 FROM events ORDER BY seq",
        )
        .map_err(e)?;
    let mut rows = stmt.query(params![]).map_err(e)?;
    let mut prev = GENESIS.to_string();
    let mut expected: i64 = 1;
    let mut n: i64 = 0;
    while let Some(row) = rows.next().map_err(e)? {
        // Any column of another type than the chain wrote (a blob, invalid UTF-8, text
        // for a number) is an altered row, not a failure to read.
        let seq = match row.get_ref(0).map_err(e)? {
            ValueRef::Integer(i) => i,
            _ => {
                return Ok(Integrity::Broken {
                    seq: expected,
                    why: format!("row {expected}'s sequence number was altered"),
                });
            }
        };
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
        let altered = |what: &str| Integrity::Broken {
            seq,
            why: format!("row {seq}'s {what} is not of the type the archive wrote (altered)"),
        };
        let text = |i: usize| -> rusqlite::Result<Option<String>> {
            Ok(match row.get_ref(i)? {
                ValueRef::Text(b) => std::str::from_utf8(b).ok().map(str::to_string),
                _ => None,
            })
        };
        let int = |i: usize| -> rusqlite::Result<Option<i64>> {
            Ok(match row.get_ref(i)? {
                ValueRef::Integer(n) => Some(n),
                _ => None,
            })
        };
        let Some(source) = text(1).map_err(e)? else {
            return Ok(altered("source"));
        };
        let Some(tenant) = text(2).map_err(e)? else {
            return Ok(altered("tenant"));
        };
        let Some(event_id) = text(3).map_err(e)? else {
            return Ok(altered("event id"));
        };
        let Some(time_ms) = int(4).map_err(e)? else {
            return Ok(altered("time"));
        };
        let Some(archived_at) = int(5).map_err(e)? else {
            return Ok(altered("archive time"));
        };
        let Some(record) = text(6).map_err(e)? else {
            return Ok(altered("record"));
        };
        let Some(stored) = text(7).map_err(e)? else {
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
    let staged: i64 = conn
        .query_row("SELECT COUNT(*) FROM staging", [], |r| r.get(0))
        .map_err(e)?;
    Ok(Integrity::Intact {
        rows: n,
        head,
        staged,
    })
}
