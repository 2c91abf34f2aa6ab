//! The server to connect to, as libpq would find it: the URL (`postgres://USER@HOST:PORT/DB`,
//! `?sslmode=`, `?host=/socket/dir`), else `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`,
//! `PGSSLMODE`, else the defaults (the local socket, 5432, the login name). The password: the
//! URL's or `archive.password`, else `PGPASSWORD`, else the matching line of `~/.pgpass`
//! (`PGPASSFILE`), which is read only when no one else may read it (mode 0600).

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::archive::location::{PgLocation, percent_decode};
use crate::error::{Error, Result};

/// How the connection is encrypted (`sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Never.
    Disable,
    /// When the server offers it, without checking its certificate (libpq's default).
    Prefer,
    /// Always, without checking the certificate (as libpq does).
    Require,
    /// Always, the certificate checked against the roots and the host name.
    VerifyFull,
}

/// Where the server listens.
#[derive(Debug, Clone)]
pub enum Host {
    Tcp(String),
    /// The folder of a Unix socket.
    Socket(PathBuf),
}

/// Everything needed to connect.
#[derive(Clone)]
pub struct Target {
    pub host: Host,
    pub port: u16,
    pub user: String,
    pub dbname: String,
    pub sslmode: SslMode,
    /// A PEM file of the roots to trust (`sslrootcert=`), for `verify-full`.
    pub sslrootcert: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub application_name: String,
    pub password: Option<SecretString>,
    /// Why `~/.pgpass` was not read (said when the server asks for a password).
    pub pgpass_note: Option<String>,
    pub schema: String,
}

impl Target {
    /// The server and database, for messages: `127.0.0.1:5432, database test, user root`.
    pub fn server(&self) -> String {
        let at = match &self.host {
            Host::Tcp(h) if h.contains(':') => format!("[{h}]:{}", self.port),
            Host::Tcp(h) => format!("{h}:{}", self.port),
            Host::Socket(dir) => format!("the socket in {} (port {})", dir.display(), self.port),
        };
        format!("{at}, database {}, user {}", self.dbname, self.user)
    }
}

/// The query parameters a URL may carry.
const PARAMS: &[&str] = &[
    "sslmode",
    "sslrootcert",
    "connect_timeout",
    "application_name",
    "host",
    "port",
    "user",
    "dbname",
];

