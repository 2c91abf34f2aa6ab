//! Stable event ids: the one id an event has in the archive, in OCSF's `metadata.uid`, and in
//! every run that fetches it again.
//!
//! - Recruitee audit entries carry an id: `_id`, written as text (`"5301"`).
//! - Feishu records carry none. Their id is the SHA-256 of the record's canonical JSON (object
//!   keys sorted, no white space, so a vendor that reorders keys cannot change it) followed by
//!   the record's occurrence number among identical records of the same day (`<hex>-1`,
//!   `<hex>-2`, …). Identical records share their `operation_time`, hence their day, and every
//!   fetch covers whole days, so a re-fetch numbers them the same way: two genuinely identical
//!   records are two events, and fetching one again never makes a third.
//! - Greenhouse audit log results carry none either, and are made the same way: identical
//!   results share their `event_time` to the ms, and every fetch covers whole ms.
//!
//! [`Identifier`] assigns these ids along a newest-first stream; it remembers only the current
//! day, so its memory stays flat however long the stream.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::record::Record;

/// Which log a record comes from: decides how its id is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    FeishuDeptLogs,
    FeishuTalentLogs,
    RecruiteeAudit,
    GreenhouseAudit,
}

impl Source {
    /// The name used in the archive and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Source::FeishuDeptLogs => "feishu dept-logs",
            Source::FeishuTalentLogs => "feishu talent-logs",
            Source::RecruiteeAudit => "recruitee audit",
            Source::GreenhouseAudit => "greenhouse audit",
        }
    }

    /// The source an archive names ([`Source::name`]).
    pub fn from_name(name: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Every source.
    pub const ALL: [Source; 4] = [
        Source::FeishuDeptLogs,
        Source::FeishuTalentLogs,
        Source::RecruiteeAudit,
        Source::GreenhouseAudit,
    ];

    /// Whether the vendor gives this log's times as a wall clock without an offset (the
    /// archive keeps them read as UTC, with the zone's offset when a sync knew it), rather
    /// than as instants.
    pub fn wall_clock(self) -> bool {
        matches!(self, Source::FeishuDeptLogs)
    }
}

/// Milliseconds in a day: records are grouped by `key.div_euclid(DAY_MS)` (the key of both
/// Feishu logs is `operation_time` in ms; department logs read their wall clock as UTC, so this
/// is the day the vendor shows).
const DAY_MS: i64 = 86_400_000;

/// Assigns ids along one stream of records.
pub struct Identifier {
    source: Source,
    day: Option<i64>,
    counts: HashMap<[u8; 32], u32>,
}

impl Identifier {
    pub fn new(source: Source) -> Identifier {
        Identifier {
            source,
            day: None,
            counts: HashMap::new(),
        }
    }

    /// The id of the next record of the stream. Records must come grouped by day (newest
    /// first or oldest first), as every log command emits them.
    pub fn id(&mut self, record: &Record) -> String {
        match self.source {
            Source::RecruiteeAudit => recruitee_id(&record.raw).unwrap_or_else(|| {
                // An entry without `_id` is still an event: fall back to its content.
                format!("{}-1", hex(&content_hash(&record.raw)))
            }),
            Source::FeishuDeptLogs | Source::FeishuTalentLogs | Source::GreenhouseAudit => {
                let day = record.key.div_euclid(DAY_MS);
                if self.day != Some(day) {
                    self.day = Some(day);
                    self.counts.clear();
                }
                let hash = content_hash(&record.raw);
                let n = self.counts.entry(hash).or_insert(0);
                *n = n.saturating_add(1);
                format!("{}-{n}", hex(&hash))
            }
        }
    }
}

/// Assigns the same ids as [`Identifier`] to records in any order (a sync unit whose chains
/// are merged): identical Feishu records are counted per day over the whole unit instead of
/// along the stream. Memory grows with the distinct records of the unit.
pub struct Counted {
    source: Source,
    counts: HashMap<(i64, [u8; 32]), u32>,
}

