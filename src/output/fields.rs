//! A record's fields read from its JSON text, for the formats that pick columns (csv, table,
//! xlsx): the top level is split once into keys and borrowed value texts, deeper levels only
//! when a column asks; only a column's own value is ever parsed, never the record. What a
//! column gives is exactly what it gives on the parsed record (`serde_json::Value`, members in
//! the order written), cell for cell; the property test below holds the two together.
//!
//! The text is a record's `RawValue`, so it is valid JSON already; the scanner still checks
//! every step and answers None (the column is empty) rather than panic on anything else.

use std::borrow::Cow;

use serde_json::Value;

use super::columns::{Column, cell_text};
use crate::record::Record;

/// One record's fields (see the module's documentation).
pub struct Fields<'a> {
    text: &'a str,
    /// The top-level members, in the order written, when the record is an object.
    top: Option<Vec<Member<'a>>>,
}

/// An object's member: its key (unescaped), its value's JSON text, and whether that text holds
/// a backslash (a string without one is its own content, between the quotes).
struct Member<'a> {
    key: Cow<'a, str>,
    value: &'a str,
    escaped: bool,
}

/// A cell's text, and whether the value was a JSON string (only strings can be formulas).
pub struct Cell<'a> {
    pub text: Cow<'a, str>,
    pub string: bool,
}

impl<'a> Fields<'a> {
    pub fn of(record: &'a Record) -> Fields<'a> {
        let text = record.raw.get();
        Fields {
            text,
            top: members(text),
        }
    }

    /// The JSON text of the value at `path`, if there is one, and whether it may hold an
    /// escape.
    fn raw(&self, path: &[String]) -> Option<(&'a str, bool)> {
        let (first, rest) = path.split_first()?;
        let mut value = match &self.top {
            // The last of duplicate keys wins, as in a parsed `Value`.
            Some(top) => top
                .iter()
                .rev()
                .find(|m| m.key == first.as_str())
                .map(|m| (m.value, m.escaped))?,
            None => (step(self.text, first)?, true),
        };
        for part in rest {
            value = (step(value.0, part)?, true);
        }
        Some(value)
    }

    /// Whether the record has a value at `path`.
    pub fn has(&self, path: &[String]) -> bool {
        self.raw(path).is_some()
    }

    /// The record's top-level field names in the order written, each once (as a parsed
    /// `Value` lists them).
    pub fn names(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        self.top
            .iter()
            .flatten()
            .filter(|m| seen.insert(m.key.as_ref()))
            .map(|m| m.key.to_string())
            .collect()
    }

    /// The column's value (for the formats that show it typed: table, xlsx).
    pub fn value(&self, column: &Column) -> Value {
        let value = self
            .raw(&column.path)
            .and_then(|(raw, _)| serde_json::from_str(raw).ok())
            .unwrap_or(Value::Null);
        match column.derive {
            Some(derive) => derive(&value),
            None => value,
        }
    }

    /// The column's text as [`cell_text`] gives it, borrowed from the record where it can be.
    pub fn cell(&self, column: &Column) -> Cell<'a> {
        let parsed = |value: Value| Cell {
            string: value.is_string(),
            text: Cow::Owned(cell_text(&value)),
        };
        if column.derive.is_some() {
            return parsed(self.value(column));
        }
        let Some((raw, escaped)) = self.raw(&column.path) else {
            return Cell {
                text: Cow::Borrowed(""),
                string: false,
            };
        };
        if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            let text = if escaped {
                unquote(raw)
            } else {
                Some(Cow::Borrowed(inner))
            };
            if let Some(text) = text {
                return Cell { text, string: true };
            }
        }
        // A plain integer is its own text; an object or array is its text made compact when
        // that is certain to be what writing it parsed gives; anything else is parsed.
        if plain_integer(raw.as_bytes()) {
            return Cell {
                text: Cow::Borrowed(raw),
                string: false,
            };
        }
        if let Some(text) = compact(raw) {
            return Cell {
                text,
                string: false,
            };
        }
        parsed(serde_json::from_str(raw).unwrap_or(Value::Null))
    }
}

