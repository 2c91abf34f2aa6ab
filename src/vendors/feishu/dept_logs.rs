//! `POST /open-apis/corehr/v2/departments/query_operation_logs`: department operation logs.
//! The API takes at most 100 departments and a span of at most 366 days per query, so the
//! request is cut into windows (newest first) × batches; each window's batches are merged by
//! `operation_time`, newest first. The API wants `end_date` after `start_date`: a one-day
//! window asks for that day and the day before, and keeps only records of the day asked for.
//!
//! **Pages are proven, not chained.** Records have no id, so pages that overlap (an offset
//! that drifts under fresh page tokens) would double records that cannot be told from
//! genuinely identical ones. A window is therefore walked by *narrowing*, never by page
//! token: each request is the first page of `start..=end`; when it says there is more, the
//! records of the days after the oldest day it reached are whole (the page is checked to be
//! newest first), they are kept, and the next request asks for `start..=that day`. A day
//! that alone needs several pages is paged by token twice, at two page sizes, and kept only
//! when both walks agree (else the run fails, naming the day). Cost: one request per page,
//! as a token walk, plus the oldest day of each page fetched again; a day over a page costs
//! its pages twice.

use std::sync::Arc;

use jiff::civil::{Date, DateTime};
use reqwest::Method;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Feishu, data_of, page_of};
use crate::error::Result;
use crate::fetch::Request;
use crate::plan::{Page, PageSource, batches, date_windows};
use crate::record::Lenient;

pub const PATH: &str = "/open-apis/corehr/v2/departments/query_operation_logs";
pub const MAX_PAGE_SIZE: u32 = 1000;
pub const MAX_DEPARTMENTS: usize = 100;
pub const MAX_SPAN_DAYS: i64 = 366;

/// A validated dept-logs query.
#[derive(Debug, Clone)]
pub struct DeptLogsQuery {
    pub departments: Vec<String>,
    pub since: Date,
    pub until: Date,
    pub department_id_type: Option<String>,
    pub page_size: u32,
}

/// One chain: one window × one batch of departments.
pub struct DeptChain {
    feishu: Arc<Feishu>,
    query: Arc<DeptLogsQuery>,
    /// The days this chain answers for.
    start: Date,
    end: Date,
    /// The `start_date` sent: `start`, or the day before when the window is one day.
    sent_start: Date,
    departments: Vec<String>,
    batch: usize,
}

/// The plan: windows newest first, each a group of department batches.
pub fn plan(feishu: Arc<Feishu>, query: DeptLogsQuery) -> Vec<Vec<DeptChain>> {
    let query = Arc::new(query);
    let batches = batches(&query.departments, MAX_DEPARTMENTS);
    date_windows(query.since, query.until, MAX_SPAN_DAYS)
        .into_iter()
        .map(|(start, end)| {
            batches
                .iter()
                .enumerate()
                .map(|(batch, departments)| DeptChain {
                    feishu: feishu.clone(),
                    query: query.clone(),
                    start,
                    end,
                    sent_start: sent_start(start, end),
                    departments: departments.clone(),
                    batch,
                })
                .collect()
        })
        .collect()
}

/// The `start_date` to send for the window `start..=end`: never equal to `end_date`.
fn sent_start(start: Date, end: Date) -> Date {
    if start < end {
        return start;
    }
    start.yesterday().unwrap_or(start)
}

/// The day of a record's key (`key_of`: milliseconds of the tenant's wall clock read as UTC).
fn day_of(key: i64) -> Option<Date> {
    if key == i64::MIN {
        return None;
    }
    jiff::Timestamp::from_millisecond(key)
        .ok()
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
}

impl DeptChain {
    /// The first request of the chain (what `--dry-run` shows).
    pub fn request(&self, token: Option<&str>) -> Result<Request> {
        self.request_for(self.sent_start, self.end, token, self.query.page_size)
    }
}

