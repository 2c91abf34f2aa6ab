//! The audit log's JWT: obtained from Harvest (`POST {auth_url}/auth/jwt_access_token`, HTTP
//! Basic with the Harvest API key as the user name and an empty password, `On-Behalf-Of` when
//! set), reused by every request and chain for its lifetime, and replaced, by one task at a
//! time, when Greenhouse refuses it (the fetcher's one refresh per refusal). The key and every
//! token are registered with the run's `Redactor` the moment they are known.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::error::{Error, Result};
use crate::fetch::{Credential, Failure, Http, Request};
use crate::redact::Redactor;

pub const TOKEN_PATH: &str = "/auth/jwt_access_token";

/// Refresh this long before Greenhouse says the token expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);
/// A token lives 24 h (the document): an `expires` beyond that is not believed.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// Kept at least this long, whatever `expires` says (a 401 replaces it sooner).
const MIN_LIFETIME: Duration = Duration::from_secs(30);
/// When `expires` cannot be read.
const UNREAD_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// How long to keep a token that Greenhouse says expires at `expires` (ISO 8601), read at
/// `now`: until then minus a margin, within bounds.
pub fn token_lifetime(expires: Option<&str>, now: jiff::Timestamp) -> Duration {
    let Some(at) = expires
        .and_then(crate::time::vendor_instant)
        .map(|(t, _)| t)
    else {
        return UNREAD_LIFETIME;
    };
    Duration::try_from(at.duration_since(now))
        .unwrap_or(Duration::ZERO)
        .min(MAX_LIFETIME)
        .saturating_sub(EXPIRY_MARGIN)
        .max(MIN_LIFETIME)
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires: Option<serde_json::Value>,
}

/// The token and its `expires` text from the token answer, or why not.
fn read_token_answer(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> std::result::Result<(String, Option<String>), Failure> {
    if status.is_success() {
        return match serde_json::from_slice::<TokenAnswer>(body) {
            Ok(TokenAnswer {
                access_token: Some(t),
                expires,
            }) if !t.trim().is_empty() => {
                Ok((t, expires.and_then(|e| e.as_str().map(str::to_string))))
            }
            _ => Err(Failure::retry(Error::unavailable(
                "Greenhouse token request answered without an access_token",
            ))),
        };
    }
    match status.as_u16() {
        401 | 403 => Err(Failure::Fatal(
            super::vendor_error("Greenhouse token request", status, body, crate::error::Kind::Config)
                .hint("check greenhouse.api_key (HRLOGS_GREENHOUSE_API_KEY): a Harvest API key with the Audit log permission; and greenhouse.on_behalf_of if set"),
        )),
        _ => super::judge_status(status, headers, body, "Greenhouse token request", None)
            .and(Err(Failure::retry(Error::unavailable(
                "Greenhouse token request answered without a token",
            )))),
    }
}

/// `user:password` as HTTP Basic sends it (base64, standard alphabet, padded).
fn basic(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    // Bits not yet written, and how many.
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in format!("{user}:{password}").bytes() {
        acc = ((acc << 8) | u32::from(byte)) & 0xffff;
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(char::from(ALPHABET[((acc >> bits) & 63) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (6 - bits)) & 63) as usize]));
    }
    while out.len() % 4 != 0 {
        out.push('=');
    }
    out
}

/// A token, until when it is kept, and which one it is.
struct Held {
    token: SecretString,
    until: Instant,
    generation: u64,
}

impl Held {
    fn credential(&self) -> Credential {
        Credential {
            header: format!("Bearer {}", self.token.expose_secret()).into(),
            generation: self.generation,
        }
    }
}

pub struct Jwt {
    url: Url,
    key: SecretString,
    on_behalf_of: Option<String>,
    current: Mutex<Option<Held>>,
    refresh: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    /// The token that replaced a refused one: refused too, it is not replaced again.
    replacement: AtomicU64,
    /// A token was refused: the next one fetched is its replacement.
    refused: std::sync::atomic::AtomicBool,
    redactor: Redactor,
}

