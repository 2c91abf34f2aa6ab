//! The PostgreSQL backend of the archive: one schema (`archive.schema`, default `hrlogs`) of a
//! database that any number of hrlogs processes, on any number of machines, sync into at once.
//!
//! The tables are SQLite's (`docs/archive.md`), with PostgreSQL's types. What makes many
//! writers safe:
//! - events are unique per (source, tenant, event_id) (`ON CONFLICT`), and appended only by
//!   [`Store::finalize`], under a transaction-scoped advisory lock of the schema
//!   (`pg_advisory_xact_lock`): the chain is global, so appends are serialised, and each one
//!   reads the head the one before committed;
//! - staging is keyed per (stream, event) (`ON CONFLICT DO NOTHING`), so two runs of one
//!   stream stage each record once;
//! - a stream's delivery claims are taken under its row's lock (`SELECT … FOR UPDATE`);
//! - the first sync creates the schema under another advisory lock, so two first syncs at
//!   once create it once.
//!
//! The methods of [`Store`] are synchronous: each runs its queries on the async client with
//! the runtime's `block_on`, inside `block_in_place` (callers go through
//! [`crate::output::blocking`]); the connection's task runs on the runtime. Reading
//! ([`Store::read`]) opens a connection of its own and streams rows through a portal, a batch
//! at a time, in one read-only snapshot.

mod copy;
mod inspect;
mod read;
mod store;
pub mod target;
mod tls;

use std::future::Future;
use std::sync::{Mutex, MutexGuard};

use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use super::PgLocation;
use crate::error::{Error, Kind, Result};
use target::{Host, SslMode, Target};

/// The schema version this binary writes (the tables of SQLite's version 2, with
/// `events.utc_offset` from version 3). An older version is migrated by a sync (the column
/// added, the view made again), and read as it is.
pub const SCHEMA_VERSION: i64 = 3;

/// From version 2 (and 1): events keep the offset from UTC of a wall-clock time.
const MIGRATE_TO_3: &str = "
ALTER TABLE events ADD COLUMN IF NOT EXISTS utc_offset integer;
DROP VIEW IF EXISTS audit_events;
";

/// The tables, created in the archive's schema (the session's `search_path`).
const SCHEMA: &str = "
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE streams (
    id bigserial PRIMARY KEY,
    source text NOT NULL,
    tenant text NOT NULL,
    query text NOT NULL,
    created_at bigint NOT NULL,
    covered_from bigint,
    cursor bigint,
    last_run_at bigint,
    last_run_new bigint,
    last_run_seen bigint,
    last_run_requests bigint,
    last_run_complete boolean,
    pending text,
    linked bigint NOT NULL DEFAULT 0,
    delivered bigint NOT NULL DEFAULT 0,
    claimed bigint NOT NULL DEFAULT 0,
    claimed_by text,
    UNIQUE (source, tenant, query)
);
CREATE TABLE events (
    seq bigint PRIMARY KEY,
    source text NOT NULL,
    tenant text NOT NULL,
    event_id text NOT NULL,
    time_ms bigint NOT NULL,
    archived_at bigint NOT NULL,
    record text NOT NULL,
    hash text NOT NULL,
    utc_offset integer,
    UNIQUE (source, tenant, event_id)
);
CREATE INDEX events_by_time ON events (source, time_ms);
CREATE TABLE stream_events (
    stream_id bigint NOT NULL,
    seq bigint NOT NULL,
    pos bigint NOT NULL,
    PRIMARY KEY (stream_id, seq),
    UNIQUE (stream_id, pos)
);
CREATE INDEX stream_events_by_seq ON stream_events (seq);
CREATE TABLE staging (
    stream_id bigint NOT NULL,
    event_id text NOT NULL,
    time_ms bigint NOT NULL,
    ord bigint NOT NULL,
    record text NOT NULL,
    PRIMARY KEY (stream_id, event_id)
);
CREATE TABLE progress (
    stream_id bigint NOT NULL,
    unit text NOT NULL,
    floor bigint,
    PRIMARY KEY (stream_id, unit)
);
CREATE TABLE gaps (
    id bigserial PRIMARY KEY,
    stream_id bigint NOT NULL,
    from_ms bigint,
    until_ms bigint NOT NULL,
    noted_at bigint NOT NULL
);
CREATE TABLE runs (
    id bigint PRIMARY KEY,
    stream_id bigint NOT NULL,
    ended_at bigint NOT NULL,
    asked_from bigint,
    covered_from bigint,
    cursor bigint,
    linked_from bigint NOT NULL,
    linked_to bigint NOT NULL,
    links text NOT NULL,
    head text NOT NULL,
    count bigint NOT NULL,
    hash text NOT NULL
);
";

