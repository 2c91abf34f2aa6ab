//! `--from-archive` on `feishu dept-logs`, `feishu talent-logs`, `recruitee audit` and
//! `greenhouse audit`: the
//! archive instead of the vendor, newest first, the flags applied here. Generic over the logs:
//! each log's room says how the archive reads it back (`logs::<log>::reading`). No network, no
//! credentials: the tenant is the one the settings name (the caller says), else every
//! tenant's events of that source are read.

use crate::archive::{self, Store};
use crate::commands::Context;
use crate::error::Result;
use crate::identity::Source;
use crate::logs::{self, Reading};
use crate::output::Column;
use crate::vendors::feishu::dept_logs::DeptLogsQuery;
use crate::vendors::feishu::talent_logs::TalentLogsQuery;

/// How long after a stream's last sync its archive is said to be behind.
const STALE_MS: i64 = 86_400_000;

/// Says on stderr when the archive may not hold what the query asks for (exit stays 0): no
/// stream of this source (and tenant) fits the query, or the span asked reaches past what
/// the fitting streams cover. `fits` says whether a stream's query holds every event the
/// query asks for.
fn say_coverage(
    archive: &dyn Store,
    ctx: &Context,
    source: Source,
    tenant: Option<&str>,
    span: (Option<i64>, Option<i64>),
    fits: &dyn Fn(&serde_json::Value) -> bool,
) -> Result<()> {
    if ctx.options.messages.quiet {
        return Ok(());
    }
    let status = archive.status()?;
    let same: Vec<_> = status
        .streams
        .iter()
        .filter(|s| s.source == source.name() && tenant.is_none_or(|t| t == s.tenant))
        .collect();
    let fitting: Vec<_> = same
        .iter()
        .filter(|s| s.cursor_ms.is_some() && fits(&s.query))
        .collect();
    let sync = format!("hrlogs sync {} …", source.name());
    if fitting.is_empty() {
        let have = if same.is_empty() {
            format!("it holds no stream of {}", source.name())
        } else {
            let list: Vec<String> = same
                .iter()
                .map(|s| crate::output::escape_for_terminal(&s.query.to_string()))
                .collect();
            format!("its streams of {} are {}", source.name(), list.join(", "))
        };
        ctx.progress.warn(&format!(
            "no stream of the archive holds every event this query asks for ({have}); start one with `{sync}` and the same flags"
        ));
        return Ok(());
    }
    let from = fitting
        .iter()
        .map(|s| s.covered_from_ms)
        .try_fold(i64::MAX, |m, f| f.map(|f| m.min(f)));
    let until = fitting.iter().filter_map(|s| s.cursor_ms).max();
    let show = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
            .unwrap_or_else(|_| ms.to_string())
    };
    let (asked_from, asked_until) = span;
    if let (Some(f), Some(a)) = (from, asked_from) {
        if a < f {
            ctx.progress.warn(&format!(
                "the archive holds these events from {} on: what came before is not in it",
                show(f)
            ));
        }
    }
    if let Some(u) = until {
        // A stream synced within the last day is taken as current (a nightly sync).
        let end = asked_until
            .unwrap_or(i64::MAX)
            .min(ctx.now.as_millisecond());
        if end.saturating_sub(u) > STALE_MS {
            ctx.progress.warn(&format!(
                "the archive holds these events up to its last sync, {}: run `{sync}` for what came since",
                show(u)
            ));
        }
    }
    Ok(())
}

fn open(ctx: &Context) -> Result<Box<dyn Store>> {
    let location = ctx.archive_location()?;
    crate::output::blocking(|| archive::open_for_reading(&location))
}

/// Reads the archive back as `reading` says, after saying whether it holds the answer (a
/// log's command calls it with its room's `reading`).
pub(crate) async fn read_back(
    ctx: &Context,
    source: Source,
    tenant: Option<String>,
    columns: Vec<Column>,
    reading: impl FnOnce(Option<String>, &[(i64, String, String, serde_json::Value)]) -> Reading,
) -> Result<()> {
    let archive = open(ctx)?;
    let streams = crate::output::blocking(|| archive.streams())?;
    let Reading {
        filter,
        span,
        covered_by,
    } = reading(tenant.clone(), &streams);
    crate::output::blocking(|| {
        say_coverage(
            archive.as_ref(),
            ctx,
            source,
            tenant.as_deref(),
            span,
            covered_by.as_ref(),
        )
    })?;
    let Some(dest) = ctx.destination()? else {
        return Ok(());
    };
    let origin = super::origin(source, ctx);
    let stream = archive.read(filter);
    drop(archive);
    ctx.emit_events(stream, dest, columns, origin).await
}

/// `feishu dept-logs --from-archive`.
pub async fn dept_logs(query: DeptLogsQuery, tenant: Option<String>, ctx: &Context) -> Result<()> {
    read_back(
        ctx,
        Source::FeishuDeptLogs,
        tenant,
        logs::feishu_dept::columns(),
        |t, s| logs::feishu_dept::reading(&query, t, s),
    )
    .await
}

/// `feishu talent-logs --from-archive`.
pub async fn talent_logs(
    query: TalentLogsQuery,
    tenant: Option<String>,
    ctx: &Context,
) -> Result<()> {
    read_back(
        ctx,
        Source::FeishuTalentLogs,
        tenant,
        logs::feishu_talent::columns(),
        |t, s| logs::feishu_talent::reading(&query, t, s),
    )
    .await
}

/// `recruitee audit --from-archive`.
pub async fn audit(
    query: logs::recruitee_audit::AuditQuery,
    tenant: Option<String>,
    ctx: &Context,
) -> Result<()> {
    read_back(
        ctx,
        Source::RecruiteeAudit,
        tenant,
        logs::recruitee_audit::columns(),
        |t, _| logs::recruitee_audit::reading(&query, t),
    )
    .await
}
