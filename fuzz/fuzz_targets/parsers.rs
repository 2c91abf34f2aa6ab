//! Everything hrlogs reads from a vendor or a user, fed arbitrary bytes: the page parsers of
//! both vendors, the token answer (and the lifetime its `expire` gives), the rate-limit headers,
//! the answer judges and the error lines they make (cleaned: one line, secrets redacted), the
//! time grammar, and what the sinks do with a record. None of it may panic.
#![no_main]

use hrlogs::output::{Column, Fields, escape_for_terminal, neutralize_formula};
use hrlogs::time::{Bound, parse, parse_date};
use hrlogs::vendors::{feishu, recruitee};
use libfuzzer_sys::fuzz_target;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};

fuzz_target!(|data: &[u8]| {
    let mut records = Vec::new();
    if let Ok(page) = feishu::talent_logs::parse_page(data) {
        records.extend(page.records);
    }
    if let Ok(page) = feishu::dept_logs::parse_page(data) {
        records.extend(page.records);
    }
    if let Ok(page) = recruitee::search::parse_page(data, "entries") {
        records.extend(page.records);
    }
    if let Ok(list) = recruitee::records_at(data, "candidates") {
        records.extend(list);
    }
    let mut headers = HeaderMap::new();
    if let Some(first) = data.first() {
        if let Ok(v) = HeaderValue::from_bytes(&data[..(*first as usize).min(data.len())]) {
            headers.insert("x-ogw-ratelimit-reset", v.clone());
            headers.insert("x-ratelimit-reset", v.clone());
            headers.insert("retry-after", v);
        }
    }
    if let Some(wait) = hrlogs::fetch::vendor_wait(&headers) {
        let _ = std::time::Instant::now().checked_add(wait);
        let _ = tokio_like_deadline(wait);
    }
    for status in [200u16, 302, 400, 429, 500] {
        let status = StatusCode::from_u16(status).expect("status");
        if let Err(f) = feishu::judge(status, &headers, data, "fuzz") {
            let _ = error_line(f);
        }
        match feishu::read_token_answer(status, &headers, data) {
            Ok((token, expire)) => {
                let lifetime = feishu::token_lifetime(expire);
                assert!(std::time::Instant::now().checked_add(lifetime).is_some());
                let _ = token.len();
            }
            Err(f) => {
                let _ = error_line(f);
            }
        }
    }
    let columns = [
        Column::path("operation_time"),
        Column::path("operator.name.zh_cn"),
        Column::path("placements.0.offer.title"),
        Column::path("changes"),
    ];
    for record in &records {
        // Columns read from the record's text must equal those of the parsed record.
        let fields = Fields::of(record);
        let value: serde_json::Value = serde_json::from_str(record.raw.get()).expect("a record is JSON");
        let _ = fields.names();
        for c in &columns {
            let expected = lookup(&value, &c.path);
            assert_eq!(fields.value(c), expected);
            let cell = fields.cell(c);
            assert_eq!(cell.text, hrlogs::output::cell_text(&expected));
            let _ = escape_for_terminal(&cell.text);
            let _ = neutralize_formula(&cell.text);
        }
        let _ = feishu::talent_logs::key_of(&record.raw);
        let _ = feishu::dept_logs::key_of(&record.raw);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let now = jiff::Timestamp::from_second(1_790_000_000).expect("now");
        for tz in [jiff::tz::TimeZone::UTC, jiff::tz::TimeZone::fixed(jiff::tz::offset(8))] {
            let _ = parse(text, Bound::Start, &tz, now);
            let _ = parse(text, Bound::End, &tz, now);
            let _ = parse_date(text, &tz, now);
        }
        let _ = escape_for_terminal(text);
        let redactor = hrlogs::redact::Redactor::new();
        redactor.register("fuzz-secret-value");
        let line = redactor.clean(text);
        assert!(!line.contains('\n') && !line.contains("fuzz-secret-value"));
    }
});

/// The value at a column's path in the parsed record (null when there is none).
fn lookup(mut value: &serde_json::Value, path: &[String]) -> serde_json::Value {
    for part in path {
        value = match value {
            serde_json::Value::Object(map) => map.get(part),
            serde_json::Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
        .unwrap_or(&serde_json::Value::Null);
    }
    value.clone()
}

/// The line an error would print: one line, whatever the vendor sent.
fn error_line(f: hrlogs::fetch::Failure) -> String {
    let e = match f {
        hrlogs::fetch::Failure::Retry { error, .. }
        | hrlogs::fetch::Failure::Reauth(error)
        | hrlogs::fetch::Failure::Fatal(error) => error,
    };
    let line = e.to_string();
    assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
    line
}

/// A deadline `wait` from now, as the fetcher's lane computes it: never an overflow.
fn tokio_like_deadline(wait: std::time::Duration) -> Option<std::time::Instant> {
    std::time::Instant::now().checked_add(wait)
}
