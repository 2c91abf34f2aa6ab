//! Recruitee's search endpoints (`audit_log`, `search/new/candidates`): `filters_json`,
//! `page` (from 1) and `limit`, a `total`, and at most 10,000 results per query. hrlogs never
//! asks past the 10,000th result: when `total` says more, it narrows the `created_at` window
//! (whole seconds, `gte`/`lte` inclusive, so a window boundary can neither lose nor double an
//! entry) until each window fits, and walks the windows newest first.

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::Recruitee;
use crate::error::{Error, Result};
use crate::fetch::Request;
use crate::plan::RecordStream;
use crate::progress::Progress;
use crate::record::Record;

/// The most results one search query serves.
pub const MAX_WINDOW: u64 = 10_000;

/// A search over a `created_at` range, newest first.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// `audit_log` or `search/new/candidates`.
    pub path: &'static str,
    /// Where the records are in the answer: `entries` or `hits`.
    pub items: &'static str,
    /// Filters other than `created_at`.
    pub filters: Vec<Value>,
    /// Extra query parameters (e.g. `sort_by`).
    pub params: Vec<(String, String)>,
    /// `created_at` bounds in Unix seconds, inclusive. `until` is fixed when the run starts, so
    /// entries created meanwhile cannot shift the pages.
    pub since: Option<i64>,
    pub until: i64,
    pub limit: u32,
}

impl SearchQuery {
    fn filters_json(&self, lo: Option<i64>, hi: i64) -> String {
        let mut created = json!({"field": "created_at", "lte": hi});
        if let Some(lo) = lo {
            created["gte"] = json!(lo);
        }
        let mut all = vec![created];
        all.extend(self.filters.iter().cloned());
        Value::Array(all).to_string()
    }

    /// The request for one page of the window `lo..=hi`.
    pub fn request(
        &self,
        client: &Recruitee,
        lo: Option<i64>,
        hi: i64,
        page: u64,
    ) -> Result<Request> {
        let mut params = vec![("filters_json".to_string(), self.filters_json(lo, hi))];
        params.extend(self.params.iter().cloned());
        params.push(("page".into(), page.to_string()));
        params.push(("limit".into(), self.limit.to_string()));
        client.request(
            self.path,
            &params,
            &format!("Recruitee {} request", self.path),
        )
    }

    /// How many results a window may hold so that `page × limit` stays within 10,000.
    fn capacity(&self) -> u64 {
        (MAX_WINDOW / u64::from(self.limit)) * u64::from(self.limit)
    }
}

pub struct SearchPage {
    pub records: Vec<Record>,
    pub total: u64,
    /// `created_at` of the last (oldest) record, in seconds.
    pub oldest: Option<i64>,
}

#[derive(Deserialize)]
struct Created {
    created_at: Option<String>,
}

fn created_at(raw: &RawValue) -> Option<i64> {
    let c: Created = serde_json::from_str(raw.get()).ok()?;
    c.created_at?
        .parse::<Timestamp>()
        .ok()
        .map(|t| t.as_second())
}

pub fn parse_page(body: &[u8], items: &str) -> std::result::Result<SearchPage, String> {
    #[derive(Deserialize)]
    struct Total {
        total: Option<u64>,
    }
    let records = super::records_at(body, items)?;
    let total = serde_json::from_slice::<Total>(body)
        .map_err(|e| e.to_string())?
        .total
        .unwrap_or(records.len() as u64);
    let oldest = records.last().and_then(|r| created_at(&r.raw));
    Ok(SearchPage {
        records,
        total,
        oldest,
    })
}

/// Runs the search: windows newest first, each window's pages fetched ahead in order.
pub fn run(client: Arc<Recruitee>, query: SearchQuery, progress: Progress) -> RecordStream {
    RecordStream::spawn(2, move |tx| async move {
        if let Err(e) = walk(&client, &query, &progress, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    })
}

async fn fetch(
    client: &Recruitee,
    q: &SearchQuery,
    lo: Option<i64>,
    hi: i64,
    page: u64,
) -> Result<SearchPage> {
    let req = q.request(client, lo, hi, page)?;
    client.get(&req, |b| parse_page(b, q.items)).await
}

async fn walk(
    client: &Recruitee,
    q: &SearchQuery,
    progress: &Progress,
    tx: &tokio::sync::mpsc::Sender<crate::plan::Batch>,
) -> Result<()> {
    let capacity = q.capacity();
    // Windows still to walk, the newest on top.
    let mut stack: Vec<(Option<i64>, i64)> = vec![(q.since, q.until)];
    while let Some((lo, hi)) = stack.pop() {
        let first = fetch(client, q, lo, hi, 1).await?;
        if first.total > capacity {
            let cut = split_point(lo, hi, &first, q.limit, capacity).ok_or_else(|| {
                Error::api(format!(
                    "Recruitee {} holds {} results created in the single second {hi}; it serves at most {MAX_WINDOW} per query, so they cannot all be fetched",
                    q.path, first.total
                ))
                .hint("narrow the query with more filters")
            })?;
            progress.line_if_verbose(&format!(
                "window {lo:?}..{hi} holds {} results; splitting at {cut}",
                first.total
            ));
            stack.push((lo, cut - 1));
            stack.push((Some(cut), hi));
            continue;
        }
        let pages = first.total.div_ceil(u64::from(q.limit)).max(1);
        // Offset pages over entries that share a timestamp may overlap if the vendor orders
        // ties differently between requests: an entry already written is not written again.
        let mut seen: HashSet<String> = HashSet::new();
        let mut got = 0u64;
        let first_page = futures::stream::once(async { Ok(first.records) });
        let rest = futures::stream::iter(2..=pages)
            .map(|p| fetch(client, q, lo, hi, p))
            .buffered(client.max_in_flight.max(1))
            .map(|page| page.map(|p| p.records));
        let mut pages = std::pin::pin!(first_page.chain(rest));
        while let Some(records) = pages.next().await {
            let mut records = records?;
            records.retain(|r| super::id_of(r).is_none_or(|id| seen.insert(id)));
            got += records.len() as u64;
            if !records.is_empty() && tx.send(Ok(records)).await.is_err() {
                return Ok(());
            }
        }
        if got != first.total {
            progress.warn(&format!(
                "Recruitee {} said {} results for created_at {lo:?}..{hi} but served {got}: records changed while paging",
                q.path, first.total
            ));
        }
    }
    Ok(())
}

/// Where to cut a window that holds too many results: the newer part `cut..=hi` should hold
/// about 80% of a window, estimated from how much time the first page covered, and at most
/// half of it. None when the window is a single second.
fn split_point(
    lo: Option<i64>,
    hi: i64,
    first: &SearchPage,
    limit: u32,
    capacity: u64,
) -> Option<i64> {
    let floor = lo.unwrap_or(i64::MIN / 4);
    if hi <= floor {
        return None;
    }
    let estimate = first.oldest.filter(|o| *o <= hi).map(|oldest| {
        let covered = (hi - oldest).max(1) as f64;
        let per_second = f64::from(limit).min(first.records.len() as f64).max(1.0) / covered;
        ((capacity as f64 * 0.8) / per_second) as i64
    });
    // The newer part is never more than half the window, so every split makes progress.
    let half = lo.map(|lo| lo + (hi - lo + 1) / 2);
    let cut = match (estimate, half) {
        (Some(span), Some(half)) => (hi - span.max(0)).max(half),
        (Some(span), None) => hi - span.max(0),
        (None, Some(half)) => half,
        (None, None) => hi - 86_400,
    };
    Some(cut.clamp(floor + 1, hi))
}
