//! `GET {base_url}/events`: its query parameters, the two ways of asking (at once; by pages
//! behind a point in time, with the `Size`, `Pit-Id` and `Search-After` headers), and how an
//! answer is read. Described for `plan::counted`, which proves windows complete.

use std::sync::Arc;

use jiff::Timestamp;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::{Greenhouse, PIT_EXPIRED};
use crate::error::{Error, Result};
use crate::fetch::Request;
use crate::plan::{Answer, HitsSource, Paged, Span};
use crate::record::Record;

/// Results a page asks for (the `Size` header: 100 to 500).
pub const PAGE_SIZE: u32 = 500;

/// The performer types Greenhouse documents.
pub const PERFORMER_TYPES: &[&str] = &["user", "api_key", "greenhouse_internal"];
/// The event types Greenhouse documents.
pub const EVENT_TYPES: &[&str] = &[
    "data_change_update",
    "data_change_create",
    "data_change_destroy",
    "harvest_access",
    "action",
];

/// The filters Greenhouse applies (each a list, comma-separated on the wire) and the span.
#[derive(Debug, Clone, Default)]
pub struct EventsQuery {
    pub performer_ids: Vec<String>,
    pub performer_types: Vec<String>,
    pub event_types: Vec<String>,
    pub target_ids: Vec<String>,
    pub target_types: Vec<String>,
    pub request_ids: Vec<String>,
    pub request_types: Vec<String>,
    /// `event_time` from here (Unix ms) …
    pub since_ms: i64,
    /// … to here, excluded.
    pub until_ms: i64,
}

impl EventsQuery {
    /// The filters as query pairs (without the times).
    fn filters(&self) -> Vec<(&'static str, String)> {
        [
            ("performer_ids", &self.performer_ids),
            ("performer_types", &self.performer_types),
            ("event_types", &self.event_types),
            ("event_target_ids", &self.target_ids),
            ("event_target_types", &self.target_types),
            ("request_ids", &self.request_ids),
            ("request_types", &self.request_types),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.join(",")))
        .collect()
    }

    pub fn span(&self) -> Span {
        Span {
            lo: self.since_ms,
            hi: self.until_ms,
        }
    }
}

/// Unix ms as Greenhouse writes times: `2024-02-03T16:38:46.985Z`.
pub fn iso_ms(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// The events endpoint for one query.
#[derive(Clone)]
pub struct Events {
    pub client: Arc<Greenhouse>,
    pub query: Arc<EventsQuery>,
}

/// Where a page walk stands: the point in time and the `search_after` of the last page.
#[derive(serde::Serialize, Deserialize)]
struct Cursor {
    pit: String,
    after: String,
}

impl Events {
    /// The request for `after..before` (ms, sent as `after_time`/`before_time`): at once, or
    /// paged (`cursor` None: the first page).
    pub fn request(&self, after: i64, before: i64, paged: Option<Option<&str>>) -> Result<Request> {
        let mut url = self.client.events_url.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("after_time", &iso_ms(after));
            q.append_pair("before_time", &iso_ms(before));
            for (k, v) in self.query.filters() {
                q.append_pair(k, &v);
            }
            if paged.is_some() {
                q.append_pair("paging", "true");
            }
        }
        let mut headers = Vec::new();
        let mut what = "Greenhouse audit log".to_string();
        if let Some(cursor) = paged {
            what.push_str(" page");
            headers.push(("Size".to_string(), PAGE_SIZE.to_string()));
            if let Some(c) = cursor {
                let c: Cursor = serde_json::from_str(c)
                    .map_err(|e| Error::other(format!("internal error: a page cursor: {e}")))?;
                headers.push(("Pit-Id".to_string(), c.pit));
                headers.push(("Search-After".to_string(), c.after));
            }
        }
        Ok(Request {
            method: Method::GET,
            url,
            body: None,
            what,
            secret_body: false,
            headers,
        })
    }

    /// The first request a run sends (what `--dry-run` shows).
    pub fn first_request(&self) -> Result<Request> {
        let (after, before) = self.query.span().asked();
        self.request(after, before, None)
    }
}

