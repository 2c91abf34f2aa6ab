//! Rewriting the tenants of an SQLite archive written before they were normalised (see
//! `archive::tenant`): streams and events that were one tenant under two spellings merged,
//! the events chained again after their old chain was checked, the state chain started again.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use crate::archive::chain::{self, GENESIS, Link};
use crate::archive::tenant::from_legacy;
use crate::error::{Error, Kind, Result};

/// Rewrites the tenants of an archive written before normalisation. Does nothing when every
/// tenant is already normal. Fails (exit 6) when the chain it would rewrite is not intact.
pub(crate) fn migrate(tx: &Connection, path: &std::path::Path) -> Result<bool> {
    let e = |err| super::db_error(path, err);
    let tenants: Vec<String> = tx
        .prepare("SELECT tenant FROM streams UNION SELECT DISTINCT tenant FROM events")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(e)?;
    let map: HashMap<String, String> = tenants
        .into_iter()
        .filter_map(|t| {
            let n = from_legacy(&t);
            (n != t).then_some((t, n))
        })
        .collect();
    if map.is_empty() {
        return Ok(false);
    }
    let old_head = check_chain(tx, path)?;
    merge_streams(tx, &map).map_err(e)?;
    rechain(tx, &map).map_err(e)?;
    // The state chain covered the old sequence numbers: it starts again from here.
    tx.execute("DELETE FROM runs", []).map_err(e)?;
    tx.execute("DELETE FROM meta WHERE key = 'runs_head'", [])
        .map_err(e)?;
    super::store::seed_runs(tx).map_err(e)?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('tenants_normalized_from_head', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![old_head],
    )
    .map_err(e)?;
    Ok(true)
}

/// The chain must be intact before it is rewritten: tampering is never laundered. Returns
/// its head.
fn check_chain(tx: &Connection, path: &std::path::Path) -> Result<String> {
    match super::inspect::verify_events(tx, path, &[], super::inspect::CHAIN_ROWS_V2)? {
        crate::archive::Integrity::Intact { head, .. } => Ok(head),
        crate::archive::Integrity::Broken { seq, why } => Err(Error::new(
            Kind::Tampered,
            format!(
                "archive {}: its tenants must be rewritten (they hold the base URL as given), but it was altered at row {seq}: {why}",
                path.display()
            ),
        )
        .hint("`hrlogs archive verify` says more; restore the archive from a backup")),
    }
}

/// Streams renamed to their normal tenant; two that become one are merged (the survivor
/// keeps the earlier cursor, so nothing is skipped, and numbers the other's events after its
/// own).
fn merge_streams(tx: &Connection, map: &HashMap<String, String>) -> rusqlite::Result<()> {
    let streams: Vec<(i64, String, String, String)> = tx
        .prepare("SELECT id, source, tenant, query FROM streams ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, source, tenant, query) in streams {
        let Some(new) = map.get(&tenant) else {
            continue;
        };
        let survivor: Option<i64> = tx
            .query_row(
                "SELECT id FROM streams WHERE source = ?1 AND tenant = ?2 AND query = ?3",
                params![source, new, query],
                |r| r.get(0),
            )
            .optional()?;
        match survivor {
            None => {
                tx.execute(
                    "UPDATE streams SET tenant = ?2 WHERE id = ?1",
                    params![id, new],
                )?;
            }
            Some(keep) => {
                let linked: i64 = tx.query_row(
                    "SELECT linked FROM streams WHERE id = ?1",
                    params![keep],
                    |r| r.get(0),
                )?;
                tx.execute(
                    "INSERT OR IGNORE INTO stream_events (stream_id, seq, pos)
                     SELECT ?1, seq, ?3 + ROW_NUMBER() OVER (ORDER BY pos)
                     FROM stream_events WHERE stream_id = ?2
                     AND seq NOT IN (SELECT seq FROM stream_events WHERE stream_id = ?1)",
                    params![keep, id, linked],
                )?;
                tx.execute(
                    "UPDATE streams SET
                        linked = (SELECT COUNT(*) FROM stream_events WHERE stream_id = ?1),
                        cursor = (SELECT MIN(cursor) FROM streams WHERE id IN (?1, ?2)),
                        covered_from = (SELECT MAX(covered_from) FROM streams WHERE id IN (?1, ?2))
                     WHERE id = ?1",
                    params![keep, id],
                )?;
                for table in ["stream_events", "staging", "progress"] {
                    tx.execute(
                        &format!("DELETE FROM {table} WHERE stream_id = ?1"),
                        params![id],
                    )?;
                }
                tx.execute(
                    "UPDATE gaps SET stream_id = ?1 WHERE stream_id = ?2",
                    params![keep, id],
                )?;
                tx.execute("DELETE FROM streams WHERE id = ?1", params![id])?;
            }
        }
    }
    Ok(())
}

