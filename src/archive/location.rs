//! Where the archive is: an SQLite file (a path) or a PostgreSQL schema (a `postgres://` or
//! `postgresql://` URL), from `--archive`, `archive.path` (`HRLOGS_ARCHIVE`) or the default
//! file. A password inside a URL given on the command line is refused (other users can read a
//! process's arguments); one from the environment or the config file is taken, and held as a
//! secret like `archive.password` (`HRLOGS_ARCHIVE_PASSWORD`).

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use crate::error::{Error, Result};

/// Where the archive is.
#[derive(Clone)]
pub enum Location {
    /// One SQLite file.
    Sqlite(PathBuf),
    /// A schema of a PostgreSQL database.
    Postgres(PgLocation),
}

/// A PostgreSQL archive as given: the URL (its password taken out), the password when one
/// was given with it or in the settings, and the schema.
#[derive(Clone)]
pub struct PgLocation {
    /// The URL without its password.
    pub url: url::Url,
    /// From the URL (environment or config file), else `archive.password`.
    pub password: Option<SecretString>,
    /// `archive.schema` (`HRLOGS_ARCHIVE_SCHEMA`), `hrlogs` by default.
    pub schema: String,
    /// The run's secrets: the password, wherever it is found (also `~/.pgpass` when
    /// connecting), is registered here so that nothing the run prints shows it.
    pub redactor: crate::redact::Redactor,
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password: Display shows the URL without it.
        write!(f, "Location({self})")
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(pg) => write!(f, "{} (schema {})", pg.url, pg.schema),
        }
    }
}

/// What the settings say about the archive, besides `--archive`.
#[derive(Default)]
pub struct ArchiveSettings {
    /// `archive.path` (`HRLOGS_ARCHIVE`).
    pub path: Option<String>,
    /// `archive.schema` (`HRLOGS_ARCHIVE_SCHEMA`).
    pub schema: Option<String>,
    /// `archive.password` (`HRLOGS_ARCHIVE_PASSWORD`).
    pub password: Option<SecretString>,
}

/// True when `text` names a PostgreSQL database (`postgres://…`, `postgresql://…`).
pub fn is_postgres_url(text: &str) -> bool {
    let lower = text
        .trim_start()
        .get(..13)
        .unwrap_or("")
        .to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `--archive`, else `archive.path` (`HRLOGS_ARCHIVE`), else `<data dir>/hrlogs/archive.sqlite3`.
pub fn resolve(
    flag: Option<&Path>,
    settings: ArchiveSettings,
    redactor: &crate::redact::Redactor,
) -> Result<Location> {
    if let Some(p) = flag {
        if let Some(text) = p.to_str().filter(|t| is_postgres_url(t)) {
            return postgres(text, true, settings, redactor);
        }
        return Ok(Location::Sqlite(p.to_path_buf()));
    }
    if let Some(s) = settings.path.clone().filter(|s| !s.trim().is_empty()) {
        if is_postgres_url(&s) {
            return postgres(s.trim(), false, settings, redactor);
        }
        return Ok(Location::Sqlite(PathBuf::from(s)));
    }
    dirs::data_dir()
        .map(|d| Location::Sqlite(d.join("hrlogs").join("archive.sqlite3")))
        .ok_or_else(|| {
            Error::config("cannot tell where the archive goes: no user data directory")
                .hint("give --archive PATH or set HRLOGS_ARCHIVE")
        })
}

/// The schema's name: a plain SQL identifier, so that it is never mistaken for SQL.
pub fn check_schema(name: &str) -> Result<String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(name.to_string())
    } else {
        Err(Error::input(format!(
            "archive.schema {name:?} is not a plain schema name"
        ))
        .hint("use letters, digits and _ (at most 63, not starting with a digit), e.g. hrlogs"))
    }
}

