//! Reading the archive back as a [`RecordStream`]: `--from-archive` (newest first, filtered
//! here) and the records a sync run just added (oldest first, the order they were appended).
//! Rows are read on a blocking thread, a batch at a time, so memory stays flat.

use std::path::PathBuf;

use rusqlite::{Connection, OpenFlags, params_from_iter};
use serde_json::value::RawValue;

use super::db_error;
use crate::error::Result;
use crate::identity::Source;
use crate::plan::{Batch, RecordStream};
use crate::record::Record;

const BATCH: usize = 1024;

/// Decides whether a row is written: the record, and whether it was fetched by one of
/// [`ReadFilter::linked_streams`].
pub type Keep = Box<dyn Fn(&RawValue, bool) -> bool + Send>;

/// Which rows to read, and in which order.
pub struct ReadFilter {
    pub source: Source,
    /// Only this tenant's events; None: every tenant's.
    pub tenant: Option<String>,
    /// Bounds on `time_ms`, inclusive.
    pub from_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Only rows `seq` in this range, oldest first (a sync run's output); None: newest first.
    pub seq_range: Option<(i64, i64)>,
    /// Streams whose events the `keep` function is told about.
    pub linked_streams: Vec<i64>,
    pub keep: Option<Keep>,
}

/// Streams the rows that `filter` selects.
pub fn read_events(path: PathBuf, filter: ReadFilter) -> RecordStream {
    RecordStream::spawn(2, move |tx| async move {
        let tx2 = tx.clone();
        let joined = tokio::task::spawn_blocking(move || {
            if let Err(e) = read_blocking(&path, &filter, &tx2) {
                let _ = tx2.blocking_send(Err(e));
            }
        })
        .await;
        if joined.is_err() {
            let _ = tx
                .send(Err(crate::error::Error::other(
                    "reading the archive stopped unexpectedly",
                )))
                .await;
        }
    })
}

fn read_blocking(
    path: &std::path::Path,
    f: &ReadFilter,
    tx: &tokio::sync::mpsc::Sender<Batch>,
) -> Result<()> {
    let e = |err| db_error(path, err);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(e)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(e)?;
    let linked = if f.linked_streams.is_empty() {
        "0".to_string()
    } else {
        let ids: Vec<String> = f.linked_streams.iter().map(i64::to_string).collect();
        format!(
            "EXISTS (SELECT 1 FROM stream_events s WHERE s.seq = e.seq AND s.stream_id IN ({}))",
            ids.join(",")
        )
    };
    let mut sql = format!(
        "SELECT e.event_id, e.time_ms, e.record, {linked} FROM events e WHERE e.source = ?"
    );
    let mut args: Vec<rusqlite::types::Value> = vec![f.source.name().to_string().into()];
    if let Some(t) = &f.tenant {
        sql.push_str(" AND e.tenant = ?");
        args.push(t.clone().into());
    }
    if let Some(from) = f.from_ms {
        sql.push_str(" AND e.time_ms >= ?");
        args.push(from.into());
    }
    if let Some(until) = f.until_ms {
        sql.push_str(" AND e.time_ms <= ?");
        args.push(until.into());
    }
    match f.seq_range {
        Some((first, last)) => {
            sql.push_str(" AND e.seq >= ? AND e.seq <= ? ORDER BY e.seq ASC");
            args.push(first.into());
            args.push(last.into());
        }
        None => sql.push_str(" ORDER BY e.time_ms DESC, e.seq DESC"),
    }
    let mut stmt = conn.prepare(&sql).map_err(e)?;
    let mut rows = stmt.query(params_from_iter(args)).map_err(e)?;
    let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
    while let Some(row) = rows.next().map_err(e)? {
        let id: String = row.get(0).map_err(e)?;
        let time_ms: i64 = row.get(1).map_err(e)?;
        let text: String = row.get(2).map_err(e)?;
        let is_linked: bool = row.get(3).map_err(e)?;
        let raw = match RawValue::from_string(text) {
            Ok(raw) => raw,
            Err(err) => {
                return Err(crate::error::Error::other(format!(
                    "archive {}: event {id} is not JSON: {err}",
                    path.display()
                ))
                .hint("`hrlogs archive verify` tells whether the archive was altered"));
            }
        };
        if let Some(keep) = &f.keep {
            if !keep(&raw, is_linked) {
                continue;
            }
        }
        batch.push(Record {
            raw,
            key: time_ms,
            id: Some(id),
        });
        if batch.len() >= BATCH {
            if tx.blocking_send(Ok(std::mem::take(&mut batch))).is_err() {
                return Ok(());
            }
            batch.reserve(BATCH);
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Ok(batch));
    }
    Ok(())
}
