//! The Recruitee audit log (`recruitee audit`, `sync recruitee audit`, `--from-archive`):
//! everything hrlogs knows about it in one place — its query, how it is fetched (the verified
//! search), its columns, its `--event` stage, its stream key, the time of an entry, its
//! retention and the overlap of a later sync, how the archive filters it, and its OCSF mapper.
//!
//! `--event` has no server-side filter: a stage of the stream applies it ([`EventFilter`]),
//! live, in `sync` and with `--from-archive` alike. With `--limit N` the fetching stops once N
//! entries passed it. When entries were fetched but none passed, a warning names the event
//! names that were seen, the closest to those asked first (a typo, or another wording).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
use crate::plan::{Counts, Filter, RecordStream, filter_with};
use crate::progress::Progress;
use crate::record::Record;
use crate::vendors::recruitee::Recruitee;
use crate::vendors::recruitee::search::{self, SearchQuery};

/// How far back a later sync starts before its cursor (entries indexed late).
pub const OVERLAP_SECONDS: i64 = 600;
/// How long Recruitee keeps audit events.
pub const RETENTION_DAYS: i64 = 30;

/// When, who, the event as Recruitee names it, and the candidate (name and id: names are
/// shared) and job it concerns. At 80 columns the id gives way first, as id columns do.
pub fn columns() -> Vec<Column> {
    vec![
        Column::path("created_at")
            .show(Show::Timestamp)
            .table(0, "TIME", Fit::Keep),
        Column::path("actor").table(1, "ACTOR", Fit::Shrink(10)),
        Column::path("event_name").table(2, "EVENT", Fit::Last),
        Column::path("candidate.name").table(3, "CANDIDATE", Fit::Shrink(10)),
        Column::path("candidate.id").table(4, "ID", Fit::Hide),
        Column::path("offer.title").table(5, "JOB", Fit::ShrinkOrHide(12)),
    ]
}

/// The audit query as the flags ask for it: what is sent, and what is filtered here.
pub struct AuditQuery {
    pub search: SearchQuery,
    pub actors: Vec<String>,
    pub excluded: Vec<String>,
    pub text: Option<String>,
    /// `--event` names, lowercase (filtered here).
    pub events: Vec<String>,
}

/// The entries the query asks for, newest first, from Recruitee.
pub fn stream(client: Arc<Recruitee>, query: &AuditQuery, progress: Progress) -> RecordStream {
    stream_wanting(client, query, None, progress)
}

/// [`stream`] when at most `limit` entries are wanted (`--limit`): the search stops once
/// `limit` entries that pass `--event` were written, and so does the filter.
pub fn stream_wanting(
    client: Arc<Recruitee>,
    query: &AuditQuery,
    limit: Option<u64>,
    progress: Progress,
) -> RecordStream {
    if query.events.is_empty() {
        return search::run_wanting(client, query.search.clone(), limit, None, progress);
    }
    let events = Arc::new(query.events.clone());
    let counts: Counts = {
        let events = events.clone();
        Arc::new(move |r| event_is(r, &events))
    };
    let stream = search::run_wanting(
        client,
        query.search.clone(),
        limit,
        Some(counts),
        progress.clone(),
    );
    filter_with(stream, EventFilter::new(events, progress), limit)
}

/// The entry's `event_name`.
fn event_name(record: &Record) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Event {
        event_name: Option<String>,
    }
    serde_json::from_str::<Event>(record.raw.get())
        .ok()
        .and_then(|e| e.event_name)
}

/// Whether the entry's `event_name` is one of `events` (lowercase).
fn event_is(record: &Record, events: &[String]) -> bool {
    event_name(record).is_some_and(|n| events.contains(&n.to_lowercase()))
}

/// Distinct event names remembered for the warning, at most (a stranger's log cannot fill
/// the memory).
const MAX_NAMES: usize = 1_000;

/// Event names shown in the warning, at most.
const SHOWN_NAMES: usize = 5;

/// Said once per run, however many streams a run has (`sync` runs one per span).
static WARNED: AtomicBool = AtomicBool::new(false);

