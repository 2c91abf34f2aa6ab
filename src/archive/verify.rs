//! What `archive verify` checks, once for every backend: each backend reads its rows and
//! feeds them here, in order. [`Runs`] checks the state chain (each run chained to the one
//! before, its links as recorded, no span skipped, every stream's row as its last run left
//! it) and gives the heads the runs saw; [`Events`] checks the event chain row by row against
//! the anchors (those heads, and heads kept elsewhere).

use std::collections::HashMap;

use super::chain::{self, GENESIS, Link, Links, RunLink};
use super::{Anchor, Integrity, MAX_UTC_OFFSET};
use crate::identity::Source;

/// A state-chain failure: verify says it, naming no row of the events.
fn broken(why: String) -> Integrity {
    Integrity::Broken { seq: 0, why }
}

/// One row of the `runs` table (the state chain), as verify checks it and `archive copy`
/// replays it.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    pub run: RunLink,
    pub hash: String,
}

/// Every stream as `archive status` shows it, with its events and what it staged.
pub const STATUS_STREAMS: &str = "SELECT s.id, s.source, s.tenant, s.query, s.covered_from, \
    s.cursor, s.last_run_at, s.last_run_new, s.last_run_seen, s.last_run_requests, \
    s.last_run_complete, (SELECT COUNT(*) FROM stream_events x WHERE x.stream_id = s.id), \
    (SELECT COUNT(*) FROM staging g WHERE g.stream_id = s.id) FROM streams s ORDER BY s.id";

/// The columns of `runs`, in the order [`RunRow::read`] reads them.
pub const RUN_COLUMNS: &str = "id, stream_id, ended_at, asked_from, covered_from, cursor, \
    linked_from, linked_to, links, head, count, hash";

impl RunRow {
    /// The row from its [`RUN_COLUMNS`], read with the backend's readers of a number, a
    /// number or NULL, and a text column.
    pub fn read<E>(
        int: impl Fn(usize) -> Result<i64, E>,
        opt: impl Fn(usize) -> Result<Option<i64>, E>,
        text: impl Fn(usize) -> Result<String, E>,
    ) -> Result<RunRow, E> {
        Ok(RunRow {
            id: int(0)?,
            run: RunLink {
                stream_id: int(1)?,
                ended_at: int(2)?,
                asked_from: opt(3)?,
                covered_from: opt(4)?,
                cursor: opt(5)?,
                linked_from: int(6)?,
                linked_to: int(7)?,
                links: text(8)?,
                head: text(9)?,
                count: int(10)?,
            },
            hash: text(11)?,
        })
    }
}

/// One row of `streams`, with how many events are linked to it.
pub struct StreamRow {
    pub id: i64,
    pub cursor: Option<i64>,
    pub covered_from: Option<i64>,
    pub linked: i64,
    pub links: i64,
}

/// The state chain, run by run.
#[derive(Default)]
pub struct Runs {
    /// Per stream: (cursor, covered_from, linked) as its last run left them.
    last: HashMap<i64, (Option<i64>, Option<i64>, i64)>,
    prev: Option<String>,
    heads: Vec<Anchor>,
}

impl Runs {
    /// Checks the next run, given the (number, row) pairs its stream has in the run's range.
    pub fn run(
        &mut self,
        r: &RunRow,
        links: impl IntoIterator<Item = (i64, i64)>,
    ) -> Result<(), Integrity> {
        let prev = self.prev.as_deref().unwrap_or(GENESIS);
        let link = &r.run;
        let (id, stream, from, to) = (r.id, link.stream_id, link.linked_from, link.linked_to);
        if chain::run_hash(prev, link) != r.hash {
            return Err(broken(format!(
                "run {id} (stream {stream}) does not match its chain hash: a cursor, a stream's links or a run was altered, inserted or removed"
            )));
        }
        let before = self.last.get(&stream).copied().unwrap_or((None, None, 0));
        if from != before.2 {
            return Err(broken(format!(
                "run {id} of stream {stream} numbers its events from {from}, but the run before ended at {}",
                before.2
            )));
        }
        if let (Some(asked), Some(cursor)) = (link.asked_from, before.0) {
            if asked > cursor {
                return Err(broken(format!(
                    "run {id} of stream {stream} fetched from {asked} (ms), after the stream's cursor {cursor}: the span between was skipped (the cursor or a run was altered)"
                )));
            }
        }
        let mut hashed = Links::default();
        let mut n = 0i64;
        for (pos, seq) in links {
            hashed.add(pos, seq);
            n = n.saturating_add(1);
        }
        if n != to.saturating_sub(from) || hashed.finish() != link.links {
            return Err(broken(format!(
                "the events stream {stream} numbered in run {id} were altered (its links to the events table)"
            )));
        }
        self.heads.push(Anchor {
            head: link.head.clone(),
            count: Some(link.count),
            from: format!("run {id}"),
        });
        self.last
            .insert(stream, (link.cursor, link.covered_from, to));
        self.prev = Some(r.hash.clone());
        Ok(())
    }