fn postgres(
    text: &str,
    from_flag: bool,
    settings: ArchiveSettings,
    redactor: &crate::redact::Redactor,
) -> Result<Location> {
    let mut url = url::Url::parse(text).map_err(|e| {
        Error::input(format!(
            "the archive URL is not a valid URL ({e}): {}",
            crate::error::redact_url_userinfo(text)
        ))
        .hint("write it as postgres://USER@HOST:5432/DATABASE (the password in HRLOGS_ARCHIVE_PASSWORD, PGPASSWORD or ~/.pgpass)")
    })?;
    let in_query = url.query_pairs().any(|(k, _)| k == "password");
    if from_flag && (url.password().is_some() || in_query) {
        return Err(Error::input(
            "--archive: a password inside the URL is refused on the command line (other users of this machine can read a process's arguments)",
        )
        .hint("drop it from the URL and set HRLOGS_ARCHIVE_PASSWORD, PGPASSWORD or ~/.pgpass (mode 0600); or put the whole URL in HRLOGS_ARCHIVE or archive.path"));
    }
    let mut password = url
        .password()
        .map(|p| SecretString::from(percent_decode(p)));
    if in_query {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if let Some((_, p)) = pairs.iter().find(|(k, _)| k == "password") {
            password = Some(SecretString::from(p.clone()));
        }
        let kept: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "password").collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut()
                .clear()
                .extend_pairs(kept.iter().map(|(k, v)| (k, v)));
        }
    }
    if url.password().is_some() {
        // Cannot fail for a URL that has a password (it has a host).
        let _ = url.set_password(None);
    }
    let schema = check_schema(
        settings
            .schema
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("hrlogs"),
    )?;
    let password = password.or(settings.password);
    if let Some(p) = &password {
        use secrecy::ExposeSecret;
        redactor.register(p.expose_secret());
    }
    Ok(Location::Postgres(PgLocation {
        url,
        password,
        schema,
        redactor: redactor.clone(),
    }))
}

/// `%XX` sequences decoded (a user name or password in a URL).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn settings(path: Option<&str>) -> ArchiveSettings {
        ArchiveSettings {
            path: path.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn a_url_picks_postgres_and_a_path_sqlite() {
        let l = resolve(
            Some(Path::new("/tmp/a.sqlite3")),
            settings(None),
            &crate::redact::Redactor::new(),
        )
        .expect("path");
        assert!(matches!(l, Location::Sqlite(_)));
        for url in [
            "postgres://me@db.example:5432/audit",
            "postgresql://me@db.example/audit?sslmode=require",
            "POSTGRES://me@db.example/audit",
        ] {
            let l = resolve(
                Some(Path::new(url)),
                settings(None),
                &crate::redact::Redactor::new(),
            )
            .expect(url);
            let Location::Postgres(pg) = l else {
                panic!("{url} taken for a file")
            };
            assert_eq!(pg.schema, "hrlogs");
            assert!(pg.password.is_none());
        }
    }

    #[test]
    fn a_password_on_the_flag_is_refused_and_one_from_the_environment_is_kept_hidden() {
        for url in [
            "postgres://me:hunter2secret@db.example/audit",
            "postgres://me@db.example/audit?password=hunter2secret",
        ] {
            let e = resolve(
                Some(Path::new(url)),
                settings(None),
                &crate::redact::Redactor::new(),
            )
            .expect_err(url);
            assert_eq!(e.kind.exit_code(), 2);
            assert!(!e.to_string().contains("hunter2secret"), "{e}");
        }
        let l = resolve(
            None,
            settings(Some(
                "postgres://me:hunter2%40x@db.example/audit?sslmode=disable",
            )),
            &crate::redact::Redactor::new(),
        )
        .expect("env");
        let Location::Postgres(pg) = &l else {
            panic!("not postgres")
        };
        assert_eq!(
            pg.password.as_ref().map(|p| p.expose_secret().to_string()),
            Some("hunter2@x".to_string())
        );
        let shown = format!("{l} {l:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("me@db.example"), "{shown}");
        let l = resolve(
            None,
            settings(Some(
                "postgres://me@db.example/audit?password=hunter2secret&sslmode=disable",
            )),
            &crate::redact::Redactor::new(),
        )
        .expect("query password");
        assert!(!l.to_string().contains("hunter2secret"));
        assert!(l.to_string().contains("sslmode=disable"));
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema("hrlogs_team1").is_ok());
        for bad in ["", "1abc", "a-b", "a\"b", "x;drop", &"a".repeat(64)] {
            assert!(check_schema(bad).is_err(), "{bad}");
        }
    }
}
