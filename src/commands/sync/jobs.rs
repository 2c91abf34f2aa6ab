//! What each source's sync is: the stream key (command, tenant, query flags other than the
//! time range), and the plan of one run: the units it fetches (each a record stream that can
//! be completed and skipped on resume), and what the stream's row says when the run completes.

use std::sync::Arc;

use jiff::Timestamp;
use jiff::ToSpan;
use jiff::civil::Date;
use serde_json::json;

use crate::archive::{StreamKey, StreamState};
use crate::commands::Context;
use crate::commands::feishu::dept_logs::{self as dept_cmd, DeptLogsArgs};
use crate::commands::feishu::talent_logs::{self as talent_cmd, MAX_CHAINS, TalentLogsArgs};
use crate::commands::recruitee::audit::{self as audit_cmd, AuditArgs, AuditQuery};
use crate::error::{Error, Result};
use crate::fetch::Request;
use crate::identity::Source;
use crate::ocsf::Origin;
use crate::output::Column;
use crate::plan::{RecordStream, date_windows, filter, merge_groups};
use crate::progress::Progress;
use crate::settings::Key;
use crate::vendors::feishu::Feishu;
use crate::vendors::feishu::dept_logs::{self, DeptLogsQuery, MAX_SPAN_DAYS};
use crate::vendors::feishu::settings as feishu_keys;
use crate::vendors::feishu::talent_logs::{self, TalentLogsQuery};
use crate::vendors::recruitee::Recruitee;
use crate::vendors::recruitee::settings as recruitee_keys;

/// How far back a later Recruitee sync starts before its cursor (events indexed late).
pub const AUDIT_OVERLAP_SECONDS: i64 = 600;
/// How long Recruitee keeps audit events.
pub const AUDIT_RETENTION_DAYS: i64 = 30;

/// One sync query.
pub struct Job {
    pub key: StreamKey,
    kind: Kind,
}

enum Kind {
    Dept {
        feishu: Arc<Feishu>,
        query: DeptLogsQuery,
        /// The --since the user gave (required by the first sync).
        since: Option<Date>,
    },
    Talent {
        feishu: Arc<Feishu>,
        query: TalentLogsQuery,
    },
    Audit {
        client: Arc<Recruitee>,
        query: AuditQuery,
    },
}

/// How a unit's records get their ids.
#[derive(Clone, Copy)]
pub enum IdMode {
    /// Along the stream ([`crate::identity::Identifier`]): records come grouped by day.
    Stream,
    /// Counting identical records per day over the whole unit, in any order (Feishu).
    Counted,
}

/// Starts a unit's record stream. The key is the floor a killed run staged down to (only
/// for units that keep one: everything at or above it is staged), so only what is below it
/// is fetched.
pub type Start = Box<dyn FnOnce(Progress, Option<i64>) -> RecordStream + Send>;

/// A part of a run that is fetched, staged and marked done as a whole.
pub struct Unit {
    /// Names the unit among the stream's (resume skips done units by this name).
    pub name: String,
    pub ids: IdMode,
    /// Whether the unit's stream comes newest first in verified pieces, so that what was
    /// staged can be kept as a floor (everything at or above the oldest key staged, plus
    /// one) and a resumed run fetches only below it.
    pub floors: bool,
    pub start: Start,
    /// The first request of each of the unit's chains (what `--dry-run` shows).
    pub first_requests: Vec<Request>,
}

