//! Feishu CoreHR department operation logs (`feishu dept-logs`, `sync feishu dept-logs`,
//! `--from-archive`): their columns (operation codes in words, changes as `field: before →
//! after`), their stream key (departments and id type), the time of a record (the tenant's
//! wall clock read as UTC), how a sync run is planned (whole days: from the day before the
//! cursor; `--since` for the first), and how the archive reads them back. Their page chains
//! (≤100 departments × ≤366 days, narrowed windows) are `vendors::feishu::dept_logs`.

use std::collections::HashSet;
use std::sync::Arc;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{IdMode, Log, Reading, RunPlan, Unit, day_ms, ms_day, strings};
use crate::archive::{Keep, Offsets, Order, ReadFilter, StreamKey, StreamState};
use crate::error::{Error, Result};
use crate::identity::Source;
use crate::ocsf::{Mapper, Origin};
use crate::output::{Column, Fit, Show};
use crate::plan::{date_windows, merge_groups};

use crate::vendors::feishu::Feishu;
use crate::vendors::feishu::codes;
use crate::vendors::feishu::dept_logs::{self, DeptLogsQuery, MAX_SPAN_DAYS};

/// The csv columns (and the workbook's raw sheet); the default table shows when, who
/// (employee number), the operation with its documented meaning and the change as
/// `field: before → after`, then the department; the workbook's first sheet adds the reason
/// and the effective date. `operation_time` is the tenant's wall clock without an offset:
/// shown as given unless `feishu.tenant_time_zone` names its zone, and the header says which.
pub fn columns() -> Vec<Column> {
    vec![
        Column::path("operation_time")
            .show(Show::WallClock)
            .table(0, "TIME", Fit::Keep),
        Column::path("object_id").table(4, "DEPARTMENT", Fit::Hide),
        Column::path("operation_type")
            .show(Show::Code(codes::DEPT_OPERATIONS))
            .table(2, "OPERATION", Fit::Keep),
        Column::path("operator").table(1, "BY", Fit::Keep),
        Column::path("changes")
            .show(Show::Changes)
            .table(3, "CHANGE", Fit::Last),
        Column::path("operation_reason").table(5, "REASON", Fit::SheetOnly),
        Column::path("effective_time")
            .show(Show::Date)
            .table(6, "EFFECTIVE", Fit::SheetOnly),
    ]
}

/// How department logs become OCSF events.
pub const OCSF: Mapper = crate::ocsf::feishu_dept_log;

/// The OCSF origin of department logs of the app `app_id` at `base_url`, whose wall clock is
/// in `zone` when known.
pub fn origin(base_url: &str, app_id: Option<&str>, zone: Option<TimeZone>) -> Origin {
    Origin::feishu(Source::FeishuDeptLogs, OCSF, base_url, app_id)
        .with_operations(codes::DEPT_OPERATIONS)
        .with_wall_clock(zone)
}

/// Department logs of these departments, ready to sync.
pub struct DeptLog {
    feishu: Arc<Feishu>,
    query: DeptLogsQuery,
    /// The `--since` the user gave (required by the first sync).
    since: Option<Date>,
    /// The zone whose date is "today" (`--tz`).
    tz: TimeZone,
    /// The tenant's zone (`feishu.tenant_time_zone`), when set: the archive keeps each
    /// event's offset in it.
    zone: Option<TimeZone>,
    key: StreamKey,
}

impl DeptLog {
    /// The stream of these departments (and id type) in `tenant`; `since` as given; `zone`
    /// the tenant's, when known.
    pub fn new(
        feishu: Arc<Feishu>,
        mut query: DeptLogsQuery,
        since: Option<Date>,
        (tz, zone): (TimeZone, Option<TimeZone>),
        tenant: String,
    ) -> DeptLog {
        query.departments.sort();
        let key = StreamKey {
            source: Source::FeishuDeptLogs,
            tenant,
            query: json!({
                "departments": query.departments,
                "department_id_type": query.department_id_type,
            })
            .to_string(),
        };
        DeptLog {
            feishu,
            query,
            since,
            tz,
            zone,
            key,
        }
    }
}

