//! Where records go: a sink per format writing to stdout or, atomically, to a file. Records are
//! written as batches arrive and flushed whenever the fetcher has nothing ready, so output
//! flows and memory stays flat (only `table` buffers, to size its columns).

mod columns;
mod csv;
mod destination;
mod json;
mod ocsf;
mod sanitize;
mod table;

use std::io::{self, BufWriter};

use jiff::tz::TimeZone;

use crate::error::Result;
use crate::plan::RecordStream;
use crate::progress::Progress;
use crate::record::Record;

pub use columns::{Column, Show, cell_text};
pub use destination::Destination;
pub use sanitize::{escape_for_terminal, neutralize_formula};

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Ndjson,
    Csv,
    /// NDJSON of OCSF events, one per record (log commands only).
    Ocsf,
}

/// How the output should look.
#[derive(Clone)]
pub struct OutputOptions {
    pub format: Format,
    pub fields: Vec<String>,
    pub csv_raw: bool,
    pub tz: TimeZone,
    pub color: bool,
    pub limit: Option<u64>,
    /// The log the records come from, for `-f ocsf` (None for commands that are not logs).
    pub origin: Option<crate::ocsf::Origin>,
}

/// Writes records in one format.
pub trait Sink {
    fn write(&mut self, record: &Record) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
    /// Closes the format (the `]` of a JSON array, the table itself) and hands back the writer.
    fn finish(self: Box<Self>) -> io::Result<BufWriter<Destination>>;
}

/// The sink for `options.format`, with `defaults` as the columns unless `--fields` says otherwise.
pub fn sink(options: &OutputOptions, defaults: Vec<Column>, dest: Destination) -> Box<dyn Sink> {
    let out = BufWriter::with_capacity(64 * 1024, dest);
    let columns = || columns::choose(&options.fields, &defaults);
    match options.format {
        Format::Json => Box::new(json::JsonArray::new(out)),
        Format::Ndjson => Box::new(json::Ndjson::new(out)),
        Format::Csv => Box::new(csv::Csv::new(out, columns(), !options.csv_raw)),
        Format::Table => Box::new(table::Table::new(
            out,
            columns(),
            options.tz.clone(),
            options.color,
        )),
        Format::Ocsf => Box::new(ocsf::Ocsf::new(
            out,
            options.origin.clone(),
            options.tz.clone(),
        )),
    }
}

/// Moves every record of `stream` into `sink`, up to `limit`. On success the output is
/// closed and committed; on failure what was written stays as far as it got (a JSON array
/// unclosed) and a file destination is removed. A closed pipe ends the run quietly.
pub async fn drain(
    mut stream: RecordStream,
    mut sink: Box<dyn Sink>,
    limit: Option<u64>,
    progress: &Progress,
) -> Result<()> {
    let mut written: u64 = 0;
    let outcome: Result<()> = async {
        while let Some(batch) = stream.next_batch().await {
            let records = batch?;
            let take = match limit {
                Some(l) => records.len().min((l - written) as usize),
                None => records.len(),
            };
            for record in &records[..take] {
                sink.write(record)?;
            }
            written += take as u64;
            progress.records_out(take as u64);
            if limit.is_some_and(|l| written >= l) {
                break;
            }
            if stream.is_idle() {
                sink.flush()?;
            }
        }
        Ok(())
    }
    .await;
    drop(stream);
    match outcome {
        Ok(()) => {
            let writer = sink.finish()?;
            let dest = writer.into_inner().map_err(|e| e.into_error())?;
            Ok(dest.commit()?)
        }
        Err(e) => {
            let _ = sink.flush();
            Err(e)
        }
    }
}
