//! `--from-archive` on `feishu dept-logs`, `feishu talent-logs` and `recruitee audit`: the
//! archive instead of the vendor, newest first, the flags applied here. No network, no
//! credentials: the tenant is taken from the settings when they name one, else every tenant's
//! events of that source are read.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::jobs::{feishu_tenant, recruitee_tenant};
use crate::archive::{Archive, Keep, Order, ReadFilter, read_events};
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
    archive: &Archive,
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
    let path = ctx.archive_path()?;
    let origin = super::jobs::origin(filter.source, ctx);
    let stream = read_events(path, filter);
    ctx.emit_events(stream, dest, columns, origin).await
}

fn open(ctx: &Context) -> Result<Archive> {
    Archive::open_existing(&ctx.archive_path()?)
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
    let linked = streams_where(&archive, Source::FeishuDeptLogs, tenant.as_deref(), |q| {
        let d = strings(q, "departments");
        !d.is_empty() && d.iter().all(|x| wanted.contains(x))
    })?;
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
    let (from_ms, until_ms) = day_bounds(&query);
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
        streams_where(&archive, Source::FeishuTalentLogs, tenant.as_deref(), |q| {
            let j = strings(q, "jobs");
            !j.is_empty() && j.iter().all(|x| jobs.contains(x))
        })?
    };
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
    drop(open(ctx)?);
    let tenant = recruitee_tenant(ctx);
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
