//! Time windows proven complete by a count of matches (`hits`): an endpoint that answers a
//! window either at once (one answer, up to a size of its own) or page by page behind a
//! cursor that can expire (a point in time), and whose answers say how many records match.
//! The vendor module describes one request of each kind ([`HitsSource`]); this module knows
//! no vendor and owns every loop and guard.
//!
//! A window is `lo..hi` in Unix ms, `hi` excluded. It is asked one ms wider on each side
//! (`lo - 1` to `hi`), so that whether the vendor's bounds are inclusive or exclusive cannot
//! lose a record; what comes back outside the window is dropped, never trusted.
//!
//! - **At once** (fast: no paging quota): a window is complete when `hits` is known to count
//!   every match and equals the records received. `hits` is known to be that count only once
//!   an answer has shown `hits > records` (it then counts more than one answer); until then a
//!   window whose answer is whole asks once for a wide window (the probe: everything the
//!   vendor keeps) to learn it, and failing that is walked by pages and reconciled with it.
//!   A window with more matches than an answer holds is cut into segments (as many as
//!   requests may be under way), each swept from its end in windows sized from the density
//!   the last one showed, to fill four fifths of an answer; a window that still holds more is
//!   narrowed in proportion and asked again, down to one ms, which is walked by pages.
//! - **By pages**: from the first page to an empty last one without a cursor; a cursor that
//!   expired restarts the window (never ends it short), a cursor that repeats fails the run.
//!   When `hits` turns out not to count every match (a walk found more), every window is
//!   walked by pages from then on (slow, exact), and `-v` says so.
//!
//! Windows are fetched in parallel (bounded) and written newest first, each sorted by time
//! (ties by their text: the vendor's order within one ms is not promised).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use futures::StreamExt;
use futures::future::BoxFuture;

use super::{Batch, RecordStream};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::record::Record;

/// A window of time in Unix ms: `lo..hi`, `hi` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub lo: i64,
    pub hi: i64,
}

impl Span {
    fn contains(&self, ms: i64) -> bool {
        ms >= self.lo && ms < self.hi
    }

    fn width(&self) -> i64 {
        self.hi.saturating_sub(self.lo)
    }

    /// What the vendor is asked: one ms wider on each side (`after`, `before`).
    pub fn asked(&self) -> (i64, i64) {
        (self.lo.saturating_sub(1), self.hi)
    }

    /// `2024-05-01T08:00:00.000Z..2024-05-01T09:00:00.000Z`.
    pub fn describe(&self) -> String {
        let t = |ms: i64| {
            jiff::Timestamp::from_millisecond(ms)
                .map_or_else(|_| ms.to_string(), |t| t.strftime("%FT%T%.3fZ").to_string())
        };
        format!("{}..{}", t(self.lo), t(self.hi))
    }

    /// Cut into `k` pieces of about equal length, newest first.
    fn split(&self, k: i64) -> Vec<Span> {
        let k = k.clamp(2, self.width().max(2));
        let step = (self.width() / k).max(1);
        let mut out = Vec::new();
        let mut hi = self.hi;
        while hi > self.lo {
            let lo = if out.len() as i64 == k - 1 {
                self.lo
            } else {
                hi.saturating_sub(step).max(self.lo)
            };
            out.push(Span { lo, hi });
            hi = lo;
        }
        out
    }
}

/// One answer without paging: every record it holds (keyed by their time in ms) and the
/// `hits` it reports.
pub struct Answer {
    pub records: Vec<Record>,
    pub hits: u64,
}

/// One page of a walk, or the news that its cursor expired.
pub enum Paged {
    Page {
        records: Vec<Record>,
        /// The matches the page reports, if it does.
        hits: Option<u64>,
        /// The cursor of the next page; None: this was the last (an empty page).
        next: Option<String>,
    },
    /// The cursor (a point in time) is gone: the window must be walked again.
    Expired,
}