impl Jwt {
    /// The token source of the key `key` at Harvest's `auth` root.
    pub fn new(
        auth: &Url,
        key: SecretString,
        on_behalf_of: Option<String>,
        redactor: Redactor,
    ) -> Jwt {
        redactor.register(key.expose_secret());
        redactor.register(&basic(key.expose_secret(), ""));
        Jwt {
            url: crate::fetch::join(auth, TOKEN_PATH),
            key,
            on_behalf_of,
            current: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            replacement: AtomicU64::new(0),
            refused: std::sync::atomic::AtomicBool::new(false),
            redactor,
        }
    }

    /// The token request (without its Authorization header), as `--dry-run` shows it.
    pub fn request(&self) -> Request {
        Request {
            method: Method::POST,
            url: self.url.clone(),
            body: None,
            what: "Greenhouse token request".into(),
            secret_body: false,
            headers: self
                .on_behalf_of
                .iter()
                .map(|u| ("On-Behalf-Of".to_string(), u.clone()))
                .collect(),
        }
    }

    /// The token request as `--dry-run` shows it: the key redacted.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "POST {}\nAuthorization: Basic <redacted>\n",
            crate::fetch::shown_url(&self.url)
        );
        if let Some(u) = &self.on_behalf_of {
            out.push_str(&format!("On-Behalf-Of: {u}\n"));
        }
        out
    }

    /// The token held, while it lives.
    fn live(&self) -> Option<Credential> {
        let current = self.current.lock().ok()?;
        current
            .as_ref()
            .filter(|held| Instant::now() < held.until)
            .map(Held::credential)
    }

    /// The token to send now: the one held while it lives, else a new one (fetched by one
    /// task while the others wait for it).
    pub async fn credential(&self, http: &Http) -> Result<Credential> {
        if let Some(c) = self.live() {
            return Ok(c);
        }
        let _one_at_a_time = self.refresh.lock().await;
        match self.live() {
            Some(c) => Ok(c),
            None => self.fetch(http).await,
        }
    }

    /// Exchanges the key for a new token and holds it.
    async fn fetch(&self, http: &Http) -> Result<Credential> {
        let auth: SecretString = format!("Basic {}", basic(self.key.expose_secret(), "")).into();
        let (token, expires) = http
            .send_plain_as(&self.request(), Some(&auth), read_token_answer)
            .await?;
        self.redactor.register(&token);
        let lifetime = token_lifetime(expires.as_deref(), jiff::Timestamp::now());
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        if self.refused.swap(false, Ordering::SeqCst) {
            self.replacement.store(generation, Ordering::SeqCst);
        }
        let now = Instant::now();
        let held = Held {
            token: token.into(),
            until: now.checked_add(lifetime).unwrap_or(now),
            generation,
        };
        let credential = held.credential();
        if let Ok(mut current) = self.current.lock() {
            *current = Some(held);
        }
        Ok(credential)
    }

    /// Drops `used` if it is still current, so that the next request gets a new token; false
    /// when `used` was itself the replacement of a refused token (refused twice: the key or
    /// the clock is wrong, another token would not do better).
    pub fn invalidate(&self, used: &Credential) -> bool {
        if used.generation != 0 && used.generation == self.replacement.load(Ordering::SeqCst) {
            return false;
        }
        self.refused.store(true, Ordering::SeqCst);
        if let Ok(mut current) = self.current.lock() {
            if current
                .as_ref()
                .is_some_and(|held| held.generation == used.generation)
            {
                *current = None;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_is_base64_of_key_and_empty_password() {
        assert_eq!(
            basic("Aladdin", "open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(basic("abc", ""), "YWJjOg==");
        assert_eq!(basic("ab", ""), "YWI6");
    }

    #[test]
    fn any_expires_gives_a_sane_lifetime() {
        let now: jiff::Timestamp = "2024-02-02T16:38:46.985Z".parse().expect("ts");
        let day = token_lifetime(Some("2024-02-03T16:38:46.985Z"), now);
        assert_eq!(day, MAX_LIFETIME - EXPIRY_MARGIN);
        for odd in [
            None,
            Some("garbage"),
            Some("1970-01-01T00:00:00Z"),
            Some("9999-12-31T23:59:59Z"),
        ] {
            let l = token_lifetime(odd, now);
            assert!(l >= MIN_LIFETIME && l <= MAX_LIFETIME, "{odd:?}: {l:?}");
        }
    }
}
