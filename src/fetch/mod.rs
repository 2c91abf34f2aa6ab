//! The HTTP fetcher: sends one API request with pacing, bounded concurrency, retries of
//! transient failures (exponential with jitter), waits the vendor asks for (pausing the whole
//! lane, not counted as failed attempts), and one token refresh when the vendor says the token
//! is invalid. Vendors plug in through [`Api`]: how to authorize and how to judge an answer.
//!
//! HTTP hygiene lives here too: no redirect is followed (a secret must never reach another
//! host), bodies are read in chunks up to [`MAX_BODY`], base URLs are checked once
//! ([`base_url`]) and keep their path prefix ([`join`]), and a URL's `user:password@` is never
//! shown ([`shown_url`]).

mod pacer;

use std::future::Future;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, LOCATION};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use url::Url;

use crate::error::{Error, Result};
use crate::progress::Progress;

pub use pacer::Pacer;

/// How many times one request may get a fresh token after the vendor refused the one it sent.
const MAX_REFRESHES: u32 = 10;

/// The most a response body may hold: far above any real page, low enough to bound memory.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// The longest wait a vendor may ask for; a longer one fails the run (exit 5) saying so.
pub const MAX_VENDOR_WAIT: Duration = Duration::from_secs(120);

/// Waits at least this long are said on stderr.
const NOTICE_WAIT: Duration = Duration::from_secs(3);

/// How many vendor-imposed waits one request may sit through: they do not use up retries, but
/// a vendor that never lets a request through must still end the run.
const MAX_VENDOR_WAITS: u32 = 200;

