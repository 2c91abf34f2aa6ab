//! `POST /open-apis/corehr/v2/departments/query_operation_logs`: department operation logs.
//! The API takes at most 100 departments and a span of at most 366 days per query, so the
//! request is cut into windows (newest first) × batches; each window's batches are merged by
//! `operation_time`, newest first. The API wants `end_date` after `start_date`: a one-day
//! window asks for that day and the day before, and keeps only records of the day asked for.

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
    pub fn request(&self, token: Option<&str>) -> Result<Request> {
        let mut url = self.feishu.url(PATH)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("page_size", &self.query.page_size.to_string());
            if let Some(t) = token {
                q.append_pair("page_token", t);
            }
            if let Some(kind) = &self.query.department_id_type {
                q.append_pair("department_id_type", kind);
            }
        }
        let body = serde_json::json!({
            "department_ids": self.departments,
            "start_date": self.sent_start.to_string(),
            "end_date": self.end.to_string(),
        });
        Ok(Request {
            method: Method::POST,
            url,
            body: Some(body),
            what: "Feishu department operation logs request".into(),
            secret_body: false,
        })
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

impl PageSource for DeptChain {
    async fn fetch(&self, token: Option<String>) -> Result<Page> {
        let req = self.request(token.as_deref())?;
        let mut page = self
            .feishu
            .http
            .send(&*self.feishu, &self.feishu.dept_lane, &req, parse_page)
            .await?;
        if self.sent_start < self.start {
            // The widened day belongs to another window (or was not asked for). A record
            // whose time cannot be read is kept: better shown than lost.
            let (start, end) = (self.start, self.end);
            page.records
                .retain(|r| day_of(r.key).is_none_or(|d| start <= d && d <= end));
        }
        Ok(page)
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
