//! Feishu Hire talent operation logs (`feishu talent-logs`, `sync feishu talent-logs`,
//! `--from-archive`): their columns (operator names, operation codes), their stream key
//! (operators, operations, jobs, id type), how a sync run is planned (the API has no time
//! filter: every run reads every chain; `--since` filters here), and how the archive reads
//! them back. Their chains are `vendors::feishu::talent_logs`.

use std::collections::HashSet;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{IdMode, Log, Reading, RunPlan, Start, Unit, strings};
use crate::archive::{Keep, Order, ReadFilter, StreamKey, StreamState};
use crate::error::Result;
use crate::identity::Source;
use crate::ocsf::{Mapper, Origin};
use crate::output::{Column, Fit, Show};
use crate::plan::{filter, merge_groups};
use crate::record::Lenient;
use crate::vendors::feishu::Feishu;
use crate::vendors::feishu::codes;
use crate::vendors::feishu::talent_logs::{self, TalentLogsQuery};

/// At most this many chains (operator sub-queries) run at once.
pub const MAX_CHAINS: usize = 32;

/// The default columns of csv and table. The default table shows when, who (the operator's
/// names), on which talent, then the operation type with its meaning from Feishu's enum
/// (`3001 add to job`; a code the table of codes lacks as its number), and the application
/// when there is room. The operation comes after the talent so that a long meaning, never
/// cut, goes on under itself at 80 columns rather than widening the line. The workbook's
/// first sheet adds the operator's id.
pub fn columns() -> Vec<Column> {
    vec![
        Column::path("operation_time")
            .show(Show::Millis)
            .table(0, "TIME", Fit::Keep),
        Column::path("operator.id").table(5, "OPERATOR ID", Fit::SheetOnly),
        Column::path("operator.name.zh_cn"),
        Column::path("operator.name.en_us"),
        Column::derived("operator", "operator", operator_name)
            .table_only()
            .table(1, "OPERATOR", Fit::Shrink(10)),
        Column::path("operation_type")
            .show(Show::Code(codes::talent_operations()))
            .table(3, "OPERATION", Fit::Last),
        Column::path("talent_id").table(2, "TALENT", Fit::Keep),
        Column::path("application_id").table(4, "APPLICATION", Fit::Hide),
    ]
}

/// `陈晓明 Chen Xiaoming`: the names the record carries (one when they agree), else the id.
fn operator_name(op: &serde_json::Value) -> serde_json::Value {
    let names: Vec<&str> = ["zh_cn", "en_us"]
        .iter()
        .filter_map(|k| op["name"][k].as_str())
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    match names.as_slice() {
        [] => op["id"].clone(),
        [a, b] if a != b => serde_json::Value::String(format!("{a} {b}")),
        [a, ..] => serde_json::Value::String((*a).to_string()),
    }
}

/// How talent logs become OCSF events.
pub const OCSF: Mapper = crate::ocsf::feishu_talent_log;

/// The OCSF origin of talent logs of the app `app_id` at `base_url`.
pub fn origin(base_url: &str, app_id: Option<&str>) -> Origin {
    Origin::feishu(Source::FeishuTalentLogs, OCSF, base_url, app_id)
        .with_operations(codes::talent_operations())
}

/// Talent logs of these operators and operations, ready to sync.
pub struct TalentLog {
    feishu: Arc<Feishu>,
    query: TalentLogsQuery,
    key: StreamKey,
}

impl TalentLog {
    /// The stream of these operators, operations, jobs and id type in `tenant`.
    pub fn new(feishu: Arc<Feishu>, mut query: TalentLogsQuery, tenant: String) -> TalentLog {
        query.operators.sort();
        query.operations.sort_unstable();
        query.jobs.sort();
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
        TalentLog { feishu, query, key }
    }
}

impl Log for TalentLog {
    fn columns(&self) -> Vec<Column> {
        columns()
    }

    fn key(&self) -> &StreamKey {
        &self.key
    }

    /// Every chain of the query, every run (no time filter); `--since/--until` filter here.
    fn plan(&self, _state: &StreamState, now: Timestamp) -> Result<RunPlan> {
        let (feishu, query) = (&self.feishu, &self.query);
        let now_ms = now.as_millisecond();

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
                            since.is_none_or(|s| r.key >= s) && until.is_none_or(|u| r.key <= u)
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
}

/// How `--from-archive` reads talent logs back for `query`, given the archive's `streams`:
/// `--job` cannot be read from the records, so a stream synced with a job list that is part
/// of the one given holds only wanted jobs.
pub fn reading(
    query: &TalentLogsQuery,
    tenant: Option<String>,
    streams: &[(i64, String, String, Value)],
) -> Reading {
    let jobs: HashSet<String> = query.jobs.iter().cloned().collect();
    let linked = if jobs.is_empty() {
        vec![]
    } else {
        streams
            .iter()
            .filter(|(_, s, t, q)| {
                s == Source::FeishuTalentLogs.name()
                    && tenant.as_deref().is_none_or(|x| x == t)
                    && {
                        let j = strings(q, "jobs");
                        !j.is_empty() && j.iter().all(|x| jobs.contains(x))
                    }
            })
            .map(|(id, ..)| *id)
            .collect()
    };
    let operators: HashSet<String> = query.operators.iter().cloned().collect();
    let operations: HashSet<i64> = query.operations.iter().copied().collect();
    let by_job = !jobs.is_empty();
    #[derive(Deserialize)]
    struct Operator {
        id: Option<String>,
    }
    #[derive(Deserialize)]
    struct Entry {
        operator: Option<Operator>,
        operation_type: Option<Lenient>,
    }
    let (keep_operators, keep_operations) = (operators.clone(), operations.clone());
    let keep: Keep = Box::new(move |raw: &RawValue, linked: bool| {
        if by_job && !linked {
            return false;
        }
        let Ok(log) = serde_json::from_str::<Entry>(raw.get()) else {
            return false;
        };
        log.operator
            .and_then(|o| o.id)
            .is_some_and(|id| keep_operators.contains(&id))
            && log
                .operation_type
                .and_then(|t| t.as_i64())
                .is_some_and(|t| keep_operations.contains(&t))
    });
    Reading {
        filter: ReadFilter {
            source: Source::FeishuTalentLogs,
            tenant,
            from_ms: query.since_ms,
            until_ms: query.until_ms,
            order: Order::NewestFirst,
            linked_streams: linked,
            keep: Some(keep),
        },
        span: (query.since_ms, query.until_ms),
        covered_by: Box::new(move |q: &Value| {
            let held_ops: Vec<i64> = q["operations"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            let held_opers = strings(q, "operators");
            let held_jobs = strings(q, "jobs");
            operations.iter().all(|o| held_ops.contains(o))
                && operators.iter().all(|o| held_opers.contains(o))
                && (held_jobs.is_empty() || held_jobs.iter().all(|j| jobs.contains(j)))
        }),
    }
}
