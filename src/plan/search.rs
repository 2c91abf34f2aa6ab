//! Search endpoints with `page` (from 1), `limit`, a `total` and at most 10,000 results per
//! query (Recruitee's `audit_log` and `search/new/candidates`), walked and *verified*: nothing
//! the vendor says about itself is taken on trust (the contract's "Trust nothing"). The
//! vendor module describes the endpoint ([`SearchSource`]); this module knows no vendor.
//!
//! The query's `created_at` range is cut into windows (whole seconds, `gte`/`lte` inclusive,
//! so a boundary can neither lose nor double an entry), walked newest first. For each window:
//! - the page size is what a page *holds*: when the vendor serves another number than `limit`
//!   asked (a cap, or `limit` ignored), later pages ask for the size served, so that pages line
//!   up and `page × limit ≤ 10,000` holds in the vendor's terms;
//! - a `total` of 10,000 or more may be capped, and a window holding more than the pages may
//!   reach is split;
//! - the distinct ids received (within the window) must equal `total`. If not (ties in
//!   `created_at` ordered differently on each request, `page` ignored, …), the window is cut at
//!   the seconds where its pages met (each such second becomes a window of its own) or else
//!   bisected, and each piece is verified the same way, down to a single second fetched in one
//!   page; what was already received is kept, and the pieces between those seconds are proven
//!   by subtracting the seconds' totals from the window's, so a piece often costs no request.
//!   A second that needs several pages has them asked again (ties come in another order on
//!   each request) until it is whole; one that still cannot agree ends the run (exit 5),
//!   naming it;
//! - when page 2 repeats page 1 (`page` ignored), windows are no longer paged: each is cut
//!   below the oldest second its first page held.
//!
//! A window's records are written once it is verified, newest first, each id once in the run.
//! The range's end is fixed when the run starts, so entries created meanwhile change nothing.
//! A well-behaved vendor costs what an unverified walk would: one request per page.
//!
//! With `--limit N` ([`SearchPlan::want`]) a window holding more than are still wanted is not
//! paged through but narrowed below its first page, and the search stops once N records were
//! written. When a client-side filter follows ([`SearchPlan::counts`]), only the records it
//! will keep count towards N, and how many a window will yield is estimated from the share of
//! records passing so far (none passing: the window is paged through, one request a page).

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;
use jiff::Timestamp;
use tokio::sync::mpsc;

use super::{Batch, RecordStream, hash_text};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::record::Record;

/// The second of a record's key: search records are keyed by `created_at` in Unix ms (as
/// every record of hrlogs is keyed in ms), and windows are whole seconds. `i64::MIN` (no
/// readable time) stays itself.
fn second(record: &Record) -> i64 {
    if record.key == i64::MIN {
        i64::MIN
    } else {
        record.key.div_euclid(1000)
    }
}

/// The most results one search query serves.
pub const MAX_RESULTS: u64 = 10_000;

/// Records written in one batch.
const OUT_BATCH: usize = 512;

/// How many more times the pages of a one-second window that needs several pages are asked
/// for, to gather entries whose order changes between requests; and after how many passes
/// in a row that bring nothing new it gives up.
const MAX_PASSES: u32 = 16;
const IDLE_PASSES: u32 = 3;

/// A `created_at` range in Unix seconds, inclusive; `lo` None: no lower bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub lo: Option<i64>,
    pub hi: i64,
}

impl Window {
    fn contains(&self, t: i64) -> bool {
        t != i64::MIN && t <= self.hi && self.lo.is_none_or(|lo| t >= lo)
    }

    fn single_second(&self) -> bool {
        self.lo == Some(self.hi)
    }

    /// `2024-05-01T08:00:00Z..2024-05-01T09:00:00Z` (the start `…` when unbounded).
    pub fn describe(&self) -> String {
        let t =
            |s: i64| Timestamp::from_second(s).map_or_else(|_| s.to_string(), |t| t.to_string());
        format!(
            "{}..{}",
            self.lo.map_or_else(|| "…".to_string(), t),
            t(self.hi)
        )
    }
}

/// One answer of a search: its records (each keyed by `created_at` in Unix ms, `i64::MIN`
/// when unreadable) and the `total` it reports.
pub struct SearchPage {
    pub records: Vec<Record>,
    pub total: u64,
}

