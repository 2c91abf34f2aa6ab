//! Writing the PostgreSQL archive: streams, staging (committed batch by batch, with the units
//! a run completed and their floors), the append of a run ([`finalize`], serialised by the
//! schema's advisory lock, the chains extended exactly as SQLite's are), and delivery claims
//! (under the stream row's lock).

use tokio_postgres::{GenericClient, Transaction};

use super::{PgResult, Postgres, retryable};
use crate::archive::chain::{self, Append, GENESIS, RunLink};
use crate::archive::{
    Claims, DeliveryStore, Finalized, Floor, OFFSET_BATCH, Offsets, RunEnd, RunStore, Span, Staged,
    StreamKey, StreamState, StreamStore, offsets_checked_key,
};
use crate::error::{Error, Result};

/// How many staged rows a finalize reads at a time.
const BATCH: i32 = 2000;
/// How many times a transaction that met a deadlock or a serialisation failure is run again.
const TRIES: u32 = 8;

fn state_of(r: &tokio_postgres::Row) -> StreamState {
    StreamState {
        id: r.get(0),
        covered_from: r.get(1),
        cursor: r.get(2),
        last_run_at: r.get(3),
        pending: r.get(4),
    }
}

/// One statement, its count of rows changed dropped.
fn execute(
    pg: &Postgres,
    doing: &str,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<()> {
    let c = pg.lock();
    pg.block(c.execute(sql, params))
        .map(|_| ())
        .map_err(|e| pg.err(doing, e))
}

/// One value of one row (or none).
pub(super) fn value<T: for<'a> tokio_postgres::types::FromSql<'a>>(
    pg: &Postgres,
    doing: &str,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Option<T>> {
    let c = pg.lock();
    let row = pg
        .block(c.query_opt(sql, params))
        .map_err(|e| pg.err(doing, e))?;
    Ok(row.map(|r| r.get(0)))
}

async fn finalize_in(
    tx: &Transaction<'_>,
    lock: i64,
    key: &StreamKey,
    stream: i64,
    end: &RunEnd,
) -> PgResult<Finalized> {
    // The chain is global: one append at a time, each reading what the one before committed.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock])
        .await?;
    let (head, count) = chain_state(tx).await?;
    let seq: i64 = tx
        .query_one("SELECT COALESCE(MAX(seq), 0)::bigint FROM events", &[])
        .await?
        .get(0);
    let source = key.source.name();
    let row = tx
        .query_one(
            "SELECT linked, cursor FROM streams WHERE id = $1 FOR UPDATE",
            &[&stream],
        )
        .await?;
    let mut run = Append::new(
        key,
        stream,
        end,
        seq,
        (head, count),
        (row.get(0), row.get(1)),
    );
    let staged = tx
        .prepare(
            // Each staged event is looked up by its whole key (`LIMIT 1` keeps the planner
            // from flattening the lookups into a join): a schema the planner has no statistics
            // for yet (a first sync, before autovacuum's ANALYZE) would otherwise hash every
            // event of the tenant, under the append's lock, for a run that brings nothing new.
            "SELECT s.event_id, s.time_ms, s.record, e.seq, COALESCE(x.linked, false)
             FROM staging s
             LEFT JOIN LATERAL (
                 SELECT ev.seq FROM events ev
                 WHERE ev.source = $2 AND ev.tenant = $3 AND ev.event_id = s.event_id
                 LIMIT 1
             ) e ON true
             LEFT JOIN LATERAL (
                 SELECT true AS linked FROM stream_events se
                 WHERE se.stream_id = $1 AND se.seq = e.seq
                 LIMIT 1
             ) x ON true
             WHERE s.stream_id = $1
             ORDER BY s.time_ms ASC, s.ord DESC",
        )
        .await?;
    let portal = tx.bind(&staged, &[&stream, &source, &key.tenant]).await?;
    loop {
        let rows = tx.query_portal(&portal, BATCH).await?;
        if rows.is_empty() {
            break;
        }
        let mut new_seq: Vec<i64> = Vec::new();
        let mut new_id: Vec<String> = Vec::new();
        let mut new_time: Vec<i64> = Vec::new();
        let mut new_record: Vec<String> = Vec::new();
        let mut new_hash: Vec<String> = Vec::new();
        let mut new_offset: Vec<Option<i32>> = Vec::new();
        let mut link_seq: Vec<i64> = Vec::new();
        let mut link_pos: Vec<i64> = Vec::new();
        for r in &rows {
            let event_id: String = r.get(0);
            let time_ms: i64 = r.get(1);
            let held: Option<i64> = r.get(3);
            let linked: bool = r.get(4);
            let at = if let Some(s) = held {
                run.held(s)
            } else {
                let record: String = r.get(2);
                let (seq, hash) = run.new_event(&event_id, time_ms, &record);
                new_seq.push(seq);
                new_id.push(event_id);
                new_time.push(time_ms);
                new_record.push(record);
                new_hash.push(hash);
                new_offset.push(end.offsets.as_ref().and_then(|f| f(time_ms)));
                seq
            };
            if !linked {
                link_pos.push(run.link(at));
                link_seq.push(at);
            }
        }
        if !new_seq.is_empty() {
            tx.execute(
                "INSERT INTO events (seq, source, tenant, event_id, time_ms, archived_at, record, hash, utc_offset)
                 SELECT u.seq, $2, $3, u.event_id, u.time_ms, $4, u.record, u.hash, u.utc_offset
                 FROM unnest($1::bigint[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::integer[])
                      AS u(seq, event_id, time_ms, record, hash, utc_offset)",
                &[
                    &new_seq,
                    &source,
                    &key.tenant,
                    &end.now_ms,
                    &new_id,
                    &new_time,
                    &new_record,
                    &new_hash,
                    &new_offset,
                ],
            )
            .await?;
        }
        if !link_seq.is_empty() {
            tx.execute(
                "INSERT INTO stream_events (stream_id, seq, pos)
                 SELECT $1, u.seq, u.pos FROM unnest($2::bigint[], $3::bigint[]) AS u(seq, pos)",
                &[&stream, &link_seq, &link_pos],
            )
            .await?;
        }
        if rows.len() < BATCH as usize {
            break;
        }
    }
    let (out, run) = run.finish();
    if let Some(offsets) = &end.offsets {
        fill_offsets(tx, key, offsets, out.last_seq).await?;
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('chain_head', $1), ('chain_count', $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&out.head, &out.count.to_string()],
    )
    .await?;
    let (new, seen) = (out.new as i64, out.seen as i64);
    let requests = i64::try_from(end.requests).unwrap_or(i64::MAX);
    tx.execute(
        "UPDATE streams SET covered_from = $2, cursor = COALESCE($3, cursor),
         last_run_at = $4, last_run_new = $5, last_run_seen = $6,
         last_run_requests = $7, last_run_complete = true, pending = NULL, linked = $8
         WHERE id = $1",
        &[
            &stream,
            &end.covered_from,
            &end.cursor,
            &end.now_ms,
            &new,
            &seen,
            &requests,
            &run.linked_to,
        ],
    )
    .await?;
    append_run(tx, &run).await?;
    tx.execute("DELETE FROM staging WHERE stream_id = $1", &[&stream])
        .await?;
    tx.execute("DELETE FROM progress WHERE stream_id = $1", &[&stream])
        .await?;
    Ok(out)
}

/// Gives the events of the stream's source in its tenant archived without an offset, after the
/// row `meta` says a run's end that knew the zone checked last, the offset `offsets` tells, a
/// batch at a time (as SQLite's `fill_offsets`); then notes `last_seq` as checked.
async fn fill_offsets(
    tx: &Transaction<'_>,
    key: &StreamKey,
    offsets: &Offsets,
    last_seq: i64,
) -> PgResult<()> {
    let mark = offsets_checked_key(key.source, &key.tenant);
    let source = key.source.name();
    let mut after: i64 = tx
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&mark])
        .await?
        .and_then(|r| r.get::<_, String>(0).parse().ok())
        .unwrap_or(0);
    let unset = tx
        .prepare(
            "SELECT seq, time_ms FROM events
             WHERE seq > $1 AND source = $2 AND tenant = $3 AND utc_offset IS NULL
             ORDER BY seq LIMIT $4",
        )
        .await?;
    loop {
        let rows = tx
            .query(&unset, &[&after, &source, &key.tenant, &OFFSET_BATCH])
            .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.get(0);
        let (seqs, values): (Vec<i64>, Vec<i32>) = rows
            .iter()
            .filter_map(|r| Some((r.get::<_, i64>(0), offsets(r.get(1))?)))
            .unzip();
        if !seqs.is_empty() {
            tx.execute(
                "UPDATE events SET utc_offset = u.utc_offset
                 FROM unnest($1::bigint[], $2::integer[]) AS u(seq, utc_offset)
                 WHERE events.seq = u.seq",
                &[&seqs, &values],
            )
            .await?;
        }
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&mark, &last_seq.max(after).to_string()],
    )
    .await?;
    Ok(())
}