/// One request as it would go on the wire (without its auth header).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub body: Option<serde_json::Value>,
    /// What this request is, for messages: "department logs page".
    pub what: String,
    /// The body holds a secret: never logged.
    pub secret_body: bool,
    /// Headers of the request itself besides authorization (a page size, a paging cursor):
    /// never secrets, shown by `--dry-run`.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The request as `--dry-run` prints it: method, URL, JSON body; never the auth header.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "{} {}\nAuthorization: Bearer <redacted>\n",
            self.method,
            shown_url(&self.url)
        );
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\n"));
        }
        if let Some(body) = &self.body {
            out.push_str("Content-Type: application/json; charset=utf-8\n\n");
            out.push_str(&serde_json::to_string_pretty(body).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}

/// The Authorization header to send, and which token it was (for invalidation).
#[derive(Clone)]
pub struct Credential {
    pub header: SecretString,
    pub generation: u64,
}

/// Why an answer was not a success.
#[derive(Debug)]
pub enum Failure {
    /// Worth another try, after `after` if the vendor said how long to wait.
    Retry {
        error: Error,
        after: Option<Duration>,
    },
    /// The token was refused: drop it, get another, send the same request once more.
    Reauth(Error),
    /// Retrying cannot help.
    Fatal(Error),
}

impl Failure {
    pub fn retry(error: Error) -> Failure {
        Failure::Retry { error, after: None }
    }
    fn into_error(self) -> Error {
        match self {
            Failure::Retry { error, .. } | Failure::Reauth(error) | Failure::Fatal(error) => error,
        }
    }
}

/// What a vendor module tells the fetcher.
pub trait Api: Send + Sync {
    /// The credential to send now (a cached token, or one fetched for it).
    fn credential(&self) -> impl Future<Output = Result<Credential>> + Send;
    /// Drops `used` if it is still the current token; false if no other token can be had.
    fn invalidate(&self, used: &Credential) -> bool;
    /// Success, or why not, from the status, headers and body.
    fn judge(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict;
}

/// What a vendor's judge says of one answer: success, or the [`Failure`] it is.
pub type Verdict = std::result::Result<(), Failure>;

/// Retry and timeout settings of a run.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_retries: usize,
    pub timeout: Duration,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

/// Who is told of every answer and every wait the vendor asked for (`--metrics`); the fetcher
/// knows nothing more of it.
pub trait Observer: Send + Sync {
    /// One round trip to `api` (the vendor: `recruitee`, `feishu`) ended: with an HTTP status,
    /// or `None` when no whole answer came (the network, a timeout, a body cut off).
    fn answered(&self, api: &str, status: Option<StatusCode>);
    /// The run waits `wait` before its next request to `api`, because the vendor asked.
    fn vendor_wait(&self, api: &str, wait: Duration);
}

/// The HTTP client of one run, shared by every chain.
pub struct Http {
    client: reqwest::Client,
    policy: RetryPolicy,
    progress: Progress,
    /// Told of every answer and vendor wait, once one is set ([`Http::observe`]).
    observer: std::sync::OnceLock<std::sync::Arc<dyn Observer>>,
    /// The vendors' clock: the `Date` of the latest answer that had one, and when it came.
    server_clock: std::sync::Mutex<Option<(jiff::Timestamp, Instant)>>,
}

/// Pacing and concurrency for one API: shared by every chain that calls it. A wait the vendor
/// asks for pauses the whole lane.
pub struct Lane {
    pub pacer: Pacer,
    pub in_flight: Semaphore,
    paused_until: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Lane {
    pub fn new(pacer: Pacer, max_in_flight: u32) -> Lane {
        Lane {
            pacer,
            in_flight: Semaphore::new(max_in_flight.max(1) as usize),
            paused_until: std::sync::Mutex::new(None),
        }
    }

    /// Pauses every request of the lane for `wait` from now (a pause already longer stays).
    /// Returns when the pause ends, and whether this call made it longer.
    pub fn pause_for(&self, wait: Duration) -> (tokio::time::Instant, bool) {
        let now = tokio::time::Instant::now();
        let until = now
            .checked_add(wait)
            .or_else(|| now.checked_add(HEADER_WAIT_CEILING))
            .unwrap_or(now);
        let Ok(mut paused) = self.paused_until.lock() else {
            return (until, true);
        };
        match *paused {
            Some(p) if p >= until => (p, false),
            _ => {
                *paused = Some(until);
                (until, true)
            }
        }
    }

    /// Waits while the lane is paused.
    pub async fn paused(&self) {
        loop {
            let until = self.paused_until.lock().ok().and_then(|p| *p);
            match until {
                Some(u) if u > tokio::time::Instant::now() => tokio::time::sleep_until(u).await,
                _ => return,
            }
        }
    }
}

impl Http {
    pub fn new(policy: RetryPolicy, progress: Progress) -> Result<Http> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("hrlogs/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| Error::other(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Http {
            client,
            policy,
            progress,
            observer: std::sync::OnceLock::new(),
            server_clock: std::sync::Mutex::new(None),
        })
    }

    /// From now on, tells `observer` of every answer and every wait the vendor asks for (the
    /// first observer set stays).
    pub fn observe(&self, observer: std::sync::Arc<dyn Observer>) {
        let _ = self.observer.set(observer);
    }

    fn observed(&self, req: &Request, status: Option<StatusCode>) {
        if let Some(o) = self.observer.get() {
            o.answered(&api_label(req), status);
        }
    }

    /// The time now by the clock of the servers answered last (their `Date` header, to the
    /// second), when one has answered with it: a sync keeps its cursors in the vendor's time,
    /// never the host's.
    pub fn server_now(&self) -> Option<jiff::Timestamp> {
        let (date, at) = (*self.server_clock.lock().ok()?)?;
        let elapsed = jiff::SignedDuration::try_from(at.elapsed()).ok()?;
        date.checked_add(elapsed).ok()
    }

    fn note_server_date(&self, headers: &HeaderMap) {
        let Some(date) = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|t| jiff::fmt::rfc2822::parse(t.trim()).ok())
        else {
            return;
        };
        if let Ok(mut clock) = self.server_clock.lock() {
            *clock = Some((date.timestamp(), Instant::now()));
        }
    }

    /// Sends `req` without authorization or pacing (the token exchange), with retries.
    pub async fn send_plain<T>(
        &self,
        req: &Request,
        judge: impl Fn(StatusCode, &HeaderMap, &[u8]) -> std::result::Result<T, Failure>,
    ) -> Result<T> {
        self.send_plain_as(req, None, judge).await
    }

    /// [`Http::send_plain`] with an Authorization header (a token exchange that
    /// authenticates with the key itself, as HTTP Basic), which is never shown.
    pub async fn send_plain_as<T>(
        &self,
        req: &Request,
        auth: Option<&SecretString>,
        judge: impl Fn(StatusCode, &HeaderMap, &[u8]) -> std::result::Result<T, Failure>,
    ) -> Result<T> {
        let attempt = || async {
            let (status, headers, body) = self.exchange(req, auth).await?;
            judge(status, &headers, &body)
        };
        self.with_retries(req, None, attempt).await
    }

    /// Sends `req` to `api`, paced by `lane`, retried, with one token refresh; parses the body.
    pub async fn send<A: Api, T>(
        &self,
        api: &A,
        lane: &Lane,
        req: &Request,
        parse: impl Fn(&[u8]) -> std::result::Result<T, String>,
    ) -> Result<T> {
        let attempt = || async {
            let mut refreshes = 0;
            loop {
                let cred = api.credential().await.map_err(Failure::Fatal)?;
                lane.paused().await;
                let answer = {
                    let _permit = lane
                        .in_flight
                        .acquire()
                        .await
                        .map_err(|_| Failure::Fatal(Error::other("request slots closed")))?;
                    lane.paused().await;
                    lane.pacer.wait().await;
                    self.exchange(req, Some(&cred.header)).await?
                };
                let (status, headers, body) = answer;
                match api.judge(status, &headers, &body) {
                    Ok(()) => {
                        return parse(&body).map_err(|e| {
                            Failure::retry(Error::unavailable(format!(
                                "{} answered HTTP {status} with a body that is not the JSON expected ({e})",
                                req.what
                            )))
                        });
                    }
                    Err(Failure::Reauth(error)) => {
                        // A token can be revoked again while the request is re-sent: each
                        // refusal gets one refresh, up to a bound that stops a loop.
                        if refreshes >= MAX_REFRESHES || !api.invalidate(&cred) {
                            return Err(Failure::Fatal(Error {
                                kind: crate::error::Kind::Config,
                                ..error
                            }));
                        }
                        refreshes += 1;
                        self.log(1, || {
                            format!("token refused ({}); fetching a new one", error.message)
                        });
                    }
                    Err(other) => return Err(other),
                }
            }
        };
        self.with_retries(req, Some(lane), attempt).await
    }

    /// Runs `attempt` until it succeeds or fails for good. A failure the vendor put a wait on
    /// (rate limits) pauses the lane for that long and does not use up a retry; other
    /// transient failures back off exponentially, up to `max_retries`.
    async fn with_retries<T, F, Fut>(
        &self,
        req: &Request,
        lane: Option<&Lane>,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, Failure>>,
    {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(self.policy.min_delay)
            .with_max_delay(self.policy.max_delay)
            .with_max_times(self.policy.max_retries)
            .with_jitter()
            .build();
        let mut vendor_waits = 0u32;
        loop {
            let (error, after) = match attempt().await {
                Ok(value) => return Ok(value),
                Err(Failure::Retry { error, after }) => (error, after),
                Err(other) => return Err(other.into_error()),
            };
            self.progress.retried();
            let delay = match after {
                Some(wait) => {
                    let vendor = vendor_of(req);
                    if wait > MAX_VENDOR_WAIT {
                        return Err(Error::unavailable(format!(
                            "{vendor} asked to wait {} s before the next request, more than the {} s hrlogs waits ({})",
                            wait.as_secs(),
                            MAX_VENDOR_WAIT.as_secs(),
                            error.message
                        ))
                        .hint("the vendor's rate limit or quota is exhausted; try again later"));
                    }
                    vendor_waits += 1;
                    if vendor_waits > MAX_VENDOR_WAITS {
                        return Err(Error::unavailable(format!(
                            "{} was still refused after waiting {MAX_VENDOR_WAITS} times as {vendor} asked: {}",
                            req.what, error.message
                        ))
                        .hint("the vendor's rate limit or quota is exhausted; try again later"));
                    }
                    // A wait of zero would hammer the vendor: wait at least the first backoff.
                    let wait = wait.max(self.policy.min_delay);
                    let said = match lane {
                        Some(lane) => lane.pause_for(wait).1,
                        None => true,
                    };
                    // Counted once per pause: requests that share a lane's pause wait together.
                    if let (true, Some(o)) = (said, self.observer.get()) {
                        o.vendor_wait(&api_label(req), wait);
                    }
                    if said && wait >= NOTICE_WAIT {
                        // In the progress display while it lasts; a line when there is none.
                        self.progress.notice(&format!(
                            "{vendor} asked to wait {} s; waiting",
                            wait.as_secs_f64().round()
                        ));
                    }
                    self.log(1, || {
                        format!(
                            "waiting {:.1}s as the vendor asked: {}",
                            wait.as_secs_f64(),
                            error.message
                        )
                    });
                    wait
                }
                None => match backoff.next() {
                    Some(delay) => {
                        self.log(1, || {
                            format!("retrying in {:.1}s: {}", delay.as_secs_f64(), error.message)
                        });
                        delay
                    }
                    None => {
                        return Err(Error::unavailable(format!(
                            "{} failed after {} retries: {}",
                            req.what, self.policy.max_retries, error.message
                        ))
                        .hint("check the network and the vendor's status page, or raise --max-retries / --timeout"));
                    }
                },
            };
            tokio::time::sleep(delay).await;
            if let Some(lane) = lane {
                lane.paused().await;
            }
        }
    }

    /// One round trip. Network errors, timeouts and cut-off bodies are retryable failures.
    async fn exchange(
        &self,
        req: &Request,
        auth: Option<&SecretString>,
    ) -> std::result::Result<(StatusCode, HeaderMap, Vec<u8>), Failure> {
        let mut builder = self.client.request(req.method.clone(), req.url.clone());
        if let Some(auth) = auth {
            builder = builder.header(AUTHORIZATION, auth.expose_secret());
        }
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &req.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json; charset=utf-8")
                .body(serde_json::to_vec(body).unwrap_or_default());
        }
        let started = Instant::now();
        let response = builder.send().await;
        let outcome = match response {
            Err(e) => Err(describe_transport(&e)),
            Ok(resp) => {
                let status = resp.status();
                if status.is_redirection() {
                    self.progress.request_done();
                    self.observed(req, Some(status));
                    return Err(Failure::Fatal(redirect_error(req, status, resp.headers())));
                }
                let headers = resp.headers().clone();
                self.note_server_date(&headers);
                match read_body(resp).await {
                    Ok(body) => Ok((status, headers, body)),
                    Err(BodyError::TooLarge) => {
                        self.progress.request_done();
                        self.observed(req, Some(status));
                        return Err(Failure::Fatal(
                            Error::unavailable(format!(
                                "{} answered HTTP {status} with a body over {} MiB; hrlogs stopped reading it",
                                req.what,
                                MAX_BODY / (1024 * 1024)
                            ))
                            .hint("no real page is that large: check the base URL, or narrow the query"),
                        ));
                    }
                    Err(BodyError::Cut(e)) => Err(format!(
                        "HTTP {status} but the body was cut off: {}",
                        describe_transport(&e)
                    )),
                }
            }
        };
        self.progress.request_done();
        self.observed(req, outcome.as_ref().ok().map(|(status, _, _)| *status));
        let ms = started.elapsed().as_millis();
        match outcome {
            Ok((status, headers, body)) => {
                self.log(1, || {
                    format!(
                        "{} {} -> {} ({ms} ms)",
                        req.method,
                        log_target(req, self.progress.verbose()),
                        status.as_u16()
                    )
                });
                if self.progress.verbose() >= 2 {
                    if let (Some(b), false) = (&req.body, req.secret_body) {
                        self.log(2, || format!("  request body: {b}"));
                    }
                    self.log(2, || format!("  response: {} bytes", body.len()));
                }
                Ok((status, headers, body))
            }
            Err(msg) => {
                self.log(1, || {
                    format!(
                        "{} {} -> failed ({ms} ms): {msg}",
                        req.method,
                        log_target(req, self.progress.verbose())
                    )
                });
                Err(Failure::retry(Error::unavailable(format!(
                    "{}: {msg}",
                    req.what
                ))))
            }
        }
    }

    fn log(&self, level: u8, line: impl FnOnce() -> String) {
        if self.progress.verbose() >= level {
            self.progress.line(&line());
        }
    }
}

