//! Stream stages: what is done to the stream of records after the chains, on the client side
//! (filters the vendor's API does not offer: Recruitee's `--event`, talent logs' time range).
//! A filter stage with a limit (`--limit N`) ends the stream once N records passed it, which
//! stops the chains that feed it: nothing more is fetched.

use super::RecordStream;
use crate::record::Record;

/// A client-side filter: which records pass, and what to do when its source ended complete.
pub trait Filter: Send + 'static {
    /// Whether `record` passes.
    fn keep(&mut self, record: &Record) -> bool;
    /// The source ended complete (not failed, not cut short by the limit); `received` records
    /// came in and `passed` of them passed.
    fn ended(self, received: u64, passed: u64)
    where
        Self: Sized,
    {
        let _ = (received, passed);
    }
}

/// A filter that is only a predicate.
struct Keep<F>(F);

impl<F: Fn(&Record) -> bool + Send + 'static> Filter for Keep<F> {
    fn keep(&mut self, record: &Record) -> bool {
        (self.0)(record)
    }
}

/// Keeps the records for which `keep` is true; errors pass through and end the stream.
pub fn filter<F>(inner: RecordStream, keep: F) -> RecordStream
where
    F: Fn(&Record) -> bool + Send + 'static,
{
    filter_with(inner, Keep(keep), None)
}

/// Keeps the records that `filter` passes, at most `limit` of them: once `limit` passed, the
/// stream ends and its source is dropped (so its chains stop fetching). Errors pass through
/// and end the stream.
pub fn filter_with<F: Filter>(
    mut inner: RecordStream,
    mut filter: F,
    limit: Option<u64>,
) -> RecordStream {
    RecordStream::spawn(2, move |tx| async move {
        let (mut received, mut passed) = (0u64, 0u64);
        while let Some(batch) = inner.next_batch().await {
            let mut full = false;
            let batch = batch.map(|mut records| {
                received = received.saturating_add(records.len() as u64);
                records.retain(|r| filter.keep(r));
                if let Some(left) = limit.map(|l| l.saturating_sub(passed)) {
                    if records.len() as u64 >= left {
                        records.truncate(usize::try_from(left).unwrap_or(usize::MAX));
                        full = true;
                    }
                }
                passed = passed.saturating_add(records.len() as u64);
                records
            });
            let failed = batch.is_err();
            if !matches!(&batch, Ok(r) if r.is_empty()) && (tx.send(batch).await.is_err() || failed)
            {
                return;
            }
            if full {
                // Enough passed: dropping `inner` stops what feeds it.
                return;
            }
        }
        filter.ended(received, passed);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn rec(key: i64) -> Record {
        Record::new(
            RawValue::from_string(format!("{{\"k\":{key}}}")).expect("raw"),
            key,
        )
    }

    #[tokio::test]
    async fn filter_keeps_matching_records_and_passes_errors() {
        let inner = RecordStream::spawn(2, |tx| async move {
            let _ = tx.send(Ok((0..10).map(rec).collect())).await;
            let _ = tx
                .send(Err(crate::error::Error::unavailable("vendor down")))
                .await;
        });
        let mut out = filter(inner, |r| r.key % 2 == 0);
        let first = out.next_batch().await.expect("batch").expect("ok");
        assert_eq!(
            first.iter().map(|r| r.key).collect::<Vec<_>>(),
            [0, 2, 4, 6, 8]
        );
        assert!(matches!(out.next_batch().await, Some(Err(_))));
        assert!(out.next_batch().await.is_none());
    }

    /// Counts what it saw at the end.
    struct Even(Arc<AtomicU64>);

    impl Filter for Even {
        fn keep(&mut self, r: &Record) -> bool {
            r.key % 2 == 0
        }
        fn ended(self, received: u64, passed: u64) {
            self.0.store(received * 1000 + passed, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_limited_filter_stops_its_source_once_enough_passed() {
        let batches = Arc::new(AtomicU64::new(0));
        let sent = batches.clone();
        let inner = RecordStream::spawn(1, |tx| async move {
            for b in 0..100 {
                sent.fetch_add(1, Ordering::SeqCst);
                if tx
                    .send(Ok((b * 10..b * 10 + 10).map(rec).collect()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        let end = Arc::new(AtomicU64::new(u64::MAX));
        let mut out = filter_with(inner, Even(end.clone()), Some(7));
        let mut keys = Vec::new();
        while let Some(b) = out.next_batch().await {
            keys.extend(b.expect("ok").iter().map(|r| r.key));
        }
        assert_eq!(keys, [0, 2, 4, 6, 8, 10, 12]);
        assert!(batches.load(Ordering::SeqCst) <= 4, "the source stopped");
        assert_eq!(end.load(Ordering::SeqCst), u64::MAX, "not a complete end");

        let inner = RecordStream::spawn(1, |tx| async move {
            let _ = tx.send(Ok((1..4).map(|k| rec(k * 2 - 1)).collect())).await;
        });
        let mut out = filter_with(inner, Even(end.clone()), Some(7));
        assert!(out.next_batch().await.is_none());
        assert_eq!(end.load(Ordering::SeqCst), 3_000, "3 received, none passed");
    }
}
