//! `hrlogs recruitee …`: builds the Recruitee client from the settings and runs the subcommand.

pub mod audit;
pub mod candidates;
pub mod offers;

use std::sync::Arc;

use clap::Subcommand;
use secrecy::SecretString;

use super::Context;
use crate::error::{Error, Result};
use crate::fetch::{Lane, Pacer};
use crate::time::Bound;
use crate::vendors::recruitee::Recruitee;
use crate::vendors::recruitee::settings::{self as keys, RecruiteeSettings};

/// Recruitee's search endpoints page with `limit` up to this (the 10,000-result window).
pub const MAX_PAGE_SIZE: u32 = 10_000;
pub const DEFAULT_PAGE_SIZE: u32 = 100;

#[derive(Debug, Subcommand)]
pub enum RecruiteeCommand {
    /// The audit log: who did what to candidates and offers, newest first
    Audit(audit::AuditArgs),
    /// Candidates: all, by offer, by status/search/time, or by ID in full
    Candidates(candidates::CandidatesArgs),
    /// Offers: jobs and talent pools
    Offers(offers::OffersArgs),
}

pub async fn run(cmd: RecruiteeCommand, ctx: &Context) -> Result<()> {
    match cmd {
        RecruiteeCommand::Audit(args) => audit::cmd_audit(args, ctx).await,
        RecruiteeCommand::Candidates(args) => {
            ctx.refuse_ocsf("recruitee candidates")?;
            candidates::cmd_candidates(args, ctx).await
        }
        RecruiteeCommand::Offers(args) => {
            ctx.refuse_ocsf("recruitee offers")?;
            offers::cmd_offers(args, ctx).await
        }
    }
}

/// The Recruitee client, with credentials checked before any request (placeholders with `dry_run`).
pub fn client(ctx: &Context, dry_run: bool) -> Result<Arc<Recruitee>> {
    let s = RecruiteeSettings::load(&ctx.settings)?;
    let company = match s.company_id {
        Some(c) => c,
        None if dry_run => "COMPANY_ID".into(),
        None => return Err(ctx.settings.missing(&keys::COMPANY_ID)),
    };
    let token: SecretString = match s.api_token {
        Some(t) => t,
        None if dry_run => SecretString::from(String::new()),
        None => return Err(ctx.settings.missing(&keys::API_TOKEN)),
    };
    let in_flight = s.max_in_flight;
    let lane = Lane::new(Pacer::new(s.rate_limit, None), in_flight);
    ctx.progress
        .redactor()
        .register(secrecy::ExposeSecret::expose_secret(&token));
    // Checked: http(s) only, a warning for plain http to another machine. `Recruitee::new`
    // keeps a gateway's path prefix.
    let (base, warning) = crate::fetch::base_url("recruitee.base_url", &s.base_url)?;
    if let Some(w) = warning {
        ctx.progress.warn(&w);
    }
    Ok(Arc::new(Recruitee::new(
        base.as_str(),
        &company,
        token,
        ctx.http.clone(),
        lane,
        in_flight as usize,
    )?))
}

/// The Recruitee tenant as the archive keeps it: the normalised base URL and the company (or
/// `sandbox`). None when it cannot be told.
pub fn tenant(ctx: &Context) -> Option<String> {
    if ctx.options.sandbox {
        return Some("sandbox".into());
    }
    let base = ctx.settings.plain(&keys::BASE_URL)?;
    let company = ctx.settings.plain(&keys::COMPANY_ID)?;
    Some(format!(
        "{}/c/{}",
        crate::archive::tenant::normalize(&base),
        company.trim()
    ))
}

/// The page size for the search endpoints.
pub fn page_size(ctx: &Context) -> Result<u32> {
    match ctx.options.page_size {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(_) => ctx.page_size(MAX_PAGE_SIZE),
    }
}

/// Unix seconds of `--since`/`--until` (until defaults to now).
pub fn window(
    ctx: &Context,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<(Option<i64>, i64)> {
    let since = since
        .map(|t| ctx.time("--since", t, Bound::Start))
        .transpose()?;
    let until = until
        .map(|t| ctx.time("--until", t, Bound::End))
        .transpose()?
        .unwrap_or(ctx.now);
    if let Some(s) = since {
        if until < s {
            return Err(Error::input(format!(
                "--until ({}) is before --since ({})",
                crate::time::human(until, ctx.tz()),
                crate::time::human(s, ctx.tz())
            )));
        }
    }
    Ok((since.map(|s| s.as_second()), until.as_second()))
}