/// The path (and with -vv the query) of a request, for -v lines. Query strings of the APIs
/// we call carry no secrets.
fn log_target(req: &Request, verbose: u8) -> String {
    match (verbose >= 2, req.url.query()) {
        (true, Some(q)) => format!("{}?{q}", req.url.path()),
        _ => req.url.path().to_string(),
    }
}

fn describe_transport(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "body cut off"
    } else {
        "network error"
    };
    // reqwest's message names the URL; strip the query so nothing of it leaks beyond the path.
    let mut source = String::new();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = cur {
        source = s.to_string();
        cur = s.source();
    }
    if source.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} ({source})")
    }
}

enum BodyError {
    TooLarge,
    Cut(reqwest::Error),
}

/// The body, read chunk by chunk, refused as soon as it would pass [`MAX_BODY`].
async fn read_body(mut resp: reqwest::Response) -> std::result::Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Cut)? {
        if body.len().saturating_add(chunk.len()) > MAX_BODY {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A 3xx answer: never followed, named with where it pointed.
fn redirect_error(req: &Request, status: StatusCode, headers: &HeaderMap) -> Error {
    let target = headers
        .get(LOCATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .map(|l| match req.url.join(&l) {
            Ok(u) => shown_url(&u),
            Err(_) => l,
        })
        .unwrap_or_else(|| "nowhere (no Location header)".into());
    Error::config(format!(
        "{} answered HTTP {} redirecting to {target}; hrlogs follows no redirect, so that no secret reaches another host",
        req.what,
        status.as_u16()
    ))
    .hint("if that address is the vendor's, set the base URL to it")
}

/// The vendor named at the start of a request's description ("Feishu …", "Recruitee …").
/// The `api` of a request for [`Observer`]: its vendor, lower case (a bounded set of names).
fn api_label(req: &Request) -> String {
    vendor_of(req).to_lowercase()
}

fn vendor_of(req: &Request) -> &str {
    req.what.split_whitespace().next().unwrap_or("the vendor")
}

/// Longest wait a header can ask for, so that arithmetic on it cannot overflow (far above
/// [`MAX_VENDOR_WAIT`], which decides whether it is honoured).
const HEADER_WAIT_CEILING: Duration = Duration::from_secs(86_400);

/// Seconds from a header such as `x-ogw-ratelimit-reset`, as a wait from now. A value that
/// looks like a Unix time (after 2001) is read as the moment the wait ends.
pub fn seconds_header(headers: &HeaderMap, name: &str) -> Option<Duration> {
    let text = headers.get(name)?.to_str().ok()?.trim();
    let secs: f64 = text.parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    let secs = if secs >= 1_000_000_000.0 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        (secs - now).max(0.0)
    } else {
        secs
    };
    Some(Duration::from_secs_f64(
        secs.min(HEADER_WAIT_CEILING.as_secs_f64()),
    ))
}

/// `Retry-After` in seconds or as an HTTP date, as a wait from now.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(HEADER_WAIT_CEILING));
    }
    let at = jiff::fmt::rfc2822::parse(text).ok()?.timestamp();
    let wait = at.duration_since(jiff::Timestamp::now());
    Some(
        Duration::try_from(wait)
            .unwrap_or(Duration::ZERO)
            .min(HEADER_WAIT_CEILING),
    )
}

