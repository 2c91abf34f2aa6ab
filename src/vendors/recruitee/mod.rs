//! Recruitee: the client (Bearer token, paced), how its answers are judged, and the plain
//! endpoints (candidate list by offset, candidates by ID, offers). The search endpoints with
//! their 10,000-result window are in `search`.

pub mod search;
pub mod settings;

use std::sync::Arc;

use futures::StreamExt;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::value::RawValue;
use url::Url;

use crate::error::{Error, Result};
use crate::fetch::{Api, Credential, Failure, Http, Lane, Request, seconds_header};
use crate::plan::{Batch, RecordStream};
use crate::record::Record;

pub struct Recruitee {
    /// `{base_url}/c/{company}/`
    pub company_url: Url,
    pub token: SecretString,
    pub http: Arc<Http>,
    pub lane: Lane,
    pub max_in_flight: usize,
}

impl Recruitee {
    pub fn new(
        base: &str,
        company: &str,
        token: SecretString,
        http: Arc<Http>,
        lane: Lane,
        max_in_flight: usize,
    ) -> Result<Recruitee> {
        let base = Url::parse(base)
            .map_err(|e| Error::config(format!("recruitee.base_url {base:?} is not a URL: {e}")))?;
        let company_url = base
            .join(&format!("c/{}/", urlencode(company)))
            .map_err(|e| {
                Error::config(format!(
                    "recruitee.base_url {base} cannot take the company path: {e}"
                ))
            })?;
        Ok(Recruitee {
            company_url,
            token,
            http,
            lane,
            max_in_flight,
        })
    }

    /// A GET of `path` (under the company) with query `params`.
    pub fn request(&self, path: &str, params: &[(String, String)], what: &str) -> Result<Request> {
        let mut url = self
            .company_url
            .join(path)
            .map_err(|e| Error::config(format!("bad Recruitee path {path}: {e}")))?;
        if !params.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
        }
        Ok(Request {
            method: Method::GET,
            url,
            body: None,
            what: what.to_string(),
            secret_body: false,
        })
    }

    pub async fn get<T>(
        &self,
        req: &Request,
        parse: impl Fn(&[u8]) -> std::result::Result<T, String>,
    ) -> Result<T> {
        self.http.send(self, &self.lane, req, parse).await
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<serde_json::Value>,
    error_code: Option<String>,
}

/// The error text of a Recruitee answer, either shape: `{"error":"…","error_code":"…"}` or
/// `{"error":[…],"error_fields":{…}}`.
fn error_text(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error, error_code }) => {
            let msg = match error {
                Some(serde_json::Value::String(s)) => s,
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join("; "),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            match error_code {
                Some(code) => format!("{code}: {msg}"),
                None => msg,
            }
        }
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned(),
    }
}

impl Api for Recruitee {
    async fn credential(&self) -> Result<Credential> {
        Ok(Credential {
            header: format!("Bearer {}", self.token.expose_secret()).into(),
            generation: 0,
        })
    }

    fn invalidate(&self, _used: &Credential) -> bool {
        false
    }

