//! Recruitee's search endpoints (`audit_log`, `search/new/candidates`) as `plan` sees them:
//! the request for a `created_at` window and a page (`filters_json`, `page` from 1, `limit`),
//! and how an answer is read (`entries` or `hits`, keyed by `created_at` in seconds, and the
//! `total`). Walking the windows and verifying what came back is `plan::search`.
//!
//! `created_at` is read by [`super::created_at_ms`]: a time without an offset is taken as UTC,
//! said once per run; one that cannot be read fails the run (exit 5) naming the record, since
//! a record that cannot be placed in a window cannot be proven to be there exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::Recruitee;
use crate::error::{Error, Result};
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

/// What reading a page's `created_at`s found besides the keys.
struct Times {
    /// The first record whose `created_at` has no offset (its `created_at` text).
    offsetless: Option<String>,
    /// The first record without a readable `created_at`, and why.
    unreadable: Option<Error>,
}

/// One answer: the records keyed by `created_at` in seconds (`i64::MIN` when missing or
/// unreadable), and `total` (required: without it nothing could be verified).
pub fn parse_page(body: &[u8], items: &str) -> std::result::Result<SearchPage, String> {
    read_page(body, items).map(|(page, _)| page)
}

/// [`parse_page`], and what the times were like.
fn read_page(body: &[u8], items: &str) -> std::result::Result<(SearchPage, Times), String> {
    let super::Answer { mut records, total } = super::Answer::read(body, items)?;
    let mut times = Times {
        offsetless: None,
        unreadable: None,
    };
    for r in &mut records {
        r.key = match super::created_at_ms(r.raw.get()) {
            Ok(Some(created)) => {
                if !created.offset_given && times.offsetless.is_none() {
                    times.offsetless = Some(created_text(&r.raw));
                }
                created.ms
            }
            Ok(None) => {
                times.unreadable.get_or_insert_with(|| {
                    let id = super::id_of(r).unwrap_or_else(|| "without an id".into());
                    Error::unavailable(format!("Recruitee record {id:?} has no created_at"))
                        .hint("hrlogs cannot place it in time, so it cannot prove the export complete; report the record to Recruitee")
                });
                i64::MIN
            }
            Err(e) => {
                times.unreadable.get_or_insert(e);
                i64::MIN
            }
        };
    }
    let total = total.ok_or("no `total` in the answer")?;
    Ok((SearchPage { records, total }, times))
}

/// The record's `created_at` as sent, for a message.
fn created_text(raw: &RawValue) -> String {
    #[derive(Deserialize)]
    struct Created {
        created_at: Option<String>,
    }
    serde_json::from_str::<Created>(raw.get())
        .ok()
        .and_then(|c| c.created_at)
        .unwrap_or_default()
}

/// Said once per run, however many searches a run has.
static SAID_OFFSETLESS: AtomicBool = AtomicBool::new(false);

/// One search, as `plan` walks it.
pub struct Search {
    pub client: Arc<Recruitee>,
    pub query: SearchQuery,
    /// Where the warning about times without an offset goes.
    pub progress: Progress,
}

impl SearchSource for Search {
    async fn fetch(&self, window: Window, page: u64, limit: u32) -> Result<SearchPage> {
        let req = self.query.request(&self.client, window, page, limit)?;
        let items = self.query.items;
        let (page, times) = self.client.get(&req, |b| read_page(b, items)).await?;
        if let Some(e) = times.unreadable {
            return Err(Error {
                message: format!("{} (in {})", e.message, self.query.path),
                ..e
            });
        }
        if let Some(text) = times.offsetless {
            if !SAID_OFFSETLESS.swap(true, Ordering::Relaxed) {
                self.progress.warn(&format!(
                    "{} sends created_at without an offset (e.g. {:?}); read as UTC",
                    self.describe(),
                    text
                ));
            }
        }
        Ok(page)
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
    let search = Search {
        client,
        query,
        progress: progress.clone(),
    };
    plan::search(search, plan, progress)
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
        assert_eq!(keys, vec![1_714_521_600_000, i64::MIN], "ms, as every key");
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