/// The wait a vendor asks for in any of the headers rate limiters send: `Retry-After`,
/// Feishu's `x-ogw-ratelimit-reset`, and `x-ratelimit-reset` (Recruitee's limiter, often
/// without `Retry-After`). The longest, when several are given.
pub fn vendor_wait(headers: &HeaderMap) -> Option<Duration> {
    [
        retry_after(headers),
        seconds_header(headers, "x-ogw-ratelimit-reset"),
        seconds_header(headers, "x-ratelimit-reset"),
    ]
    .into_iter()
    .flatten()
    .max()
}

/// Checks a configured base URL once: http(s) only (exit 3 otherwise), a host, and a warning
/// (returned) for plain `http://` to a host that is not loopback.
pub fn base_url(key: &str, text: &str) -> Result<(Url, Option<String>)> {
    let url = Url::parse(text.trim())
        .map_err(|e| Error::config(format!("{key} {text:?} is not a URL: {e}")))?;
    match url.scheme() {
        "https" | "http" => {}
        other => {
            return Err(Error::config(format!(
                "{key} {} uses {other}://; only https:// (or http:// to this machine) is supported",
                shown_url(&url)
            )));
        }
    }
    let loopback = match url.host() {
        None => {
            return Err(Error::config(format!(
                "{key} {} names no host",
                shown_url(&url)
            )));
        }
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
    };
    let warning = (url.scheme() == "http" && !loopback).then(|| {
        format!(
            "{key} {} is plain http:// to another machine: credentials and records travel unencrypted; use https://",
            shown_url(&url)
        )
    });
    Ok((url, warning))
}

