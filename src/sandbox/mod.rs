//! The built-in sandbox: a local stand-in of the Feishu, Recruitee and Greenhouse endpoints that hrlogs
//! calls, on 127.0.0.1, with deterministic sample data built from the vendors' documented
//! examples. It answers the way the vendors do: pagination, validation and error bodies.
//! `--sandbox` starts it inside the process; `hrlogs sandbox` serves it on its own.
//!
//! The same stand-ins are the configurable fakes of the tests and the benchmark: each vendor
//! module has a `pub` config (its dataset and switches for each way the vendor may misbehave)
//! and a `spawn` that serves it on a thread of its own ([`Server`]), so that blocking tests
//! can run the real binary against it. What both fakes share is here: [`Server`], the
//! injected [`Faults`] and the [`Seen`] record of what was asked.

pub mod feishu;
pub mod greenhouse;
pub mod recruitee;
mod sample;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::settings::{Key, Value};
use crate::vendors::feishu::settings as feishu_keys;
use crate::vendors::greenhouse::settings as greenhouse_keys;
use crate::vendors::recruitee::settings as recruitee_keys;

/// Credentials the sandbox accepts.
pub const APP_ID: &str = "cli_sandbox";
pub const APP_SECRET: &str = "sandbox-secret";
pub const COMPANY_ID: &str = "90598";
pub const API_TOKEN: &str = "sandbox-recruitee-token";

/// A sandbox serving in this process; stops when dropped.
pub struct Running {
    pub base: String,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Running {
    /// Settings that point every vendor at this sandbox.
    pub fn overrides(&self) -> Vec<(&'static Key, Value, &'static str)> {
        let plain = |s: &str| Value::Plain(s.to_string());
        let secret = |s: &str| Value::Secret(s.to_string().into());
        vec![
            (&feishu_keys::BASE_URL, plain(&self.base), "--sandbox"),
            (&feishu_keys::APP_ID, plain(APP_ID), "--sandbox"),
            (&feishu_keys::APP_SECRET, secret(APP_SECRET), "--sandbox"),
            (&recruitee_keys::BASE_URL, plain(&self.base), "--sandbox"),
            (&recruitee_keys::COMPANY_ID, plain(COMPANY_ID), "--sandbox"),
            (&recruitee_keys::API_TOKEN, secret(API_TOKEN), "--sandbox"),
            (&greenhouse_keys::BASE_URL, plain(&self.base), "--sandbox"),
            (&greenhouse_keys::AUTH_URL, plain(&self.base), "--sandbox"),
            (
                &greenhouse_keys::API_KEY,
                secret(greenhouse::API_KEY),
                "--sandbox",
            ),
        ]
    }
}

/// Both vendors' sample fakes on one router: the sandbox.
fn sandbox_router() -> Router {
    let feishu = Arc::new(feishu::Feishu::new(feishu::Config::sample()));
    let recruitee = Arc::new(recruitee::Recruitee::new(recruitee::Config::sample()));
    let greenhouse = Arc::new(greenhouse::Greenhouse::new(greenhouse::Config::sample()));
    routes(feishu)
        .merge(routes(recruitee))
        .merge(routes(greenhouse))
}

/// Starts the sandbox on 127.0.0.1 (`port`, or any free one).
pub async fn start(port: Option<u16>) -> Result<Running> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port.unwrap_or(0)))
        .await
        .map_err(|e| {
            Error::input(format!(
                "sandbox: cannot listen on 127.0.0.1:{}: {e}",
                port.unwrap_or(0)
            ))
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::other(format!("sandbox: {e}")))?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, sandbox_router()).await;
    });
    Ok(Running {
        base: format!("http://{addr}"),
        task,
    })
}

/// `hrlogs sandbox`: serves until Ctrl-C.
pub async fn serve_forever(port: Option<u16>) -> Result<()> {
    let running = start(port).await?;
    let b = &running.base;
    eprintln!(
        "hrlogs sandbox: serving Feishu, Recruitee and Greenhouse stand-ins at {b} (Ctrl-C to stop)\n\
         Point hrlogs at it with:\n  \
         export HRLOGS_FEISHU_BASE_URL={b} HRLOGS_FEISHU_APP_ID={APP_ID} HRLOGS_FEISHU_APP_SECRET={APP_SECRET}\n  \
         export HRLOGS_RECRUITEE_BASE_URL={b} HRLOGS_RECRUITEE_COMPANY_ID={COMPANY_ID} HRLOGS_RECRUITEE_API_TOKEN={API_TOKEN}\n  \
         export HRLOGS_GREENHOUSE_BASE_URL={b} HRLOGS_GREENHOUSE_AUTH_URL={b} HRLOGS_GREENHOUSE_API_KEY={}",
        greenhouse::API_KEY
    );
    std::future::pending::<()>().await;
    drop(running);
    Ok(())
}