/// The connection target of `loc`, with `env` standing for the process environment.
pub fn resolve(loc: &PgLocation, env: &dyn Fn(&str) -> Option<String>) -> Result<Target> {
    let url = &loc.url;
    let bad = |what: String| {
        Error::input(format!("the archive URL {url}: {what}"))
            .hint("write it as postgres://USER@HOST:5432/DATABASE?sslmode=require")
    };
    let mut q: std::collections::HashMap<String, String> = Default::default();
    for (k, v) in url.query_pairs() {
        if !PARAMS.contains(&k.as_ref()) {
            return Err(bad(format!(
                "unknown parameter {k:?} (hrlogs understands {})",
                PARAMS.join(", ")
            )));
        }
        q.insert(k.into_owned(), v.into_owned());
    }
    let url_host = url
        .host_str()
        .map(|h| percent_decode(h.trim_start_matches('[').trim_end_matches(']')))
        .filter(|h| !h.is_empty());
    let host_text = q
        .get("host")
        .cloned()
        .or(url_host)
        .or_else(|| env("PGHOST"))
        .filter(|h| !h.is_empty());
    let port = match q
        .get("port")
        .cloned()
        .or_else(|| url.port().map(|p| p.to_string()))
        .or_else(|| env("PGPORT"))
    {
        Some(p) => p
            .trim()
            .parse::<u16>()
            .map_err(|_| bad(format!("port {p:?} is not a port number")))?,
        None => 5432,
    };
    let host = match host_text {
        Some(h) if h.starts_with('/') => Host::Socket(PathBuf::from(h)),
        Some(h) => Host::Tcp(h),
        None => {
            let dir = Path::new("/var/run/postgresql");
            if dir.join(format!(".s.PGSQL.{port}")).exists() {
                Host::Socket(dir.to_path_buf())
            } else {
                Host::Tcp("localhost".into())
            }
        }
    };
    let user = q
        .get("user")
        .cloned()
        .or_else(|| Some(percent_decode(url.username())).filter(|u| !u.is_empty()))
        .or_else(|| env("PGUSER"))
        .or_else(|| env("USER"))
        .or_else(|| env("LOGNAME"))
        .ok_or_else(|| bad("no user name".into()))?;
    let path_db = percent_decode(url.path().trim_start_matches('/'));
    let dbname = q
        .get("dbname")
        .cloned()
        .or_else(|| Some(path_db).filter(|d| !d.is_empty()))
        .or_else(|| env("PGDATABASE"))
        .unwrap_or_else(|| user.clone());
    let sslmode = match q
        .get("sslmode")
        .cloned()
        .or_else(|| env("PGSSLMODE"))
        .as_deref()
    {
        None | Some("prefer") => SslMode::Prefer,
        Some("disable") => SslMode::Disable,
        Some("require") => SslMode::Require,
        Some("verify-full") => SslMode::VerifyFull,
        Some(other) => {
            return Err(bad(format!(
                "sslmode {other:?} is not one hrlogs knows: disable, prefer, require or verify-full"
            )));
        }
    };
    let connect_timeout = match q.get("connect_timeout") {
        Some(t) => Duration::from_secs(
            t.trim()
                .parse::<u64>()
                .map_err(|_| bad(format!("connect_timeout {t:?} is not a number of seconds")))?
                .max(1),
        ),
        None => Duration::from_secs(10),
    };
    let mut target = Target {
        host,
        port,
        user,
        dbname,
        sslmode,
        sslrootcert: q.get("sslrootcert").map(PathBuf::from),
        connect_timeout,
        application_name: q
            .get("application_name")
            .cloned()
            .unwrap_or_else(|| "hrlogs".into()),
        password: loc
            .password
            .clone()
            .filter(|p| !p.expose_secret().is_empty()),
        pgpass_note: None,
        schema: loc.schema.clone(),
    };
    if target.password.is_none() {
        if let Some(p) = env("PGPASSWORD").filter(|p| !p.is_empty()) {
            target.password = Some(p.into());
        }
    }
    if target.password.is_none() {
        let file = env("PGPASSFILE")
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|h| Path::new(&h).join(".pgpass")));
        if let Some(file) = file {
            match pgpass(&file, &target) {
                Ok(p) => target.password = p.map(SecretString::from),
                Err(note) => target.pgpass_note = Some(note),
            }
        }
    }
    if let Some(p) = &target.password {
        loc.redactor.register(p.expose_secret());
    }
    Ok(target)
}

/// The password of the first line of the password file that matches `t`; an explanation
/// when the file exists but cannot be used (others may read it, it cannot be read).
fn pgpass(file: &Path, t: &Target) -> std::result::Result<Option<String>, String> {
    let meta = match std::fs::metadata(file) {
        Ok(m) => m,
        Err(_) => return Ok(None),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} was not read: others may read it (mode {mode:04o}); chmod 600 {}",
                file.display(),
                file.display()
            ));
        }
    }
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", file.display()));
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{} could not be read: {e}", file.display()))?;
    let host = match &t.host {
        Host::Tcp(h) => h.clone(),
        // libpq: a socket connection matches `localhost` (and the socket's folder).
        Host::Socket(_) => "localhost".into(),
    };
    let socket_dir = match &t.host {
        Host::Socket(d) => Some(d.display().to_string()),
        Host::Tcp(_) => None,
    };
    let port = t.port.to_string();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        let [h, p, d, u, pw] = fields.as_slice() else {
            continue;
        };
        let host_ok = h == "*" || *h == host || socket_dir.as_deref().is_some_and(|dir| h == dir);
        let matches = |field: &str, value: &str| field == "*" || field == value;
        if host_ok && matches(p, &port) && matches(d, &t.dbname) && matches(u, &t.user) {
            return Ok(Some(pw.clone()));
        }
    }
    Ok(None)
}

