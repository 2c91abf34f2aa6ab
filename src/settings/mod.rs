//! Effective settings and where each came from: flags > environment > config file profile >
//! built-in defaults. Secrets are held as `SecretString` from the moment they are read, so no
//! `Debug`, log line or error can print them.

pub(crate) mod file;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

pub use file::{config_template, keys_table};

/// Values by section for the file reader.
pub(crate) type SectionMap = BTreeMap<String, BTreeMap<String, String>>;

/// One key of the configuration: its place in the file, its environment variable, its default.
#[derive(Debug)]
pub struct Key {
    pub section: &'static str,
    pub name: &'static str,
    pub env: &'static str,
    pub secret: bool,
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

impl Key {
    pub fn path(&self) -> String {
        format!("{}.{}", self.section, self.name)
    }
}

impl Key {
    /// True when `other` is the same key (section and name).
    pub fn is(&self, other: &Key) -> bool {
        self.section == other.section && self.name == other.name
    }
}

/// Every section of the configuration, in the order `config show` and `config init` list
/// them. Each room that has settings declares its keys beside the typed value it reads them
/// into; adding one is one line here.
pub const SECTIONS: &[&[Key]] = &[
    crate::vendors::feishu::settings::KEYS,
    crate::vendors::recruitee::settings::KEYS,
    crate::vendors::greenhouse::settings::KEYS,
    crate::archive::settings::KEYS,
];

/// The tables of the configuration (`feishu`, `recruitee`, …), in the order of [`SECTIONS`].
pub fn tables() -> Vec<&'static str> {
    SECTIONS
        .iter()
        .filter_map(|s| s.first())
        .map(|k| k.section)
        .collect()
}

/// `[feishu], [recruitee] or [archive]`: the tables as a sentence lists them, joined by
/// `conjunction`, each made by `name` (e.g. into `[profiles.lark.feishu]`).
pub fn tables_listed(conjunction: &str, name: impl Fn(&str) -> String) -> String {
    let names: Vec<String> = tables().into_iter().map(name).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("{} {conjunction} {last}", rest.join(", "))
        }
        _ => names.concat(),
    }
}

/// Every key hrlogs reads.
pub fn keys() -> impl Iterator<Item = &'static Key> {
    SECTIONS.iter().flat_map(|s| s.iter())
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provenance {
    Flag(&'static str),
    Env(&'static str),
    File(PathBuf, String),
    Default,
    Unset,
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Provenance::Flag(flag) => write!(f, "flag {flag}"),
            Provenance::Env(var) => write!(f, "env {var}"),
            Provenance::File(path, profile) => write!(f, "file {} [{profile}]", path.display()),
            Provenance::Default => f.write_str("default"),
            Provenance::Unset => f.write_str("-"),
        }
    }
}

/// A value that is either plain or a secret.
#[derive(Debug, Clone)]
pub enum Value {
    Plain(String),
    Secret(SecretString),
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: &'static Key,
    pub value: Option<Value>,
    pub origin: Provenance,
}

impl Entry {
    /// The value as `config show` prints it: secrets only as set/unset.
    pub fn shown(&self) -> String {
        match &self.value {
            None => "(unset)".into(),
            Some(Value::Secret(_)) => "(set, hidden)".into(),
            // A base URL's `user:password@` is a secret too.
            Some(Value::Plain(v)) => crate::error::redact_url_userinfo(v),
        }
    }
}

/// Where the settings are read from: what the flags said about the file and profile.
#[derive(Debug, Default, Clone)]
pub struct Inputs {
    pub config_flag: Option<PathBuf>,
    pub profile_flag: Option<String>,
    /// Values set on the command line (by `--sandbox`), with the flag that set them.
    pub overrides: Vec<(&'static Key, Value, &'static str)>,
}

/// The effective settings.
#[derive(Debug)]
pub struct Settings {
    pub file: Option<PathBuf>,
    pub file_origin: Provenance,
    pub profile: String,
    pub profile_origin: Provenance,
    pub entries: Vec<Entry>,
    /// Warnings found while reading (a secret in a file others can read).
    pub warnings: Vec<String>,
}

impl Settings {
    /// Reads flags, environment and config file, in that precedence.
    pub fn load(sources: &Inputs) -> Result<Settings> {
        Self::load_with(sources, |var| {
            std::env::var(var).ok().filter(|v| !v.is_empty())
        })
    }