#[derive(Deserialize, Default)]
struct Data {
    #[serde(default)]
    op_logs: Option<Vec<Box<RawValue>>>,
    #[serde(default)]
    has_more: Option<bool>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct Key {
    operation_time: Option<Lenient>,
}

/// `operation_time` ("2023-11-15 19:25:45", the tenant's wall clock) as sortable seconds.
pub fn key_of(raw: &RawValue) -> i64 {
    match serde_json::from_str::<Key>(raw.get())
        .ok()
        .and_then(|k| k.operation_time)
    {
        Some(Lenient::Text(t)) => t
            .trim()
            .parse::<DateTime>()
            .ok()
            .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp().as_millisecond())
            .or_else(|| t.trim().parse().ok())
            .unwrap_or(i64::MIN),
        Some(other) => other.as_i64().unwrap_or(i64::MIN),
        None => i64::MIN,
    }
}

pub fn parse_page(body: &[u8]) -> std::result::Result<Page, String> {
    let data: Data = data_of(body)?;
    Ok(page_of(
        data.op_logs,
        data.has_more,
        data.next_page_token,
        key_of,
    ))
}

/// The most pages one day may take in a cross-checked walk (a loop guard).
const MAX_DAY_PAGES: usize = 10_000;

impl DeptChain {
    /// One answer for `start..=end` (widened by a day when that is one day), as sent.
    async fn answer(&self, end: Date) -> Result<Page> {
        let req = self.request_for(sent_start(self.start, end), end, None, self.query.page_size)?;
        self.feishu
            .http
            .send(&*self.feishu, &self.feishu.dept_lane, &req, parse_page)
            .await
    }

    fn request_for(
        &self,
        start: Date,
        end: Date,
        token: Option<&str>,
        page_size: u32,
    ) -> Result<Request> {
        let mut url = self.feishu.url(PATH)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("page_size", &page_size.to_string());
            if let Some(t) = token {
                q.append_pair("page_token", t);
            }
            if let Some(kind) = &self.query.department_id_type {
                q.append_pair("department_id_type", kind);
            }
        }
        let body = serde_json::json!({
            "department_ids": self.departments,
            "start_date": start.to_string(),
            "end_date": end.to_string(),
        });
        Ok(Request {
            method: Method::POST,
            url,
            body: Some(body),
            what: "Feishu department operation logs request".into(),
            secret_body: false,
            headers: Vec::new(),
        })
    }

    /// Every record of `day` (a day that needs several pages), walked by token at
    /// `page_size`: the records of that day, in the order served.
    async fn walk_day(&self, day: Date, page_size: u32) -> Result<Vec<crate::record::Record>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut tokens = std::collections::HashSet::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        for _ in 0..MAX_DAY_PAGES {
            let mut req = self.request_for(
                day.yesterday().unwrap_or(day),
                day,
                token.as_deref(),
                page_size,
            )?;
            req.what = format!("Feishu department operation logs of {day}");
            let page = self
                .feishu
                .http
                .send(&*self.feishu, &self.feishu.dept_lane, &req, parse_page)
                .await?;
            let older = page.records.iter().any(|r| day_of(r.key) < Some(day));
            if !page.records.is_empty() && page.records.iter().all(|r| seen.contains(r.raw.get())) {
                return Err(self.unprovable(
                    day,
                    "a page brought only records already seen (pages that repeat under fresh tokens)",
                ));
            }
            seen.extend(page.records.iter().map(|r| r.raw.get().to_string()));
            out.extend(
                page.records
                    .into_iter()
                    .filter(|r| day_of(r.key).is_none_or(|d| d == day)),
            );
            match page.next {
                // Newest first: a record of the day before means this day is whole.
                _ if older => return Ok(out),
                crate::plan::Next::Token(t) => {
                    if !tokens.insert(t.clone()) {
                        return Err(self.unprovable(day, "a page token came back a second time"));
                    }
                    token = Some(t);
                }
                crate::plan::Next::Done => return Ok(out),
                crate::plan::Next::MoreWithoutToken => {
                    return Err(self.unprovable(day, "Feishu said there is more but sent no token"));
                }
            }
        }
        Err(self.unprovable(day, "it took more pages than any day could"))
    }

    /// A day that holds more than a page: walked at two page sizes, kept when both agree.
    async fn cross_checked_day(&self, day: Date) -> Result<Vec<crate::record::Record>> {
        let size = self.query.page_size.max(2);
        let first = self.walk_day(day, size).await?;
        let second = self.walk_day(day, size - 1).await?;
        fn texts(v: &[crate::record::Record]) -> Vec<&str> {
            let mut t: Vec<&str> = v.iter().map(|r| r.raw.get()).collect();
            t.sort_unstable();
            t
        }
        if texts(&first) != texts(&second) {
            return Err(self.unprovable(
                day,
                &format!(
                    "its pages disagree: {} records at {size} a page, {} at {} a page (pages that overlap or skip)",
                    first.len(),
                    second.len(),
                    size - 1
                ),
            ));
        }
        Ok(first)
    }

    fn unprovable(&self, day: Date, why: &str) -> crate::error::Error {
        crate::error::Error::unavailable(format!(
            "{} on {day} cannot be proven complete: {why}",
            self.describe()
        ))
        .hint("try again later; if it persists, report it to Feishu with this message")
    }
}