/// A fake served on 127.0.0.1 by a runtime on its own thread, so that blocking code (tests
/// running the binary with `assert_cmd`, the benchmark) can use it. Stops when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub addr: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves `router` until the returned server is dropped.
    pub fn spawn(router: Router) -> Result<Server> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| Error::other(format!("fake server: cannot listen: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::other(format!("fake server: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::other(format!("fake server: no runtime: {e}")))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
            runtime.shutdown_background();
        });
        Ok(Server {
            addr: format!("http://{addr}"),
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Faults injected into a share of answers, deterministically by request number: every
/// `every_5xx`-th answers 500 (an HTML body), every `every_cut`-th a 200 whose body is cut
/// off, every `every_429`-th a rate-limit answer with the reset headers chosen here.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub every_5xx: u64,
    pub every_cut: u64,
    pub every_429: u64,
    /// `Retry-After` (seconds) on the 429s; None sends none.
    pub retry_after: Option<u64>,
    /// `x-ratelimit-reset` (Recruitee's limiter) / `x-ogw-ratelimit-reset` (Feishu) on the 429s.
    pub ratelimit_reset: Option<u64>,
    /// Every answer waits this long first.
    pub latency: Duration,
}

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    ServerError,
    CutBody,
    RateLimited,
}

impl Faults {
    pub fn new(every_5xx: u64, every_cut: u64, every_429: u64) -> Faults {
        Faults {
            every_5xx,
            every_cut,
            every_429,
            retry_after: Some(0),
            ..Faults::default()
        }
    }

    /// The fault request number `n` (from 1) gets, if any.
    pub fn pick(&self, n: u64) -> Option<Fault> {
        let hit = |every: u64| every > 0 && n % every == 0;
        if hit(self.every_5xx) {
            Some(Fault::ServerError)
        } else if hit(self.every_cut) {
            Some(Fault::CutBody)
        } else if hit(self.every_429) {
            Some(Fault::RateLimited)
        } else {
            None
        }
    }

    /// The answer of a fault; `reset_header` names the vendor's rate-limit reset header and
    /// `limited_body` is its rate-limit body.
    pub fn answer(&self, fault: Fault, reset_header: &str, limited_body: &str) -> Response {
        match fault {
            Fault::ServerError => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<html>502 Bad Gateway</html>",
            )
                .into_response(),
            Fault::CutBody => cut_body(),
            Fault::RateLimited => {
                let mut r = (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("content-type", "application/json")],
                    limited_body.to_string(),
                )
                    .into_response();
                let h = r.headers_mut();
                if let Some(s) = self.retry_after {
                    h.insert("retry-after", s.into());
                }
                if let Some(s) = self.ratelimit_reset {
                    if let Ok(name) = axum::http::HeaderName::try_from(reset_header) {
                        h.insert(name, s.into());
                    }
                }
                r
            }
        }
    }
}

/// A 200 whose body promises more bytes than it sends: the client sees the body cut off.
fn cut_body() -> Response {
    let stream = futures::stream::iter([
        Ok::<_, std::io::Error>(axum::body::Bytes::from_static(
            b"{\"code\":0,\"data\":{\"items\":[{\"appl",
        )),
        Err(std::io::Error::other("connection cut")),
    ]);
    let mut r = axum::body::Body::from_stream(stream).into_response();
    r.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/json"),
    );
    r
}

/// One request as a fake saw it: its path (after the company) and query pairs, sorted.
pub type Asked = (String, Vec<(String, String)>);

/// What a fake was asked, for assertions: request count, each request's path and query
/// pairs, and violations of the vendor's rules (a page past the 10,000th result).
#[derive(Debug, Default)]
pub struct Seen {
    requests: AtomicU64,
    queries: Mutex<Vec<Asked>>,
    violations: Mutex<Vec<String>>,
}

impl Seen {
    /// Counts a request; returns its number, from 1.
    pub fn request(&self, path: &str, query: Vec<(String, String)>) -> u64 {
        if let Ok(mut q) = self.queries.lock() {
            q.push((path.to_string(), query));
        }
        self.requests.fetch_add(1, Ordering::SeqCst) + 1
    }
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
    /// Every request's path and query pairs, in arrival order.
    pub fn queries(&self) -> Vec<Asked> {
        self.queries.lock().map(|q| q.clone()).unwrap_or_default()
    }
    pub fn violation(&self, v: String) {
        if let Ok(mut vs) = self.violations.lock() {
            vs.push(v);
        }
    }
    pub fn violations(&self) -> Vec<String> {
        self.violations
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }
}

/// A vendor's fake: its routes, which may sit under a path prefix (an API gateway).
pub trait VendorFake: Send + Sync + Sized + 'static {
    fn prefix(&self) -> Option<&str>;
    /// The fake's routes, from the root.
    fn routes(state: Arc<Self>) -> Router;
}

/// The routes of a fake, under its prefix if it has one.
pub fn routes<S: VendorFake>(state: Arc<S>) -> Router {
    let prefix = state.prefix().map(str::to_string);
    let routes = S::routes(state);
    match prefix {
        Some(p) if p.starts_with('/') && p.len() > 1 => Router::new().nest(&p, routes),
        _ => routes,
    }
}

/// A fake served on its own thread, with its state (config and what it was asked); stops
/// when dropped.
pub struct Fake<S> {
    pub server: Server,
    pub state: Arc<S>,
}

impl<S: VendorFake> Fake<S> {
    /// Serves `state` on 127.0.0.1, on a thread of its own.
    pub fn serve(state: S) -> Result<Fake<S>> {
        let state = Arc::new(state);
        let server = Server::spawn(routes(state.clone()))?;
        Ok(Fake { server, state })
    }

    /// The base URL to configure, with the prefix if any.
    pub fn base_url(&self) -> String {
        format!("{}{}", self.server.addr, self.state.prefix().unwrap_or(""))
    }
}