/// `--event`: keeps the entries whose event name is one of those asked (lowercase), and
/// remembers the names seen, to name them when none matched.
pub struct EventFilter {
    events: Arc<Vec<String>>,
    seen: HashMap<String, u64>,
    progress: Progress,
}

impl EventFilter {
    pub fn new(events: Arc<Vec<String>>, progress: Progress) -> EventFilter {
        EventFilter {
            events,
            seen: HashMap::new(),
            progress,
        }
    }
}

impl Filter for EventFilter {
    fn keep(&mut self, record: &Record) -> bool {
        let Some(name) = event_name(record) else {
            return false;
        };
        if self.events.contains(&name.to_lowercase()) {
            return true;
        }
        if let Some(n) = self.seen.get_mut(&name) {
            *n += 1;
        } else if self.seen.len() < MAX_NAMES {
            self.seen.insert(name, 1);
        }
        false
    }

    fn ended(self, received: u64, passed: u64) {
        if passed > 0 || received == 0 || WARNED.swap(true, Ordering::Relaxed) {
            return;
        }
        self.progress
            .warn(&no_match_warning(&self.events, self.seen.into_keys()));
    }
}

/// `no event matched --event "…"; events seen: "…", …`: the names seen, closest to one of
/// `events` first (edit distance, ignoring case), at most [`SHOWN_NAMES`] of them; strangers'
/// text escaped.
fn no_match_warning(events: &[String], seen: impl Iterator<Item = String>) -> String {
    let asked: Vec<String> = events.iter().map(|e| format!("{e:?}")).collect();
    let mut names: Vec<(usize, String)> = seen
        .map(|name| {
            let lower = name.to_lowercase();
            let d = events
                .iter()
                .map(|e| edit_distance(e, &lower))
                .min()
                .unwrap_or(usize::MAX);
            (d, name)
        })
        .collect();
    names.sort();
    let more = names.len().saturating_sub(SHOWN_NAMES);
    let shown: Vec<String> = names
        .iter()
        .take(SHOWN_NAMES)
        .map(|(_, n)| format!("{n:?}"))
        .collect();
    let seen = match (shown.is_empty(), more) {
        (true, _) => "the entries fetched have no event_name".to_string(),
        (false, 0) => format!("events seen: {}", shown.join(", ")),
        (false, more) => format!("events seen: {}, and {more} more", shown.join(", ")),
    };
    format!(
        "no event matched --event {}; {seen} (--event takes whole names, in any case)",
        asked.join(", ")
    )
}

/// Characters compared at most by [`edit_distance`] (names are short; a longer one is cut).
const MAX_CHARS: usize = 120;

/// The Levenshtein distance between `a` and `b`, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(MAX_CHARS).collect();
    let b: Vec<char> = b.chars().take(MAX_CHARS).collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The audit log of these filters, ready to sync.
pub struct AuditLog {
    client: Arc<Recruitee>,
    query: AuditQuery,
    key: StreamKey,
}

impl AuditLog {
    /// The stream of these actor, search and event filters in `tenant`.
    pub fn new(client: Arc<Recruitee>, query: AuditQuery, tenant: String) -> AuditLog {
        let key = StreamKey {
            source: Source::RecruiteeAudit,
            tenant,
            query: json!({
                "actors": super::sorted(query.actors.clone()),
                "exclude_actors": super::sorted(query.excluded.clone()),
                "search": query.text,
                "events": super::sorted(query.events.clone()),
            })
            .to_string(),
        };
        AuditLog { client, query, key }
    }
}

impl Log for AuditLog {
    fn columns(&self) -> Vec<Column> {
        columns()
    }

    fn key(&self) -> &StreamKey {
        &self.key
    }

    /// `created_at`, read leniently (see `vendors::recruitee::created_at_ms`).
    fn time_ms(&self, record: &Record) -> i64 {
        crate::vendors::recruitee::created_at_ms(record.raw.get())
            .ok()
            .flatten()
            .map_or(0, |c| c.ms)
    }

