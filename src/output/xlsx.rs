//! xlsx: a workbook for people, written with rust_xlsxwriter in constant-memory mode (each
//! sheet's rows stream to a temporary file of its own as they are written, not to memory, so
//! both sheets are written row by row at once).
//!
//! The first sheet, "records", holds the human columns of the table (when, who, what happened
//! in words, on what) with the ids beside them, all of them whatever the width (`--wide` and
//! `--fields` choose others): codes with their meaning, a change as `field: before → after`,
//! one per line in its cell. The second, "raw", holds the vendor's fields, the columns csv has
//! by default, as text cells exactly as sent. Both have a bold, frozen header row with a
//! filter; every id and string is a text cell exactly as shown (no formula can exist, no `'`,
//! no 19-digit id turned into a float); times on the first sheet are date-time cells in the
//! chosen zone (Feishu department times converted from the tenant's zone when it is known,
//! else as given, and the header says which), dates are date cells.
//! A value longer than a cell holds is cut to fit, ending in [`CUT_MARKER`], and the run warns
//! once how many cells were cut: a workbook never fails for one long value.

use std::io::{self, BufWriter};

use jiff::civil::{Date, DateTime};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use serde_json::Value;
use unicode_width::UnicodeWidthStr;

use super::columns::{Column, FieldCheck, Show, Zones, human};
use super::fields::Fields;
use super::{Destination, Sink};
use crate::record::Record;

/// Excel's limit on one cell, in UTF-16 code units (what Excel counts: an emoji is two).
const MAX_CELL_UNITS: usize = 32_767;
/// What ends a cell cut to fit (within the limit).
pub const CUT_MARKER: &str = "…[cut]";
/// Excel's last row (the header takes the first).
const MAX_ROWS: u32 = 1_048_575;
/// Column widths are sized from the cells but stay within these bounds.
const MIN_WIDTH: usize = 8;
const MAX_WIDTH: usize = 60;

/// The columns of the workbook's two sheets.
pub struct Sheets {
    /// The first sheet's columns, and whether they are the human defaults (headed as the
    /// table heads them).
    pub records: Vec<Column>,
    pub human: bool,
    /// The raw sheet's columns (csv's defaults).
    pub raw: Vec<Column>,
}

/// One sheet being written: its columns, how its cells are made, its column widths.
struct Sheet {
    index: usize,
    columns: Vec<Column>,
    /// Cells as people read them (times and dates as such); else the raw text.
    shown: bool,
    widths: Vec<usize>,
}

pub struct Xlsx {
    out: Option<BufWriter<Destination>>,
    book: Workbook,
    sheets: Vec<Sheet>,
    zones: Zones,
    time: Format,
    date: Format,
    row: u32,
    check: Option<FieldCheck>,
    /// Cells cut to fit.
    cut: u64,
}

fn xlsx_error(e: XlsxError) -> io::Error {
    io::Error::other(format!("cannot write the workbook: {e}"))
}

fn col_of(i: usize) -> io::Result<u16> {
    u16::try_from(i).map_err(|_| io::Error::other("a worksheet holds at most 16,384 columns"))
}

