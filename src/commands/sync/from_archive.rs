//! `--from-archive` on `feishu dept-logs`, `feishu talent-logs` and `recruitee audit`: the
//! archive instead of the vendor, newest first, the flags applied here. No network, no
//! credentials: the tenant is taken from the settings when they name one, else every tenant's
//! events of that source are read.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::jobs::{feishu_tenant, recruitee_tenant};
use crate::archive::{self, Keep, Order, ReadFilter, Store};
use crate::commands::Context;
use crate::commands::feishu::{dept_logs as dept_cmd, talent_logs as talent_cmd};
use crate::commands::recruitee::audit::{self as audit_cmd, AuditQuery};
use crate::error::Result;
use crate::identity::Source;
use crate::output::Column;
use crate::record::Lenient;
use crate::vendors::feishu::dept_logs::DeptLogsQuery;
use crate::vendors::feishu::talent_logs::TalentLogsQuery;

/// Streams of `source` (and tenant) whose query passes `fits`.
fn streams_where(
    archive: &dyn Store,
    source: Source,
    tenant: Option<&str>,
    fits: impl Fn(&Value) -> bool,
) -> Result<Vec<i64>> {
    Ok(archive
        .streams()?
        .into_iter()
        .filter(|(_, s, t, q)| s == source.name() && tenant.is_none_or(|x| x == t) && fits(q))
        .map(|(id, ..)| id)
        .collect())
}

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
    fits: impl Fn(&Value) -> bool,
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

fn strings(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn emit(ctx: &Context, filter: ReadFilter, columns: Vec<Column>) -> Result<()> {
    let Some(dest) = ctx.destination()? else {
        return Ok(());
    };
    let origin = super::jobs::origin(filter.source, ctx);
    let stream = open(ctx)?.read(filter);
    ctx.emit_events(stream, dest, columns, origin).await
}

fn open(ctx: &Context) -> Result<Box<dyn Store>> {
    let location = ctx.archive_location()?;
    crate::output::blocking(|| archive::open_for_reading(&location))
}

/// A date's bounds as the ms of department-log keys (the wall clock read as UTC).
fn day_bounds(q: &DeptLogsQuery) -> (Option<i64>, Option<i64>) {
    let ms = |d: jiff::civil::Date, h: i8, m: i8, s: i8, ns: i32| {
        d.at(h, m, s, ns)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_millisecond())
    };
    (
        ms(q.since, 0, 0, 0, 0),
        ms(q.until, 23, 59, 59, 999_999_999),
    )
}

/// `feishu dept-logs --from-archive`.
pub async fn dept_logs(query: DeptLogsQuery, ctx: &Context) -> Result<()> {
    let archive = open(ctx)?;
    let tenant = feishu_tenant(ctx);
    let wanted: HashSet<String> = query.departments.iter().cloned().collect();
    // A synced department list that is part of the one given: all its events are wanted.
    let linked = streams_where(
        archive.as_ref(),
        Source::FeishuDeptLogs,
        tenant.as_deref(),
        |q| {
            let d = strings(q, "departments");
            !d.is_empty() && d.iter().all(|x| wanted.contains(x))
        },
    )?;
    let (from_ms, until_ms) = day_bounds(&query);
    let kind = query.department_id_type.clone();
    say_coverage(
        archive.as_ref(),
        ctx,
        Source::FeishuDeptLogs,
        tenant.as_deref(),
        (from_ms, until_ms),
        |q| {
            let held: HashSet<String> = strings(q, "departments").into_iter().collect();
            wanted.iter().all(|d| held.contains(d))
                && q["department_id_type"].as_str().map(str::to_string) == kind
        },
    )?;
    drop(archive);
    #[derive(Deserialize)]
    struct Object {
        object_id: Option<Value>,
    }
    let keep: Keep = Box::new(move |raw: &RawValue, linked: bool| {
        linked
            || serde_json::from_str::<Object>(raw.get())
                .ok()
                .and_then(|o| o.object_id)
                .is_some_and(|id| match id {
                    Value::String(s) => wanted.contains(&s),
                    other => wanted.contains(&other.to_string()),
                })
    });
    let filter = ReadFilter {
        source: Source::FeishuDeptLogs,
        tenant,
        from_ms,
        until_ms,
        order: Order::NewestFirst,
        linked_streams: linked,
        keep: Some(keep),
    };
    emit(ctx, filter, dept_cmd::columns()).await
}

