//! Everything hrlogs says on stderr besides the final error: the progress display (only on a
//! terminal), `-v` request lines, notices and warnings. Nothing here touches stdout.
//!
//! The display leaves no trace: it is cleared before the first record reaches a terminal
//! stdout (and not drawn again, so no spinner line lands between rows), when the run ends, and
//! when it is interrupted ([`clear`]). Retries and waits the vendor asked for show in it while
//! they last; without a display, waits are said as lines on stderr.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
    quiet: bool,
    /// Records go to stdout, which is a terminal: the display must be gone before they do.
    output_on_terminal: AtomicBool,
    /// The display was cleared for good (records are on the screen, or the run ended).
    cleared: AtomicBool,
    /// A retry or wait to show in the display until the next request completes.
    notice: Mutex<Option<String>>,
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
            if let Ok(mut active) = ACTIVE.lock() {
                *active = Some(bar.clone());
            }
            bar
        });
        Progress {
            inner: Arc::new(Inner {
                bar,
                quiet,
                output_on_terminal: AtomicBool::new(false),
                cleared: AtomicBool::new(false),
                notice: Mutex::new(None),
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
        match self.live_bar() {
            Some(bar) => bar.suspend(|| eprintln_quiet(text)),
            None => eprintln_quiet(text),
        }
    }

    /// The display, while it is drawn.
    fn live_bar(&self) -> Option<&ProgressBar> {
        if self.inner.cleared.load(Ordering::Relaxed) {
            return None;
        }
        self.inner.bar.as_ref()
    }

    /// A passing notice, such as a retry or a wait the vendor asked for ("Recruitee asked to
    /// wait 12 s"): shown in the display until the next request completes, or, with no
    /// display, as a line on stderr (not with `-q`).
    pub fn notice(&self, text: &str) {
        if self.live_bar().is_some() {
            if let Ok(mut n) = self.inner.notice.lock() {
                *n = Some(text.to_string());
            }
            self.refresh();
        } else if !self.inner.quiet {
            eprintln_quiet(&format!("hrlogs: {text}"));
        }
    }

    /// Says whether records go to a terminal stdout; the display is then cleared before the
    /// first of them is written.
    pub fn set_output_on_terminal(&self, yes: bool) {
        self.inner.output_on_terminal.store(yes, Ordering::Relaxed);
    }

    /// Records are about to be written: on a terminal stdout the display goes, for good.
    pub fn output_starts(&self) {
        if self.inner.output_on_terminal.load(Ordering::Relaxed) {
            self.clear_display();
        }
    }

    fn clear_display(&self) {
        if let Some(bar) = &self.inner.bar {
            if !self.inner.cleared.swap(true, Ordering::Relaxed) {
                bar.finish_and_clear();
            }
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
        if let Ok(mut n) = self.inner.notice.lock() {
            *n = None;
        }
        self.refresh();
    }

    /// Requests sent so far in this run.
    pub fn requests(&self) -> u64 {
        self.inner.stats.requests.load(Ordering::Relaxed)
    }

    pub fn retried(&self) {
        self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
        self.refresh();
    }

    pub fn records_out(&self, n: u64) {
        self.inner.stats.records.fetch_add(n, Ordering::Relaxed);
        if n > 0 {
            self.refresh();
        }
    }

    fn refresh(&self) {
        let Some(bar) = self.live_bar() else { return };
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
        let retries = s.retries.load(Ordering::Relaxed);
        if retries > 0 {
            msg.push_str(&format!(", {retries} retries"));
        }
        if let Some(n) = self.inner.notice.lock().ok().and_then(|n| n.clone()) {
            msg.push_str(" — ");
            msg.push_str(&n);
        }
        bar.set_message(msg);
    }

    /// Clears the display and, when the records went elsewhere than the terminal (a file, a
    /// pipe), prints a one-line summary (on a terminal stderr, unless `-q`).
    pub fn finish(&self) {
        if self.inner.bar.is_some() {
            self.clear_display();
            if self.inner.output_on_terminal.load(Ordering::Relaxed) {
                return;
            }
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

/// The display of the run, so that an interrupted run can clear it.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Clears the progress display wherever the run stopped (an interrupt, an error): the
/// terminal is left as it was before the run, with no spinner line.
pub fn clear() {
    if let Ok(mut active) = ACTIVE.lock() {
        if let Some(bar) = active.take() {
            bar.finish_and_clear();
        }
    }
}

/// `eprintln!` that does not panic when stderr is closed.
fn eprintln_quiet(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}
