//! Where records go: a sink per format writing to stdout or, atomically, to a file. Records are
//! written as batches arrive and flushed whenever the fetcher has nothing ready, so output
//! flows and memory stays flat (only `table` buffers, to size its columns; `xlsx` streams its
//! rows to a temporary file and writes the workbook at the end).

mod columns;
mod csv;
mod destination;
mod fields;
mod json;
mod ocsf;
mod pager;
mod table;
mod xlsx;

use std::io::{self, BufWriter};

use jiff::tz::TimeZone;

use crate::error::Result;
use crate::plan::RecordStream;
use crate::progress::Progress;
use crate::record::Record;
use columns::{FieldCheck, Set};

pub use crate::sanitize::{escape_for_terminal, escape_json_for_terminal, neutralize_formula};
pub use columns::{Column, Fit, Show, Zones, cell_text, zone_name};
pub use destination::Destination;
pub use fields::{Cell, Fields};
pub use pager::paging;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Ndjson,
    Csv,
    Xlsx,
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
    /// `--wide`: tables show every column whole.
    pub wide: bool,
    /// Long tables on a terminal go through a pager (not with `--no-pager`).
    pub pager: bool,
    /// `--bom`: csv starts with a UTF-8 byte-order mark (for spreadsheets that want one).
    pub bom: bool,
    /// `-q`: the sinks say nothing on stderr either ("(no records)").
    pub quiet: bool,
}

impl OutputOptions {
    /// The zones times are shown in: `--tz`, and the tenant's for the wall-clock times of
    /// the log the records come from, when known.
    pub fn zones(&self) -> Zones {
        Zones {
            shown: self.tz.clone(),
            wall_clock: self.origin.as_ref().and_then(|o| o.wall_clock.clone()),
        }
    }
}

/// Writes records in one format.
pub trait Sink {
    fn write(&mut self, record: &Record) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
    /// Whether records appear as they are written (false: the sink shows them all at the end).
    fn writes_as_it_goes(&self) -> bool {
        true
    }
    /// A warning about `--fields` paths that no record had.
    fn unknown_fields(&self) -> Option<String> {
        None
    }
    /// Every warning to give at the end of the run (the unknown `--fields`, cells cut).
    fn warnings(&self) -> Vec<String> {
        self.unknown_fields().into_iter().collect()
    }
    /// Closes the format (the `]` of a JSON array, the table itself) and hands back the writer.
    fn finish(self: Box<Self>) -> io::Result<BufWriter<Destination>>;
}

/// The sink for `options.format`, with `defaults` as the columns unless `--fields` says otherwise.
pub fn sink(
    options: &OutputOptions,
    defaults: Vec<Column>,
    dest: Destination,
) -> Result<Box<dyn Sink>> {
    let out = BufWriter::with_capacity(64 * 1024, dest);
    let full = columns::choose(&options.fields, &defaults, Set::Full);
    let check = FieldCheck::of(&options.fields, &full);
    Ok(match options.format {
        Format::Json => Box::new(json::JsonArray::new(out)),
        Format::Ndjson => Box::new(json::Ndjson::new(out)),
        Format::Csv => Box::new(csv::Csv::new(
            out,
            full,
            !options.csv_raw,
            options.bom,
            check,
        )),
        Format::Xlsx => {
            let human = options.fields.is_empty() && !options.wide;
            let sheets = xlsx::Sheets {
                records: if human {
                    columns::choose(&[], &defaults, Set::Sheet)
                } else {
                    full
                },
                human,
                raw: columns::choose(&[], &defaults, Set::Full),
            };
            Box::new(xlsx::Xlsx::new(out, sheets, options.zones(), check)?)
        }
        Format::Table => {
            let default_table = options.fields.is_empty() && !options.wide;
            let columns = if default_table {
                columns::choose(&options.fields, &defaults, Set::Table)
            } else {
                full
            };
            let table_options = table::TableOptions {
                zones: options.zones(),
                color: options.color,
                fit: default_table,
                pager: options.pager,
                quiet: options.quiet,
            };
            Box::new(table::Table::new(out, columns, table_options, check))
        }
        Format::Ocsf => Box::new(ocsf::Ocsf::new(
            out,
            options.origin.clone(),
            options.tz.clone(),
        )),
    })
}

/// Moves every record of `stream` into `sink`, up to `limit`. On success the output is
/// closed and committed; on failure what was written stays as far as it got (a JSON array
/// unclosed) and a file destination is removed. A closed pipe ends the run quietly.
///
/// The writes (and the final flush, fsync and rename) are blocking I/O: they run through
/// [`blocking`], so the async workers keep fetching meanwhile. A failed write names `target`
/// (stdout, the file) and why.
pub async fn drain(
    mut stream: RecordStream,
    mut sink: Box<dyn Sink>,
    limit: Option<u64>,
    progress: &Progress,
    target: &str,
) -> Result<()> {
    let mut written: u64 = 0;
    let streaming = sink.writes_as_it_goes();
    let outcome: Result<()> = async {
        while let Some(batch) = stream.next_batch().await {
            let records = batch?;
            let take = match limit {
                Some(l) => records
                    .len()
                    .min(usize::try_from(l.saturating_sub(written)).unwrap_or(usize::MAX)),
                None => records.len(),
            };
            if take > 0 && streaming {
                progress.output_starts();
            }
            blocking(|| {
                records
                    .iter()
                    .take(take)
                    .try_for_each(|record| sink.write(record))
            })
            .map_err(|e| write_failed(target, e))?;
            written += take as u64;
            progress.records_out(take as u64);
            if limit.is_some_and(|l| written >= l) {
                break;
            }
            if stream.is_idle() {
                blocking(|| sink.flush()).map_err(|e| write_failed(target, e))?;
            }
        }
        Ok(())
    }
    .await;
    drop(stream);
    match outcome {
        Ok(()) => {
            for w in sink.warnings() {
                progress.warn(&escape_for_terminal(&w));
            }
            progress.output_starts();
            blocking(|| close(sink)).map_err(|e| write_failed(target, e))
        }
        Err(e) => {
            let _ = blocking(|| sink.flush());
            Err(e)
        }
    }
}

/// Runs blocking I/O so that the async workers are not held: on the multi-threaded runtime,
/// the worker hands its other tasks over first (`block_in_place`); elsewhere it just runs.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// A failed write, said so: which stream or file, what the system said, what to do. A closed
/// pipe (`| head`) stays a normal end.
fn write_failed(target: &str, e: io::Error) -> crate::error::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return e.into();
    }
    let hint = match e.raw_os_error() {
        Some(28 | 122) => "free some space, or write elsewhere with -o",
        Some(1 | 13 | 30) => "check the permissions of the destination, or write elsewhere with -o",
        _ => "check the destination, or write elsewhere with -o",
    };
    crate::error::Error::other(format!("writing {target} failed: {e}")).hint(hint)
}

/// Closes the format and makes the output final: flushed, and an `-o` file renamed into place.
pub fn close(sink: Box<dyn Sink>) -> io::Result<()> {
    let writer = sink.finish()?;
    let dest = writer.into_inner().map_err(|e| e.into_error())?;
    dest.commit()
}