/// An endpoint whose windows are counted, as a vendor module describes it.
pub trait HitsSource: Send + Sync + 'static {
    /// The records from `after` to `before` (ms, as [`Span::asked`] says), in one answer.
    fn answer(&self, after: i64, before: i64) -> impl Future<Output = Result<Answer>> + Send;
    /// A page of the same, from the first (`cursor` None) on.
    fn page(
        &self,
        after: i64,
        before: i64,
        cursor: Option<String>,
    ) -> impl Future<Output = Result<Paged>> + Send;
    /// What is fetched, for messages: "Greenhouse audit log".
    fn describe(&self) -> String;
}

/// What `hits` is known to count.
const UNKNOWN: u8 = 0;
const TOTAL: u8 = 1;
const NOT_TOTAL: u8 = 2;

/// How many times a window is walked again after its cursor expired or its walk did not add
/// up, before the run fails naming it.
const MAX_RESTARTS: u32 = 5;
/// Pages of one walk at most (a vendor that never ends).
const MAX_PAGES: u64 = 1_000_000;
/// Segments at most.
const MAX_PIECES: i64 = 4_096;

struct Shared<S> {
    source: S,
    progress: Progress,
    mode: AtomicU8,
    /// A wide window asked once, at once, when `hits` is not known yet and a small window's
    /// answer was whole: if it holds fewer records than its hits, hits count every match.
    probe: Option<Span>,
    probed: tokio::sync::OnceCell<()>,
    /// The most records one answer held while more matched: the size of an answer.
    cap: AtomicU64,
    concurrency: usize,
}