/// One level down from the JSON text `value`: an object's member (the last of duplicates), or
/// an array's item by index.
fn step<'a>(value: &'a str, part: &str) -> Option<&'a str> {
    match value.as_bytes().first()? {
        b'{' => members(value)?
            .into_iter()
            .rev()
            .find(|m| m.key == part)
            .map(|m| m.value),
        b'[' => items(value)?.get(part.parse::<usize>().ok()?).copied(),
        _ => None,
    }
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Just past the closing quote of the string that opens at `i`, and whether the string holds
/// an escape.
fn string_end(b: &[u8], i: usize) -> Option<(usize, bool)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        j += memchr::memchr2(b'"', b'\\', b.get(j..)?)?;
        match *b.get(j)? {
            b'"' => return Some((j + 1, escaped)),
            _ => {
                escaped = true;
                j += 2;
            }
        }
    }
}

/// Just past the value that starts at `i`, and whether it may hold an escape (only strings
/// are told apart; a container always may).
fn value_end(b: &[u8], i: usize) -> Option<(usize, bool)> {
    match *b.get(i)? {
        b'"' => string_end(b, i),
        open @ (b'{' | b'[') => {
            // Outside strings, only this kind of bracket decides where the value ends.
            let close = if open == b'{' { b'}' } else { b']' };
            let mut depth = 0usize;
            let mut j = i;
            loop {
                j += memchr::memchr3(b'"', open, close, b.get(j..)?)?;
                match *b.get(j)? {
                    b'"' => {
                        j = string_end(b, j)?.0;
                        continue;
                    }
                    c if c == open => depth += 1,
                    _ => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some((j + 1, true));
                        }
                    }
                }
                j += 1;
            }
        }
        _ => {
            let rest = b.get(i..)?;
            let n = rest
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(rest.len());
            (n > 0).then_some((i + n, false))
        }
    }
}

