//! The tamper-evidence chain: each archived event carries the SHA-256 of its content and the
//! hash of the event before it, so altering, removing or inserting a row breaks the chain from
//! that row on. The archive's `meta` table also keeps the head and the row count, so removing
//! the last row is caught too.

use sha2::{Digest, Sha256};

use crate::identity::hex;

/// The `prev` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event row as the chain covers it.
pub struct Link<'a> {
    pub seq: i64,
    pub source: &'a str,
    pub tenant: &'a str,
    pub event_id: &'a str,
    pub time_ms: i64,
    pub archived_at: i64,
    pub record: &'a str,
}

/// The hash of `link` chained after `prev` (hex): every field length-prefixed, so no two
/// different rows can feed the same bytes.
pub fn hash(prev: &str, link: &Link<'_>) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(prev.as_bytes());
    field(&link.seq.to_le_bytes());
    field(link.source.as_bytes());
    field(link.tenant.as_bytes());
    field(link.event_id.as_bytes());
    field(&link.time_ms.to_le_bytes());
    field(&link.archived_at.to_le_bytes());
    field(link.record.as_bytes());
    hex(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(record: &str) -> Link<'_> {
        Link {
            seq: 1,
            source: "recruitee audit",
            tenant: "t",
            event_id: "5301",
            time_ms: 1,
            archived_at: 2,
            record,
        }
    }

    #[test]
    fn any_change_changes_the_hash() {
        let a = hash(GENESIS, &link(r#"{"a":1}"#));
        assert_eq!(a, hash(GENESIS, &link(r#"{"a":1}"#)));
        assert_ne!(a, hash(GENESIS, &link(r#"{"a":2}"#)));
        assert_ne!(a, hash(&a, &link(r#"{"a":1}"#)));
        let mut other = link(r#"{"a":1}"#);
        other.seq = 2;
        assert_ne!(a, hash(GENESIS, &other));
    }
}