/// A search endpoint, as a vendor module describes it.
pub trait SearchSource: Send + Sync + 'static {
    /// Page `page` (from 1) of `window`, asking `limit` a page.
    fn fetch(
        &self,
        window: Window,
        page: u64,
        limit: u32,
    ) -> impl Future<Output = Result<SearchPage>> + Send;
    /// What is searched, for messages: "Recruitee audit_log".
    fn describe(&self) -> String;
    /// The record's id.
    fn id_of(&self, record: &Record) -> Option<String>;
}

/// Which records a client-side filter after the search will keep.
pub type Counts = Arc<dyn Fn(&Record) -> bool + Send + Sync>;

/// How a search is run: its range, the page size to ask, pages in flight at once, and how
/// many records are wanted at most (`--limit`; None: all).
#[derive(Clone)]
pub struct SearchPlan {
    pub window: Window,
    pub limit: u32,
    pub concurrency: usize,
    pub want: Option<u64>,
    /// Which records count towards `want` (those a filter after the search keeps); None: all.
    pub counts: Option<Counts>,
}

/// Runs the search, verified, newest first.
pub fn search<S: SearchSource>(source: S, plan: SearchPlan, progress: Progress) -> RecordStream {
    let SearchPlan {
        window,
        limit,
        concurrency,
        want,
        counts,
    } = plan;
    RecordStream::spawn(2, move |tx| async move {
        let mut walker = Walker {
            source: &source,
            limit: limit.clamp(1, MAX_RESULTS as u32),
            concurrency: concurrency.max(1),
            progress: &progress,
            seq: 0,
            written: HashSet::new(),
            pieces: 0,
            received: 0,
            paging_works: None,
            want,
            counts,
            passed: 0,
            written_passed: 0,
            total_told: false,
        };
        if let Err(e) = walker.run(window, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    })
}

/// A window and what was received in it so far (each id once).
struct Piece {
    window: Window,
    held: Vec<Held>,
    ids: HashSet<u64>,
    /// Already proven whole (by the totals of the window it was cut from).
    verified: bool,
    /// Its first page was already fetched (and its records added): its total and ends.
    first: Option<(u64, Ends)>,
}

struct Held {
    seq: u64,
    id: u64,
    record: Record,
}

impl Piece {
    fn new(window: Window) -> Piece {
        Piece {
            window,
            held: Vec::new(),
            ids: HashSet::new(),
            verified: false,
            first: None,
        }
    }

    fn count(&self) -> u64 {
        self.held.len() as u64
    }
}

/// The keys of a page's first and last records within the window.
type Ends = Option<(i64, i64)>;

enum Outcome {
    Complete(Piece),
    /// Pieces to walk instead, oldest first.
    Split(Vec<Piece>),
}

struct Walker<'a, S> {
    source: &'a S,
    limit: u32,
    concurrency: usize,
    progress: &'a Progress,
    seq: u64,
    /// Ids written in this run.
    written: HashSet<u64>,
    /// Pieces made because a window did not agree with its total: bounded, so that a vendor
    /// whose answers never agree cannot keep the run going.
    pieces: u64,
    /// Records received, for that bound.
    received: u64,
    /// Whether `page` works: None until a second page was seen; false when a second page
    /// brought nothing new (the vendor serves page 1 whatever `page` says). Then windows are
    /// narrowed after their first page instead of paged.
    paging_works: Option<bool>,
    /// Records wanted at most: a window holding more than are still wanted is not paged
    /// through but cut below its first page, so a `--limit` run stops after a few requests.
    want: Option<u64>,
    /// Which records count towards `want`; None: all.
    counts: Option<Counts>,
    /// Records received that count (of `received`), for the share that passes.
    passed: u64,
    /// Records written that count.
    written_passed: u64,
    /// The first page's total (the whole query's) was given to the progress display.
    total_told: bool,
}

