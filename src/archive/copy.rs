//! `archive copy`: one archive into another, through the contract alone (either backend on
//! either side). The source's runs are replayed in the order of its state chain: each run's
//! numbered events are staged for the same stream of the destination, in the stream's
//! numbering order, and the run is finalized with its own end (its time, cursor, coverage), so
//! that the destination's event chain and state chain are built in the same order — into an
//! empty destination, with the same hashes. Events the destination holds already are seen, not
//! added. Events are read a page at a time: memory stays flat whatever the archive's size.
//!
//! - Archive times: an event appended by a replayed run is archived at that run's end, which
//!   is when the source's run appended it: the source's `archived_at` is kept (and the event
//!   chain, which commits to it, matches).
//! - Offsets: an event's `utc_offset` (the zone of a wall-clock time, not chained) is carried
//!   across after its run is replayed, where the destination's event has none.
//! - Stream ids are the destination's own (a stream is found or created by its key).
//! - Copying again adds nothing: the destination keeps, in `meta`, the last run of this
//!   source it replayed (`copied_from:<the hash of the source's first run>`), and the next
//!   copy replays only the runs after it.
//! - Delivery: what the source had delivered counts as delivered in the destination (a sync
//!   into the destination does not print the whole history again); what the source had not
//!   delivered stays to print, unless the destination's stream had events to print already.

use std::collections::HashMap;

use super::{RunEnd, RunRow, Staged, Store, StreamKey};
use crate::error::{Error, Result};
use crate::identity::Source;

/// How many events are read and staged at a time.
const PAGE: i64 = 1000;

/// What a copy did.
#[derive(Debug, Clone, Default)]
pub struct Copied {
    /// Runs of the source replayed into the destination.
    pub runs: u64,
    /// Events new to the destination.
    pub new: u64,
    /// Events the destination held already.
    pub seen: u64,
    /// Streams of the source.
    pub streams: u64,
}

/// A source stream, as the destination knows it.
struct Mapped {
    key: StreamKey,
    to: i64,
    /// The source's events of this stream not known delivered.
    undelivered: i64,
    /// The destination's delivery before the copy: (delivered, linked).
    before: (i64, i64),
    /// How far the replay has read the source stream's numbering.
    read_to: i64,
}

/// Copies `from` into `to` (see the module's documentation); `now_ms` is when streams the
/// destination did not have are created.
pub fn copy(from: &dyn Store, to: &mut dyn Store, now_ms: i64) -> Result<Copied> {
    let mut out = Copied::default();
    let mut streams: HashMap<i64, Mapped> = HashMap::new();
    let dest_rows: HashMap<i64, (i64, i64)> = to
        .stream_rows()?
        .into_iter()
        .map(|r| (r.id, (r.delivered, r.linked)))
        .collect();
    for row in from.stream_rows()? {
        let source = Source::from_name(&row.source).ok_or_else(|| {
            Error::other(format!(
                "archive {}: stream {} is of an unknown source {:?}",
                from.location(),
                row.id,
                row.source
            ))
        })?;
        let key = StreamKey {
            source,
            tenant: row.tenant,
            query: row.query,
        };
        let dest = to.stream(&key, now_ms)?;
        if to.staged_count(dest.id)? > 0 {
            return Err(Error::other(format!(
                "archive {}: stream {} has records staged by a sync that did not complete",
                to.location(),
                dest.id
            ))
            .hint("let a sync of that stream complete first, then copy again"));
        }
        out.streams += 1;
        streams.insert(
            row.id,
            Mapped {
                key,
                to: dest.id,
                undelivered: row.linked.saturating_sub(row.delivered).max(0),
                before: dest_rows.get(&dest.id).copied().unwrap_or((0, 0)),
                read_to: 0,
            },
        );
    }
    let runs = from.runs()?;
    let mark = runs.first().map(|r| format!("copied_from:{}", r.hash));
    let done: i64 = match &mark {
        Some(k) => to.meta(k)?.and_then(|v| v.parse().ok()).unwrap_or(0),
        None => 0,
    };
    for RunRow { id, run, .. } in &runs {
        let Some(m) = streams.get_mut(&run.stream_id) else {
            return Err(Error::other(format!(
                "archive {}: run {} names stream {}, which it does not have",
                from.location(),
                id,
                run.stream_id
            )));
        };
        // Numbers no run of the chain linked (none, in an archive this binary wrote) go
        // with the next run of the stream.
        let after = m.read_to;
        m.read_to = m.read_to.max(run.linked_to);
        if *id <= done {
            continue;
        }
        stage_range(from, to, run.stream_id, m.to, after, run.linked_to)?;
        let end = RunEnd {
            asked_from: run.asked_from,
            covered_from: run.covered_from,
            cursor: run.cursor,
            now_ms: run.ended_at,
            requests: 0,
            offsets: None,
        };
        let done = to.finalize(&m.key, m.to, &end)?;
        copy_offsets(from, to, run.stream_id, &m.key, after, run.linked_to)?;
        out.runs += 1;
        out.new += done.new;
        out.seen += done.seen;
        if let Some(k) = &mark {
            to.set_meta(k, &id.to_string())?;
        }
    }
    let linked_now: HashMap<i64, i64> = to
        .stream_rows()?
        .into_iter()
        .map(|r| (r.id, r.linked))
        .collect();
    for m in streams.values() {
        let (delivered, linked) = m.before;
        if delivered < linked {
            // The destination's stream had events to print: its cursor stays.
            continue;
        }
        let now_linked = linked_now.get(&m.to).copied().unwrap_or(0);
        let upto = now_linked.saturating_sub(m.undelivered).max(delivered);
        to.mark_delivered(m.to, delivered, upto)?;
    }
    Ok(out)
}

/// Gives the destination's events the `utc_offset` the source keeps for the events its stream
/// `from_stream` numbered `(after, upto]`, a page at a time (where the destination has none).
fn copy_offsets(
    from: &dyn Store,
    to: &mut dyn Store,
    from_stream: i64,
    key: &StreamKey,
    after: i64,
    upto: i64,
) -> Result<()> {
    let mut at = after;
    while at < upto {
        let page = from.linked_events(from_stream, (at, upto), PAGE)?;
        let Some(last) = page.last() else { break };
        at = last.pos;
        let rows: Vec<(&str, i32)> = page
            .iter()
            .filter_map(|e| Some((e.event_id.as_str(), e.utc_offset?)))
            .collect();
        if !rows.is_empty() {
            to.set_utc_offsets(key.source, &key.tenant, &rows)?;
        }
    }
    Ok(())
}

/// Stages for the destination's stream `to` the events the source's stream `from_stream`
/// numbered `(after, upto]`, a page at a time. A finalize appends staged records by time,
/// then by staging order from the last staged: each is staged at minus its number, so that
/// records of the same time keep the source's order.
fn stage_range(
    from: &dyn Store,
    to: &mut dyn Store,
    from_stream: i64,
    to_stream: i64,
    after: i64,
    upto: i64,
) -> Result<()> {
    let mut at = after;
    while at < upto {
        let mut page = from.linked_events(from_stream, (at, upto), PAGE)?;
        let Some(last) = page.last() else { break };
        at = last.pos;
        page.reverse();
        // Staged in reverse: numbered -last.pos, …, -first.pos.
        let next = at.saturating_neg().saturating_sub(1);
        let staged: Vec<Staged<'_>> = page
            .iter()
            .map(|e| Staged {
                event_id: &e.event_id,
                time_ms: e.time_ms,
                record: &e.record,
            })
            .collect();
        to.stage(to_stream, next, &staged, None)?;
    }
    Ok(())
}