    fn judge(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> std::result::Result<(), Failure> {
        if status.is_success() {
            return Ok(());
        }
        let text = format!(
            "Recruitee answered HTTP {}: {}",
            status.as_u16(),
            error_text(body)
        );
        match status {
            StatusCode::UNAUTHORIZED => Err(Failure::Fatal(
                Error::config(text).hint("check recruitee.api_token (HRLOGS_RECRUITEE_API_TOKEN): Settings > Apps and plugins > Personal API tokens"),
            )),
            StatusCode::FORBIDDEN => Err(Failure::Fatal(
                Error::config(text).hint("the token's user may not see this; check recruitee.company_id and the user's role"),
            )),
            StatusCode::TOO_MANY_REQUESTS => Err(Failure::Retry { error: Error::unavailable(text), after: seconds_header(headers, "retry-after") }),
            s if s.is_server_error() => Err(Failure::Retry { error: Error::unavailable(text), after: seconds_header(headers, "retry-after") }),
            StatusCode::NOT_FOUND => Err(Failure::Fatal(Error::api(text).hint("check the ID and recruitee.company_id"))),
            _ => Err(Failure::Fatal(Error::api(text))),
        }
    }
}

/// Reads `key` of an answer as a list of records.
pub fn records_at(body: &[u8], key: &str) -> std::result::Result<Vec<Record>, String> {
    let map: std::collections::HashMap<String, Box<RawValue>> =
        serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let list = map
        .get(key)
        .ok_or_else(|| format!("no `{key}` in the answer"))?;
    let items: Option<Vec<Box<RawValue>>> =
        serde_json::from_str(list.get()).map_err(|e| e.to_string())?;
    Ok(items
        .unwrap_or_default()
        .into_iter()
        .map(|raw| Record::new(raw, 0))
        .collect())
}

/// One answer's list (e.g. offers) as a stream.
pub fn one_answer(client: Arc<Recruitee>, req: Request, key: &'static str) -> RecordStream {
    RecordStream::spawn(1, move |tx| async move {
        let result = client.get(&req, |b| records_at(b, key)).await;
        let _ = tx.send(result).await;
    })
}

/// `GET /candidates` page by page (`limit`/`offset`), until a short page. An ID seen twice
/// (the list shifted while paging) is written once.
pub fn candidate_list(
    client: Arc<Recruitee>,
    params: Vec<(String, String)>,
    limit: u32,
) -> RecordStream {
    RecordStream::spawn(2, move |tx| async move {
        let mut seen = std::collections::HashSet::new();
        let mut offset: u64 = 0;
        loop {
            let mut p = params.clone();
            p.push(("limit".into(), limit.to_string()));
            p.push(("offset".into(), offset.to_string()));
            let result = match client.request("candidates", &p, "Recruitee candidates request") {
                Ok(req) => client.get(&req, |b| records_at(b, "candidates")).await,
                Err(e) => Err(e),
            };
            let records = match result {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let n = records.len() as u64;
            let fresh: Vec<Record> = records
                .into_iter()
                .filter(|r| id_of(r).is_none_or(|id| seen.insert(id)))
                .collect();
            if !fresh.is_empty() && tx.send(Ok(fresh)).await.is_err() {
                return;
            }
            if n < u64::from(limit) {
                return;
            }
            offset += n;
        }
    })
}

#[derive(Deserialize)]
struct Ids {
    #[serde(rename = "_id")]
    underscore: Option<serde_json::Value>,
    id: Option<serde_json::Value>,
}

/// The record's `_id` (audit log entries) or `id` (candidates), as text.
pub(crate) fn id_of(r: &Record) -> Option<String> {
    let ids: Ids = serde_json::from_str(r.raw.get()).ok()?;
    ids.underscore.or(ids.id).map(|v| v.to_string())
}

/// `GET /candidates/{id}` for each ID, several at once, written in the order given.
pub fn candidates_by_id(client: Arc<Recruitee>, ids: Vec<String>) -> RecordStream {
    RecordStream::spawn(2, move |tx| async move {
        let n = client.max_in_flight;
        let client = &client;
        let mut answers = futures::stream::iter(ids)
            .map(|id| async move {
                let req = client.request(
                    &format!("candidates/{}", urlencode(&id)),
                    &[],
                    &format!("Recruitee candidate {id}"),
                )?;
                client
                    .get(&req, |b| records_at_object(b, "candidate"))
                    .await
            })
            .buffered(n.max(1));
        while let Some(result) = answers.next().await {
            let batch: Batch = result.map(|r| vec![r]);
            let failed = batch.is_err();
            if tx.send(batch).await.is_err() || failed {
                return;
            }
        }
    })
}

fn records_at_object(body: &[u8], key: &str) -> std::result::Result<Record, String> {
    let map: std::collections::HashMap<String, Box<RawValue>> =
        serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let raw = map
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .ok_or_else(|| format!("no `{key}` in the answer"))?;
    Ok(Record::new(raw, 0))
}
