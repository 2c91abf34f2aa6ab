//! The HTTP fetcher: sends one API request with pacing, bounded concurrency, retries of
//! transient failures (backon, exponential with jitter, honouring the vendor's reset headers),
//! and one token refresh when the vendor says the token is invalid. Vendors plug in through
//! [`Api`]: how to authorize and how to judge an answer.

mod pacer;

use std::future::Future;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use url::Url;

use crate::error::{Error, Result};
use crate::progress::Progress;

pub use pacer::Pacer;

/// How many times one request may get a fresh token after the vendor refused the one it sent.
const MAX_REFRESHES: u32 = 10;

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
}

impl Request {
    /// The request as `--dry-run` prints it: method, URL, JSON body; never the auth header.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "{} {}\nAuthorization: Bearer <redacted>\n",
            self.method, self.url
        );
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
    fn judge(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> std::result::Result<(), Failure>;
}

/// Retry and timeout settings of a run.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_retries: usize,
    pub timeout: Duration,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

/// The HTTP client of one run, shared by every chain.
pub struct Http {
    client: reqwest::Client,
    policy: RetryPolicy,
    progress: Progress,
}

/// Pacing and concurrency for one API: shared by every chain that calls it.
pub struct Lane {
    pub pacer: Pacer,
    pub in_flight: Semaphore,
}

impl Lane {
    pub fn new(pacer: Pacer, max_in_flight: u32) -> Lane {
        Lane {
            pacer,
            in_flight: Semaphore::new(max_in_flight.max(1) as usize),
        }
    }
}

impl Http {
    pub fn new(policy: RetryPolicy, progress: Progress) -> Result<Http> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("hrlogs/", env!("CARGO_PKG_VERSION")))
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| Error::other(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Http {
            client,
            policy,
            progress,
        })
    }

    /// Sends `req` without authorization or pacing (the token exchange), with retries.
    pub async fn send_plain<T>(
        &self,
        req: &Request,
        judge: impl Fn(StatusCode, &HeaderMap, &[u8]) -> std::result::Result<T, Failure>,
    ) -> Result<T> {
        let attempt = || async {
            let (status, headers, body) = self.exchange(req, None).await?;
            judge(status, &headers, &body)
        };
        self.with_retries(req, attempt).await
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
                let answer = {
                    let _permit = lane
                        .in_flight
                        .acquire()
                        .await
                        .map_err(|_| Failure::Fatal(Error::other("request slots closed")))?;
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
        self.with_retries(req, attempt).await
    }

    async fn with_retries<T, F, Fut>(&self, req: &Request, attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, Failure>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.policy.min_delay)
            .with_max_delay(self.policy.max_delay)
            .with_max_times(self.policy.max_retries)
            .with_jitter();
        attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|f| matches!(f, Failure::Retry { .. }))
            .adjust(|f, delay| match (f, delay) {
                (Failure::Retry { after: Some(after), .. }, Some(_)) => Some(*after),
                (_, delay) => delay,
            })
            .notify(|f, delay| {
                self.progress.retried();
                if let Failure::Retry { error, .. } = f {
                    self.log(1, || format!("retrying in {:.1}s: {}", delay.as_secs_f64(), error.message));
                }
            })
            .await
            .map_err(|f| match f {
                Failure::Retry { error, .. } => Error::unavailable(format!(
                    "{} failed after {} retries: {}",
                    req.what, self.policy.max_retries, error.message
                ))
                .hint("check the network and the vendor's status page, or raise --max-retries / --timeout"),
                other => other.into_error(),
            })
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
                let headers = resp.headers().clone();
                match resp.bytes().await {
                    Ok(body) => Ok((status, headers, body.to_vec())),
                    Err(e) => Err(format!(
                        "HTTP {status} but the body was cut off: {}",
                        describe_transport(&e)
                    )),
                }
            }
        };
        self.progress.request_done();
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

/// Seconds from a header such as `x-ogw-ratelimit-reset` or `Retry-After`.
pub fn seconds_header(headers: &HeaderMap, name: &str) -> Option<Duration> {
    let text = headers.get(name)?.to_str().ok()?.trim();
    let secs: f64 = text.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(300.0)))
}