/// Appends a run to the state chain (as SQLite's `append_run` does: a run that numbered
/// nothing after one of the same stream that did not either takes its place).
pub(crate) async fn append_run(tx: &Transaction<'_>, run: &RunLink) -> PgResult<()> {
    let last = tx
        .query_opt(
            "SELECT id, stream_id, linked_from, linked_to, count, asked_from FROM runs
             ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await?;
    let last: Option<(i64, i64, i64, i64, i64, Option<i64>)> =
        last.map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)));
    let (replaces, run) = chain::collapse(last, run);
    if let Some(id) = replaces {
        tx.execute("DELETE FROM runs WHERE id = $1", &[&id]).await?;
    }
    let prev = tx
        .query_opt("SELECT id, hash FROM runs ORDER BY id DESC LIMIT 1", &[])
        .await?;
    let (id, prev): (i64, String) = match prev {
        Some(r) => (r.get::<_, i64>(0).saturating_add(1), r.get(1)),
        None => (1, GENESIS.to_string()),
    };
    let hash = chain::run_hash(&prev, &run);
    tx.execute(
        "INSERT INTO runs (id, stream_id, ended_at, asked_from, covered_from, cursor, linked_from,
                           linked_to, links, head, count, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &id,
            &run.stream_id,
            &run.ended_at,
            &run.asked_from,
            &run.covered_from,
            &run.cursor,
            &run.linked_from,
            &run.linked_to,
            &run.links,
            &run.head,
            &run.count,
            &hash,
        ],
    )
    .await?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('runs_head', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&hash],
    )
    .await?;
    Ok(())
}

