//! The archive: every event `sync` ever fetched, exactly once, past the vendors' retention,
//! behind one contract ([`Store`]) that `sync`, `--from-archive` and `archive status|verify`
//! use, whatever keeps it. SQLite ([`sqlite`], one file) is the first backend; every backend
//! passes the same conformance suite (`conformance.rs`); PostgreSQL ([`postgres`], one schema
//! that any number of syncs on any number of machines write at once) is the second. The
//! location (a path or a `postgres://` URL, [`location`]) picks the backend.
//!
//! What every backend keeps (the SQL surface is documented in `docs/archive.md`):
//! - events, unique per (source, tenant, event id) whatever stream fetched them, chained by
//!   SHA-256 in the order they were appended ([`chain`]);
//! - streams (a sync query) with their cursor in the vendor's time, how far back they are
//!   complete, the events each numbered for its output and how far that output is known to
//!   have been delivered;
//! - runs, chained too (the state chain: cursors, coverage, links);
//! - what a run under way staged, so that a killed run loses nothing.
//!
//! Also here: heads kept outside the archive ([`anchors`]), tenants as kept ([`tenant`]), the
//! archive's settings.

pub mod anchors;
pub mod chain;
#[cfg(test)]
mod conformance;
pub mod copy;
pub mod location;
pub mod postgres;
pub mod settings;
pub mod sqlite;
pub mod tenant;
pub mod verify;

pub use verify::RunRow;
pub mod views;

pub use location::{Location, PgLocation};

use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::Result;
use crate::identity::Source;
use crate::plan::RecordStream;
use crate::record::{ChainLink, Record};

/// What identifies a stream: the command, the tenant and the query flags other than the
/// time range (as canonical JSON).
#[derive(Debug, Clone)]
pub struct StreamKey {
    pub source: Source,
    pub tenant: String,
    pub query: String,
}

/// A stream's row.
#[derive(Debug, Clone)]
pub struct StreamState {
    pub id: i64,
    /// Unix ms from which the stream is complete; None: from the start of what the vendor had.
    pub covered_from: Option<i64>,
    /// Unix ms up to which the stream is complete; None: no run has completed yet.
    pub cursor: Option<i64>,
    pub last_run_at: Option<i64>,
    /// The range of an unfinished run (JSON), to resume with the same units.
    pub pending: Option<String>,
}

/// One record as a run stages it.
pub struct Staged<'a> {
    pub event_id: &'a str,
    pub time_ms: i64,
    pub record: &'a str,
}

/// What a finished run added.
#[derive(Debug, Clone, Default)]
pub struct Finalized {
    /// Events new to the archive.
    pub new: u64,
    /// Events fetched that the archive already held.
    pub seen: u64,
    /// Events this stream had not printed before (new to the archive, or archived first by
    /// another stream): numbered for the stream's output.
    pub linked: u64,
    /// The new events are the rows `first_seq..=last_seq` (when `new > 0`).
    pub first_seq: i64,
    pub last_seq: i64,
    /// The chain's head and row count after the run.
    pub head: String,
    pub count: i64,
}

/// The offset from UTC, in minutes, of the zone of a log whose times are a wall clock without
/// an offset, at such a time (`time_ms`: the wall clock read as UTC); None where it cannot be
/// told. Given by the log's room; the archive keeps it beside the time (`utc_offset`), which
/// stays as the vendor gave it.
pub type Offsets = std::sync::Arc<dyn Fn(i64) -> Option<i32> + Send + Sync>;

/// What the stream's row should say after a complete run.
pub struct RunEnd {
    /// The earliest time the run asked for (None: everything the vendor has).
    pub asked_from: Option<i64>,
    pub covered_from: Option<i64>,
    /// The new cursor, in the vendor's time; None keeps the one the stream has.
    pub cursor: Option<i64>,
    pub now_ms: i64,
    pub requests: u64,
    /// For a log whose times are a wall clock, when the run knows the zone: the offset of each
    /// event it appends, and of its tenant's events of the same source archived without one
    /// (filled by the run's end, a batch at a time). None: appended without an offset.
    pub offsets: Option<Offsets>,
}

/// Decides whether a row is written: the record, and whether it was fetched by one of
/// [`ReadFilter::linked_streams`].
pub type Keep = Box<dyn Fn(&RawValue, bool) -> bool + Send>;

/// A stream's delivery as a claim reads it (under the stream row's lock).
pub struct Claims {
    /// How many of the stream's events are known delivered.
    pub delivered: i64,
    /// How far a sync took them to print, and which sync.
    pub claimed: i64,
    pub by: Option<String>,
    /// How many the stream numbered.
    pub linked: i64,
}

