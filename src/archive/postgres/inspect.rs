//! `archive status` and `archive verify` on PostgreSQL: each in one read-only snapshot
//! (`REPEATABLE READ`), so that syncs committing meanwhile are either wholly in it or not at
//! all. Verify recomputes both chains exactly as SQLite's does (`archive::chain`).

use tokio_postgres::{IsolationLevel, Transaction};

use super::store::chain_state;
use super::{PgResult, Postgres};
use crate::archive::verify::{
    Cell, EventRow, Events, RUN_COLUMNS, RunRow, Runs, STATUS_STREAMS, StreamRow,
};
use crate::archive::{Anchor, Gap, InspectStore, Integrity, ReadFilter, Status, StreamStatus};
use crate::error::Result;
use crate::plan::RecordStream;

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

/// The state chain (`archive::verify::Runs`, the checks SQLite's verify makes too): returns
/// the heads the runs saw, which the event chain must reach.
async fn verify_runs(
    tx: &Transaction<'_>,
) -> PgResult<std::result::Result<Vec<Anchor>, Integrity>> {
    // Columns made nullable and emptied are an altered run, not a failure to read.
    let runs: Vec<Option<RunRow>> = tx
        .query(&format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id"), &[])
        .await?
        .iter()
        .map(|r| {
            RunRow::read(
                |i| r.try_get(i).ok().ok_or(()),
                |i| r.try_get(i).ok().ok_or(()),
                |i| r.try_get(i).ok().ok_or(()),
            )
            .ok()
        })
        .collect();
    let links_of = tx
        .prepare(
            "SELECT pos, seq FROM stream_events WHERE stream_id = $1 AND pos > $2 AND pos <= $3
             ORDER BY pos",
        )
        .await?;
    let mut chain = Runs::default();
    for run in runs {
        let Some(run) = run else {
            return Ok(Err(Integrity::Broken {
                seq: 0,
                why: "a run's row is missing a column the archive wrote (altered)".into(),
            }));
        };
        let links: Vec<(i64, i64)> = tx
            .query(
                &links_of,
                &[&run.run.stream_id, &run.run.linked_from, &run.run.linked_to],
            )
            .await?
            .iter()
            .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
            .collect();
        if let Err(broken) = chain.run(&run, links) {
            return Ok(Err(broken));
        }
    }
    let recorded: Option<String> = tx
        .query_opt("SELECT value FROM meta WHERE key = 'runs_head'", &[])
        .await?
        .and_then(|r| r.try_get(0).ok());
    let streams: Vec<StreamRow> = tx
        .query(
            "SELECT s.id, s.cursor, s.covered_from, s.linked,
                    (SELECT COUNT(*) FROM stream_events x WHERE x.stream_id = s.id)
             FROM streams s ORDER BY s.id",
            &[],
        )
        .await?
        .iter()
        .filter_map(|r| {
            Some(StreamRow {
                id: r.try_get(0).ok()?,
                cursor: r.try_get(1).ok()?,
                covered_from: r.try_get(2).ok()?,
                linked: r.try_get(3).ok()?,
                links: r.try_get(4).ok()?,
            })
        })
        .collect();
    Ok(chain.end(recorded.as_deref(), &streams))
}

/// The event chain (`archive::verify::Events`), read through a portal in batches.
/// `offsets`: whether the schema has `events.utc_offset` (version 3 on).
async fn verify_events(
    tx: &Transaction<'_>,
    anchors: &[Anchor],
    offsets: bool,
) -> PgResult<Integrity> {
    let (head, count) = chain_state(tx).await?;
    let stmt = tx
        .prepare(&format!(
            "SELECT seq, source, tenant, event_id, time_ms, archived_at, record, hash, {}
             FROM events ORDER BY seq",
            if offsets {
                "utc_offset"
            } else {
                "NULL::integer"
            }
        ))
        .await?;
    let portal = tx.bind(&stmt, &[]).await?;
    let mut chain = Events::new(anchors);
    loop {
        let rows = tx.query_portal(&portal, BATCH).await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            // Columns made nullable and emptied are altered rows, not failures to read.
            let text = |i: usize| {
                Ok::<_, std::convert::Infallible>(
                    row.try_get::<_, Option<String>>(i).ok().flatten(),
                )
            };
            let int = |i: usize| {
                Ok::<_, std::convert::Infallible>(row.try_get::<_, Option<i64>>(i).ok().flatten())
            };
            let cell = |i: usize| {
                Ok::<_, std::convert::Infallible>(match row.try_get::<_, Option<i32>>(i) {
                    Ok(None) => Cell::Null,
                    Ok(Some(n)) => Cell::Int(i64::from(n)),
                    Err(_) => Cell::Other,
                })
            };
            let Ok(read) = EventRow::read(text, int, cell);
            if let Err(broken) = chain.stored(read) {
                return Ok(broken);
            }
        }
    }
    let staged: i64 = tx
        .query_one("SELECT COUNT(*) FROM staging", &[])
        .await?
        .try_get(0)
        .unwrap_or(0);
    Ok(chain.end(head, count, staged))
}

impl InspectStore for Postgres {
    fn location(&self) -> String {
        self.describe()
    }

    fn read(&self, filter: ReadFilter) -> RecordStream {
        super::read::read_events(
            self.target.clone(),
            super::config_of(&self.target),
            self.tls.clone(),
            filter,
        )
    }

    fn row_hash(&self, seq: i64) -> Result<Option<String>> {
        super::store::value::<String>(
            self,
            "reading a row's chain hash",
            "SELECT hash FROM events WHERE seq = $1",
            &[&seq],
        )
    }

    fn streams(&self) -> Result<Vec<(i64, String, String, serde_json::Value)>> {
        snapshot(self, "reading the streams", async |tx| {
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

    fn status(&self) -> Result<Status> {
        let path = self.describe();
        snapshot(self, "reading the archive's status", async |tx| {
            let events: i64 = tx
                .query_one("SELECT COUNT(*) FROM events", &[])
                .await?
                .get(0);
            let (chain_head, chain_count) = chain_state(tx).await?;
            let rows = tx.query(STATUS_STREAMS, &[]).await?;
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

    fn verify(&self, anchors: &[Anchor]) -> Result<Integrity> {
        let offsets = self.has_offsets();
        snapshot(self, "verifying the archive", async move |tx| {
            let mut anchors = anchors.to_vec();
            match verify_runs(tx).await? {
                Ok(heads) => anchors.extend(heads),
                Err(broken) => return Ok(broken),
            }
            verify_events(tx, &anchors, offsets).await
        })
    }
}