impl<S: SearchSource> Walker<'_, S> {
    async fn run(&mut self, window: Window, tx: &mpsc::Sender<Batch>) -> Result<()> {
        let mut stack = vec![Piece::new(window)];
        while let Some(piece) = stack.pop() {
            match self.walk(piece).await? {
                Outcome::Split(pieces) => stack.extend(pieces),
                Outcome::Complete(piece) => {
                    if !self.write(piece, tx).await {
                        return Ok(());
                    }
                    if self.want.is_some_and(|w| self.written_passed >= w) {
                        // `--limit` is reached: nothing more is needed.
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes a verified window, newest first. False when nobody listens any more.
    async fn write(&mut self, piece: Piece, tx: &mpsc::Sender<Batch>) -> bool {
        let mut held = piece.held;
        held.sort_by_key(|h| (std::cmp::Reverse(h.record.key), h.seq));
        let mut batch = Vec::with_capacity(held.len().min(OUT_BATCH));
        for h in held {
            if !self.written.insert(h.id) {
                continue;
            }
            if self.counts(&h.record) {
                self.written_passed += 1;
            }
            batch.push(h.record);
            if batch.len() >= OUT_BATCH && tx.send(Ok(std::mem::take(&mut batch))).await.is_err() {
                return false;
            }
        }
        batch.is_empty() || tx.send(Ok(batch)).await.is_ok()
    }

    /// Adds a page's records that fall in the window; returns how many were new and the keys
    /// of the page's first and last records in the window.
    fn add(&mut self, piece: &mut Piece, records: Vec<Record>) -> (u64, Ends) {
        let mut new = 0;
        let mut ends: Ends = None;
        for record in records {
            if !piece.window.contains(second(&record)) {
                continue;
            }
            let at = second(&record);
            ends = Some(ends.map_or((at, at), |(f, _)| (f, at)));
            let id = match self.source.id_of(&record) {
                Some(id) => hash_text(&id),
                None => hash_text(record.raw.get()),
            };
            if piece.ids.insert(id) {
                new += 1;
                self.seq += 1;
                if self.counts(&record) {
                    self.passed += 1;
                }
                piece.held.push(Held {
                    seq: self.seq,
                    id,
                    record,
                });
            }
        }
        self.received += new;
        self.progress.records_received(new);
        (new, ends)
    }

    /// Whether `record` counts towards `want`.
    fn counts(&self, record: &Record) -> bool {
        self.counts.as_ref().is_none_or(|keep| keep(record))
    }

    /// How many of a window's `total` records are expected to count towards `want`: all of
    /// them without a filter, else the share that passed so far.
    fn expected(&self, total: u64) -> u64 {
        if self.received == 0 {
            return total;
        }
        let share = u128::from(total) * u128::from(self.passed) / u128::from(self.received);
        u64::try_from(share).unwrap_or(total)
    }

    /// The largest window `limit` a page can hold so that `page × limit ≤ 10,000`.
    fn capacity(&self) -> u64 {
        let limit = u64::from(self.limit.max(1));
        (MAX_RESULTS / limit) * limit
    }

    async fn walk(&mut self, mut piece: Piece) -> Result<Outcome> {
        if piece.verified {
            return Ok(Outcome::Complete(piece));
        }
        let window = piece.window;
        let (total, first_ends, served) = match piece.first.take() {
            Some((total, ends)) => (total, ends, u64::from(self.limit)),
            None => {
                let asked = self.limit;
                let first = self.source.fetch(window, 1, asked).await?;
                if !std::mem::replace(&mut self.total_told, true) && self.want.is_none() {
                    // The whole query's total, for the progress display (10,000 may be capped).
                    self.progress
                        .expect_records(first.total, first.total == MAX_RESULTS);
                }
                let served = first.records.len() as u64;
                self.learn_page_size(asked, served, first.total);
                let (_, ends) = self.add(&mut piece, first.records);
                (first.total, ends, served)
            }
        };
        if total >= MAX_RESULTS || total > self.capacity() {
            return self.split_large(piece, total, served).map(Outcome::Split);
        }
        if piece.count() == total {
            return Ok(Outcome::Complete(piece));
        }
        let mut ends: Vec<Ends> = vec![first_ends];
        let limit = self.limit;
        let pages = total.div_ceil(u64::from(limit)).max(1);
        let still_wanted = self.want.map(|w| w.saturating_sub(self.written_passed));
        let page_by_page = self.paging_works == Some(false)
            || still_wanted.is_some_and(|w| w < self.expected(total));
        if page_by_page {
            // `page` is ignored, or only part of the window is wanted: narrow below what page
            // 1 held instead of paging.
            if let Some((_, oldest)) = first_ends {
                ends.push(Some((oldest, oldest)));
            }
        } else if pages > 1 && served > 0 {
            let source = self.source;
            let mut next = 2;
            if self.paging_works.is_none() {
                // Page 2 alone first: if it repeats page 1, the rest would too.
                let second = source.fetch(window, 2, limit).await?;
                let sent = second.records.len();
                let (new, page_ends) = self.add(&mut piece, second.records);
                if new > 0 {
                    self.paging_works = Some(true);
                    ends.push(page_ends);
                } else if sent > 0 {
                    self.paging_works = Some(false);
                    self.progress.line_if_verbose(&format!(
                        "{}: page 2 repeats page 1 (the vendor ignores `page`); narrowing windows instead",
                        source.describe()
                    ));
                    if let Some((_, oldest)) = first_ends {
                        ends.push(Some((oldest, oldest)));
                    }
                }
                // Nothing new on page 2: what is missing is found by narrowing.
                next = if new > 0 { 3 } else { pages + 1 };
            }
            let rest = futures::stream::iter(next..=pages)
                .map(|p| source.fetch(window, p, limit))
                .buffered(self.concurrency);
            let mut rest = std::pin::pin!(rest);
            while piece.count() < total {
                let Some(page) = rest.next().await else {
                    break;
                };
                let (new, page_ends) = self.add(&mut piece, page?.records);
                ends.push(page_ends);
                // A page that brings nothing new: the vendor repeats pages (or ran out).
                if new == 0 {
                    break;
                }
            }
        }
        if piece.count() == total {
            return Ok(Outcome::Complete(piece));
        }
        if window.single_second() && pages > 1 && self.paging_works != Some(false) {
            // A second that needs more than a page cannot be narrowed further. Ties come in
            // another order on each request: asking its pages again gathers the rest.
            self.gather(&mut piece, total, pages).await?;
            if piece.count() == total {
                return Ok(Outcome::Complete(piece));
            }
        }
        self.split_mismatch(piece, total, &ends, page_by_page)
            .await
            .map(Outcome::Split)
    }

    /// Asks every page of a one-second window again, up to [`MAX_PASSES`] times, until the
    /// window is whole or [`IDLE_PASSES`] passes in a row brought nothing new.
    async fn gather(&mut self, piece: &mut Piece, total: u64, pages: u64) -> Result<()> {
        let (source, window, limit) = (self.source, piece.window, self.limit);
        let mut idle = 0;
        for _ in 0..MAX_PASSES {
            let answers: Vec<Result<SearchPage>> = futures::stream::iter(1..=pages)
                .map(|p| source.fetch(window, p, limit))
                .buffered(self.concurrency)
                .collect()
                .await;
            let mut new = 0;
            for answer in answers {
                new += self.add(piece, answer?.records).0;
            }
            idle = if new == 0 { idle + 1 } else { 0 };
            if idle >= IDLE_PASSES || piece.count() >= total {
                break;
            }
        }
        Ok(())
    }

    /// The page size the vendor really serves: when a page holds another number than `limit`
    /// asked (a cap, or `limit` ignored), ask that from now on, so that pages line up.
    fn learn_page_size(&mut self, asked: u32, served: u64, total: u64) {
        let asked64 = u64::from(asked);
        if served > 0 && served != asked64 && (served > asked64 || total > served) {
            self.limit = served.min(MAX_RESULTS) as u32;
            self.progress.line_if_verbose(&format!(
                "{} serves {served} results a page where {asked} were asked; asking {served} from now on",
                self.source.describe()
            ));
        }
    }

    /// A window that holds more than one query may serve (or a `total` that may be capped):
    /// cut so that the newer part holds about 80% of what a window may, estimated from how much
    /// time the first page covered, and at most half of the window.
    fn split_large(&mut self, piece: Piece, total: u64, served: u64) -> Result<Vec<Piece>> {
        let w = piece.window;
        if w.single_second() {
            return Err(Error::unavailable(format!(
                "{} holds {total} results created in the single second {}; it serves at most {MAX_RESULTS} per query, so they cannot all be fetched",
                self.source.describe(),
                w.describe()
            ))
            .hint("narrow the query with more filters"));
        }
        let newest = piece.held.iter().map(|h| second(&h.record)).max();
        let oldest = piece.held.iter().map(|h| second(&h.record)).min();
        let estimate = match (newest, oldest) {
            (Some(_), Some(oldest)) => {
                let covered = w.hi.saturating_sub(oldest).max(1) as f64;
                let per_second = (served.max(1) as f64) / covered;
                Some((self.capacity() as f64 * 0.8 / per_second) as i64)
            }
            _ => None,
        };
        let half = w.lo.map(|lo| midpoint(lo, w.hi));
        let cut = match (estimate, half) {
            (Some(span), Some(half)) => w.hi.saturating_sub(span.max(0)).max(half),
            (Some(span), None) => w.hi.saturating_sub(span.max(0)),
            (None, Some(half)) => half,
            (None, None) => w.hi.saturating_sub(86_400),
        };
        // Within the window, so that both parts hold at least one second (never `clamp`,
        // which panics on an empty range).
        let cut = cut
            .max(w.lo.map_or(i64::MIN / 4, |lo| lo.saturating_add(1)))
            .min(w.hi);
        self.progress.line_if_verbose(&format!(
            "{}: window {} holds {total} results; splitting at {cut}",
            self.source.describe(),
            w.describe()
        ));
        Ok(partition(piece, &[cut]))
    }

    /// A window whose distinct ids do not agree with its total: cut it at the seconds where its
    /// pages met (each becomes a one-second window) or, failing that, in two halves. Each
    /// one-second window is asked for once; when they all agree with their totals and what was
    /// received between them agrees with the rest of the window's total, the parts between
    /// are proven whole without another request.
    async fn split_mismatch(
        &mut self,
        piece: Piece,
        total: u64,
        ends: &[Ends],
        page_by_page: bool,
    ) -> Result<Vec<Piece>> {
        let w = piece.window;
        let what = self.source.describe();
        let disagree = || {
            Error::unavailable(format!(
                "{what}: the created_at window {} said {total} results but {} distinct ones came back, even when asked for that one second; the export would not be exact",
                w.describe(),
                piece.count()
            ))
            .hint("try again later; if it persists, report it to the vendor")
        };
        if w.single_second() {
            return Err(disagree());
        }
        if total > 0 && piece.held.is_empty() && ends.iter().all(Option::is_none) {
            return Err(Error::unavailable(format!(
                "{what}: the created_at window {} said {total} results but none of those served lies in it; the vendor does not apply the created_at filter",
                w.describe()
            ))
            .hint("try again later; if it persists, report it to the vendor"));
        }
        // The seconds where one page ended and the next began.
        let mut meets: BTreeSet<i64> = BTreeSet::new();
        for pair in ends.windows(2) {
            if let [Some((_, last)), Some((next, _))] = pair {
                meets.insert(*last);
                meets.insert(*next);
            }
        }
        let mut cuts: Vec<i64> = Vec::new();
        for t in meets.iter().rev() {
            cuts.push(t.saturating_add(1));
            cuts.push(*t);
        }
        cuts.retain(|c| w.lo.is_none_or(|lo| *c > lo) && *c <= w.hi);
        cuts.dedup();
        if cuts.is_empty() {
            // Bisect: at the median of what was received, else in time.
            let mut keys: Vec<i64> = piece.held.iter().map(|h| second(&h.record)).collect();
            keys.sort_unstable();
            let median = keys.get(keys.len() / 2).copied();
            let cut = match (median, w.lo) {
                (Some(m), lo) if lo.is_none_or(|lo| m > lo) => m,
                (_, Some(lo)) => midpoint(lo, w.hi),
                (_, None) => return Err(disagree()),
            };
            cuts.push(cut);
        }
        let mut pieces = partition(piece, &cuts);
        self.pieces = self.pieces.saturating_add(pieces.len() as u64);
        if self.pieces > self.received.saturating_mul(4).saturating_add(1_000) {
            return Err(Error::unavailable(format!(
                "{what}: the answers kept disagreeing with their totals after {} narrower windows; the export would not be exact",
                self.pieces
            ))
            .hint("try again later; if it persists, report it to the vendor"));
        }
        if !meets.is_empty() {
            self.verify_between(&mut pieces, &meets, total, page_by_page)
                .await?;
        }
        self.progress.line_if_verbose(&format!(
            "{what}: window {} said {total} results but served {} distinct; narrowing it into {} windows",
            w.describe(),
            pieces.iter().map(Piece::count).sum::<u64>(),
            pieces.len()
        ));
        Ok(pieces)
    }
}

impl<S: SearchSource> Walker<'_, S> {
    /// Asks each one-second piece at a meeting second (and, page by page, the oldest piece:
    /// the one walked next) for its first page; a one-second piece that agrees with its total is verified.
    /// The pieces not asked are verified together when what they hold is what remains of
    /// `total` once the totals of the pieces asked are taken away (each holds no more than its
    /// true count, so the sum agreeing means each agrees).
    async fn verify_between(
        &mut self,
        pieces: &mut [Piece],
        meets: &BTreeSet<i64>,
        total: u64,
        oldest_too: bool,
    ) -> Result<()> {
        let asked: Vec<usize> = pieces
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                (p.window.single_second() && meets.contains(&p.window.hi))
                    || (oldest_too && *i == 0)
            })
            .map(|(i, _)| i)
            .collect();
        let (source, limit) = (self.source, self.limit);
        let windows: Vec<Window> = asked
            .iter()
            .filter_map(|&i| pieces.get(i))
            .map(|p| p.window)
            .collect();
        let answers: Vec<Result<SearchPage>> = futures::stream::iter(windows)
            .map(|w| source.fetch(w, 1, limit))
            .buffered(self.concurrency)
            .collect()
            .await;
        let mut known: u64 = 0;
        let mut capped = false;
        for (&i, answer) in asked.iter().zip(answers) {
            let page = answer?;
            known = known.saturating_add(page.total);
            capped |= page.total >= MAX_RESULTS;
            let Some(piece) = pieces.get_mut(i) else {
                continue;
            };
            let (_, ends) = self.add(piece, page.records);
            if piece.count() == page.total {
                piece.verified = true;
            } else {
                piece.first = Some((page.total, ends));
            }
        }
        let rest: u64 = pieces
            .iter()
            .enumerate()
            .filter(|(i, _)| !asked.contains(i))
            .map(|(_, p)| p.count())
            .sum();
        if !capped && total.checked_sub(known) == Some(rest) {
            for (i, p) in pieces.iter_mut().enumerate() {
                if !asked.contains(&i) {
                    p.verified = true;
                }
            }
        }
        Ok(())
    }
}

/// The first second of the newer half of `lo..=hi` (`lo < hi`), without overflow.
fn midpoint(lo: i64, hi: i64) -> i64 {
    let span = i128::from(hi) - i128::from(lo) + 1;
    i64::try_from(i128::from(lo) + span / 2).unwrap_or(hi)
}

/// Cuts a window at `cuts` (each the first second of a newer part; descending), handing each
/// piece what was received in it. Returns the pieces oldest first.
fn partition(piece: Piece, cuts: &[i64]) -> Vec<Piece> {
    let w = piece.window;
    let mut bounds: Vec<i64> = cuts
        .iter()
        .copied()
        .filter(|c| w.lo.is_none_or(|lo| *c > lo) && *c <= w.hi)
        .collect();
    bounds.sort_unstable_by(|a, b| b.cmp(a));
    bounds.dedup();
    // Newest first: [c0, hi], [c1, c0 - 1], …, [lo, ck - 1].
    let mut pieces: Vec<Piece> = Vec::with_capacity(bounds.len() + 1);
    let mut hi = w.hi;
    for c in bounds {
        pieces.push(Piece::new(Window { lo: Some(c), hi }));
        hi = c.saturating_sub(1);
    }
    pieces.push(Piece::new(Window { lo: w.lo, hi }));
    for h in piece.held {
        if let Some(p) = pieces
            .iter_mut()
            .find(|p| p.window.contains(second(&h.record)))
        {
            p.ids.insert(h.id);
            p.held.push(h);
        }
    }
    pieces.reverse();
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A search over `times` (newest first), served in pages of `limit`, with switches.
    struct Memory {
        times: Vec<i64>,
        ignore_filter: bool,
        extra_total: u64,
        requests: AtomicU64,
    }

    impl Memory {
        fn new(times: Vec<i64>) -> Memory {
            Memory {
                times,
                ignore_filter: false,
                extra_total: 0,
                requests: AtomicU64::new(0),
            }
        }
    }

    impl SearchSource for Memory {
        async fn fetch(&self, w: Window, page: u64, limit: u32) -> Result<SearchPage> {
            self.requests.fetch_add(1, Ordering::SeqCst);
            let hits: Vec<(usize, i64)> = self
                .times
                .iter()
                .copied()
                .enumerate()
                .filter(|(_, t)| self.ignore_filter || w.contains(*t))
                .collect();
            let start = ((page - 1) * u64::from(limit)) as usize;
            let records = hits
                .iter()
                .skip(start)
                .take(limit as usize)
                .map(|(i, t)| {
                    let raw = RawValue::from_string(format!("{{\"_id\":\"{i}\"}}")).expect("raw");
                    // Keyed in ms, as every record of hrlogs is.
                    Record::new(raw, t.saturating_mul(1000))
                })
                .collect();
            Ok(SearchPage {
                records,
                total: hits.len() as u64 + self.extra_total,
            })
        }
        fn describe(&self) -> String {
            "memory search".into()
        }
        fn id_of(&self, r: &Record) -> Option<String> {
            Some(r.raw.get().to_string())
        }
    }

    async fn run(source: Memory, limit: u32) -> (Result<Vec<i64>>, u64) {
        let source = std::sync::Arc::new(source);
        let plan = SearchPlan {
            window: Window {
                lo: None,
                hi: 1_000_000,
            },
            limit,
            concurrency: 4,
            want: None,
            counts: None,
        };
        let mut stream = search(Shared(source.clone()), plan, Progress::new(false, true, 0));
        let mut keys = Vec::new();
        while let Some(batch) = stream.next_batch().await {
            match batch {
                Ok(b) => keys.extend(b.iter().map(second)),
                Err(e) => return (Err(e), source.requests.load(Ordering::SeqCst)),
            }
        }
        (Ok(keys), source.requests.load(Ordering::SeqCst))
    }

    struct Shared(std::sync::Arc<Memory>);

    impl SearchSource for Shared {
        async fn fetch(&self, w: Window, page: u64, limit: u32) -> Result<SearchPage> {
            self.0.fetch(w, page, limit).await
        }
        fn describe(&self) -> String {
            self.0.describe()
        }
        fn id_of(&self, r: &Record) -> Option<String> {
            self.0.id_of(r)
        }
    }

    #[test]
    fn pieces_cover_the_window_once_at_whole_seconds() {
        let w = Window {
            lo: Some(100),
            hi: 200,
        };
        let pieces = partition(Piece::new(w), &[150, 151, 101, 200, 300, 100]);
        let windows: Vec<Window> = pieces.iter().map(|p| p.window).collect();
        assert_eq!(windows.first().map(|w| w.lo), Some(Some(100)));
        assert_eq!(windows.last().map(|w| w.hi), Some(200));
        for pair in windows.windows(2) {
            assert_eq!(
                pair[0].hi + 1,
                pair[1].lo.expect("lo"),
                "gap or overlap: {windows:?}"
            );
        }
        assert!(windows.iter().all(|w| w.lo.is_some_and(|lo| lo <= w.hi)));
    }

    #[tokio::test]
    async fn a_large_search_comes_out_whole_newest_first_at_one_request_a_page() {
        // 25,000 entries, several to a second: more than one query serves.
        let times: Vec<i64> = (0..25_000).map(|i| 900_000 - i / 3).collect();
        let (keys, requests) = run(Memory::new(times.clone()), 1_000).await;
        assert_eq!(keys.expect("ok"), times);
        // One request a page, plus the first page of each window that had to be split.
        assert!(requests <= 40, "{requests} requests");
    }

    #[tokio::test]
    async fn a_vendor_that_ignores_the_created_at_filter_fails_the_run() {
        let mut m = Memory::new((0..30_000).map(|i| 900_000 - i).collect());
        m.ignore_filter = true;
        let (keys, _) = run(m, 1_000).await;
        let err = keys.expect_err("must fail");
        assert_eq!(err.kind, crate::error::Kind::Unavailable);
    }

    #[tokio::test]
    async fn a_total_that_never_agrees_fails_the_run_in_bounded_requests() {
        let mut m = Memory::new((0..500).map(|i| 900_000 - i * 7).collect());
        m.extra_total = 1;
        let (keys, requests) = run(m, 50).await;
        let err = keys.expect_err("must fail");
        assert_eq!(err.kind, crate::error::Kind::Unavailable);
        assert!(err.message.contains("said"), "{err}");
        assert!(requests < 200, "{requests} requests");
    }
}
