//! The SQLite backend of the archive: one file (bundled SQLite, WAL mode).
//!
//! Tables (readable with `sqlite3`, Datasette or DuckDB):
//! - `events`: one row per event, unique per (source, tenant, event_id) whatever stream
//!   fetched it; `seq` is the insertion order, `hash` the tamper-evidence chain ([`chain`]),
//!   `utc_offset` the zone's offset (minutes) of a wall-clock time, when a sync knew it (not
//!   chained: `time_ms` stays as the vendor gave it).
//! - `streams`: one row per sync query (source, tenant, query flags other than the time range),
//!   with its cursor (complete up to), how far back it is complete, and its last run.
//! - `stream_events`: which streams fetched which events (for `--from-archive` filters that
//!   the records cannot answer by themselves, such as talent logs' `--job`).
//! - `staging` and `progress`: what an unfinished run fetched and which of its units it
//!   completed, committed as it goes, so a killed run loses nothing and the next run skips
//!   what was done. A run moves its staged rows into `events` (oldest first) and advances the
//!   cursor in one transaction.
//! - `gaps`: spans that may be lost because a stream was synced too rarely for the vendor's
//!   retention. `meta`: schema version, chain head and row count.

mod copy;
mod inspect;
mod migrate;
mod path;
mod read;
mod store;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::{Span, StreamKey, StreamState, StreamStore};
use crate::error::{Error, Result};

/// The schema this binary writes. Versions 1 (before per-stream delivery), 2 (before the
/// compact events table) and 3 (before `events.utc_offset`) are migrated when an archive is
/// opened for writing; opened read-only, they are read through a migrated temporary copy,
/// and the file is left as it is.
const SCHEMA_VERSION: i64 = 4;

