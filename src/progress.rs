//! Everything hrlogs says on stderr besides the final error: the progress display (only on a
//! terminal), `-v` request lines, notices and warnings. Nothing here touches stdout.
//!
//! The display leaves no trace: it is drawn from the moment a command starts fetching
//! ([`Progress::start`]; a command that fetches nothing never draws it), cleared before the
//! first record reaches a terminal stdout (and not drawn again, so no spinner line lands
//! between rows), between `--follow` rounds ([`Progress::pause`]), when the run ends, and when
//! it is interrupted ([`clear`]). It counts records against the total when the vendor gave one
//! (`3,400 of 12,000 records (28%)`). Retries and waits the vendor asked for show in it while
//! they last; without a display, waits are said as lines on stderr.

use crate::redact::Redactor;
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
    /// Records received from the vendor (before they are written: a search holds a window's
    /// records until the window is proven whole).
    pub received: AtomicU64,
    /// Records the vendor said there are (0: no total given).
    pub expected: AtomicU64,
    /// A total that may be capped: shown as `10,000+`, without a percentage.
    pub expected_at_least: AtomicBool,
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
    /// The display is off the screen: not started yet, cleared (records are on the screen,
    /// a `--follow` round is over) or the run ended. [`Progress::start`] shows it again.
    hidden: AtomicBool,
    /// The run ended: the display is never drawn again.
    ended: AtomicBool,
    /// A retry or wait to show in the display until the next request completes.
    notice: Mutex<Option<String>>,
    verbose: u8,
    started: Instant,
    stats: Stats,
    /// The run's secrets: redacted from every line said here.
    redactor: Redactor,
}

impl Progress {
    /// `show` is false with `-q`/`--no-progress`; the bar is also never drawn off a terminal.
    pub fn new(show: bool, quiet: bool, verbose: u8) -> Progress {
        Progress::with_redactor(show, quiet, verbose, Redactor::new())
    }

    /// [`Progress::new`], redacting the secrets `redactor` learns from every line.
    pub fn with_redactor(show: bool, quiet: bool, verbose: u8, redactor: Redactor) -> Progress {
        let on_terminal = std::io::stderr().is_terminal();
        let bar = (show && !quiet && on_terminal).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            // Not drawn until a command starts fetching.
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
                hidden: AtomicBool::new(true),
                ended: AtomicBool::new(false),
                notice: Mutex::new(None),
                verbose,
                started: Instant::now(),
                stats: Stats::default(),
                redactor,
            }),
        }
    }

    pub fn verbose(&self) -> u8 {
        self.inner.verbose
    }

    /// The run's secrets, for whoever learns one (a token) to register it.
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    /// A line on stderr that does not tear the progress display.
    pub fn line(&self, text: &str) {
        let text = &self.inner.redactor.secrets_only(text);
        match self.live_bar() {
            Some(bar) => bar.suspend(|| eprintln_quiet(text)),
            None => eprintln_quiet(text),
        }
    }

    /// The display, while it is drawn.
    fn live_bar(&self) -> Option<&ProgressBar> {
        if self.inner.hidden.load(Ordering::Relaxed) {
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
                *n = Some(self.inner.redactor.secrets_only(text));
            }
            self.refresh();
        } else if !self.inner.quiet {
            eprintln_quiet(&self.inner.redactor.secrets_only(&format!("hrlogs: {text}")));
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
            if !self.inner.hidden.swap(true, Ordering::Relaxed) {
                bar.finish_and_clear();
            }
        }
    }

    /// A `--follow` round is over: the display goes until the next round starts, so that no
    /// progress line stays on the screen while hrlogs waits.
    pub fn pause(&self) {
        self.clear_display();
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

    /// The first thing shown when fetching starts (each `--follow` round again), so that
    /// nobody waits in silence.
    pub fn start(&self, what: &str) {
        let Some(bar) = &self.inner.bar else { return };
        if self.inner.ended.load(Ordering::Relaxed) {
            return;
        }
        if self.inner.hidden.swap(false, Ordering::Relaxed) {
            bar.reset();
            bar.enable_steady_tick(Duration::from_millis(125));
        }
        bar.set_message(what.to_string());
    }

    /// The vendor said how many records there are (a search's `total`, a list's count):
    /// added to what other chains said. `at_least`: the count may be capped.
    pub fn expect_records(&self, n: u64, at_least: bool) {
        let s = &self.inner.stats;
        s.expected.fetch_add(n, Ordering::Relaxed);
        if at_least {
            s.expected_at_least.store(true, Ordering::Relaxed);
        }
        self.refresh();
    }

    /// Records received from the vendor, before they are written.
    pub fn records_received(&self, n: u64) {
        self.inner.stats.received.fetch_add(n, Ordering::Relaxed);
        if n > 0 {
            self.refresh();
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
        let got = s
            .records
            .load(Ordering::Relaxed)
            .max(s.received.load(Ordering::Relaxed));
        let mut msg = format!(
            "{}, {} requests ({:.1}/s)",
            records_so_far(
                got,
                s.expected.load(Ordering::Relaxed),
                s.expected_at_least.load(Ordering::Relaxed)
            ),
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

    /// Clears the display for good and, when the records went elsewhere than the terminal (a
    /// file, a pipe), prints a one-line summary (on a terminal stderr, unless `-q`). No
    /// summary for a run that sent no request and wrote nothing, nor for one that failed
    /// before it sent a request (its error says what happened).
    pub fn finish(&self, succeeded: bool) {
        self.inner.ended.store(true, Ordering::Relaxed);
        if self.inner.bar.is_some() {
            self.clear_display();
            if self.inner.output_on_terminal.load(Ordering::Relaxed) {
                return;
            }
            let s = &self.inner.stats;
            let fetched = s.requests.load(Ordering::Relaxed) > 0;
            let wrote = s.records.load(Ordering::Relaxed) > 0;
            if !(fetched || (succeeded && wrote)) {
                return;
            }
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

/// `3,400 records`; `3,400 of 12,000 records (28%)` when the vendor gave a total; `of
/// 10,000+` when that total may be capped.
fn records_so_far(got: u64, expected: u64, at_least: bool) -> String {
    match (expected, at_least) {
        (0, _) => format!("{} records", thousands(got)),
        (n, true) => format!("{} of {}+ records", thousands(got), thousands(n)),
        (n, false) => {
            let got = got.min(n);
            let percent = u128::from(got) * 100 / u128::from(n);
            format!(
                "{} of {} records ({percent}%)",
                thousands(got),
                thousands(n)
            )
        }
    }
}

/// `12,000` from 12000.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_counted_against_the_total_the_vendor_gave() {
        assert_eq!(records_so_far(0, 0, false), "0 records");
        assert_eq!(records_so_far(3_400, 0, false), "3,400 records");
        assert_eq!(
            records_so_far(3_400, 12_000, false),
            "3,400 of 12,000 records (28%)"
        );
        assert_eq!(
            records_so_far(12_500, 12_000, false),
            "12,000 of 12,000 records (100%)"
        );
        assert_eq!(records_so_far(5, 10_000, true), "5 of 10,000+ records");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