/// The chain head (hex) and the number of chained rows, as `meta` records them.
pub(crate) async fn chain_state(c: &impl GenericClient) -> PgResult<(String, i64)> {
    let rows = c
        .query(
            "SELECT key, value FROM meta WHERE key IN ('chain_head', 'chain_count')",
            &[],
        )
        .await?;
    let mut head = GENESIS.to_string();
    let mut count = 0;
    for r in rows {
        let (k, v): (String, String) = (r.get(0), r.get(1));
        match k.as_str() {
            "chain_head" => head = v,
            _ => count = v.parse().unwrap_or(0),
        }
    }
    Ok((head, count))
}

impl StreamStore for Postgres {
    fn stream(&mut self, key: &StreamKey, now_ms: i64) -> Result<StreamState> {
        let c = self.lock();
        let done: PgResult<()> = self.block(async {
            c.execute(
                "INSERT INTO streams (source, tenant, query, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (source, tenant, query) DO NOTHING",
                &[&key.source.name(), &key.tenant, &key.query, &now_ms],
            )
            .await
            .map(|_| ())
        });
        drop(c);
        done.map_err(|e| self.err("creating the stream", e))?;
        self.find_stream(key)?.ok_or_else(|| {
            Error::other(format!(
                "archive {}: the stream's row vanished as it was created",
                self.describe()
            ))
        })
    }

    fn find_stream(&self, key: &StreamKey) -> Result<Option<StreamState>> {
        let c = self.lock();
        let row = self
            .block(c.query_opt(
                "SELECT id, covered_from, cursor, last_run_at, pending FROM streams
                 WHERE source = $1 AND tenant = $2 AND query = $3",
                &[&key.source.name(), &key.tenant, &key.query],
            ))
            .map_err(|e| self.err("reading the stream", e))?;
        Ok(row.as_ref().map(state_of))
    }

    fn set_pending(&mut self, stream: i64, pending: Option<&str>) -> Result<()> {
        execute(
            self,
            "recording the run under way",
            "UPDATE streams SET pending = $2 WHERE id = $1",
            &[&stream, &pending],
        )
    }

    fn note_gap(&mut self, stream: i64, (from_ms, until_ms): Span, now_ms: i64) -> Result<()> {
        execute(
            self,
            "noting a span that may be lost",
            "INSERT INTO gaps (stream_id, from_ms, until_ms, noted_at) VALUES ($1, $2, $3, $4)",
            &[&stream, &from_ms, &until_ms, &now_ms],
        )
    }

