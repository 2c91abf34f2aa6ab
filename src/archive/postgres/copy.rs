//! What `archive copy` reads of a PostgreSQL archive (the runs of the state chain, the
//! streams' rows, a stream's numbered events a page at a time) and the `meta` values it keeps.

use super::Postgres;
use crate::archive::verify::RUN_COLUMNS;
use crate::archive::{CopyStore, LinkedEvent, RunRow, StreamRow};
use crate::error::{Error, Result};
use crate::identity::Source;

/// The keys of `meta` that only the chains write.
const CHAIN_KEYS: &[&str] = &["schema_version", "chain_head", "chain_count", "runs_head"];

/// The rows of one query.
fn query(
    pg: &Postgres,
    doing: &str,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>> {
    let c = pg.lock();
    pg.block(c.query(sql, params)).map_err(|e| pg.err(doing, e))
}

impl CopyStore for Postgres {
    fn runs(&self) -> Result<Vec<RunRow>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id");
        let rows = query(self, "reading the runs", &sql, &[])?;
        rows.iter()
            .map(|r| RunRow::read(|i| r.try_get(i), |i| r.try_get(i), |i| r.try_get(i)))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err("reading the runs", e))
    }

    fn stream_rows(&self) -> Result<Vec<StreamRow>> {
        let rows = query(
            self,
            "reading the streams",
            "SELECT id, source, tenant, query, linked, delivered FROM streams ORDER BY id",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| StreamRow {
                id: r.get(0),
                source: r.get(1),
                tenant: r.get(2),
                query: r.get(3),
                linked: r.get(4),
                delivered: r.get(5),
            })
            .collect())
    }

    fn linked_events(
        &self,
        stream: i64,
        (after, upto): (i64, i64),
        limit: i64,
    ) -> Result<Vec<LinkedEvent>> {
        let rows = query(
            self,
            "reading a stream's events",
            &format!(
                "SELECT s.pos, e.event_id, e.time_ms, e.archived_at, e.record, {}
                 FROM stream_events s JOIN events e ON e.seq = s.seq
                 WHERE s.stream_id = $1 AND s.pos > $2 AND s.pos <= $3
                 ORDER BY s.pos LIMIT $4",
                if self.has_offsets() {
                    "e.utc_offset"
                } else {
                    "NULL::integer"
                }
            ),
            &[&stream, &after, &upto, &limit],
        )?;
        Ok(rows
            .iter()
            .map(|r| LinkedEvent {
                pos: r.get(0),
                event_id: r.get(1),
                time_ms: r.get(2),
                archived_at: r.get(3),
                record: r.get(4),
                utc_offset: r.get(5),
            })
            .collect())
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        let rows = query(
            self,
            "reading meta",
            "SELECT value FROM meta WHERE key = $1",
            &[&key],
        )?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        if CHAIN_KEYS.contains(&key) {
            return Err(Error::other(format!(
                "archive {}: meta.{key} is kept by the chains",
                self.describe()
            )));
        }
        query(
            self,
            "writing meta",
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .map(|_| ())
    }

    fn set_utc_offsets(
        &mut self,
        source: Source,
        tenant: &str,
        rows: &[(&str, i32)],
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let (ids, offsets): (Vec<&str>, Vec<i32>) = rows.iter().copied().unzip();
        query(
            self,
            "writing the events' UTC offsets",
            "UPDATE events SET utc_offset = u.utc_offset
             FROM unnest($3::text[], $4::integer[]) AS u(event_id, utc_offset)
             WHERE events.source = $1 AND events.tenant = $2 AND events.event_id = u.event_id
               AND events.utc_offset IS NULL",
            &[&source.name(), &tenant, &ids, &offsets],
        )
        .map(|_| ())
    }
}