/// The page size of a new archive (and of one migrated to version 3): large pages waste less
/// of each page on event rows of a few hundred bytes.
const PAGE_SIZE: i64 = 16384;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS streams (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    tenant TEXT NOT NULL,
    query TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    covered_from INTEGER,
    cursor INTEGER,
    last_run_at INTEGER,
    last_run_new INTEGER,
    last_run_seen INTEGER,
    last_run_requests INTEGER,
    last_run_complete INTEGER,
    pending TEXT,
    linked INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    claimed INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT,
    UNIQUE (source, tenant, query)
);
CREATE TABLE IF NOT EXISTS sources (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS tenants (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL,
    tenant_id INTEGER NOT NULL,
    stream_id INTEGER,
    event_id NOT NULL,
    time_ms INTEGER NOT NULL,
    archived_at INTEGER NOT NULL,
    record TEXT NOT NULL,
    hash BLOB NOT NULL,
    utc_offset INTEGER
);
CREATE INDEX IF NOT EXISTS events_by_id ON events (source_id, tenant_id, (ID_KEY));
CREATE INDEX IF NOT EXISTS events_by_time ON events (source_id, time_ms);
CREATE TABLE IF NOT EXISTS stream_events (
    stream_id INTEGER NOT NULL,
    pos INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (stream_id, pos)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS stream_events_by_seq ON stream_events (stream_id, seq)
    WHERE archived = 0;
CREATE TABLE IF NOT EXISTS staging (
    stream_id INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    ord INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (stream_id, event_id)
);
CREATE TABLE IF NOT EXISTS progress (
    stream_id INTEGER NOT NULL,
    unit TEXT NOT NULL,
    floor INTEGER,
    PRIMARY KEY (stream_id, unit)
);
CREATE TABLE IF NOT EXISTS gaps (
    stream_id INTEGER NOT NULL,
    from_ms INTEGER,
    until_ms INTEGER NOT NULL,
    noted_at INTEGER NOT NULL
);
";

/// The state chain (version 2 on): one row per completed run, chained.
const RUNS: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    stream_id INTEGER NOT NULL,
    ended_at INTEGER NOT NULL,
    asked_from INTEGER,
    covered_from INTEGER,
    cursor INTEGER,
    linked_from INTEGER NOT NULL,
    linked_to INTEGER NOT NULL,
    links TEXT NOT NULL,
    head TEXT NOT NULL,
    count INTEGER NOT NULL,
    hash TEXT NOT NULL
);
";

/// From version 1: each stream numbers the events it printed (`stream_events.pos`) and keeps
/// how far its output is known to have been delivered (`streams.delivered`) and how far a
/// running sync has taken it to print (`claimed`, by `claimed_by`); what version 1 printed
/// counts as delivered. Units record how far they were staged (`progress.floor`).
const MIGRATE_1_TO_2: &str = "
ALTER TABLE streams ADD COLUMN linked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE streams ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE streams ADD COLUMN claimed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE streams ADD COLUMN claimed_by TEXT;
ALTER TABLE stream_events ADD COLUMN pos INTEGER;
ALTER TABLE progress ADD COLUMN floor INTEGER;
UPDATE stream_events SET pos = numbered.n FROM (
    SELECT stream_id, seq, ROW_NUMBER() OVER (PARTITION BY stream_id ORDER BY seq) AS n
    FROM stream_events
) AS numbered
WHERE numbered.stream_id = stream_events.stream_id AND numbered.seq = stream_events.seq;
CREATE UNIQUE INDEX IF NOT EXISTS stream_events_by_pos ON stream_events (stream_id, pos);
UPDATE streams SET linked = (SELECT COUNT(*) FROM stream_events x WHERE x.stream_id = streams.id);
UPDATE streams SET delivered = linked, claimed = linked;
UPDATE meta SET value = '2' WHERE key = 'schema_version';
";

/// From version 2: events keep their source and tenant as ids of `sources` and `tenants`,
/// their chain hash as 32 bytes, an id that is a hash compactly ([`id_key`]) and the stream
/// that archived them; a stream's links are kept in its numbering order, and only the links
/// to events another stream archived are indexed by row. The rows themselves are converted
/// by `migrate::to_v3`.
const MIGRATE_2_TO_3: &str = "
DROP VIEW IF EXISTS audit_events;
DROP INDEX IF EXISTS stream_events_by_seq;
DROP INDEX IF EXISTS stream_events_by_pos;
ALTER TABLE stream_events RENAME TO stream_events_v2;
CREATE INDEX stream_events_v2_by_seq ON stream_events_v2 (seq, stream_id);
CREATE TABLE sources (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE tenants (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
INSERT INTO sources (name) SELECT DISTINCT source FROM events ORDER BY source;
INSERT INTO tenants (name) SELECT DISTINCT tenant FROM events ORDER BY tenant;
ALTER TABLE events RENAME TO events_v2;
DROP INDEX IF EXISTS events_by_time;
";

/// From version 3: events keep the offset from UTC of a wall-clock time (`utc_offset`, minutes;
/// NULL for instants and where the zone was not known), and the view shows it. The column is
/// added where version 2's migration did not create it.
const MIGRATE_3_TO_4: &str = "
DROP VIEW IF EXISTS audit_events;
UPDATE meta SET value = '4' WHERE key = 'schema_version';
";

/// The part of an event id that the index `events_by_id` holds: an id that is a content
/// hash by the first 8 bytes of its hash, any other as it is. The index finds the rows that
/// may hold an id; a run's end compares the whole id (`store.rs`) under the archive's write
/// lock, so each (source, tenant, id) is kept once.
pub(crate) const ID_KEY: &str =
    "CASE WHEN typeof(event_id) = 'blob' THEN substr(event_id, 1, 8) ELSE event_id END";

/// The schema of a new archive.
fn schema() -> String {
    SCHEMA.replace("ID_KEY", ID_KEY)
}

/// An event id as SQL text, from the column `col` as [`id_key`] stored it.
pub(crate) fn id_text(col: &str) -> String {
    format!(
        "CASE WHEN typeof({col}) = 'blob' THEN lower(hex(substr({col}, 1, 32))) || '-' || \
         COALESCE(NULLIF(CAST(substr({col}, 33) AS TEXT), ''), '1') ELSE {col} END"
    )
}

/// An event id as the events table keeps it: an id that is a content hash and its
/// occurrence (`<64 hex>-<n>`, Feishu's) as the hash's 32 bytes followed by `n` unless it
/// is 1; any other id as its text.
pub(crate) fn id_key(id: &str) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    let hashed = id.split_once('-').and_then(|(hash, n)| {
        let digits = !n.is_empty() && n.len() <= 19 && n.bytes().all(|b| b.is_ascii_digit());
        let lower =
            hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !(digits && lower && !n.starts_with('0')) {
            return None;
        }
        let mut key = unhex(hash)?;
        if n != "1" {
            key.extend_from_slice(n.as_bytes());
        }
        Some(key)
    });
    match hashed {
        Some(key) => Value::Blob(key),
        None => Value::Text(id.to_string()),
    }
}

/// A chain hash as the events table keeps it: 32 bytes (any text that is not lower-case hex
/// is kept as it is, so that verify still finds it altered).
pub(crate) fn hash_key(hash: &str) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match unhex(hash) {
        Some(bytes) if hash.len() == 64 && hash == hash.to_lowercase() => Value::Blob(bytes),
        _ => Value::Text(hash.to_string()),
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// An open SQLite archive.
pub struct Sqlite {
    pub(crate) conn: Connection,
    pub path: PathBuf,
    /// The schema version of the file (an archive opened read-only is not migrated).
    pub(crate) version: i64,
    /// Where the events are read: `path`, or, for an archive of an older schema opened
    /// read-only, a migrated copy of it in a private temporary folder (gone with the value).
    data: PathBuf,
    pub(crate) scratch: Option<std::sync::Arc<tempfile::TempDir>>,
}

/// An SQLite failure as an hrlogs error naming the archive.
pub(crate) fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    let text = e.to_string();
    let err = Error::other(format!("archive {}: {text}", path.display()));
    if text.contains("locked") || text.contains("busy") {
        err.hint("another hrlogs is writing this archive; try again when it is done")
    } else {
        err.hint("check the file and its folder's permissions and free space; `hrlogs archive verify` checks its content")
    }
}

impl Sqlite {
    /// Opens the archive at `path` for writing, creating it (mode 0600, parent folders
    /// included) when it does not exist, and migrating an older schema.
    pub fn open_or_create(path: &Path) -> Result<Sqlite> {
        self::path::prepare(path, true)?;
        let conn = Connection::open(path).map_err(|e| db_error(path, e))?;
        let mut archive = Sqlite {
            conn,
            path: path.to_path_buf(),
            version: SCHEMA_VERSION,
            data: path.to_path_buf(),
            scratch: None,
        };
        archive.setup_for_writing()?;
        Ok(archive)
    }

    /// Opens an existing archive for reading only (`--from-archive`, `archive status|verify`,
    /// `sync --dry-run`): no byte of it changes, and it works on a read-only file or medium.
    /// An archive of an older schema is read through a migrated copy (see
    /// [`Sqlite::migrated_copy`]), so that a read-only copy of an old archive stays readable.
    pub fn open_existing(path: &Path) -> Result<Sqlite> {
        self::path::prepare(path, false)?;
        let conn = open_read_only(path)?;
        let version = read_version(&conn, path)?;
        if (1..SCHEMA_VERSION).contains(&version) {
            return Self::migrated_copy(&conn, path);
        }
        let mut archive = Sqlite {
            conn,
            path: path.to_path_buf(),
            version: 0,
            data: path.to_path_buf(),
            scratch: None,
        };
        archive.version = archive.schema_version()?;
        Ok(archive)
    }

    /// An archive of an older schema, opened read-only: `VACUUM INTO` a private temporary
    /// folder (SQLite copies what the reading connection sees, its write-ahead log included,
    /// and writes nothing beside the original), then the copy migrated as a sync would. The
    /// original is left byte for byte; messages still name it.
    fn migrated_copy(conn: &Connection, path: &Path) -> Result<Sqlite> {
        let scratch = tempfile::Builder::new()
            .prefix("hrlogs-archive-")
            .tempdir()
            .map_err(|e| {
                Error::other(format!(
                    "archive {} is of an older schema and is read through a migrated copy, but no temporary folder could be made: {e}",
                    path.display()
                ))
                .hint("set TMPDIR to a folder with room for a copy of the archive, or run `hrlogs sync` with it once to migrate it in place")
            })?;
        let copy = scratch.path().join("archive.sqlite3");
        conn.execute("VACUUM INTO ?1", params![copy.to_string_lossy()])
            .map_err(|e| {
                Error::other(format!(
                    "archive {} is of an older schema and is read through a migrated copy in {}, which could not be written: {e}",
                    path.display(),
                    scratch.path().display()
                ))
                .hint("set TMPDIR to a folder with room for a copy of the archive, or run `hrlogs sync` with it once to migrate it in place")
            })?;
        let mut migrated = Sqlite::open_or_create(&copy)?;
        migrated.path = path.to_path_buf();
        migrated.scratch = Some(std::sync::Arc::new(scratch));
        Ok(migrated)
    }

    fn setup_for_writing(&mut self) -> Result<()> {
        let path = self.path.clone();
        let e = |err| db_error(&path, err);
        self.conn
            .busy_timeout(std::time::Duration::from_secs(30))
            .map_err(e)?;
        // Before the file's first table (on an existing file they wait for a VACUUM): large
        // pages, and free pages given back (staging rows are deleted at the end of each run).
        self.conn
            .pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(e)?;
        self.conn
            .pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .map_err(e)?;
        // Switching a new file to WAL takes a lock SQLite does not wait for: two syncs that
        // create one archive at the same moment try again for as long as they would wait.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match self.conn.pragma_update(None, "journal_mode", "WAL") {
                Ok(()) => break,
                Err(err) if is_busy(&err) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(err) => return Err(e(err)),
            }
        }
        // NORMAL: in WAL mode every commit survives a killed process; staged batches may be
        // lost to a power cut (the next run fetches them again). A run's end is committed
        // with FULL (see `finalize`), so it survives a power cut too.
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(e)?;
        // A migration that rewrites tenants must leave no old text (a password) in free pages.
        self.conn
            .pragma_update(None, "secure_delete", "ON")
            .map_err(e)?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(e)?;
        let fresh: bool = tx
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM sqlite_master)", [], |r| {
                r.get(0)
            })
            .map_err(e)?;
        if fresh {
            tx.execute_batch(&schema()).map_err(e)?;
            tx.execute_batch(RUNS).map_err(e)?;
            tx.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?1)",
                params![SCHEMA_VERSION.to_string()],
            )
            .map_err(e)?;
        }
        let mut version = read_version(&tx, &self.path)?;
        if !(1..=SCHEMA_VERSION).contains(&version) {
            return Err(unknown_version(&self.path, version));
        }
        if version == 1 {
            tx.execute_batch(MIGRATE_1_TO_2).map_err(e)?;
            tx.execute_batch(RUNS).map_err(e)?;
            store::seed_runs(&tx).map_err(e)?;
            version = 2;
        }
        let mut rewritten = false;
        if version == 2 {
            rewritten = migrate::migrate(&tx, &self.path)?;
            tx.execute_batch(MIGRATE_2_TO_3).map_err(e)?;
            tx.execute_batch(&schema()).map_err(e)?;
            migrate::to_v3(&tx).map_err(e)?;
            version = 3;
        }
        if version == 3 {
            let has_offset: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM pragma_table_info('events') WHERE name = 'utc_offset')",
                    [],
                    |r| r.get(0),
                )
                .map_err(e)?;
            if !has_offset {
                tx.execute_batch("ALTER TABLE events ADD COLUMN utc_offset INTEGER")
                    .map_err(e)?;
            }
            tx.execute_batch(MIGRATE_3_TO_4).map_err(e)?;
        }
        // The SQL surface both backends share (docs/archive.md).
        tx.execute_batch(&crate::archive::views::sqlite(&id_text("e.event_id")))
            .map_err(e)?;
        tx.commit().map_err(e)?;
        // The file as a new one would be: large pages, its free pages given back.
        let vacuumed = self.compact();
        if rewritten && !vacuumed {
            // Nor in the write-ahead log (a VACUUM left none).
            self.conn
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                .map_err(e)?;
        }
        self.conn
            .pragma_update(None, "secure_delete", "OFF")
            .map_err(e)?;
        self.version = SCHEMA_VERSION;
        Ok(())
    }

    fn schema_version(&self) -> Result<i64> {
        let v = read_version(&self.conn, &self.path)?;
        if v == SCHEMA_VERSION {
            Ok(v)
        } else if (1..SCHEMA_VERSION).contains(&v) {
            Err(Error::config(format!(
                "archive {} has schema version {v}, which this hrlogs reads once it is migrated to version {SCHEMA_VERSION}",
                self.path.display()
            ))
            .hint("run `hrlogs sync` (or `hrlogs archive copy`) with this archive once: it is migrated on its first write, and keeps every event and chain"))
        } else {
            Err(unknown_version(&self.path, v))
        }
    }

    /// Rewrites the file (VACUUM) with the page size and the giving back of free pages of a
    /// new archive, when it was made before them; true when it did. Needs the file to
    /// itself: when another process has it open, the file stays as it is (valid, only
    /// larger) until a later sync.
    fn compact(&self) -> bool {
        let setting = |name: &str| {
            self.conn
                .pragma_query_value(None, name, |r| r.get::<_, i64>(0))
                .unwrap_or(0)
        };
        if setting("auto_vacuum") == 2 && setting("page_size") == PAGE_SIZE {
            return false;
        }
        let rewrite = || -> rusqlite::Result<()> {
            self.conn.pragma_update(None, "journal_mode", "DELETE")?;
            self.conn.pragma_update(None, "page_size", PAGE_SIZE)?;
            self.conn
                .pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
            self.conn.execute_batch("VACUUM")
        };
        // Not waiting for readers: they hold the file for a while, a later sync compacts it.
        let _ = self
            .conn
            .busy_timeout(std::time::Duration::from_millis(100));
        let vacuumed = rewrite().is_ok();
        let _ = self.conn.busy_timeout(std::time::Duration::from_secs(30));
        let _ = self.conn.pragma_update(None, "journal_mode", "WAL");
        vacuumed
    }

    /// After a run: the pages the staging held given back to the file system, and the
    /// write-ahead log emptied, so that what a sync leaves is the archive's own size. Neither
    /// waits for readers: what they hold up is done by a later run.
    pub(crate) fn give_back(&self) {
        // Each step of the pragma gives back one page: stepped to its end.
        let _ = self
            .conn
            .prepare("PRAGMA incremental_vacuum")
            .and_then(|mut s| {
                let mut rows = s.query([])?;
                while rows.next()?.is_some() {}
                Ok(())
            });
        let _ = self.conn.busy_timeout(std::time::Duration::from_millis(50));
        let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
        let _ = self.conn.busy_timeout(std::time::Duration::from_secs(30));
    }

    pub(crate) fn err(&self, e: rusqlite::Error) -> Error {
        db_error(&self.path, e)
    }

    /// One statement, its error naming the archive.
    /// Runs in an IMMEDIATE transaction, as every write does: it takes the write lock before
    /// reading (waiting for it up to the busy timeout), so that a write of another process in
    /// between can never leave it a stale snapshot ("database is locked" at once).
    pub(crate) fn exec(&self, sql: &str, params: impl rusqlite::Params) -> Result<()> {
        let e = |err| self.err(err);
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(e)?;
        match self.conn.execute(sql, params) {
            Ok(_) => self.conn.execute_batch("COMMIT").map_err(e),
            Err(err) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e(err))
            }
        }
    }
}