/// The string in the quoted JSON text `quoted`: borrowed when it holds no escape.
fn unquote(quoted: &str) -> Option<Cow<'_, str>> {
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(quoted).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// The members of the JSON object `text`, in the order written, values as text.
fn members(text: &str) -> Option<Vec<Member<'_>>> {
    let b = text.as_bytes();
    let mut i = skip_space(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut out = Vec::with_capacity(16);
    i = skip_space(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(out);
    }
    loop {
        let (key_end, key_escaped) = string_end(b, i)?;
        let key = match key_escaped {
            false => Cow::Borrowed(text.get(i + 1..key_end - 1)?),
            true => unquote(text.get(i..key_end)?)?,
        };
        i = skip_space(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_space(b, i + 1);
        let (end, escaped) = value_end(b, i)?;
        out.push(Member {
            key,
            value: text.get(i..end)?,
            escaped,
        });
        i = skip_space(b, end);
        match *b.get(i)? {
            b',' => i = skip_space(b, i + 1),
            b'}' => return Some(out),
            _ => return None,
        }
    }
}

/// The items of the JSON array `text`, as text.
fn items(text: &str) -> Option<Vec<&str>> {
    let b = text.as_bytes();
    let mut i = skip_space(b, 0);
    if b.get(i) != Some(&b'[') {
        return None;
    }
    let mut out = Vec::new();
    i = skip_space(b, i + 1);
    if b.get(i) == Some(&b']') {
        return Some(out);
    }
    loop {
        let (end, _) = value_end(b, i)?;
        out.push(text.get(i..end)?);
        i = skip_space(b, end);
        match *b.get(i)? {
            b',' => i = skip_space(b, i + 1),
            b']' => return Some(out),
            _ => return None,
        }
    }
}

/// Digits that a parsed `Value` writes back the same: no sign, no leading zero, few enough to
/// be a `u64`.
fn plain_integer(text: &[u8]) -> bool {
    !text.is_empty()
        && text.len() < 19
        && text.iter().all(u8::is_ascii_digit)
        && (text == b"0" || text.first() != Some(&b'0'))
}

/// The most keys of one object that [`compact`] checks for doubles.
const MAX_KEYS: usize = 64;

/// An object's or array's JSON text without the whitespace between tokens, when that is
/// certain to be the text of the parsed `Value` (members in the order written): no escape but
/// those written back as they are, no number but a [`plain_integer`], no key twice in an
/// object (of at most [`MAX_KEYS`] keys). Borrowed when the text has no such whitespace (as
/// vendors send it); None otherwise, and the caller parses.
fn compact(text: &str) -> Option<Cow<'_, str>> {
    let bytes = text.as_bytes();
    if !matches!(bytes.first(), Some(b'{' | b'[')) {
        return None;
    }
    // The spans of `text` to keep: everything but the white space between tokens.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut from = 0;
    // Per open container: the keys of an object so far, or None for an array.
    let mut open: Vec<Option<Vec<&str>>> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                if from < i {
                    spans.push((from, i));
                }
                i += 1;
                from = i;
                continue;
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                loop {
                    j += memchr::memchr2(b'"', b'\\', bytes.get(j..)?)?;
                    match *bytes.get(j)? {
                        b'"' => break,
                        _ => match bytes.get(j + 1)? {
                            b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                            _ => return None,
                        },
                    }
                }
                if expect_key {
                    let content = text.get(start..j)?;
                    let keys = open.last_mut()?.as_mut()?;
                    // A key twice is left to the parser, and so is an object too large to
                    // check cheaply.
                    if keys.len() >= MAX_KEYS || keys.contains(&content) {
                        return None;
                    }
                    keys.push(content);
                    expect_key = false;
                }
                i = j + 1;
                continue;
            }
            b'{' => {
                open.push(Some(Vec::new()));
                expect_key = true;
            }
            b'[' => open.push(None),
            b'}' | b']' => {
                open.pop()?;
                expect_key = false;
            }
            b',' => expect_key = matches!(open.last(), Some(Some(_))),
            b':' => {}
            b'0'..=b'9' | b'-' => {
                let (end, _) = value_end(bytes, i)?;
                if !plain_integer(bytes.get(i..end)?) {
                    return None;
                }
                i = end;
                continue;
            }
            b't' | b'f' | b'n' => {
                let word = ["true", "false", "null"]
                    .into_iter()
                    .find(|w| bytes.get(i..).is_some_and(|r| r.starts_with(w.as_bytes())))?;
                i += word.len();
                continue;
            }
            _ => return None,
        }
        i += 1;
    }
    if !open.is_empty() {
        return None;
    }
    if spans.is_empty() {
        return Some(Cow::Borrowed(text));
    }
    if from < bytes.len() {
        spans.push((from, bytes.len()));
    }
    let mut out = String::with_capacity(text.len());
    for (a, b) in spans {
        out.push_str(text.get(a..b)?);
    }
    Some(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::value::RawValue;

    /// The column's value on the parsed record: what [`Fields`] must give without parsing it.
    fn reference(column: &Column, record: &Value) -> Value {
        let mut value = record;
        for part in &column.path {
            value = match value {
                Value::Object(map) => map.get(part),
                Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            }
            .unwrap_or(&Value::Null);
        }
        match column.derive {
            Some(derive) => derive(value),
            None => value.clone(),
        }
    }

    fn record(text: &str) -> Record {
        Record::new(RawValue::from_string(text.to_string()).expect("json"), 0)
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (0u64..3).prop_map(Value::from),
            (-1e12f64..1e12).prop_map(Value::from),
            "[a-z=+\\-@\"\\\\\u{1b}\n é张]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::vec(("[ab\"é.]{1,2}", inner), 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Cell for cell, reading the text gives what parsing the record gives: whatever the
        /// record, however it is spaced, with escapes and numbers that a parsed value writes
        /// otherwise.
        #[test]
        fn fields_read_from_the_text_equal_the_parsed_record(
            value in json_value(),
            pretty in any::<bool>(),
            escaped in any::<bool>(),
            exponent in any::<bool>(),
            paths in prop::collection::vec(prop::collection::vec("[ab\"é.0-2]{1,2}", 1..4), 1..6),
        ) {
            let text = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) }
                .expect("text");
            let text = if escaped { text.replace('é', "\\u00e9").replace('=', "\\/") } else { text };
            let text = if exponent { text.replace(":1,", ":1e0,").replace("[1]", "[1.0]") } else { text };
            let rec = record(&text);
            let parsed: Value = serde_json::from_str(&text).expect("json");
            let fields = Fields::of(&rec);
            let keys: Vec<String> = parsed.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
            prop_assert_eq!(fields.names(), keys);
            for path in paths {
                let column = Column { path, ..Column::path("x") };
                let expected = reference(&column, &parsed);
                prop_assert_eq!(fields.has(&column.path), !expected.is_null() || null_at(&parsed, &column.path));
                prop_assert_eq!(fields.value(&column), expected.clone());
                let cell = fields.cell(&column);
                prop_assert_eq!(cell.text.as_ref(), cell_text(&expected));
                prop_assert_eq!(cell.string, expected.is_string());
                let derived = Column { path: column.path.clone(), ..Column::derived("d", "x", |v| Value::from(format!("<{v}>"))) };
                let expected = reference(&derived, &parsed);
                let cell = fields.cell(&derived);
                prop_assert_eq!(cell.text.as_ref(), cell_text(&expected));
            }
        }
    }

    /// Whether the record holds an explicit null at `path`.
    fn null_at(record: &Value, path: &[String]) -> bool {
        let Some((last, parents)) = path.split_last() else {
            return false;
        };
        let parent = reference(
            &Column {
                path: parents.to_vec(),
                ..Column::path("x")
            },
            record,
        );
        let parent = if parents.is_empty() { record } else { &parent };
        match parent {
            Value::Object(map) => map.get(last).is_some_and(Value::is_null),
            Value::Array(items) => last
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i))
                .is_some_and(Value::is_null),
            _ => false,
        }
    }

    #[test]
    fn the_last_of_duplicate_keys_wins_as_when_parsed() {
        let rec = record(r#"{"a": {"b": 1, "b": "x\u0041"}, "a": {"b": [10, 20]}}"#);
        let fields = Fields::of(&rec);
        let column = Column::path("a.b.1");
        let parsed: Value = serde_json::from_str(rec.raw.get()).expect("json");
        assert_eq!(fields.value(&column), reference(&column, &parsed));
        assert_eq!(fields.cell(&column).text, "20");
        assert_eq!(fields.names(), vec!["a".to_string()]);
        let rec = record(r#"{"z": 1, "a": 2, "z": 3}"#);
        let parsed: Value = serde_json::from_str(rec.raw.get()).expect("json");
        let keys: Vec<String> = parsed
            .as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect();
        assert_eq!(Fields::of(&rec).names(), keys);
        assert_eq!(Fields::of(&rec).cell(&Column::path("z")).text, "3");
    }

    #[test]
    fn a_large_object_reads_as_when_parsed() {
        let members: Vec<String> = (0..100).map(|i| format!("\"k{i}\": {i}")).collect();
        let text = format!("{{\"o\": {{{}}}}}", members.join(", "));
        let rec = record(&text);
        let parsed: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(
            Fields::of(&rec).cell(&Column::path("o")).text,
            parsed["o"].to_string()
        );
    }

    #[test]
    fn escapes_and_numbers_read_as_when_parsed() {
        let rec = record(r#"{"k\"ey": "v\n", "n": 12.50, "big": 123456789012345678901}"#);
        let fields = Fields::of(&rec);
        assert_eq!(fields.cell(&Column::path("k\"ey")).text, "v\n");
        assert_eq!(fields.cell(&Column::path("n")).text, "12.5");
        assert_eq!(
            fields.cell(&Column::path("big")).text,
            "1.2345678901234568e+20"
        );
        for (text, compact) in [
            (
                r#"{"o": {"a": [1, true, null], "b": "x \" y"}}"#,
                r#"{"a":[1,true,null],"b":"x \" y"}"#,
            ),
            (r#"{"o": {"a": 1, "a": 2}}"#, r#"{"a":2}"#),
            (r#"{"o": [{"a": 1}, {"a": -0}]}"#, r#"[{"a":1},{"a":-0.0}]"#),
            (r#"{"o": ["\u00e9\/"]}"#, r#"["é/"]"#),
        ] {
            let rec = record(text);
            assert_eq!(
                Fields::of(&rec).cell(&Column::path("o")).text,
                compact,
                "{text}"
            );
        }
    }
}
