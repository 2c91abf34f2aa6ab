//! `hrlogs greenhouse audit`: its flags, turned into the log's query
//! ([`crate::logs::greenhouse_audit`], where everything else about the audit log lives), and
//! the choice of Greenhouse or the archive.

use clap::Args;

use crate::commands::{Context, clean_list};
use crate::error::{Error, Result};
use crate::logs::greenhouse_audit as log;
use crate::time::Bound;
use crate::vendors::greenhouse::events::{EVENT_TYPES, EventsQuery, PERFORMER_TYPES};
use clap::builder::PossibleValuesParser;

const EXAMPLES: &str = "\
Examples:
  # Who deleted anything in the last week
  hrlogs greenhouse audit --since 7d --event-type data_change_destroy

  # Everything one user did yesterday, as a workbook
  hrlogs greenhouse audit --since yesterday --until yesterday --performer 12345 -o audit.xlsx

  # What API keys read through Harvest, for jq
  hrlogs greenhouse audit --performer-type api_key --event-type harvest_access -f ndjson \\
    | jq -r '[.event_time, .request.type, .event.target_type] | @tsv'";

/// The audit log: who accessed or changed what in Greenhouse Recruiting, newest first.
///
/// Calls GET /events on the audit log host (a JWT from Harvest first) with the filters as
/// query parameters. Windows small enough for one answer are fetched without paging, in
/// parallel, and proven complete by the answer's `hits`; others are walked by pages (3 per
/// 30 s). Every result exactly once, or a non-zero exit. Greenhouse keeps 30 days.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct AuditArgs {
    /// Results from the archive that `hrlogs sync` fills, not from Greenhouse (no network and
    /// no key needed); the filters apply to what was archived
    #[arg(long)]
    pub from_archive: bool,
    /// Only results by these performers: Greenhouse user ids, whole numbers (repeat the flag
    /// or separate with commas)
    #[arg(long = "performer", value_name = "ID", value_delimiter = ',')]
    pub performers: Vec<String>,
    /// Only these performer types
    #[arg(
        long = "performer-type", value_name = "TYPE", value_delimiter = ',', ignore_case = true,
        value_parser = PossibleValuesParser::new(PERFORMER_TYPES)
    )]
    pub performer_types: Vec<String>,
    /// Only these event types: data changes (data_change_create, data_change_update,
    /// data_change_destroy), reads through the Harvest API (harvest_access), anything else
    /// (action, named by its target type)
    #[arg(
        long = "event-type", value_name = "TYPE", value_delimiter = ',', ignore_case = true,
        value_parser = PossibleValuesParser::new(EVENT_TYPES)
    )]
    pub event_types: Vec<String>,
    /// Only results on these target types (e.g. Candidate, OrganizationEmail)
    #[arg(long = "target-type", value_name = "NAME", value_delimiter = ',')]
    pub target_types: Vec<String>,
    /// Only results on these target ids (whole numbers): the record created, changed or
    /// read
    #[arg(long = "target-id", value_name = "ID", value_delimiter = ',')]
    pub target_ids: Vec<String>,
    /// Only results of these requests (the results of one action share its request id)
    #[arg(long = "request-id", value_name = "ID", value_delimiter = ',')]
    pub request_ids: Vec<String>,
    /// Only results of these request types: an action's name (`email_settings#create`), or
    /// the URL a Harvest request asked for
    #[arg(long = "request-type", value_name = "NAME", value_delimiter = ',')]
    pub request_types: Vec<String>,
    /// Only results at or after T (an instant, a date, or an age: 7d, 12h)
    /// [default: everything Greenhouse keeps, 30 days]
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only results at or before T (a bare date: the end of that day)
    /// [default: now]
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
}

/// Ids that must be whole numbers.
fn numeric(flag: &str, items: &[String]) -> Result<Vec<String>> {
    let items = clean_list(flag, items)?;
    if let Some(bad) = items
        .iter()
        .find(|i| !i.bytes().all(|b| b.is_ascii_digit()) || i.len() > 20)
    {
        return Err(Error::input(format!(
            "{flag} {bad:?} is not a Greenhouse id: ids are whole numbers"
        )));
    }
    Ok(items)
}

/// Values from a fixed list (lowercase).
fn one_of(flag: &str, items: &[String], allowed: &[&str]) -> Result<Vec<String>> {
    let items: Vec<String> = clean_list(flag, items)?
        .into_iter()
        .map(|i| i.to_lowercase())
        .collect();
    if let Some(bad) = items.iter().find(|i| !allowed.contains(&i.as_str())) {
        return Err(Error::input(format!(
            "{flag} {bad:?} is not one of Greenhouse's: {}",
            allowed.join(", ")
        )));
    }
    Ok(items)
}

/// The flags as a checked query, and `--since` as given (ms; None: not given). Without
/// `--since` the query spans the 30 days Greenhouse keeps.
pub(crate) fn validate(args: &AuditArgs, ctx: &Context) -> Result<(EventsQuery, Option<i64>)> {
    let at = |flag: &str, text: &Option<String>, bound| {
        text.as_deref()
            .map(|t| ctx.time(flag, t, bound))
            .transpose()
    };
    let since = at("--since", &args.since, Bound::Start)?;
    let until = at("--until", &args.until, Bound::End)?.unwrap_or(ctx.now);
    if let Some(s) = since.filter(|s| until < *s) {
        let shown = |t| crate::time::human(t, ctx.tz());
        return Err(Error::input(format!(
            "--until ({}) is before --since ({}): nothing can be in that span",
            shown(until),
            shown(s)
        )));
    }
    let since_ms = since.map(|s| s.as_millisecond());
    let kept_from = ctx
        .now
        .as_millisecond()
        .saturating_sub(log::RETENTION_DAYS * 86_400_000);
    let query = EventsQuery {
        performer_ids: numeric("--performer", &args.performers)?,
        performer_types: one_of("--performer-type", &args.performer_types, PERFORMER_TYPES)?,
        event_types: one_of("--event-type", &args.event_types, EVENT_TYPES)?,
        target_ids: numeric("--target-id", &args.target_ids)?,
        target_types: clean_list("--target-type", &args.target_types)?,
        request_ids: clean_list("--request-id", &args.request_ids)?,
        request_types: clean_list("--request-type", &args.request_types)?,
        since_ms: since_ms.unwrap_or(kept_from),
        until_ms: until.as_millisecond().saturating_add(1),
    };
    Ok((query, since_ms))
}

pub async fn cmd_audit(args: AuditArgs, ctx: &Context) -> Result<()> {
    let (query, since) = validate(&args, ctx)?;
    if args.from_archive {
        return crate::commands::from_archive::read_back(
            ctx,
            crate::identity::Source::GreenhouseAudit,
            super::tenant(ctx),
            log::columns(),
            |t, _| log::reading(&query, since, t),
        )
        .await;
    }
    let dest = ctx.destination()?;
    let client = super::client(ctx, ctx.options.dry_run)?;
    let Some(dest) = dest else {
        let first = crate::vendors::greenhouse::events::Events {
            client: client.clone(),
            query: std::sync::Arc::new(query),
        }
        .first_request()?;
        return ctx.print_requests(Some(client.auth.describe()), &[first]);
    };
    ctx.progress.start("fetching the Greenhouse audit log…");
    let stream = log::stream(client, query, ctx.progress.clone());
    ctx.emit_events(stream, dest, log::columns(), log::origin())
        .await
}
