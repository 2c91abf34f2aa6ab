//! table: for people. Buffers the rows to size the columns; shows times in the chosen zone;
//! escapes untrusted text; fits the terminal, cutting long cells with an ellipsis.

use std::io::{self, BufWriter, IsTerminal, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ColumnConstraint, ContentArrangement, Row};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;
use unicode_width::UnicodeWidthStr;

use super::columns::{Column, Show, cell_text};
use super::{Destination, Sink, escape_for_terminal};
use crate::record::Record;

/// Columns whose cells are all at most this wide are never cut.
const SHORT: usize = 24;

pub struct Table {
    out: BufWriter<Destination>,
    columns: Vec<Column>,
    tz: TimeZone,
    color: bool,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(
        out: BufWriter<Destination>,
        columns: Vec<Column>,
        tz: TimeZone,
        color: bool,
    ) -> Table {
        Table {
            out,
            columns,
            tz,
            color,
            rows: Vec::new(),
        }
    }
}

/// A value as a person reads it.
pub fn show(value: &Value, how: Show, tz: &TimeZone) -> String {
    let time = match how {
        Show::Plain => None,
        Show::Millis => match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
        Show::Timestamp => value.as_str().and_then(|s| s.parse::<Timestamp>().ok()),
    };
    match time {
        Some(ts) => ts
            .to_zoned(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => escape_for_terminal(&cell_text(value)),
    }
}

impl Sink for Table {
    fn write(&mut self, record: &Record) -> io::Result<()> {
        let value = record.value();
        let row = self
            .columns
            .iter()
            .map(|c| show(&c.get(&value), c.show, &self.tz))
            .collect();
        self.rows.push(row);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> io::Result<BufWriter<Destination>> {
        if self.rows.is_empty() {
            if std::io::stderr().is_terminal() {
                eprintln!("(no records)");
            }
            return Ok(self.out);
        }
        let mut table = comfy_table::Table::new();
        table.load_preset(UTF8_FULL_CONDENSED);
        table.set_content_arrangement(ContentArrangement::Dynamic);
        table.set_truncation_indicator("…");
        if let Some(w) = terminal_width() {
            table.set_width(w);
        }
        let header: Vec<Cell> = self
            .columns
            .iter()
            .map(|c| {
                let cell = Cell::new(escape_for_terminal(&c.header));
                if self.color {
                    cell.fg(Color::Cyan)
                } else {
                    cell
                }
            })
            .collect();
        table.set_header(header);
        // Short columns (times, IDs, types) keep their full width; long text gives way.
        let keep: Vec<bool> = (0..self.columns.len())
            .map(|i| self.rows.iter().map(|r| r[i].width()).max().unwrap_or(0) <= SHORT)
            .collect();
        for row in self.rows.drain(..) {
            let mut r = Row::from(row);
            r.max_height(1);
            table.add_row(r);
        }
        for (i, column) in table.column_iter_mut().enumerate() {
            if keep.get(i).copied().unwrap_or(false) {
                column.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
        if self.color {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        writeln!(self.out, "{table}")?;
        Ok(self.out)
    }
}

/// The terminal's width: `COLUMNS` if set, else the terminal's own size when stdout is one.
fn terminal_width() -> Option<u16> {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<u16>().ok());
    columns.or_else(|| {
        std::io::stdout()
            .is_terminal()
            .then(|| comfy_table::Table::new().width())
            .flatten()
    })
}
