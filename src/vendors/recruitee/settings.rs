//! Recruitee's settings: its keys (place in the config file, environment variable, default,
//! secret or not) declared once, and the typed value they are read into. `config show`,
//! `config init`, `config.example.toml` and the README's key table are generated from [`KEYS`].

use secrecy::SecretString;

use crate::error::Result;
use crate::settings::{Key, Settings};

pub const COMPANY_ID: Key = Key {
    section: "recruitee",
    name: "company_id",
    env: "HRLOGS_RECRUITEE_COMPANY_ID",
    secret: false,
    default: None,
    doc: "Numeric company id (Settings > Apps and plugins > Personal API tokens)",
};
pub const API_TOKEN: Key = Key {
    section: "recruitee",
    name: "api_token",
    env: "HRLOGS_RECRUITEE_API_TOKEN",
    secret: true,
    default: None,
    doc: "Personal API token (same page); sent as a Bearer token",
};
pub const BASE_URL: Key = Key {
    section: "recruitee",
    name: "base_url",
    env: "HRLOGS_RECRUITEE_BASE_URL",
    secret: false,
    default: Some("https://api.recruitee.com"),
    doc: "Recruitee API root",
};
pub const RATE_LIMIT: Key = Key {
    section: "recruitee",
    name: "rate_limit",
    env: "HRLOGS_RECRUITEE_RATE_LIMIT",
    secret: false,
    default: Some("10"),
    doc: "Requests per second to Recruitee (it publishes no limit; 429s are retried)",
};
pub const MAX_IN_FLIGHT: Key = Key {
    section: "recruitee",
    name: "max_in_flight",
    env: "HRLOGS_RECRUITEE_MAX_IN_FLIGHT",
    secret: false,
    default: Some("8"),
    doc: "Requests to Recruitee under way at once",
};

/// Every key of the section, in the order they are listed.
pub const KEYS: &[Key] = &[COMPANY_ID, API_TOKEN, BASE_URL, RATE_LIMIT, MAX_IN_FLIGHT];

/// Recruitee's settings, read once and typed: nothing after this looks a key up by name.
pub struct RecruiteeSettings {
    pub base_url: String,
    pub company_id: Option<String>,
    pub api_token: Option<SecretString>,
    pub rate_limit: u32,
    pub max_in_flight: u32,
}

impl RecruiteeSettings {
    pub fn load(s: &Settings) -> Result<RecruiteeSettings> {
        Ok(RecruiteeSettings {
            base_url: s.require(&BASE_URL)?,
            company_id: s.plain(&COMPANY_ID),
            api_token: s.secret(&API_TOKEN),
            rate_limit: s.number(&RATE_LIMIT)?,
            max_in_flight: s.number(&MAX_IN_FLIGHT)?,
        })
    }
}