impl Events {
    /// Fails when a result belongs to another organization than `greenhouse.organization_id`
    /// (the archive would file it under the wrong tenant).
    fn same_organization(&self, records: &[Record]) -> Result<()> {
        let Some(want) = self.client.organization.as_deref() else {
            return Ok(());
        };
        for r in records {
            let got = organization_of(r.raw.get());
            if got.as_deref() != Some(want) {
                return Err(Error::config(format!(
                    "Greenhouse answered with a result of organization {}, but greenhouse.organization_id is {want}",
                    got.as_deref().unwrap_or("(none)")
                ))
                .hint("set greenhouse.organization_id to the organization of this API key (the organization_id of its results), or use that organization's key"));
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct Organization {
    organization_id: Option<Value>,
}

/// A result's `organization_id` as text (a number or a string).
fn organization_of(raw: &str) -> Option<String> {
    let o: Organization = serde_json::from_str(raw).ok()?;
    header_text(o.organization_id)
}

impl HitsSource for Events {
    async fn answer(&self, after: i64, before: i64) -> Result<Answer> {
        let req = self.request(after, before, None)?;
        let body = self
            .client
            .http
            .send(&self.client.at_once(), &self.client.lane, &req, read)
            .await?;
        self.same_organization(&body.records)?;
        Ok(Answer {
            records: body.records,
            hits: body.hits.unwrap_or(0),
        })
    }

    async fn page(&self, after: i64, before: i64, cursor: Option<String>) -> Result<Paged> {
        let req = self.request(after, before, Some(cursor.as_deref()))?;
        let sent_pit = cursor.is_some();
        let body = match self
            .client
            .http
            .send(&self.client.paged(), &self.client.paged, &req, read)
            .await
        {
            Ok(body) => body,
            Err(e) if sent_pit && pit_gone(&e) => return Ok(Paged::Expired),
            Err(e) => return Err(e),
        };
        self.same_organization(&body.records)?;
        let pit = body.pit.or_else(|| {
            cursor
                .as_deref()
                .and_then(|c| serde_json::from_str::<Cursor>(c).ok())
                .map(|c| c.pit)
        });
        let next = match (body.next, pit) {
            (Some(after), Some(pit)) => Some(
                serde_json::to_string(&Cursor { pit, after })
                    .map_err(|e| Error::other(format!("internal error: a page cursor: {e}")))?,
            ),
            (Some(_), None) => {
                return Err(Error::unavailable(
                    "Greenhouse audit log page: a next_search_after came without a pit_id; the walk cannot go on",
                ));
            }
            (None, _) => None,
        };
        Ok(Paged::Page {
            records: body.records,
            hits: body.hits,
            next,
        })
    }

    fn describe(&self) -> String {
        "Greenhouse audit log".into()
    }
}

/// Whether a refusal of a request that carried a point in time says it is gone (or the point
/// in time is not found: a 404 of a paged request).
fn pit_gone(e: &Error) -> bool {
    e.vendor
        .as_ref()
        .is_some_and(|v| v.code.as_deref() == Some(PIT_EXPIRED) || v.status == 404)
}

/// One answer, read.
pub struct Body {
    pub records: Vec<Record>,
    pub hits: Option<u64>,
    pub pit: Option<String>,
    /// `next_search_after` as the `Search-After` header sends it; None when null.
    pub next: Option<String>,
}

#[derive(Deserialize)]
struct Wire {
    results: Option<Vec<Box<RawValue>>>,
    hits: Option<Value>,
    paging: Option<WirePaging>,
}

#[derive(Deserialize)]
struct WirePaging {
    pit_id: Option<Value>,
    next_search_after: Option<Value>,
}

#[derive(Deserialize)]
struct Timed {
    event_time: Option<Value>,
}

/// The time of a result, in Unix ms.
pub fn event_time_ms(raw: &str) -> Option<i64> {
    let t: Timed = serde_json::from_str(raw).ok()?;
    let text = t.event_time?;
    crate::time::vendor_instant(text.as_str()?).map(|(t, _)| t.as_millisecond())
}

/// A scalar as header text: a string as is, anything else in its JSON form; None for null.
fn header_text(v: Option<Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// Reads an answer: its results (each must have a readable `event_time`), `hits` (a number,
/// or OpenSearch's `{"value": n}`), and its paging.
pub fn read(body: &[u8]) -> std::result::Result<Body, String> {
    let wire: Wire = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let Some(results) = wire.results else {
        return Err("no results".into());
    };
    let mut records = Vec::with_capacity(results.len());
    for raw in results {
        let Some(ms) = event_time_ms(raw.get()) else {
            return Err(format!(
                "a result without a readable event_time: {}",
                &raw.get().chars().take(120).collect::<String>()
            ));
        };
        records.push(Record::new(raw, ms));
    }
    let hits = match wire.hits {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::Object(o)) => o.get("value").and_then(Value::as_u64),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let (pit, next) = match wire.paging {
        Some(p) => (header_text(p.pit_id), header_text(p.next_search_after)),
        None => (None, None),
    };
    Ok(Body {
        records,
        hits,
        pit,
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_with_their_times_hits_and_cursor() {
        let body = br#"{"paging":{"pit_id":"cmFu","search_after":null,"size":"100","next_search_after":"1685989175"},
            "hits":2,"results":[{"event_time":"2023-06-02T16:06:19.217Z","event":{"type":"action"}},
            {"event_time":"2023-06-02T16:06:19.137Z"}]}"#;
        let b = read(body).expect("read");
        assert_eq!(b.hits, Some(2));
        assert_eq!(b.records.len(), 2);
        assert_eq!(b.records[0].key, 1_685_721_979_217);
        assert_eq!(b.pit.as_deref(), Some("cmFu"));
        assert_eq!(b.next.as_deref(), Some("1685989175"));
        let end = read(br#"{"paging":{"pit_id":"x","next_search_after":null},"hits":{"value":7},"results":[]}"#)
            .expect("read");
        assert_eq!((end.hits, end.next, end.records.len()), (Some(7), None, 0));
        assert!(read(br#"{"hits":1,"results":[{"event_time":"soon"}]}"#).is_err());
        assert!(read(br#"{"hits":1}"#).is_err());
    }

    #[test]
    fn times_are_written_with_milliseconds() {
        assert_eq!(iso_ms(1_685_721_979_217), "2023-06-02T16:06:19.217Z");
        assert_eq!(iso_ms(0), "1970-01-01T00:00:00.000Z");
    }
}
