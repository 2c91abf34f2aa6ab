//! Running groups of chains and merging them newest first: the chains of a group run at once
//! and are k-way merged by key; the next `lookahead` groups prefetch meanwhile. Each chain
//! holds at most one page ahead, so memory stays bounded however long the chains are.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::task::JoinSet;

use super::{Batch, PageSource, RecordStream, walk};
use crate::progress::Progress;
use crate::record::Record;

const OUT_BATCH: usize = 512;

/// Runs `groups` (newest first), merging each group's chains by key, newest first.
pub fn merge_groups<S: PageSource>(
    groups: Vec<Vec<S>>,
    lookahead: usize,
    progress: Progress,
) -> RecordStream {
    progress.add_chains(groups.iter().map(|g| g.len() as u64).sum());
    RecordStream::spawn(4, move |out| async move {
        let mut tasks = JoinSet::new();
        let mut pending = groups.into_iter();
        let mut started: VecDeque<Vec<mpsc::Receiver<Batch>>> = VecDeque::new();
        let start = |group: Vec<S>, tasks: &mut JoinSet<()>| -> Vec<mpsc::Receiver<Batch>> {
            group
                .into_iter()
                .map(|source| {
                    let (tx, rx) = mpsc::channel(1);
                    tasks.spawn(walk(source, tx, progress.clone()));
                    rx
                })
                .collect()
        };
        for group in pending.by_ref().take(lookahead + 1) {
            started.push_back(start(group, &mut tasks));
        }
        while let Some(chains) = started.pop_front() {
            if let Some(group) = pending.next() {
                started.push_back(start(group, &mut tasks));
            }
            if merge_one(chains, &out).await.is_err() {
                return;
            }
        }
    })
}

/// Merges one group into `out`. Err when the run is over (an error was sent, or nobody listens).
async fn merge_one(
    mut chains: Vec<mpsc::Receiver<Batch>>,
    out: &mpsc::Sender<Batch>,
) -> Result<(), ()> {
    if chains.len() == 1 {
        let mut rx = chains.remove(0);
        while let Some(batch) = rx.recv().await {
            let failed = batch.is_err();
            out.send(batch).await.map_err(|_| ())?;
            if failed {
                return Err(());
            }
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
        if let Some(record) = buffers[i].pop_front() {
            batch.push(record);
        }
        if batch.len() >= OUT_BATCH {
            out.send(Ok(std::mem::take(&mut batch)))
                .await
                .map_err(|_| ())?;
        }
        if let Some(next) = buffers[i].front() {
            heap.push((next.key, Reverse(i)));
        } else {
            refill(i, &mut chains, &mut buffers, &mut heap, &mut batch, out).await?;
        }
    }
    if !batch.is_empty() {
        out.send(Ok(batch)).await.map_err(|_| ())?;
    }
    Ok(())
}

/// Takes chain `i`'s next page into its buffer and its head into the heap. Sends what is
/// already merged before waiting, so output keeps flowing.
async fn refill(
    i: usize,
    chains: &mut [mpsc::Receiver<Batch>],
    buffers: &mut [VecDeque<Record>],
    heap: &mut BinaryHeap<(i64, Reverse<usize>)>,
    batch: &mut Vec<Record>,
    out: &mpsc::Sender<Batch>,
) -> Result<(), ()> {
    let next = match chains[i].try_recv() {
        Ok(b) => Some(b),
        Err(TryRecvError::Disconnected) => None,
        Err(TryRecvError::Empty) => {
            if !batch.is_empty() {
                out.send(Ok(std::mem::take(batch))).await.map_err(|_| ())?;
            }
            chains[i].recv().await
        }
    };
    match next {
        None => Ok(()),
        Some(Err(e)) => {
            if !batch.is_empty() {
                let _ = out.send(Ok(std::mem::take(batch))).await;
            }
            let _ = out.send(Err(e)).await;
            Err(())
        }
        Some(Ok(records)) => {
            buffers[i] = records.into();
            if let Some(head) = buffers[i].front() {
                heap.push((head.key, Reverse(i)));
            }
            Ok(())
        }
    }
}
