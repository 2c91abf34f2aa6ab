//! The tamper-evidence chain: each archived event carries the SHA-256 of its content and the
//! hash of the event before it, so altering, removing or inserting a row breaks the chain from
//! that row on. The archive's `meta` table also keeps the head and the row count, so removing
//! the last row is caught too.

use sha2::{Digest, Sha256};

use super::{Finalized, RunEnd, StreamKey};
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
#[derive(Debug, Clone)]
pub struct RunLink {
    pub stream_id: i64,
    pub ended_at: i64,
    pub asked_from: Option<i64>,
    pub covered_from: Option<i64>,
    pub cursor: Option<i64>,
    pub linked_from: i64,
    pub linked_to: i64,
    /// SHA-256 (hex) of the (number, row) pairs the run linked to the stream, in order.
    pub links: String,
    /// The event chain's head and row count after the run.
    pub head: String,
    pub count: i64,
}

/// The hash of `run` chained after `prev` (hex).
pub fn run_hash(prev: &str, run: &RunLink) -> String {
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
pub fn collapse(last: Option<LastRun>, run: &RunLink) -> (Option<i64>, RunLink) {
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
    let run = RunLink {
        asked_from,
        ..run.clone()
    };
    (replaces.map(|r| r.0), run)
}

/// A run's end as every backend appends it: the staged events, oldest first, each either
/// new to the archive (chained after the head) or held already; each numbered for the stream
/// unless the stream numbered it before; then the run as the state chain covers it.
pub struct Append<'a> {
    key: &'a StreamKey,
    end: &'a RunEnd,
    stream: i64,
    /// The last row of the chain, and its hash.
    seq: i64,
    head: String,
    count: i64,
    /// The stream's numbering: where the run started it, and where it is.
    linked_from: i64,
    pos: i64,
    old_cursor: Option<i64>,
    links: Links,
    out: Finalized,
}

impl<'a> Append<'a> {
    /// Starts after the chain's last row `seq` and its recorded `(head, count)`, with the
    /// stream's `(linked, cursor)` as they are.
    pub fn new(
        key: &'a StreamKey,
        stream: i64,
        end: &'a RunEnd,
        seq: i64,
        (head, count): (String, i64),
        (linked, old_cursor): (i64, Option<i64>),
    ) -> Append<'a> {
        Append {
            key,
            end,
            stream,
            seq,
            head,
            count,
            linked_from: linked,
            pos: linked,
            old_cursor,
            links: Links::default(),
            out: Finalized {
                first_seq: seq.saturating_add(1),
                ..Finalized::default()
            },
        }
    }

    /// A staged event the archive holds already at row `seq`.
    pub fn held(&mut self, seq: i64) -> i64 {
        self.out.seen += 1;
        seq
    }

    /// A staged event new to the archive: its row number and chain hash.
    pub fn new_event(&mut self, event_id: &str, time_ms: i64, record: &str) -> (i64, String) {
        self.seq = self.seq.saturating_add(1);
        let link = Link {
            seq: self.seq,
            source: self.key.source.name(),
            tenant: &self.key.tenant,
            event_id,
            time_ms,
            archived_at: self.end.now_ms,
            record,
        };
        self.head = hash(&self.head, &link);
        self.out.new += 1;
        (self.seq, self.head.clone())
    }

    /// The stream's number for row `seq`, which it had not numbered before.
    pub fn link(&mut self, seq: i64) -> i64 {
        self.pos = self.pos.saturating_add(1);
        self.out.linked += 1;
        self.links.add(self.pos, seq);
        self.pos
    }

    /// What the run added, and the run as the state chain covers it.
    pub fn finish(mut self) -> (Finalized, RunLink) {
        self.out.last_seq = self.seq;
        self.out.head = self.head;
        self.out.count = self.count.saturating_add(self.out.new as i64);
        let run = RunLink {
            stream_id: self.stream,
            ended_at: self.end.now_ms,
            asked_from: self.end.asked_from,
            covered_from: self.end.covered_from,
            cursor: self.end.cursor.or(self.old_cursor),
            linked_from: self.linked_from,
            linked_to: self.pos,
            links: self.links.finish(),
            head: self.out.head.clone(),
            count: self.out.count,
        };
        (self.out, run)
    }
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