    /// After the last run: the recorded head of the runs must be the last run's, and every
    /// stream's row what its last run left. Gives the heads the runs saw.
    pub fn end(
        self,
        recorded_head: Option<&str>,
        streams: &[StreamRow],
    ) -> Result<Vec<Anchor>, Integrity> {
        if recorded_head.unwrap_or(GENESIS) != self.prev.as_deref().unwrap_or(GENESIS) {
            return Err(broken(
                "the last runs were removed (the recorded head of the runs is not the last run's)"
                    .to_string(),
            ));
        }
        for s in streams {
            let id = s.id;
            let (c, f, l) = self.last.get(&id).copied().unwrap_or((None, None, 0));
            if (s.cursor, s.linked) != (c, l)
                || (self.last.contains_key(&id) && s.covered_from != f)
            {
                return Err(broken(format!(
                    "stream {id}'s cursor or coverage is not what its last run left (cursor {:?}, was {c:?}): it was altered",
                    s.cursor
                )));
            }
            if s.links != l {
                return Err(broken(format!(
                    "stream {id} is linked to {} events, but its runs numbered {l}: links were inserted or removed",
                    s.links
                )));
            }
        }
        Ok(self.heads)
    }
}

/// One row of `events` as a backend read it, in the chain's terms: a column is None where it
/// is missing or not of the type the archive wrote (an altered row, not a failure to read).
pub struct EventRow {
    pub seq: Option<i64>,
    pub source: Option<String>,
    pub tenant: Option<String>,
    pub event_id: Option<String>,
    pub time_ms: Option<i64>,
    pub archived_at: Option<i64>,
    pub record: Option<String>,
    pub hash: Option<String>,
    /// The zone's offset beside a wall-clock time (not chained, but checked).
    pub utc_offset: Cell,
}

/// A column that may be NULL, as read: NULL, a number, or a value of another type (altered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Other,
}

impl EventRow {
    /// The row from its columns `seq, source, tenant, event_id, time_ms, archived_at, record,
    /// hash, utc_offset` (in that order), read with the backend's readers of a text and a
    /// number column, and of a number that may be NULL.
    pub fn read<E>(
        text: impl Fn(usize) -> Result<Option<String>, E>,
        int: impl Fn(usize) -> Result<Option<i64>, E>,
        cell: impl Fn(usize) -> Result<Cell, E>,
    ) -> Result<EventRow, E> {
        Ok(EventRow {
            seq: int(0)?,
            source: text(1)?,
            tenant: text(2)?,
            event_id: text(3)?,
            time_ms: int(4)?,
            archived_at: int(5)?,
            record: text(6)?,
            hash: text(7)?,
            utc_offset: cell(8)?,
        })
    }
}

/// The event chain, row by row, against the anchors.
pub struct Events<'a> {
    waiting: HashMap<&'a str, Vec<&'a Anchor>>,
    prev: String,
    expected: i64,
    rows: i64,
}

