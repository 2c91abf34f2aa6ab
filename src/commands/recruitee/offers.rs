//! `hrlogs recruitee offers`.

use clap::{Args, ValueEnum};

use crate::commands::Context;
use crate::error::Result;
use crate::plan::merge_groups;
use crate::vendors::recruitee::offer_list;

const EXAMPLES: &str = "\
Examples:
  hrlogs recruitee offers --kind job
  hrlogs recruitee offers -f json \\
    | jq -r '.[] | select(.status == \"published\") | .title'";

/// Offers: the company's jobs and talent pools (GET /c/{company}/offers, every page).
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct OffersArgs {
    /// Only jobs or only talent pools [default: both]
    #[arg(long, value_enum)]
    pub kind: Option<OfferKind>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum OfferKind {
    Job,
    TalentPool,
}

pub async fn cmd_offers(args: OffersArgs, ctx: &Context) -> Result<()> {
    let mut params = Vec::new();
    if let Some(kind) = args.kind {
        let kind = match kind {
            OfferKind::Job => "job",
            OfferKind::TalentPool => "talent_pool",
        };
        params.push(("kind".to_string(), kind.to_string()));
    }
    let dest = ctx.destination()?;
    let client = super::client(ctx, ctx.options.dry_run)?;
    let list = offer_list(client, params);
    let Some(dest) = dest else {
        return ctx.print_requests(None, &[list.source().request(list.first())?]);
    };
    ctx.progress.start("fetching Recruitee offers…");
    let stream = merge_groups(vec![vec![list]], 0, ctx.progress.clone());
    ctx.emit(stream, dest, crate::logs::recruitee_lists::offer_columns())
        .await
}