impl Claims {
    /// What the sync `me` takes to print, the numbers `(after, upto]`: from the end of what
    /// another live sync took (so that two syncs at once print each event once), else from
    /// the delivery cursor (what a sync that died took is printed again), to the last one
    /// numbered. The stream's `claimed` becomes `upto`, by `me`.
    pub fn take(&self, me: &str, alive: &dyn Fn(&str) -> bool) -> (i64, i64) {
        let taken = self
            .by
            .as_deref()
            .is_some_and(|owner| owner == me || alive(owner));
        let after = if taken {
            self.claimed.max(self.delivered)
        } else {
            self.delivered
        };
        (after, self.linked.max(after))
    }
}

/// Which rows to read, and in which order.
pub struct ReadFilter {
    pub source: Source,
    /// Only this tenant's events; None: every tenant's.
    pub tenant: Option<String>,
    /// Bounds on `time_ms`, inclusive.
    pub from_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Which rows, in which order.
    pub order: Order,
    /// Streams whose events the `keep` function is told about.
    pub linked_streams: Vec<i64>,
    pub keep: Option<Keep>,
}

/// Which rows are read, in which order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Every row that passes the filter, newest first (`--from-archive`).
    NewestFirst,
    /// A sync's output: the events of `stream` numbered after `after` for that stream, in
    /// the order the stream numbered them (oldest first as each run appended them).
    Delivery { stream: i64, after: i64 },
}

/// One event as a backend reads it back, before it becomes a record.
pub struct ReadRow {
    pub event_id: String,
    pub time_ms: i64,
    pub record: String,
    /// Whether one of [`ReadFilter::linked_streams`] fetched it.
    pub linked: bool,
    pub seq: i64,
    pub hash: String,
}

impl ReadRow {
    /// The record, or None where `keep` leaves it out; `archive` names the archive in the
    /// error of a record that is not JSON.
    pub fn record(self, keep: Option<&Keep>, archive: &str) -> Result<Option<Record>> {
        let id = self.event_id;
        let raw = RawValue::from_string(self.record).map_err(|err| {
            crate::error::Error::other(format!("{archive}: event {id} is not JSON: {err}"))
                .hint("`hrlogs archive verify` tells whether the archive was altered")
        })?;
        if keep.is_some_and(|keep| !keep(&raw, self.linked)) {
            return Ok(None);
        }
        let link = ChainLink {
            seq: self.seq,
            hash: self.hash,
        };
        Ok(Some(Record {
            raw,
            key: self.time_ms,
            id: Some(id),
            link: Some(Box::new(link)),
        }))
    }
}

/// One stream as `archive status` shows it.
#[derive(Debug, Serialize)]
pub struct StreamStatus {
    pub id: i64,
    pub source: String,
    pub tenant: String,
    pub query: serde_json::Value,
    pub events: i64,
    pub covered_from_ms: Option<i64>,
    pub cursor_ms: Option<i64>,
    pub last_run_ms: Option<i64>,
    pub last_run_new: Option<i64>,
    pub last_run_already_archived: Option<i64>,
    pub last_run_requests: Option<i64>,
    pub last_run_complete: Option<bool>,
    /// Records fetched by an unfinished run, waiting for it to complete.
    pub staged: i64,
}

/// A stream's row as `archive copy` reads it: its key as stored, and its delivery.
#[derive(Debug, Clone)]
pub struct StreamRow {
    pub id: i64,
    pub source: String,
    pub tenant: String,
    /// The canonical JSON of the query, as stored.
    pub query: String,
    /// How many events the stream numbered, and how many of them are known delivered.
    pub linked: i64,
    pub delivered: i64,
}

/// An event a stream numbered, with the stream's number for it (`archive copy`).
#[derive(Debug, Clone)]
pub struct LinkedEvent {
    pub pos: i64,
    pub event_id: String,
    pub time_ms: i64,
    pub archived_at: i64,
    pub record: String,
    /// The zone's offset from UTC (minutes) the archive keeps beside a wall-clock time.
    pub utc_offset: Option<i32>,
}

/// A span that may be lost.
#[derive(Debug, Serialize)]
pub struct Gap {
    pub stream_id: i64,
    pub from_ms: Option<i64>,
    pub until_ms: i64,
    pub noted_ms: i64,
}

