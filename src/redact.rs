//! Redaction: secrets never printed. A run's [`Redactor`] knows its secrets (registered as
//! they are learnt) and redacts them from every line the run prints, also when a server
//! echoes them percent-encoded or in base64; [`clean`] redacts what looks like a secret in
//! any text and escapes it for the terminal. A leaf: it imports only `sanitize`.

use std::sync::{Arc, Mutex};

/// Shorter strings are not taken for secrets (they would redact ordinary words).
const MIN_SECRET_LEN: usize = 6;

/// What a redacted secret is shown as.
pub const REDACTED: &str = "<redacted>";

/// The secrets of one run (app secret, tenant tokens, API token), redacted from everything
/// the run prints — also when a server echoes them, encoded or not. One per run, handed to
/// whoever learns a secret (the token exchange, the clients) and whoever prints (`Progress`,
/// `main`): no process-global registry.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Arc<Mutex<Vec<String>>>,
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Remembers `secret` so that [`Redactor::clean`] redacts it from every message.
    pub fn register(&self, secret: &str) {
        let secret = secret.trim();
        if secret.len() < MIN_SECRET_LEN {
            return;
        }
        if let Ok(mut list) = self.secrets.lock() {
            if !list.iter().any(|s| s == secret) {
                list.push(secret.to_string());
                // Longest first, so that a secret holding another is redacted whole.
                list.sort_by_key(|s| std::cmp::Reverse(s.len()));
            }
        }
    }

    /// A message made safe to print: this run's secrets redacted (also encoded echoes),
    /// then [`clean`].
    pub fn clean(&self, text: &str) -> String {
        clean(&self.secrets_only(text))
    }

    /// Only this run's secrets redacted (also encoded echoes): for lines hrlogs writes
    /// itself (progress, `-v`), which hold no stranger's control characters.
    pub fn secrets_only(&self, text: &str) -> String {
        let mut out = text.to_string();
        if let Ok(list) = self.secrets.lock() {
            for s in list.iter() {
                if out.contains(s.as_str()) {
                    out = out.replace(s.as_str(), REDACTED);
                }
            }
            if !list.is_empty() {
                out = redact_encoded(&out, &list);
            }
        }
        out
    }
}

/// A message made safe to print without knowing the run's secrets: what looks like one
/// redacted (a URL's `user:password@`, `Bearer …`, `app_secret=…`, token shapes), control,
/// bidi and zero-width characters escaped, so it stays one line and cannot drive the terminal.
pub fn clean(text: &str) -> String {
    let out = redact_url_userinfo(text);
    let out = redact_after_markers(&out);
    let out = redact_token_shapes(&out);
    crate::sanitize::escape_for_terminal(&out)
}

/// The secrets a server echoes encoded, redacted: percent-encoding (`%XX` in either case, `+`
/// or `%20` for a space, any character encoded or not) and base64 (standard or URL-safe,
/// padded or not, also of `user:secret` as in Basic auth). The text is decoded, and what
/// decodes to a secret is redacted: the encoded span of a percent-encoded secret, the whole
/// run of a base64 one.
fn redact_encoded(text: &str, secrets: &[String]) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for plus_is_space in [true, false] {
        let (decoded, from) = percent_decoded(text, plus_is_space);
        for secret in secrets {
            for at in memchr::memmem::find_iter(&decoded, secret.as_bytes()) {
                let last = at + secret.len().saturating_sub(1);
                if let (Some(&(start, _)), Some(&(_, end))) = (from.get(at), from.get(last)) {
                    ranges.push((start, end));
                }
            }
        }
    }
    ranges.extend(base64_runs_holding(text, secrets));
    if ranges.is_empty() {
        return text.to_string();
    }
    ranges.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (mut start, mut end) in ranges {
        // Whole characters only (a span always starts and ends on one; this is a guard).
        while start > 0 && !text.is_char_boundary(start) {
            start -= 1;
        }
        while end < text.len() && !text.is_char_boundary(end) {
            end += 1;
        }
        if end <= pos {
            continue;
        }
        let start = start.max(pos);
        out.push_str(text.get(pos..start).unwrap_or_default());
        if !out.ends_with(REDACTED) || start > pos {
            out.push_str(REDACTED);
        }
        pos = end;
    }
    out.push_str(text.get(pos..).unwrap_or_default());
    out
}

/// `text` percent-decoded (`+` as a space when `plus_is_space`), with the span of `text`
/// that each decoded byte came from.
fn percent_decoded(text: &str, plus_is_space: bool) -> (Vec<u8>, Vec<(usize, usize)>) {
    let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
    let b = text.as_bytes();
    let mut decoded = Vec::with_capacity(b.len());
    let mut from = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let (byte, len) = match c {
            b'%' => match (hex(b.get(i + 1)), hex(b.get(i + 2))) {
                // Two hex digits make one byte: no overflow.
                (Some(high), Some(low)) => (u8::try_from(high * 16 + low).unwrap_or(c), 3),
                _ => (c, 1),
            },
            b'+' if plus_is_space => (b' ', 1),
            _ => (c, 1),
        };
        decoded.push(byte);
        from.push((i, i + len));
        i += len;
    }
    (decoded, from)
}

