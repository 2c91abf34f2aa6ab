//! Everything hrlogs says on stderr besides the final error: the progress display (only on a
//! terminal), `-v` request lines, notices and warnings. Nothing here touches stdout.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Counters of one run, shared by every chain.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub records: AtomicU64,
    pub chains_total: AtomicU64,
    pub chains_done: AtomicU64,
}

#[derive(Clone)]
pub struct Progress {
    inner: Arc<Inner>,
}

struct Inner {
    bar: Option<ProgressBar>,
    verbose: u8,
    started: Instant,
    stats: Stats,
}

impl Progress {
    /// `show` is false with `-q`/`--no-progress`; the bar is also never drawn off a terminal.
    pub fn new(show: bool, quiet: bool, verbose: u8) -> Progress {
        let on_terminal = std::io::stderr().is_terminal();
        let bar = (show && !quiet && on_terminal).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(125));
            bar
        });
        Progress {
            inner: Arc::new(Inner {
                bar,
                verbose,
                started: Instant::now(),
                stats: Stats::default(),
            }),
        }
    }

    pub fn verbose(&self) -> u8 {
        self.inner.verbose
    }

    /// A line on stderr that does not tear the progress display.
    pub fn line(&self, text: &str) {
        match &self.inner.bar {
            Some(bar) => bar.suspend(|| eprintln_quiet(text)),
            None => eprintln_quiet(text),
        }
    }

    /// A line shown only with `-v`.
    pub fn line_if_verbose(&self, text: &str) {
        if self.inner.verbose >= 1 {
            self.line(text);
        }
    }

    /// A warning: always shown.
    pub fn warn(&self, text: &str) {
        self.line(&format!("hrlogs: warning: {text}"));
    }

    /// The first thing shown, so that nobody waits in silence.
    pub fn start(&self, what: &str) {
        if let Some(bar) = &self.inner.bar {
            bar.set_message(what.to_string());
        }
    }

    pub fn add_chains(&self, n: u64) {
        self.inner
            .stats
            .chains_total
            .fetch_add(n, Ordering::Relaxed);
    }

    pub fn chain_done(&self) {
        self.inner.stats.chains_done.fetch_add(1, Ordering::Relaxed);
        self.refresh();
    }

    pub fn request_done(&self) {
        self.inner.stats.requests.fetch_add(1, Ordering::Relaxed);
        self.refresh();
    }

    /// Requests sent so far in this run.
    pub fn requests(&self) -> u64 {
        self.inner.stats.requests.load(Ordering::Relaxed)
    }

    pub fn retried(&self) {
        self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn records_out(&self, n: u64) {
        self.inner.stats.records.fetch_add(n, Ordering::Relaxed);
        if n > 0 {
            self.refresh();
        }
    }

    fn refresh(&self) {
        let Some(bar) = &self.inner.bar else { return };
        let s = &self.inner.stats;
        let secs = self.inner.started.elapsed().as_secs_f64().max(0.001);
        let requests = s.requests.load(Ordering::Relaxed);
        let mut msg = format!(
            "{} records, {} requests ({:.1}/s)",
            s.records.load(Ordering::Relaxed),
            requests,
            requests as f64 / secs
        );
        let total = s.chains_total.load(Ordering::Relaxed);
        if total > 1 {
            msg.push_str(&format!(
                ", chains {}/{}",
                s.chains_done.load(Ordering::Relaxed),
                total
            ));
        }
        bar.set_message(msg);
    }

    /// Clears the display and prints the one-line summary (on a terminal, unless `-q`).
    pub fn finish(&self) {
        if let Some(bar) = &self.inner.bar {
            bar.finish_and_clear();
            let s = &self.inner.stats;
            eprintln_quiet(&format!(
                "hrlogs: {} records, {} requests, {} retries in {:.1}s",
                s.records.load(Ordering::Relaxed),
                s.requests.load(Ordering::Relaxed),
                s.retries.load(Ordering::Relaxed),
                self.inner.started.elapsed().as_secs_f64()
            ));
        }
    }
}

/// `eprintln!` that does not panic when stderr is closed.
fn eprintln_quiet(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}