/// Everything `archive status` shows.
#[derive(Debug, Serialize)]
pub struct Status {
    pub path: String,
    pub events: i64,
    pub chain_head: String,
    pub chain_count: i64,
    pub streams: Vec<StreamStatus>,
    pub gaps: Vec<Gap>,
}

/// A head of the chain kept outside the archive (`archive verify --expect-head`,
/// `--expect-head-file`, `--head-log`): the chain must still reach it, at the row count it
/// had then (a hash commits to its row number, so reaching it is reaching it there).
#[derive(Debug, Clone)]
pub struct Anchor {
    /// The chain hash, lowercase hex.
    pub head: String,
    /// The number of rows the chain had when the head was written down, when known.
    pub count: Option<i64>,
    /// Where it was written down, for messages: `--expect-head`, `heads.log line 3`.
    pub from: String,
}

/// The outcome of `archive verify`.
#[derive(Debug)]
pub enum Integrity {
    Intact {
        rows: i64,
        head: String,
        /// Records an unfinished run staged: not covered by any chain (the next sync takes
        /// them in as fetched then).
        staged: i64,
    },
    /// The first row where the chain breaks, and how.
    Broken { seq: i64, why: String },
}

/// What `sync`, `--from-archive` and the archive commands need of an archive: its parts
/// below, each a backend implements in the file that holds that part of its SQL. Every
/// method blocks on the store's I/O: async callers run them through
/// [`crate::output::blocking`] (or on a blocking thread), never inline on an async worker.
pub trait Store: StreamStore + RunStore + DeliveryStore + InspectStore + CopyStore + Send {}

impl<T: StreamStore + RunStore + DeliveryStore + InspectStore + CopyStore + Send> Store for T {}

/// A span of the vendor's time that may be lost: from (None: the start) until, in unix ms.
pub type Span = (Option<i64>, i64);

/// A unit of a run and the key it is staged down to (see [`RunStore::stage`]).
pub type Floor<'a> = Option<(&'a str, i64)>;

/// The streams' rows.
pub trait StreamStore {
    /// The stream's row, created when this is its first sync.
    fn stream(&mut self, key: &StreamKey, now_ms: i64) -> Result<StreamState>;
    /// The stream's row, if it has one (nothing is written).
    fn find_stream(&self, key: &StreamKey) -> Result<Option<StreamState>>;
    /// Remembers the range of the run under way, so that a killed run resumes with it.
    fn set_pending(&mut self, stream: i64, pending: Option<&str>) -> Result<()>;
    /// Notes a span that may be lost (the vendor's retention passed before it was synced).
    fn note_gap(&mut self, stream: i64, span: Span, now_ms: i64) -> Result<()>;
    /// The time of the newest event the stream holds (the vendor's clock).
    fn newest_event_ms(&self, stream: i64) -> Result<Option<i64>>;
}