/// An open PostgreSQL archive.
pub struct Postgres {
    pub(crate) target: Target,
    tls: tls::Tls,
    client: Mutex<Client>,
    handle: tokio::runtime::Handle,
    /// The advisory lock that serialises appends to this schema's chain.
    chain_lock: i64,
    /// A reading session (made again so, if the connection is lost).
    read_only: std::sync::atomic::AtomicBool,
    /// The schema's version, once read (an older one is read as it is).
    version: std::sync::atomic::AtomicI64,
}

/// What a query failed with: the server's refusal or the connection's failure.
pub(crate) type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;

impl Postgres {
    /// Opens the archive for a sync: the schema and its tables are created by the first
    /// sync (a role with CREATE on the database), an archive of a newer version is refused.
    pub fn open_for_writing(loc: &PgLocation) -> Result<Postgres> {
        let pg = Postgres::connect(loc)?;
        pg.setup()?;
        Ok(pg)
    }

    /// Opens an existing archive for reading only (a role with SELECT is enough): the
    /// session is read-only, so no byte of it changes.
    pub fn open_for_reading(loc: &PgLocation) -> Result<Postgres> {
        let pg = Postgres::connect(loc)?;
        let c = pg.lock();
        pg.block(c.batch_execute("SET default_transaction_read_only = on"))
            .map_err(|e| pg.err("starting a read-only session", e))?;
        drop(c);
        pg.read_only
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if !pg.has_archive()? {
            return Err(pg.missing());
        }
        pg.check_version()?;
        Ok(pg)
    }

    /// Whether the schema holds an archive.
    pub fn exists(loc: &PgLocation) -> Result<bool> {
        Postgres::connect(loc)?.has_archive()
    }

