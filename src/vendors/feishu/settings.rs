//! Feishu's settings: its keys (place in the config file, environment variable, default,
//! secret or not) declared once, and the typed value they are read into. `config show`,
//! `config init`, `config.example.toml` and the README's key table are generated from [`KEYS`].

use jiff::tz::TimeZone;
use secrecy::SecretString;

use crate::error::{Error, Result};
use crate::settings::{Key, Settings};

pub const APP_ID: Key = Key {
    section: "feishu",
    name: "app_id",
    env: "HRLOGS_FEISHU_APP_ID",
    secret: false,
    default: None,
    doc: "App ID of your Feishu/Lark custom app (Developer Console > Credentials)",
};
pub const APP_SECRET: Key = Key {
    section: "feishu",
    name: "app_secret",
    env: "HRLOGS_FEISHU_APP_SECRET",
    secret: true,
    default: None,
    doc: "App secret of that app; with app_id, hrlogs obtains a tenant access token itself",
};
pub const TENANT_ACCESS_TOKEN: Key = Key {
    section: "feishu",
    name: "tenant_access_token",
    env: "HRLOGS_FEISHU_TENANT_TOKEN",
    secret: true,
    default: None,
    doc: "A tenant access token to use as is (skips the exchange; lives at most 2 hours)",
};
pub const BASE_URL: Key = Key {
    section: "feishu",
    name: "base_url",
    env: "HRLOGS_FEISHU_BASE_URL",
    secret: false,
    default: Some("https://open.feishu.cn"),
    doc: "Feishu: https://open.feishu.cn   Lark: https://open.larksuite.com",
};
pub const TALENT_LOGS_PER_SECOND: Key = Key {
    section: "feishu",
    name: "talent_logs_per_second",
    env: "HRLOGS_FEISHU_TALENT_LOGS_PER_SECOND",
    secret: false,
    default: Some("50"),
    doc: "Requests per second to the talent operation log API (the vendor allows 50)",
};
pub const TALENT_LOGS_PER_MINUTE: Key = Key {
    section: "feishu",
    name: "talent_logs_per_minute",
    env: "HRLOGS_FEISHU_TALENT_LOGS_PER_MINUTE",
    secret: false,
    default: Some("1000"),
    doc: "Requests per minute to the talent operation log API (the vendor allows 1000)",
};
pub const DEPT_LOGS_PER_SECOND: Key = Key {
    section: "feishu",
    name: "dept_logs_per_second",
    env: "HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND",
    secret: false,
    default: Some("5"),
    doc: "Requests per second to the department operation log API (the vendor allows 5)",
};
pub const MAX_IN_FLIGHT: Key = Key {
    section: "feishu",
    name: "max_in_flight",
    env: "HRLOGS_FEISHU_MAX_IN_FLIGHT",
    secret: false,
    default: Some("16"),
    doc: "Requests to Feishu under way at once, across all page chains",
};

pub const TENANT_TIME_ZONE: Key = Key {
    section: "feishu",
    name: "tenant_time_zone",
    env: "HRLOGS_FEISHU_TENANT_TIME_ZONE",
    secret: false,
    default: None,
    doc: "The tenant's time zone (IANA, e.g. Asia/Shanghai): department log times carry none; OCSF and xlsx read them in it, and sync keeps each one's offset in the archive [default: --tz, with a warning; the archive: no offset]",
};

/// Every key of the section, in the order they are listed.
pub const KEYS: &[Key] = &[
    APP_ID,
    APP_SECRET,
    TENANT_ACCESS_TOKEN,
    BASE_URL,
    TENANT_TIME_ZONE,
    TALENT_LOGS_PER_SECOND,
    TALENT_LOGS_PER_MINUTE,
    DEPT_LOGS_PER_SECOND,
    MAX_IN_FLIGHT,
];

/// Feishu's settings, read once and typed: nothing after this looks a key up by name.
pub struct FeishuSettings {
    pub base_url: String,
    pub app_id: Option<String>,
    pub app_secret: Option<SecretString>,
    pub tenant_access_token: Option<SecretString>,
    pub talent_logs_per_second: u32,
    pub talent_logs_per_minute: u32,
    pub dept_logs_per_second: u32,
    pub max_in_flight: u32,
    /// The zone of the tenant's wall clock (department log times), when set.
    pub tenant_time_zone: Option<TimeZone>,
}

impl FeishuSettings {
    pub fn load(s: &Settings) -> Result<FeishuSettings> {
        Ok(FeishuSettings {
            base_url: s.require(&BASE_URL)?,
            app_id: s.plain(&APP_ID),
            app_secret: s.secret(&APP_SECRET),
            tenant_access_token: s.secret(&TENANT_ACCESS_TOKEN),
            talent_logs_per_second: s.number(&TALENT_LOGS_PER_SECOND)?,
            talent_logs_per_minute: s.number(&TALENT_LOGS_PER_MINUTE)?,
            dept_logs_per_second: s.number(&DEPT_LOGS_PER_SECOND)?,
            max_in_flight: s.number(&MAX_IN_FLIGHT)?,
            tenant_time_zone: tenant_time_zone(s)?,
        })
    }
}

/// `feishu.tenant_time_zone`, if set: a zone, or a config error naming the key, the value and
/// where it came from.
pub fn tenant_time_zone(s: &Settings) -> Result<Option<TimeZone>> {
    let Some(name) = s.plain(&TENANT_TIME_ZONE) else {
        return Ok(None);
    };
    crate::time::zone(Some(name.trim())).map(Some).map_err(|e| {
        let origin = s
            .entry(&TENANT_TIME_ZONE)
            .map(|e| e.origin.to_string())
            .unwrap_or_default();
        Error::config(format!("{} (from {origin}): {e}", TENANT_TIME_ZONE.path()))
    })
}
