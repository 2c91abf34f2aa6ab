//! The SQLite backend of the archive: one file (bundled SQLite, WAL mode).
//!
//! Tables (readable with `sqlite3`, Datasette or DuckDB):
//! - `events`: one row per event, unique per (source, tenant, event_id) whatever stream
//!   fetched it; `seq` is the insertion order, `hash` the tamper-evidence chain ([`chain`]).
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

/// The schema this binary writes. Version 1 (before per-stream delivery) is migrated when an
/// archive is opened for writing, and read as it is when opened read-only.
const SCHEMA_VERSION: i64 = 2;

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
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    tenant TEXT NOT NULL,
    event_id TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    archived_at INTEGER NOT NULL,
    record TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (source, tenant, event_id)
);
CREATE INDEX IF NOT EXISTS events_by_time ON events (source, time_ms);
CREATE TABLE IF NOT EXISTS stream_events (
    stream_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    pos INTEGER,
    PRIMARY KEY (stream_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS stream_events_by_seq ON stream_events (seq);
CREATE UNIQUE INDEX IF NOT EXISTS stream_events_by_pos ON stream_events (stream_id, pos);
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

/// An open SQLite archive.
pub struct Sqlite {
    pub(crate) conn: Connection,
    pub path: PathBuf,
    /// The schema version of the file (an archive opened read-only is not migrated).
    pub(crate) version: i64,
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
        };
        archive.setup_for_writing()?;
        Ok(archive)
    }

    /// Opens an existing archive for reading only (`--from-archive`, `archive status|verify`,
    /// `sync --dry-run`): no byte of it changes, and it works on a read-only file or medium.
    pub fn open_existing(path: &Path) -> Result<Sqlite> {
        self::path::prepare(path, false)?;
        let conn = open_read_only(path)?;
        let mut archive = Sqlite {
            conn,
            path: path.to_path_buf(),
            version: 0,
        };
        archive.version = archive.schema_version()?;
        Ok(archive)
    }

    fn setup_for_writing(&mut self) -> Result<()> {
        let path = self.path.clone();
        let e = |err| db_error(&path, err);
        self.conn
            .busy_timeout(std::time::Duration::from_secs(30))
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
            tx.execute_batch(SCHEMA).map_err(e)?;
            tx.execute_batch(RUNS).map_err(e)?;
            tx.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?1)",
                params![SCHEMA_VERSION.to_string()],
            )
            .map_err(e)?;
        }
        let version = read_version(&tx, &self.path)?;
        if version == 1 {
            tx.execute_batch(MIGRATE_1_TO_2).map_err(e)?;
            tx.execute_batch(RUNS).map_err(e)?;
            store::seed_runs(&tx).map_err(e)?;
        } else if version != SCHEMA_VERSION {
            return Err(unknown_version(&self.path, version));
        }
        let rewritten = migrate::migrate(&tx, &self.path)?;
        // The SQL surface both backends share (docs/archive.md).
        tx.execute_batch(crate::archive::views::sqlite())
            .map_err(e)?;
        tx.commit().map_err(e)?;
        if rewritten {
            // Nor in the write-ahead log.
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
        if v == 1 || v == SCHEMA_VERSION {
            Ok(v)
        } else {
            Err(unknown_version(&self.path, v))
        }
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