    fn connect(loc: &PgLocation) -> Result<Postgres> {
        let target = target::resolve(loc, &|k| std::env::var(k).ok())?;
        let handle = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => h,
            _ => {
                return Err(Error::other(
                    "the PostgreSQL archive is used from outside the multi-threaded runtime",
                ));
            }
        };
        let tls = tls::Tls::new(&target)?;
        let client = session(&handle, &target, &tls, false)?;
        Ok(Postgres {
            chain_lock: lock_key("chain", &target.schema),
            target,
            tls,
            client: Mutex::new(client),
            handle,
            read_only: std::sync::atomic::AtomicBool::new(false),
            version: std::sync::atomic::AtomicI64::new(SCHEMA_VERSION),
        })
    }

    /// The client, for one call; a connection that was lost (a server restarted, a network
    /// cut during `--follow`) is made again, so that the next poll can succeed.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Client> {
        // A poisoned lock still holds a client.
        let mut c = self.client.lock().unwrap_or_else(|e| e.into_inner());
        if c.is_closed() {
            let read_only = self.read_only.load(std::sync::atomic::Ordering::Relaxed);
            // When it cannot be made, the next query says why.
            if let Ok(again) = session(&self.handle, &self.target, &self.tls, read_only) {
                *c = again;
            }
        }
        c
    }

    /// Runs `f` on the runtime, from this synchronous method.
    pub(crate) fn block<T>(&self, f: impl Future<Output = T>) -> T {
        tokio::task::block_in_place(|| self.handle.block_on(f))
    }

    /// A failed query as an hrlogs error naming the server, the database and the schema.
    pub(crate) fn err(&self, doing: &str, e: tokio_postgres::Error) -> Error {
        pg_error(&self.target, doing, e)
    }

    /// Whether the schema has `events.utc_offset` (version 3 on).
    pub(crate) fn has_offsets(&self) -> bool {
        self.version.load(std::sync::atomic::Ordering::Relaxed) >= 3
    }

    pub(crate) fn quoted_schema(&self) -> String {
        format!("\"{}\"", self.target.schema)
    }

    /// Where the archive is, for messages and `archive status`: the URL without a password.
    pub fn describe(&self) -> String {
        let t = &self.target;
        let host = match &t.host {
            Host::Tcp(h) if h.contains(':') => format!("[{h}]:{}", t.port),
            Host::Tcp(h) => format!("{h}:{}", t.port),
            Host::Socket(dir) => format!(":{}?host={}", t.port, dir.display()),
        };
        let (path, query) = match host.split_once('?') {
            Some((h, q)) => (format!("{}@{h}/{}", t.user, t.dbname), format!("?{q}")),
            None => (format!("{}@{host}/{}", t.user, t.dbname), String::new()),
        };
        format!("postgres://{path}{query} (schema {})", t.schema)
    }

    fn has_archive(&self) -> Result<bool> {
        let c = self.lock();
        let meta = format!("{}.meta", self.quoted_schema());
        let row = self
            .block(c.query_one("SELECT to_regclass($1) IS NOT NULL", &[&meta]))
            .map_err(|e| self.err("looking for the archive", e))?;
        drop(c);
        Ok(row.get(0))
    }

    fn missing(&self) -> Error {
        Error::input(format!(
            "no hrlogs archive in schema {} at {}",
            self.target.schema,
            self.target.server()
        ))
        .hint("sync into it first (`hrlogs sync …` creates it), or set archive.schema (HRLOGS_ARCHIVE_SCHEMA) to the schema that holds it")
    }

    /// The schema's version: an archive of a newer version is refused, and left alone.
    fn check_version(&self) -> Result<i64> {
        let c = self.lock();
        let v: Option<String> = self
            .block(c.query_opt("SELECT value FROM meta WHERE key = 'schema_version'", &[]))
            .map_err(|e| self.err("reading the schema version", e))?
            .map(|r| r.get(0));
        drop(c);
        let version = v
            .as_deref()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .ok_or_else(|| {
                Error::input(format!(
                    "schema {} at {} is not an hrlogs archive (its meta table has no schema version)",
                    self.target.schema,
                    self.target.server()
                ))
                .hint("set archive.schema (HRLOGS_ARCHIVE_SCHEMA) to another schema")
            })?;
        if !(1..=SCHEMA_VERSION).contains(&version) {
            return Err(Error::config(format!(
                "archive {} has schema version {version}; this hrlogs knows versions up to {SCHEMA_VERSION}",
                self.describe()
            ))
            .hint("use a newer hrlogs; the archive was left unchanged"));
        }
        self.version
            .store(version, std::sync::atomic::Ordering::Relaxed);
        Ok(version)
    }

    /// Creates the schema and its tables when they are missing (one creator at a time).
    fn setup(&self) -> Result<()> {
        let schema = self.quoted_schema();
        let meta = format!("{schema}.meta");
        let key = lock_key("setup", &self.target.schema);
        let mut c = self.lock();
        let done: PgResult<()> = self.block(async {
            let tx = c.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])
                .await?;
            let exists: bool = tx
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&meta])
                .await?
                .get(0);
            if !exists {
                tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                    .await?;
                tx.batch_execute(SCHEMA).await?;
                tx.batch_execute(&views::postgres()).await?;
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', $1)",
                    &[&SCHEMA_VERSION.to_string()],
                )
                .await?;
            } else {
                let version: Option<i64> = tx
                    .query_opt("SELECT value FROM meta WHERE key = 'schema_version'", &[])
                    .await?
                    .and_then(|r| r.get::<_, String>(0).trim().parse().ok());
                // An older schema gets the column (a newer one is refused below).
                if version.is_some_and(|v| (1..SCHEMA_VERSION).contains(&v)) {
                    tx.batch_execute(MIGRATE_TO_3).await?;
                    tx.batch_execute(&views::postgres()).await?;
                    tx.execute(
                        "UPDATE meta SET value = $1 WHERE key = 'schema_version'",
                        &[&SCHEMA_VERSION.to_string()],
                    )
                    .await?;
                }
            }
            tx.commit().await
        });
        drop(c);
        done.map_err(|e| self.err("creating the archive's tables", e))?;
        self.check_version()?;
        Ok(())
    }
}

pub(crate) use crate::archive::views;

/// A session with the server: connected (its connection's task on the runtime), in the
/// archive's schema, read-only when asked.
fn session(
    handle: &tokio::runtime::Handle,
    target: &Target,
    tls: &tls::Tls,
    read_only: bool,
) -> Result<Client> {
    let config = config_of(target);
    let tls = tls.clone();
    // The archive's queries are key lookups and streamed reads: JIT compilation only adds its
    // own time to them (the server may not know the setting: then it is left as it is).
    let mut set = format!(
        "SET search_path TO \"{}\"; DO $$ BEGIN PERFORM set_config('jit', 'off', false); EXCEPTION WHEN OTHERS THEN NULL; END $$",
        target.schema
    );
    if read_only {
        set.push_str("; SET default_transaction_read_only = on");
    }
    tokio::task::block_in_place(|| {
        handle.block_on(async move {
            let (client, connection) = config
                .connect(tls)
                .await
                .map_err(|e| pg_error(target, "connecting", e))?;
            tokio::spawn(async move {
                // Its failure shows in the next query.
                let _ = connection.await;
            });
            client
                .batch_execute(&set)
                .await
                .map_err(|e| pg_error(target, "choosing the schema", e))?;
            Ok(client)
        })
    })
}

