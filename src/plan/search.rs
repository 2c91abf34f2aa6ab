//! Recruitee's search endpoints (`audit_log`, `search/new/candidates`), walked and *verified*:
//! `page` (from 1) and `limit`, a `total`, at most 10,000 results per query, and nothing the
//! vendor says about itself taken on trust (the contract's "Trust nothing").
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
//!   page; what was already received is kept, so a piece often costs one request. A single
//!   second that still cannot agree ends the run (exit 5), naming it.
//!
//! A window's records are written once it is verified, newest first, each id once in the run.
//! The range's end is fixed when the run starts, so entries created meanwhile change nothing.
//! A well-behaved vendor costs what an unverified walk would: one request per page.

use std::collections::{BTreeSet, HashSet};
use std::future::Future;

use futures::StreamExt;
use jiff::Timestamp;
use tokio::sync::mpsc;

use super::{Batch, RecordStream, hash_text};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::record::Record;

/// The most results one search query serves.
pub const MAX_RESULTS: u64 = 10_000;

/// Records written in one batch.
const OUT_BATCH: usize = 512;

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

/// One answer of a search: its records (each keyed by `created_at` in seconds, `i64::MIN`
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

/// Runs the search over `window`, asking `limit` a page, `concurrency` pages at once.
pub fn search<S: SearchSource>(
    source: S,
    window: Window,
    limit: u32,
    concurrency: usize,
    progress: Progress,
) -> RecordStream {
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
            if !piece.window.contains(record.key) {
                continue;
            }
            ends = Some(ends.map_or((record.key, record.key), |(f, _)| (f, record.key)));
            let id = match self.source.id_of(&record) {
                Some(id) => hash_text(&id),
                None => hash_text(record.raw.get()),
            };
            if piece.ids.insert(id) {
                new += 1;
                self.seq += 1;
                piece.held.push(Held {
                    seq: self.seq,
                    id,
                    record,
                });
            }
        }
        self.received += new;
        (new, ends)
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
        let asked = self.limit;
        let first = self.source.fetch(window, 1, asked).await?;
        let served = first.records.len() as u64;
        let total = first.total;
        if served > 0 && served != u64::from(asked) && (served > u64::from(asked) || total > served)
        {
            // The page size the vendor really serves: ask that from now on, so pages line up.
            self.limit = served.min(MAX_RESULTS) as u32;
            self.progress.line_if_verbose(&format!(
                "{} serves {served} results a page where {asked} were asked; asking {served} from now on",
                self.source.describe()
            ));
        }
        let (_, first_ends) = self.add(&mut piece, first.records);
        if total >= MAX_RESULTS || total > self.capacity() {
            return self.split_large(piece, total, served).map(Outcome::Split);
        }
        if piece.count() == total {
            return Ok(Outcome::Complete(piece));
        }
        let mut ends: Vec<Ends> = vec![first_ends];
        let limit = self.limit;
        let pages = total.div_ceil(u64::from(limit)).max(1);
        if pages > 1 && served > 0 {
            let source = self.source;
            let rest = futures::stream::iter(2..=pages)
                .map(|p| source.fetch(window, p, limit))
                .buffered(self.concurrency);
            let mut rest = std::pin::pin!(rest);
            while let Some(page) = rest.next().await {
                let (new, page_ends) = self.add(&mut piece, page?.records);
                ends.push(page_ends);
                // A page that brings nothing new: the vendor repeats pages (or ran out).
                if new == 0 || piece.count() >= total {
                    break;
                }
            }
        }
        if piece.count() == total {
            return Ok(Outcome::Complete(piece));
        }
        self.split_mismatch(piece, total, &ends)
            .await
            .map(Outcome::Split)
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
        let newest = piece.held.iter().map(|h| h.record.key).max();
        let oldest = piece.held.iter().map(|h| h.record.key).min();
        let estimate = match (newest, oldest) {
            (Some(_), Some(oldest)) => {
                let covered = w.hi.saturating_sub(oldest).max(1) as f64;
                let per_second = (served.max(1) as f64) / covered;
                Some((self.capacity() as f64 * 0.8 / per_second) as i64)
            }
            _ => None,
        };
        let half = w.lo.map(|lo| lo + (w.hi - lo + 1) / 2);
        let cut = match (estimate, half) {
            (Some(span), Some(half)) => w.hi.saturating_sub(span.max(0)).max(half),
            (Some(span), None) => w.hi.saturating_sub(span.max(0)),
            (None, Some(half)) => half,
            (None, None) => w.hi.saturating_sub(86_400),
        };
        let cut = cut.clamp(w.lo.map_or(i64::MIN / 4, |lo| lo + 1), w.hi);
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
    ) -> Result<Vec<Piece>> {
        let w = piece.window;
        let what = self.source.describe();
        let disagree = || {
            Error::unavailable(format!(
                "{what}: the created_at window {} said {total} results but {} distinct ones came back, even when asked for that one second; the export would not be exact",
                w.describe(),
                piece.count()
            ))
            .hint("try again later; if it persists, report it to Recruitee")
        };
        if w.single_second() {
            return Err(disagree());
        }
        if total > 0 && piece.held.is_empty() && ends.iter().all(Option::is_none) {
            return Err(Error::unavailable(format!(
                "{what}: the created_at window {} said {total} results but none of those served lies in it; the vendor does not apply the created_at filter",
                w.describe()
            ))
            .hint("try again later; if it persists, report it to Recruitee"));
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
            let mut keys: Vec<i64> = piece.held.iter().map(|h| h.record.key).collect();
            keys.sort_unstable();
            let median = keys.get(keys.len() / 2).copied();
            let cut = match (median, w.lo) {
                (Some(m), lo) if lo.is_none_or(|lo| m > lo) => m,
                (_, Some(lo)) => lo + (w.hi - lo + 1) / 2,
                (_, None) => return Err(disagree()),
            };
            cuts.push(cut);
        }
        let mut pieces = partition(piece, &cuts);
        self.pieces = self.pieces.saturating_add(pieces.len() as u64);
        if self.pieces > 1_000 + 4 * self.received {
            return Err(Error::unavailable(format!(
                "{what}: the answers kept disagreeing with their totals after {} narrower windows; the export would not be exact",
                self.pieces
            ))
            .hint("try again later; if it persists, report it to Recruitee"));
        }
        if !meets.is_empty() {
            self.verify_between(&mut pieces, &meets, total).await?;
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
    /// Asks each one-second piece at a meeting second for its first page; marks it verified
    /// when it agrees with its total, and the pieces between verified when what they hold is
    /// what remains of `total`.
    async fn verify_between(
        &mut self,
        pieces: &mut [Piece],
        meets: &BTreeSet<i64>,
        total: u64,
    ) -> Result<()> {
        let at_meets: Vec<usize> = pieces
            .iter()
            .enumerate()
            .filter(|(_, p)| p.window.single_second() && meets.contains(&p.window.hi))
            .map(|(i, _)| i)
            .collect();
        let (source, limit) = (self.source, self.limit);
        let windows: Vec<Window> = at_meets
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
        let mut all_agree = true;
        for (&i, answer) in at_meets.iter().zip(answers) {
            let page = answer?;
            known = known.saturating_add(page.total);
            let Some(piece) = pieces.get_mut(i) else {
                continue;
            };
            self.add(piece, page.records);
            if piece.count() == page.total {
                piece.verified = true;
            } else {
                all_agree = false;
            }
        }
        let between: u64 = pieces
            .iter()
            .enumerate()
            .filter(|(i, _)| !at_meets.contains(i))
            .map(|(_, p)| p.count())
            .sum();
        if all_agree && total.checked_sub(known) == Some(between) {
            for (i, p) in pieces.iter_mut().enumerate() {
                if !at_meets.contains(&i) {
                    p.verified = true;
                }
            }
        }
        Ok(())
    }
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
        if let Some(p) = pieces.iter_mut().find(|p| p.window.contains(h.record.key)) {
            p.ids.insert(h.id);
            p.held.push(h);
        }
    }
    pieces.reverse();
    pieces
}
