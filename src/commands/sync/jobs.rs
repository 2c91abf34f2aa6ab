//! What a sync query is, from the flags of `sync <vendor> <log>`: the log of the `logs` room
//! with its query, client and tenant ([`crate::logs::Log`]). Everything else about a log (its
//! stream key, how a run is planned, the time of a record) is in its room; the engine and the
//! delivery are generic over it.

use crate::commands::feishu::dept_logs::{self as dept_cmd, DeptLogsArgs};
use crate::commands::feishu::talent_logs::{self as talent_cmd, TalentLogsArgs};
use crate::commands::recruitee::audit::{self as audit_cmd, AuditArgs};
use crate::commands::{Context, feishu, greenhouse, recruitee};
use crate::error::{Error, Result};
use crate::logs::Log;
use crate::logs::feishu_dept::DeptLog;
use crate::logs::feishu_talent::TalentLog;
use crate::logs::recruitee_audit::AuditLog;
use crate::settings::Key;
use crate::vendors::feishu::settings as feishu_keys;
use crate::vendors::greenhouse::settings as greenhouse_keys;
use crate::vendors::recruitee::settings as recruitee_keys;

/// One sync query: a log with its query.
pub type Job = Box<dyn Log>;

fn refuse_until(until: &Option<String>) -> Result<()> {
    if until.is_some() {
        return Err(
            Error::input("--until does not fit sync: a sync always fetches up to now")
                .hint("read a range of the archive with --from-archive --since … --until …"),
        );
    }
    Ok(())
}

/// The tenant of a sync's stream, or the error naming the setting that would give it
/// (`--dry-run` plans without one).
fn tenant(t: Option<String>, key: &Key, ctx: &Context) -> Result<String> {
    match t {
        Some(t) => Ok(t),
        None if ctx.options.dry_run => Ok("(unset)".into()),
        None => Err(ctx.settings.missing(key)),
    }
}

/// `sync feishu dept-logs`: the stream of these departments (and ID type).
pub fn dept_logs(args: &DeptLogsArgs, ctx: &Context) -> Result<Job> {
    refuse_until(&args.until)?;
    // Later syncs start from the cursor: --since is needed only by the first one.
    let (query, since) = dept_cmd::validate_for_sync(args, ctx)?;
    let client = feishu::client(ctx, ctx.options.dry_run)?;
    let tenant = tenant(feishu::tenant(ctx), &feishu_keys::APP_ID, ctx)?;
    // The tenant's zone: the archive keeps each event's offset in it (a zone that is not one
    // is said, as the other Feishu commands say it, and the events are kept without).
    let zone = match feishu_keys::tenant_time_zone(&ctx.settings) {
        Ok(Some(zone)) => Some(zone),
        Ok(None) => {
            ctx.progress.warn(&feishu::archived_without_zone());
            None
        }
        Err(e) => {
            ctx.progress.warn(&e.to_string());
            None
        }
    };
    Ok(Box::new(DeptLog::new(
        client,
        query,
        since,
        (ctx.tz().clone(), zone),
        tenant,
    )))
}

/// `sync feishu talent-logs`: the stream of these operators, operations, jobs, ID type.
pub fn talent_logs(args: &TalentLogsArgs, ctx: &Context) -> Result<Job> {
    refuse_until(&args.until)?;
    let query = talent_cmd::validate(args, ctx)?;
    let client = feishu::client(ctx, ctx.options.dry_run)?;
    let tenant = tenant(feishu::tenant(ctx), &feishu_keys::APP_ID, ctx)?;
    Ok(Box::new(TalentLog::new(client, query, tenant)))
}

/// `sync recruitee audit`: the stream of these actor, search and event filters.
pub fn audit(args: &AuditArgs, ctx: &Context) -> Result<Job> {
    refuse_until(&args.until)?;
    let query = audit_cmd::validate(args, ctx)?;
    let client = recruitee::client(ctx, ctx.options.dry_run)?;
    let tenant = tenant(recruitee::tenant(ctx), &recruitee_keys::COMPANY_ID, ctx)?;
    Ok(Box::new(AuditLog::new(client, query, tenant)))
}

/// `sync greenhouse audit`: the stream of these filters.
pub fn greenhouse_audit(args: &greenhouse::audit::AuditArgs, ctx: &Context) -> Result<Job> {
    refuse_until(&args.until)?;
    let (query, since) = greenhouse::audit::validate(args, ctx)?;
    let client = greenhouse::client(ctx, ctx.options.dry_run)?;
    let tenant = tenant(
        greenhouse::tenant(ctx),
        &greenhouse_keys::ORGANIZATION_ID,
        ctx,
    )?;
    Ok(Box::new(crate::logs::greenhouse_audit::AuditLog::new(
        client, query, since, tenant,
    )))
}