/// `feishu talent-logs --from-archive`.
pub async fn talent_logs(query: TalentLogsQuery, ctx: &Context) -> Result<()> {
    let archive = open(ctx)?;
    let tenant = feishu_tenant(ctx);
    let jobs: HashSet<String> = query.jobs.iter().cloned().collect();
    // --job: the records do not say their job; a stream synced with a job list that is part
    // of the one given holds only wanted jobs.
    let linked = if jobs.is_empty() {
        vec![]
    } else {
        streams_where(
            archive.as_ref(),
            Source::FeishuTalentLogs,
            tenant.as_deref(),
            |q| {
                let j = strings(q, "jobs");
                !j.is_empty() && j.iter().all(|x| jobs.contains(x))
            },
        )?
    };
    {
        let (ops, opers, jobs) = (&query.operations, &query.operators, &jobs);
        say_coverage(
            archive.as_ref(),
            ctx,
            Source::FeishuTalentLogs,
            tenant.as_deref(),
            (query.since_ms, query.until_ms),
            |q| {
                let held_ops: Vec<i64> = q["operations"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_i64).collect())
                    .unwrap_or_default();
                let held_opers = strings(q, "operators");
                let held_jobs = strings(q, "jobs");
                ops.iter().all(|o| held_ops.contains(o))
                    && opers.iter().all(|o| held_opers.contains(o))
                    && (held_jobs.is_empty() || held_jobs.iter().all(|j| jobs.contains(j)))
            },
        )?;
    }
    drop(archive);
    let operators: HashSet<String> = query.operators.iter().cloned().collect();
    let operations: HashSet<i64> = query.operations.iter().copied().collect();
    let by_job = !jobs.is_empty();
    #[derive(Deserialize)]
    struct Operator {
        id: Option<String>,
    }
    #[derive(Deserialize)]
    struct Log {
        operator: Option<Operator>,
        operation_type: Option<Lenient>,
    }
    let keep: Keep = Box::new(move |raw: &RawValue, linked: bool| {
        if by_job && !linked {
            return false;
        }
        let Ok(log) = serde_json::from_str::<Log>(raw.get()) else {
            return false;
        };
        log.operator
            .and_then(|o| o.id)
            .is_some_and(|id| operators.contains(&id))
            && log
                .operation_type
                .and_then(|t| t.as_i64())
                .is_some_and(|t| operations.contains(&t))
    });
    let filter = ReadFilter {
        source: Source::FeishuTalentLogs,
        tenant,
        from_ms: query.since_ms,
        until_ms: query.until_ms,
        order: Order::NewestFirst,
        linked_streams: linked,
        keep: Some(keep),
    };
    emit(ctx, filter, talent_cmd::columns()).await
}

/// `recruitee audit --from-archive`.
pub async fn audit(query: AuditQuery, ctx: &Context) -> Result<()> {
    let tenant = recruitee_tenant(ctx);
    {
        let archive = open(ctx)?;
        let ms = |s: i64| s.saturating_mul(1000);
        // A stream holds every entry asked for when it filtered nothing out that the query
        // keeps: no server-side filter, or the same ones.
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            serde_json::json!(v)
        };
        let filters = serde_json::json!({
            "actors": sorted(&query.actors),
            "exclude_actors": sorted(&query.excluded),
            "search": query.text,
        });
        say_coverage(
            archive.as_ref(),
            ctx,
            Source::RecruiteeAudit,
            tenant.as_deref(),
            (query.search.since.map(ms), Some(ms(query.search.until))),
            |q| {
                let unfiltered = strings(q, "actors").is_empty()
                    && strings(q, "exclude_actors").is_empty()
                    && q["search"].is_null();
                let same = q["actors"] == filters["actors"]
                    && q["exclude_actors"] == filters["exclude_actors"]
                    && q["search"] == filters["search"];
                let events = strings(q, "events");
                (unfiltered || same) && events.is_empty()
            },
        )?;
    }
    #[derive(Deserialize)]
    struct Entry {
        actor: Option<Value>,
        event_name: Option<String>,
    }
    let actors: Vec<Value> = query
        .actors
        .iter()
        .map(|a| Value::String(a.clone()))
        .collect();
    let excluded: Vec<Value> = query
        .excluded
        .iter()
        .map(|a| Value::String(a.clone()))
        .collect();
    let text = query.text.as_ref().map(|t| t.to_lowercase());
    let events = query.events.clone();
    let keep: Keep = Box::new(move |raw: &RawValue, _| {
        let Ok(entry) = serde_json::from_str::<Entry>(raw.get()) else {
            return false;
        };
        let actor = entry.actor.unwrap_or(Value::Null);
        if !actors.is_empty() && !actors.contains(&actor) {
            return false;
        }
        if excluded.contains(&actor) {
            return false;
        }
        if !events.is_empty()
            && !entry
                .event_name
                .is_some_and(|n| events.contains(&n.to_lowercase()))
        {
            return false;
        }
        match &text {
            None => true,
            Some(t) => {
                serde_json::from_str::<Value>(raw.get()).is_ok_and(|v| any_text_contains(&v, t))
            }
        }
    });
    let ms = |s: i64| s.saturating_mul(1000);
    let filter = ReadFilter {
        source: Source::RecruiteeAudit,
        tenant,
        from_ms: query.search.since.map(ms),
        until_ms: Some(ms(query.search.until).saturating_add(999)),
        order: Order::NewestFirst,
        linked_streams: vec![],
        keep: Some(keep),
    };
    emit(ctx, filter, audit_cmd::columns()).await
}

/// True when any string in `v` (keys included) contains `needle` (lowercase), ignoring case.
fn any_text_contains(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => s.to_lowercase().contains(needle),
        Value::Array(a) => a.iter().any(|x| any_text_contains(x, needle)),
        Value::Object(m) => m
            .iter()
            .any(|(k, x)| k.to_lowercase().contains(needle) || any_text_contains(x, needle)),
        Value::Number(n) => n.to_string().contains(needle),
        _ => false,
    }
}
