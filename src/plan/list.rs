//! List endpoints (Recruitee's `GET /candidates`, `GET /offers`), paged by offset
//! (`limit`/`offset`) or by page number (`page`/`limit`), as chains of [`walk`]: the cursor is
//! the offset or page number.
//!
//! A list ends on proof, never on a page shorter than asked (a server may cap its page size
//! below `limit` without saying so): on an empty page, on a page of only records already seen
//! (the guard of [`walk`]), or on a count the server gave ([`ListPage::count`]) that the
//! distinct records received reconcile with. The next offset is the last one plus what was
//! *received*; the next page number is the last one plus one, asking from the second page on
//! for the size the first page held, so that pages line up whichever way the server counts
//! them. A well-behaved list costs at most one request more than its pages (the empty page
//! that proves the end). A vendor that ignores the cursor can be answered by one unpaged
//! request instead ([`ListChain::unpaged_fallback`]).
//!
//! [`walk`]: super::walk

use std::future::Future;

use super::{Identity, Next, NothingNew, Page, PageSource, hash_text};
use crate::error::{Error, Result};
use crate::record::Record;

/// How a list is paged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// `limit` and `offset` (from 0).
    Offset,
    /// `page` (from 1) and `limit`.
    Page,
}

/// Which part of a list to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListCursor {
    Offset {
        offset: u64,
        limit: u32,
    },
    Page {
        page: u64,
        limit: u32,
    },
    /// Everything in one answer (no `limit`).
    Unpaged,
}

/// One answer of a list: its records, and how many the whole list holds when the vendor says
/// so (and the vendor module trusts it: a count that may be capped is no count).
pub struct ListPage {
    pub records: Vec<Record>,
    pub count: Option<u64>,
}

/// A list endpoint, as a vendor module describes it.
pub trait ListSource: Send + Sync + 'static {
    /// One answer.
    fn fetch(&self, at: ListCursor) -> impl Future<Output = Result<ListPage>> + Send;
    /// What this list is, for messages.
    fn describe(&self) -> String;
    /// The record's id, if it has one.
    fn id_of(&self, record: &Record) -> Option<String>;
}

/// A list run as a chain.
pub struct ListChain<L> {
    source: L,
    paging: Paging,
    limit: u32,
    fallback: bool,
}

const UNPAGED: &str = "unpaged";

impl<L: ListSource> ListChain<L> {
    pub fn new(source: L, paging: Paging, limit: u32) -> ListChain<L> {
        ListChain {
            source,
            paging,
            limit: limit.max(1),
            fallback: false,
        }
    }

    /// When a page brings only records already seen (the vendor ignores the cursor), ask once
    /// for the whole list unpaged instead of stopping.
    pub fn unpaged_fallback(mut self) -> ListChain<L> {
        self.fallback = true;
        self
    }

    /// The list described.
    pub fn source(&self) -> &L {
        &self.source
    }

    /// The cursor of the first page (for `--dry-run`).
    pub fn first(&self) -> ListCursor {
        match self.paging {
            Paging::Offset => ListCursor::Offset {
                offset: 0,
                limit: self.limit,
            },
            Paging::Page => ListCursor::Page {
                page: 1,
                limit: self.limit,
            },
        }
    }

    /// The cursor of a token: `OFFSET` (offset lists), `PAGE/LIMIT` (page lists), or
    /// [`UNPAGED`].
    fn parse(&self, token: Option<&str>) -> Result<ListCursor> {
        let bad = |t: &str| Error::other(format!("internal error: bad list cursor {t:?}"));
        match (token, self.paging) {
            (None, _) => Ok(self.first()),
            (Some(UNPAGED), _) => Ok(ListCursor::Unpaged),
            (Some(t), Paging::Offset) => t
                .parse()
                .map(|offset| ListCursor::Offset {
                    offset,
                    limit: self.limit,
                })
                .map_err(|_| bad(t)),
            (Some(t), Paging::Page) => t
                .split_once('/')
                .and_then(|(p, l)| Some((p.parse().ok()?, l.parse().ok()?)))
                .map(|(page, limit)| ListCursor::Page { page, limit })
                .ok_or_else(|| bad(t)),
        }
    }

    /// The token after a page of `received` records (none): the offset moves on by what was
    /// received, the page number by one, at the size the first page held.
    fn next(&self, at: ListCursor, received: u64) -> Result<Next> {
        if received == 0 {
            return Ok(Next::Done);
        }
        let overflow = || {
            Error::unavailable(format!(
                "{}: the list goes on past the largest offset hrlogs can ask for; the export would not be complete",
                self.source.describe()
            ))
            .hint("narrow the query")
        };
        Ok(match at {
            ListCursor::Unpaged => Next::Done,
            ListCursor::Offset { offset, .. } => Next::Token(
                offset
                    .checked_add(received)
                    .ok_or_else(overflow)?
                    .to_string(),
            ),
            ListCursor::Page { page, limit } => {
                let limit = if page == 1 {
                    u32::try_from(received).unwrap_or(u32::MAX)
                } else {
                    limit
                };
                let page = page.checked_add(1).ok_or_else(overflow)?;
                Next::Token(format!("{page}/{limit}"))
            }
        })
    }
}

impl<L: ListSource> PageSource for ListChain<L> {
    async fn fetch(&self, token: Option<String>) -> Result<Page> {
        let at = self.parse(token.as_deref())?;
        let ListPage { records, count } = self.source.fetch(at).await?;
        let next = self.next(at, records.len() as u64)?;
        Ok(Page {
            records,
            next,
            count,
        })
    }

    fn describe(&self) -> String {
        self.source.describe()
    }

    fn identity(&self) -> Identity {
        Identity::Id(if self.fallback {
            NothingNew::Restart(UNPAGED.to_string())
        } else {
            NothingNew::End
        })
    }

