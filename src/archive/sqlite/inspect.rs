//! `archive status` and `archive verify`: what the archive holds, and whether its hash chain
//! still matches its rows.

use rusqlite::params;
use rusqlite::types::ValueRef;

use super::Sqlite;
use super::store::chain_state;
use crate::archive::verify::{Cell, EventRow, Events, Runs, STATUS_STREAMS, StreamRow};
use crate::archive::{
    Anchor, CopyStore, Gap, InspectStore, Integrity, ReadFilter, Status, StreamStatus,
};
use crate::error::Result;
use crate::plan::RecordStream;
use rusqlite::OptionalExtension;

impl InspectStore for Sqlite {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn read(&self, filter: ReadFilter) -> RecordStream {
        super::read::read_events(self.data.clone(), filter, self.scratch.clone())
    }

    /// The chain hash of row `seq`, if the archive holds that row.
    fn row_hash(&self, seq: i64) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT lower(hex(hash)) FROM events WHERE seq = ?1",
                params![seq],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every stream: id, source, tenant and query (parsed), without counting anything.
    fn streams(&self) -> Result<Vec<(i64, String, String, serde_json::Value)>> {
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

    /// Recomputes the chain over every event in insertion order, and checks that it still
    /// reaches every anchor kept elsewhere; then the state chain of the runs (cursors and
    /// the events each stream numbered for its output), and that each run's head is reached.
    fn verify(&self, anchors: &[Anchor]) -> Result<Integrity> {
        let mut anchors = anchors.to_vec();
        if self.version >= 2 {
            match self.verify_runs()? {
                Ok(heads) => anchors.extend(heads),
                Err(broken) => return Ok(broken),
            }
        }
        self.verify_events(&anchors)
    }

    fn status(&self) -> Result<Status> {
        let e = |err| self.err(err);
        let events: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .map_err(e)?;
        let (chain_head, chain_count) = chain_state(&self.conn).map_err(e)?;
        let mut stmt = self.conn.prepare(STATUS_STREAMS).map_err(e)?;
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
}

impl Sqlite {
    /// The state chain (`archive::verify::Runs`): returns the heads the runs saw, which the
    /// event chain must reach.
    fn verify_runs(&self) -> Result<std::result::Result<Vec<Anchor>, Integrity>> {
        let e = |err| self.err(err);
        let runs = self.runs().map_err(|err| {
            crate::error::Error::new(
                crate::error::Kind::Tampered,
                format!("the runs table was altered: {}", err.message),
            )
        })?;
        let mut links_of = self
            .conn
            .prepare(
                "SELECT pos, seq FROM stream_events WHERE stream_id = ?1 AND pos > ?2 AND pos <= ?3
                 ORDER BY pos",
            )
            .map_err(e)?;
        let mut chain = Runs::default();
        for run in &runs {
            let links: Vec<(i64, i64)> = links_of
                .query_map(
                    params![run.run.stream_id, run.run.linked_from, run.run.linked_to],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(e)?
                .collect::<rusqlite::Result<_>>()
                .map_err(e)?;
            if let Err(broken) = chain.run(run, links) {
                return Ok(Err(broken));
            }
        }
        let recorded: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'runs_head'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(e)?;
        let streams: Vec<StreamRow> = self
            .conn
            .prepare(
                "SELECT s.id, s.cursor, s.covered_from, s.linked,
                        (SELECT COUNT(*) FROM stream_events x WHERE x.stream_id = s.id)
                 FROM streams s ORDER BY s.id",
            )
            .and_then(|mut stmt| {
                stmt.query_map([], |r| {
                    Ok(StreamRow {
                        id: r.get(0)?,
                        cursor: r.get(1)?,
                        covered_from: r.get(2)?,
                        linked: r.get(3)?,
                        links: r.get(4)?,
                    })
                })?
                .collect()
            })
            .map_err(e)?;
        Ok(chain.end(recorded.as_deref(), &streams))
    }

    fn verify_events(&self, anchors: &[Anchor]) -> Result<Integrity> {
        let rows = format!(
            "SELECT e.seq, s.name, t.name, {}, e.time_ms, e.archived_at, e.record,
                    lower(hex(e.hash)), e.utc_offset
             FROM events e LEFT JOIN sources s ON s.id = e.source_id
                           LEFT JOIN tenants t ON t.id = e.tenant_id
             ORDER BY e.seq",
            super::id_text("e.event_id")
        );
        verify_events(&self.conn, &self.path, anchors, &rows)
    }
}

/// The rows of the event chain in version 2 (as a migration checks them before it rewrites
/// them): the columns `verify::EventRow` reads.
pub(super) const CHAIN_ROWS_V2: &str = "SELECT seq, source, tenant, event_id, time_ms, \
    archived_at, record, hash, NULL FROM events ORDER BY seq";

/// The event chain of the archive on `conn`, recomputed row by row from the columns `rows`
/// selects (`verify::EventRow`'s), checked against `anchors`.
pub(super) fn verify_events(
    conn: &rusqlite::Connection,
    path: &std::path::Path,
    anchors: &[Anchor],
    rows: &str,
) -> Result<Integrity> {
    let e = |err| super::db_error(path, err);
    let (head, count) = chain_state(conn).map_err(e)?;
    let mut stmt = conn.prepare(rows).map_err(e)?;
    let mut rows = stmt.query(params![]).map_err(e)?;
    let mut chain = Events::new(anchors);
    while let Some(row) = rows.next().map_err(e)? {
        // Any column of another type than the chain wrote (a blob, invalid UTF-8, text
        // for a number) is an altered row, not a failure to read.
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
        let cell = |i: usize| -> rusqlite::Result<Cell> {
            Ok(match row.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(n) => Cell::Int(n),
                _ => Cell::Other,
            })
        };
        if let Err(broken) = chain.stored(EventRow::read(text, int, cell).map_err(e)?) {
            return Ok(broken);
        }
    }
    let staged: i64 = conn
        .query_row("SELECT COUNT(*) FROM staging", [], |r| r.get(0))
        .map_err(e)?;
    Ok(chain.end(head, count, staged))
}