    fn load_with(sources: &Inputs, env: impl Fn(&str) -> Option<String>) -> Result<Settings> {
        let (file_path, file_origin, explicit) = match (&sources.config_flag, env("HRLOGS_CONFIG"))
        {
            (Some(p), _) => (Some(p.clone()), Provenance::Flag("--config"), true),
            (None, Some(p)) => (
                Some(PathBuf::from(p)),
                Provenance::Env("HRLOGS_CONFIG"),
                true,
            ),
            (None, None) => (file::default_path(), Provenance::Default, false),
        };
        let (profile, profile_origin) = match (&sources.profile_flag, env("HRLOGS_PROFILE")) {
            (Some(p), _) => (p.clone(), Provenance::Flag("--profile")),
            (None, Some(p)) => (p, Provenance::Env("HRLOGS_PROFILE")),
            (None, None) => ("default".to_string(), Provenance::Default),
        };
        let mut warnings = Vec::new();
        let loaded = match &file_path {
            Some(path) if path.exists() || explicit => Some(file::read(path, &mut warnings)?),
            _ => None,
        };
        let table = match &loaded {
            Some(doc) => Some(doc.profile(&profile).ok_or_else(|| {
                Error::config(format!(
                    "unknown profile {profile:?} in {}",
                    file_path
                        .as_deref()
                        .map(Path::display)
                        .map(|d| d.to_string())
                        .unwrap_or_default()
                ))
                .hint(format!(
                    "add a {} table, or pick one of: {}",
                    tables_listed("or", |t| format!("[profiles.{profile}.{t}]")),
                    doc.profile_names().join(", ")
                ))
            })?),
            None if profile != "default" => {
                return Err(Error::config(format!(
                    "unknown profile {profile:?}: there is no config file"
                ))
                .hint("create one with `hrlogs config init`, or drop --profile / HRLOGS_PROFILE"));
            }
            None => None,
        };
        let mut entries = Vec::new();
        for key in keys() {
            let wrap = |s: String| {
                if key.secret {
                    Value::Secret(s.into())
                } else {
                    Value::Plain(s)
                }
            };
            let entry =
                if let Some((_, v, flag)) = sources.overrides.iter().find(|(k, _, _)| k.is(key)) {
                    Entry {
                        key,
                        value: Some(v.clone()),
                        origin: Provenance::Flag(flag),
                    }
                } else if let Some(v) = env(key.env) {
                    Entry {
                        key,
                        value: Some(wrap(v)),
                        origin: Provenance::Env(key.env),
                    }
                } else if let Some(v) = table.as_ref().and_then(|t| t.get(key.section, key.name)) {
                    let origin =
                        Provenance::File(file_path.clone().unwrap_or_default(), profile.clone());
                    Entry {
                        key,
                        value: Some(wrap(v)),
                        origin,
                    }
                } else if let Some(d) = key.default {
                    Entry {
                        key,
                        value: Some(Value::Plain(d.to_string())),
                        origin: Provenance::Default,
                    }
                } else {
                    Entry {
                        key,
                        value: None,
                        origin: Provenance::Unset,
                    }
                };
            entries.push(entry);
        }
        let file = loaded.map(|_| file_path.clone().unwrap_or_default());
        Ok(Settings {
            file,
            file_origin,
            profile,
            profile_origin,
            entries,
            warnings,
        })
    }

    /// `<user config dir>/hrlogs/config.toml`.
    pub fn default_file() -> Option<PathBuf> {
        file::default_path()
    }

