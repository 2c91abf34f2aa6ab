//! `sync … --follow --metrics ADDR`: what a long-running sync says of itself, for Prometheus
//! and for whoever checks that it is alive (systemd, Kubernetes, a load balancer).
//!
//! - [`Metrics`]: the counters, gauges and histogram of the run (prometheus-client), and the
//!   state `/healthz` judges. It is the fetcher's [`Observer`]: every answer of a vendor and
//!   every wait it asked for are counted where the fetcher knows them, without the fetcher
//!   knowing that anything serves them.
//! - [`bind`] and [`serve`]: the HTTP server (axum): `GET /metrics` (the Prometheus text
//!   format) and `GET /healthz` (200 `ok`, or 503 with a one-line reason).
//!
//! Labels hold no secret: `source` is the log's name (`recruitee audit`), `tenant` the stream's
//! tenant (a normalised base URL, never a user name or password), `api` the vendor, `status`
//! an HTTP status or `error`. The reasons `/healthz` gives come already redacted.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use reqwest::StatusCode;

use crate::error::{Error, Result};
use crate::fetch::Observer;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceTenant {
    source: String,
    tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiStatus {
    api: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Api {
    api: String,
}

/// What `/healthz` judges.
#[derive(Default)]
struct Health {
    /// When the last complete poll ended, and how long it took.
    last_success: Option<(Instant, Duration)>,
    /// Why the last poll failed, when it did (cleared by a complete poll).
    last_error: Option<String>,
}

/// The metrics of one `--follow` run, and its health.
pub struct Metrics {
    registry: Registry,
    events: Family<SourceTenant, Counter>,
    requests: Family<ApiStatus, Counter>,
    vendor_wait: Family<Api, Counter<f64, AtomicU64>>,
    last_success: Family<SourceTenant, Gauge<f64, AtomicU64>>,
    poll_duration: Histogram,
    health: Mutex<Health>,
    started: Instant,
    interval: Duration,
}

impl Metrics {
    /// The metrics of a run that polls every `interval`.
    pub fn new(interval: Duration) -> Metrics {
        let mut registry = Registry::default();
        let events = Family::<SourceTenant, Counter>::default();
        let requests = Family::<ApiStatus, Counter>::default();
        let vendor_wait = Family::<Api, Counter<f64, AtomicU64>>::default();
        let last_success = Family::<SourceTenant, Gauge<f64, AtomicU64>>::default();
        // 50 ms to about 7 minutes.
        let poll_duration = Histogram::new(exponential_buckets(0.05, 2.0, 14));
        // The text encoder adds `_total` to counters.
        registry.register(
            "hrlogs_events_archived",
            "Events new to the archive",
            events.clone(),
        );
        registry.register(
            "hrlogs_requests",
            "HTTP requests to a vendor, by the status answered (error: no whole answer)",
            requests.clone(),
        );
        registry.register(
            "hrlogs_vendor_wait_seconds",
            "Seconds waited because the vendor asked (rate limits)",
            vendor_wait.clone(),
        );
        registry.register(
            "hrlogs_last_success_timestamp_seconds",
            "When the last complete poll ended, in Unix seconds",
            last_success.clone(),
        );
        registry.register(
            "hrlogs_poll_duration_seconds",
            "How long each poll took, complete or failed",
            poll_duration.clone(),
        );
        Metrics {
            registry,
            events,
            requests,
            vendor_wait,
            last_success,
            poll_duration,
            health: Mutex::new(Health::default()),
            started: Instant::now(),
            interval,
        }
    }

    /// A poll of `source` for `tenant` completed in `took`, archiving `new` events.
    pub fn poll_succeeded(&self, source: &str, tenant: &str, new: u64, took: Duration) {
        let labels = SourceTenant {
            source: source.to_string(),
            tenant: tenant.to_string(),
        };
        self.events.get_or_create(&labels).inc_by(new);
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.last_success.get_or_create(&labels).set(now);
        self.poll_duration.observe(took.as_secs_f64());
        if let Ok(mut h) = self.health.lock() {
            h.last_success = Some((Instant::now(), took));
            h.last_error = None;
        }
    }

    /// A poll failed after `took`; `reason` (already redacted) is what `/healthz` says.
    pub fn poll_failed(&self, reason: &str, took: Duration) {
        self.poll_duration.observe(took.as_secs_f64());
        if let Ok(mut h) = self.health.lock() {
            h.last_error = Some(one_line(reason));
        }
    }

    /// Healthy or not at `now`, and the line that says so.
    fn health_at(&self, now: Instant) -> (bool, String) {
        let Ok(h) = self.health.lock() else {
            return (false, "the health state is unreadable".to_string());
        };
        let window = self.interval.saturating_mul(2);
        let failed = match &h.last_error {
            Some(e) => format!("; the last poll failed: {e}"),
            None => String::new(),
        };
        match h.last_success {
            Some((ended, took)) => {
                let since = now.saturating_duration_since(ended);
                if since <= window.saturating_add(took) {
                    (true, "ok".to_string())
                } else {
                    (
                        false,
                        format!(
                            "the last complete poll ended {}s ago, more than 2 intervals ({}s) plus its duration ({}s){failed}",
                            since.as_secs(),
                            window.as_secs(),
                            took.as_secs()
                        ),
                    )
                }
            }
            None if now.saturating_duration_since(self.started) <= window => {
                (true, "ok: the first poll is running".to_string())
            }
            None => (false, format!("no poll has completed yet{failed}")),
        }
    }

    /// The metrics in the text format.
    fn render(&self) -> std::result::Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl Observer for Metrics {
    fn answered(&self, api: &str, status: Option<StatusCode>) {
        let status = status.map_or_else(|| "error".to_string(), |s| s.as_u16().to_string());
        self.requests
            .get_or_create(&ApiStatus {
                api: api.to_string(),
                status,
            })
            .inc();
    }

    fn vendor_wait(&self, api: &str, wait: Duration) {
        self.vendor_wait
            .get_or_create(&Api {
                api: api.to_string(),
            })
            .inc_by(wait.as_secs_f64());
    }
}

/// A reason on one line, of a bounded length.
fn one_line(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(500)
        .collect();
    line.trim().to_string()
}

/// Binds `addr` (`127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`; port 0: any free port).
/// An address that cannot be bound is an input error (exit 2).
pub async fn bind(addr: &str) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        Error::input(format!("--metrics {addr}: cannot listen there: {e}"))
            .hint("give HOST:PORT of this machine with a free port, e.g. --metrics 127.0.0.1:9464")
    })
}