/// A `.pgpass` line's fields: `:` separates them, `\:` and `\\` stand for `:` and `\`.
fn split_pgpass(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(last)) = (chars.next(), out.last_mut()) {
                    last.push(next);
                }
            }
            ':' if out.len() < 5 => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(url: &str) -> PgLocation {
        PgLocation {
            url: url::Url::parse(url).expect("url"),
            password: None,
            schema: "hrlogs".into(),
            redactor: crate::redact::Redactor::new(),
        }
    }

    #[test]
    fn the_url_then_the_environment_then_the_defaults() {
        let none = |_: &str| None;
        let t = resolve(
            &loc("postgres://me@db.example:6432/audit?sslmode=verify-full"),
            &none,
        )
        .expect("target");
        assert!(matches!(&t.host, Host::Tcp(h) if h == "db.example"));
        assert_eq!(
            (t.port, t.user.as_str(), t.dbname.as_str()),
            (6432, "me", "audit")
        );
        assert_eq!(t.sslmode, SslMode::VerifyFull);
        let env = |k: &str| match k {
            "PGUSER" => Some("envuser".to_string()),
            "PGPORT" => Some("7777".to_string()),
            "PGSSLMODE" => Some("disable".to_string()),
            _ => None,
        };
        let t = resolve(&loc("postgres://[::1]/"), &env).expect("target");
        assert!(matches!(&t.host, Host::Tcp(h) if h == "::1"));
        assert_eq!(
            (t.port, t.user.as_str(), t.dbname.as_str()),
            (7777, "envuser", "envuser")
        );
        assert_eq!(t.sslmode, SslMode::Disable);
        assert!(t.server().contains("[::1]:7777"));
        let t = resolve(&loc("postgresql://u@x/db?host=/run/pg"), &none).expect("socket");
        assert!(matches!(&t.host, Host::Socket(d) if d == Path::new("/run/pg")));
        for bad in [
            "postgres://u@h/db?sslmode=allow",
            "postgres://u@h/db?nope=1",
            "postgres://u@h/db?connect_timeout=x",
        ] {
            assert_eq!(
                resolve(&loc(bad), &none).err().map(|e| e.kind.exit_code()),
                Some(2),
                "{bad}"
            );
        }
    }

    #[test]
    fn pgpass_lines_match_with_wildcards_and_escapes_and_only_a_private_file_is_read() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:5432:*:*:no\ndb.example:*:audit:me:pa\\:ss\\\\word\n*:*:*:*:pgpass-fallback-x1\n",
        )
        .expect("write");
        let path = file.display().to_string();
        let env = |k: &str| (k == "PGPASSFILE").then(|| path.clone());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            let t = resolve(&loc("postgres://me@db.example/audit"), &env).expect("target");
            assert!(t.password.is_none());
            assert!(
                t.pgpass_note
                    .as_deref()
                    .is_some_and(|n| n.contains("chmod 600"))
            );
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        let t = resolve(&loc("postgres://me@db.example/audit"), &env).expect("target");
        assert_eq!(
            t.password.as_ref().map(|p| p.expose_secret().to_string()),
            Some("pa:ss\\word".to_string())
        );
        let t = resolve(&loc("postgres://you@db.example/audit"), &env).expect("target");
        assert_eq!(
            t.password.as_ref().map(|p| p.expose_secret().to_string()),
            Some("pgpass-fallback-x1".to_string())
        );
        let env2 = |k: &str| match k {
            "PGPASSFILE" => Some(path.clone()),
            "PGPASSWORD" => Some("pgpass-from-env-x1".to_string()),
            _ => None,
        };
        let t = resolve(&loc("postgres://me@db.example/audit"), &env2).expect("target");
        assert_eq!(
            t.password.as_ref().map(|p| p.expose_secret().to_string()),
            Some("pgpass-from-env-x1".to_string())
        );
    }
}
