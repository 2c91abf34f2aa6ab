//! What `archive copy` reads of an SQLite archive (the runs of the state chain, the streams'
//! rows, a stream's numbered events a page at a time) and the `meta` values it keeps.

use rusqlite::{OptionalExtension, params};

use super::Sqlite;
use crate::archive::verify::RUN_COLUMNS;
use crate::archive::{CopyStore, LinkedEvent, RunRow, StreamRow};
use crate::error::{Error, Result};
use crate::identity::Source;

/// The keys of `meta` that only the chains write.
pub(crate) const CHAIN_KEYS: &[&str] =
    &["schema_version", "chain_head", "chain_count", "runs_head"];

impl CopyStore for Sqlite {
    /// Every run of the state chain, oldest first.
    fn runs(&self) -> Result<Vec<RunRow>> {
        let e = |err| self.err(err);
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id"))
            .map_err(e)?;
        stmt.query_map([], |r| {
            RunRow::read(|i| r.get(i), |i| r.get(i), |i| r.get(i))
        })
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)
    }

    /// Every stream's row: its key as stored and its delivery.
    fn stream_rows(&self) -> Result<Vec<StreamRow>> {
        let e = |err| self.err(err);
        let mut stmt = self
            .conn
            .prepare("SELECT id, source, tenant, query, linked, delivered FROM streams ORDER BY id")
            .map_err(e)?;
        stmt.query_map([], |r| {
            Ok(StreamRow {
                id: r.get(0)?,
                source: r.get(1)?,
                tenant: r.get(2)?,
                query: r.get(3)?,
                linked: r.get(4)?,
                delivered: r.get(5)?,
            })
        })
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)
    }

    /// At most `limit` of the events the stream numbered `(after, upto]`, in its order.
    fn linked_events(
        &self,
        stream: i64,
        range: (i64, i64),
        limit: i64,
    ) -> Result<Vec<LinkedEvent>> {
        let e = |err| self.err(err);
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT s.pos, {}, e.time_ms, e.archived_at, e.record, e.utc_offset
                     FROM stream_events s JOIN events e ON e.seq = s.seq
                     WHERE s.stream_id = ?1 AND s.pos > ?2 AND s.pos <= ?3
                     ORDER BY s.pos LIMIT ?4",
                super::id_text("e.event_id")
            ))
            .map_err(e)?;
        stmt.query_map(params![stream, range.0, range.1, limit], |r| {
            Ok(LinkedEvent {
                pos: r.get(0)?,
                event_id: r.get(1)?,
                time_ms: r.get(2)?,
                archived_at: r.get(3)?,
                record: r.get(4)?,
                utc_offset: r.get(5)?,
            })
        })
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)
    }

    /// A value of `meta`.
    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Sets a value of `meta` (never one the chains keep).
    fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        if CHAIN_KEYS.contains(&key) {
            return Err(Error::other(format!(
                "archive {}: meta.{key} is kept by the chains",
                self.path.display()
            )));
        }
        self.exec(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )
    }

    /// Gives the events named their `utc_offset` where they have none, in one transaction.
    fn set_utc_offsets(
        &mut self,
        source: Source,
        tenant: &str,
        rows: &[(&str, i32)],
    ) -> Result<()> {
        let path = self.path.clone();
        let e = |err| super::db_error(&path, err);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(e)?;
        {
            let mut set = tx
                .prepare_cached(&format!(
                    "UPDATE events SET utc_offset = ?4
                     WHERE source_id = (SELECT id FROM sources WHERE name = ?1)
                       AND tenant_id = (SELECT id FROM tenants WHERE name = ?2)
                       AND {} = {} AND event_id = ?3 AND utc_offset IS NULL",
                    super::ID_KEY,
                    super::ID_KEY.replace("event_id", "?3")
                ))
                .map_err(e)?;
            for (id, offset) in rows {
                set.execute(params![source.name(), tenant, super::id_key(id), offset])
                    .map_err(e)?;
            }
        }
        tx.commit().map_err(e)
    }
}