/// Fetches `span`, proven complete, newest first. `probe`: a wider window (everything the
/// vendor keeps) whose one answer may prove what `hits` counts, cheaper than a walk by pages.
pub fn counted<S: HitsSource>(
    source: S,
    span: Span,
    probe: Option<Span>,
    concurrency: usize,
    progress: Progress,
) -> RecordStream {
    let shared = Arc::new(Shared {
        source,
        progress,
        mode: AtomicU8::new(UNKNOWN),
        probe,
        probed: tokio::sync::OnceCell::new(),
        cap: AtomicU64::new(0),
        concurrency: concurrency.max(1),
    });
    RecordStream::spawn(shared.concurrency.saturating_mul(2), move |tx| async move {
        if span.width() <= 0 {
            return;
        }
        let first = match shared.source.answer(span.asked().0, span.asked().1).await {
            Ok(a) => a,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        let (pieces, density) = match judge(&shared, span, first).await {
            Ok(Verdict::Done(records)) => {
                let _ = tx.send(Ok(records)).await;
                return;
            }
            Ok(Verdict::Split(pieces, density)) => (pieces, density),
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        // The segments, swept in parallel, written in order as each is whole.
        let concurrency = shared.concurrency;
        let mut done = futures::stream::iter(pieces)
            .map(|p| sweep(shared.clone(), p, density))
            .buffered(concurrency);
        while let Some(batch) = done.next().await {
            let failed = batch.is_err();
            if tx.send(batch).await.is_err() || failed {
                return;
            }
        }
    })
}

enum Verdict {
    Done(Vec<Record>),
    /// Segments to sweep, and the density (results per ms) the answer showed.
    Split(Vec<Span>, f64),
}

/// The share of an answer that a window of a sweep is sized to hold: the rest absorbs the
/// chance of a busier stretch than the one just seen.
const FILL: f64 = 0.75;

/// `width` scaled so that `hits` would become `target` (at least 1 ms).
fn scaled(width: i64, target: f64, hits: u64) -> i64 {
    // Float to int saturates: no overflow whatever the server said.
    ((width as f64) * target / (hits.max(1) as f64)) as i64
}

/// The lowest ms above `t` (and below `upper`) that holds none of `records`: a bound that no
/// record sits on, so that whether the vendor includes its bounds cannot matter.
fn free_above(records: &[Record], t: i64, upper: i64) -> Option<i64> {
    let taken: std::collections::HashSet<i64> = records.iter().map(|r| r.key).collect();
    let mut b = t.checked_add(1)?;
    while taken.contains(&b) {
        b = b.checked_add(1)?;
    }
    (b < upper).then_some(b)
}

/// One segment, whole, newest first.
///
/// First by a chain of answers: each asks from the segment's start up to a bound `b` that no
/// record of the answer before sits on, just above that answer's oldest record. The records
/// of the answer before that lie above `b` are complete when their count equals the
/// difference of the two answers' `hits` (both count from the same start; `b` holds no record
/// whichever way the vendor treats its bounds) — which holds when answers come newest first,
/// and is proven, not assumed: one ms-bound answer of about a whole answer's records per
/// request. When it does not hold (another order, results indexed in between), the rest of
/// the segment is swept in windows sized from the density the last one showed, to fill
/// [`FILL`] of an answer; a window with more matches is narrowed in proportion and asked
/// again, down to one ms, which is walked by pages.
fn sweep<S: HitsSource>(
    shared: Arc<Shared<S>>,
    seg: Span,
    mut density: f64,
) -> BoxFuture<'static, Batch> {
    Box::pin(async move {
        let mut out = Vec::new();
        // Everything at or above `hi` is in `out` (what lies on `hi - 1`'s side is not).
        let mut hi = seg.hi;
        let after = seg.lo.saturating_sub(1);
        let target = || shared.cap.load(Ordering::SeqCst).max(1) as f64 * FILL;
        let mut width = ((target() / density.max(1e-9)) as i64).clamp(1, seg.width().max(1));
        // The chain: the last answer, asked from `after` up to its bound.
        let mut chain: Option<(i64, Answer)> = None;
        let mut chained = true;
        while hi > seg.lo {
            if shared.mode.load(Ordering::SeqCst) == NOT_TOTAL {
                out.extend(walk(&shared, Span { lo: seg.lo, hi }, None).await?);
                break;
            }
            if chained {
                let (upper, answer) = match chain.take() {
                    Some(link) => link,
                    None => (hi, shared.source.answer(after, hi).await?),
                };
                let n = answer.records.len() as u64;
                if answer.hits == n {
                    out.extend(keep(seg, answer.records));
                    break;
                }
                let oldest = answer.records.iter().map(|r| r.key).min();
                let bound = oldest.and_then(|t| free_above(&answer.records, t, upper));
                if let (true, Some(b)) = (answer.hits > n, bound) {
                    shared.cap.fetch_max(n, Ordering::SeqCst);
                    let below = shared.source.answer(after, b).await?;
                    let above: Vec<Record> =
                        answer.records.into_iter().filter(|r| r.key > b).collect();
                    if answer.hits.checked_sub(below.hits) == Some(above.len() as u64) {
                        out.extend(keep(seg, above));
                        hi = b.saturating_add(1).min(hi);
                        chain = Some((b, below));
                        continue;
                    }
                }
                chained = false;
                shared.progress.line_if_verbose(&format!(
                    "{} {}: answers do not add up by their order here; sweeping by windows",
                    shared.source.describe(),
                    Span { lo: seg.lo, hi }.describe()
                ));
                continue;
            }
            let span = Span {
                lo: hi.saturating_sub(width).max(seg.lo),
                hi,
            };
            let (after, before) = span.asked();
            let answer = shared.source.answer(after, before).await?;
            let (n, hits) = (answer.records.len() as u64, answer.hits);
            if hits > n {
                shared.cap.fetch_max(n, Ordering::SeqCst);
                if span.width() <= 1 {
                    out.extend(walk(&shared, span, None).await?);
                    hi = span.lo;
                } else {
                    width = scaled(span.width(), target(), hits).clamp(1, span.width() - 1);
                }
                continue;
            }
            if hits < n {
                not_total(
                    &shared,
                    &format!("an answer held {n} records but said {hits} hits"),
                );
                continue;
            }
            out.extend(keep(span, answer.records));
            hi = span.lo;
            // The density ahead: what this window showed, averaged with what came before
            // (one window's count is noisy: actions come in bursts).
            let seen = hits as f64 / span.width().max(1) as f64;
            density = (density + seen) / 2.0;
            let w = span.width();
            width =
                ((target() / density.max(1e-9)) as i64).clamp((w / 2).max(1), w.saturating_mul(2));
        }
        // Sorted once more: the chain's pieces and the windows' meet at their bounds.
        Ok(keep(seg, out))
    })
}

/// What one answer proves of `span`.
async fn judge<S: HitsSource>(shared: &Shared<S>, span: Span, answer: Answer) -> Result<Verdict> {
    let n = answer.records.len() as u64;
    let hits = answer.hits;
    if hits > n {
        proven_total(shared, n, hits);
        if span.width() <= 1 || n == 0 || shared.mode.load(Ordering::SeqCst) == NOT_TOTAL {
            return Ok(Verdict::Done(walk(shared, span, None).await?));
        }
        // Segments swept in parallel, as many as requests may be under way.
        let windows = hits.div_ceil(shared.cap.load(Ordering::SeqCst).max(1));
        let k = i64::try_from(windows)
            .unwrap_or(MAX_PIECES)
            .clamp(2, (shared.concurrency as i64).max(2));
        let density = hits as f64 / span.width().max(1) as f64;
        return Ok(Verdict::Split(span.split(k), density));
    }
    match shared.mode.load(Ordering::SeqCst) {
        TOTAL if hits == n => Ok(Verdict::Done(keep(span, answer.records))),
        UNKNOWN if hits == n => {
            // Whole, or `hits` counts only what an answer holds: one wide answer may tell;
            // else the pages do.
            if let Some(probe) = shared.probe.filter(|p| p.width() > span.width()) {
                shared
                    .probed
                    .get_or_init(|| async {
                        // A vendor may refuse so wide a window: then the pages tell.
                        let (after, before) = probe.asked();
                        match shared.source.answer(after, before).await {
                            Ok(a) if a.hits > a.records.len() as u64 => {
                                proven_total(shared, a.records.len() as u64, a.hits);
                            }
                            Ok(_) => {}
                            Err(e) => shared.progress.line_if_verbose(&format!(
                                "{}: the wide answer that would tell what hits count failed ({}); walking by pages",
                                shared.source.describe(),
                                e.message
                            )),
                        }
                    })
                    .await;
                if shared.mode.load(Ordering::SeqCst) == TOTAL {
                    return Ok(Verdict::Done(keep(span, answer.records)));
                }
            }
            Ok(Verdict::Done(walk(shared, span, Some(hits)).await?))
        }
        _ => {
            // Fewer hits than records: `hits` does not count every match.
            not_total(
                shared,
                &format!("an answer held {n} records but said {hits} hits"),
            );
            Ok(Verdict::Done(walk(shared, span, None).await?))
        }
    }
}

/// An answer held `n` of `hits` matches: hits count every match (unless already disproved),
/// and an answer holds at least `n`.
fn proven_total<S: HitsSource>(shared: &Shared<S>, n: u64, hits: u64) {
    if shared
        .mode
        .compare_exchange(UNKNOWN, TOTAL, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        shared.progress.line_if_verbose(&format!(
            "{}: an answer holds {n} of {hits} matches: its hits count every match; windows that fit in one answer are fetched without paging",
            shared.source.describe()
        ));
    }
    shared.cap.fetch_max(n, Ordering::SeqCst);
}

/// From now on every window is walked by pages: `hits` cannot prove a window complete.
fn not_total<S: HitsSource>(shared: &Shared<S>, why: &str) {
    if shared.mode.swap(NOT_TOTAL, Ordering::SeqCst) != NOT_TOTAL {
        shared.progress.line_if_verbose(&format!(
            "{}: {why}: hits do not count every match, so every window is walked by pages (3 pages per 30 s: slow, but exact)",
            shared.source.describe()
        ));
    }
}

/// The records of `span`, walked by pages from the first to the last; `answered`: the hits of
/// an answer at once that held them all (reconciled with what the walk finds).
async fn walk<S: HitsSource>(shared: &Shared<S>, span: Span, answered: Option<u64>) -> Batch {
    let (after, before) = span.asked();
    let what = || format!("{} {}", shared.source.describe(), span.describe());
    let mut restarts = 0u32;
    'walk: loop {
        let mut records: Vec<Record> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut first_hits = None;
        let mut pages = 0u64;
        loop {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(Error::unavailable(format!(
                    "{}: more than {MAX_PAGES} pages; the cursor never ends",
                    what()
                )));
            }
            match shared.source.page(after, before, cursor.clone()).await? {
                Paged::Expired => {
                    restarts += 1;
                    if restarts > MAX_RESTARTS {
                        return Err(Error::unavailable(format!(
                            "{}: the point in time expired {restarts} times during the walk; the window cannot be proven complete",
                            what()
                        ))
                        .hint("try again when the vendor is less busy, or narrow --since/--until"));
                    }
                    shared.progress.line_if_verbose(&format!(
                        "{}: the point in time expired mid-walk; walking the window again",
                        what()
                    ));
                    continue 'walk;
                }
                Paged::Page {
                    records: page,
                    hits,
                    next,
                } => {
                    if first_hits.is_none() {
                        first_hits = hits;
                    }
                    match next {
                        None if page.is_empty() => break,
                        None => {
                            return Err(Error::unavailable(format!(
                                "{}: a page of {} records came without a cursor to the next; the end of the walk is not proven",
                                what(),
                                page.len()
                            )));
                        }
                        Some(next) if cursor.as_deref() == Some(next.as_str()) => {
                            return Err(Error::unavailable(format!(
                                "{}: the vendor repeated a page cursor; the walk makes no progress",
                                what()
                            )));
                        }
                        Some(next) => {
                            records.extend(page);
                            cursor = Some(next);
                        }
                    }
                }
            }
        }
        let n = records.len() as u64;
        if let Some(h) = answered {
            if n > h {
                not_total(
                    shared,
                    &format!("a window said {h} hits in one answer, its pages held {n}"),
                );
            }
        }
        // Where the pages' hits are known to count every match, they must add up.
        if shared.mode.load(Ordering::SeqCst) == TOTAL {
            if let Some(h) = first_hits.filter(|h| *h != n) {
                restarts += 1;
                if restarts > MAX_RESTARTS {
                    return Err(Error::unavailable(format!(
                        "{}: its pages held {n} records but said {h} hits, {restarts} times; the window cannot be proven complete",
                        what()
                    )));
                }
                continue 'walk;
            }
        }
        return Ok(keep(span, records));
    }
}

