//! Reading the PostgreSQL archive back as a [`RecordStream`]: a connection of its own, one
//! read-only snapshot, and the rows streamed in batches as the server sends them, so memory
//! stays flat whatever the archive holds.

use futures::StreamExt;
use tokio_postgres::IsolationLevel;
use tokio_postgres::types::ToSql;

use super::target::Target;
use super::tls::Tls;
use super::{PgResult, pg_error};
use crate::archive::{Keep, Order, ReadFilter, ReadRow};
use crate::error::{Error, Result};
use crate::plan::{Batch, RecordStream};
use crate::record::Record;

const BATCH: usize = 1024;

/// Streams the rows that `filter` selects.
pub fn read_events(
    target: Target,
    config: tokio_postgres::Config,
    tls: Tls,
    filter: ReadFilter,
) -> RecordStream {
    RecordStream::spawn(2, move |tx| async move {
        if let Err(e) = read(&target, config, tls, filter, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    })
}

/// A parameter of the query.
enum Param {
    Int(i64),
    Text(String),
    Ints(Vec<i64>),
}

impl Param {
    fn sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Param::Int(n) => n,
            Param::Text(t) => t,
            Param::Ints(v) => v,
        }
    }
}

/// The query for `f`, and its parameters.
fn query(f: &ReadFilter) -> (String, Vec<Param>) {
    let mut args: Vec<Param> = Vec::new();
    let mut arg = |p: Param| {
        args.push(p);
        format!("${}", args.len())
    };
    let linked = if f.linked_streams.is_empty() {
        "false".to_string()
    } else {
        let n = arg(Param::Ints(f.linked_streams.clone()));
        format!(
            "EXISTS (SELECT 1 FROM stream_events s WHERE s.seq = e.seq AND s.stream_id = ANY({n}::bigint[]))"
        )
    };
    let mut sql =
        format!("SELECT e.event_id, e.time_ms, e.record, {linked}, e.seq, e.hash FROM events e");
    if let Order::Delivery { stream, after } = f.order {
        let (s, a) = (arg(Param::Int(stream)), arg(Param::Int(after)));
        sql.push_str(&format!(
            " JOIN stream_events d ON d.seq = e.seq AND d.stream_id = {s} AND d.pos > {a}"
        ));
    }
    let source = arg(Param::Text(f.source.name().to_string()));
    sql.push_str(&format!(" WHERE e.source = {source}"));
    if let Some(t) = &f.tenant {
        let n = arg(Param::Text(t.clone()));
        sql.push_str(&format!(" AND e.tenant = {n}"));
    }
    if let Some(from) = f.from_ms {
        let n = arg(Param::Int(from));
        sql.push_str(&format!(" AND e.time_ms >= {n}"));
    }
    if let Some(until) = f.until_ms {
        let n = arg(Param::Int(until));
        sql.push_str(&format!(" AND e.time_ms <= {n}"));
    }
    match f.order {
        Order::Delivery { .. } => sql.push_str(" ORDER BY d.pos ASC"),
        Order::NewestFirst => sql.push_str(" ORDER BY e.time_ms DESC, e.seq DESC"),
    }
    (sql, args)
}

async fn read(
    target: &Target,
    config: tokio_postgres::Config,
    tls: Tls,
    mut filter: ReadFilter,
    out: &tokio::sync::mpsc::Sender<Batch>,
) -> Result<()> {
    let fail = |doing: &str, e: tokio_postgres::Error| pg_error(target, doing, e);
    let (mut client, connection) = config
        .connect(tls)
        .await
        .map_err(|e| fail("connecting to read", e))?;
    let conn = tokio::spawn(async move {
        let _ = connection.await;
    });
    let keep = filter.keep.take();
    let (sql, args) = query(&filter);
    let result = stream_rows(&mut client, target, &sql, &args, keep, out).await;
    drop(client);
    let _ = conn.await;
    result.map_err(|e| fail("reading events", e))?
}

/// Sends the rows of `sql` a batch at a time, in one read-only snapshot.
async fn stream_rows(
    client: &mut tokio_postgres::Client,
    target: &Target,
    sql: &str,
    args: &[Param],
    keep: Option<Keep>,
    out: &tokio::sync::mpsc::Sender<Batch>,
) -> PgResult<Result<()>> {
    client
        .batch_execute(&format!("SET search_path TO \"{}\"", target.schema))
        .await?;
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let stmt = tx.prepare(sql).await?;
    let params = args.iter().map(Param::sql);
    // One query whose rows stream in as the server sends them (the socket's flow control
    // keeps memory flat), cut into batches here: no round trip per batch, so the server and
    // the reader work at the same time.
    let rows = tx.query_raw(&stmt, params).await?;
    futures::pin_mut!(rows);
    let mut pending = Vec::with_capacity(BATCH);
    loop {
        let row = rows.next().await.transpose()?;
        let end = row.is_none();
        pending.extend(row);
        if pending.len() < BATCH && !end {
            continue;
        }
        let batch = match records(std::mem::take(&mut pending), keep.as_ref(), target) {
            Ok(b) => b,
            Err(e) => return Ok(Err(e)),
        };
        if !batch.is_empty() && out.send(Ok(batch)).await.is_err() {
            // The reader went away.
            return Ok(Ok(()));
        }
        if end {
            break;
        }
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// The rows as records, those `keep` refuses left out.
fn records(
    rows: Vec<tokio_postgres::Row>,
    keep: Option<&Keep>,
    target: &Target,
) -> Result<Vec<Record>> {
    let archive = format!("archive at {} (schema {})", target.server(), target.schema);
    let mut batch = Vec::with_capacity(rows.len());
    for row in rows {
        let read = match (
            row.try_get::<_, String>(0),
            row.try_get::<_, i64>(1),
            row.try_get::<_, String>(2),
            row.try_get::<_, bool>(3),
            row.try_get::<_, i64>(4),
            row.try_get::<_, String>(5),
        ) {
            (Ok(event_id), Ok(time_ms), Ok(record), Ok(linked), Ok(seq), Ok(hash)) => ReadRow {
                event_id,
                time_ms,
                record,
                linked,
                seq,
                hash,
            },
            _ => {
                return Err(Error::other(format!(
                    "{archive}: an event row is not as the archive wrote it"
                ))
                .hint("`hrlogs archive verify` tells whether the archive was altered"));
            }
        };
        if let Some(record) = read.record(keep, &archive)? {
            batch.push(record);
        }
    }
    Ok(batch)
}
