//! One record exactly as the API returned it, with the key that orders it (newest first).

use serde::Deserialize;
use serde_json::value::RawValue;

pub struct Record {
    /// The record's JSON text, untouched.
    pub raw: Box<RawValue>,
    /// When it happened, in Unix milliseconds — for every log (Feishu's `operation_time`, the
    /// tenant's wall clock read as UTC for department logs; Recruitee's `created_at`) and in
    /// the archive alike; `i64::MIN` when the record has no readable time. Larger is newer;
    /// records are emitted in descending key order.
    pub key: i64,
    /// The event's hrlogs id (see [`crate::identity`]) when the source already knows it (the
    /// archive); None for records fresh from a vendor, whose ids a stream stage assigns.
    pub id: Option<String>,
    /// Where the archive chained it (records read from the archive); None otherwise.
    pub link: Option<Box<ChainLink>>,
}

/// An archived event's place in the archive's hash chain: its row and the chain hash up to
/// and including it. `-f ocsf` carries it, so that a SIEM holds anchors of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    pub seq: i64,
    pub hash: String,
}

impl Record {
    /// A record fresh from a vendor: its id is not known yet.
    pub fn new(raw: Box<RawValue>, key: i64) -> Record {
        Record {
            raw,
            key,
            id: None,
            link: None,
        }
    }
}

/// A number that some APIs send as a JSON number and some as a string (`"3001"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Lenient {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Lenient {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Lenient::Int(i) => Some(*i),
            Lenient::Float(f) if f.is_finite() => Some(*f as i64),
            Lenient::Float(_) => None,
            Lenient::Text(s) => s.trim().parse().ok(),
        }
    }
}
