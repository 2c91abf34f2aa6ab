//! Recruitee: the client (Bearer token, paced), how its answers are judged, and the plain
//! endpoints described as lists for `plan` (candidate list by `limit`/`offset`, offers by
//! `page`/`limit`, each ending on proof, not on a short page) and candidates by ID. The search
//! endpoints are described in `search`. The paging loops and their guards are `plan`'s, not
//! this module's.

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

use crate::error::{Error, Kind, Result, VendorError};
use crate::fetch::{Api, Credential, Failure, Http, Lane, Request, Verdict, vendor_wait};
use crate::plan::{Batch, ListChain, ListCursor, ListPage, ListSource, Paging, RecordStream};
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
        let mut base = Url::parse(base)
            .map_err(|e| Error::config(format!("recruitee.base_url {base:?} is not a URL: {e}")))?;
        // A path prefix (an API gateway: https://gw.example.com/recruitee) is kept: `join`
        // replaces the last segment of a path without a trailing slash.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
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
            headers: Vec::new(),
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
    error_fields: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A Recruitee refusal, either shape: `{"error":"…","error_code":"…"}` or
/// `{"error":[…],"error_fields":{"field":["problem"]}}`; a body that is neither is quoted.
fn vendor_error(status: StatusCode, body: &[u8]) -> VendorError {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    let (code, message, fields) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody {
            error,
            error_code,
            error_fields,
        }) => (
            error_code,
            error.as_ref().map(text).unwrap_or_default(),
            error_fields
                .unwrap_or_default()
                .iter()
                .map(|(field, problem)| (field.clone(), text(problem)))
                .collect(),
        ),
        Err(_) => (
            None,
            String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned(),
            Vec::new(),
        ),
    };
    VendorError {
        vendor: "Recruitee".into(),
        status: status.as_u16(),
        code,
        message,
        fields,
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

    fn judge(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
        if status.is_success() {
            return Ok(());
        }
        let said = vendor_error(status, body);
        let vendor = |kind| Error::from_vendor(kind, said.clone());
        match status {
            StatusCode::UNAUTHORIZED => Err(Failure::Fatal(
                vendor(Kind::Config).hint("check recruitee.api_token (HRLOGS_RECRUITEE_API_TOKEN): Settings > Apps and plugins > Personal API tokens"),
            )),
            StatusCode::FORBIDDEN => Err(Failure::Fatal(
                vendor(Kind::Config).hint("the token's user may not see this; check recruitee.company_id and the user's role"),
            )),
            StatusCode::TOO_MANY_REQUESTS => Err(Failure::Retry { error: vendor(Kind::Unavailable), after: vendor_wait(headers) }),
            s if s.is_server_error() => Err(Failure::Retry { error: vendor(Kind::Unavailable), after: vendor_wait(headers) }),
            StatusCode::NOT_FOUND => Err(Failure::Fatal(vendor(Kind::Api).hint("check the ID and recruitee.company_id"))),
            _ => Err(Failure::Fatal(vendor(Kind::Api))),
        }
    }
}

/// Reads `key` of an answer as a list of records (keyed 0: lists have no order to merge by).
pub fn records_at(body: &[u8], key: &str) -> std::result::Result<Vec<Record>, String> {
    Ok(Answer::read(body, key)?.records)
}

/// An answer read in one pass: the records under its `items` key (the key must be there;
/// `null` is none) and `total`, if it has one. A key given twice is refused: which of the two
/// would be the truth?
pub(crate) struct Answer {
    pub records: Vec<Record>,
    pub total: Option<u64>,
}

impl Answer {
    pub fn read(body: &[u8], items: &str) -> std::result::Result<Answer, String> {
        use serde::de::DeserializeSeed;
        let mut de = serde_json::Deserializer::from_slice(body);
        let answer = AnswerSeed { items }
            .deserialize(&mut de)
            .and_then(|a| de.end().map(|()| a))
            .map_err(|e| e.to_string())?;
        let records = answer
            .records
            .ok_or_else(|| format!("no `{items}` in the answer"))?;
        Ok(Answer {
            records: records
                .unwrap_or_default()
                .into_iter()
                .map(|raw| Record::new(raw, 0))
                .collect(),
            total: answer.total,
        })
    }
}