impl Log for DeptLog {
    fn columns(&self) -> Vec<Column> {
        columns()
    }

    fn key(&self) -> &StreamKey {
        &self.key
    }

    /// The tenant's zone's offset at each time (its key: the wall clock read as UTC), by the
    /// rule OCSF reads it with.
    fn offsets(&self) -> Option<Offsets> {
        let zone = self.zone.clone()?;
        Some(Arc::new(move |ms| offset_at(ms, &zone)))
    }

    /// Whole days: the first sync from `--since`; later ones from the day before the
    /// cursor's to today; an earlier `--since` adds its difference; a killed run resumes with
    /// its own ranges.
    fn plan(&self, state: &StreamState, now: Timestamp) -> Result<RunPlan> {
        let (feishu, query, since) = (&self.feishu, &self.query, &self.since);
        let now_ms = now.as_millisecond();

        let today = now.to_zoned(self.tz.clone()).date();
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
}

/// The offset from UTC (minutes) of `zone` at the wall-clock time `ms` (read as UTC, as the
/// archive keeps it), read as OCSF reads it (`ocsf::wall_clock_in_zone`).
pub fn offset_at(ms: i64, zone: &TimeZone) -> Option<i32> {
    let wall = Timestamp::from_millisecond(ms)
        .ok()?
        .to_zoned(TimeZone::UTC)
        .datetime();
    crate::ocsf::wall_clock_in_zone(wall, zone).map(|(_, offset)| offset)
}

/// A date's bounds as the ms of department-log keys (the wall clock read as UTC).
fn day_bounds(q: &DeptLogsQuery) -> (Option<i64>, Option<i64>) {
    let ms = |d: Date, h: i8, m: i8, s: i8, ns: i32| {
        d.at(h, m, s, ns)
            .to_zoned(TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_millisecond())
    };
    (
        ms(q.since, 0, 0, 0, 0),
        ms(q.until, 23, 59, 59, 999_999_999),
    )
}

/// How `--from-archive` reads department logs back for `query`, given the archive's
/// `streams` (id, source, tenant, query): a synced department list that is part of the one
/// given has all its events wanted.
pub fn reading(
    query: &DeptLogsQuery,
    tenant: Option<String>,
    streams: &[(i64, String, String, Value)],
) -> Reading {
    let wanted: HashSet<String> = query.departments.iter().cloned().collect();
    let linked = streams
        .iter()
        .filter(|(_, s, t, q)| {
            s == Source::FeishuDeptLogs.name() && tenant.as_deref().is_none_or(|x| x == t) && {
                let d = strings(q, "departments");
                !d.is_empty() && d.iter().all(|x| wanted.contains(x))
            }
        })
        .map(|(id, ..)| *id)
        .collect();
    let (from_ms, until_ms) = day_bounds(query);
    let kind = query.department_id_type.clone();
    #[derive(Deserialize)]
    struct Object {
        object_id: Option<Value>,
    }
    let keep_wanted = wanted.clone();
    let keep: Keep = Box::new(move |raw: &RawValue, linked: bool| {
        linked
            || serde_json::from_str::<Object>(raw.get())
                .ok()
                .and_then(|o| o.object_id)
                .is_some_and(|id| match id {
                    Value::String(s) => keep_wanted.contains(&s),
                    other => keep_wanted.contains(&other.to_string()),
                })
    });
    Reading {
        filter: ReadFilter {
            source: Source::FeishuDeptLogs,
            tenant,
            from_ms,
            until_ms,
            order: Order::NewestFirst,
            linked_streams: linked,
            keep: Some(keep),
        },
        span: (from_ms, until_ms),
        covered_by: Box::new(move |q: &Value| {
            let held: HashSet<String> = strings(q, "departments").into_iter().collect();
            wanted.iter().all(|d| held.contains(d))
                && q["department_id_type"].as_str().map(str::to_string) == kind
        }),
    }
}
