//! Archive benchmark, SQLite and PostgreSQL side by side: `hrlogs sync feishu dept-logs` from a
//! loopback Feishu (no latency, no rate limit: the archive is what is measured), for each
//! backend:
//! 1. 300,000 department events synced into a fresh archive, then read back with
//!    `--from-archive` (all of them, and a tenth: memory stays flat): events/s, peak RSS;
//! 2. a sync with nothing new, at 300,000 and at 1,000,000 archived events: requests per chain
//!    (a chain is one window × one batch of 100 departments) and wall time (median of three);
//! 3. four writers at once: four hrlogs processes syncing overlapping department sets (each
//!    department in two of them) into one archive: total events/s, and a check that every
//!    event is there once (`audit_events` counted) and that `hrlogs archive verify` exits 0;
//! 4. the archive's size per event (SQLite: the file and its `-wal` as the sync leaves them;
//!    PostgreSQL: `pg_total_relation_size` of the schema's tables), against the same events as
//!    ndjson (the bytes `--from-archive -f ndjson` writes).
//!
//! PostgreSQL is measured as the sync leaves it (no statistics yet: autovacuum analyses a
//! new table some time later), then again after `VACUUM (ANALYZE)` of the schema's tables.
//!
//! The fake's events are spread evenly (about 430 a day, 150 departments, ending an hour ago),
//! so a sync with nothing new re-reads the same overlap days at both sizes.
//!
//! Run: `cargo bench --bench archive` (about 10 minutes; add `-- quick` for a tenth of the
//! events, `-- large` for step 2 at the larger size only, `-- postgres` or `-- sqlite` for one
//! backend). PostgreSQL: the tests' server (`HRLOGS_TEST_POSTGRES`, else
//! `postgres://postgres@127.0.0.1:5432/test`), in schemas the bench creates and drops; when it
//! does not answer, the PostgreSQL column says SKIPPED.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

mod common;
#[allow(dead_code)] // the server's URL and the schemas; not the tests' skip rule
#[path = "../tests/common/postgres.rs"]
mod postgres;

const HRLOGS: &str = env!("CARGO_BIN_EXE_hrlogs");
const DEPARTMENTS: u32 = 150;
/// Events a day: 300,000 over 700 days (about 430).
const PER_700_DAYS: i64 = 300_000;

/// Requests, chains, and the most requests one chain made.
type Requests = (u64, usize, u64);

/// A backend's name, and how to make an empty archive of it.
type Backend = (&'static str, fn() -> Archive);

/// The fake Feishu's department logs: (department, seconds, JSON text), newest first, and the
/// requests of each chain (department set and `start_date`: a walk narrows its `end_date`).
struct Fake {
    logs: Vec<(u32, i64, String)>,
    chains: Mutex<HashMap<(String, String), u64>>,
}

impl Fake {
    /// Requests since the last call: (requests, chains, most requests of one chain).
    fn take_requests(&self) -> Requests {
        let chains = self
            .chains
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default();
        let max = chains.values().copied().max().unwrap_or(0);
        (chains.values().sum(), chains.len(), max)
    }
}

async fn token() -> Response {
    axum::Json(json!({"code": 0, "msg": "ok", "tenant_access_token": "t-bench", "expire": 7200}))
        .into_response()
}

/// A page of the departments' logs between the two dates (UTC): the records of that time span
/// are found by bisection (the logs are sorted), the departments filtered until the page and
/// one more are found.
async fn dept(
    State(f): State<Arc<Fake>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let ids: HashSet<u32> = v["department_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str()?.strip_prefix('d')?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let day = |k: &str| {
        v[k].as_str()
            .and_then(|s| s.parse::<jiff::civil::Date>().ok())
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp().as_second())
    };
    let (Some(from), Some(to)) = (day("start_date"), day("end_date")) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if let Ok(mut chains) = f.chains.lock() {
        let chain = (v["department_ids"].to_string(), v["start_date"].to_string());
        *chains.entry(chain).or_default() += 1;
    }
    let to = to + 86_399;
    let newest = f.logs.partition_point(|r| r.1 > to);
    let oldest = f.logs.partition_point(|r| r.1 >= from);
    let size: usize = q
        .get("page_size")
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let offset: usize = q
        .get("page_token")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut hits = f
        .logs
        .get(newest..oldest.max(newest))
        .unwrap_or_default()
        .iter()
        .filter(|(dep, _, _)| ids.contains(dep))
        .skip(offset)
        .map(|(_, _, j)| j.as_str());
    let items: Vec<&str> = hits.by_ref().take(size).collect();
    let next = hits.next().map(|_| offset + items.len());
    let body = format!(
        "{{\"code\":0,\"msg\":\"success\",\"data\":{{\"op_logs\":[{}],\"has_more\":{},\"next_page_token\":\"{}\"}}}}",
        items.join(","),
        next.is_some(),
        next.map(|n| n.to_string()).unwrap_or_default()
    );
    ([("content-type", "application/json")], body).into_response()
}

