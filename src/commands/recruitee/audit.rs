//! `hrlogs recruitee audit`.
//!
//! `--event` has no server-side filter: a stage of the stream applies it ([`EventFilter`]),
//! live, in `sync` and with `--from-archive` alike. With `--limit N` the fetching stops once N
//! entries passed it. When entries were fetched but none passed, a warning names the event
//! names that were seen, the closest to those asked first (a typo, or another wording).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use serde_json::json;

use crate::commands::{Context, clean_list};
use crate::error::{Error, Result};
use crate::ocsf::Origin;
use crate::output::{Column, Fit, Show};
use crate::plan::{Counts, Filter, RecordStream, filter_with};
use crate::progress::Progress;
use crate::record::Record;
use crate::vendors::recruitee::Recruitee;
use crate::vendors::recruitee::search::{self, SearchQuery};
use crate::vendors::recruitee::settings::COMPANY_ID;

const EXAMPLES: &str = "\
Examples:
  # Who deleted or disqualified candidates in the last week
  hrlogs recruitee audit --since 7d --event 'Admin deleted candidate' \\
    --event 'Admin disqualified candidate'

  # Everything one admin did yesterday, as CSV
  hrlogs recruitee audit --since yesterday --until yesterday \\
    --actor 'Ishwar Gautam' -o audit.csv

  # All entries mentioning a candidate, for jq
  hrlogs recruitee audit --search 'Jasprit' -f ndjson \\
    | jq -r '[.created_at, .actor, .event_name] | @tsv'";

/// The audit log: every change in the account, newest first.
///
/// Calls GET /c/{company}/audit_log with filters_json built from the flags and follows every
/// page. Recruitee serves at most 10,000 results per query; hrlogs narrows the time window by
/// itself when there are more, so every entry arrives exactly once. Recruitee keeps 30 days.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct AuditArgs {
    /// Only entries created at or after T [default: everything Recruitee keeps]
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only entries created at or before T (a bare date: the end of that day) [default: now]
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Only entries by these actors (names as shown in Recruitee; repeat or separate with commas)
    #[arg(long = "actor", value_name = "NAME", value_delimiter = ',')]
    pub actors: Vec<String>,
    /// Leave out entries by these actors
    #[arg(long = "exclude-actor", value_name = "NAME", value_delimiter = ',')]
    pub exclude_actors: Vec<String>,
    /// Full-text search over the entries (Recruitee's `all` filter)
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Only these event names, e.g. 'Admin deleted candidate'. Recruitee has no such filter:
    /// this filters here, after fetching (case-insensitive)
    #[arg(
        long = "event",
        value_name = "NAME",
        add = clap_complete::engine::ArgValueCompleter::new(crate::completion::events)
    )]
    pub events: Vec<String>,
    /// Read the local archive that `hrlogs sync` fills instead of Recruitee: no network, no
    /// credentials; the flags filter here (--search: a case-insensitive match in any text)
    #[arg(long)]
    pub from_archive: bool,
}

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

/// The flags as a checked query.
pub(crate) fn validate(args: &AuditArgs, ctx: &Context) -> Result<AuditQuery> {
    let (since, until) = super::window(ctx, args.since.as_deref(), args.until.as_deref())?;
    let actors = clean_list("--actor", &args.actors)?;
    let excluded = clean_list("--exclude-actor", &args.exclude_actors)?;
    let events: Vec<String> = clean_list("--event", &args.events)?
        .into_iter()
        .map(|e| e.to_lowercase())
        .collect();
    let mut filters = Vec::new();
    if !actors.is_empty() || !excluded.is_empty() {
        let mut f = json!({"field": "actor"});
        if !actors.is_empty() {
            f["in"] = json!(actors);
        }
        if !excluded.is_empty() {
            f["not_in"] = json!(excluded);
        }
        filters.push(f);
    }
    let text = match args.search.as_deref().map(str::trim) {
        Some("") => return Err(Error::input("--search is empty")),
        Some(text) => {
            filters.push(json!({"field": "all", "query": text}));
            Some(text.to_string())
        }
        None => None,
    };
    let search = SearchQuery {
        path: "audit_log",
        items: "entries",
        filters,
        params: vec![],
        since,
        until,
        limit: super::page_size(ctx)?,
    };
    Ok(AuditQuery {
        search,
        actors,
        excluded,
        text,
        events,
    })
}

/// The entries the query asks for, newest first, from Recruitee.
pub(crate) fn stream(
    client: Arc<Recruitee>,
    query: &AuditQuery,
    progress: Progress,
) -> RecordStream {
    stream_wanting(client, query, None, progress)
}

/// [`stream`] when at most `limit` entries are wanted (`--limit`): the search stops once
/// `limit` entries that pass `--event` were written, and so does the filter.
fn stream_wanting(
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

pub async fn cmd_audit(args: AuditArgs, ctx: &Context) -> Result<()> {
    let mut query = validate(&args, ctx)?;
    if args.from_archive {
        if !query.events.is_empty() {
            // The same --event stage as live (its --limit and its warning), on the archive's
            // entries of the span.
            let events = Arc::new(std::mem::take(&mut query.events));
            let (progress, limit) = (ctx.progress.clone(), ctx.options.output.limit);
            ctx.stage_next(move |stream| {
                filter_with(stream, EventFilter::new(events, progress), limit)
            });
        }
        return crate::commands::sync::from_archive::audit(query, ctx).await;
    }
    let dest = ctx.destination()?;
    let client = super::client(ctx, ctx.options.dry_run)?;
    let Some(dest) = dest else {
        return ctx.print_requests(None, &[query.search.first_request(&client)?]);
    };
    ctx.progress.start("fetching the Recruitee audit log…");
    let stream = stream_wanting(
        client,
        &query,
        ctx.options.output.limit,
        ctx.progress.clone(),
    );
    let company = ctx.settings.plain(&COMPANY_ID).unwrap_or_default();
    ctx.emit_events(stream, dest, columns(), Origin::recruitee(&company))
        .await
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
pub(crate) struct EventFilter {
    events: Arc<Vec<String>>,
    seen: HashMap<String, u64>,
    progress: Progress,
}

impl EventFilter {
    pub(crate) fn new(events: Arc<Vec<String>>, progress: Progress) -> EventFilter {
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