/// Every event under its normal tenant, numbered and chained again in its order; an event
/// held under two spellings of one tenant is kept once (its first row), and the links to it
/// follow.
fn rechain(tx: &Connection, map: &HashMap<String, String>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TEMP TABLE renumber (old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
         CREATE TEMP TABLE events_new AS SELECT * FROM events WHERE 0;",
    )?;
    let mut first_of: HashMap<(String, String, String), i64> = HashMap::new();
    let mut prev = GENESIS.to_string();
    let mut next: i64 = 0;
    {
        let mut stmt = tx.prepare(
            "SELECT seq, source, tenant, event_id, time_ms, archived_at, record FROM events
             ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut insert = tx.prepare(
            "INSERT INTO temp.events_new (seq, source, tenant, event_id, time_ms, archived_at, record, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut renumber = tx.prepare("INSERT INTO temp.renumber (old, new) VALUES (?1, ?2)")?;
        while let Some(r) = rows.next()? {
            let old: i64 = r.get(0)?;
            let source: String = r.get(1)?;
            let tenant: String = r.get(2)?;
            let tenant = map.get(&tenant).cloned().unwrap_or(tenant);
            let event_id: String = r.get(3)?;
            let key = (source.clone(), tenant.clone(), event_id.clone());
            if let Some(&kept) = first_of.get(&key) {
                renumber.execute(params![old, kept])?;
                continue;
            }
            next = next.saturating_add(1);
            first_of.insert(key, next);
            let record: String = r.get(6)?;
            let link = Link {
                seq: next,
                source: &source,
                tenant: &tenant,
                event_id: &event_id,
                time_ms: r.get(4)?,
                archived_at: r.get(5)?,
                record: &record,
            };
            let hash = chain::hash(&prev, &link);
            let Link {
                time_ms,
                archived_at,
                ..
            } = link;
            insert.execute(params![
                next,
                source,
                tenant,
                event_id,
                time_ms,
                archived_at,
                record,
                hash
            ])?;
            renumber.execute(params![old, next])?;
            prev = hash;
        }
    }
    tx.execute_batch(
        "DELETE FROM events;
         INSERT INTO events SELECT * FROM temp.events_new;
         CREATE TEMP TABLE links_new AS
             SELECT s.stream_id AS stream_id, r.new AS seq, MIN(s.pos) AS pos
             FROM stream_events s JOIN temp.renumber r ON r.old = s.seq
             GROUP BY s.stream_id, r.new;
         DELETE FROM stream_events;
         INSERT INTO stream_events (stream_id, seq, pos)
             SELECT stream_id, seq, ROW_NUMBER() OVER (PARTITION BY stream_id ORDER BY pos)
             FROM temp.links_new;
         UPDATE streams SET linked = (SELECT COUNT(*) FROM stream_events x WHERE x.stream_id = streams.id);
         UPDATE streams SET delivered = MIN(delivered, linked), claimed = MIN(claimed, linked);
         DROP TABLE temp.events_new; DROP TABLE temp.renumber; DROP TABLE temp.links_new;",
    )?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('chain_head', ?1), ('chain_count', ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![prev, next.to_string()],
    )?;
    Ok(())
}

/// Version 2's events (renamed `events_v2`) into version 3's table: the same rows, each with
/// its source and tenant as ids, its id and chain hash as [`super::id_key`] and
/// [`super::hash_key`] keep them. The chain covers what the rows say, not how they are
/// stored: it stays as it was.
pub(crate) fn to_v3(tx: &Connection) -> rusqlite::Result<()> {
    {
        let mut rows = tx.prepare(
            "SELECT e.seq, s.id, t.id, e.event_id, e.time_ms, e.archived_at, e.record, e.hash
             FROM events_v2 e JOIN sources s ON s.name = e.source JOIN tenants t ON t.name = e.tenant
             ORDER BY e.seq",
        )?;
        let mut insert = tx.prepare(
            "INSERT INTO events (seq, source_id, tenant_id, event_id, time_ms, archived_at, record, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut rows = rows.query([])?;
        // Each value as it is, but an id and a hash that are text: an altered row stays
        // altered (verify finds it), it does not stop the migration.
        while let Some(r) = rows.next()? {
            let mut v: Vec<Value> = (0..8).map(|i| r.get(i)).collect::<rusqlite::Result<_>>()?;
            if let Value::Text(id) = &v[3] {
                v[3] = super::id_key(id);
            }
            if let Value::Text(hash) = &v[7] {
                v[7] = super::hash_key(hash);
            }
            insert.execute(rusqlite::params_from_iter(v))?;
        }
    }
    // Each event archived by one of the streams that link it (the first, as version 2 did
    // not say which); that link is its stream's "archived" one.
    tx.execute_batch(
        "DROP TABLE events_v2;
         INSERT INTO stream_events (stream_id, pos, seq, archived)
             SELECT stream_id, pos, seq, 0 FROM stream_events_v2 WHERE pos IS NOT NULL;
         UPDATE events SET stream_id =
             (SELECT MIN(x.stream_id) FROM stream_events_v2 x WHERE x.seq = events.seq);
         UPDATE stream_events SET archived = 1
             WHERE stream_id = (SELECT e.stream_id FROM events e WHERE e.seq = stream_events.seq);
         DROP TABLE stream_events_v2;
         UPDATE meta SET value = '3' WHERE key = 'schema_version';",
    )
}
