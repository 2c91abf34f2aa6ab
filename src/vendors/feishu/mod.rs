//! Feishu/Lark open platform: the client shared by both log APIs, and how its answers are
//! judged (`code != 0` is a failure whatever the HTTP status).

mod auth;
pub mod codes;
pub mod dept_logs;
pub mod settings;
pub mod talent_logs;

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::value::RawValue;
use url::Url;

use crate::error::{Error, Kind, Result, VendorError};
use crate::fetch::{Api, Credential, Failure, Http, Lane, Verdict, vendor_wait};
use crate::plan::{Next, Page};
use crate::record::Record;

pub use auth::{TokenSource, read_token_answer, token_lifetime, token_request_description};

/// Rate-limit answer: HTTP 429 (or 400 on older APIs) with this code.
const RATE_LIMITED: i64 = 99991400;
/// Transient system error of the talent APIs.
const SYSTEM_ERROR: i64 = 1002001;
/// Token invalid / app token invalid / malformed token: refresh and retry once.
const REFRESH_CODES: [i64; 3] = [99991663, 99991664, 99991671];

/// Everything a Feishu request needs: where, who, how fast.
pub struct Feishu {
    pub base: Url,
    pub http: Arc<Http>,
    pub auth: TokenSource,
    pub talent_lane: Lane,
    pub dept_lane: Lane,
}

impl Feishu {
    /// `path` under the base URL, keeping the base's path prefix (an API gateway's).
    pub fn url(&self, path: &str) -> Result<Url> {
        Ok(crate::fetch::join(&self.base, path))
    }
}

/// The envelope of every Feishu answer, as its judge reads it (`data` is skipped, unbuilt).
#[derive(Deserialize)]
struct Envelope {
    code: Option<i64>,
    #[serde(default)]
    msg: String,
}

/// A page from its records and paging fields: the last page when `has_more` is false; with
/// `has_more` true, a missing or empty token is an incomplete answer (`plan` fails the run).
pub(crate) fn page_of(
    items: Option<Vec<Box<RawValue>>>,
    has_more: Option<bool>,
    token: Option<String>,
    key_of: fn(&RawValue) -> i64,
) -> Page {
    let records: Vec<Record> = items
        .unwrap_or_default()
        .into_iter()
        .map(|raw| {
            let key = key_of(&raw);
            Record::new(raw, key)
        })
        .collect();
    let next = match (has_more.unwrap_or(false), token) {
        (false, _) => Next::Done,
        (true, Some(t)) if !t.is_empty() => Next::Token(t),
        (true, _) => Next::MoreWithoutToken,
    };
    Page {
        records,
        next,
        count: None,
    }
}

/// The `data` of an answer with code 0, or why it cannot be read. An answer without `data`
/// (or with `"data": null`) is an empty last page, as both official SDKs read it.
/// The answer is read in one pass, `data` straight into `T`.
pub(crate) fn data_of<'a, T: Deserialize<'a> + Default>(
    body: &'a [u8],
) -> std::result::Result<T, String> {
    #[derive(Deserialize)]
    struct Answer<T> {
        data: Option<T>,
    }
    let answer: Answer<T> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(answer.data.unwrap_or_default())
}

impl Api for Feishu {
    async fn credential(&self) -> Result<Credential> {
        self.auth.credential(&self.http).await
    }

    fn invalidate(&self, used: &Credential) -> bool {
        self.auth.invalidate(used)
    }

    fn judge(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
        judge(status, headers, body, "Feishu")
    }
}

