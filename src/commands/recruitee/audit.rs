//! `hrlogs recruitee audit`.

use std::sync::Arc;

use clap::Args;
use serde_json::json;

use crate::commands::{Context, clean_list};
use crate::error::{Error, Result};
use crate::ocsf::Origin;
use crate::output::{Column, Fit, Show};
use crate::plan::{RecordStream, filter};
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
    #[arg(long = "event", value_name = "NAME")]
    pub events: Vec<String>,
    /// Read the local archive that `hrlogs sync` fills instead of Recruitee: no network, no
    /// credentials; the flags filter here (--search: a case-insensitive match in any text)
    #[arg(long)]
    pub from_archive: bool,
}

/// When, who, the event as Recruitee names it, and the candidate and job it concerns.
pub fn columns() -> Vec<Column> {
    vec![
        Column::path("created_at")
            .show(Show::Timestamp)
            .table(0, "TIME", Fit::Keep),
        Column::path("actor").table(1, "ACTOR", Fit::Shrink(10)),
        Column::path("event_name").table(2, "EVENT", Fit::Last),
        Column::path("candidate.name").table(3, "CANDIDATE", Fit::Shrink(10)),
        Column::path("offer.title").table(4, "JOB", Fit::ShrinkOrHide(12)),
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

/// [`stream`] when at most `limit` entries are wanted (`--limit`).
fn stream_wanting(
    client: Arc<Recruitee>,
    query: &AuditQuery,
    limit: Option<u64>,
    progress: Progress,
) -> RecordStream {
    // With --event, how many entries are needed to fill --limit is not known.
    let want = limit.filter(|_| query.events.is_empty());
    let mut stream = search::run_wanting(client, query.search.clone(), want, progress);
    if !query.events.is_empty() {
        // Recruitee has no event filter: a stage of the stream applies --event here.
        let events = query.events.clone();
        stream = filter(stream, move |r| event_is(r, &events));
    }
    stream
}

pub async fn cmd_audit(args: AuditArgs, ctx: &Context) -> Result<()> {
    let query = validate(&args, ctx)?;
    if args.from_archive {
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

/// Whether the entry's `event_name` is one of `events` (lowercase).
fn event_is(record: &Record, events: &[String]) -> bool {
    #[derive(serde::Deserialize)]
    struct Event {
        event_name: Option<String>,
    }
    serde_json::from_str::<Event>(record.raw.get())
        .ok()
        .and_then(|e| e.event_name)
        .is_some_and(|n| events.contains(&n.to_lowercase()))
}
