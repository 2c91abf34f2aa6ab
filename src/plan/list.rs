//! List endpoints without a `total` (Recruitee's `GET /candidates`, `GET /offers`), paged by
//! offset (`limit`/`offset`) or by page number (`page`/`limit`), as chains of [`walk`]: the
//! cursor is the offset or page number. A list ends on an empty or short page, or on a page of
//! only records already seen; a vendor that ignores the cursor can be answered by one unpaged
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

/// A list endpoint, as a vendor module describes it.
pub trait ListSource: Send + Sync + 'static {
    /// One answer's records.
    fn fetch(&self, at: ListCursor) -> impl Future<Output = Result<Vec<Record>>> + Send;
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

    /// When a full page brings only records already seen (the vendor ignores the cursor),
    /// ask once for the whole list unpaged instead of stopping.
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
        self.cursor(0)
    }

    fn cursor(&self, n: u64) -> ListCursor {
        match self.paging {
            Paging::Offset => ListCursor::Offset {
                offset: n,
                limit: self.limit,
            },
            Paging::Page => ListCursor::Page {
                page: n.saturating_add(1),
                limit: self.limit,
            },
        }
    }

    /// The token's cursor: the offset, or the page number minus one, as text.
    fn parse(&self, token: Option<&str>) -> Result<ListCursor> {
        match token {
            None => Ok(self.cursor(0)),
            Some(UNPAGED) => Ok(ListCursor::Unpaged),
            Some(t) => t
                .parse()
                .map(|n| self.cursor(n))
                .map_err(|_| Error::other(format!("internal error: bad list cursor {t:?}"))),
        }
    }
}

impl<L: ListSource> PageSource for ListChain<L> {
    async fn fetch(&self, token: Option<String>) -> Result<Page> {
        let at = self.parse(token.as_deref())?;
        let records = self.source.fetch(at).await?;
        let n = records.len() as u64;
        let next = match at {
            ListCursor::Unpaged => Next::Done,
            _ if n < u64::from(self.limit) => Next::Done,
            ListCursor::Offset { offset, .. } => match offset.checked_add(n) {
                Some(next) => Next::Token(next.to_string()),
                None => Next::Done,
            },
            ListCursor::Page { page, .. } => Next::Token(page.to_string()),
        };
        Ok(Page { records, next })
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
    struct Fake {
        n: u64,
        ignore_cursor: bool,
        asked: Mutex<Vec<ListCursor>>,
    }

    impl ListSource for std::sync::Arc<Fake> {
        async fn fetch(&self, at: ListCursor) -> Result<Vec<Record>> {
            self.asked.lock().expect("lock").push(at);
            let (from, take) = match at {
                ListCursor::Unpaged => (0, self.n),
                ListCursor::Offset { offset, limit } => (offset, u64::from(limit)),
                ListCursor::Page { page, limit } => {
                    ((page - 1) * u64::from(limit), u64::from(limit))
                }
            };
            let from = if self.ignore_cursor { 0 } else { from };
            Ok((from..self.n.min(from + take))
                .map(|i| {
                    Record::new(
                        RawValue::from_string(format!("{{\"id\":{i}}}")).expect("raw"),
                        0,
                    )
                })
                .collect())
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
            asked: Mutex::new(vec![]),
        })
    }

    #[tokio::test]
    async fn lists_end_on_a_short_or_empty_page() {
        for (n, requests) in [(25, 3), (30, 4), (0, 1)] {
            let f = fake(n, false);
            let got = ids(run(&f, Paging::Offset, true)).await.expect("ok");
            assert_eq!(got.len() as u64, n);
            assert_eq!(f.asked.lock().expect("lock").len(), requests, "n = {n}");
        }
    }

    #[tokio::test]
    async fn a_list_that_ignores_the_offset_falls_back_to_one_unpaged_request() {
        let f = fake(35, true);
        let got = ids(run(&f, Paging::Offset, true)).await.expect("ok");
        let unique: std::collections::HashSet<_> = got.iter().collect();
        assert_eq!((got.len(), unique.len()), (35, 35), "exact: {got:?}");
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
            let unique: std::collections::HashSet<_> = got.iter().collect();
            assert_eq!((got.len(), unique.len()), (25, 25), "{ignore_cursor}");
        }
    }
}