/// A run: what it stages, the units it completed, and its end.
pub trait RunStore {
    /// Where the stream's staging order continues (after what an unfinished run staged).
    fn staged_until(&self, stream: i64) -> Result<i64>;
    /// How many records an unfinished run of the stream has staged.
    fn staged_count(&self, stream: i64) -> Result<i64>;
    /// Stages a batch of records of the stream's run, in one transaction, numbered in fetch
    /// order from `next`; with `floor` (a unit and a key), also that the unit is staged at
    /// and above that key. A record staged before (a resumed run) is kept once.
    fn stage(&mut self, stream: i64, next: i64, rows: &[Staged<'_>], floor: Floor) -> Result<()>;
    /// True when an unfinished run of the stream already completed `unit`.
    fn unit_done(&self, stream: i64, unit: &str) -> Result<bool>;
    /// The floor a killed run staged the unit down to, if it kept one.
    fn unit_floor(&self, stream: i64, unit: &str) -> Result<Option<i64>>;
    /// Records that the run completed `unit` (its records are all staged).
    fn mark_unit_done(&mut self, stream: i64, unit: &str) -> Result<()>;
    /// Records a run that did not complete (for `archive status`); the cursor stays.
    fn note_incomplete_run(&mut self, stream: i64, now_ms: i64, requests: u64) -> Result<()>;
    /// Ends a complete run: appends the staged events the archive does not hold yet, oldest
    /// first, chained; numbers for the stream every staged event it had not numbered; moves
    /// the cursor; appends the run to the state chain; clears the staging. All or nothing.
    fn finalize(&mut self, key: &StreamKey, stream: i64, end: &RunEnd) -> Result<Finalized>;
}

/// Delivery: which sync prints which of a stream's events, and how far they were delivered.
pub trait DeliveryStore {
    /// Takes the stream's events still to print for the sync `me` (see `sync/delivery.rs`):
    /// the numbers `(after, upto]`.
    fn claim(&mut self, stream: i64, me: &str, alive: &dyn Fn(&str) -> bool) -> Result<(i64, i64)>;
    /// The sync `me` could not deliver what it took: the next sync prints it again.
    fn release(&mut self, stream: i64, me: &str) -> Result<()>;
    /// The stream's output from its event number `from` (exclusive) up to `upto` was
    /// delivered: the cursor moves to `upto` when it has reached `from` (what another sync
    /// took before is not passed over while unproven), never back, never past what was
    /// numbered.
    fn mark_delivered(&mut self, stream: i64, from: i64, upto: i64) -> Result<()>;
}

/// Reading the archive: its events, its streams, its status and its integrity.
pub trait InspectStore {
    /// Where the archive is, for messages (a path, or a URL without its password).
    fn location(&self) -> String;
    /// The rows `filter` selects, as a record stream read off the async workers.
    fn read(&self, filter: ReadFilter) -> RecordStream;
    /// Every stream: id, source, tenant and query (parsed).
    fn streams(&self) -> Result<Vec<(i64, String, String, serde_json::Value)>>;
    /// What the archive holds (`archive status`).
    fn status(&self) -> Result<Status>;
    /// Recomputes both chains and checks them against `anchors` (`archive verify`).
    fn verify(&self, anchors: &[Anchor]) -> Result<Integrity>;
    /// The chain hash of row `seq`, if the archive holds that row.
    fn row_hash(&self, seq: i64) -> Result<Option<String>>;
}

/// What `archive copy` reads and keeps.
pub trait CopyStore {
    /// Every run of the state chain, oldest first.
    fn runs(&self) -> Result<Vec<RunRow>>;
    /// Every stream's row (its key as stored and its delivery), by id.
    fn stream_rows(&self) -> Result<Vec<StreamRow>>;
    /// At most `limit` of the events the stream numbered in `(after, upto]`, in its
    /// numbering order.
    fn linked_events(&self, stream: i64, range: (i64, i64), limit: i64)
    -> Result<Vec<LinkedEvent>>;
    /// A value of the archive's `meta` table.
    fn meta(&self, key: &str) -> Result<Option<String>>;
    /// Sets a value of the archive's `meta` table (never one of the chains' own keys).
    fn set_meta(&mut self, key: &str, value: &str) -> Result<()>;
    /// Gives the events `(event id, offset)` of `source` in `tenant` their `utc_offset`,
    /// where they have none (`archive copy` carries them across; not chained).
    fn set_utc_offsets(&mut self, source: Source, tenant: &str, rows: &[(&str, i32)])
    -> Result<()>;
}

/// How many events a run's end gives an offset at a time.
pub(crate) const OFFSET_BATCH: i64 = 1000;

/// The `meta` key under which a run's end that knew the zone notes the last row it checked
/// for events of `source` in `tenant` without an offset: the next one looks only after it.
pub(crate) fn offsets_checked_key(source: Source, tenant: &str) -> String {
    format!("utc_offsets_checked:{}:{tenant}", source.name())
}

/// The largest offset from UTC a zone has (18 hours), in minutes: what `archive verify`
/// accepts.
pub const MAX_UTC_OFFSET: i64 = 18 * 60;

/// Opens the archive at `location` for a sync: created when missing, migrated when older.
pub fn open_for_writing(location: &Location) -> Result<Box<dyn Store>> {
    match location {
        Location::Sqlite(path) => Ok(Box::new(sqlite::Sqlite::open_or_create(path)?)),
        Location::Postgres(pg) => Ok(Box::new(postgres::Postgres::open_for_writing(pg)?)),
    }
}

/// Opens an existing archive for reading only: no byte of it changes.
pub fn open_for_reading(location: &Location) -> Result<Box<dyn Store>> {
    match location {
        Location::Sqlite(path) => Ok(Box::new(sqlite::Sqlite::open_existing(path)?)),
        Location::Postgres(pg) => Ok(Box::new(postgres::Postgres::open_for_reading(pg)?)),
    }
}

/// Whether an archive exists at `location` (`sync --dry-run` reads it only then).
pub fn exists(location: &Location) -> Result<bool> {
    match location {
        Location::Sqlite(path) => Ok(path.exists()),
        Location::Postgres(pg) => postgres::Postgres::exists(pg),
    }
}