/// The members of an answer that hrlogs reads; the others are skipped unbuilt.
struct Members {
    records: Option<Option<Vec<Box<RawValue>>>>,
    total: Option<u64>,
}

struct AnswerSeed<'k> {
    items: &'k str,
}

impl<'de> serde::de::DeserializeSeed<'de> for AnswerSeed<'_> {
    type Value = Members;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Members, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for AnswerSeed<'_> {
    type Value = Members;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Members, A::Error> {
        use serde::de::Error as _;
        let mut members = Members {
            records: None,
            total: None,
        };
        let mut seen_total = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.items {
                if members.records.is_some() {
                    return Err(A::Error::custom(format!("`{}` given twice", self.items)));
                }
                members.records = Some(map.next_value()?);
            } else if key == "total" {
                if seen_total {
                    return Err(A::Error::custom("`total` given twice"));
                }
                seen_total = true;
                members.total = map.next_value()?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(members)
    }
}

/// A list endpoint (`candidates`, `offers`): its path, fixed parameters and answer key.
pub struct List {
    pub client: Arc<Recruitee>,
    pub path: &'static str,
    pub params: Vec<(String, String)>,
    /// Where the records are in the answer.
    pub items: &'static str,
}

impl List {
    /// The chain of `GET /{path}`, whose answer holds the records under the same name, asked
    /// `limit` at a time by `paging`; one unpaged request settles a list that ignores paging.
    fn chain(
        client: Arc<Recruitee>,
        path: &'static str,
        params: Vec<(String, String)>,
        paging: Paging,
        limit: u32,
    ) -> ListChain<List> {
        let list = List {
            client,
            path,
            params,
            items: path,
        };
        ListChain::new(list, paging, limit).unpaged_fallback()
    }

    /// The request for one part of the list.
    pub fn request(&self, at: ListCursor) -> Result<Request> {
        let mut p = self.params.clone();
        match at {
            ListCursor::Offset { offset, limit } => {
                p.push(("limit".into(), limit.to_string()));
                p.push(("offset".into(), offset.to_string()));
            }
            ListCursor::Page { page, limit } => {
                p.push(("page".into(), page.to_string()));
                p.push(("limit".into(), limit.to_string()));
            }
            ListCursor::Unpaged => {}
        }
        self.client
            .request(self.path, &p, &format!("Recruitee {} request", self.path))
    }
}

impl ListSource for List {
    /// One answer, with its `total` as the list's count when it has one below 10,000 (a
    /// `total` of 10,000 or more may be capped, as the search endpoints' may: it proves
    /// nothing).
    async fn fetch(&self, at: ListCursor) -> Result<ListPage> {
        let req = self.request(at)?;
        let Answer { records, total } = self
            .client
            .get(&req, |b| Answer::read(b, self.items))
            .await?;
        Ok(ListPage {
            records,
            count: total.filter(|t| *t < search::MAX_WINDOW),
        })
    }

    fn describe(&self) -> String {
        format!("Recruitee {}", self.path)
    }

    fn id_of(&self, record: &Record) -> Option<String> {
        id_of(record)
    }
}

/// `GET /candidates` by `limit`/`offset`, the offset moving on by what each page held, until
/// an empty page. A vendor that ignores `offset` answers one unpaged request instead: without `limit`, `GET /candidates` answers every candidate at once
/// (FACTS.md), so that fallback is exact.
pub fn candidate_list(
    client: Arc<Recruitee>,
    params: Vec<(String, String)>,
    limit: u32,
) -> ListChain<List> {
    List::chain(client, "candidates", params, Paging::Offset, limit)
}

/// `GET /offers`: sends `page`/`limit` and follows pages until one is empty or holds only
/// offers already seen (a short page proves nothing). Whether Recruitee pages it is
/// unverified: if it ignores `page`, one request without `page`/`limit` (one answer, every
/// offer) settles it.
pub fn offer_list(client: Arc<Recruitee>, params: Vec<(String, String)>) -> ListChain<List> {
    List::chain(client, "offers", params, Paging::Page, OFFERS_PAGE)
}

