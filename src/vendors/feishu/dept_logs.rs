//! `POST /open-apis/corehr/v2/departments/query_operation_logs`: department operation logs.
//! The API takes at most 100 departments and a span of at most 366 days per query, so the
//! request is cut into windows (newest first) × batches; each window's batches are merged by
//! `operation_time`, newest first.

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
    start: Date,
    end: Date,
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
                    departments: departments.clone(),
                    batch,
                })
                .collect()
        })
        .collect()
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
            "start_date": self.start.to_string(),
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

#[derive(Deserialize)]
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
        self.feishu
            .http
            .send(&*self.feishu, &self.feishu.dept_lane, &req, parse_page)
            .await
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