/// The cursor of a narrowing walk: the last day still to fetch.
const END_PREFIX: &str = "end:";

impl PageSource for DeptChain {
    async fn fetch(&self, token: Option<String>) -> Result<Page> {
        use crate::plan::Next;
        let end = match token.as_deref().and_then(|t| t.strip_prefix(END_PREFIX)) {
            Some(d) => d.parse::<Date>().map_err(|_| {
                crate::error::Error::other(format!("internal error: bad window cursor {d:?}"))
            })?,
            None => self.end,
        };
        let start = self.start;
        let mut page = self.answer(end).await?;
        // The widened day belongs to another window (or was not asked for). A record whose
        // time cannot be read is kept: better shown than lost.
        let within =
            |r: &crate::record::Record| day_of(r.key).is_none_or(|d| start <= d && d <= end);
        let more = !matches!(page.next, Next::Done);
        if !more {
            page.records.retain(within);
            return Ok(page);
        }
        // More than a page: what the page proves is the days after the oldest it reached,
        // provided it is newest first.
        let newest_first = page.records.windows(2).all(|w| w[0].key >= w[1].key);
        let oldest = page.records.iter().filter_map(|r| day_of(r.key)).min();
        let (Some(oldest), true) = (oldest, newest_first) else {
            return Err(self.unprovable(
                end,
                "a page of it is not newest first (or its times cannot be read), so what it holds cannot be placed",
            ));
        };
        if oldest < end {
            page.records
                .retain(|r| within(r) && day_of(r.key).is_some_and(|d| d > oldest));
            page.next = if oldest >= start {
                Next::Token(format!("{END_PREFIX}{oldest}"))
            } else {
                Next::Done
            };
            return Ok(page);
        }
        // The whole page is the window's last day, and there is more of it.
        let records = self.cross_checked_day(end).await?;
        let before = end.yesterday().ok().filter(|d| *d >= start);
        Ok(Page {
            records,
            count: None,
            next: match before {
                Some(d) => Next::Token(format!("{END_PREFIX}{d}")),
                None => Next::Done,
            },
        })
    }

    fn describe(&self) -> String {
        format!(
            "department operation logs {}..{}, batch {}",
            self.start,
            self.end,
            self.batch + 1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().expect("date")
    }

    #[test]
    fn a_one_day_window_sends_two_days_and_keeps_its_own() {
        assert_eq!(
            sent_start(d("2024-05-01"), d("2024-05-01")),
            d("2024-04-30")
        );
        assert_eq!(
            sent_start(d("2024-04-01"), d("2024-05-01")),
            d("2024-04-01")
        );
        let raw =
            |t: &str| RawValue::from_string(format!(r#"{{"operation_time":"{t}"}}"#)).expect("raw");
        assert_eq!(
            day_of(key_of(&raw("2024-05-01 23:59:59"))),
            Some(d("2024-05-01"))
        );
        assert_eq!(
            day_of(key_of(&raw("2024-04-30 00:00:00"))),
            Some(d("2024-04-30"))
        );
        assert_eq!(day_of(key_of(&raw("garbage"))), None);
        assert_eq!(day_of(i64::MAX), None);
    }
}