/// The page size asked of `GET /offers`.
pub const OFFERS_PAGE: u32 = 100;

/// When a Recruitee record was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Created {
    /// Unix milliseconds.
    pub ms: i64,
    /// False when `created_at` carried no offset (read as UTC).
    pub offset_given: bool,
}

/// The `created_at` of a Recruitee record (its JSON text), the one reading of it that the
/// record's key, the archive and everything else use: RFC 3339, or a date and time without an
/// offset (`2024-05-01T08:00:00`, `2024-05-01 08:00:00`), read as UTC. None when the record
/// has no `created_at` (or `null`); an error (exit 5) naming the record's `_id` (or `id`) and
/// the value when it cannot be read.
pub fn created_at_ms(raw: &str) -> Result<Option<Created>> {
    #[derive(Deserialize)]
    struct Fields {
        created_at: Option<serde_json::Value>,
    }
    let value = match serde_json::from_str::<Fields>(raw) {
        Ok(Fields { created_at: None })
        | Ok(Fields {
            created_at: Some(serde_json::Value::Null),
        }) => {
            return Ok(None);
        }
        Ok(Fields {
            created_at: Some(v),
        }) => v,
        Err(_) => return Ok(None),
    };
    let read = value.as_str().and_then(crate::time::vendor_instant);
    match read {
        Some((t, offset_given)) => Ok(Some(Created {
            ms: t.as_millisecond(),
            offset_given,
        })),
        None => {
            let id = id_in(raw).map_or_else(|| "without an id".to_string(), |id| format!("{id:?}"));
            Err(Error::unavailable(format!(
                "Recruitee record {id} has a created_at that cannot be read as a time: {}",
                shorten(&value.to_string())
            ))
            .hint("hrlogs cannot place it in time, so it cannot prove the export complete; report the record to Recruitee"))
        }
    }
}

/// A stranger's value cut to a length fit for a message.
fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[derive(Deserialize)]
struct Ids {
    #[serde(rename = "_id")]
    underscore: Option<serde_json::Value>,
    id: Option<serde_json::Value>,
}

/// The record's `_id` (audit log entries) or `id` (candidates, offers), as text.
pub(crate) fn id_of(r: &Record) -> Option<String> {
    id_in(r.raw.get())
}

/// [`id_of`] a record's JSON text.
fn id_in(raw: &str) -> Option<String> {
    let ids: Ids = serde_json::from_str(raw).ok()?;
    ids.underscore.or(ids.id).map(|v| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

/// `GET /candidates/{id}` for each ID, several at once, written in the order given. A 404
/// names the ID.
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
                    .map_err(|e| Error {
                        message: format!("candidate {id}: {}", e.message),
                        ..e
                    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_at_is_read_leniently_and_an_unreadable_one_names_its_record() {
        let at = |raw: &str| created_at_ms(raw).expect("readable");
        let utc = Some(Created {
            ms: 1_714_550_400_000,
            offset_given: true,
        });
        assert_eq!(
            at(r#"{"_id":"a","created_at":"2024-05-01T08:00:00Z"}"#),
            utc
        );
        assert_eq!(
            at(r#"{"_id":"a","created_at":"2024-05-01 08:00:00"}"#),
            utc.map(|c| Created {
                offset_given: false,
                ..c
            })
        );
        assert_eq!(at(r#"{"_id":"a"}"#), None);
        assert_eq!(at(r#"{"id":1,"created_at":null}"#), None);
        for (raw, says) in [
            (r#"{"_id":"x1","created_at":"31/12/2024"}"#, r#""x1""#),
            (r#"{"id":47,"created_at":1714550400}"#, r#""47""#),
            (r#"{"created_at":"\u001b[2J"}"#, "without an id"),
        ] {
            let e = created_at_ms(raw).expect_err(raw);
            assert_eq!(e.kind.exit_code(), 5);
            assert!(e.message.contains(says), "{e}");
            assert!(!e.message.contains('\u{1b}'), "escaped: {e}");
        }
    }
}