/// The records inside `span`, newest first (ties by their text).
fn keep(span: Span, records: Vec<Record>) -> Vec<Record> {
    let mut kept: Vec<Record> = records
        .into_iter()
        .filter(|r| span.contains(r.key))
        .collect();
    kept.sort_by(|a, b| b.key.cmp(&a.key).then_with(|| a.raw.get().cmp(b.raw.get())));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_covers_the_window_once_newest_first() {
        let s = Span {
            lo: 1_000,
            hi: 2_003,
        };
        for k in [2, 3, 7, 1_000, 5_000] {
            let pieces = s.split(k);
            assert_eq!(pieces.first().map(|p| p.hi), Some(2_003));
            assert_eq!(pieces.last().map(|p| p.lo), Some(1_000));
            for w in pieces.windows(2) {
                assert_eq!(w[0].lo, w[1].hi, "{k}: contiguous");
            }
            assert!(pieces.iter().all(|p| p.width() >= 1), "{k}");
        }
        let one = Span { lo: 5, hi: 7 }.split(10);
        assert_eq!(one, vec![Span { lo: 6, hi: 7 }, Span { lo: 5, hi: 6 }]);
    }

    #[test]
    fn the_window_is_asked_one_ms_wider_and_kept_exactly() {
        let s = Span { lo: 100, hi: 200 };
        assert_eq!(s.asked(), (99, 200));
        let rec = |k: i64| {
            Record::new(
                serde_json::value::RawValue::from_string(format!("{{\"k\":{k}}}")).expect("raw"),
                k,
            )
        };
        let kept = keep(s, vec![rec(99), rec(100), rec(150), rec(199), rec(200)]);
        let keys: Vec<i64> = kept.iter().map(|r| r.key).collect();
        assert_eq!(keys, vec![199, 150, 100]);
    }
}
