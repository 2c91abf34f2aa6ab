//! For tests against the real server: a schema of their own (a random name), dropped after
//! them even when they fail, and the rule for a server that cannot be reached (a failure
//! where `CI` is set, else a loud SKIPPED line).

use crate::archive::PgLocation;

/// The test server: `HRLOGS_TEST_POSTGRES`, else the local one (trust authentication).
pub fn url() -> String {
    std::env::var("HRLOGS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test?sslmode=disable".into())
}

/// True when the server answers; when it does not, fails the test where `CI` is set, and
/// otherwise says so loudly (the caller returns).
pub fn reachable(test: &str) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
    let up = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(3));
    match up {
        Ok(_) => true,
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!(
                "PostgreSQL is not reachable at 127.0.0.1:5432 ({e}), and CI is set: {test} must run"
            )
        }
        Err(e) => {
            eprintln!(
                "SKIPPED (PostgreSQL not reachable at 127.0.0.1:5432): {test}: {e}; start PostgreSQL 13+ there with a database `test` that user postgres may use (trust authentication), or set HRLOGS_TEST_POSTGRES=postgres://…, then run `cargo test`"
            );
            false
        }
    }
}

/// A schema of the test's own, dropped when this goes away.
pub struct Schema {
    pub name: String,
}

impl Schema {
    pub fn new() -> Schema {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Schema {
            name: format!("hrlogs_test_{}_{nanos:x}_{n}", std::process::id()),
        }
    }

    /// The archive in this schema.
    pub fn location(&self) -> PgLocation {
        PgLocation {
            url: url::Url::parse(&url()).expect("the test server's URL"),
            password: None,
            schema: self.name.clone(),
            redactor: crate::redact::Redactor::new(),
        }
    }

    /// Runs `sql` in the schema (callable anywhere, also from async tests).
    pub fn execute(&self, sql: &str) {
        self.query(sql);
    }

    /// Rows of `sql` (run in the schema), each as a list of texts.
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        on_server(Some(self.name.clone()), sql.to_string()).expect("run SQL")
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.query(sql)[0][0]
            .as_deref()
            .and_then(|v| v.parse().ok())
            .expect("a number")
    }
}

impl Default for Schema {
    fn default() -> Schema {
        Schema::new()
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = on_server(
            None,
            format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name),
        );
    }
}

/// The rows of `sql` (statements run in one simple query, in `schema` when given), each as a
/// list of texts, on a thread and runtime of their own. The search path is set on its own:
/// a query of several statements is one implicit transaction, where VACUUM cannot run.
fn on_server(schema: Option<String>, sql: String) -> Result<Vec<Vec<Option<String>>>, String> {
    let url = url();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| format!("connect to the test server: {e}"))?;
            tokio::spawn(conn);
            if let Some(schema) = schema {
                client
                    .batch_execute(&format!("SET search_path TO \"{schema}\""))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            let mut out = Vec::new();
            for m in client.simple_query(&sql).await.map_err(|e| e.to_string())? {
                if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
                    out.push((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect());
                }
            }
            Ok(out)
        })
    })
    .join()
    .map_err(|_| "the SQL thread panicked".to_string())?
}