/// One run's plan.
pub struct RunPlan {
    pub units: Vec<Unit>,
    /// What the stream's row says once the run completes.
    pub covered_from: Option<i64>,
    /// The end of what the run asks for (ms, the host's clock): the cursor, unless the
    /// vendor's clock is behind it (see the engine).
    pub cursor: i64,
    /// The run's range as JSON, kept until it completes (to resume with the same units).
    pub pending: Option<String>,
    /// The earliest time (ms) the run asks for; None: everything the vendor has. `archive
    /// verify` checks that it is not after the stream's cursor before the run (no span
    /// skipped).
    pub asked_from: Option<i64>,
    /// Spans the vendor may already have forgotten: (from, until) in ms, and what to say.
    pub lost: Option<(Option<i64>, i64, String)>,
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn refuse_until(until: &Option<String>) -> Result<()> {
    if until.is_some() {
        return Err(
            Error::input("--until does not fit sync: a sync always fetches up to now")
                .hint("read a range of the archive with --from-archive --since … --until …"),
        );
    }
    Ok(())
}

/// The Feishu tenant: the normalised base URL (or `sandbox`); see `archive::tenant`. None
/// when it cannot be told (no credentials: nothing to sync with either).
pub fn feishu_tenant(ctx: &Context) -> Option<String> {
    if ctx.options.sandbox {
        return Some("sandbox".into());
    }
    let s = &ctx.settings;
    let base = s.plain(&feishu_keys::BASE_URL)?;
    (s.plain(&feishu_keys::APP_ID).is_some()
        || s.secret(&feishu_keys::TENANT_ACCESS_TOKEN).is_some())
    .then(|| crate::archive::tenant::normalize(&base))
}

/// The Recruitee tenant: the normalised base URL and the company (or `sandbox`). None when
/// it cannot be told.
pub fn recruitee_tenant(ctx: &Context) -> Option<String> {
    if ctx.options.sandbox {
        return Some("sandbox".into());
    }
    let base = ctx.settings.plain(&recruitee_keys::BASE_URL)?;
    let company = ctx.settings.plain(&recruitee_keys::COMPANY_ID)?;
    Some(format!(
        "{}/c/{}",
        crate::archive::tenant::normalize(&base),
        company.trim()
    ))
}

fn tenant_or_missing(t: Option<String>, key: &Key, ctx: &Context) -> Result<String> {
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
    let given = args.since.is_some();
    let mut query = if given {
        dept_cmd::validate(args, ctx)?
    } else {
        let with_since = DeptLogsArgs {
            since: Some("today".into()),
            departments: args.departments.clone(),
            department_file: args.department_file.clone(),
            until: None,
            department_id_type: args.department_id_type,
            from_archive: false,
        };
        dept_cmd::validate(&with_since, ctx)?
    };
    query.departments.sort();
    let feishu = crate::commands::feishu::client(ctx, ctx.options.dry_run)?;
    let tenant = tenant_or_missing(feishu_tenant(ctx), &feishu_keys::APP_ID, ctx)?;
    let key = StreamKey {
        source: Source::FeishuDeptLogs,
        tenant,
        query: json!({
            "departments": query.departments,
            "department_id_type": query.department_id_type,
        })
        .to_string(),
    };
    let since = given.then_some(query.since);
    Ok(Job {
        key,
        kind: Kind::Dept {
            feishu,
            query,
            since,
        },
    })
}

/// `sync feishu talent-logs`: the stream of these operators, operations, jobs, ID type.
pub fn talent_logs(args: &TalentLogsArgs, ctx: &Context) -> Result<Job> {
    refuse_until(&args.until)?;
    let mut query = talent_cmd::validate(args, ctx)?;
    query.operators.sort();
    query.operations.sort_unstable();
    query.jobs.sort();
    let feishu = crate::commands::feishu::client(ctx, ctx.options.dry_run)?;
    let tenant = tenant_or_missing(feishu_tenant(ctx), &feishu_keys::APP_ID, ctx)?;
    let key = StreamKey {
        source: Source::FeishuTalentLogs,
        tenant,
        query: json!({
            "operators": query.operators,
            "operations": query.operations,
            "jobs": query.jobs,
            "user_id_type": query.user_id_type,
        })
        .to_string(),
    };
    Ok(Job {
        key,
        kind: Kind::Talent { feishu, query },
    })
}

/// `sync recruitee audit`: the stream of these actor, search and event filters.
pub fn audit(args: &AuditArgs, ctx: &Context) -> Result<Job> {
    refuse_until(&args.until)?;
    let query = audit_cmd::validate(args, ctx)?;
    let client = crate::commands::recruitee::client(ctx, ctx.options.dry_run)?;
    let tenant = tenant_or_missing(recruitee_tenant(ctx), &recruitee_keys::COMPANY_ID, ctx)?;
    let key = StreamKey {
        source: Source::RecruiteeAudit,
        tenant,
        query: json!({
            "actors": sorted(query.actors.clone()),
            "exclude_actors": sorted(query.excluded.clone()),
            "search": query.text,
            "events": sorted(query.events.clone()),
        })
        .to_string(),
    };
    Ok(Job {
        key,
        kind: Kind::Audit { client, query },
    })
}

/// A date's midnight as the ms that department logs' keys use (wall clock read as UTC).
fn day_ms(d: Date) -> i64 {
    d.at(0, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

fn ms_day(ms: i64) -> Option<Date> {
    Timestamp::from_millisecond(ms)
        .ok()
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
}

/// Which log and tenant records of `source` come from, as `-f ocsf` says it.
pub fn origin(source: Source, ctx: &Context) -> Origin {
    match source {
        Source::FeishuDeptLogs | Source::FeishuTalentLogs => {
            crate::commands::feishu::origin(ctx, source)
        }
        Source::RecruiteeAudit => Origin::recruitee(
            &ctx.settings
                .plain(&recruitee_keys::COMPANY_ID)
                .unwrap_or_default(),
        ),
    }
}

impl Job {
    /// The default columns of csv and table.
    pub fn columns(&self) -> Vec<Column> {
        match self.kind {
            Kind::Dept { .. } => dept_cmd::columns(),
            Kind::Talent { .. } => talent_cmd::columns(),
            Kind::Audit { .. } => audit_cmd::columns(),
        }
    }

    /// What one run fetches, given the stream's row and the time now.
    pub fn plan(&self, state: &StreamState, now: Timestamp, ctx: &Context) -> Result<RunPlan> {
        let now_ms = now.as_millisecond();
        match &self.kind {
            Kind::Dept {
                feishu,
                query,
                since,
            } => {
                let today = now.to_zoned(ctx.tz().clone()).date();
                let covered = state.covered_from.and_then(ms_day);
                // An unfinished run resumes with its own ranges, so that its done units match.
                let mut ranges: Vec<(Date, Date)> = state
                    .pending
                    .as_deref()
                    .and_then(|p| serde_json::from_str::<Vec<(String, String)>>(p).ok())
                    .map(|v| {
                        v.iter()
                            .filter_map(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                            .collect()
                    })
                    .unwrap_or_default();
                if ranges.is_empty() {
                    match state.cursor.and_then(ms_day) {
                        // Whole days, from the day before the last sync: late entries too.
                        Some(cursor_day) => {
                            let from = cursor_day.checked_sub(1.day()).unwrap_or(cursor_day);
                            ranges.push((from.min(today), today));
                        }
                        None => match since {
                            Some(s) => ranges.push((*s, today)),
                            None => {
                                return Err(Error::input(
                                    "--since is required for the first sync of these departments",
                                )
                                .hint("e.g. --since 2024-01-01: the first day to archive"));
                            }
                        },
                    }
                }
                let earliest = ranges.iter().map(|r| r.0).min().unwrap_or(today);
                if let Some(s) = since.filter(|s| *s < covered.unwrap_or(earliest).min(earliest)) {
                    ranges.push((s, covered.unwrap_or(earliest).min(earliest)));
                }
                let last_until = ranges.iter().map(|r| r.1).max().unwrap_or(today);
                if last_until < today {
                    ranges.push((last_until, today));
                }
                ranges.dedup();
                let earliest = ranges.iter().map(|r| r.0).min().unwrap_or(today);
                let covered_from = Some(day_ms(match covered {
                    Some(c) => c.min(earliest),
                    None => earliest,
                }));
                let mut units = Vec::new();
                for (from, to) in &ranges {
                    for (start, end) in date_windows(*from, (*to).max(*from), MAX_SPAN_DAYS) {
                        let mut q = query.clone();
                        q.since = start;
                        q.until = end;
                        let feishu = feishu.clone();
                        let first_requests = dept_logs::plan(feishu.clone(), q.clone())
                            .iter()
                            .flatten()
                            .map(|c| c.request(None))
                            .collect::<Result<Vec<_>>>()?;
                        units.push(Unit {
                            first_requests,
                            name: format!("days {start}..{end}"),
                            // Counted, not along the stream: exact even if the vendor's
                            // newest-first order were not strictly kept across days.
                            ids: IdMode::Counted,
                            floors: false,
                            start: Box::new(move |progress, _| {
                                merge_groups(dept_logs::plan(feishu, q), 0, progress)
                            }),
                        });
                    }
                }
                let asked_from = ranges.iter().map(|r| day_ms(r.0)).min();
                Ok(RunPlan {
                    units,
                    covered_from,
                    cursor: now_ms,
                    asked_from,
                    pending: serde_json::to_string(
                        &ranges
                            .iter()
                            .map(|(a, b)| (a.to_string(), b.to_string()))
                            .collect::<Vec<_>>(),
                    )
                    .ok(),
                    lost: None,
                })
            }
            Kind::Talent { feishu, query } => {
                let (since, until) = (query.since_ms, query.until_ms);
                let chains = talent_logs::chains(feishu.clone(), query.clone(), MAX_CHAINS);
                let n = chains.len();
                let units = chains
                    .into_iter()
                    .enumerate()
                    .map(|(i, chain)| {
                        Ok(Unit {
                            first_requests: vec![chain.first_request()?],
                            name: format!("chain {} of {n}", i + 1),
                            ids: IdMode::Counted,
                            floors: false,
                            start: Box::new(move |progress, _| {
                                let stream = merge_groups(vec![vec![chain]], 0, progress);
                                if since.is_none() && until.is_none() {
                                    return stream;
                                }
                                // The API has no time filter: --since applies here.
                                filter(stream, move |r| {
                                    since.is_none_or(|s| r.key >= s)
                                        && until.is_none_or(|u| r.key <= u)
                                })
                            }) as Start,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(RunPlan {
                    units,
                    covered_from: None,
                    cursor: now_ms,
                    // The API has no time filter: every run reads everything.
                    asked_from: None,
                    pending: None,
                    lost: None,
                })
            }
            Kind::Audit { client, query } => {
                let now_s = now.as_second();
                let kept_from = now_s - AUDIT_RETENTION_DAYS * 86_400;
                let given = query.search.since;
                let mut ranges: Vec<(Option<i64>, i64)> = Vec::new();
                let mut lost = None;
                // An unfinished run resumes with its own ranges, so that its done units (and
                // the floors of the unit it was in) match; what came since is one more range.
                let pending: Vec<(Option<i64>, i64)> = state
                    .pending
                    .as_deref()
                    .and_then(|p| serde_json::from_str(p).ok())
                    .unwrap_or_default();
                let covered_from = match state.cursor {
                    // What came since is the next run's: a resumed run only finishes.
                    _ if !pending.is_empty() => {
                        ranges.extend(pending.iter().copied());
                        match (given, state.covered_from) {
                            (Some(s), Some(c)) => Some((s * 1000).min(c)),
                            (g, c) => c.or(g.map(|s| s * 1000)),
                        }
                    }
                    None => {
                        ranges.push((given, now_s));
                        if let Some(s) = given.filter(|s| *s < kept_from) {
                            lost = Some((
                                Some(s * 1000),
                                kept_from * 1000,
                                format!(
                                    "Recruitee keeps {AUDIT_RETENTION_DAYS} days of audit events: entries from {} to {} may already be lost",
                                    show(s),
                                    show(kept_from)
                                ),
                            ));
                        }
                        given.map(|s| s * 1000)
                    }
                    Some(cursor) => {
                        let cursor_s = cursor.div_euclid(1000);
                        ranges.push((Some(cursor_s - AUDIT_OVERLAP_SECONDS), now_s));
                        if cursor_s < kept_from {
                            lost = Some((
                                Some(cursor),
                                kept_from * 1000,
                                format!(
                                    "this stream was last synced at {}, and Recruitee keeps {AUDIT_RETENTION_DAYS} days of audit events: entries from then to {} may already be lost; sync more often",
                                    show(cursor_s),
                                    show(kept_from)
                                ),
                            ));
                        }
                        match (given, state.covered_from) {
                            (Some(s), Some(c)) if s * 1000 < c => {
                                ranges.push((Some(s), c.div_euclid(1000)));
                                Some(s * 1000)
                            }
                            (_, c) => c,
                        }
                    }
                };
                if let Some((lo, hi)) = ranges.iter().find(|(lo, hi)| lo.is_some_and(|l| l > *hi)) {
                    // Never "complete" over a range that ends before it starts.
                    return Err(Error::unavailable(format!(
                        "the span to sync ends before it starts ({} .. {}): the stream's cursor is ahead of this machine's clock ({})",
                        show(lo.unwrap_or(*hi)),
                        show(*hi),
                        show(now_s)
                    ))
                    .hint("check this machine's clock (NTP); the archive is unchanged"));
                }
                let pending = serde_json::to_string(&ranges).ok();
                let asked_from = ranges
                    .iter()
                    .map(|r| r.0.map(|lo| lo.saturating_mul(1000)))
                    .try_fold(i64::MAX, |m, lo| lo.map(|l| m.min(l)));
                let end = ranges.iter().map(|r| r.1).max().unwrap_or(now_s);
                let units = ranges
                    .into_iter()
                    .map(|(lo, hi)| {
                        let mut q = AuditQuery {
                            search: query.search.clone(),
                            actors: query.actors.clone(),
                            excluded: query.excluded.clone(),
                            text: query.text.clone(),
                            events: query.events.clone(),
                        };
                        q.search.since = lo;
                        q.search.until = hi;
                        let client = client.clone();
                        Ok(Unit {
                            first_requests: vec![q.search.first_request(&client)?],
                            name: format!("created_at {lo:?}..{hi}"),
                            ids: IdMode::Stream,
                            floors: true,
                            start: Box::new(move |progress, floor: Option<i64>| {
                                let mut q = q;
                                // Staged down to `floor` by a killed run: only below it.
                                if let Some(f) = floor {
                                    q.search.until = f.saturating_sub(1).min(hi);
                                }
                                if q.search.since.is_some_and(|lo| lo > q.search.until) {
                                    return RecordStream::spawn(1, |_tx| async {});
                                }
                                audit_cmd::stream(client, &q, progress)
                            }) as Start,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(RunPlan {
                    units,
                    covered_from,
                    cursor: end.saturating_mul(1000),
                    asked_from,
                    pending,
                    lost,
                })
            }
        }
    }
}

fn show(s: i64) -> String {
    Timestamp::from_second(s)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|_| s.to_string())
}

/// When a record happened, in Unix ms: Feishu keys are ms already; Recruitee entries carry
/// `created_at` (RFC 3339).
pub fn time_ms(source: Source, record: &crate::record::Record) -> i64 {
    match source {
        Source::FeishuDeptLogs | Source::FeishuTalentLogs => record.key,
        Source::RecruiteeAudit => crate::vendors::recruitee::created_at_ms(record.raw.get())
            .ok()
            .flatten()
            .map_or(0, |c| c.ms),
    }
}
