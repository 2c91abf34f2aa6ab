//! The plan of page chains and how they are run: the one paging machinery of hrlogs.
//!
//! A vendor module only *describes* a chain: the request for a cursor, how an answer becomes a
//! [`Page`], how its records are identified ([`PageSource`], [`ListSource`], [`SearchSource`]).
//! This room owns every loop and every guard, the same for each vendor:
//! - [`walk`]: a chain followed by page token (Feishu) or by offset/page number (Recruitee's
//!   lists, through [`ListChain`]): a repeated token, a page bringing only records already seen,
//!   `has_more` without a token and endless empty pages end the run with exit 5; a list ends
//!   on proof (an empty page, nothing new, a count that reconciles), never on a short page;
//! - [`search`]: Recruitee's searches, verified against `total` window by window;
//! - [`counted`]: time windows proven by a count of matches, fetched at once where that
//!   proves them and page by page behind an expiring cursor where not (Greenhouse);
//! - [`merge_groups`]: chains run at once and merged newest first;
//! - [`filter`], [`filter_with`]: client-side filters as a stage of the stream (with
//!   `--limit`, the stage ends the stream once enough passed, which stops the fetching).
//!
//! A chain is complete only when its task *returned success* after the vendor's last page: each
//! task is joined, and a task that panicked or was cancelled fails the run ([`task_failed`]).

mod chain;
mod hits;
mod list;
mod merge;
mod search;
mod stages;
mod windows;

use std::future::Future;

use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle};

use crate::error::{Error, Result};
use crate::record::Record;

pub use chain::{Identity, NothingNew, walk};
pub use hits::{Answer, HitsSource, Paged, Span, counted};
pub use list::{ListChain, ListCursor, ListPage, ListSource, Paging};
pub use merge::merge_groups;
pub use search::{Counts, MAX_RESULTS, SearchPage, SearchPlan, SearchSource, Window, search};
pub use stages::{Filter, filter, filter_with};
pub use windows::{batches, date_windows};

/// One page of a chain, and how to get the next.
pub struct Page {
    pub records: Vec<Record>,
    pub next: Next,
    /// How many records the whole chain holds, when the vendor says so (lists): the chain
    /// ends once its distinct records reconcile with it, and fails if it ends short of it.
    pub count: Option<u64>,
}

pub enum Next {
    /// Ask again with this token.
    Token(String),
    /// The last page.
    Done,
    /// The vendor said there is more but sent no token: an incomplete answer (exit 5).
    MoreWithoutToken,
}

/// A query whose pages are walked by token. The vendor module says how to fetch one page and,
/// if its records carry ids, how to read them ([`PageSource::identity`]); [`walk`] does the rest.
pub trait PageSource: Send + Sync + 'static {
    fn fetch(&self, token: Option<String>) -> impl Future<Output = Result<Page>> + Send;
    /// What this chain is, for messages: "department logs 2023-01-01..2024-01-01, batch 2".
    fn describe(&self) -> String;
    /// How records are told apart, and what a page of nothing new means. Default: records
    /// have no id (Feishu); a page of only records already seen is a loop.
    fn identity(&self) -> Identity {
        Identity::Content
    }
    /// The identity of one record (see [`Identity`]); by default a hash of its JSON text.
    fn identify(&self, record: &Record) -> u64 {
        hash_text(record.raw.get())
    }
}

/// A 64-bit hash of a text (an id, or a record's JSON), the same for the whole run.
pub fn hash_text(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// Batches of records in output order, or the error that ended the run.
pub type Batch = Result<Vec<Record>>;

/// The newest-first stream of records that a command hands to the sink. Its end is proven:
/// when the feeding task stops, its join result is checked, so a task that panicked or was
/// cancelled ends the stream with an error, never as if it were complete.
pub struct RecordStream {
    rx: mpsc::Receiver<Batch>,
    task: Option<AbortOnDrop<()>>,
    what: &'static str,
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
            task: Some(AbortOnDrop(handle)),
            what: "the record stream",
        }
    }

    /// The next batch; `None` at the end, once the feeding task is known to have returned.
    pub async fn next_batch(&mut self) -> Option<Batch> {
        if let Some(batch) = self.rx.recv().await {
            return Some(batch);
        }
        let task = self.task.take()?;
        match task.join().await {
            Ok(()) => None,
            Err(e) => Some(Err(task_failed(self.what, &e))),
        }
    }

    /// True when the next batch is not ready yet: a good moment to flush the output.
    pub fn is_idle(&self) -> bool {
        self.rx.is_empty()
    }
}

/// A task that is aborted when its owner goes away.
pub(crate) struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    /// Waits for the task to return.
    pub(crate) async fn join(mut self) -> std::result::Result<T, JoinError> {
        (&mut self.0).await
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The error of a task that did not return: it panicked, or was cancelled. The run fails
/// (exit 1), whatever was already written, because the export would be incomplete.
pub fn task_failed(what: &str, e: &JoinError) -> Error {
    if e.is_panic() {
        Error::other(format!(
            "internal error: the task fetching {what} panicked; the export is incomplete"
        ))
        .hint("nothing was written as complete; please report this bug with the command you ran")
    } else {
        Error::other(format!(
            "internal error: the task fetching {what} was cancelled before it finished; the export is incomplete"
        ))
        .hint("please report this bug with the command you ran")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stream_whose_task_panicked_ends_with_an_error_not_as_complete() {
        let mut stream = RecordStream::spawn(1, |tx| async move {
            let raw = serde_json::value::RawValue::from_string("{}".into()).expect("raw");
            let _ = tx.send(Ok(vec![Record::new(raw, 1)])).await;
            panic!("boom");
        });
        assert!(matches!(stream.next_batch().await, Some(Ok(r)) if r.len() == 1));
        match stream.next_batch().await {
            Some(Err(e)) => {
                assert_eq!(e.kind.exit_code(), 1);
                assert!(e.message.contains("panicked"), "{e}");
            }
            _ => panic!("a panicked task must end the stream with an error"),
        }
        assert!(stream.next_batch().await.is_none());
    }

    #[tokio::test]
    async fn a_stream_whose_task_returned_ends_cleanly() {
        let mut stream = RecordStream::spawn(1, |_tx| async move {});
        assert!(stream.next_batch().await.is_none());
    }
}
