//! The one error type of hrlogs: a kind that decides the exit code, a message that names what
//! failed (with the vendor's code and message where there is one), and a hint for the fix.
//! Every message passes through [`clean`] when it becomes an `Error` and again when it is
//! printed: one line, control characters escaped, secrets redacted (also those a server echoes).

use std::fmt;
use std::process::ExitCode;

/// What went wrong, as far as the exit code is concerned (see the contract's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Writing the output failed, or something else outside the contract's table: exit 1.
    Other,
    /// Bad flags, dates, ranges or files, found before any request: exit 2.
    Input,
    /// Credentials or configuration missing, rejected or forbidden: exit 3.
    Config,
    /// The vendor refused the request and retrying cannot help: exit 4.
    Api,
    /// The network or the vendor kept failing after every retry, or paging made no progress: exit 5.
    Unavailable,
    /// `archive verify`: the archive was altered: exit 6.
    Tampered,
    /// Ctrl-C: exit 130.
    Interrupted,
    /// SIGTERM (cron's `timeout`, systemd): exit 143.
    Terminated,
    /// SIGHUP (the terminal went away): exit 129.
    HungUp,
    /// The reader of stdout went away (`| head`): a normal end, exit 0, nothing printed.
    PipeClosed,
}

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Other => 1,
            Kind::Input => 2,
            Kind::Config => 3,
            Kind::Api => 4,
            Kind::Unavailable => 5,
            Kind::Tampered => 6,
            Kind::Interrupted => 130,
            Kind::Terminated => 143,
            Kind::HungUp => 129,
            Kind::PipeClosed => 0,
        }
    }
}

#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: clean(&message.into()),
            hint: None,
        }
    }
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(Kind::Input, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Kind::Config, message)
    }
    pub fn api(message: impl Into<String>) -> Self {
        Self::new(Kind::Api, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable, message)
    }
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(Kind::Other, message)
    }
    pub fn interrupted() -> Self {
        Self::new(Kind::Interrupted, "interrupted")
    }
    /// Adds what the user can do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(clean(&hint.into()));
        self
    }
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.kind.exit_code())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&clean(&self.message))?;
        if let Some(hint) = &self.hint {
            write!(f, " — {}", clean(hint))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Error::new(Kind::PipeClosed, "broken pipe");
        }
        Error::other(format!("writing the output failed: {e}"))
    }
}

/// Secrets of this run (app secret, tenant tokens, API token), redacted wherever they appear.
static SECRETS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Shorter strings are not taken for secrets (they would redact ordinary words).
const MIN_SECRET_LEN: usize = 6;

/// What a redacted secret is shown as.
pub const REDACTED: &str = "<redacted>";

/// Remembers `secret` so that [`clean`] redacts it from every message, even one a server echoes.
pub fn register_secret(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    if let Ok(mut list) = SECRETS.lock() {
        if !list.iter().any(|s| s == secret) {
            list.push(secret.to_string());
            // Longest first, so that a secret holding another is redacted whole.
            list.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }
}

/// A message made safe to print: secrets redacted, control, bidi and zero-width characters
/// escaped, so it stays one line and cannot drive the terminal.
pub fn clean(text: &str) -> String {
    let mut out = text.to_string();
    if let Ok(list) = SECRETS.lock() {
        for s in list.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
    }
    let out = redact_url_userinfo(&out);
    let out = redact_after_markers(&out);
    let out = redact_token_shapes(&out);
    crate::output::escape_for_terminal(&out)
}

/// `scheme://user:password@host` with the user and password replaced by `<redacted>`.
pub fn redact_url_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace() || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str(REDACTED);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=')
}

