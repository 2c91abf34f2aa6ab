//! What `archive copy` reads of a PostgreSQL archive (the runs of the state chain, the
//! streams' rows, a stream's numbered events a page at a time) and the `meta` values it keeps.

use super::Postgres;
use crate::archive::{LinkedEvent, RunRow, StreamRow};
use crate::error::{Error, Result};

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

pub fn runs(pg: &Postgres) -> Result<Vec<RunRow>> {
    let rows = query(
        pg,
        "reading the runs",
        "SELECT id, stream_id, ended_at, asked_from, covered_from, cursor, linked_from,
                linked_to, links, head, count, hash FROM runs ORDER BY id",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| RunRow {
            id: r.get(0),
            stream_id: r.get(1),
            ended_at: r.get(2),
            asked_from: r.get(3),
            covered_from: r.get(4),
            cursor: r.get(5),
            linked_from: r.get(6),
            linked_to: r.get(7),
            links: r.get(8),
            head: r.get(9),
            count: r.get(10),
            hash: r.get(11),
        })
        .collect())
}

pub fn stream_rows(pg: &Postgres) -> Result<Vec<StreamRow>> {
    let rows = query(
        pg,
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

pub fn linked_events(
    pg: &Postgres,
    stream: i64,
    after: i64,
    upto: i64,
    limit: i64,
) -> Result<Vec<LinkedEvent>> {
    let rows = query(
        pg,
        "reading a stream's events",
        "SELECT s.pos, e.event_id, e.time_ms, e.archived_at, e.record
         FROM stream_events s JOIN events e ON e.seq = s.seq
         WHERE s.stream_id = $1 AND s.pos > $2 AND s.pos <= $3
         ORDER BY s.pos LIMIT $4",
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
        })
        .collect())
}

pub fn meta(pg: &Postgres, key: &str) -> Result<Option<String>> {
    let rows = query(
        pg,
        "reading meta",
        "SELECT value FROM meta WHERE key = $1",
        &[&key],
    )?;
    Ok(rows.first().map(|r| r.get(0)))
}

pub fn set_meta(pg: &Postgres, key: &str, value: &str) -> Result<()> {
    if CHAIN_KEYS.contains(&key) {
        return Err(Error::other(format!(
            "archive {}: meta.{key} is kept by the chains",
            pg.describe()
        )));
    }
    query(
        pg,
        "writing meta",
        "INSERT INTO meta (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&key, &value],
    )
    .map(|_| ())
}