    pub(crate) fn entry(&self, key: &Key) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key.is(key))
    }

    /// A key's value as text (a secret exposed: only for values that are not secrets, or
    /// to hand a secret to the code that sends it).
    pub fn plain(&self, key: &Key) -> Option<String> {
        match &self.entry(key)?.value {
            Some(Value::Plain(v)) => Some(v.clone()),
            Some(Value::Secret(s)) => Some(s.expose_secret().to_string()),
            None => None,
        }
    }

    /// A key's value, held as a secret.
    pub fn secret(&self, key: &Key) -> Option<SecretString> {
        match &self.entry(key)?.value {
            Some(Value::Secret(s)) => Some(s.clone()),
            Some(Value::Plain(v)) => Some(v.clone().into()),
            None => None,
        }
    }

    /// A value that must be set, or the error that says how to set it.
    pub fn require(&self, key: &Key) -> Result<String> {
        self.plain(key).ok_or_else(|| self.missing(key))
    }

    /// A positive number, or a config error naming the key and where it came from.
    pub fn number(&self, key: &Key) -> Result<u32> {
        let text = self.require(key)?;
        match text.trim().parse::<u32>() {
            Ok(n) if n > 0 => Ok(n),
            _ => {
                let origin = self
                    .entry(key)
                    .map(|e| e.origin.to_string())
                    .unwrap_or_default();
                Err(Error::config(format!(
                    "{} must be a whole number above 0, not {text:?} (from {origin})",
                    key.path()
                )))
            }
        }
    }

    /// The error for a missing setting: names the environment variable and the config key.
    pub fn missing(&self, key: &Key) -> Error {
        Error::config(format!("{} is not set", key.path())).hint(format!(
            "set {} or `{}` in the [{}] table of {} (see `hrlogs config init`), or try --sandbox",
            key.env,
            key.name,
            key.section,
            self.file_hint()
        ))
    }

    fn file_hint(&self) -> String {
        match self.file.clone().or_else(file::default_path) {
            Some(p) => p.display().to_string(),
            None => "the config file".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendors::feishu::settings as feishu;
    use crate::vendors::recruitee::settings as recruitee;
    use std::collections::HashMap;

    fn load(toml: &str, env: &[(&str, &str)], profile: Option<&str>) -> Result<Settings> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, toml).expect("write");
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let sources = Inputs {
            config_flag: Some(path),
            profile_flag: profile.map(str::to_string),
            overrides: vec![],
        };
        Settings::load_with(&sources, |k| env.get(k).cloned())
    }

    #[test]
    fn environment_beats_file_beats_default() {
        let s = load(
            "[feishu]\napp_id = \"from-file\"\nbase_url = \"https://open.larksuite.com\"\n",
            &[("HRLOGS_FEISHU_APP_ID", "from-env")],
            None,
        )
        .expect("load");
        assert_eq!(s.plain(&feishu::APP_ID).as_deref(), Some("from-env"));
        assert_eq!(
            s.plain(&feishu::BASE_URL).as_deref(),
            Some("https://open.larksuite.com")
        );
        assert_eq!(
            s.plain(&recruitee::BASE_URL).as_deref(),
            Some("https://api.recruitee.com")
        );
        assert_eq!(s.plain(&feishu::APP_SECRET), None);
    }

    #[test]
    fn profiles_replace_the_default_tables() {
        let s = load(
            "[feishu]\napp_id = \"a\"\n[profiles.lark.feishu]\napp_id = \"b\"\n",
            &[],
            Some("lark"),
        )
        .expect("load");
        assert_eq!(s.plain(&feishu::APP_ID).as_deref(), Some("b"));
        let err = load("[feishu]\napp_id = \"a\"\n", &[], Some("nope")).expect_err("unknown");
        assert_eq!(err.kind, crate::error::Kind::Config);
    }

    #[test]
    fn unknown_keys_are_config_errors() {
        let err = load("[feishu]\napp_idd = \"a\"\n", &[], None).expect_err("typo");
        assert_eq!(err.kind, crate::error::Kind::Config);
        assert!(err.to_string().contains("app_idd"), "{err}");
    }

    #[test]
    fn secrets_never_show() {
        let s = load("[feishu]\napp_secret = \"s3cr3t-value\"\n", &[], None).expect("load");
        let e = s
            .entries
            .iter()
            .find(|e| e.key.name == "app_secret")
            .expect("entry");
        assert_eq!(e.shown(), "(set, hidden)");
        assert!(!format!("{s:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn every_key_lives_in_the_template() {
        let t = config_template();
        for k in keys() {
            assert!(
                t.contains(&format!("{} =", k.name)),
                "{} missing from template",
                k.path()
            );
        }
        let _: toml::Table = toml::from_str(&t).expect("template is valid TOML");
    }

    /// `config.example.toml` and the README's key table are generated from the declarations;
    /// `HRLOGS_REGENERATE=1 cargo test --lib settings` rewrites them.
    #[test]
    fn the_example_file_and_the_readme_table_follow_the_declarations() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let example = root.join("config.example.toml");
        let readme = root.join("README.md");
        let table = keys_table();
        let text = std::fs::read_to_string(&readme).expect("README");
        let (begin, end) = ("<!-- keys:begin -->\n", "<!-- keys:end -->");
        let (a, b) = (
            text.find(begin).expect("README has the keys:begin marker") + begin.len(),
            text.find(end).expect("README has the keys:end marker"),
        );
        if std::env::var_os("HRLOGS_REGENERATE").is_some() {
            std::fs::write(&example, config_template()).expect("write example");
            std::fs::write(&readme, format!("{}{table}{}", &text[..a], &text[b..]))
                .expect("write README");
            return;
        }
        assert_eq!(
            std::fs::read_to_string(&example).expect("example"),
            config_template(),
            "config.example.toml is stale: HRLOGS_REGENERATE=1 cargo test --lib settings"
        );
        assert_eq!(
            &text[a..b],
            table,
            "README key table is stale: HRLOGS_REGENERATE=1 cargo test --lib settings"
        );
    }
}
