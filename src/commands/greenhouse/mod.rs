//! `hrlogs greenhouse …`: builds the Greenhouse client from the settings and runs the
//! subcommand.

pub mod audit;

use std::sync::Arc;
use std::time::Duration;

use clap::Subcommand;
use secrecy::SecretString;

use super::Context;
use crate::error::Result;
use crate::fetch::{Lane, Pacer};
use crate::vendors::greenhouse::settings::{self as keys, GreenhouseSettings};
use crate::vendors::greenhouse::{Greenhouse, auth::Jwt};

#[derive(Debug, Subcommand)]
pub enum GreenhouseCommand {
    /// The audit log: who accessed or changed what in Greenhouse Recruiting, newest first
    Audit(audit::AuditArgs),
}

pub async fn run(cmd: GreenhouseCommand, ctx: &Context) -> Result<()> {
    match cmd {
        GreenhouseCommand::Audit(args) => audit::cmd_audit(args, ctx).await,
    }
}

/// The Greenhouse client, with the key checked before any request (a placeholder with
/// `dry_run`). Both of Greenhouse's limits are kept here: all requests share one pacer, and
/// paginated ones pass their own first.
pub fn client(ctx: &Context, dry_run: bool) -> Result<Arc<Greenhouse>> {
    let s = GreenhouseSettings::load(&ctx.settings)?;
    let key: SecretString = match s.api_key {
        Some(k) => k,
        None if dry_run => SecretString::from(String::new()),
        None => return Err(ctx.settings.missing(&keys::API_KEY)),
    };
    let (base, warning) = crate::fetch::base_url("greenhouse.base_url", &s.base_url)?;
    if let Some(w) = warning {
        ctx.progress.warn(&w);
    }
    let (auth_url, warning) = crate::fetch::base_url("greenhouse.auth_url", &s.auth_url)?;
    if let Some(w) = warning {
        ctx.progress.warn(&w);
    }
    let overall = Pacer::every(s.rate_limit, Duration::from_secs(10));
    let paged = Pacer::every(s.page_rate_limit, Duration::from_secs(30)).and(&overall);
    let in_flight = s.max_in_flight;
    let lanes = (Lane::new(overall, in_flight), Lane::new(paged, in_flight));
    let organization = s.organization_id.clone();
    let jwt = Jwt::new(
        &auth_url,
        key,
        s.on_behalf_of.filter(|u| !u.trim().is_empty()),
        ctx.progress.redactor().clone(),
    );
    Ok(Arc::new(
        Greenhouse::new(
            &base,
            jwt,
            ctx.http.clone(),
            lanes,
            in_flight as usize,
            (
                Duration::from_secs(10) / s.rate_limit.max(1),
                Duration::from_secs(30) / s.page_rate_limit.max(1),
            ),
        )
        .for_organization(organization),
    ))
}

/// The Greenhouse tenant as the archive keeps it: the normalised events host and the
/// organization (`https://auditlog.us.greenhouse.io/organizations/123`), or `sandbox`. None
/// without `greenhouse.organization_id`: two organizations on one regional host must never
/// share a stream (its cursor would skip the other's results).
pub fn tenant(ctx: &Context) -> Option<String> {
    if ctx.options.sandbox {
        return Some("sandbox".into());
    }
    let base = ctx.settings.plain(&keys::BASE_URL)?;
    let org = ctx.settings.plain(&keys::ORGANIZATION_ID)?;
    let org = org.trim();
    if org.is_empty() {
        return None;
    }
    Some(format!(
        "{}/organizations/{org}",
        crate::archive::tenant::normalize(&base)
    ))
}