/// The value of a base64 character, of either alphabet (standard `+/`, URL-safe `-_`).
fn base64_value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// The bytes of base64 text (without padding; a last group of 2 or 3 characters gives 1 or 2).
fn base64_decoded(chars: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(chars.len() / 4 * 3 + 3);
    for group in chars.chunks(4) {
        let mut n: u32 = 0;
        for (k, c) in group.iter().enumerate() {
            n |= base64_value(*c).unwrap_or(0) << (18 - 6 * k);
        }
        let bytes = group.len().saturating_sub(1);
        out.extend(n.to_be_bytes().iter().skip(1).take(bytes));
    }
    out
}

/// The spans of `text` (runs of base64 characters and their padding) whose decoding holds a
/// secret. A run may start with other text (`/path/…`): it is decoded from each of its first
/// four characters, so that one of them is aligned with the encoded value.
fn base64_runs_holding(text: &str, secrets: &[String]) -> Vec<(usize, usize)> {
    // The shortest secret's encoding.
    let Some(shortest) = secrets.iter().map(String::len).min() else {
        return Vec::new();
    };
    let min_run = (shortest.div_ceil(3) * 4).saturating_sub(2);
    let b = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b.get(i).and_then(|c| base64_value(*c)).is_none() {
            i += 1;
            continue;
        }
        let start = i;
        while b.get(i).and_then(|c| base64_value(*c)).is_some() {
            i += 1;
        }
        let run = b.get(start..i).unwrap_or_default();
        let mut end = i;
        while b.get(end) == Some(&b'=') {
            end += 1;
        }
        if run.len() >= min_run {
            let holds = (0..4.min(run.len())).any(|skip| {
                let decoded = base64_decoded(run.get(skip..).unwrap_or_default());
                secrets
                    .iter()
                    .any(|s| memchr::memmem::find(&decoded, s.as_bytes()).is_some())
            });
            if holds {
                spans.push((start, end));
            }
        }
        i = end.max(i);
    }
    spans
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
        let r = Redactor::new();
        r.register("s3cr3t-app-secret");
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
            let c = r.clean(text);
            assert!(!c.contains(secret), "{text:?} -> {c:?}");
            assert!(c.contains(REDACTED), "{text:?} -> {c:?}");
        }
        let e = crate::error::Error::api("line one\nline two \u{1b}[31mred\u{202e}");
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

    #[test]
    fn secrets_echoed_encoded_are_redacted() {
        let secret = "p@ss w/rd+Zk9=x";
        let r = Redactor::new();
        r.register(secret);
        let b64 = |bytes: &[u8], table: &[u8; 64], pad: bool| {
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let b = [0, 1, 2].map(|k| chunk.get(k).copied().unwrap_or(0));
                let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
                for k in 0..=chunk.len() {
                    out.push(char::from(table[((n >> (18 - 6 * k)) & 63) as usize]));
                }
                if pad {
                    out.push_str(&"=".repeat(3 - chunk.len()));
                }
            }
            out
        };
        let standard = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let url_safe = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let every_byte: String = secret.bytes().map(|b| format!("%{b:02x}")).collect();
        let mut encoded = vec![
            // Form encoding: `+` for the space, `%2B` for the plus.
            "p%40ss+w%2Frd%2BZk9%3Dx".to_string(),
            "p%40ss%20w%2frd%2bZk9%3dx".to_string(),
            // A lax encoder: only the space and `@` encoded.
            "p%40ss%20w/rd+Zk9=x".to_string(),
            every_byte,
        ];
        for user in ["", "u", "bo", "bob"] {
            let plain = if user.is_empty() {
                secret.to_string()
            } else {
                format!("{user}:{secret}")
            };
            for (table, pad) in [
                (standard, true),
                (standard, false),
                (url_safe, true),
                (url_safe, false),
            ] {
                encoded.push(b64(plain.as_bytes(), table, pad));
            }
        }
        for e in &encoded {
            for text in [
                format!("refused {e}"),
                format!("{{\"echo\":\"{e}\"}}"),
                format!("GET /x?a=1&key={e}&b=2 refused"),
                format!("Authorization: Basic {e}, retry"),
                format!("https://h/path/{e}/more"),
            ] {
                let c = r.clean(&text);
                assert!(!c.contains(e.as_str()), "{text:?} -> {c:?}");
                assert!(c.contains(REDACTED), "{text:?} -> {c:?}");
            }
        }
        let c = r.clean("GET /x?a=1&key=p%40ss+w%2Frd%2BZk9%3Dx&b=2 refused");
        assert_eq!(c, "GET /x?a=1&key=<redacted>&b=2 refused");
        // Ordinary encoded text stays.
        for text in [
            "GET /x?q=hello%20world&page=2",
            "base64 aGVsbG8gd29ybGQ= is hello world",
            "100% done + more",
        ] {
            assert_eq!(r.clean(text), text);
        }
        // Another run's redactor knows none of these secrets.
        assert!(Redactor::new().clean(secret).contains("w/rd"));
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
