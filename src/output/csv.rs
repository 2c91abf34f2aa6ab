//! csv: RFC 4180 with a header row, one row per record; nested values as JSON text; formula
//! cells neutralised unless `--csv-raw`.

use std::io::{self, BufWriter};

use super::columns::{Column, FieldCheck, cell_text};
use super::{Destination, Sink, neutralize_formula};
use crate::record::Record;

pub struct Csv {
    writer: csv::Writer<BufWriter<Destination>>,
    columns: Vec<Column>,
    safe: bool,
    row: Vec<String>,
    check: Option<FieldCheck>,
}

impl Csv {
    pub fn new(
        out: BufWriter<Destination>,
        columns: Vec<Column>,
        safe: bool,
        check: Option<FieldCheck>,
    ) -> Csv {
        let mut writer = csv::WriterBuilder::new().from_writer(out);
        let header: Vec<&str> = columns.iter().map(|c| c.header.as_str()).collect();
        let _ = writer.write_record(&header);
        Csv {
            writer,
            columns,
            safe,
            row: Vec::new(),
            check,
        }
    }
}

impl Sink for Csv {
    fn write(&mut self, record: &Record) -> io::Result<()> {
        let value = record.value();
        if let Some(check) = &mut self.check {
            check.see(&value);
        }
        self.row.clear();
        for c in &self.columns {
            let v = c.get(&value);
            let text = cell_text(&v);
            let text = match (&v, self.safe) {
                (serde_json::Value::String(_), true) => neutralize_formula(&text).into_owned(),
                _ => text,
            };
            self.row.push(text);
        }
        self.writer
            .write_record(&self.row)
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