impl Counted {
    pub fn new(source: Source) -> Counted {
        Counted {
            source,
            counts: HashMap::new(),
        }
    }

    /// The record's id: as [`Identifier::id`] gives it, whatever the order of the records.
    pub fn id(&mut self, record: &Record) -> String {
        match self.source {
            Source::RecruiteeAudit => Identifier::new(self.source).id(record),
            Source::FeishuDeptLogs | Source::FeishuTalentLogs | Source::GreenhouseAudit => {
                let day = record.key.div_euclid(DAY_MS);
                let hash = content_hash(&record.raw);
                let n = self.counts.entry((day, hash)).or_insert(0);
                *n = n.saturating_add(1);
                format!("{}-{n}", hex(&hash))
            }
        }
    }
}

/// A Recruitee entry's `_id` as text: a string as is, a number in its JSON form.
pub fn recruitee_id(raw: &RawValue) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Id {
        #[serde(rename = "_id")]
        id: Option<Value>,
    }
    match serde_json::from_str::<Id>(raw.get()).ok()?.id? {
        Value::String(s) => Some(s),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// SHA-256 of the record's canonical JSON.
pub fn content_hash(raw: &RawValue) -> [u8; 32] {
    let mut text = String::with_capacity(raw.get().len());
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(v) => canonical(&v, &mut text),
        // Not JSON (cannot happen for a parsed page): hash the text itself.
        Err(_) => text.push_str(raw.get()),
    }
    Sha256::digest(text.as_bytes()).into()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// JSON with object keys sorted and no white space.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(text: &str, key: i64) -> Record {
        Record::new(RawValue::from_string(text.to_string()).expect("json"), key)
    }

    #[test]
    fn key_order_and_white_space_do_not_change_the_hash() {
        let a = rec(r#"{"a":1,"b":{"x":[1,2],"y":"z"}}"#, 0);
        let b = rec(r#"{ "b": {"y":"z", "x":[1, 2]}, "a": 1 }"#, 0);
        assert_eq!(content_hash(&a.raw), content_hash(&b.raw));
        let c = rec(r#"{"a":2,"b":{"x":[1,2],"y":"z"}}"#, 0);
        assert_ne!(content_hash(&a.raw), content_hash(&c.raw));
    }

    #[test]
    fn identical_records_are_numbered_per_day_and_renumbered_the_same_way() {
        let day = DAY_MS * 19_000;
        let same = r#"{"operation_time":"2022-01-08 10:00:00","operator":"E1"}"#;
        let other = r#"{"operation_time":"2022-01-08 09:00:00","operator":"E1"}"#;
        let stream = [rec(same, day + 5), rec(other, day + 4), rec(same, day + 5)];
        let run = || {
            let mut ids = Identifier::new(Source::FeishuDeptLogs);
            stream.iter().map(|r| ids.id(r)).collect::<Vec<_>>()
        };
        let first = run();
        assert!(first[0].ends_with("-1") && first[2].ends_with("-2"));
        assert_eq!(first[0][..64], first[2][..64]);
        assert_ne!(first[0], first[2]);
        assert!(first[1].ends_with("-1"));
        assert_eq!(first, run(), "a re-fetch gives the same ids");
        // A new day starts the count again.
        let mut ids = Identifier::new(Source::FeishuDeptLogs);
        assert!(ids.id(&rec(same, day)).ends_with("-1"));
        assert!(ids.id(&rec(same, day - DAY_MS)).ends_with("-1"));
    }

    #[test]
    fn recruitee_ids_are_the_entries_own() {
        let mut ids = Identifier::new(Source::RecruiteeAudit);
        assert_eq!(ids.id(&rec(r#"{"_id":5301,"x":1}"#, 0)), "5301");
        assert_eq!(ids.id(&rec(r#"{"_id":"ab12"}"#, 0)), "ab12");
        assert!(ids.id(&rec(r#"{"x":1}"#, 0)).ends_with("-1"));
    }
}
