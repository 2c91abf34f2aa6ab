//! The tenant access token: obtained once per run from app id + secret (or given as is), reused
//! by every request and chain, and replaced once, by one task at a time, when Feishu refuses it.

use crate::redact::Redactor;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::error::{Error, Result};
use crate::fetch::{Credential, Failure, Http, Request};

const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";

/// Refresh this long before Feishu says the token expires (the official SDKs use 3–10 min).
const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);

/// A token lives at most 2 h (Feishu's document): an `expire` beyond that is not believed.
const MAX_LIFETIME: Duration = Duration::from_secs(2 * 60 * 60);

/// How long to keep a token Feishu says expires in `expire` seconds (any i64, even a
/// hostile one): at most 2 h, minus the margin, at least 30 s.
pub fn token_lifetime(expire: i64) -> Duration {
    Duration::from_secs(u64::try_from(expire).unwrap_or(0))
        .min(MAX_LIFETIME)
        .saturating_sub(EXPIRY_MARGIN)
        .max(Duration::from_secs(30))
}

pub struct TokenSource {
    url: Url,
    app: Option<(String, SecretString)>,
    state: Mutex<State>,
    refresh: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    /// The run's secrets: the app secret and every token learnt are redacted from its output.
    redactor: Redactor,
}

struct State {
    current: Option<(SecretString, Option<Instant>, u64)>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    code: Option<i64>,
    #[serde(default)]
    msg: String,
    tenant_access_token: Option<String>,
    expire: Option<serde_json::Number>,
}

/// The token and its `expire` (seconds, any number a server sends) from the token answer,
/// or why not.
pub fn read_token_answer(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> std::result::Result<(String, i64), Failure> {
    let parsed: Option<TokenAnswer> = serde_json::from_slice(body).ok();
    match parsed {
        Some(TokenAnswer { code: Some(0), tenant_access_token: Some(t), expire, .. }) if !t.is_empty() => {
            // A float or out-of-range number saturates (`as` does not panic).
            let expire = match expire {
                None => 7200,
                Some(e) => e.as_i64().or_else(|| e.as_f64().map(|f| f as i64)).unwrap_or(7200),
            };
            Ok((t, expire))
        }
        Some(TokenAnswer { code: Some(code), msg, .. }) if code != 99991400 && !status.is_server_error() => {
            Err(Failure::Fatal(
                Error::config(format!("Feishu refused the app credentials: code {code}: {msg}"))
                    .hint("check feishu.app_id / feishu.app_secret (HRLOGS_FEISHU_APP_ID / HRLOGS_FEISHU_APP_SECRET) and feishu.base_url (Feishu or Lark)"),
            ))
        }
        _ => super::judge(status, headers, body, "Feishu token request").and(Err(Failure::retry(
            Error::unavailable("Feishu token request answered without a token"),
        ))),
    }
}

/// The token request as `--dry-run` shows it: the secret redacted.
pub fn token_request_description(base: &Url, app_id: &str) -> String {
    let url = crate::fetch::shown_url(&crate::fetch::join(base, TOKEN_PATH));
    format!(
        "POST {url}\nContent-Type: application/json; charset=utf-8\n\n{}\n",
        serde_json::to_string_pretty(
            &serde_json::json!({"app_id": app_id, "app_secret": "<redacted>"})
        )
        .unwrap_or_default()
    )
}

impl TokenSource {
    /// `fixed` is a token given as is; `app` the id and secret to obtain one.
    pub fn new(
        base: &Url,
        fixed: Option<SecretString>,
        app: Option<(String, SecretString)>,
        redactor: Redactor,
    ) -> Result<TokenSource> {
        let url = crate::fetch::join(base, TOKEN_PATH);
        if let Some(t) = &fixed {
            redactor.register(t.expose_secret());
        }
        if let Some((_, secret)) = &app {
            redactor.register(secret.expose_secret());
        }
        let current = fixed.map(|t| (t, None, 0));
        Ok(TokenSource {
            url,
            app,
            state: Mutex::new(State { current }),
            redactor,
            refresh: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
        })
    }

    fn cached(&self) -> Option<Credential> {
        let state = self.state.lock().ok()?;
        let (token, expires, generation) = state.current.as_ref()?;
        if expires.is_some_and(|e| Instant::now() >= e) {
            return None;
        }
        Some(Credential {
            header: format!("Bearer {}", token.expose_secret()).into(),
            generation: *generation,
        })
    }

    pub async fn credential(&self, http: &Http) -> Result<Credential> {
        if let Some(c) = self.cached() {
            return Ok(c);
        }
        // One refresh at a time: whoever waited here finds the new token cached.
        let _gate = self.refresh.lock().await;
        if let Some(c) = self.cached() {
            return Ok(c);
        }
        let Some((app_id, secret)) = &self.app else {
            return Err(Error::config("the Feishu tenant token was refused and no app id/secret is set to get another")
                .hint("set HRLOGS_FEISHU_APP_ID and HRLOGS_FEISHU_APP_SECRET, or a fresh HRLOGS_FEISHU_TENANT_TOKEN"));
        };
        let req = Request {
            method: Method::POST,
            url: self.url.clone(),
            body: Some(serde_json::json!({"app_id": app_id, "app_secret": secret.expose_secret()})),
            what: "Feishu token request".into(),
            secret_body: true,
            headers: Vec::new(),
        };
        let answer = http.send_plain(&req, read_token_answer).await?;
        let (token, expire) = answer;
        self.redactor.register(&token);
        let now = Instant::now();
        let expires = now.checked_add(token_lifetime(expire)).unwrap_or(now);
        let generation = self
            .generation
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1);
        let secret: SecretString = token.into();
        if let Ok(mut state) = self.state.lock() {
            state.current = Some((secret.clone(), Some(expires), generation));
        }
        Ok(Credential {
            header: format!("Bearer {}", secret.expose_secret()).into(),
            generation,
        })
    }

    /// Drops `used` if it is still current. False when no other token can be had.
    pub fn invalidate(&self, used: &Credential) -> bool {
        if let Ok(mut state) = self.state.lock() {
            if state
                .current
                .as_ref()
                .is_some_and(|(_, _, g)| *g == used.generation)
            {
                state.current = None;
            }
        }
        self.app.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_expire_a_server_sends_gives_a_sane_lifetime() {
        assert_eq!(token_lifetime(7200), Duration::from_secs(7200 - 300));
        for hostile in [i64::MAX, i64::MIN, -1, 0, 1, 10_000_000_000] {
            let l = token_lifetime(hostile);
            assert!(
                l >= Duration::from_secs(30) && l <= MAX_LIFETIME,
                "{hostile}: {l:?}"
            );
            assert!(Instant::now().checked_add(l).is_some());
        }
    }
}
