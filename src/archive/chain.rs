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

/// One completed sync run as the state chain covers it: what decides the stream's future
/// (its cursor, how far back it is complete, the events it numbered for its output) chained
/// over the run before, so that `archive verify` covers cursors and links too.
pub struct RunLink<'a> {
    pub stream_id: i64,
    pub ended_at: i64,
    pub asked_from: Option<i64>,
    pub covered_from: Option<i64>,
    pub cursor: Option<i64>,
    pub linked_from: i64,
    pub linked_to: i64,
    /// SHA-256 (hex) of the (number, row) pairs the run linked to the stream, in order.
    pub links: &'a str,
    /// The event chain's head and row count after the run.
    pub head: &'a str,
    pub count: i64,
}

/// The hash of `run` chained after `prev` (hex).
pub fn run_hash(prev: &str, run: &RunLink<'_>) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    let opt = |v: Option<i64>| v.map_or_else(|| b"-".to_vec(), |n| n.to_le_bytes().to_vec());
    field(prev.as_bytes());
    field(&run.stream_id.to_le_bytes());
    field(&run.ended_at.to_le_bytes());
    field(&opt(run.asked_from));
    field(&opt(run.covered_from));
    field(&opt(run.cursor));
    field(&run.linked_from.to_le_bytes());
    field(&run.linked_to.to_le_bytes());
    field(run.links.as_bytes());
    field(run.head.as_bytes());
    field(&run.count.to_le_bytes());
    hex(&h.finalize())
}

/// The last row of the state chain, as appending a run needs it: id, stream, linked from,
/// linked to, event count, asked from.
pub type LastRun = (i64, i64, i64, i64, i64, Option<i64>);

/// A run that numbered nothing new, after one of the same stream that did not either, takes
/// its place (so that a follow polling every minute adds no row per poll); it asks from the
/// earlier of the two, so that no span looks skipped. Returns the id of the run it replaces,
/// if any, and the run as it is appended.
pub fn collapse<'a>(last: Option<LastRun>, run: &RunLink<'a>) -> (Option<i64>, RunLink<'a>) {
    let replaces = last.filter(|(_, stream, from, to, count, _)| {
        *stream == run.stream_id
            && from == to
            && run.linked_from == run.linked_to
            && *count == run.count
    });
    let asked_from = match replaces {
        Some((.., earlier)) => earlier.zip(run.asked_from).map(|(a, b)| a.min(b)),
        None => run.asked_from,
    };
    (replaces.map(|r| r.0), RunLink { asked_from, ..*run })
}

/// Hashes a run's links, (number, row) pair by pair.
#[derive(Default)]
pub struct Links(Sha256);

impl Links {
    pub fn add(&mut self, pos: i64, seq: i64) {
        self.0.update(pos.to_le_bytes());
        self.0.update(seq.to_le_bytes());
    }

    pub fn finish(self) -> String {
        hex(&self.0.finalize())
    }
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
