//! csv: RFC 4180 with a header row, one row per record; nested values as JSON text; formula
//! cells neutralised unless `--csv-raw`; a UTF-8 byte-order mark first with `--bom`.

use std::borrow::Cow;
use std::io::{self, BufWriter};

use super::columns::{Column, FieldCheck};
use super::fields::Fields;
use super::{Destination, Sink, neutralize_formula};
use crate::record::Record;

pub struct Csv {
    writer: csv::Writer<BufWriter<Destination>>,
    columns: Vec<Column>,
    safe: bool,
    check: Option<FieldCheck>,
}

impl Csv {
    pub fn new(
        out: BufWriter<Destination>,
        columns: Vec<Column>,
        safe: bool,
        bom: bool,
        check: Option<FieldCheck>,
    ) -> Csv {
        let mut out = out;
        if bom {
            // Into the buffer: the first write to the destination carries it.
            let _ = std::io::Write::write_all(&mut out, "\u{feff}".as_bytes());
        }
        let mut writer = csv::WriterBuilder::new().from_writer(out);
        let header: Vec<&str> = columns.iter().map(|c| c.header.as_str()).collect();
        let _ = writer.write_record(&header);
        Csv {
            writer,
            columns,
            safe,
            check,
        }
    }
}

impl Sink for Csv {
    fn write(&mut self, record: &Record) -> io::Result<()> {
        let fields = Fields::of(record);
        if let Some(check) = &mut self.check {
            check.see(&fields);
        }
        for c in &self.columns {
            let cell = fields.cell(c);
            let text = if cell.string && self.safe {
                neutralize_formula(&cell.text)
            } else {
                Cow::Borrowed(&*cell.text)
            };
            self.writer
                .write_field(text.as_bytes())
                .map_err(io::Error::other)?;
        }
        self.writer
            .write_record(None::<&[u8]>)
            .map_err(io::Error::other)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    fn unknown_fields(&self) -> Option<String> {
        self.check.as_ref().and_then(FieldCheck::warning)
    }

    fn finish(self: Box<Self>) -> io::Result<BufWriter<Destination>> {
        self.writer
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))
    }
}
