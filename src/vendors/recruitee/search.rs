//! Recruitee's search endpoints (`audit_log`, `search/new/candidates`) as `plan` sees them:
//! the request for a `created_at` window and a page (`filters_json`, `page` from 1, `limit`),
//! and how an answer is read (`entries` or `hits`, keyed by `created_at` in seconds, and the
//! `total`). Walking the windows and verifying what came back is `plan::search`.

use std::sync::Arc;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::Recruitee;
use crate::error::Result;
use crate::fetch::Request;
use crate::plan::{self, Counts, RecordStream, SearchPage, SearchPlan, SearchSource, Window};
use crate::progress::Progress;
use crate::record::Record;

/// The most results one search query serves.
pub const MAX_WINDOW: u64 = plan::MAX_RESULTS;

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
    fn filters_json(&self, w: Window) -> String {
        let mut created = json!({"field": "created_at", "lte": w.hi});
        if let Some(lo) = w.lo {
            created["gte"] = json!(lo);
        }
        let mut all = vec![created];
        all.extend(self.filters.iter().cloned());
        Value::Array(all).to_string()
    }

    /// The whole range asked for.
    pub fn window(&self) -> Window {
        Window {
            lo: self.since,
            hi: self.until,
        }
    }

    /// The request for one page of `w`.
    pub fn request(&self, client: &Recruitee, w: Window, page: u64, limit: u32) -> Result<Request> {
        let mut params = vec![("filters_json".to_string(), self.filters_json(w))];
        params.extend(self.params.iter().cloned());
        params.push(("page".into(), page.to_string()));
        params.push(("limit".into(), limit.to_string()));
        client.request(
            self.path,
            &params,
            &format!("Recruitee {} request", self.path),
        )
    }

    /// The first request (for `--dry-run`).
    pub fn first_request(&self, client: &Recruitee) -> Result<Request> {
        self.request(client, self.window(), 1, self.limit)
    }
}

#[derive(Deserialize)]
struct Created {
    created_at: Option<String>,
}

/// `created_at` in seconds; `i64::MIN` when missing or unreadable.
fn created_at(raw: &RawValue) -> i64 {
    serde_json::from_str::<Created>(raw.get())
        .ok()
        .and_then(|c| c.created_at)
        .and_then(|t| t.parse::<Timestamp>().ok())
        .map_or(i64::MIN, |t| t.as_second())
}

/// One answer: the records keyed by `created_at`, and `total` (required: without it nothing
/// could be verified).
pub fn parse_page(body: &[u8], items: &str) -> std::result::Result<SearchPage, String> {
    let super::Answer { mut records, total } = super::Answer::read(body, items)?;
    for r in &mut records {
        r.key = created_at(&r.raw);
    }
    let total = total.ok_or("no `total` in the answer")?;
    Ok(SearchPage { records, total })
}

/// One search, as `plan` walks it.
pub struct Search {
    pub client: Arc<Recruitee>,
    pub query: SearchQuery,
}

impl SearchSource for Search {
    async fn fetch(&self, window: Window, page: u64, limit: u32) -> Result<SearchPage> {
        let req = self.query.request(&self.client, window, page, limit)?;
        let items = self.query.items;
        self.client.get(&req, |b| parse_page(b, items)).await
    }

    fn describe(&self) -> String {
        format!("Recruitee {}", self.query.path)
    }

    fn id_of(&self, record: &Record) -> Option<String> {
        super::id_of(record)
    }
}

/// Runs the search, verified, newest first.
pub fn run(client: Arc<Recruitee>, query: SearchQuery, progress: Progress) -> RecordStream {
    run_wanting(client, query, None, None, progress)
}

/// [`run`] when at most `want` records are needed (`--limit`), of those that `counts` passes
/// (the filter that follows; None: all): windows holding more than that are not paged through
/// first, and the search stops once they were written.
pub fn run_wanting(
    client: Arc<Recruitee>,
    query: SearchQuery,
    want: Option<u64>,
    counts: Option<Counts>,
    progress: Progress,
) -> RecordStream {
    let plan = SearchPlan {
        window: query.window(),
        limit: query.limit,
        concurrency: client.max_in_flight,
        want,
        counts,
    };
    plan::search(Search { client, query }, plan, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_read_whole_in_one_pass_and_garbage_is_refused() {
        let body =
            br#"{"entries": [{"_id": "a", "created_at": "2024-05-01T00:00:00Z"}, {"_id": "b"}],
                        "meta": {"x": [1, 2]}, "total": 2}"#;
        let page = parse_page(body, "entries").expect("page");
        assert_eq!(page.total, 2);
        let keys: Vec<i64> = page.records.iter().map(|r| r.key).collect();
        assert_eq!(keys, vec![1_714_521_600, i64::MIN]);
        assert_eq!(page.records[1].raw.get(), r#"{"_id": "b"}"#);
        let empty = parse_page(br#"{"entries": null, "total": 0}"#, "entries").expect("page");
        assert!(empty.records.is_empty());
        for (body, why) in [
            (&br#"{"total": 1}"#[..], "no `entries`"),
            (br#"{"entries": []}"#, "no `total`"),
            (
                br#"{"entries": [], "total": 1, "total": 2}"#,
                "`total` given twice",
            ),
            (
                br#"{"entries": [], "entries": [], "total": 0}"#,
                "`entries` given twice",
            ),
            (br#"{"entries": [], "total": "1"}"#, "invalid type"),
            (br#"{"entries": [], "total": 0} x"#, "trailing characters"),
            (br#"[]"#, "a JSON object"),
        ] {
            match parse_page(body, "entries") {
                Ok(_) => panic!("{} was read", String::from_utf8_lossy(body)),
                Err(e) => assert!(e.contains(why), "{e}"),
            }
        }
    }
}
