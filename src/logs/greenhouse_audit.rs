//! The Greenhouse audit log (`greenhouse audit`, `sync greenhouse audit`, `--from-archive`):
//! everything hrlogs knows about it in one place — its query (the server-side filters and the
//! span in ms), how it is fetched (windows proven by `hits`, `plan::counted`), its columns,
//! its stream key, the time of a result, its retention and the overlap of a later sync, how
//! the archive filters it, and its OCSF mapper.
//!
//! Results have no id: each is known by the SHA-256 of its canonical JSON and its occurrence
//! among identical results (`identity`), counted over a whole unit in any order, so that the
//! vendor's order within one ms cannot change an id.

use std::sync::Arc;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{IdMode, Log, Reading, RunPlan, Start, Unit, show_s, strings};
use crate::archive::{Keep, Order, ReadFilter, StreamKey, StreamState};
use crate::error::{Error, Result};
use crate::identity::Source;
use crate::ocsf::{Mapper, Origin};
use crate::output::{Column, Fit, Show};
use crate::plan::{RecordStream, Span, counted};
use crate::progress::Progress;
use crate::vendors::greenhouse::Greenhouse;
use crate::vendors::greenhouse::events::{Events, EventsQuery};

/// How long Greenhouse keeps audit log results.
pub const RETENTION_DAYS: i64 = 30;
/// How far back a later sync starts before its cursor (results indexed late).
pub const OVERLAP_MS: i64 = 15 * 60 * 1000;

/// When, who (name, and the performer's e-mail or key type), what happened (the event type),
/// and on what (the target's type and id); the request, the IP and the organization in the
/// wide views.
pub fn columns() -> Vec<Column> {
    vec![
        Column::path("event_time")
            .show(Show::Timestamp)
            .table(0, "TIME", Fit::Keep),
        Column::path("performer.meta.name").table(1, "WHO", Fit::Shrink(10)),
        Column::path("performer.meta.username").table(5, "LOGIN", Fit::ShrinkOrHide(12)),
        Column::path("performer.type").table(6, "PERFORMER", Fit::SheetOnly),
        Column::path("performer.id").table(7, "PERFORMER ID", Fit::SheetOnly),
        Column::path("event.type").table(2, "EVENT", Fit::Keep),
        Column::path("event.target_type").table(3, "TARGET", Fit::Last),
        Column::path("event.target_id").table(4, "ID", Fit::Hide),
        Column::path("request.type").table(8, "REQUEST", Fit::SheetOnly),
        Column::path("request.id").table(9, "REQUEST ID", Fit::SheetOnly),
        Column::path("performer.ip_address").table(10, "IP", Fit::SheetOnly),
        Column::path("event.meta").table(11, "META", Fit::SheetOnly),
    ]
}

/// The results the query asks for, newest first, proven complete.
pub fn stream(client: Arc<Greenhouse>, query: EventsQuery, progress: Progress) -> RecordStream {
    let concurrency = client.max_in_flight;
    let span = query.span();
    // Everything Greenhouse keeps, as of the query's end: one answer of it may prove that
    // `hits` counts every match.
    let probe = Span {
        lo: span.hi.saturating_sub(RETENTION_DAYS * 86_400_000),
        hi: span.hi,
    };
    let events = Events {
        client,
        query: Arc::new(query),
    };
    counted(events, span, Some(probe), concurrency, progress)
}

/// The query's filters as the stream's key holds them (sorted: the order of flags is not).
fn filters(q: &EventsQuery) -> Value {
    json!({
        "performer_ids": super::sorted(q.performer_ids.clone()),
        "performer_types": super::sorted(q.performer_types.clone()),
        "event_types": super::sorted(q.event_types.clone()),
        "target_ids": super::sorted(q.target_ids.clone()),
        "target_types": super::sorted(q.target_types.clone()),
        "request_ids": super::sorted(q.request_ids.clone()),
        "request_types": super::sorted(q.request_types.clone()),
    })
}