/// Sorts an answer into success, retry, token refresh or failure.
pub fn judge(status: StatusCode, headers: &HeaderMap, body: &[u8], what: &str) -> Verdict {
    let parsed: Option<Envelope> = serde_json::from_slice(body).ok();
    let reset = vendor_wait(headers);
    let Some(Envelope {
        code: Some(code),
        msg,
        ..
    }) = parsed
    else {
        let snippet = String::from_utf8_lossy(body.get(..120).unwrap_or(body)).into_owned();
        let err = format!(
            "{what} answered HTTP {status} with a body that is not Feishu JSON: {snippet:?}"
        );
        return Err(
            if status.is_success()
                || status.is_server_error()
                || status == StatusCode::TOO_MANY_REQUESTS
            {
                Failure::Retry {
                    error: Error::unavailable(err),
                    after: reset,
                }
            } else {
                Failure::Fatal(Error::api(err))
            },
        );
    };
    if code == 0 && status.is_success() {
        return Ok(());
    }
    let said = VendorError {
        vendor: what.to_string(),
        status: status.as_u16(),
        code: Some(code.to_string()),
        message: msg,
        fields: Vec::new(),
    };
    let vendor = |kind| Error::from_vendor(kind, said.clone());
    match code {
        RATE_LIMITED => Err(Failure::Retry { error: vendor(Kind::Unavailable), after: reset }),
        c if REFRESH_CODES.contains(&c) => Err(Failure::Reauth(
            vendor(Kind::Config).hint("check the app id and secret, or set a fresh HRLOGS_FEISHU_TENANT_TOKEN"),
        )),
        99991661 | 99991668 | 99991677 | 99991672 | 99991679 | 99991401 | 99991402 => Err(Failure::Fatal(
            vendor(Kind::Config).hint("check the app's credentials and that it has the API's permission scopes in the developer console"),
        )),
        SYSTEM_ERROR => Err(Failure::retry(vendor(Kind::Unavailable))),
        _ if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
            Err(Failure::Retry { error: vendor(Kind::Unavailable), after: reset })
        }
        _ => Err(Failure::Fatal(vendor(Kind::Api).hint("the request was refused as sent; check the flags"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn judged(status: u16, body: &str, reset: Option<&str>) -> Verdict {
        let mut headers = HeaderMap::new();
        if let Some(r) = reset {
            headers.insert(
                "x-ogw-ratelimit-reset",
                HeaderValue::from_str(r).expect("header"),
            );
        }
        judge(
            StatusCode::from_u16(status).expect("status"),
            &headers,
            body.as_bytes(),
            "Feishu",
        )
    }

    #[test]
    fn answers_are_sorted_into_success_retry_refresh_and_failure() {
        assert!(judged(200, r#"{"code":0,"msg":"ok","data":{}}"#, None).is_ok());
        // Rate limits, as 429 or as 400, wait for the reset header.
        for status in [429, 400] {
            match judged(
                status,
                r#"{"code":99991400,"msg":"request trigger frequency limit"}"#,
                Some("3"),
            ) {
                Err(Failure::Retry { after, .. }) => {
                    assert_eq!(after, Some(std::time::Duration::from_secs(3)))
                }
                other => panic!("{status}: {other:?}"),
            }
        }
        assert!(matches!(
            judged(500, r#"{"code":1002001,"msg":"系统错误"}"#, None),
            Err(Failure::Retry { .. })
        ));
        assert!(matches!(
            judged(200, r#"{"code":0,"data":{"items":[{"ap"#, None),
            Err(Failure::Retry { .. })
        ));
        assert!(matches!(
            judged(502, "<html>bad gateway</html>", None),
            Err(Failure::Retry { .. })
        ));
        for code in REFRESH_CODES {
            assert!(matches!(
                judged(400, &format!(r#"{{"code":{code},"msg":"x"}}"#), None),
                Err(Failure::Reauth(_))
            ));
        }
        match judged(
            400,
            r#"{"code":99991661,"msg":"Missing access token"}"#,
            None,
        ) {
            Err(Failure::Fatal(e)) => assert_eq!(e.kind, crate::error::Kind::Config),
            other => panic!("{other:?}"),
        }
        match judged(
            400,
            r#"{"code":1160101,"msg":"date interval exceeds 366"}"#,
            None,
        ) {
            Err(Failure::Fatal(e)) => {
                assert_eq!(e.kind, crate::error::Kind::Api);
                assert!(
                    e.message.contains("1160101")
                        && e.message.contains("date interval exceeds 366")
                );
            }
            other => panic!("{other:?}"),
        }
        // code != 0 is a failure whatever the HTTP status.
        assert!(matches!(
            judged(200, r#"{"code":1002002,"msg":"参数错误"}"#, None),
            Err(Failure::Fatal(_))
        ));
    }
}
