//! Running groups of chains and merging them newest first: the chains of a group run at once
//! and are k-way merged by key; the next `lookahead` groups prefetch meanwhile. Each chain
//! holds at most one page ahead, so memory stays bounded however long the chains are.
//!
//! A chain is finished only when its task has *returned `Ok`*: when its channel closes, the
//! task is joined, and an error, a panic or a cancellation ends the run with an error.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;

use super::{AbortOnDrop, Batch, PageSource, RecordStream, task_failed, walk};
use crate::error::Result;
use crate::progress::Progress;
use crate::record::Record;

const OUT_BATCH: usize = 512;

/// One running chain: its pages, and its task (joined when the pages end).
struct Running {
    rx: mpsc::Receiver<Batch>,
    task: Option<AbortOnDrop<Result<()>>>,
    what: String,
}

impl Running {
    fn start<S: PageSource>(source: S, progress: &Progress) -> Running {
        let (tx, rx) = mpsc::channel(1);
        let what = source.describe();
        let progress = progress.clone();
        let task = tokio::spawn(async move { walk(&source, &tx, &progress).await });
        Running {
            rx,
            task: Some(AbortOnDrop(task)),
            what,
        }
    }

    /// The next page; `Ok(None)` when the chain is proven complete (its task returned `Ok`).
    async fn next(&mut self) -> Result<Option<Vec<Record>>> {
        match self.rx.recv().await {
            Some(batch) => batch.map(Some),
            None => self.end().await.map(|()| None),
        }
    }

    /// The next page if one is ready, without waiting; `Err(())` when one must wait.
    async fn try_next(&mut self) -> std::result::Result<Result<Option<Vec<Record>>>, ()> {
        match self.rx.try_recv() {
            Ok(batch) => Ok(batch.map(Some)),
            Err(TryRecvError::Disconnected) => Ok(self.end().await.map(|()| None)),
            Err(TryRecvError::Empty) => Err(()),
        }
    }

    async fn end(&mut self) -> Result<()> {
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match task.join().await {
            Ok(result) => result,
            Err(e) => Err(task_failed(&self.what, &e)),
        }
    }
}

/// Runs `groups` (newest first), merging each group's chains by key, newest first.
pub fn merge_groups<S: PageSource>(
    groups: Vec<Vec<S>>,
    lookahead: usize,
    progress: Progress,
) -> RecordStream {
    progress.add_chains(groups.iter().map(|g| g.len() as u64).sum());
    RecordStream::spawn(4, move |out| async move {
        let mut pending = groups.into_iter();
        let mut started: VecDeque<Vec<Running>> = VecDeque::new();
        let start = |group: Vec<S>| -> Vec<Running> {
            group
                .into_iter()
                .map(|source| Running::start(source, &progress))
                .collect()
        };
        for group in pending.by_ref().take(lookahead + 1) {
            started.push_back(start(group));
        }
        while let Some(chains) = started.pop_front() {
            if let Some(group) = pending.next() {
                started.push_back(start(group));
            }
            if let Err(e) = merge_one(chains, &out).await {
                if let Some(e) = e {
                    let _ = out.send(Err(e)).await;
                }
                return;
            }
        }
    })
}

/// Merges one group into `out`. `Err(Some(e))` when a chain failed, `Err(None)` when nobody
/// listens any more.
async fn merge_one(
    mut chains: Vec<Running>,
    out: &mpsc::Sender<Batch>,
) -> std::result::Result<(), Option<crate::error::Error>> {
    if chains.len() == 1 {
        let mut chain = chains.remove(0);
        while let Some(records) = chain.next().await.map_err(Some)? {
            out.send(Ok(records)).await.map_err(|_| None)?;
        }
        return Ok(());
    }
    let mut buffers: Vec<VecDeque<Record>> = chains.iter().map(|_| VecDeque::new()).collect();
    let mut heap: BinaryHeap<(i64, Reverse<usize>)> = BinaryHeap::new();
    let mut batch: Vec<Record> = Vec::with_capacity(OUT_BATCH);
    for i in 0..chains.len() {
        refill(i, &mut chains, &mut buffers, &mut heap, &mut batch, out).await?;
    }
    while let Some((_, Reverse(i))) = heap.pop() {
        let Some(buffer) = buffers.get_mut(i) else {
            continue;
        };
        if let Some(record) = buffer.pop_front() {
            batch.push(record);
        }
        if batch.len() >= OUT_BATCH {
            out.send(Ok(std::mem::take(&mut batch)))
                .await
                .map_err(|_| None)?;
        }
        if let Some(next) = buffer.front() {
            heap.push((next.key, Reverse(i)));
        } else {
            refill(i, &mut chains, &mut buffers, &mut heap, &mut batch, out).await?;
        }
    }
    if !batch.is_empty() {
        out.send(Ok(batch)).await.map_err(|_| None)?;
    }
    Ok(())
}

