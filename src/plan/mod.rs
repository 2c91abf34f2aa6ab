//! The plan of page chains and how they are run: a chain walks one query's pages by token,
//! a group of chains is merged newest first, groups follow each other (newest group first).
//! What a chain fetches is the vendor module's business ([`PageSource`]).

mod merge;
mod windows;

use std::collections::HashSet;
use std::future::Future;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::record::Record;

pub use merge::merge_groups;
pub use windows::{batches, date_windows};

/// One page of a chain, and how to get the next.
pub struct Page {
    pub records: Vec<Record>,
    /// How many records the vendor sent, before any filtering here.
    pub received: usize,
    pub next: Next,
}

pub enum Next {
    /// Ask again with this token.
    Token(String),
    /// The last page.
    Done,
    /// The vendor said there is more but sent no token: stop, and say so.
    MoreWithoutToken,
}

/// A query whose pages are walked by token.
pub trait PageSource: Send + Sync + 'static {
    fn fetch(&self, token: Option<String>) -> impl Future<Output = Result<Page>> + Send;
    /// What this chain is, for messages: "department logs 2023-01-01..2024-01-01, batch 2".
    fn describe(&self) -> String;
}

/// How many empty pages in a row a chain may return (with has_more) before it counts as stuck.
const MAX_EMPTY_PAGES: u32 = 100;

/// Batches of records in output order, or the error that ended the run.
pub type Batch = Result<Vec<Record>>;

/// The newest-first stream of records that a command hands to the sink.
pub struct RecordStream {
    rx: mpsc::Receiver<Batch>,
    _task: AbortOnDrop,
}

impl RecordStream {
    /// A stream fed by `task`, which sends into the returned sender.
    pub fn spawn<F, Fut>(capacity: usize, task: F) -> RecordStream
    where
        F: FnOnce(mpsc::Sender<Batch>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let handle = tokio::spawn(task(tx));
        RecordStream {
            rx,
            _task: AbortOnDrop(handle),
        }
    }

    /// The next batch; `None` at the end.
    pub async fn next_batch(&mut self) -> Option<Batch> {
        self.rx.recv().await
    }

    /// True when the next batch is not ready yet: a good moment to flush the output.
    pub fn is_idle(&self) -> bool {
        self.rx.is_empty()
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Walks one chain to its end, sending each page's records; stops with an error if a page
/// token repeats or pages keep coming empty.
pub async fn walk<S: PageSource>(source: S, tx: mpsc::Sender<Batch>, progress: Progress) {
    let mut token: Option<String> = None;
    let mut seen: HashSet<String> = HashSet::new();
    let mut empty_in_a_row = 0u32;
    loop {
        let page = match source.fetch(token.clone()).await {
            Ok(page) => page,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        // Only pages the vendor sent empty count as no progress: a page whose records were
        // all filtered out here (talent logs' --since/--until) is progress.
        if page.received == 0 {
            empty_in_a_row += 1;
        } else {
            empty_in_a_row = 0;
        }
        if !page.records.is_empty() && tx.send(Ok(page.records)).await.is_err() {
            return;
        }
        match page.next {
            Next::Done => break,
            Next::MoreWithoutToken => {
                progress.warn(&format!(
                    "{}: the vendor said there are more pages but sent no page token; stopped there",
                    source.describe()
                ));
                break;
            }
            Next::Token(t) => {
                let stuck = if !seen.insert(t.clone()) {
                    Some(format!("the vendor sent page token {t:?} a second time"))
                } else if empty_in_a_row >= MAX_EMPTY_PAGES {
                    Some(format!(
                        "{MAX_EMPTY_PAGES} empty pages in a row, each saying there are more"
                    ))
                } else {
                    None
                };
                if let Some(why) = stuck {
                    let err = Error::unavailable(format!(
                        "paging made no progress in {}: {why}",
                        source.describe()
                    ))
                    .hint("the vendor's paging is looping; try again later or narrow the query");
                    let _ = tx.send(Err(err)).await;
                    return;
                }
                token = Some(t);
            }
        }
    }
    progress.chain_done();
}