/// The audit log of these filters, ready to sync.
pub struct AuditLog {
    client: Arc<Greenhouse>,
    query: EventsQuery,
    /// `--since` as given (ms), for the first sync.
    since: Option<i64>,
    key: StreamKey,
}

impl AuditLog {
    /// The stream of these filters in `tenant`; `since` as given.
    pub fn new(
        client: Arc<Greenhouse>,
        query: EventsQuery,
        since: Option<i64>,
        tenant: String,
    ) -> AuditLog {
        let key = StreamKey {
            source: Source::GreenhouseAudit,
            tenant,
            query: filters(&query).to_string(),
        };
        AuditLog {
            client,
            query,
            since,
            key,
        }
    }
}

impl Log for AuditLog {
    fn columns(&self) -> Vec<Column> {
        columns()
    }

    fn key(&self) -> &StreamKey {
        &self.key
    }

    /// The first sync: from `--since`, or everything Greenhouse keeps (30 days). Later ones:
    /// from the cursor minus [`OVERLAP_MS`], and from `--since` when it is earlier than what
    /// the stream covers. A killed run resumes with its own ranges (its units then match).
    fn plan(&self, state: &StreamState, now: Timestamp) -> Result<RunPlan> {
        let now_ms = now.as_millisecond();
        let kept_from = now_ms - RETENTION_DAYS * 86_400_000;
        let pending: Vec<(i64, i64)> = state
            .pending
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default();
        let mut ranges: Vec<(i64, i64)> = Vec::new();
        let mut lost = None;
        let covered_from = if !pending.is_empty() {
            ranges.extend(pending.iter().copied());
            let earliest = ranges.iter().map(|r| r.0).min();
            match (state.covered_from, earliest) {
                (Some(c), Some(e)) => Some(c.min(e)),
                (c, e) => c.or(e),
            }
        } else {
            match state.cursor {
                None => {
                    let from = self.since.unwrap_or(kept_from);
                    ranges.push((from, now_ms));
                    if from < kept_from {
                        lost = Some((
                            Some(from),
                            kept_from,
                            format!(
                                "Greenhouse keeps {RETENTION_DAYS} days of audit log: results from {} to {} may already be lost",
                                show_s(from.div_euclid(1000)),
                                show_s(kept_from.div_euclid(1000))
                            ),
                        ));
                    }
                    Some(from)
                }
                Some(cursor) => {
                    ranges.push((cursor.saturating_sub(OVERLAP_MS), now_ms));
                    if cursor < kept_from {
                        lost = Some((
                            Some(cursor),
                            kept_from,
                            format!(
                                "this stream was last synced at {}, and Greenhouse keeps {RETENTION_DAYS} days of audit log: results from then to {} may already be lost; sync more often",
                                show_s(cursor.div_euclid(1000)),
                                show_s(kept_from.div_euclid(1000))
                            ),
                        ));
                    }
                    match (self.since, state.covered_from) {
                        (Some(s), Some(c)) if s < c => {
                            ranges.push((s, c));
                            Some(s)
                        }
                        (_, c) => c,
                    }
                }
            }
        };
        if let Some((lo, hi)) = ranges.iter().find(|(lo, hi)| lo > hi) {
            return Err(Error::unavailable(format!(
                "the span to sync ends before it starts ({} .. {}): the stream's cursor is ahead of this machine's clock",
                show_s(lo.div_euclid(1000)),
                show_s(hi.div_euclid(1000)),
            ))
            .hint("check this machine's clock (NTP); the archive is unchanged"));
        }
        let asked_from = ranges.iter().map(|r| r.0).min();
        let end = ranges.iter().map(|r| r.1).max().unwrap_or(now_ms);
        let pending = serde_json::to_string(&ranges).ok();
        let units = ranges
            .into_iter()
            .map(|(lo, hi)| {
                let mut q = self.query.clone();
                q.since_ms = lo;
                q.until_ms = hi;
                let client = self.client.clone();
                let first = Events {
                    client: client.clone(),
                    query: Arc::new(q.clone()),
                }
                .first_request()?;
                Ok(Unit {
                    first_requests: vec![first],
                    name: format!("event_time {lo}..{hi}"),
                    ids: IdMode::Counted,
                    floors: false,
                    start: Box::new(move |progress, _| stream(client, q, progress)) as Start,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RunPlan {
            units,
            covered_from,
            cursor: end,
            pending,
            asked_from,
            lost,
        })
    }
}

/// How audit log results become OCSF events.
pub const OCSF: Mapper = crate::ocsf::greenhouse_audit_result;

/// The OCSF origin of the audit log (the organization: each result's `organization_id`).
pub fn origin() -> Origin {
    Origin::greenhouse(OCSF, None)
}

/// Whether a result passes the query's filters (the archive read back as Greenhouse would
/// have filtered it).
fn passes(q: &Filters, raw: &RawValue) -> bool {
    #[derive(Deserialize)]
    struct Wire {
        performer: Option<Value>,
        event: Option<Value>,
        request: Option<Value>,
    }
    let Ok(r) = serde_json::from_str::<Wire>(raw.get()) else {
        return false;
    };
    let field = |v: &Option<Value>, key: &str| -> Option<String> {
        match v.as_ref()?.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    };
    let ok = |wanted: &Vec<String>, got: Option<String>| {
        wanted.is_empty() || got.is_some_and(|g| wanted.contains(&g))
    };
    ok(&q.performer_ids, field(&r.performer, "id"))
        && ok(&q.performer_types, field(&r.performer, "type"))
        && ok(&q.event_types, field(&r.event, "type"))
        && ok(&q.target_ids, field(&r.event, "target_id"))
        && ok(&q.target_types, field(&r.event, "target_type"))
        && ok(&q.request_ids, field(&r.request, "id"))
        && ok(&q.request_types, field(&r.request, "type"))
}

/// The filters of a query, owned by the archive's filter.
struct Filters {
    performer_ids: Vec<String>,
    performer_types: Vec<String>,
    event_types: Vec<String>,
    target_ids: Vec<String>,
    target_types: Vec<String>,
    request_ids: Vec<String>,
    request_types: Vec<String>,
}

/// How `--from-archive` reads the audit log back for `query` (`tenant`: only that tenant's;
/// None: every tenant's); `since` None: from the start of the archive.
pub fn reading(query: &EventsQuery, since: Option<i64>, tenant: Option<String>) -> Reading {
    let f = Filters {
        performer_ids: query.performer_ids.clone(),
        performer_types: query.performer_types.clone(),
        event_types: query.event_types.clone(),
        target_ids: query.target_ids.clone(),
        target_types: query.target_types.clone(),
        request_ids: query.request_ids.clone(),
        request_types: query.request_types.clone(),
    };
    let keep: Keep = Box::new(move |raw: &RawValue, _| passes(&f, raw));
    let wanted = filters(query);
    let until = query.until_ms.saturating_sub(1);
    Reading {
        filter: ReadFilter {
            source: Source::GreenhouseAudit,
            tenant,
            from_ms: since,
            until_ms: Some(until),
            order: Order::NewestFirst,
            linked_streams: vec![],
            keep: Some(keep),
        },
        span: (since, Some(until)),
        // A stream holds every result asked for when it filtered nothing, or the same.
        covered_by: Box::new(move |q: &Value| {
            let keys = [
                "performer_ids",
                "performer_types",
                "event_types",
                "target_ids",
                "target_types",
                "request_ids",
                "request_types",
            ];
            keys.iter().all(|k| strings(q, k).is_empty()) || keys.iter().all(|k| q[k] == wanted[k])
        }),
    }
}
