//! One room per log: everything hrlogs knows about a log in one file — its typed query, how it
//! becomes page chains, its columns and the meanings of its codes, its stream key, the time of
//! a record, its retention and the overlap of a later sync, how a sync run is planned, and how
//! the archive reads it back. The commands parse flags into a log's query and choose live,
//! `--from-archive` or `sync`; `sync` and `--from-archive` are generic over [`Log`].
//!
//! - [`feishu_dept`]: Feishu CoreHR department operation logs;
//! - [`feishu_talent`]: Feishu Hire talent operation logs;
//! - [`greenhouse_audit`]: the Greenhouse Recruiting audit log;
//! - [`recruitee_audit`]: the Recruitee audit log;
//! - [`recruitee_lists`]: Recruitee's candidates and offers (lists, not logs: their columns).
//!
//! Imports go one way: `commands → logs → {vendors, plan, archive, identity, ocsf, output}`.

pub mod feishu_dept;
pub mod feishu_talent;
pub mod greenhouse_audit;
pub mod recruitee_audit;
pub mod recruitee_lists;

/// How long the vendor keeps a log (days) and the vendor's name, for logs it forgets: what
/// `archive status` calls overdue. Feishu's logs are kept for good.
pub fn forgets_after(source: crate::identity::Source) -> Option<(i64, &'static str)> {
    use crate::identity::Source;
    match source {
        Source::FeishuDeptLogs | Source::FeishuTalentLogs => None,
        Source::RecruiteeAudit => Some((recruitee_audit::RETENTION_DAYS, "Recruitee")),
        Source::GreenhouseAudit => Some((greenhouse_audit::RETENTION_DAYS, "Greenhouse")),
    }
}

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::Value;

use crate::archive::{Offsets, ReadFilter, StreamKey, StreamState};
use crate::error::Result;
use crate::fetch::Request;
use crate::identity::Source;
use crate::output::Column;
use crate::plan::RecordStream;
use crate::progress::Progress;
use crate::record::Record;

/// A log with its query, ready to sync: what `sync` needs to know of it.
pub trait Log: Send + Sync {
    /// The stream this query is in the archive.
    fn key(&self) -> &StreamKey;
    /// Which log it is (how its events' ids are made; its name in the archive).
    fn source(&self) -> Source {
        self.key().source
    }
    /// The default columns of csv, table and xlsx.
    fn columns(&self) -> Vec<Column>;
    /// When a record happened, in Unix ms of the vendor's clock, as the archive keeps it: by
    /// default the record's key (Feishu's are ms of `operation_time`).
    fn time_ms(&self, record: &Record) -> i64 {
        record.key
    }
    /// What one run fetches, given the stream's row and the time now.
    fn plan(&self, state: &StreamState, now: Timestamp) -> Result<RunPlan>;
    /// For a log whose times are a wall clock without an offset, when the tenant's zone is
    /// known: the zone's offset at each time, which the archive keeps beside it. None by
    /// default (the vendor gives instants).
    fn offsets(&self) -> Option<Offsets> {
        None
    }
}

/// How `--from-archive` reads a log back: the rows, the span asked for (ms), and which
/// streams hold every event the query asks for (for the warning when none does).
pub struct Reading {
    pub filter: ReadFilter,
    pub span: (Option<i64>, Option<i64>),
    pub covered_by: Box<dyn Fn(&Value) -> bool>,
}

/// How a unit's records get their ids.
#[derive(Clone, Copy)]
pub enum IdMode {
    /// Along the stream ([`crate::identity::Identifier`]): records come grouped by day.
    Stream,
    /// Counting identical records per day over the whole unit, in any order (Feishu):
    /// [`crate::identity::Counted`].
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
    /// staged can be kept as a floor (everything at or above the second of the oldest key
    /// staged, plus one: keys are ms, floors whole seconds) and a resumed run fetches only
    /// below it.
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

/// A list of strings in a stream's query (JSON).
pub(crate) fn strings(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A list, sorted (a stream's key does not depend on the order flags were given in).
pub(crate) fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// Unix seconds as people read them, in UTC.
pub(crate) fn show_s(s: i64) -> String {
    Timestamp::from_second(s)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|_| s.to_string())
}

/// A date's midnight as the ms that department logs' keys use (wall clock read as UTC).
pub(crate) fn day_ms(d: Date) -> i64 {
    d.at(0, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

/// The day of such ms.
pub(crate) fn ms_day(ms: i64) -> Option<Date> {
    Timestamp::from_millisecond(ms)
        .ok()
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
}
