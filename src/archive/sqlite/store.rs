//! Writing the archive: a run stages what it fetches (committed batch by batch, with the units
//! it completed), then [`Archive::finalize`] moves the staged rows into `events` oldest first,
//! extends the hash chain and advances the stream's cursor, all in one transaction.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::Sqlite;
use crate::archive::chain::{self, Append, GENESIS, Links, RunLink};
use crate::archive::{
    Claims, DeliveryStore, Finalized, Floor, OFFSET_BATCH, Offsets, RunEnd, RunStore, Staged,
    StreamKey, offsets_checked_key,
};
use crate::error::Result;

impl RunStore for Sqlite {
    /// Where the stream's staging order continues (after what an unfinished run staged).
    fn staged_until(&self, stream: i64) -> Result<i64> {
        self.staging(stream).map(|(_, until)| until)
    }

    /// How many records an unfinished run of the stream has staged.
    fn staged_count(&self, stream: i64) -> Result<i64> {
        self.staging(stream).map(|(count, _)| count)
    }

    /// Stages a batch of records of the stream's run, in one transaction, numbered in fetch
    /// order from `next`. A record staged before (a resumed run) is kept once.
    /// With `floor` (a unit and a key), also records that the unit is staged at and above
    /// that key, in the same transaction.
    fn stage(&mut self, stream: i64, next: i64, rows: &[Staged<'_>], floor: Floor) -> Result<()> {
        let path = self.path.clone();
        let e = |err| super::db_error(&path, err);
        let tx = self.write()?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO staging (stream_id, event_id, time_ms, ord, record)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(e)?;
            for (i, r) in rows.iter().enumerate() {
                let ord = next.saturating_add(i as i64).saturating_add(1);
                insert
                    .execute(params![stream, r.event_id, r.time_ms, ord, r.record])
                    .map_err(e)?;
            }
        }
        if let Some((unit, floor)) = floor {
            tx.execute(
                "INSERT INTO progress (stream_id, unit, floor) VALUES (?1, ?2, ?3)
                 ON CONFLICT (stream_id, unit) DO UPDATE SET floor = MIN(floor, excluded.floor)
                 WHERE floor IS NOT NULL",
                params![stream, unit, floor],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    /// The floor a killed run staged the unit down to, if it kept one.
    fn unit_floor(&self, stream: i64, unit: &str) -> Result<Option<i64>> {
        self.conn
            .query_row(
                "SELECT floor FROM progress WHERE stream_id = ?1 AND unit = ?2",
                params![stream, unit],
                |r| r.get(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    /// True when an unfinished run of the stream already completed `unit`.
    fn unit_done(&self, stream: i64, unit: &str) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT 1 FROM progress WHERE stream_id = ?1 AND unit = ?2 AND floor IS NULL",
                params![stream, unit],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| self.err(e))
    }

    /// Records that the run completed `unit` (its records are all staged).
    fn mark_unit_done(&mut self, stream: i64, unit: &str) -> Result<()> {
        self.exec(
            "INSERT INTO progress (stream_id, unit) VALUES (?1, ?2)
             ON CONFLICT (stream_id, unit) DO UPDATE SET floor = NULL",
            params![stream, unit],
        )
    }

    /// Records a run that did not complete (for `archive status`); the cursor stays.
    fn note_incomplete_run(&mut self, stream: i64, now_ms: i64, requests: u64) -> Result<()> {
        self.exec(
            "UPDATE streams SET last_run_at = ?2, last_run_new = 0, last_run_seen = 0,
             last_run_requests = ?3, last_run_complete = 0 WHERE id = ?1",
            params![stream, now_ms, requests as i64],
        )
    }

    /// Ends a complete run: appends the staged events the archive does not hold yet, oldest
    /// first, each chained to the one before; links every staged event to the stream;
    /// advances the cursor; clears the staging. One transaction: all of it or none.
    fn finalize(&mut self, key: &StreamKey, stream: i64, end: &RunEnd) -> Result<Finalized> {
        let path = self.path.clone();
        let e = |err| super::db_error(&path, err);
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(e)?;
        let tx = self.write()?;
        let out = {
            let seq: i64 = tx
                .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))
                .map_err(e)?;
            // The stream's own numbering of what it prints: its delivery cursor counts in it.
            let stream_row: (i64, Option<i64>) = tx
                .query_row(
                    "SELECT linked, cursor FROM streams WHERE id = ?1",
                    params![stream],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(e)?;
            let chain = chain_state(&tx).map_err(e)?;
            let mut run = Append::new(key, stream, end, seq, chain, stream_row);
            // The source and the tenant by their ids in `sources` and `tenants`.
            let mut ids = [0i64; 2];
            for (id, (table, name)) in ids
                .iter_mut()
                .zip([("sources", key.source.name()), ("tenants", &key.tenant)])
            {
                tx.execute(
                    &format!("INSERT OR IGNORE INTO {table} (name) VALUES (?1)"),
                    params![name],
                )
                .map_err(e)?;
                *id = tx
                    .query_row(
                        &format!("SELECT id FROM {table} WHERE name = ?1"),
                        params![name],
                        |r| r.get(0),
                    )
                    .map_err(e)?;
            }
            let [source, tenant] = ids;
            let mut staged = tx
                .prepare(
                    "SELECT event_id, time_ms, record FROM staging WHERE stream_id = ?1
                     ORDER BY time_ms ASC, ord DESC",
                )
                .map_err(e)?;
            let mut existing = tx
                .prepare_cached(&format!(
                    "SELECT seq, event_id, stream_id FROM events
                     WHERE source_id = ?1 AND tenant_id = ?2 AND {} = {}",
                    super::ID_KEY,
                    super::ID_KEY.replace("event_id", "?3")
                ))
                .map_err(e)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (seq, source_id, tenant_id, event_id, time_ms, archived_at, record, hash, stream_id, utc_offset)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(e)?;
            // A link of the stream to an event it archived, or (not `archived`) to one
            // another stream archived first; whether it has the latter already.
            let mut link = tx
                .prepare_cached(
                    "INSERT INTO stream_events (stream_id, pos, seq, archived) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(e)?;
            let mut linked = tx
                .prepare_cached(
                    "SELECT 1 FROM stream_events WHERE stream_id = ?1 AND seq = ?2 AND archived = 0",
                )
                .map_err(e)?;
            let mut rows = staged.query(params![stream]).map_err(e)?;
            while let Some(row) = rows.next().map_err(e)? {
                let event_id: String = row.get(0).map_err(e)?;
                let time_ms: i64 = row.get(1).map_err(e)?;
                let record: String = row.get(2).map_err(e)?;
                let id = super::id_key(&event_id);
                // The rows whose id begins as this one's: the one with this whole id.
                let mut held: Option<(i64, Option<i64>)> = None;
                let mut found = existing.query(params![source, tenant, id]).map_err(e)?;
                while let Some(r) = found.next().map_err(e)? {
                    if r.get::<_, rusqlite::types::Value>(1).map_err(e)? == id {
                        held = Some((r.get(0).map_err(e)?, r.get(2).map_err(e)?));
                    }
                }
                let (at, archived, known) = match held {
                    Some((s, by)) => {
                        let known =
                            by == Some(stream) || linked.exists(params![stream, s]).map_err(e)?;
                        (run.held(s), false, known)
                    }
                    None => {
                        let (seq, hash) = run.new_event(&event_id, time_ms, &record);
                        let hash = super::hash_key(&hash);
                        let offset = end.offsets.as_ref().and_then(|f| f(time_ms));
                        insert
                            .execute(params![
                                seq, source, tenant, id, time_ms, end.now_ms, record, hash, stream,
                                offset
                            ])
                            .map_err(e)?;
                        (seq, true, false)
                    }
                };
                if !known {
                    let pos = run.link(at);
                    link.execute(params![stream, pos, at, archived])
                        .map_err(e)?;
                }
            }
            let (out, run) = run.finish();
            if let Some(offsets) = &end.offsets {
                let mark = offsets_checked_key(key.source, &key.tenant);
                fill_offsets(&tx, (source, tenant), offsets, &mark, out.last_seq).map_err(e)?;
            }
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('chain_head', ?1), ('chain_count', ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![out.head, out.count.to_string()],
            )
            .map_err(e)?;
            tx.execute(
                "UPDATE streams SET covered_from = ?2, cursor = COALESCE(?3, cursor),
                 last_run_at = ?4, last_run_new = ?5, last_run_seen = ?6,
                 last_run_requests = ?7, last_run_complete = 1, pending = NULL, linked = ?8
                 WHERE id = ?1",
                params![
                    stream,
                    end.covered_from,
                    end.cursor,
                    end.now_ms,
                    out.new as i64,
                    out.seen as i64,
                    end.requests as i64,
                    run.linked_to
                ],
            )
            .map_err(e)?;
            append_run(&tx, &run).map_err(e)?;
            tx.execute("DELETE FROM staging WHERE stream_id = ?1", params![stream])
                .map_err(e)?;
            tx.execute("DELETE FROM progress WHERE stream_id = ?1", params![stream])
                .map_err(e)?;
            out
        };
        tx.commit().map_err(e)?;
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(e)?;
        self.give_back();
        Ok(out)
    }
}

impl Sqlite {
    /// A write transaction: IMMEDIATE, as every write is (see `exec`).
    fn write(&mut self) -> Result<rusqlite::Transaction<'_>> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| super::db_error(&self.path, e))
    }

    /// What an unfinished run of the stream staged: how many records, and where its
    /// staging order ends.
    fn staging(&self, stream: i64) -> Result<(i64, i64)> {
        self.conn
            .query_row(
                "SELECT COUNT(*), COALESCE(MAX(ord), 0) FROM staging WHERE stream_id = ?1",
                params![stream],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.err(e))
    }
}

impl DeliveryStore for Sqlite {
    /// Takes the stream's events still to print for the sync `me`: from the end of what
    /// another live sync took (so that two syncs at once print each event once), else from
    /// the delivery cursor (what a sync that died took is printed again), to the last one
    /// numbered. Returns the numbers `(after, upto]` to print.
    fn claim(&mut self, stream: i64, me: &str, alive: &dyn Fn(&str) -> bool) -> Result<(i64, i64)> {
        let path = self.path.clone();
        let e = |err| super::db_error(&path, err);
        let tx = self.write()?;
        let claims = tx
            .query_row(
                "SELECT delivered, claimed, claimed_by, linked FROM streams WHERE id = ?1",
                params![stream],
                |r| {
                    Ok(Claims {
                        delivered: r.get(0)?,
                        claimed: r.get(1)?,
                        by: r.get(2)?,
                        linked: r.get(3)?,
                    })
                },
            )
            .map_err(e)?;
        let (after, upto) = claims.take(me, alive);
        tx.execute(
            "UPDATE streams SET claimed = ?2, claimed_by = ?3 WHERE id = ?1",
            params![stream, upto, me],
        )
        .map_err(e)?;
        tx.commit().map_err(e)?;
        Ok((after, upto))
    }

    /// The sync `me` could not deliver what it took: the next sync prints it again.
    fn release(&mut self, stream: i64, me: &str) -> Result<()> {
        self.exec(
            "UPDATE streams SET claimed = delivered, claimed_by = NULL
             WHERE id = ?1 AND claimed_by = ?2",
            params![stream, me],
        )
    }

    /// Records that the stream's output from `from` up to `upto` was delivered (see
    /// `Store::mark_delivered`).
    fn mark_delivered(&mut self, stream: i64, from: i64, upto: i64) -> Result<()> {
        self.exec(
            "UPDATE streams SET delivered = MAX(delivered, MIN(?2, linked))
             WHERE id = ?1 AND delivered >= ?3",
            params![stream, upto, from],
        )
    }
}

/// Gives the events of `(source, tenant)` (their ids) archived without an offset, after the
/// row `meta.<mark>` says was checked last, the offset `offsets` tells, a batch at a time;
/// then notes `last_seq` (the chain's last row) as checked. An event whose offset cannot be
/// told keeps none.
fn fill_offsets(
    tx: &rusqlite::Connection,
    (source, tenant): (i64, i64),
    offsets: &Offsets,
    mark: &str,
    last_seq: i64,
) -> rusqlite::Result<()> {
    let mut after: i64 = tx
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            params![mark],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut unset = tx.prepare_cached(
        "SELECT seq, time_ms FROM events
         WHERE seq > ?1 AND source_id = ?2 AND tenant_id = ?3 AND utc_offset IS NULL
         ORDER BY seq LIMIT ?4",
    )?;
    let mut set = tx.prepare_cached("UPDATE events SET utc_offset = ?2 WHERE seq = ?1")?;
    loop {
        let batch: Vec<(i64, i64)> = unset
            .query_map(params![after, source, tenant, OFFSET_BATCH], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let Some(&(last, _)) = batch.last() else {
            break;
        };
        for (seq, time_ms) in &batch {
            if let Some(offset) = offsets(*time_ms) {
                set.execute(params![seq, offset])?;
            }
        }
        after = last;
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![mark, last_seq.max(after).to_string()],
    )?;
    Ok(())
}

/// Appends a run to the state chain and records its head in `meta`.
pub(crate) fn append_run(tx: &rusqlite::Connection, run: &RunLink) -> rusqlite::Result<()> {
    // A run that numbered nothing new, after one of the same stream that did not either,
    // takes its place (so that a follow polling every minute adds no row per poll); it asks
    // from the earlier of the two, so that no span looks skipped.
    let last: Option<(i64, i64, i64, i64, i64, Option<i64>)> = tx
        .query_row(
            "SELECT id, stream_id, linked_from, linked_to, count, asked_from FROM runs
             ORDER BY id DESC LIMIT 1",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    let (replaces, run) = chain::collapse(last, run);
    if let Some(id) = replaces {
        tx.execute("DELETE FROM runs WHERE id = ?1", params![id])?;
    }
    let prev: String = tx
        .query_row("SELECT hash FROM runs ORDER BY id DESC LIMIT 1", [], |r| {
            r.get(0)
        })
        .optional()?
        .unwrap_or_else(|| GENESIS.to_string());
    let hash = chain::run_hash(&prev, &run);
    tx.execute(
        "INSERT INTO runs (stream_id, ended_at, asked_from, covered_from, cursor, linked_from,
                           linked_to, links, head, count, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            run.stream_id,
            run.ended_at,
            run.asked_from,
            run.covered_from,
            run.cursor,
            run.linked_from,
            run.linked_to,
            run.links,
            run.head,
            run.count,
            hash
        ],
    )?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('runs_head', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![hash],
    )?;
    Ok(())
}

/// An archive of version 1 had no state chain: one run per stream stands for its history,
/// as it is at the migration.
pub(crate) fn seed_runs(tx: &rusqlite::Connection) -> rusqlite::Result<()> {
    let (head, count) = chain_state(tx)?;
    type StreamRow = (i64, Option<i64>, Option<i64>, i64, Option<i64>);
    let streams: Vec<StreamRow> = tx
        .prepare("SELECT id, covered_from, cursor, linked, last_run_at FROM streams ORDER BY id")?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (id, covered_from, cursor, linked, last_run) in streams {
        if cursor.is_none() && linked == 0 {
            continue;
        }
        let mut links = Links::default();
        let mut stmt =
            tx.prepare("SELECT pos, seq FROM stream_events WHERE stream_id = ?1 ORDER BY pos")?;
        let mut rows = stmt.query(params![id])?;
        while let Some(row) = rows.next()? {
            links.add(row.get(0)?, row.get(1)?);
        }
        append_run(
            tx,
            &RunLink {
                stream_id: id,
                ended_at: last_run.unwrap_or(0),
                asked_from: None,
                covered_from,
                cursor,
                linked_from: 0,
                linked_to: linked,
                links: links.finish(),
                head: head.clone(),
                count,
            },
        )?;
    }
    Ok(())
}

/// The chain head (hex) and the number of chained rows, as `meta` records them.
pub(crate) fn chain_state(conn: &rusqlite::Connection) -> rusqlite::Result<(String, i64)> {
    let get = |k: &str| -> rusqlite::Result<Option<String>> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", params![k], |r| {
            r.get(0)
        })
        .optional()
    };
    let head = get("chain_head")?.unwrap_or_else(|| GENESIS.to_string());
    let count = get("chain_count")?
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((head, count))
}
