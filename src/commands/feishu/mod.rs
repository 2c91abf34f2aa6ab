//! `hrlogs feishu …`: builds the Feishu client from the settings and runs the subcommand.

pub mod dept_logs;
pub mod talent_logs;

use std::sync::Arc;

use clap::Subcommand;
use url::Url;

use super::Context;
use crate::error::Result;
use crate::fetch::{Lane, Pacer};
use crate::identity::Source;
use crate::ocsf::Origin;
use crate::output::Format;

use crate::vendors::feishu::settings::{self as keys, FeishuSettings};
use crate::vendors::feishu::{Feishu, TokenSource, token_request_description};

#[derive(Debug, Subcommand)]
pub enum FeishuCommand {
    /// Talent operation logs (Feishu Hire): who did what to which talent
    TalentLogs(talent_logs::TalentLogsArgs),
    /// CoreHR department operation logs: every change to the given departments
    DeptLogs(dept_logs::DeptLogsArgs),
}

pub async fn run(cmd: FeishuCommand, ctx: &Context) -> Result<()> {
    match cmd {
        FeishuCommand::TalentLogs(args) => talent_logs::cmd_talent_logs(args, ctx).await,
        FeishuCommand::DeptLogs(args) => dept_logs::cmd_dept_logs(args, ctx).await,
    }
}

/// The checked base URL, and a warning if it is plain http:// to another machine.
fn checked_base_url(settings: &FeishuSettings) -> Result<(Url, Option<String>)> {
    crate::fetch::base_url("feishu.base_url", &settings.base_url).map_err(|e| {
        e.hint("use https://open.feishu.cn (Feishu) or https://open.larksuite.com (Lark)")
    })
}

fn base_url(settings: &FeishuSettings) -> Result<Url> {
    checked_base_url(settings).map(|(url, _)| url)
}

/// The Feishu client, with credentials checked before any request. With `dry_run`, missing
/// credentials are allowed (nothing is sent).
pub fn client(ctx: &Context, dry_run: bool) -> Result<Arc<Feishu>> {
    let s = FeishuSettings::load(&ctx.settings)?;
    let (base, warning) = checked_base_url(&s)?;
    if let Some(w) = warning {
        ctx.progress.warn(&w);
    }
    let missing = |key| ctx.settings.missing(key);
    let fixed = s.tenant_access_token;
    let app = match (s.app_id, s.app_secret) {
        (Some(id), Some(secret)) => Some((id, secret)),
        (Some(_), None) if fixed.is_none() && !dry_run => return Err(missing(&keys::APP_SECRET)),
        (None, Some(_)) if fixed.is_none() && !dry_run => return Err(missing(&keys::APP_ID)),
        _ => None,
    };
    if fixed.is_none() && app.is_none() && !dry_run {
        return Err(missing(&keys::APP_ID));
    }
    let in_flight = s.max_in_flight;
    let talent_lane = Lane::new(
        Pacer::new(s.talent_logs_per_second, Some(s.talent_logs_per_minute)),
        in_flight,
    );
    let dept_lane = Lane::new(Pacer::new(s.dept_logs_per_second, None), in_flight);
    let auth = TokenSource::new(&base, fixed, app, ctx.progress.redactor().clone())?;
    Ok(Arc::new(Feishu {
        base,
        http: ctx.http.clone(),
        auth,
        talent_lane,
        dept_lane,
    }))
}

/// Which Feishu log and tenant the records come from (for `-f ocsf` and the zone of xlsx
/// times): the app id, else the base URL's host; the table of the log's operation codes; for
/// department logs, the tenant's zone (`feishu.tenant_time_zone`). Without that zone, a run
/// whose output depends on it (`-f ocsf` or `xlsx`) says once which zone it assumed and how
/// to set it.
pub fn origin(ctx: &Context, source: Source) -> Origin {
    let base = ctx.settings.plain(&keys::BASE_URL).unwrap_or_default();
    let app_id = ctx.settings.plain(&keys::APP_ID);
    if source != Source::FeishuDeptLogs {
        return crate::logs::feishu_talent::origin(&base, app_id.as_deref());
    }
    let zone = match keys::tenant_time_zone(&ctx.settings) {
        Ok(zone) => zone,
        Err(e) => {
            ctx.progress.warn(&e.to_string());
            None
        }
    };
    let format = ctx.options.output.format;
    if zone.is_none() && matches!(format, Format::Ocsf | Format::Xlsx) {
        ctx.progress.warn(&assumed_zone(ctx.tz(), format));
    }
    crate::logs::feishu_dept::origin(&base, app_id.as_deref(), zone)
}

/// The Feishu tenant as the archive keeps it: the normalised base URL (or `sandbox`); see
/// `archive::tenant`. None when it cannot be told (no credentials: nothing to sync either).
pub fn tenant(ctx: &Context) -> Option<String> {
    if ctx.options.sandbox {
        return Some("sandbox".into());
    }
    let s = &ctx.settings;
    let base = s.plain(&keys::BASE_URL)?;
    (s.plain(&keys::APP_ID).is_some() || s.secret(&keys::TENANT_ACCESS_TOKEN).is_some())
        .then(|| crate::archive::tenant::normalize(&base))
}

/// The warning of a run that reads department log times without knowing the tenant's zone.
fn assumed_zone(tz: &jiff::tz::TimeZone, format: Format) -> String {
    let what = match format {
        Format::Ocsf => format!(
            "their OCSF `time` assumes the tenant's clock is {} (--tz, else TZ)",
            crate::output::zone_name(tz)
        ),
        _ => "the workbook shows them as given, in no named zone".to_string(),
    };
    zone_hint(&what)
}

/// The warning of a sync that archives department log times without knowing the tenant's zone.
pub fn archived_without_zone() -> String {
    zone_hint(
        "the archive keeps them without an offset (audit_events.occurred_at reads them as UTC and occurred_zone is empty, until a sync that knows the zone fills them in)",
    )
}

fn zone_hint(what: &str) -> String {
    format!(
        "Feishu department log times carry no time zone: {what}; set {} or `{}` in the [feishu] table (e.g. Asia/Shanghai) to the tenant's zone",
        keys::TENANT_TIME_ZONE.env,
        keys::TENANT_TIME_ZONE.name
    )
}

/// What `--dry-run` shows before the API requests: the token exchange, if one would be made.
fn token_preamble(ctx: &Context) -> Option<String> {
    let s = FeishuSettings::load(&ctx.settings).ok()?;
    if s.tenant_access_token.is_some() {
        return None;
    }
    let base = base_url(&s).ok()?;
    let app_id = s.app_id.unwrap_or_else(|| "<feishu.app_id unset>".into());
    Some(token_request_description(&base, &app_id))
}
