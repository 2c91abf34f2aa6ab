//! `hrlogs recruitee candidates`.

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::commands::{Context, clean_list};
use crate::error::{Error, Result};
use crate::plan::merge_groups;
use crate::vendors::recruitee::search::{self, SearchQuery};
use crate::vendors::recruitee::{candidate_list, candidates_by_id};

const EXAMPLES: &str = "\
Examples:
  # Every candidate, to CSV for a spreadsheet
  hrlogs recruitee candidates -o candidates.csv

  # Every candidate of one job
  hrlogs recruitee candidates --offer 1209656

  # Disqualified candidates created this month
  hrlogs recruitee candidates --status disqualified --since 2024-05-01

  # Two candidates in full (skills, custom fields, ...)
  hrlogs recruitee candidates 47300000 47300007 -f json";

/// Candidates: all of them, those of one offer, those matching a status, search or time range,
/// or, given IDs, each in full.
///
/// Without IDs or filters: GET /c/{company}/candidates, page by page. With --status, --search,
/// --since or --until: GET /c/{company}/search/new/candidates (at most 10,000 results per query;
/// hrlogs narrows the time window by itself when there are more). With IDs:
/// GET /c/{company}/candidates/{id} for each, several at once, output in the order given.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct CandidatesArgs {
    /// Candidate IDs to fetch in full
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
    /// Only candidates of this offer (job or talent pool) ID
    #[arg(long, value_name = "ID")]
    pub offer: Option<String>,
    /// Only candidates with these statuses (repeat or separate with commas)
    #[arg(long = "status", value_enum, value_delimiter = ',')]
    pub statuses: Vec<Status>,
    /// Full-text search (names, emails, ...)
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Only candidates created at or after T
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only candidates created at or before T (a bare date: the end of that day)
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Status {
    Qualified,
    Disqualified,
    New,
    Viewed,
    Overdue,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Qualified => "qualified",
            Status::Disqualified => "disqualified",
            Status::New => "new",
            Status::Viewed => "viewed",
            Status::Overdue => "overdue",
        }
    }
}

pub async fn cmd_candidates(args: CandidatesArgs, ctx: &Context) -> Result<()> {
    let ids = clean_list("candidate ID", &args.ids)?;
    if let Some(bad) = ids
        .iter()
        .find(|id| !id.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Error::input(format!(
            "candidate ID {bad:?} is not a number"
        )));
    }
    let searching = !args.statuses.is_empty()
        || args.search.is_some()
        || args.since.is_some()
        || args.until.is_some();
    if !ids.is_empty() && (searching || args.offer.is_some()) {
        return Err(Error::input(
            "candidate IDs cannot be combined with --offer, --status, --search, --since or --until",
        ));
    }
    if args.offer.is_some() && searching {
        return Err(Error::input("--offer cannot be combined with --status, --search, --since or --until")
            .hint("Recruitee's candidate search has no offer filter; filter the --offer list with jq instead"));
    }
    let search_query = if searching {
        Some(search_query(&args, ctx)?)
    } else {
        None
    };
    let offer = args.offer.as_deref().map(str::trim).map(str::to_string);
    if offer
        .as_deref()
        .is_some_and(|o| o.is_empty() || !o.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Error::input("--offer takes a numeric offer ID"));
    }
    let list_limit = super::page_size(ctx)?;
    let dest = ctx.destination()?;
    let client = super::client(ctx, ctx.options.dry_run)?;
    let mut list_params = Vec::new();
    if let Some(o) = &offer {
        list_params.push(("offer_id".to_string(), o.clone()));
    }
    let Some(dest) = dest else {
        let req = if let Some(q) = &search_query {
            q.first_request(&client)?
        } else if let Some(id) = ids.first() {
            client.request(
                &format!("candidates/{id}"),
                &[],
                "Recruitee candidate request",
            )?
        } else {
            let list = candidate_list(client.clone(), list_params.clone(), list_limit);
            list.source().request(list.first())?
        };
        return ctx.print_requests(None, &[req]);
    };
    ctx.progress.start("fetching Recruitee candidates…");
    let stream = if let Some(q) = search_query {
        search::run_wanting(
            client,
            q,
            ctx.options.output.limit,
            None,
            ctx.progress.clone(),
        )
    } else if !ids.is_empty() {
        candidates_by_id(client, ids)
    } else {
        merge_groups(
            vec![vec![candidate_list(client, list_params, list_limit)]],
            0,
            ctx.progress.clone(),
        )
    };
    ctx.emit(
        stream,
        dest,
        crate::logs::recruitee_lists::candidate_columns(),
    )
    .await
}

fn search_query(args: &CandidatesArgs, ctx: &Context) -> Result<SearchQuery> {
    let (since, until) = super::window(ctx, args.since.as_deref(), args.until.as_deref())?;
    let mut filters = Vec::new();
    if !args.statuses.is_empty() {
        let mut statuses: Vec<&str> = args.statuses.iter().map(|s| s.as_str()).collect();
        statuses.dedup();
        filters.push(json!({"field": "status", "in": statuses}));
    }
    if let Some(text) = args.search.as_deref().map(str::trim) {
        if text.is_empty() {
            return Err(Error::input("--search is empty"));
        }
        filters.push(json!({"field": "all", "query": text}));
    }
    Ok(SearchQuery {
        path: "search/new/candidates",
        items: "hits",
        filters,
        params: vec![("sort_by".into(), "created_at_desc".into())],
        since,
        until,
        limit: super::page_size(ctx)?,
    })
}
