//! Greenhouse's settings: its keys (place in the config file, environment variable, default,
//! secret or not) declared once, and the typed value they are read into. `config show`,
//! `config init`, `config.example.toml` and the README's key table are generated from [`KEYS`].

use secrecy::SecretString;

use crate::error::Result;
use crate::settings::{Key, Settings};

pub const API_KEY: Key = Key {
    section: "greenhouse",
    name: "api_key",
    env: "HRLOGS_GREENHOUSE_API_KEY",
    secret: true,
    default: None,
    doc: "Harvest API key with the Audit log permission; exchanged for a JWT (24 h)",
};
pub const ON_BEHALF_OF: Key = Key {
    section: "greenhouse",
    name: "on_behalf_of",
    env: "HRLOGS_GREENHOUSE_ON_BEHALF_OF",
    secret: false,
    default: None,
    doc: "Greenhouse user id sent as On-Behalf-Of with the token request (optional)",
};
pub const ORGANIZATION_ID: Key = Key {
    section: "greenhouse",
    name: "organization_id",
    env: "HRLOGS_GREENHOUSE_ORGANIZATION_ID",
    secret: false,
    default: None,
    doc: "Your organization's id (the organization_id of its results): names the tenant in the archive, needed by sync; a result of another organization fails the run",
};
pub const BASE_URL: Key = Key {
    section: "greenhouse",
    name: "base_url",
    env: "HRLOGS_GREENHOUSE_BASE_URL",
    secret: false,
    default: Some("https://auditlog.us.greenhouse.io"),
    doc: "Audit log events host (regional)",
};
pub const AUTH_URL: Key = Key {
    section: "greenhouse",
    name: "auth_url",
    env: "HRLOGS_GREENHOUSE_AUTH_URL",
    secret: false,
    default: Some("https://harvest.greenhouse.io"),
    doc: "Harvest host that issues the audit log's JWT",
};
pub const RATE_LIMIT: Key = Key {
    section: "greenhouse",
    name: "rate_limit",
    env: "HRLOGS_GREENHOUSE_RATE_LIMIT",
    secret: false,
    default: Some("50"),
    doc: "Requests per 10 seconds to the audit log, all kinds (documented: 50)",
};
pub const PAGE_RATE_LIMIT: Key = Key {
    section: "greenhouse",
    name: "page_rate_limit",
    env: "HRLOGS_GREENHOUSE_PAGE_RATE_LIMIT",
    secret: false,
    default: Some("3"),
    doc: "Paginated requests per 30 seconds (documented: 3)",
};
pub const MAX_IN_FLIGHT: Key = Key {
    section: "greenhouse",
    name: "max_in_flight",
    env: "HRLOGS_GREENHOUSE_MAX_IN_FLIGHT",
    secret: false,
    default: Some("8"),
    doc: "Requests to Greenhouse under way at once",
};

/// Every key of the section, in the order they are listed.
pub const KEYS: &[Key] = &[
    API_KEY,
    ON_BEHALF_OF,
    ORGANIZATION_ID,
    BASE_URL,
    AUTH_URL,
    RATE_LIMIT,
    PAGE_RATE_LIMIT,
    MAX_IN_FLIGHT,
];

/// Greenhouse's settings, read once and typed: nothing after this looks a key up by name.
pub struct GreenhouseSettings {
    pub base_url: String,
    pub auth_url: String,
    pub api_key: Option<SecretString>,
    pub on_behalf_of: Option<String>,
    /// The organization the key must answer for (trimmed; None when unset).
    pub organization_id: Option<String>,
    pub rate_limit: u32,
    pub page_rate_limit: u32,
    pub max_in_flight: u32,
}

impl GreenhouseSettings {
    pub fn load(s: &Settings) -> Result<GreenhouseSettings> {
        Ok(GreenhouseSettings {
            base_url: s.require(&BASE_URL)?,
            auth_url: s.require(&AUTH_URL)?,
            api_key: s.secret(&API_KEY),
            on_behalf_of: s.plain(&ON_BEHALF_OF),
            organization_id: s
                .plain(&ORGANIZATION_ID)
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty()),
            rate_limit: s.number(&RATE_LIMIT)?,
            page_rate_limit: s.number(&PAGE_RATE_LIMIT)?,
            max_in_flight: s.number(&MAX_IN_FLIGHT)?,
        })
    }
}
