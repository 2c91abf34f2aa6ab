//! `POST /open-apis/hire/v1/talent_operation_logs/search`: talent operation logs by operator
//! and operation type. Requests are money (custom apps on Basic plans: 10,000 calls a month), so
//! the query is split only by operator (each record has exactly one), each chain sending the
//! whole `operation_list` as the official SDK does: one operator costs no more requests than
//! one combined query. Chains are merged by `operation_time`, newest first. The API has no time
//! filter: `--since/--until` are applied here.

use std::sync::Arc;

use reqwest::Method;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Feishu, data_of, page_of};
use crate::error::Result;
use crate::fetch::Request;
use crate::plan::{Page, PageSource};
use crate::record::Lenient;

pub const PATH: &str = "/open-apis/hire/v1/talent_operation_logs/search";
pub const MAX_PAGE_SIZE: u32 = 100;

/// A validated talent-logs query.
#[derive(Debug, Clone)]
pub struct TalentLogsQuery {
    pub operators: Vec<String>,
    pub operations: Vec<i64>,
    pub jobs: Vec<String>,
    pub user_id_type: String,
    /// Inclusive bounds on `operation_time`, in milliseconds.
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub page_size: u32,
}

/// One chain: a disjoint part of the query.
pub struct TalentChain {
    feishu: Arc<Feishu>,
    query: Arc<TalentLogsQuery>,
    operators: Vec<String>,
    operations: Vec<i64>,
    index: usize,
}

/// Splits the query by operator into at most `max_chains` chains whose answers partition the
/// whole; every chain keeps the whole operation list (splitting it would cost requests).
pub fn chains(feishu: Arc<Feishu>, query: TalentLogsQuery, max_chains: usize) -> Vec<TalentChain> {
    let query = Arc::new(query);
    let n = max_chains.clamp(1, query.operators.len().max(1));
    let mut groups: Vec<Vec<String>> = vec![Vec::new(); n];
    for (op, group) in query.operators.iter().zip((0..n).cycle()) {
        if let Some(g) = groups.get_mut(group) {
            g.push(op.clone());
        }
    }
    groups
        .into_iter()
        .filter(|g| !g.is_empty())
        .enumerate()
        .map(|(index, operators)| TalentChain {
            feishu: feishu.clone(),
            query: query.clone(),
            operators,
            operations: query.operations.clone(),
            index,
        })
        .collect()
}

/// The request for one page of one part of the query.
pub fn request(
    feishu: &Feishu,
    query: &TalentLogsQuery,
    operators: &[String],
    operations: &[i64],
    token: Option<&str>,
) -> Result<Request> {
    let mut url = feishu.url(PATH)?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("page_size", &query.page_size.to_string());
        q.append_pair("user_id_type", &query.user_id_type);
        if let Some(t) = token {
            q.append_pair("page_token", t);
        }
    }
    let mut body = serde_json::json!({
        "operator_id_list": operators,
        "operation_list": operations,
    });
    if !query.jobs.is_empty() {
        body["job_id_list"] = serde_json::json!(query.jobs);
    }
    Ok(Request {
        method: Method::POST,
        url,
        body: Some(body),
        what: "Feishu talent operation logs request".into(),
        secret_body: false,
        headers: Vec::new(),
    })
}

impl TalentChain {
    pub fn first_request(&self) -> Result<Request> {
        request(
            &self.feishu,
            &self.query,
            &self.operators,
            &self.operations,
            None,
        )
    }
}

#[derive(Deserialize, Default)]
struct Data {
    #[serde(default)]
    items: Option<Vec<Box<RawValue>>>,
    #[serde(default)]
    has_more: Option<bool>,
    #[serde(default)]
    page_token: Option<String>,
}

#[derive(Deserialize)]
struct Key {
    operation_time: Option<Lenient>,
}

/// `operation_time` in milliseconds, read leniently (string or number).
pub fn key_of(raw: &RawValue) -> i64 {
    serde_json::from_str::<Key>(raw.get())
        .ok()
        .and_then(|k| k.operation_time)
        .and_then(|t| t.as_i64())
        .unwrap_or(i64::MIN)
}

/// Reads one page: its records (keyed) and the next token.
pub fn parse_page(body: &[u8]) -> std::result::Result<Page, String> {
    let data: Data = data_of(body)?;
    Ok(page_of(data.items, data.has_more, data.page_token, key_of))
}

impl PageSource for TalentChain {
    async fn fetch(&self, token: Option<String>) -> Result<Page> {
        let req = request(
            &self.feishu,
            &self.query,
            &self.operators,
            &self.operations,
            token.as_deref(),
        )?;
        self.feishu
            .http
            .send(&*self.feishu, &self.feishu.talent_lane, &req, parse_page)
            .await
    }

    fn describe(&self) -> String {
        format!("talent operation logs, chain {}", self.index + 1)
    }
}