    fn identify(&self, record: &Record) -> u64 {
        match self.source.id_of(record) {
            Some(id) => hash_text(&id),
            None => hash_text(record.raw.get()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{RecordStream, merge_groups};
    use crate::progress::Progress;
    use serde_json::value::RawValue;
    use std::sync::Mutex;

    /// A list of `n` items that pages as the switches say.
    #[derive(Default)]
    struct Fake {
        n: u64,
        ignore_cursor: bool,
        /// Serve at most this many a page, whatever `limit` says.
        cap: Option<u64>,
        /// Answers carry this count.
        count: Option<u64>,
        asked: Mutex<Vec<ListCursor>>,
    }

    impl ListSource for std::sync::Arc<Fake> {
        async fn fetch(&self, at: ListCursor) -> Result<ListPage> {
            self.asked.lock().expect("lock").push(at);
            let size = |limit: u32| self.cap.unwrap_or(u64::MAX).min(u64::from(limit));
            let (from, take) = match at {
                ListCursor::Unpaged => (0, self.n),
                ListCursor::Offset { offset, limit } => (offset, size(limit)),
                ListCursor::Page { page, limit } => ((page - 1) * size(limit), size(limit)),
            };
            let from = if self.ignore_cursor { 0 } else { from };
            let records = (from..self.n.min(from + take))
                .map(|i| {
                    Record::new(
                        RawValue::from_string(format!("{{\"id\":{i}}}")).expect("raw"),
                        0,
                    )
                })
                .collect();
            Ok(ListPage {
                records,
                count: self.count,
            })
        }
        fn describe(&self) -> String {
            "fake list".into()
        }
        fn id_of(&self, r: &Record) -> Option<String> {
            Some(r.raw.get().to_string())
        }
    }

    async fn ids(s: RecordStream) -> Result<Vec<String>> {
        let mut s = s;
        let mut out = Vec::new();
        while let Some(b) = s.next_batch().await {
            out.extend(b?.iter().map(|r| r.raw.get().to_string()));
        }
        Ok(out)
    }

    fn run(fake: &std::sync::Arc<Fake>, paging: Paging, fallback: bool) -> RecordStream {
        let mut chain = ListChain::new(fake.clone(), paging, 10);
        if fallback {
            chain = chain.unpaged_fallback();
        }
        merge_groups(vec![vec![chain]], 0, Progress::new(false, true, 0))
    }

    fn fake(n: u64, ignore_cursor: bool) -> std::sync::Arc<Fake> {
        std::sync::Arc::new(Fake {
            n,
            ignore_cursor,
            ..Fake::default()
        })
    }

    fn exact(got: &[String], n: u64) {
        let unique: std::collections::HashSet<_> = got.iter().collect();
        assert_eq!(
            (got.len(), unique.len()),
            (n as usize, n as usize),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn lists_end_on_an_empty_page_at_one_request_more() {
        for (n, requests) in [(25, 4), (30, 4), (0, 1)] {
            let f = fake(n, false);
            let got = ids(run(&f, Paging::Offset, true)).await.expect("ok");
            exact(&got, n);
            assert_eq!(f.asked.lock().expect("lock").len(), requests, "n = {n}");
        }
    }

    #[tokio::test]
    async fn a_page_shorter_than_asked_is_no_end() {
        // A server cap of 3 below the 10 asked: offsets move on by what was received; page
        // numbers by one, asking the size the first page held.
        for paging in [Paging::Offset, Paging::Page] {
            let f = std::sync::Arc::new(Fake {
                n: 20,
                cap: Some(3),
                ..Fake::default()
            });
            let got = ids(run(&f, paging, true)).await.expect("ok");
            exact(&got, 20);
            let asked = f.asked.lock().expect("lock").clone();
            assert_eq!(asked.len(), 8, "7 pages and an empty one: {asked:?}");
            if paging == Paging::Page {
                assert_eq!(asked[1], ListCursor::Page { page: 2, limit: 3 });
            } else {
                assert_eq!(
                    asked[1],
                    ListCursor::Offset {
                        offset: 3,
                        limit: 10
                    }
                );
            }
        }
    }

    #[tokio::test]
    async fn a_count_that_reconciles_ends_the_list_and_one_that_does_not_fails_it() {
        let f = std::sync::Arc::new(Fake {
            n: 25,
            count: Some(25),
            ..Fake::default()
        });
        exact(&ids(run(&f, Paging::Offset, true)).await.expect("ok"), 25);
        assert_eq!(
            f.asked.lock().expect("lock").len(),
            3,
            "no empty page needed"
        );
        let f = std::sync::Arc::new(Fake {
            n: 25,
            count: Some(26),
            ..Fake::default()
        });
        let err = ids(run(&f, Paging::Offset, true)).await.expect_err("short");
        assert_eq!(err.kind, crate::error::Kind::Unavailable);
        assert!(
            err.message.contains("26") && err.message.contains("25"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_list_that_ignores_the_offset_falls_back_to_one_unpaged_request() {
        let f = fake(35, true);
        let got = ids(run(&f, Paging::Offset, true)).await.expect("ok");
        exact(&got, 35);
        assert_eq!(
            f.asked.lock().expect("lock").last(),
            Some(&ListCursor::Unpaged)
        );
        assert_eq!(f.asked.lock().expect("lock").len(), 3);
    }

    #[tokio::test]
    async fn offers_work_paged_or_not() {
        // /offers: whether the vendor pages it is unverified; either answer must work.
        for ignore_cursor in [false, true] {
            let f = fake(25, ignore_cursor);
            let got = ids(run(&f, Paging::Page, true)).await.expect("ok");
            exact(&got, 25);
        }
    }
}