    fn newest_event_ms(&self, stream: i64) -> Result<Option<i64>> {
        Ok(value::<Option<i64>>(
            self,
            "reading the stream's newest event",
            "SELECT MAX(e.time_ms) FROM stream_events s JOIN events e ON e.seq = s.seq
             WHERE s.stream_id = $1",
            &[&stream],
        )?
        .flatten())
    }
}

impl RunStore for Postgres {
    fn staged_until(&self, stream: i64) -> Result<i64> {
        Ok(value::<i64>(
            self,
            "reading the staging",
            "SELECT COALESCE(MAX(ord), 0)::bigint FROM staging WHERE stream_id = $1",
            &[&stream],
        )?
        .unwrap_or(0))
    }

    fn staged_count(&self, stream: i64) -> Result<i64> {
        Ok(value::<i64>(
            self,
            "reading the staging",
            "SELECT COUNT(*) FROM staging WHERE stream_id = $1",
            &[&stream],
        )?
        .unwrap_or(0))
    }

    fn stage(&mut self, stream: i64, next: i64, rows: &[Staged<'_>], floor: Floor) -> Result<()> {
        let ids: Vec<&str> = rows.iter().map(|r| r.event_id).collect();
        let times: Vec<i64> = rows.iter().map(|r| r.time_ms).collect();
        let ords: Vec<i64> = (0..rows.len())
            .map(|i| next.saturating_add(i as i64).saturating_add(1))
            .collect();
        let texts: Vec<&str> = rows.iter().map(|r| r.record).collect();
        let mut c = self.lock();
        let mut tries = 0;
        loop {
            let done: PgResult<()> = self.block(async {
                let tx = c.transaction().await?;
                if !rows.is_empty() {
                    tx.execute(
                        "INSERT INTO staging (stream_id, event_id, time_ms, ord, record)
                         SELECT $1, u.event_id, u.time_ms, u.ord, u.record
                         FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::text[])
                              AS u(event_id, time_ms, ord, record)
                         ON CONFLICT (stream_id, event_id) DO NOTHING",
                        &[&stream, &ids, &times, &ords, &texts],
                    )
                    .await?;
                }
                if let Some((unit, floor)) = floor {
                    tx.execute(
                        "INSERT INTO progress (stream_id, unit, floor) VALUES ($1, $2, $3)
                         ON CONFLICT (stream_id, unit) DO UPDATE
                         SET floor = LEAST(progress.floor, excluded.floor)
                         WHERE progress.floor IS NOT NULL",
                        &[&stream, &unit, &floor],
                    )
                    .await?;
                }
                tx.commit().await
            });
            match done {
                Err(e) if retryable(&e) && tries < TRIES => tries += 1,
                other => return other.map_err(|e| self.err("staging fetched rows", e)),
            }
        }
    }

    fn unit_floor(&self, stream: i64, unit: &str) -> Result<Option<i64>> {
        Ok(value::<Option<i64>>(
            self,
            "reading the run's progress",
            "SELECT floor FROM progress WHERE stream_id = $1 AND unit = $2",
            &[&stream, &unit],
        )?
        .flatten())
    }

    fn unit_done(&self, stream: i64, unit: &str) -> Result<bool> {
        Ok(value::<i32>(
            self,
            "reading the run's progress",
            "SELECT 1 FROM progress WHERE stream_id = $1 AND unit = $2 AND floor IS NULL",
            &[&stream, &unit],
        )?
        .is_some())
    }

    fn mark_unit_done(&mut self, stream: i64, unit: &str) -> Result<()> {
        execute(
            self,
            "recording the run's progress",
            "INSERT INTO progress (stream_id, unit) VALUES ($1, $2)
             ON CONFLICT (stream_id, unit) DO UPDATE SET floor = NULL",
            &[&stream, &unit],
        )
    }

    fn note_incomplete_run(&mut self, stream: i64, now_ms: i64, requests: u64) -> Result<()> {
        let requests = i64::try_from(requests).unwrap_or(i64::MAX);
        execute(
            self,
            "recording an incomplete run",
            "UPDATE streams SET last_run_at = $2, last_run_new = 0, last_run_seen = 0,
             last_run_requests = $3, last_run_complete = false WHERE id = $1",
            &[&stream, &now_ms, &requests],
        )
    }

