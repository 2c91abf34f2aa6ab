//! Stream stages: what is done to the stream of records after the chains, on the client side
//! (filters the vendor's API does not offer: Recruitee's `--event`, talent logs' time range).

use super::RecordStream;
use crate::record::Record;

/// Keeps the records for which `keep` is true; errors pass through and end the stream.
pub fn filter<F>(mut inner: RecordStream, keep: F) -> RecordStream
where
    F: Fn(&Record) -> bool + Send + 'static,
{
    RecordStream::spawn(2, move |tx| async move {
        while let Some(batch) = inner.next_batch().await {
            let batch = batch.map(|mut records| {
                records.retain(&keep);
                records
            });
            if matches!(&batch, Ok(r) if r.is_empty()) {
                continue;
            }
            let failed = batch.is_err();
            if tx.send(batch).await.is_err() || failed {
                return;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

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
}
