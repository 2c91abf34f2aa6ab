//! Walking one chain of pages to its end, with the guards every chain gets: a token sent a
//! second time, a page that brings only records already seen in this chain (the vendor
//! repeating pages under fresh tokens), `has_more` without a token, and endless empty pages.
//! A chain whose pages carry a count ([`Page::count`]) ends as soon as its distinct records
//! reconcile with it, and fails when it ends short of it.
//!
//! [`Page::count`]: super::Page::count

use std::collections::HashSet;

use tokio::sync::mpsc;

use super::{Batch, Next, PageSource};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// How many empty pages in a row a chain may return (with has_more) before it counts as stuck.
pub const MAX_EMPTY_PAGES: u32 = 100;

/// Records without ids (Feishu) may be genuinely identical, so with tiny pages a page of only
/// records seen before can be true. A chain is a loop when pages of nothing new follow each
/// other for at least this many pages and this many records.
const REPEAT_PAGES: u32 = 3;
const REPEAT_RECORDS: usize = 10;

/// How a chain's records are told apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// No id (Feishu): records identical in content are all kept (two identical events are two
    /// events), but a page whose records were all seen before in this chain is a loop.
    Content,
    /// An id ([`PageSource::identify`] hashes it): a record seen before in this chain is
    /// written once; a page of only records already seen means what `NothingNew` says.
    Id(NothingNew),
}

/// What a page that brings only records already seen means, for chains with ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NothingNew {
    /// The list is over (the vendor does not page this endpoint: it answered all again).
    End,
    /// The vendor ignores the cursor: ask once more with this token, whose answer is the whole
    /// list (one unpaged request); the chain ends after it.
    Restart(String),
}

fn stuck(source: &impl PageSource, why: &str) -> Error {
    Error::unavailable(format!(
        "paging made no progress in {}: {why}",
        source.describe()
    ))
    .hint("the vendor's paging is looping; try again later or narrow the query")
}

/// Walks one chain to its end, sending each page's records. `Ok` only after the vendor's last
/// page; a guard that trips or a failed request is an `Err` (and nothing more is sent). When
/// nobody listens any more (the run stopped early, e.g. `--limit`) it returns `Ok` at once.
pub async fn walk<S: PageSource>(
    source: &S,
    tx: &mpsc::Sender<Batch>,
    progress: &Progress,
) -> Result<()> {
    let identity = source.identity();
    let mut token: Option<String> = None;
    let mut tokens: HashSet<String> = HashSet::new();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut empty_in_a_row = 0u32;
    let (mut repeats, mut repeated) = (0u32, 0usize);
    let mut restarted = false;
    // The last count the vendor gave for the whole chain.
    let mut count: Option<u64> = None;
    loop {
        let page = source.fetch(token.clone()).await?;
        let received = page.records.len();
        if let (None, Some(c)) = (count, page.count) {
            progress.expect_records(c, false);
        }
        count = page.count.or(count);
        let mut fresh = 0usize;
        let mut records = Vec::with_capacity(received);
        for r in page.records {
            let new = seen.insert(source.identify(&r));
            if new {
                fresh += 1;
            }
            if new || identity == Identity::Content {
                records.push(r);
            }
        }
        if fresh > 0 || received == 0 {
            (repeats, repeated) = (0, 0);
        }
        if received > 0 && fresh == 0 {
            match &identity {
                Identity::Content => {
                    repeats += 1;
                    repeated = repeated.saturating_add(received);
                    if repeats >= REPEAT_PAGES && repeated >= REPEAT_RECORDS {
                        return Err(stuck(
                            source,
                            &format!(
                                "{repeats} pages in a row ({repeated} records) brought only records already seen in this chain (the vendor repeats pages under fresh page tokens)"
                            ),
                        ));
                    }
                }
                Identity::Id(NothingNew::End) => break,
                // The fallback answer is the whole list: nothing new there means all is in.
                Identity::Id(NothingNew::Restart(_)) if restarted => break,
                Identity::Id(NothingNew::Restart(t)) => {
                    restarted = true;
                    token = Some(t.clone());
                    continue;
                }
            }
        }
        empty_in_a_row = if received == 0 { empty_in_a_row + 1 } else { 0 };
        if !records.is_empty() && tx.send(Ok(records)).await.is_err() {
            return Ok(());
        }
        if identity != Identity::Content && count == Some(seen.len() as u64) {
            // The distinct records reconcile with the vendor's count: that is the end.
            break;
        }
        match page.next {
            Next::Done => break,
            Next::MoreWithoutToken => {
                return Err(Error::unavailable(format!(
                    "{}: the vendor said there are more pages but sent no page token, so the answer is incomplete",
                    source.describe()
                ))
                .hint("try again later; if it persists, report it to the vendor"));
            }
            Next::Token(t) => {
                if !tokens.insert(t.clone()) {
                    return Err(stuck(
                        source,
                        &format!("the vendor sent page token {t:?} a second time"),
                    ));
                }
                if empty_in_a_row >= MAX_EMPTY_PAGES {
                    return Err(stuck(
                        source,
                        &format!(
                            "{MAX_EMPTY_PAGES} empty pages in a row, each saying there are more"
                        ),
                    ));
                }
                token = Some(t);
            }
        }
    }
    if let Some(count) = count.filter(|c| (seen.len() as u64) < *c) {
        return Err(Error::unavailable(format!(
            "{}: the vendor said the list holds {count} records, but only {} distinct ones came back before it ended; the export would not be complete",
            source.describe(),
            seen.len()
        ))
        .hint("try again later; if it persists, report it to the vendor"));
    }
    progress.chain_done();
    Ok(())
}