/// The connection settings of `t`.
fn config_of(t: &Target) -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::new();
    match &t.host {
        Host::Tcp(h) => {
            c.host(h);
        }
        #[cfg(unix)]
        Host::Socket(dir) => {
            c.host_path(dir);
        }
        #[cfg(not(unix))]
        Host::Socket(_) => {
            c.host("localhost");
        }
    }
    c.port(t.port)
        .user(&t.user)
        .dbname(&t.dbname)
        .application_name(&t.application_name)
        .connect_timeout(t.connect_timeout)
        .keepalives(true)
        .ssl_mode(match t.sslmode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyFull => tokio_postgres::config::SslMode::Require,
        });
    if let Some(p) = &t.password {
        c.password(p.expose_secret().as_bytes());
    }
    c
}

/// An advisory lock's key for `what` in `schema`: two schemas of one database never share one.
fn lock_key(what: &str, schema: &str) -> i64 {
    let digest = Sha256::digest(format!("hrlogs {what} {schema}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(bytes)
}

/// True for the failures that a transaction run again can get past (a deadlock, a
/// serialisation failure).
pub(crate) fn retryable(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
            || *c == tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED
    })
}

/// A PostgreSQL failure as an hrlogs error: the server, the database and the schema named,
/// what was being done, what the server said, and what to do.
pub(crate) fn pg_error(t: &Target, doing: &str, e: tokio_postgres::Error) -> Error {
    let at = format!("archive at {} (schema {})", t.server(), t.schema);
    let password_hint = || {
        let mut h = "give the password in HRLOGS_ARCHIVE_PASSWORD (or archive.password), PGPASSWORD, or a ~/.pgpass line host:port:database:user:password (mode 0600)".to_string();
        if let Some(note) = &t.pgpass_note {
            h.push_str(&format!("; {note}"));
        }
        h
    };
    if let Some(db) = e.as_db_error() {
        let said = format!("{at}: {doing}: the server said: {}", db.message());
        let code = db.code().code();
        return match code {
            "28P01" => Error::config(said).hint(password_hint()),
            "28000" => Error::config(said).hint(format!(
                "check the user name in the URL, and that the server lets it in (its pg_hba.conf); {}",
                password_hint()
            )),
            "3D000" => Error::config(said).hint(format!(
                "create the database (createdb {}) or name the right one in the URL",
                t.dbname
            )),
            "42501" => Error::config(said).hint(
                "grant the role what it needs: to sync, CREATE on the database for the first sync and INSERT, UPDATE, DELETE, SELECT on the schema's tables; to read, USAGE on the schema and SELECT on its tables (README: For a team)",
            ),
            "25006" => Error::config(said)
                .hint("this command only reads the archive; run `hrlogs sync …` to write it"),
            c if c.starts_with("08") || c.starts_with("57") || c == "53300" => {
                Error::unavailable(said)
                    .hint("the server is unavailable or shutting down; try again later")
            }
            "40001" | "40P01" => Error::unavailable(said)
                .hint("other syncs kept conflicting with this one; run it again"),
            _ => Error::other(said).hint("check the server's log; `hrlogs archive verify` checks the archive"),
        };
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(&format!(": {more}"));
        }
        cause = c.source();
    }
    let said = format!("{at}: {doing}: {text}");
    if text.contains("password missing") {
        return Error::config(said).hint(password_hint());
    }
    if text.contains("TLS") || text.contains("certificate") || text.contains("tls") {
        return Error::config(said).hint(match t.sslmode {
            SslMode::VerifyFull => "the server's certificate was not accepted: give its CA with ?sslrootcert=PATH, or check the host name in the URL",
            _ => "the server does not offer TLS as the URL asks: enable it on the server, or use ?sslmode=prefer (or disable on a trusted network)",
        });
    }
    let host = match &t.host {
        Host::Tcp(h) => h.clone(),
        Host::Socket(d) => d.display().to_string(),
    };
    Error::new(Kind::Unavailable, said).hint(format!(
        "check that PostgreSQL runs and listens there (pg_isready -h {host} -p {}), and the URL's host and port",
        t.port
    ))
}

/// The test server and a schema of a test's own: shared by the unit tests here and the
/// integration tests (`tests/common/postgres.rs`).
#[doc(hidden)]
pub mod testing;

#[cfg(test)]
mod tests;