/// `path` (absolute, like `/open-apis/…`) under `base`, keeping the base's own path prefix
/// (an API gateway's `https://gw.example.com/feishu`).
pub fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    let path = path.trim_start_matches('/');
    url.set_path(&format!("{prefix}/{path}"));
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// A URL as hrlogs shows it: any `user:password@` replaced by `<redacted>@`.
pub fn shown_url(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    crate::error::redact_url_userinfo(url.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn vendor_waits_come_from_every_limiter_header() {
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs());
        assert_eq!(
            secs(vendor_wait(&headers(&[("x-ratelimit-reset", "12")]))),
            Some(12)
        );
        assert_eq!(
            secs(vendor_wait(&headers(&[("x-ogw-ratelimit-reset", "3")]))),
            Some(3)
        );
        assert_eq!(
            secs(vendor_wait(&headers(&[("retry-after", "7")]))),
            Some(7)
        );
        assert_eq!(
            secs(vendor_wait(&headers(&[
                ("retry-after", "2"),
                ("x-ratelimit-reset", "9")
            ]))),
            Some(9)
        );
        let later = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(30))
            .expect("time");
        let printer = jiff::fmt::rfc2822::DateTimePrinter::new();
        let date = printer
            .timestamp_to_rfc9110_string(&later)
            .expect("http date");
        let w = secs(vendor_wait(&headers(&[("retry-after", &date)]))).expect("a wait");
        assert!((28..=30).contains(&w), "{date}: {w}");
        let past = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(
            secs(vendor_wait(&headers(&[("retry-after", past)]))),
            Some(0)
        );
        // Huge or odd values never overflow; they are capped far above what is honoured.
        for odd in [
            "9223372036854775807",
            "1e308",
            "-1",
            "NaN",
            "inf",
            "abc",
            "",
        ] {
            let w = vendor_wait(&headers(&[
                ("x-ratelimit-reset", odd),
                ("retry-after", odd),
            ]));
            assert!(w.is_none_or(|w| w <= HEADER_WAIT_CEILING), "{odd}");
        }
        assert_eq!(vendor_wait(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn a_vendor_wait_pauses_the_lane_and_a_shorter_one_does_not_shorten_it() {
        let lane = Lane::new(Pacer::new(1000, None), 4);
        let (until, extended) = lane.pause_for(Duration::from_secs(30));
        assert!(extended);
        let (same, extended) = lane.pause_for(Duration::from_secs(1));
        assert!(!extended, "a shorter wait leaves the longer pause");
        assert_eq!(same, until);
        let (later, extended) = lane.pause_for(Duration::from_secs(60));
        assert!(extended && later > until);
        // A wait no clock can hold saturates instead of panicking.
        let _ = lane.pause_for(Duration::MAX);
        // A lane that is not paused does not wait.
        let free = Lane::new(Pacer::new(1000, None), 4);
        tokio::time::timeout(Duration::from_secs(5), free.paused())
            .await
            .expect("no pause");
    }

    #[test]
    fn base_urls_are_checked_and_keep_their_prefix() {
        let (u, w) = base_url("feishu.base_url", "https://gw.example.com/feishu").expect("ok");
        assert!(w.is_none());
        assert_eq!(
            join(&u, "/open-apis/x").as_str(),
            "https://gw.example.com/feishu/open-apis/x"
        );
        let (u, _) = base_url("k", "https://open.feishu.cn/").expect("ok");
        assert_eq!(
            join(&u, "/open-apis/x").as_str(),
            "https://open.feishu.cn/open-apis/x"
        );
        assert!(
            base_url("k", "http://127.0.0.1:8080")
                .expect("ok")
                .1
                .is_none()
        );
        assert!(
            base_url("k", "http://localhost:8080")
                .expect("ok")
                .1
                .is_none()
        );
        assert!(base_url("k", "http://example.com").expect("ok").1.is_some());
        for bad in ["ftp://example.com", "file:///etc/passwd", "not a url"] {
            let e = base_url("k", bad).expect_err(bad);
            assert_eq!(e.kind, crate::error::Kind::Config, "{bad}");
        }
        let (u, _) = base_url("k", "https://bob:hunter2@gw.example.com/x").expect("ok");
        assert!(!shown_url(&u).contains("hunter2") && !shown_url(&u).contains("bob"));
        let e = base_url("k", "gopher://bob:hunter2@gw.example.com/x").expect_err("scheme");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