/// Adds a constant-memory sheet named `name` with `headers` in bold and frozen.
fn add_sheet(book: &mut Workbook, name: &str, headers: &[String]) -> io::Result<Vec<usize>> {
    let bold = Format::new().set_bold();
    let sheet = book
        .add_worksheet_with_constant_memory()
        .map_err(xlsx_error)?;
    sheet.set_name(name).map_err(xlsx_error)?;
    let mut widths = Vec::with_capacity(headers.len());
    for (i, text) in headers.iter().enumerate() {
        widths.push(text.width() + 2);
        sheet
            .write_string_with_format(0, col_of(i)?, text, &bold)
            .map_err(xlsx_error)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    Ok(widths)
}

/// The header of a column on the first sheet: a time column names its zone (a wall clock
/// shown as given says it is the tenant's clock).
fn header(column: &Column, human: bool, zones: &Zones) -> String {
    let base = match (human, column.table) {
        (true, Some(spec)) => spec.header.to_string(),
        _ => column.header.clone(),
    };
    match (column.show.is_time(), zones.of(column.show)) {
        (true, Some(zone)) => format!("{base} ({zone})"),
        (true, None) => format!("{base} (tenant clock)"),
        _ => base,
    }
}

/// An Excel date-time from a civil date-time, if Excel can hold it.
fn excel(civil: DateTime) -> Option<ExcelDateTime> {
    let year = u16::try_from(civil.year()).ok()?;
    let month = u8::try_from(civil.month()).ok()?;
    let day = u8::try_from(civil.day()).ok()?;
    let hour = u16::try_from(civil.hour()).ok()?;
    let minute = u8::try_from(civil.minute()).ok()?;
    let second = u8::try_from(civil.second()).ok()?;
    let milli = u16::try_from(civil.millisecond()).ok()?;
    ExcelDateTime::from_ymd(year, month, day)
        .and_then(|d| d.and_hms_milli(hour, minute, second, milli))
        .ok()
}

/// A cell as it is written.
enum Cell {
    Time(ExcelDateTime),
    Date(ExcelDateTime),
    Text(String),
}

impl Xlsx {
    pub fn new(
        out: BufWriter<Destination>,
        columns: Sheets,
        zones: Zones,
        check: Option<FieldCheck>,
    ) -> io::Result<Xlsx> {
        let mut book = Workbook::new();
        let headers: Vec<String> = columns
            .records
            .iter()
            .map(|c| header(c, columns.human, &zones))
            .collect();
        let widths = add_sheet(&mut book, "records", &headers)?;
        let mut sheets = vec![Sheet {
            index: 0,
            columns: columns.records,
            shown: true,
            widths,
        }];
        let raw_headers: Vec<String> = columns.raw.iter().map(|c| c.header.clone()).collect();
        let widths = add_sheet(&mut book, "raw", &raw_headers)?;
        sheets.push(Sheet {
            index: 1,
            columns: columns.raw,
            shown: false,
            widths,
        });
        Ok(Xlsx {
            out: Some(out),
            book,
            sheets,
            zones,
            time: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            row: 0,
            check,
            cut: 0,
        })
    }

    /// The cell of `column` as people read it: a time or date cell where the value is one,
    /// else its text (codes with their meaning, changes one per line).
    fn shown(&self, value: &Value, show: Show) -> Cell {
        let time = match show {
            Show::Millis | Show::Timestamp | Show::WallClock => {
                match self.zones.instant(value, show) {
                    Some(ts) => Some(ts.to_zoned(self.zones.shown.clone()).datetime()),
                    // A wall clock whose zone is unknown: as given.
                    None if show == Show::WallClock => value
                        .as_str()
                        .and_then(|t| t.trim().parse::<DateTime>().ok()),
                    None => None,
                }
            }
            _ => None,
        };
        if let Some(t) = time.and_then(excel) {
            return Cell::Time(t);
        }
        if show == Show::Date {
            let date = value.as_str().and_then(|t| t.trim().parse::<Date>().ok());
            if let Some(d) = date.and_then(|d| excel(d.to_datetime(jiff::civil::Time::midnight())))
            {
                return Cell::Date(d);
            }
        }
        Cell::Text(human(value, show, &self.zones, "\n"))
    }
}

/// Writes one cell; returns its width in the column, or None when nothing was written.
fn write_cell(
    sheet: &mut Worksheet,
    (row, col): (u32, u16),
    cell: Cell,
    (time, date): (&Format, &Format),
    cut: &mut u64,
) -> io::Result<Option<usize>> {
    Ok(Some(match cell {
        Cell::Time(t) => {
            sheet
                .write_datetime_with_format(row, col, t, time)
                .map_err(xlsx_error)?;
            19
        }
        Cell::Date(d) => {
            sheet
                .write_datetime_with_format(row, col, d, date)
                .map_err(xlsx_error)?;
            10
        }
        Cell::Text(mut text) => {
            if text.is_empty() {
                return Ok(None);
            }
            if let Some(shorter) = fit_cell(&text) {
                text = shorter;
                *cut += 1;
            }
            let width = text.lines().map(|l| l.width()).max().unwrap_or(0);
            sheet.write_string(row, col, text).map_err(xlsx_error)?;
            width
        }
    }))
}

impl Sink for Xlsx {
    fn write(&mut self, record: &Record) -> io::Result<()> {
        let fields = Fields::of(record);
        if let Some(check) = &mut self.check {
            check.see(&fields);
        }
        if self.row >= MAX_ROWS {
            return Err(io::Error::other(format!(
                "a worksheet holds at most {MAX_ROWS} records: use -f csv or ndjson, or narrow the query"
            )));
        }
        self.row += 1;
        let row = self.row;
        for s in 0..self.sheets.len() {
            let cells: Vec<Cell> = self.sheets[s]
                .columns
                .iter()
                .map(|c| match self.sheets[s].shown {
                    true => self.shown(&fields.value(c), c.show),
                    false => Cell::Text(fields.cell(c).text.into_owned()),
                })
                .collect();
            let index = self.sheets[s].index;
            let sheet = self.book.worksheet_from_index(index).map_err(xlsx_error)?;
            for (i, cell) in cells.into_iter().enumerate() {
                let formats = (&self.time, &self.date);
                let written = write_cell(sheet, (row, col_of(i)?), cell, formats, &mut self.cut)?;
                if let (Some(width), Some(w)) = (written, self.sheets[s].widths.get_mut(i)) {
                    *w = (*w).max(width + 1);
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn unknown_fields(&self) -> Option<String> {
        self.check.as_ref().and_then(FieldCheck::warning)
    }

    fn warnings(&self) -> Vec<String> {
        let mut all: Vec<String> = self.unknown_fields().into_iter().collect();
        if self.cut > 0 {
            let cells = if self.cut == 1 {
                "1 cell was".to_string()
            } else {
                format!("{} cells were", self.cut)
            };
            all.push(format!(
                "{cells} longer than a spreadsheet cell holds (32,767 UTF-16 units) and cut to \
                 fit, ending in {CUT_MARKER}: use -f json, ndjson or csv for the whole values"
            ));
        }
        all
    }

    fn finish(mut self: Box<Self>) -> io::Result<BufWriter<Destination>> {
        for s in &self.sheets {
            let sheet = self
                .book
                .worksheet_from_index(s.index)
                .map_err(xlsx_error)?;
            for (i, w) in s.widths.iter().enumerate() {
                let w = (*w).clamp(MIN_WIDTH, MAX_WIDTH);
                sheet
                    .set_column_width(col_of(i)?, u32::try_from(w).unwrap_or(60))
                    .map_err(xlsx_error)?;
            }
            if let Some(last) = s.columns.len().checked_sub(1) {
                sheet
                    .autofilter(0, 0, self.row, col_of(last)?)
                    .map_err(xlsx_error)?;
            }
        }
        let out = self
            .out
            .take()
            .ok_or_else(|| io::Error::other("workbook already written"))?;
        let mut dest = out.into_inner().map_err(|e| e.into_error())?;
        self.book.save_to_writer(&mut dest).map_err(xlsx_error)?;
        Ok(BufWriter::new(dest))
    }
}

/// `text` cut to fit a cell (at most [`MAX_CELL_UNITS`] UTF-16 units, at a character
/// boundary, so a surrogate pair is never split, and ending in [`CUT_MARKER`]); None when it
/// fits as it is.
fn fit_cell(text: &str) -> Option<String> {
    // A character takes no more UTF-16 units than UTF-8 bytes: a short text fits.
    if text.len() <= MAX_CELL_UNITS {
        return None;
    }
    let room = MAX_CELL_UNITS - CUT_MARKER.encode_utf16().count();
    let mut units = 0;
    let mut keep = 0;
    for (i, c) in text.char_indices() {
        units += c.len_utf16();
        if units > MAX_CELL_UNITS {
            let mut out = text.get(..keep).unwrap_or_default().to_string();
            out.push_str(CUT_MARKER);
            return Some(out);
        }
        if units <= room {
            keep = i + c.len_utf8();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_in_utf16_units_never_inside_a_pair() {
        assert_eq!(fit_cell("short"), None);
        assert_eq!(fit_cell(&"a".repeat(MAX_CELL_UNITS)), None);
        let units = |s: &str| s.encode_utf16().count();
        for text in [
            "😀".repeat(20_000),
            "a".repeat(MAX_CELL_UNITS + 1),
            format!("a{}", "😀".repeat(MAX_CELL_UNITS / 2 + 1)),
            "陈".repeat(40_000),
        ] {
            let cut = fit_cell(&text).expect("cut");
            assert!(units(&cut) <= MAX_CELL_UNITS, "{}", units(&cut));
            assert!(units(&cut) >= MAX_CELL_UNITS - 1, "{}", units(&cut));
            let kept = cut.strip_suffix(CUT_MARKER).expect("marker");
            assert!(text.starts_with(kept));
        }
        // 16,383 emoji and one letter: 32,767 units, it fits whole.
        let exact = format!("{}a", "😀".repeat(16_383));
        assert_eq!(fit_cell(&exact), None);
    }
}