/// Serves `/metrics` and `/healthz` on `listener` until the process ends.
pub fn serve(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) {
    use axum::routing::get;
    let app = axum::Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(healthz))
        .with_state(metrics);
    tokio::spawn(async move {
        // A server that stops serving takes nothing else down: the sync goes on.
        let _ = axum::serve(listener, app).await;
    });
}

async fn metrics_page(
    axum::extract::State(m): axum::extract::State<Arc<Metrics>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match m.render() {
        Ok(text) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics could not be written\n",
        )
            .into_response(),
    }
}

async fn healthz(
    axum::extract::State(m): axum::extract::State<Arc<Metrics>>,
) -> (axum::http::StatusCode, String) {
    let (ok, line) = m.health_at(Instant::now());
    let status = if ok {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, format!("{line}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_the_last_complete_poll() {
        let m = Metrics::new(Duration::from_secs(10));
        let t0 = m.started;
        assert!(m.health_at(t0 + Duration::from_secs(5)).0);
        let (ok, line) = m.health_at(t0 + Duration::from_secs(21));
        assert!(!ok);
        assert_eq!(line, "no poll has completed yet");
        m.poll_failed(
            "Recruitee audit request: connection refused\nmore",
            Duration::ZERO,
        );
        let (_, line) = m.health_at(t0 + Duration::from_secs(21));
        assert_eq!(
            line,
            "no poll has completed yet; the last poll failed: Recruitee audit request: connection refused more"
        );
        m.poll_succeeded("recruitee audit", "http://h/c", 3, Duration::from_secs(4));
        let end = Instant::now();
        assert_eq!(
            m.health_at(end + Duration::from_secs(23)),
            (true, "ok".into())
        );
        m.poll_failed("HTTP 500", Duration::ZERO);
        let (ok, line) = m.health_at(end + Duration::from_secs(25));
        assert!(!ok);
        assert!(line.ends_with("; the last poll failed: HTTP 500"), "{line}");
        let text = m.render().expect("render");
        assert!(
            text.contains(
                r#"hrlogs_events_archived_total{source="recruitee audit",tenant="http://h/c"} 3"#
            ),
            "{text}"
        );
    }

    #[test]
    fn answers_and_waits_are_counted_by_api_and_status() {
        let m = Metrics::new(Duration::from_secs(1));
        m.answered("recruitee", Some(StatusCode::OK));
        m.answered("recruitee", Some(StatusCode::OK));
        m.answered("recruitee", None);
        m.vendor_wait("feishu", Duration::from_millis(1500));
        let text = m.render().expect("render");
        for want in [
            r#"hrlogs_requests_total{api="recruitee",status="200"} 2"#,
            r#"hrlogs_requests_total{api="recruitee",status="error"} 1"#,
            r#"hrlogs_vendor_wait_seconds_total{api="feishu"} 1.5"#,
        ] {
            assert!(text.contains(want), "{want} in {text}");
        }
    }
}
