//! Greenhouse Recruiting's audit log: the client (a JWT from Harvest, paced under both of
//! Greenhouse's limits), how its answers are judged, and its events endpoint described for
//! `plan::counted` (in [`events`]). The loops over windows and pages are `plan`'s.

pub mod auth;
pub mod events;
pub mod settings;

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use url::Url;

use crate::error::{Error, Kind, VendorError};
use crate::fetch::{Api, Credential, Failure, Http, Lane, Verdict, vendor_wait};

/// The vendor code hrlogs gives an answer that says the point in time is gone.
pub const PIT_EXPIRED: &str = "point_in_time_expired";

pub struct Greenhouse {
    /// `{base_url}/events`
    pub events_url: Url,
    pub auth: auth::Jwt,
    pub http: Arc<Http>,
    /// Requests without paging: Greenhouse's limit of all requests.
    pub lane: Lane,
    /// Paginated requests: their own limit and the limit of all requests (shared with `lane`).
    pub paged: Lane,
    pub max_in_flight: usize,
    /// How long to wait after a 429, which says nothing of when to come back: one slot of the
    /// lane's limit (all requests, paginated ones).
    pub limited_waits: (Duration, Duration),
    /// The organization every result must belong to (`greenhouse.organization_id`), if set.
    pub organization: Option<String>,
}

impl Greenhouse {
    pub fn new(
        base: &Url,
        auth: auth::Jwt,
        http: Arc<Http>,
        (lane, paged): (Lane, Lane),
        max_in_flight: usize,
        limited_waits: (Duration, Duration),
    ) -> Greenhouse {
        Greenhouse {
            events_url: crate::fetch::join(base, "/events"),
            auth,
            http,
            lane,
            paged,
            max_in_flight,
            limited_waits,
            organization: None,
        }
    }

    /// Every result must belong to `organization` (`greenhouse.organization_id`).
    pub fn for_organization(mut self, organization: Option<String>) -> Greenhouse {
        self.organization = organization;
        self
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    message: Option<serde_json::Value>,
    error: Option<serde_json::Value>,
    errors: Option<serde_json::Value>,
    fields: Option<serde_json::Value>,
}

/// A Greenhouse refusal: its `message` (or `error`) and the fields that failed validation; a
/// body that is not JSON is quoted (briefly).
fn said(what: &str, status: StatusCode, body: &[u8]) -> VendorError {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let (message, fields) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => {
            let message = b.message.or(b.error).as_ref().map(text).unwrap_or_default();
            let fields = match b.errors.or(b.fields) {
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .map(|f| match f {
                        serde_json::Value::Object(o) => (
                            o.get("field").map(text).unwrap_or_default(),
                            o.get("message").map(text).unwrap_or_default(),
                        ),
                        other => (text(other), String::new()),
                    })
                    .collect(),
                Some(serde_json::Value::Object(o)) => {
                    o.iter().map(|(k, v)| (k.clone(), text(v))).collect()
                }
                _ => Vec::new(),
            };
            (message, fields)
        }
        Err(_) => (
            String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned(),
            Vec::new(),
        ),
    };
    VendorError {
        vendor: what.to_string(),
        status: status.as_u16(),
        code: None,
        message,
        fields,
    }
}

/// The error of a refusal, of `kind`.
pub(crate) fn vendor_error(what: &str, status: StatusCode, body: &[u8], kind: Kind) -> Error {
    Error::from_vendor(kind, said(what, status, body))
}

/// Whether a refusal says that the point in time (OpenSearch's search context) is gone.
fn says_pit_gone(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]).to_lowercase();
    [
        "point in time",
        "pit_id",
        "pit id",
        "search context",
        "pit expired",
    ]
    .iter()
    .any(|w| text.contains(w))
}

/// Judges a non-success answer of `what`; `limited_wait` is the wait after a 429 without a
/// header saying how long (None: back off as for any failure).
pub(crate) fn judge_status(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    what: &str,
    limited_wait: Option<Duration>,
) -> Verdict {
    if status.is_success() {
        return Ok(());
    }
    let error = |kind| vendor_error(what, status, body, kind);
    if status != StatusCode::TOO_MANY_REQUESTS
        && (status.is_client_error() || status.is_server_error())
        && says_pit_gone(body)
    {
        let mut e = said(what, status, body);
        e.code = Some(PIT_EXPIRED.to_string());
        return Err(Failure::Fatal(Error::from_vendor(Kind::Unavailable, e)));
    }
    match status {
        StatusCode::UNAUTHORIZED => Err(Failure::Reauth(error(Kind::Config).hint(
            "the audit log refused the JWT twice: check greenhouse.api_key (a Harvest key with the Audit log permission), greenhouse.auth_url and this machine's clock",
        ))),
        StatusCode::FORBIDDEN => Err(Failure::Fatal(error(Kind::Config).hint(
            "the Harvest key (or greenhouse.on_behalf_of) has no access to this record: check its Audit log permission",
        ))),
        StatusCode::UNPROCESSABLE_ENTITY => Err(Failure::Fatal(error(Kind::Api).hint(
            "a parameter failed Greenhouse's validation: check the filters (ids, types)",
        ))),
        StatusCode::TOO_MANY_REQUESTS => Err(Failure::Retry {
            error: error(Kind::Unavailable),
            after: vendor_wait(headers).or(limited_wait),
        }),
        s if s.is_server_error() => Err(Failure::Retry {
            error: error(Kind::Unavailable),
            after: vendor_wait(headers),
        }),
        StatusCode::NOT_FOUND => Err(Failure::Fatal(
            error(Kind::Config).hint("check greenhouse.base_url: the audit log host of your region"),
        )),
        _ => Err(Failure::Fatal(error(Kind::Api))),
    }
}

/// Greenhouse as one lane calls it: a 429 there (which names no wait) is waited out for one
/// slot of that lane's limit.
pub struct Via<'a> {
    pub client: &'a Greenhouse,
    pub after_429: Duration,
}

impl Greenhouse {
    /// Requests without paging.
    pub fn at_once(&self) -> Via<'_> {
        Via {
            client: self,
            after_429: self.limited_waits.0,
        }
    }

    /// Paginated requests.
    pub fn paged(&self) -> Via<'_> {
        Via {
            client: self,
            after_429: self.limited_waits.1,
        }
    }
}

impl Api for Via<'_> {
    async fn credential(&self) -> crate::error::Result<Credential> {
        self.client.auth.credential(&self.client.http).await
    }

    fn invalidate(&self, used: &Credential) -> bool {
        self.client.auth.invalidate(used)
    }

    fn judge(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
        judge_status(status, headers, body, "Greenhouse", Some(self.after_429))
    }
}