impl StreamStore for Sqlite {
    /// The stream's row, created when this is its first sync.
    fn stream(&mut self, key: &StreamKey, now_ms: i64) -> Result<StreamState> {
        self.exec(
            "INSERT OR IGNORE INTO streams (source, tenant, query, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![key.source.name(), key.tenant, key.query, now_ms],
        )?;
        self.find_stream(key)?.ok_or_else(|| {
            Error::other(format!(
                "archive {}: the stream's row vanished as it was created",
                self.path.display()
            ))
        })
    }

    /// The stream's row, if it has one (nothing is written).
    fn find_stream(&self, key: &StreamKey) -> Result<Option<StreamState>> {
        self.conn
            .query_row(
                "SELECT id, covered_from, cursor, last_run_at, pending FROM streams
                 WHERE source = ?1 AND tenant = ?2 AND query = ?3",
                params![key.source.name(), key.tenant, key.query],
                |r| {
                    Ok(StreamState {
                        id: r.get(0)?,
                        covered_from: r.get(1)?,
                        cursor: r.get(2)?,
                        last_run_at: r.get(3)?,
                        pending: r.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Remembers the range of the run under way, so that a killed run resumes with it.
    fn set_pending(&mut self, stream: i64, pending: Option<&str>) -> Result<()> {
        self.exec(
            "UPDATE streams SET pending = ?2 WHERE id = ?1",
            params![stream, pending],
        )
    }

    /// Notes a span that may be lost (the vendor's retention passed before it was synced).
    fn note_gap(&mut self, stream: i64, (from_ms, until_ms): Span, now_ms: i64) -> Result<()> {
        self.exec(
            "INSERT INTO gaps (stream_id, from_ms, until_ms, noted_at) VALUES (?1, ?2, ?3, ?4)",
            params![stream, from_ms, until_ms, now_ms],
        )
    }

    /// The time of the newest event the stream holds (the vendor's clock, unlike the host's).
    fn newest_event_ms(&self, stream: i64) -> Result<Option<i64>> {
        self.conn
            .query_row(
                "SELECT MAX(e.time_ms) FROM stream_events s JOIN events e ON e.seq = s.seq
                 WHERE s.stream_id = ?1",
                params![stream],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }
}

/// SQLite's "database is locked": another connection holds what this one needs.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// The schema version `meta` records; an error when the file is not an hrlogs archive.
fn read_version(conn: &Connection, path: &Path) -> Result<i64> {
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|err| {
            Error::input(format!(
                "{} is not an hrlogs archive: {err}",
                path.display()
            ))
        })?;
    match version {
        Some(v) => v.trim().parse().map_err(|_| {
            Error::input(format!(
                "{} is not an hrlogs archive: its schema version is {v:?}",
                path.display()
            ))
        }),
        None => Err(Error::input(format!(
            "{} is not an hrlogs archive",
            path.display()
        ))),
    }
}

fn unknown_version(path: &Path, version: i64) -> Error {
    Error::config(format!(
        "archive {} has schema version {version}; this hrlogs knows versions up to {SCHEMA_VERSION}",
        path.display()
    ))
    .hint("use a newer hrlogs to read it; it was left unchanged")
}

/// A read-only connection that changes no byte of the archive and works on a read-only file
/// or medium. Where SQLite cannot open its shared-memory file there (a read-only mount), the
/// file is opened as immutable, which is exact only while no write-ahead log holds
/// transactions that were not copied back into it: such a log is named in the error.
pub(crate) fn open_read_only(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    let wal_holds_changes = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0);
    // Where nothing can write the archive (a read-only file, folder or medium), no writer can
    // change it under us: it is opened as immutable, so that SQLite creates no file beside
    // it. Elsewhere a sync may be writing: the ordinary read-only opening, with its locks.
    if !wal_holds_changes && !writable(path) {
        if let Ok(c) = open_immutable(path, flags) {
            return Ok(c);
        }
    }
    let normal = Connection::open_with_flags(path, flags).and_then(|c| {
        c.busy_timeout(std::time::Duration::from_secs(30))?;
        // Reading the schema proves that the file (and its WAL) could be read.
        c.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })?;
        Ok(c)
    });
    let first = match normal {
        Ok(c) => return Ok(c),
        Err(e) => e,
    };
    if wal_holds_changes {
        return Err(Error::other(format!(
            "archive {}: cannot read it here ({first}), and its write-ahead log {} holds changes that only a writable copy can replay",
            path.display(),
            wal.display()
        ))
        .hint("copy the archive and its -wal file to a writable folder and read the copy, or checkpoint the original first: sqlite3 ARCHIVE 'PRAGMA wal_checkpoint(TRUNCATE)'"));
    }
    open_immutable(path, flags).map_err(|_| db_error(path, first))
}

/// Whether this process could write the archive or create files beside it.
fn writable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let can_write = |p: &Path| {
            std::ffi::CString::new(p.as_os_str().as_bytes())
                // SAFETY: access reads the NUL-terminated path it is given.
                .is_ok_and(|c| unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0)
        };
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        can_write(path) && can_write(folder)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        true
    }
}