/// The fake on loopback: its base URL, and the runtime that serves it.
fn serve(fake: Arc<Fake>) -> (String, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route(
            "/open-apis/auth/v3/tenant_access_token/internal",
            post(token),
        )
        .route(
            "/open-apis/corehr/v2/departments/query_operation_logs",
            post(dept),
        )
        .with_state(fake);
    rt.spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (format!("http://{addr}"), rt)
}

/// `records` events over `days` days ending at `end` (seconds), newest first.
fn data(records: usize, days: i64, end: i64) -> Vec<(u32, i64, String)> {
    let mut state: u64 = 1;
    let mut next = |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n.max(1)
    };
    let mut v: Vec<(u32, i64, String)> = (0..records)
        .map(|i| {
            let dep = next(u64::from(DEPARTMENTS)) as u32;
            let at = end - next((days * 86_400) as u64) as i64;
            let t = jiff::Timestamp::from_second(at).expect("ts").strftime("%Y-%m-%d %H:%M:%S").to_string();
            let j = json!({"object_id": format!("d{dep}"), "changes": [{"field": "description", "before": "优秀部门", "after": format!("更优秀的部门 {i}")}], "operator": "E001", "operation_type": 50, "operation_time": t, "effective_time": &t[..10], "operation_reason": "因人员调整,变更部门负责人为张三", "change_reasons": ["组织调整"]}).to_string();
            (dep, at, j)
        })
        .collect();
    v.sort_by_key(|r| std::cmp::Reverse(r.1));
    v
}

/// An archive of the bench's own: a SQLite file in a temporary directory, or a PostgreSQL
/// schema (created here, dropped when this goes away).
enum Archive {
    Sqlite(tempfile::TempDir),
    Postgres(postgres::Schema),
}

impl Archive {
    fn sqlite() -> Archive {
        Archive::Sqlite(tempfile::tempdir().expect("tempdir"))
    }

    fn postgres() -> Archive {
        let schema = postgres::Schema::new();
        schema.query(&format!("CREATE SCHEMA \"{}\"", schema.name));
        Archive::Postgres(schema)
    }

    /// What `--archive` is given.
    fn location(&self) -> String {
        match self {
            Archive::Sqlite(dir) => dir
                .path()
                .join("bench.sqlite3")
                .to_str()
                .expect("utf-8 path")
                .to_string(),
            Archive::Postgres(_) => postgres::server_url(),
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Archive::Sqlite(_) => Vec::new(),
            Archive::Postgres(s) => vec![("HRLOGS_ARCHIVE_SCHEMA", s.name.clone())],
        }
    }

