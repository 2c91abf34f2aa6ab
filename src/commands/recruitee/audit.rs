//! `hrlogs recruitee audit`: its flags, turned into the log's query
//! ([`crate::logs::recruitee_audit`], where everything else about the audit log lives), and
//! the choice of Recruitee or the archive.

use std::sync::Arc;

use clap::Args;
use serde_json::json;

use crate::commands::{Context, clean_list};
use crate::error::{Error, Result};
use crate::logs::recruitee_audit::{self as log, AuditQuery, EventFilter};
use crate::plan::filter_with;
use crate::vendors::recruitee::search::SearchQuery;
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
        return crate::commands::from_archive::audit(query, super::tenant(ctx), ctx).await;
    }
    let dest = ctx.destination()?;
    let client = super::client(ctx, ctx.options.dry_run)?;
    let Some(dest) = dest else {
        return ctx.print_requests(None, &[query.search.first_request(&client)?]);
    };
    ctx.progress.start("fetching the Recruitee audit log…");
    let stream = log::stream_wanting(
        client,
        &query,
        ctx.options.output.limit,
        ctx.progress.clone(),
    );
    let company = ctx.settings.plain(&COMPANY_ID).unwrap_or_default();
    ctx.emit_events(stream, dest, log::columns(), log::origin(&company))
        .await
}
