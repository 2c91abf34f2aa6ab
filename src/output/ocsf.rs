//! ocsf: NDJSON, one OCSF event per record (see `crate::ocsf`). Each event's `metadata.uid` is
//! the record's hrlogs id: the one the record carries (from the archive), else the one an
//! [`Identifier`] assigns along the stream, so live, archive and sync output agree.

use std::io::{self, BufWriter, Write};

use jiff::tz::TimeZone;

use super::{Destination, Sink};
use crate::identity::Identifier;
use crate::ocsf::{self, Origin};
use crate::record::Record;

pub struct Ocsf {
    out: BufWriter<Destination>,
    origin: Option<Origin>,
    ids: Option<Identifier>,
    tz: TimeZone,
}

impl Ocsf {
    /// Events of the records of `origin` (None: a command whose records are not events,
    /// which refuses `-f ocsf` before any request; every write then fails).
    pub fn new(out: BufWriter<Destination>, origin: Option<Origin>, tz: TimeZone) -> Self {
        Ocsf {
            out,
            ids: origin.as_ref().map(|o| Identifier::new(o.source)),
            origin,
            tz,
        }
    }
}

impl Sink for Ocsf {
    fn write(&mut self, record: &Record) -> io::Result<()> {
        let (Some(origin), Some(ids)) = (&self.origin, &mut self.ids) else {
            return Err(io::Error::other(
                "-f ocsf is only for the log commands (feishu dept-logs, feishu talent-logs, recruitee audit)",
            ));
        };
        let uid = match &record.id {
            Some(id) => id.clone(),
            None => ids.id(record),
        };
        let event = ocsf::event(origin, record, uid, &self.tz).map_err(io::Error::other)?;
        serde_json::to_writer(&mut self.out, &event)?;
        self.out.write_all(b"\n")
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(self: Box<Self>) -> io::Result<BufWriter<Destination>> {
        Ok(self.out)
    }
}