    /// Bytes on disk: the file and its `-wal`; the schema's tables with their indexes and
    /// TOAST. With the parts, largest first (SQLite: the `-wal`, the free pages, each table's
    /// pages).
    fn size(&self) -> (u64, Vec<(String, u64)>) {
        match self {
            Archive::Sqlite(_) => {
                let file = self.location();
                let len = |p: &str| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                let wal = len(&format!("{file}-wal"));
                let mut parts = sqlite_pages(&file);
                parts.push(("-wal".into(), wal));
                parts.sort_by_key(|p| std::cmp::Reverse(p.1));
                (len(&file) + wal, parts)
            }
            Archive::Postgres(s) => {
                let tables: Vec<(String, u64)> = s
                    .query(
                        "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
                         JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = current_schema() AND c.relkind = 'r'
                         ORDER BY 2 DESC",
                    )
                    .into_iter()
                    .filter_map(|r| {
                        let name = r.first()?.clone()?;
                        Some((name, r.get(1)?.as_deref()?.parse().ok()?))
                    })
                    .collect();
                (tables.iter().map(|t| t.1).sum(), tables)
            }
        }
    }

    /// PostgreSQL: `VACUUM (ANALYZE)` of the schema's tables, as autovacuum would do some time
    /// after a sync (a bench's next run comes sooner). Nothing for SQLite.
    fn vacuum(&self) {
        if let Archive::Postgres(s) = self {
            let tables: Vec<String> = s
                .query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
                .into_iter()
                .filter_map(|r| Some(format!("\"{}\"", r.first()?.clone()?)))
                .collect();
            s.query(&format!("VACUUM (ANALYZE) {}", tables.join(", ")));
        }
    }

