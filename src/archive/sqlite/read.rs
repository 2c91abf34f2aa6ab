//! Reading the archive back as a [`RecordStream`]: `--from-archive` (newest first, filtered
//! here) and the records a sync run just added (oldest first, the order they were appended).
//! Rows are read on a blocking thread, a batch at a time, so memory stays flat.

use std::path::PathBuf;

use rusqlite::params_from_iter;

use super::db_error;
use crate::archive::{Order, ReadFilter, ReadRow};
use crate::error::Result;
use crate::plan::{Batch, RecordStream};
use crate::record::Record;

const BATCH: usize = 1024;
/// Streams the rows that `filter` selects; `scratch`, the temporary folder of a migrated copy,
/// is kept until the reading ends.
pub fn read_events(
    path: PathBuf,
    filter: ReadFilter,
    scratch: Option<std::sync::Arc<tempfile::TempDir>>,
) -> RecordStream {
    RecordStream::spawn(2, move |tx| async move {
        let tx2 = tx.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let _scratch = scratch;
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
    let conn = super::open_read_only(path)?;
    let linked = if f.linked_streams.is_empty() {
        "0".to_string()
    } else {
        let ids: Vec<String> = f.linked_streams.iter().map(i64::to_string).collect();
        let ids = ids.join(",");
        format!(
            "(e.stream_id IN ({ids}) OR EXISTS (SELECT 1 FROM stream_events s
              WHERE s.stream_id IN ({ids}) AND s.seq = e.seq AND s.archived = 0))"
        )
    };
    let id = super::id_text("e.event_id");
    let mut sql = format!(
        "SELECT {id}, e.time_ms, e.record, {linked}, e.seq, lower(hex(e.hash)) FROM events e"
    );
    let mut args: Vec<rusqlite::types::Value> = vec![];
    if let Order::Delivery { stream, after } = f.order {
        sql.push_str(" JOIN stream_events d ON d.seq = e.seq AND d.stream_id = ? AND d.pos > ?");
        args.push(stream.into());
        args.push(after.into());
    }
    sql.push_str(" WHERE e.source_id = (SELECT id FROM sources WHERE name = ?)");
    args.push(f.source.name().to_string().into());
    if let Some(t) = &f.tenant {
        sql.push_str(" AND e.tenant_id = (SELECT id FROM tenants WHERE name = ?)");
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
    match f.order {
        Order::Delivery { .. } => sql.push_str(" ORDER BY d.pos ASC"),
        Order::NewestFirst => sql.push_str(" ORDER BY e.time_ms DESC, e.seq DESC"),
    }
    let mut stmt = conn.prepare(&sql).map_err(e)?;
    let mut rows = stmt.query(params_from_iter(args)).map_err(e)?;
    let archive = format!("archive {}", path.display());
    let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
    while let Some(row) = rows.next().map_err(e)? {
        let read = ReadRow {
            event_id: row.get(0).map_err(e)?,
            time_ms: row.get(1).map_err(e)?,
            record: row.get(2).map_err(e)?,
            linked: row.get(3).map_err(e)?,
            seq: row.get(4).map_err(e)?,
            hash: row.get(5).map_err(e)?,
        };
        if let Some(record) = read.record(f.keep.as_ref(), &archive)? {
            batch.push(record);
        }
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