    /// The first sync: from `--since`, or everything Recruitee keeps. Later ones: from the
    /// cursor minus [`OVERLAP_SECONDS`], and from `--since` when it is earlier than what the
    /// stream covers. A killed run resumes with its own ranges.
    fn plan(&self, state: &StreamState, now: Timestamp) -> Result<RunPlan> {
        let (client, query) = (&self.client, &self.query);

        let now_s = now.as_second();
        let kept_from = now_s - RETENTION_DAYS * 86_400;
        let given = query.search.since;
        let mut ranges: Vec<(Option<i64>, i64)> = Vec::new();
        let mut lost = None;
        // An unfinished run resumes with its own ranges, so that its done units (and
        // the floors of the unit it was in) match; what came since is one more range.
        let pending: Vec<(Option<i64>, i64)> = state
            .pending
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default();
        let covered_from = match state.cursor {
            // What came since is the next run's: a resumed run only finishes.
            _ if !pending.is_empty() => {
                ranges.extend(pending.iter().copied());
                match (given, state.covered_from) {
                    (Some(s), Some(c)) => Some((s * 1000).min(c)),
                    (g, c) => c.or(g.map(|s| s * 1000)),
                }
            }
            None => {
                ranges.push((given, now_s));
                if let Some(s) = given.filter(|s| *s < kept_from) {
                    lost = Some((
                        Some(s * 1000),
                        kept_from * 1000,
                        format!(
                            "Recruitee keeps {RETENTION_DAYS} days of audit events: entries from {} to {} may already be lost",
                            show_s(s),
                            show_s(kept_from)
                        ),
                    ));
                }
                given.map(|s| s * 1000)
            }
            Some(cursor) => {
                let cursor_s = cursor.div_euclid(1000);
                ranges.push((Some(cursor_s - OVERLAP_SECONDS), now_s));
                if cursor_s < kept_from {
                    lost = Some((
                        Some(cursor),
                        kept_from * 1000,
                        format!(
                            "this stream was last synced at {}, and Recruitee keeps {RETENTION_DAYS} days of audit events: entries from then to {} may already be lost; sync more often",
                            show_s(cursor_s),
                            show_s(kept_from)
                        ),
                    ));
                }
                match (given, state.covered_from) {
                    (Some(s), Some(c)) if s * 1000 < c => {
                        ranges.push((Some(s), c.div_euclid(1000)));
                        Some(s * 1000)
                    }
                    (_, c) => c,
                }
            }
        };
        if let Some((lo, hi)) = ranges.iter().find(|(lo, hi)| lo.is_some_and(|l| l > *hi)) {
            // Never "complete" over a range that ends before it starts.
            return Err(Error::unavailable(format!(
                "the span to sync ends before it starts ({} .. {}): the stream's cursor is ahead of this machine's clock ({})",
                show_s(lo.unwrap_or(*hi)),
                show_s(*hi),
                show_s(now_s)
            ))
            .hint("check this machine's clock (NTP); the archive is unchanged"));
        }
        let pending = serde_json::to_string(&ranges).ok();
        let asked_from = ranges
            .iter()
            .map(|r| r.0.map(|lo| lo.saturating_mul(1000)))
            .try_fold(i64::MAX, |m, lo| lo.map(|l| m.min(l)));
        let end = ranges.iter().map(|r| r.1).max().unwrap_or(now_s);
        let units = ranges
            .into_iter()
            .map(|(lo, hi)| {
                let mut q = AuditQuery {
                    search: query.search.clone(),
                    actors: query.actors.clone(),
                    excluded: query.excluded.clone(),
                    text: query.text.clone(),
                    events: query.events.clone(),
                };
                q.search.since = lo;
                q.search.until = hi;
                let client = client.clone();
                Ok(Unit {
                    first_requests: vec![q.search.first_request(&client)?],
                    name: format!("created_at {lo:?}..{hi}"),
                    ids: IdMode::Stream,
                    floors: true,
                    start: Box::new(move |progress, floor: Option<i64>| {
                        let mut q = q;
                        // Staged down to `floor` by a killed run: only below it.
                        if let Some(f) = floor {
                            q.search.until = f.saturating_sub(1).min(hi);
                        }
                        if q.search.since.is_some_and(|lo| lo > q.search.until) {
                            return RecordStream::spawn(1, |_tx| async {});
                        }
                        stream(client, &q, progress)
                    }) as Start,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RunPlan {
            units,
            covered_from,
            cursor: end.saturating_mul(1000),
            asked_from,
            pending,
            lost,
        })
    }
}

/// How audit entries become OCSF events.
pub const OCSF: Mapper = crate::ocsf::recruitee_audit_entry;

/// The OCSF origin of the audit log of `company`.
pub fn origin(company: &str) -> Origin {
    Origin::recruitee(OCSF, company)
}

/// How `--from-archive` reads the audit log back for `query` (`tenant`: only that tenant's;
/// None: every tenant's).
pub fn reading(query: &AuditQuery, tenant: Option<String>) -> Reading {
    #[derive(Deserialize)]
    struct Entry {
        actor: Option<Value>,
        event_name: Option<String>,
    }
    let actors: Vec<Value> = query
        .actors
        .iter()
        .map(|a| Value::String(a.clone()))
        .collect();
    let excluded: Vec<Value> = query
        .excluded
        .iter()
        .map(|a| Value::String(a.clone()))
        .collect();
    let text = query.text.as_ref().map(|t| t.to_lowercase());
    let events = query.events.clone();
    let keep: Keep = Box::new(move |raw: &RawValue, _| {
        let Ok(entry) = serde_json::from_str::<Entry>(raw.get()) else {
            return false;
        };
        let actor = entry.actor.unwrap_or(Value::Null);
        if !actors.is_empty() && !actors.contains(&actor) {
            return false;
        }
        if excluded.contains(&actor) {
            return false;
        }
        if !events.is_empty()
            && !entry
                .event_name
                .is_some_and(|n| events.contains(&n.to_lowercase()))
        {
            return false;
        }
        match &text {
            None => true,
            Some(t) => {
                serde_json::from_str::<Value>(raw.get()).is_ok_and(|v| any_text_contains(&v, t))
            }
        }
    });
    let ms = |s: i64| s.saturating_mul(1000);
    // A stream holds every entry asked for when it filtered nothing out that the query
    // keeps: no server-side filter, or the same ones.
    let filters = json!({
        "actors": super::sorted(query.actors.clone()),
        "exclude_actors": super::sorted(query.excluded.clone()),
        "search": query.text,
    });
    Reading {
        filter: ReadFilter {
            source: Source::RecruiteeAudit,
            tenant,
            from_ms: query.search.since.map(ms),
            until_ms: Some(ms(query.search.until).saturating_add(999)),
            order: Order::NewestFirst,
            linked_streams: vec![],
            keep: Some(keep),
        },
        span: (query.search.since.map(ms), Some(ms(query.search.until))),
        covered_by: Box::new(move |q: &Value| {
            let unfiltered = strings(q, "actors").is_empty()
                && strings(q, "exclude_actors").is_empty()
                && q["search"].is_null();
            let same = q["actors"] == filters["actors"]
                && q["exclude_actors"] == filters["exclude_actors"]
                && q["search"] == filters["search"];
            (unfiltered || same) && strings(q, "events").is_empty()
        }),
    }
}

/// True when any string in `v` (keys included) contains `needle` (lowercase), ignoring case.
fn any_text_contains(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => s.to_lowercase().contains(needle),
        Value::Array(a) => a.iter().any(|x| any_text_contains(x, needle)),
        Value::Object(m) => m
            .iter()
            .any(|(k, x)| k.to_lowercase().contains(needle) || any_text_contains(x, needle)),
        Value::Number(n) => n.to_string().contains(needle),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_changes() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("王芳", "王芳"), 0);
    }

    #[test]
    fn the_warning_lists_the_closest_names_first_escaped_and_short() {
        let seen = [
            "Admin viewed candidate",
            "Admin deleted candidate",
            "Admin created offer",
            "Admin sent email",
            "Admin moved\u{1b}[2J candidate",
            "Admin added note",
            "Admin disqualified candidate",
        ];
        let w = no_match_warning(
            &["admin deleted candidat".to_string()],
            seen.iter().map(|s| s.to_string()),
        );
        assert!(
            w.starts_with(
                "no event matched --event \"admin deleted candidat\"; events seen: \"Admin deleted candidate\", "
            ),
            "{w}"
        );
        assert!(w.contains(", and 2 more"), "{w}");
        assert!(!w.contains('\u{1b}'), "escaped: {w}");
    }
}