impl<'a> Events<'a> {
    pub fn new(anchors: &'a [Anchor]) -> Events<'a> {
        let mut waiting: HashMap<&str, Vec<&Anchor>> = HashMap::new();
        for a in anchors {
            if a.head == GENESIS && a.count.unwrap_or(0) == 0 {
                continue;
            }
            waiting.entry(a.head.as_str()).or_default().push(a);
        }
        Events {
            waiting,
            prev: GENESIS.to_string(),
            expected: 1,
            rows: 0,
        }
    }

    /// The row `seq` expected next (a backend reports a row whose columns are not of the type
    /// written against it).
    pub fn expected(&self) -> i64 {
        self.expected
    }

    /// Checks the next row as it was read: every column of the type the archive wrote, then
    /// as [`Events::row`].
    pub fn stored(&mut self, row: EventRow) -> Result<(), Integrity> {
        let Some(seq) = row.seq else {
            let seq = self.expected;
            return Err(Integrity::Broken {
                seq,
                why: format!("row {seq}'s sequence number was altered"),
            });
        };
        let altered = |what: &str| Integrity::Broken {
            seq,
            why: format!(
                "row {seq}'s {what} is missing or not of the type the archive wrote (altered)"
            ),
        };
        let (Some(source), Some(tenant), Some(event_id)) = (row.source, row.tenant, row.event_id)
        else {
            return Err(altered("source, tenant or event id"));
        };
        let (Some(time_ms), Some(archived_at)) = (row.time_ms, row.archived_at) else {
            return Err(altered("time or archive time"));
        };
        let Some(record) = row.record else {
            return Err(altered("record"));
        };
        let Some(stored) = row.hash else {
            return Err(altered("chain hash"));
        };
        match row.utc_offset {
            Cell::Null => {}
            Cell::Other => return Err(altered("UTC offset")),
            Cell::Int(offset) => {
                let wall_clock = Source::from_name(&source).is_some_and(Source::wall_clock);
                if !wall_clock {
                    return Err(Integrity::Broken {
                        seq,
                        why: format!(
                            "row {seq} (event {event_id}) has a UTC offset ({offset} minutes), but its source {source} gives instants (altered)"
                        ),
                    });
                }
                if !(-MAX_UTC_OFFSET..=MAX_UTC_OFFSET).contains(&offset) {
                    return Err(Integrity::Broken {
                        seq,
                        why: format!(
                            "row {seq} (event {event_id}) has a UTC offset of {offset} minutes, beyond the 18 hours of any zone (altered)"
                        ),
                    });
                }
            }
        }
        let link = Link {
            seq,
            source: &source,
            tenant: &tenant,
            event_id: &event_id,
            time_ms,
            archived_at,
            record: &record,
        };
        self.row(&link, &stored)
    }

    /// Checks the next row: its place, its hash, and whether it reaches an anchor.
    pub fn row(&mut self, link: &Link<'_>, stored: &str) -> Result<(), Integrity> {
        let seq = link.seq;
        let expected = self.expected;
        if seq != expected {
            return Err(Integrity::Broken {
                seq: expected,
                why: if seq > expected {
                    format!("row {expected} was removed (the next row is {seq})")
                } else {
                    format!("row {seq} is out of order")
                },
            });
        }
        if chain::hash(&self.prev, link) != stored {
            return Err(Integrity::Broken {
                seq,
                why: format!(
                    "row {seq} (event {}) does not match its chain hash: it was altered, inserted, or a row before it was changed",
                    link.event_id
                ),
            });
        }
        self.prev = stored.to_string();
        self.rows = self.rows.saturating_add(1);
        self.expected = seq.saturating_add(1);
        let n = self.rows;
        if let Some(reached) = self.waiting.remove(self.prev.as_str()) {
            if let Some(a) = reached.iter().find(|a| a.count.is_some_and(|c| c != n)) {
                return Err(Integrity::Broken {
                    seq: n,
                    why: format!(
                        "the chain reaches the head {} of {} at row {n}, but it was written down with {} rows",
                        a.head,
                        a.from,
                        a.count.unwrap_or(n)
                    ),
                });
            }
        }
        Ok(())
    }

    /// After the last row: the recorded head and count must be the chain's, and every anchor
    /// reached.
    pub fn end(self, head: String, count: i64, staged: i64) -> Integrity {
        let n = self.rows;
        if n != count || self.prev != head {
            let why = if n < count {
                format!(
                    "the archive recorded {count} rows but holds {n}: row {} onwards was removed",
                    n.saturating_add(1)
                )
            } else if n > count {
                format!(
                    "the archive recorded {count} rows but holds {n}: row {} onwards was inserted",
                    count.saturating_add(1)
                )
            } else {
                format!("the last row's hash is not the recorded chain head {head}")
            };
            return Integrity::Broken {
                seq: n.min(count).saturating_add(1),
                why,
            };
        }
        if let Some(a) = self.waiting.values().flatten().min_by_key(|a| a.count) {
            return Integrity::Broken {
                seq: a.count.map_or(n, |c| c.min(n)).saturating_add(1),
                why: format!(
                    "the chain no longer reaches the head {} of {}{}: rows were removed from its end or rewritten, and the archive's own record of its head was changed to match",
                    a.head,
                    a.from,
                    a.count.map(|c| format!(" ({c} rows)")).unwrap_or_default()
                ),
            };
        }
        Integrity::Intact {
            rows: n,
            head,
            staged,
        }
    }
}