/// The value after `Bearer `, and after a key that names a secret (`"app_secret":"…"`,
/// `api_token=…`, `password: …`), replaced by `<redacted>`.
fn redact_after_markers(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    // (start, end) byte ranges to redact.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let value_at = |from: usize| -> Option<(usize, usize)> {
        let bytes = text.as_bytes();
        let mut i = from;
        // Skip what separates a key from its value: quotes, colon, equals, spaces.
        while i < bytes.len() && matches!(bytes[i], b'"' | b'\'' | b':' | b'=' | b' ' | b'\\') {
            i += 1;
        }
        let start = i;
        let end = text[start..]
            .find(|c: char| !is_token_char(c))
            .map_or(text.len(), |e| start + e);
        (end > start && text[start..end] != *REDACTED).then_some((start, end))
    };
    let mut search = 0;
    while let Some(i) = lower[search..].find("bearer ") {
        let at = search + i + "bearer ".len();
        if let Some(r) = value_at(at) {
            ranges.push(r);
        }
        search = at;
    }
    for key in ["secret", "token", "password", "passwd"] {
        let mut search = 0;
        while let Some(i) = lower[search..].find(key) {
            let key_start = search + i;
            let key_end = key_start + key.len();
            search = key_end;
            // The key's own name: letters, digits and `_` around the marker.
            let name_start = lower[..key_start]
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
                .map_or(0, |(p, c)| p + c.len_utf8());
            let name_end = lower[key_end..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(lower.len(), |p| key_end + p);
            let name = &lower[name_start..name_end];
            if name.contains("page") || name.starts_with("invalid") {
                // Page tokens are not secrets (and help to tell what looped); `invalid_token:`
                // is Recruitee's error code, followed by its message.
                continue;
            }
            // Only a key followed by `:` or `=` (perhaps after a closing quote) has a value.
            let after = &text[name_end..];
            let sep = after.trim_start_matches(['"', '\'', ' ', '\\']);
            if !(sep.starts_with(':') || sep.starts_with('=')) {
                continue;
            }
            if let Some((start, end)) = value_at(name_end) {
                // A token is long; a short word after `token:` is prose ("token: none").
                if key != "token" || end - start >= 8 {
                    ranges.push((start, end));
                }
            }
        }
    }
    if ranges.is_empty() {
        return text.to_string();
    }
    ranges.sort();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (start, end) in ranges {
        if start < pos {
            continue;
        }
        out.push_str(&text[pos..start]);
        out.push_str(REDACTED);
        pos = end;
    }
    out.push_str(&text[pos..]);
    out
}

/// Feishu's token shapes (`t-…`, `u-…` with 20 or more characters after the dash).
fn redact_token_shapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        if i < pos {
            prev = Some(c);
            continue;
        }
        let boundary = prev.is_none_or(|p| !is_token_char(p));
        prev = Some(c);
        if !(boundary && matches!(c, 't' | 'u') && text[i + 1..].starts_with('-')) {
            continue;
        }
        let start = i + 2;
        let len = text[start..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(text.len() - start);
        if len >= 20 {
            out.push_str(&text[pos..i]);
            out.push_str(REDACTED);
            pos = start + len;
        }
    }
    out.push_str(&text[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_hold_no_secret() {
        register_secret("s3cr3t-app-secret");
        let cases = [
            (
                "code 10014: app secret s3cr3t-app-secret invalid",
                "s3cr3t-app-secret",
            ),
            ("Authorization: Bearer abc.def-123 refused", "abc.def-123"),
            (r#"{"app_secret":"xyz987654"}"#, "xyz987654"),
            ("api_token=qwerty12345&x=1", "qwerty12345"),
            (
                "token t-g1044ghJRUIJJ5ELPZ5PWTOFQNLXPZ2BJ2UQ45KQ is invalid",
                "g1044ghJRUIJJ5",
            ),
            ("https://bob:hunter2@gw.example.com/feishu", "hunter2"),
        ];
        for (text, secret) in cases {
            let c = clean(text);
            assert!(!c.contains(secret), "{text:?} -> {c:?}");
            assert!(c.contains(REDACTED), "{text:?} -> {c:?}");
        }
        let e = Error::api("line one\nline two \u{1b}[31mred\u{202e}");
        let shown = e.to_string();
        assert!(!shown.contains('\n') && !shown.contains('\u{1b}') && !shown.contains('\u{202e}'));
        assert!(shown.contains("line one\\nline two"));
        // Ordinary words stay.
        assert_eq!(
            clean("page token \"p2\" repeated"),
            "page token \"p2\" repeated"
        );
        assert_eq!(clean("the token was refused"), "the token was refused");
        assert_eq!(
            clean("HTTP 401: invalid_token: Token not found."),
            "HTTP 401: invalid_token: Token not found."
        );
        assert!(!clean("access_token: abcdefgh1234").contains("abcdefgh1234"));
        assert_eq!(
            clean("https://open.feishu.cn/x?y"),
            "https://open.feishu.cn/x?y"
        );
        // Not a panic on odd UTF-8 around the markers.
        let _ = clean("张token:三 bearer 李 t-四 ://@");
    }

    proptest::proptest! {
        #[test]
        fn cleaning_never_panics_and_leaves_one_line(text in "(?s).{0,80}", key in "(secret|token|bearer |t-|://|@|page_token)") {
            let text = format!("{text}{key}{text}");
            let c = clean(&text);
            proptest::prop_assert!(!c.contains('\n') && !c.contains('\r'));
        }
    }
}