    /// Rows of `audit_events`, and distinct (source, tenant, event_id) among them.
    fn events(&self) -> (i64, i64) {
        const SQL: &str = "SELECT (SELECT COUNT(*) FROM audit_events),
            (SELECT COUNT(*) FROM (SELECT DISTINCT source, tenant, event_id FROM audit_events) AS d)";
        match self {
            Archive::Sqlite(_) => {
                let c = rusqlite::Connection::open_with_flags(
                    self.location(),
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
                .expect("open the archive");
                c.query_row(SQL, [], |r| Ok((r.get(0)?, r.get(1)?)))
                    .expect("count the events")
            }
            Archive::Postgres(s) => {
                let row = s.query(SQL).into_iter().next().unwrap_or_default();
                let n = |i: usize| {
                    row.get(i)
                        .and_then(|v| v.as_deref()?.parse().ok())
                        .unwrap_or(-1)
                };
                (n(0), n(1))
            }
        }
    }
}

/// A SQLite file's free pages, and each table's pages (with its indexes) when SQLite has
/// `dbstat`.
fn sqlite_pages(file: &str) -> Vec<(String, u64)> {
    let Ok(c) =
        rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return Vec::new();
    };
    let free: i64 = c
        .query_row(
            "SELECT freelist_count * page_size FROM pragma_freelist_count, pragma_page_size",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0);
    let free = ("free pages".to_string(), u64::try_from(free).unwrap_or(0));
    let sql = "SELECT COALESCE(m.tbl_name, s.name), SUM(s.pgsize) FROM dbstat s
               LEFT JOIN sqlite_schema m ON m.name = s.name
               GROUP BY 1 ORDER BY 2 DESC";
    let Ok(mut stmt) = c.prepare(sql) else {
        return vec![free];
    };
    let mut parts: Vec<(String, u64)> = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map(|rows| {
            rows.filter_map(|r| r.ok())
                .map(|(n, b)| (n, u64::try_from(b).unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    parts.push(free);
    parts
}

/// Where the PostgreSQL server does not answer: why (the bench goes on with SQLite alone).
fn postgres_unreachable() -> Option<String> {
    let url = postgres::server_url();
    let parsed = match url::Url::parse(&url) {
        Ok(u) => u,
        Err(e) => return Some(format!("{url}: {e}")),
    };
    let host = parsed.host_str().unwrap_or("127.0.0.1").to_string();
    let port = parsed.port().unwrap_or(5432);
    let addrs = match std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port)) {
        Ok(a) => a.collect::<Vec<_>>(),
        Err(e) => return Some(format!("{host}:{port}: {e}")),
    };
    let answers = addrs
        .iter()
        .any(|a| std::net::TcpStream::connect_timeout(a, Duration::from_secs(3)).is_ok());
    (!answers).then(|| format!("nothing answers at {host}:{port}"))
}

/// One hrlogs run: wall time, lines and bytes it wrote, peak RSS, whether it ended 0.
struct Run {
    wall: Duration,
    records: usize,
    bytes: u64,
    max_rss_kib: u64,
    ok: bool,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.records as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// An hrlogs process being run: its output counted, its peak RSS (VmHWM) polled from /proc.
struct Running {
    started: Instant,
    child: Child,
    peak: common::PeakRss,
    counter: JoinHandle<(usize, u64)>,
    args: Vec<String>,
}

fn start(base: &str, archive: &Archive, args: &[String]) -> Running {
    let started = Instant::now();
    let mut child = Command::new(HRLOGS)
        .arg("--archive")
        .arg(archive.location())
        .args(args)
        .envs(archive.env())
        .env("HRLOGS_FEISHU_BASE_URL", base)
        .env("HRLOGS_FEISHU_APP_ID", "cli_bench")
        .env("HRLOGS_FEISHU_APP_SECRET", "bench")
        .env("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND", "100000")
        .env("TZ", "UTC")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn hrlogs");
    let peak = common::PeakRss::watch(child.id());
    let stdout = child.stdout.take().expect("stdout");
    let counter = std::thread::spawn(move || common::count_output(stdout));
    Running {
        started,
        child,
        peak,
        counter,
        args: args.to_vec(),
    }
}

impl Running {
    fn finish(mut self) -> Run {
        common::until_exited(self.child.id());
        let status = self.child.wait().expect("wait");
        let wall = self.started.elapsed();
        let (records, bytes) = self.counter.join().expect("counter");
        if !status.success() {
            eprintln!("hrlogs {:?} failed: {status}", self.args);
        }
        Run {
            wall,
            records,
            bytes,
            max_rss_kib: self.peak.kib(),
            ok: status.success(),
        }
    }
}

/// Runs hrlogs to its end; it must end 0.
fn run(base: &str, archive: &Archive, args: &[String]) -> Run {
    let r = start(base, archive, args).finish();
    assert!(r.ok, "hrlogs {args:?} failed");
    r
}

/// The dates and department lists the runs ask for.
struct Dataset {
    fake: Arc<Fake>,
    base: String,
    _rt: tokio::runtime::Runtime,
    events: usize,
    /// The first sync's `--since`, and the `--since` of a tenth of the days.
    since: String,
    tenth: String,
}

impl Dataset {
    /// `events` over the days `full` events would span (the same spacing in quick mode, a
    /// tenth of the events).
    fn new(events: usize, full: usize) -> Dataset {
        let days = (full as i64 * 700 / PER_700_DAYS).max(10);
        let now = jiff::Timestamp::now();
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let ago = |d: i64| {
            today
                .checked_sub(jiff::Span::new().days(d))
                .expect("date")
                .to_string()
        };
        let fake = Arc::new(Fake {
            logs: data(events, days, now.as_second() - 3600),
            chains: Mutex::new(HashMap::new()),
        });
        let (base, rt) = serve(fake.clone());
        Dataset {
            fake,
            base,
            _rt: rt,
            events,
            since: ago(days + 1),
            tenth: ago(days / 10),
        }
    }

    /// `-q -f ndjson <command> --department D --since S`.
    fn args(&self, command: &[&str], departments: &str, since: &str) -> Vec<String> {
        ["-q", "-f", "ndjson"]
            .iter()
            .chain(command)
            .chain(&["--department", departments, "--since", since])
            .map(|s| s.to_string())
            .collect()
    }

    fn sync(&self, departments: &str) -> Vec<String> {
        self.args(&["sync", "feishu", "dept-logs"], departments, &self.since)
    }
}

/// `d0,d1,…` for departments `from..from + count` (modulo all of them).
fn departments(from: u32, count: u32) -> String {
    (from..from + count)
        .map(|i| format!("d{}", i % DEPARTMENTS))
        .collect::<Vec<_>>()
        .join(",")
}

/// A sync with nothing new, three times: the run of median wall time, and its requests.
fn nothing_new(d: &Dataset, archive: &Archive) -> (Run, Requests) {
    let sync = d.sync(&departments(0, DEPARTMENTS));
    d.fake.take_requests();
    let mut runs: Vec<(Run, Requests)> = (0..3)
        .map(|_| {
            let r = run(&d.base, archive, &sync);
            (r, d.fake.take_requests())
        })
        .collect();
    runs.sort_by_key(|r| r.0.wall);
    runs.swap_remove(1)
}

/// What one backend measured.
#[derive(Default)]
struct Figures {
    sync: Option<(Run, Requests)>,
    all: Option<Run>,
    tenth: Option<Run>,
    quiet: Option<(Run, Requests)>,
    size: Option<(u64, Vec<(String, u64)>)>,
    writers: Option<Writers>,
    large_sync: Option<Run>,
    large_quiet: Option<(Run, Requests)>,
    /// PostgreSQL after `VACUUM (ANALYZE)`: the size, and syncs with nothing new.
    vacuumed: Option<u64>,
    analyzed_quiet: Option<Run>,
    analyzed_large_quiet: Option<Run>,
}

/// Four writers at once: wall time from the first start to the last end, each one's run, the
/// archive's rows and distinct ids, and whether `archive verify` ended 0.
struct Writers {
    wall: Duration,
    runs: Vec<Run>,
    rows: i64,
    distinct: i64,
    verified: bool,
}

/// Steps 1, 2 (at the smaller size) and 4 on a fresh archive.
fn small(d: &Dataset, archive: &Archive, f: &mut Figures) {
    let all_departments = departments(0, DEPARTMENTS);
    d.fake.take_requests();
    let first = run(&d.base, archive, &d.sync(&all_departments));
    assert_eq!(
        first.records, d.events,
        "the first sync archives every event"
    );
    f.sync = Some((first, d.fake.take_requests()));
    f.size = Some(archive.size());
    f.quiet = Some(nothing_new(d, archive));
    if let Archive::Postgres(_) = archive {
        archive.vacuum();
        f.vacuumed = Some(archive.size().0);
        f.analyzed_quiet = Some(nothing_new(d, archive).0);
    }
    let read = |since: &str| {
        let args = d.args(
            &["feishu", "dept-logs", "--from-archive"],
            &all_departments,
            since,
        );
        run(&d.base, archive, &args)
    };
    let all = read(&d.since);
    assert_eq!(all.records, d.events, "read back every event");
    f.all = Some(all);
    f.tenth = Some(read(&d.tenth));
}

/// Step 3: four overlapping department sets (each department in two) synced at once.
fn writers(d: &Dataset, archive: &Archive) -> Writers {
    let started = Instant::now();
    let quarter = DEPARTMENTS / 4;
    let running: Vec<Running> = (0..4)
        .map(|i| {
            start(
                &d.base,
                archive,
                &d.sync(&departments(i * quarter, DEPARTMENTS / 2)),
            )
        })
        .collect();
    let runs: Vec<Run> = running.into_iter().map(Running::finish).collect();
    let wall = started.elapsed();
    d.fake.take_requests();
    let (rows, distinct) = archive.events();
    let verified = Command::new(HRLOGS)
        .args(["--archive", &archive.location(), "-q", "archive", "verify"])
        .envs(archive.env())
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    Writers {
        wall,
        runs,
        rows,
        distinct,
        verified,
    }
}

/// Step 2 at the larger size: a fresh archive filled by one sync, then syncs with nothing new.
fn large(d: &Dataset, archive: &Archive, f: &mut Figures) {
    let first = run(&d.base, archive, &d.sync(&departments(0, DEPARTMENTS)));
    assert_eq!(
        first.records, d.events,
        "the first sync archives every event"
    );
    f.large_sync = Some(first);
    f.large_quiet = Some(nothing_new(d, archive));
    if let Archive::Postgres(_) = archive {
        archive.vacuum();
        f.analyzed_large_quiet = Some(nothing_new(d, archive).0);
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// `1,234,567`.
fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `12.3 s, 45,678/s, 40.1 MiB`.
fn rate(r: &Run) -> String {
    format!(
        "{:.2} s, {}/s, {}",
        r.wall.as_secs_f64(),
        thousands(r.per_second()),
        mib(r.max_rss_kib)
    )
}

/// `0.12 s`.
fn wall(r: &Run) -> String {
    format!("{:.2} s", r.wall.as_secs_f64())
}

fn quiet(q: &(Run, Requests)) -> String {
    let (r, (requests, chains, most)) = q;
    format!(
        "{:.2} s, {requests} requests / {chains} chains (at most {most} a chain), {}",
        r.wall.as_secs_f64(),
        mib(r.max_rss_kib)
    )
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let only_large = std::env::args().any(|a| a == "large");
    let only = |name: &str| {
        let name = name.to_lowercase();
        let named: Vec<String> = std::env::args()
            .filter(|a| a == "postgres" || a == "sqlite")
            .collect();
        named.is_empty() || named.iter().any(|a| name.starts_with(a.as_str()))
    };
    let (small_n, large_n) = (300_000, 1_000_000);
    let scale = if quick { 10 } else { 1 };
    let skipped = postgres_unreachable();
    if let Some(why) = &skipped {
        eprintln!(
            "\n*** PostgreSQL SKIPPED: {why} ({}). Start PostgreSQL there (trust authentication, \
             database `test`) or set HRLOGS_TEST_POSTGRES=postgres://…, then run \
             `cargo bench --bench archive` again. ***\n",
            postgres::server_url()
        );
    }
    let mut backends: Vec<Backend> = if skipped.is_none() {
        vec![
            ("SQLite", Archive::sqlite),
            ("PostgreSQL", Archive::postgres),
        ]
    } else {
        vec![("SQLite", Archive::sqlite)]
    };
    backends.retain(|(name, _)| only(name));
    let mut figures: Vec<Figures> = backends.iter().map(|_| Figures::default()).collect();

    let d = Dataset::new(small_n / scale, small_n);
    for ((name, new), f) in backends.iter().zip(&mut figures) {
        if only_large {
            break;
        }
        eprintln!("{name}: {} events, one sync, then reads", d.events);
        small(&d, &new(), f);
        eprintln!("{name}: four writers at once");
        f.writers = Some(writers(&d, &new()));
    }
    let ndjson = figures
        .first()
        .and_then(|f| f.all.as_ref())
        .map_or(0, |r| r.bytes);
    drop(d);
    let d = Dataset::new(large_n / scale, large_n);
    for ((name, new), f) in backends.iter().zip(&mut figures) {
        eprintln!("{name}: {} events, one sync, then nothing new", d.events);
        large(&d, &new(), f);
    }

    let (small_n, large_n) = (
        thousands((small_n / scale) as f64),
        thousands(d.events as f64),
    );
    let cells = |cell: &dyn Fn(&Figures) -> Option<String>| {
        let mut line = String::new();
        for f in &figures {
            line.push_str(&format!(" {} |", cell(f).unwrap_or_else(|| "–".into())));
        }
        if skipped.is_some() {
            line.push_str(" SKIPPED |");
        }
        line
    };
    let mut names: Vec<&str> = backends.iter().map(|(name, _)| *name).collect();
    if skipped.is_some() {
        names.push("PostgreSQL");
    }
    println!("\n| measure | {} |", names.join(" | "));
    println!("| --- |{}", " --- |".repeat(names.len()));
    let row = |name: &str, cell: &dyn Fn(&Figures) -> Option<String>| {
        println!("| {name} |{}", cells(cell));
    };
    row(
        &format!("sync {small_n} events: wall, events/s, peak RSS"),
        &|f| {
            f.sync
                .as_ref()
                .map(|(r, (q, c, _))| format!("{} ({q} requests, {c} chains)", rate(r)))
        },
    );
    row("`--from-archive`, all", &|f| f.all.as_ref().map(rate));
    row("`--from-archive`, a tenth of the days", &|f| {
        f.tenth
            .as_ref()
            .map(|r| format!("{} ({} events)", rate(r), thousands(r.records as f64)))
    });
    row(&format!("nothing new at {small_n} (median of 3)"), &|f| {
        f.quiet.as_ref().map(quiet)
    });
    row("… after `VACUUM (ANALYZE)`", &|f| {
        f.analyzed_quiet.as_ref().map(wall)
    });
    row(&format!("sync {large_n} events"), &|f| {
        f.large_sync.as_ref().map(rate)
    });
    row(&format!("nothing new at {large_n} (median of 3)"), &|f| {
        f.large_quiet.as_ref().map(quiet)
    });
    row("… after `VACUUM (ANALYZE)`", &|f| {
        f.analyzed_large_quiet.as_ref().map(wall)
    });
    row(&format!("four writers at once, {small_n} events"), &|f| {
        f.writers.as_ref().map(|w| {
            let fetched: usize = w.runs.iter().map(|r| r.records).sum();
            let failed = w.runs.iter().filter(|r| !r.ok).count();
            let peak = w.runs.iter().map(|r| r.max_rss_kib).max().unwrap_or(0);
            format!(
                "{:.2} s, {}/s; {} rows, {} distinct ids; verify {}; {failed} of 4 failed; {fetched} printed; peak {}",
                w.wall.as_secs_f64(),
                thousands(w.distinct.max(0) as f64 / w.wall.as_secs_f64().max(1e-9)),
                thousands(w.rows as f64),
                thousands(w.distinct as f64),
                if w.verified { "exit 0" } else { "FAILED" },
                mib(peak),
            )
        })
    });
    let per_event = |bytes: u64| bytes as f64 / (small_n_events(&figures) as f64).max(1.0);
    let size = |total: u64| {
        format!(
            "{:.1} MiB, {:.0} B/event, {:.2}× ndjson",
            total as f64 / (1024.0 * 1024.0),
            per_event(total),
            total as f64 / (ndjson as f64).max(1.0)
        )
    };
    row(&format!("archive size, {small_n} events"), &|f| {
        f.size.as_ref().map(|(total, _)| size(*total))
    });
    row("… after `VACUUM (ANALYZE)`", &|f| f.vacuumed.map(size));
    println!(
        "\nndjson of the same events: {:.1} MiB, {:.0} B/event",
        ndjson as f64 / (1024.0 * 1024.0),
        per_event(ndjson)
    );
    for ((name, _), f) in backends.iter().zip(&figures) {
        if let Some((_, tables)) = &f.size {
            let parts: Vec<String> = tables
                .iter()
                .map(|(t, b)| format!("{t} {:.1} MiB", *b as f64 / (1024.0 * 1024.0)))
                .collect();
            println!("{name} as the sync left it: {}", parts.join(", "));
        }
        if let Some(w) = &f.writers {
            let each: Vec<String> = w
                .runs
                .iter()
                .map(|r| format!("{:.2} s", r.wall.as_secs_f64()))
                .collect();
            println!("{name} four writers, each: {}", each.join(", "));
        }
    }
    let lost_or_doubled = figures.iter().filter_map(|f| f.writers.as_ref()).any(|w| {
        w.rows != w.distinct || w.distinct != small_n_events(&figures) as i64 || !w.verified
    });
    if lost_or_doubled {
        println!(
            "\n*** four writers: events lost or doubled, or the archive does not verify (above) ***"
        );
    }
}

/// The events of the first dataset (every first sync archived them all).
fn small_n_events(figures: &[Figures]) -> usize {
    figures
        .first()
        .and_then(|f| f.all.as_ref())
        .map_or(0, |r| r.records)
}