/// The archive as an immutable file: no lock, no file created beside it.
fn open_immutable(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    // A URI, so that `immutable=1` can be said: every byte but plain ASCII percent-encoded.
    let mut uri = String::from("file:");
    for b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/._-~".contains(b) {
            uri.push(char::from(*b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    let c = Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)?;
    c.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{InspectStore, Integrity, RunStore, Store};
    use crate::identity::Source;

    #[tokio::test(flavor = "multi_thread")]
    async fn sqlite_passes_the_conformance_suite() {
        let make = || {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = Sqlite::open_or_create(&dir.path().join("a.sqlite3")).expect("open");
            (
                Box::new(store) as Box<dyn Store>,
                Box::new(dir) as Box<dyn std::any::Any>,
            )
        };
        crate::archive::conformance::all(&make).await;
    }

    #[test]
    fn a_row_altered_behind_the_contract_breaks_the_chain_there() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/a.sqlite3");
        let mut a = Sqlite::open_or_create(&path).expect("open");
        let k = StreamKey {
            source: Source::RecruiteeAudit,
            tenant: "t".into(),
            query: "{}".into(),
        };
        let id = a.stream(&k, 1).expect("stream").id;
        crate::archive::conformance::stage(&mut a, id, &[("2", 20), ("1", 10)]);
        a.finalize(&k, id, &crate::archive::conformance::end(Some(100), 100))
            .expect("finalize");
        a.conn
            .execute("UPDATE events SET time_ms = 11 WHERE seq = 1", [])
            .expect("alter");
        assert!(matches!(
            a.verify(&[]).expect("verify"),
            Integrity::Broken { seq: 1, .. }
        ));
    }
}