    /// Ends a complete run, all or nothing: under the schema's append lock, appends the staged
    /// events the archive does not hold yet (oldest first, chained), numbers for the stream
    /// every staged event it had not numbered, moves the cursor, extends the state chain, clears
    /// the staging. Run again when it met a deadlock.
    fn finalize(&mut self, key: &StreamKey, stream: i64, end: &RunEnd) -> Result<Finalized> {
        let mut c = self.lock();
        let mut tries = 0;
        loop {
            let done = self.block(async {
                let tx = c.transaction().await?;
                let out = finalize_in(&tx, self.chain_lock, key, stream, end).await?;
                tx.commit().await?;
                Ok(out)
            });
            match done {
                Err(e) if retryable(&e) && tries < TRIES => tries += 1,
                Ok(out) => {
                    if out.linked >= REFRESH_AFTER {
                        // After the lock: the planner's statistics of a schema that grew a lot
                        // (a first sync has none before autovacuum's), by one writer at a time
                        // (the others go on: two ANALYZE of one table wait for each other). Not
                        // `staging`: analysed while other writers fill it, its statistics would
                        // say it is empty and their appends would be planned as if it were
                        // (measured: four writers took 1,023 s instead of 19 s). A role that
                        // does not own the tables only gets a warning; nothing here can fail
                        // the run.
                        let _ = self.block(c.batch_execute(&format!(
                            "DO $$ BEGIN IF pg_try_advisory_xact_lock({}) THEN ANALYZE events, stream_events; END IF; END $$",
                            self.chain_lock.wrapping_add(1)
                        )));
                    }
                    if out.new.saturating_add(out.seen) >= REFRESH_AFTER {
                        // The staging this run emptied is as many dead rows, which every
                        // staging query of the stream's next runs would wade through until
                        // autovacuum comes (a sync with nothing new after a first sync of
                        // 1,000,000 events took 1.1 s, most of it there). When no other run has
                        // the table open (the lock is not waited for) and it holds nothing (no
                        // killed run's rows to resume), it is emptied at once. A role that may
                        // not truncate leaves it to autovacuum; nothing here fails the run.
                        let _ = self.block(c.batch_execute(
                            "DO $$ BEGIN
                                 LOCK TABLE staging IN ACCESS EXCLUSIVE MODE NOWAIT;
                                 IF NOT EXISTS (SELECT 1 FROM staging) THEN TRUNCATE staging; END IF;
                             EXCEPTION WHEN OTHERS THEN NULL;
                             END $$",
                        ));
                    }
                    return Ok(out);
                }
                Err(e) => return Err(self.err("appending the run's events", e)),
            }
        }
    }
}

/// How many events a run must have numbered for its end to refresh the planner's statistics
/// (or staged, to empty the staging at once).
const REFRESH_AFTER: u64 = 10_000;

impl DeliveryStore for Postgres {
    /// Takes the stream's events still to print for the sync `me` (as SQLite's `claim`), under
    /// the stream row's lock.
    fn claim(&mut self, stream: i64, me: &str, alive: &dyn Fn(&str) -> bool) -> Result<(i64, i64)> {
        let mut c = self.lock();
        let mut tries = 0;
        loop {
            let done: PgResult<(i64, i64)> = self.block(async {
                let tx = c.transaction().await?;
                let r = tx
                    .query_one(
                        "SELECT delivered, claimed, claimed_by, linked FROM streams
                         WHERE id = $1 FOR UPDATE",
                        &[&stream],
                    )
                    .await?;
                let claims = Claims {
                    delivered: r.get(0),
                    claimed: r.get(1),
                    by: r.get(2),
                    linked: r.get(3),
                };
                let (after, upto) = claims.take(me, alive);
                tx.execute(
                    "UPDATE streams SET claimed = $2, claimed_by = $3 WHERE id = $1",
                    &[&stream, &upto, &me],
                )
                .await?;
                tx.commit().await?;
                Ok((after, upto))
            });
            match done {
                Err(e) if retryable(&e) && tries < TRIES => tries += 1,
                other => {
                    return other.map_err(|e| self.err("taking the stream's events to print", e));
                }
            }
        }
    }

    fn release(&mut self, stream: i64, me: &str) -> Result<()> {
        execute(
            self,
            "releasing the stream's events",
            "UPDATE streams SET claimed = delivered, claimed_by = NULL
             WHERE id = $1 AND claimed_by = $2",
            &[&stream, &me],
        )
    }

    fn mark_delivered(&mut self, stream: i64, from: i64, upto: i64) -> Result<()> {
        execute(
            self,
            "recording what was delivered",
            "UPDATE streams SET delivered = GREATEST(delivered, LEAST($2, linked))
             WHERE id = $1 AND delivered >= $3",
            &[&stream, &upto, &from],
        )
    }
}