/// Takes chain `i`'s next page into its buffer and its head into the heap. Sends what is
/// already merged before waiting, so output keeps flowing.
async fn refill(
    i: usize,
    chains: &mut [Running],
    buffers: &mut [VecDeque<Record>],
    heap: &mut BinaryHeap<(i64, Reverse<usize>)>,
    batch: &mut Vec<Record>,
    out: &mpsc::Sender<Batch>,
) -> std::result::Result<(), Option<crate::error::Error>> {
    let (Some(chain), Some(buffer)) = (chains.get_mut(i), buffers.get_mut(i)) else {
        return Ok(());
    };
    let next = match chain.try_next().await {
        Ok(next) => next,
        Err(()) => {
            if !batch.is_empty() {
                out.send(Ok(std::mem::take(batch)))
                    .await
                    .map_err(|_| None)?;
            }
            chain.next().await
        }
    };
    match next {
        Ok(None) => Ok(()),
        Err(e) => {
            if !batch.is_empty() {
                let _ = out.send(Ok(std::mem::take(batch))).await;
            }
            Err(Some(e))
        }
        Ok(Some(records)) => {
            *buffer = records.into();
            if let Some(head) = buffer.front() {
                heap.push((head.key, Reverse(i)));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, Kind};
    use crate::plan::{Next, Page};
    use serde_json::value::RawValue;
    use std::sync::Mutex;

    fn rec(key: i64, text: &str) -> Record {
        Record::new(
            RawValue::from_string(format!("{{\"k\":{key},\"t\":{text:?}}}")).expect("raw"),
            key,
        )
    }

    /// One scripted page: its (key, text) records and next token.
    type ScriptPage = (Vec<(i64, &'static str)>, Next);

    /// A chain that answers from a script.
    struct Scripted {
        pages: Mutex<VecDeque<ScriptPage>>,
        panic_at_end: bool,
    }

    impl Scripted {
        fn new(pages: Vec<ScriptPage>) -> Scripted {
            Scripted {
                pages: Mutex::new(pages.into()),
                panic_at_end: false,
            }
        }
    }

    impl PageSource for Scripted {
        async fn fetch(&self, _token: Option<String>) -> Result<Page> {
            let next = self.pages.lock().expect("lock").pop_front();
            match next {
                Some((records, next)) => Ok(Page {
                    records: records.into_iter().map(|(k, t)| rec(k, t)).collect(),
                    next,
                    count: None,
                }),
                None if self.panic_at_end => panic!("scripted panic"),
                None => Err(Error::unavailable("script over")),
            }
        }
        fn describe(&self) -> String {
            "scripted chain".into()
        }
    }

    async fn drain(mut s: RecordStream) -> (Vec<i64>, Option<Error>) {
        let mut keys = Vec::new();
        while let Some(batch) = s.next_batch().await {
            match batch {
                Ok(b) => keys.extend(b.iter().map(|r| r.key)),
                Err(e) => return (keys, Some(e)),
            }
        }
        (keys, None)
    }

    fn quiet() -> Progress {
        Progress::new(false, true, 0)
    }

    fn tok(t: &str) -> Next {
        Next::Token(t.into())
    }

    #[tokio::test]
    async fn chains_merge_newest_first() {
        let a = Scripted::new(vec![
            (vec![(9, "a"), (5, "b")], tok("x")),
            (vec![(1, "c")], Next::Done),
        ]);
        let b = Scripted::new(vec![(vec![(8, "d"), (2, "e")], Next::Done)]);
        let (keys, err) = drain(merge_groups(vec![vec![a, b]], 0, quiet())).await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(keys, [9, 8, 5, 2, 1]);
    }

    #[tokio::test]
    async fn a_chain_that_panics_fails_the_run_instead_of_ending_it() {
        for group in [1, 2] {
            let mut chains = vec![Scripted {
                pages: Mutex::new(vec![(vec![(9, "a")], tok("x"))].into()),
                panic_at_end: true,
            }];
            if group == 2 {
                chains.push(Scripted::new(vec![(vec![(3, "z")], Next::Done)]));
            }
            let (_, err) = drain(merge_groups(vec![chains], 0, quiet())).await;
            let err = err.expect("a panicked chain must be an error");
            assert_eq!(err.kind, Kind::Other);
            assert!(
                err.message.contains("panicked") && err.message.contains("scripted chain"),
                "{err}"
            );
        }
    }

    #[tokio::test]
    async fn repeated_records_under_fresh_tokens_are_a_loop() {
        const TEXTS: [&str; 20] = [
            "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q",
            "r", "s", "t",
        ];
        let page = || -> Vec<(i64, &'static str)> {
            TEXTS
                .iter()
                .enumerate()
                .map(|(i, t)| (100 - i as i64, *t))
                .collect()
        };
        let pages: Vec<ScriptPage> = (0..10)
            .map(|i| (page(), tok(&format!("fresh-{i}"))))
            .collect();
        let chain = Scripted::new(pages);
        let (_, err) = drain(merge_groups(vec![vec![chain]], 0, quiet())).await;
        let err = err.expect("loop");
        assert_eq!(err.kind, Kind::Unavailable);
        assert!(
            err.message.contains("paging made no progress")
                && err
                    .message
                    .contains("3 pages in a row (60 records) brought only records already seen"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_few_identical_records_on_tiny_pages_are_not_a_loop() {
        // Genuinely identical records (same second, same change) on pages of one record.
        let pages: Vec<ScriptPage> = (0..5)
            .map(|i| (vec![(9, "same")], tok(&format!("t{i}"))))
            .chain(std::iter::once((vec![(8, "other")], Next::Done)))
            .collect();
        let (keys, err) = drain(merge_groups(vec![vec![Scripted::new(pages)]], 0, quiet())).await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(keys, [9, 9, 9, 9, 9, 8]);
    }

    #[tokio::test]
    async fn identical_records_on_different_pages_are_kept() {
        // Two genuinely identical records are two events: only a page of nothing new is a loop.
        let chain = Scripted::new(vec![
            (vec![(9, "a"), (8, "b")], tok("t1")),
            (vec![(8, "b"), (7, "c")], Next::Done),
        ]);
        let (keys, err) = drain(merge_groups(vec![vec![chain]], 0, quiet())).await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(keys, [9, 8, 8, 7]);
    }

    #[tokio::test]
    async fn more_without_token_is_an_incomplete_answer() {
        let chain = Scripted::new(vec![(vec![(9, "a")], Next::MoreWithoutToken)]);
        let (keys, err) = drain(merge_groups(vec![vec![chain]], 0, quiet())).await;
        let err = err.expect("incomplete");
        assert_eq!(err.kind, Kind::Unavailable);
        assert!(
            err.message.contains("more pages but sent no page token"),
            "{err}"
        );
        assert_eq!(keys, [9]);
    }

    #[tokio::test]
    async fn a_repeated_token_and_endless_empty_pages_are_loops() {
        let chain = Scripted::new(vec![
            (vec![(9, "a")], tok("t1")),
            (vec![(8, "b")], tok("t1")),
        ]);
        let (_, err) = drain(merge_groups(vec![vec![chain]], 0, quiet())).await;
        assert!(err.expect("loop").message.contains("a second time"));
        let pages = (0..=crate::plan::chain::MAX_EMPTY_PAGES)
            .map(|i| (vec![], Next::Token(format!("e{i}"))))
            .collect();
        let (_, err) = drain(merge_groups(vec![vec![Scripted::new(pages)]], 0, quiet())).await;
        assert!(err.expect("loop").message.contains("empty pages in a row"));
    }

    #[tokio::test]
    async fn a_failing_chain_fails_the_merge() {
        let a = Scripted::new(vec![(vec![(9, "a")], tok("x"))]);
        let b = Scripted::new(vec![(vec![(8, "b")], Next::Done)]);
        let (_, err) = drain(merge_groups(vec![vec![a, b]], 0, quiet())).await;
        assert!(err.expect("error").message.contains("script over"));
    }
}
