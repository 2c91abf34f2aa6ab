//! xlsx: a workbook for spreadsheets, written with rust_xlsxwriter in constant-memory mode
//! (rows stream to a temporary file, not to memory). A bold, frozen header row with a filter;
//! every id and string a text cell exactly as the vendor sent it (no formula can exist, no
//! `'`, no 19-digit id turned into a float); times as date-time cells in the chosen zone
//! (Feishu department times as the tenant's wall clock, which the record does not name).
//! A value longer than a cell holds is cut to fit, ending in [`CUT_MARKER`], and the run warns
//! once how many cells were cut: a workbook never fails for one long value.

use std::io::{self, BufWriter};

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};
use serde_json::Value;
use unicode_width::UnicodeWidthStr;

use super::columns::{Column, FieldCheck, Show, cell_text};
use super::fields::Fields;
use super::table::{instant, zone_name};
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

pub struct Xlsx {
    out: Option<BufWriter<Destination>>,
    book: Workbook,
    columns: Vec<Column>,
    tz: TimeZone,
    time: Format,
    row: u32,
    widths: Vec<usize>,
    check: Option<FieldCheck>,
    /// Cells cut to fit.
    cut: u64,
}

fn xlsx_error(e: XlsxError) -> io::Error {
    io::Error::other(format!("cannot write the workbook: {e}"))
}

impl Xlsx {
    pub fn new(
        out: BufWriter<Destination>,
        columns: Vec<Column>,
        tz: TimeZone,
        check: Option<FieldCheck>,
    ) -> io::Result<Xlsx> {
        let mut book = Workbook::new();
        let header = Format::new().set_bold();
        let time = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        let mut widths = Vec::with_capacity(columns.len());
        {
            let sheet = book
                .add_worksheet_with_constant_memory()
                .map_err(xlsx_error)?;
            sheet.set_name("records").map_err(xlsx_error)?;
            for (i, c) in columns.iter().enumerate() {
                let col = u16::try_from(i).map_err(|_| io::Error::other("too many columns"))?;
                let text = match c.show {
                    Show::Millis | Show::Timestamp => format!("{} ({})", c.header, zone_name(&tz)),
                    Show::WallClock => format!("{} (tenant clock)", c.header),
                    _ => c.header.clone(),
                };
                widths.push(text.width() + 2);
                sheet
                    .write_string_with_format(0, col, text, &header)
                    .map_err(xlsx_error)?;
            }
            sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
        }
        Ok(Xlsx {
            out: Some(out),
            book,
            columns,
            tz,
            time,
            row: 0,
            widths,
            check,
            cut: 0,
        })
    }

    /// The date-time cell for a time value, in the chosen zone (wall clocks as given).
    fn datetime(&self, value: &Value, show: Show) -> Option<ExcelDateTime> {
        let civil: DateTime = match show {
            Show::Millis | Show::Timestamp => {
                instant(value, show)?.to_zoned(self.tz.clone()).datetime()
            }
            Show::WallClock => value.as_str()?.trim().parse().ok()?,
            _ => return None,
        };
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
        let cells: Vec<(Value, Option<ExcelDateTime>)> = self
            .columns
            .iter()
            .map(|c| {
                let v = fields.value(c);
                let t = self.datetime(&v, c.show);
                (v, t)
            })
            .collect();
        let sheet = self.book.worksheet_from_index(0).map_err(xlsx_error)?;
        for (i, (v, time)) in cells.iter().enumerate() {
            let col = u16::try_from(i).map_err(|_| io::Error::other("too many columns"))?;
            let width = match time {
                Some(t) => {
                    sheet
                        .write_datetime_with_format(row, col, t, &self.time)
                        .map_err(xlsx_error)?;
                    19
                }
                None => {
                    let mut text = cell_text(v);
                    if text.is_empty() {
                        continue;
                    }
                    if let Some(cut) = fit_cell(&text) {
                        text = cut;
                        self.cut += 1;
                    }
                    let width = text.lines().map(|l| l.width()).max().unwrap_or(0);
                    sheet.write_string(row, col, text).map_err(xlsx_error)?;
                    width
                }
            };
            if let Some(w) = self.widths.get_mut(i) {
                *w = (*w).max(width + 1);
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
        let last_col = u16::try_from(self.columns.len().saturating_sub(1))
            .map_err(|_| io::Error::other("too many columns"))?;
        {
            let sheet = self.book.worksheet_from_index(0).map_err(xlsx_error)?;
            for (i, w) in self.widths.iter().enumerate() {
                let col = u16::try_from(i).map_err(|_| io::Error::other("too many columns"))?;
                let w = (*w).clamp(MIN_WIDTH, MAX_WIDTH);
                sheet
                    .set_column_width(col, u32::try_from(w).unwrap_or(60))
                    .map_err(xlsx_error)?;
            }
            if !self.columns.is_empty() {
                sheet
                    .autofilter(0, 0, self.row, last_col)
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
