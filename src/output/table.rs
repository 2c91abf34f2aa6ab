//! table: for people. Buffers the rows to size the columns; shows times in the chosen zone
//! (named in the header) and codes with their meaning; escapes untrusted text. The default
//! table of each command is designed for 80 columns: when it does not fit, times lose their
//! seconds, names are cut with an ellipsis, optional id columns are hidden, and what happened
//! is cut only as a last resort; widths are display columns (CJK counts two). `--wide` and
//! `--fields` show their columns whole, up to [`MAX_CELL_WIDTH`]: no cell is ever drawn wider,
//! terminal or not, so one huge vendor string cannot pad every row to its width (output and
//! memory stay bounded). A table that draws more lines than the screen has (changes that go
//! on under themselves counted) goes through a pager.

use std::io::{self, BufWriter, IsTerminal, Write};

use serde_json::Value;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::columns::{Column, FieldCheck, Fit, Show, Zones, human};
use super::fields::Fields;
use super::{Destination, Sink, escape_for_terminal, pager};
use crate::record::Record;

/// The gap between two columns.
const GAP: usize = 2;

/// The widest a cell is drawn, in display columns (and in characters, so that zero-width
/// marks count too): a longer value is cut to this with `…`, whatever the terminal, with
/// `--wide` and into a file or pipe.
pub const MAX_CELL_WIDTH: usize = 1_000;

/// How a table is laid out.
pub struct TableOptions {
    pub zones: Zones,
    pub color: bool,
    /// Fit the default table's columns to the terminal (false with `--wide`/`--fields`).
    pub fit: bool,
    /// Page a long table on a terminal (false with `--no-pager`).
    pub pager: bool,
    /// `-q`: not even "(no records)" on stderr.
    pub quiet: bool,
}

pub struct Table {
    out: BufWriter<Destination>,
    columns: Vec<Column>,
    options: TableOptions,
    rows: Vec<Vec<String>>,
    check: Option<FieldCheck>,
}

impl Table {
    pub fn new(
        out: BufWriter<Destination>,
        columns: Vec<Column>,
        options: TableOptions,
        check: Option<FieldCheck>,
    ) -> Table {
        Table {
            out,
            columns,
            options,
            rows: Vec::new(),
            check,
        }
    }
}

/// A value as a person reads it (escaped for a terminal, at most [`MAX_CELL_WIDTH`] wide).
pub fn cell_text(value: &Value, how: Show, zones: &Zones) -> String {
    bounded(escape_for_terminal(&human(value, how, zones, "; ")))
}

/// `text` cut to [`MAX_CELL_WIDTH`] columns with `…` when it is longer (each character
/// counts at least one column).
fn bounded(text: String) -> String {
    // No character is wider than its UTF-8 bytes: a short text fits as it is.
    if text.len() <= MAX_CELL_WIDTH {
        return text;
    }
    let mut used = 0;
    // The bytes that fit with room left for the ellipsis.
    let mut keep = 0;
    for (i, c) in text.char_indices() {
        used += c.width().unwrap_or(0).max(1);
        if used > MAX_CELL_WIDTH {
            let mut out = text.get(..keep).unwrap_or_default().to_string();
            out.push('…');
            return out;
        }
        if used < MAX_CELL_WIDTH {
            keep = i + c.len_utf8();
        }
    }
    text
}

/// The header of a column: time columns name their zone (a wall clock shown as given says
/// it is the tenant's).
fn header(column: &Column, zones: &Zones, default_table: bool) -> String {
    let base = match (default_table, column.table) {
        (true, Some(spec)) => spec.header.to_string(),
        _ => column.header.clone(),
    };
    let text = match (column.show.is_time(), zones.of(column.show)) {
        (true, Some(zone)) => format!("{base} {zone}"),
        (true, None) => format!("{base} (tenant)"),
        _ => base,
    };
    escape_for_terminal(&text)
}

impl Sink for Table {
    fn write(&mut self, record: &Record) -> io::Result<()> {
        let fields = Fields::of(record);
        if let Some(check) = &mut self.check {
            check.see(&fields);
        }
        let row = self
            .columns
            .iter()
            .map(|c| cell_text(&fields.value(c), c.show, &self.options.zones))
            .collect();
        self.rows.push(row);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn writes_as_it_goes(&self) -> bool {
        false
    }

    fn unknown_fields(&self) -> Option<String> {
        self.check.as_ref().and_then(FieldCheck::warning)
    }

    fn finish(mut self: Box<Self>) -> io::Result<BufWriter<Destination>> {
        if self.rows.is_empty() {
            if !self.options.quiet && std::io::stderr().is_terminal() {
                eprintln!("(no records)");
            }
            return Ok(self.out);
        }
        let to_terminal = matches!(self.out.get_ref(), Destination::Stdout(_));
        let width = if to_terminal { terminal_width() } else { None };
        let headers: Vec<String> = self
            .columns
            .iter()
            .map(|c| header(c, &self.options.zones, self.options.fit))
            .collect();
        let fits: Vec<Fit> = self
            .columns
            .iter()
            .map(|c| match (self.options.fit, c.table) {
                (true, Some(spec)) => spec.fit,
                _ => Fit::Keep,
            })
            .collect();
        let times: Vec<bool> = self.columns.iter().map(|c| c.show.is_time()).collect();
        let layout = layout(&headers, &self.rows, &fits, &times, width);
        let text = render(&headers, &self.rows, &layout, self.options.color);
        // The lines drawn, a change that goes on under itself included.
        let lines = text.matches('\n').count();
        if to_terminal && self.options.pager && std::io::stdout().is_terminal() {
            if let Some(rows) = terminal_height() {
                if lines >= rows {
                    self.out.flush()?;
                    if pager::page(&text)? {
                        return Ok(self.out);
                    }
                }
            }
        }
        self.out.write_all(text.as_bytes())?;
        Ok(self.out)
    }
}

/// The width of each column (None: hidden), whether times drop their seconds, and whether
/// the last column (what happened) wraps onto lines of its own instead of being cut.
#[derive(Debug, PartialEq)]
struct Layout {
    widths: Vec<Option<usize>>,
    short_times: bool,
    wrap_last: bool,
}

/// Lays out columns in `width` display columns, if a width is known.
fn layout(
    headers: &[String],
    rows: &[Vec<String>],
    fits: &[Fit],
    times: &[bool],
    width: Option<usize>,
) -> Layout {
    let natural: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.width()))
                .chain(std::iter::once(headers[i].width()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let whole = Layout {
        widths: natural.iter().copied().map(Some).collect(),
        short_times: false,
        wrap_last: false,
    };
    let Some(width) = width else { return whole };
    // Columns that may be hidden, the last one first.
    let hideable: Vec<usize> = (0..fits.len())
        .rev()
        .filter(|&i| matches!(fits[i], Fit::Hide | Fit::ShrinkOrHide(_)))
        .collect();
    let mut best = None;
    for hidden in 0..=hideable.len() {
        let hide = &hideable[..hidden];
        let mut widths: Vec<Option<usize>> = natural
            .iter()
            .enumerate()
            .map(|(i, w)| (!hide.contains(&i)).then_some(*w))
            .collect();
        let total = |w: &[Option<usize>]| -> usize {
            let shown: Vec<usize> = w.iter().flatten().copied().collect();
            shown.iter().sum::<usize>() + GAP * shown.len().saturating_sub(1)
        };
        if total(&widths) <= width {
            return Layout {
                widths,
                short_times: false,
                wrap_last: false,
            };
        }
        // 1. Times without their seconds (the header may keep the column wider).
        for (i, w) in widths.iter_mut().enumerate() {
            if let (Some(w), true) = (w.as_mut(), times[i]) {
                let cells = rows
                    .iter()
                    .map(|r| r.get(i).map_or(0, |c| short_time(c).width()))
                    .max()
                    .unwrap_or(0);
                *w = cells.max(headers[i].width());
            }
        }
        // 2. Names and titles cut down to their minimum, widest first.
        let before = total(&widths);
        shrink(&mut widths, fits, width, before, |f| match f {
            Fit::Shrink(min) | Fit::ShrinkOrHide(min) => Some(min),
            _ => None,
        });
        if total(&widths) <= width {
            return Layout {
                widths,
                short_times: true,
                wrap_last: false,
            };
        }
        best = Some(widths);
    }
    // 3. Nothing left to hide: what happened gives way too, down to a usable minimum.
    let Some(mut widths) = best else { return whole };
    let total: usize = widths.iter().flatten().sum::<usize>()
        + GAP * widths.iter().flatten().count().saturating_sub(1);
    shrink(&mut widths, fits, width, total, |f| match f {
        Fit::Last => Some(12),
        _ => None,
    });
    // What happened, when it is the last column, is wrapped whole rather than cut.
    let last_shown = widths.iter().rposition(Option::is_some);
    let wrap_last = last_shown.is_some_and(|i| matches!(fits[i], Fit::Last));
    Layout {
        widths,
        short_times: true,
        wrap_last,
    }
}

/// `text` in pieces of at most `width` display columns, broken after a space where one is
/// near enough, else anywhere.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.width() > width {
        let mut used = 0;
        let mut end = 0;
        let mut last_space = None;
        for (i, c) in rest.char_indices() {
            let w = c.width().unwrap_or(0);
            if used + w > width {
                break;
            }
            used += w;
            end = i + c.len_utf8();
            if c == ' ' {
                last_space = Some(end);
            }
        }
        if end == 0 {
            // A character wider than the column: it goes whole on a line of its own.
            end = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let cut_at = last_space.filter(|&s| s > end / 2).unwrap_or(end);
        pieces.push(rest[..cut_at].trim_end().to_string());
        rest = rest[cut_at..].trim_start();
    }
    pieces.push(rest.to_string());
    pieces
}

/// Takes columns off the widest shrinkable column until `total` fits `width`.
fn shrink(
    widths: &mut [Option<usize>],
    fits: &[Fit],
    width: usize,
    mut total: usize,
    min_of: impl Fn(Fit) -> Option<usize>,
) {
    while total > width {
        let widest = widths
            .iter()
            .enumerate()
            .filter_map(|(i, w)| {
                let w = (*w)?;
                let min = min_of(fits[i])?;
                (w > min).then_some((w, i))
            })
            .max();
        let Some((_, i)) = widest else { return };
        if let Some(w) = widths[i].as_mut() {
            *w -= 1;
            total -= 1;
        }
    }
}

/// `2024-05-01 08:00` from `2024-05-01 08:00:00`; other text as it is.
fn short_time(cell: &str) -> &str {
    let b = cell.as_bytes();
    if b.len() == 19 && b[10] == b' ' && b[13] == b':' && b[16] == b':' {
        cell.get(..16).unwrap_or(cell)
    } else {
        cell
    }
}

/// Cuts `text` to `width` display columns, with an ellipsis when something was cut.
fn cut(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

fn render(headers: &[String], rows: &[Vec<String>], layout: &Layout, color: bool) -> String {
    let mut text = String::new();
    let line = |text: &mut String, cells: &mut dyn Iterator<Item = &str>, bold: bool| {
        let mut shown: Vec<(String, usize)> = Vec::new();
        let mut full_last: Option<String> = None;
        for (i, cell) in cells.enumerate() {
            let Some(Some(w)) = layout.widths.get(i) else {
                continue;
            };
            let cell = if layout.short_times && !bold {
                short_time(cell)
            } else {
                cell
            };
            full_last = Some(cell.to_string());
            shown.push((cut(cell, *w), *w));
        }
        let last = shown.len().saturating_sub(1);
        // The pieces of a wrapped last cell after its first, each on a line of its own.
        let mut more: Vec<String> = Vec::new();
        if layout.wrap_last && !bold {
            if let Some((cell, w)) = shown.last_mut() {
                let full = full_last.take().unwrap_or_default();
                if full.width() > *w {
                    let mut pieces = wrap(&full, *w).into_iter();
                    *cell = pieces.next().unwrap_or_default();
                    more = pieces.collect();
                }
            }
        }
        if bold && color {
            text.push_str("\u{1b}[1m");
        }
        for (i, (cell, w)) in shown.iter().enumerate() {
            text.push_str(cell);
            if i < last {
                let pad = w.saturating_sub(cell.width()) + GAP;
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        let end = text.trim_end_matches(' ').len();
        text.truncate(end);
        if bold && color {
            text.push_str("\u{1b}[0m");
        }
        text.push('\n');
        let indent: usize = shown[..last].iter().map(|(_, w)| w + GAP).sum();
        for piece in more {
            text.extend(std::iter::repeat_n(' ', indent));
            text.push_str(&piece);
            text.push('\n');
        }
    };
    line(&mut text, &mut headers.iter().map(String::as_str), true);
    for row in rows {
        line(&mut text, &mut row.iter().map(String::as_str), false);
    }
    text
}

/// The terminal's width: `COLUMNS` if set, else the terminal's own size when stdout is one.
fn terminal_width() -> Option<usize> {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0);
    columns.or_else(|| {
        terminal_size::terminal_size_of(std::io::stdout())
            .map(|(terminal_size::Width(w), _)| usize::from(w))
    })
}

/// The terminal's height: `LINES` if set, else the terminal's own size.
fn terminal_height() -> Option<usize> {
    let lines = std::env::var("LINES")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0);
    lines.or_else(|| {
        terminal_size::terminal_size_of(std::io::stdout())
            .map(|(_, terminal_size::Height(h))| usize::from(h))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(cells: &[&[&str]]) -> Vec<Vec<String>> {
        cells
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    #[test]
    fn wrapping_keeps_every_character_within_the_width() {
        let text = "parent_department: 陈晓明陈晓明 → Ishwar Gautam";
        for width in [1, 5, 12, 20] {
            let pieces = wrap(text, width);
            assert!(
                pieces.iter().all(|p| p.width() <= width.max(2)),
                "{pieces:?}"
            );
            let joined: String = pieces.concat().split_whitespace().collect();
            let original: String = text.split_whitespace().collect();
            assert_eq!(joined, original, "at {width}");
        }
        assert_eq!(wrap("short", 10), vec!["short"]);
    }

    fn utc() -> Zones {
        Zones {
            shown: jiff::tz::TimeZone::UTC,
            wall_clock: None,
        }
    }

    #[test]
    fn no_cell_is_wider_than_the_bound() {
        let long = "x".repeat(5 * MAX_CELL_WIDTH);
        let cell = cell_text(&Value::from(long), Show::Plain, &utc());
        assert_eq!(cell.width(), MAX_CELL_WIDTH);
        assert!(cell.ends_with("x…"));
        let wide = "陈".repeat(MAX_CELL_WIDTH);
        let cell = bounded(wide);
        assert!(
            cell.width() <= MAX_CELL_WIDTH && cell.ends_with('…'),
            "{}",
            cell.width()
        );
        let marks = "\u{301}".repeat(3 * MAX_CELL_WIDTH);
        assert_eq!(bounded(marks).chars().count(), MAX_CELL_WIDTH);
        let fits = "y".repeat(MAX_CELL_WIDTH);
        assert_eq!(bounded(fits.clone()), fits);
        let escaped = cell_text(
            &Value::from("\u{1b}".repeat(MAX_CELL_WIDTH)),
            Show::Plain,
            &utc(),
        );
        assert!(escaped.width() <= MAX_CELL_WIDTH && escaped.starts_with("\\u{1b}"));
    }

    #[test]
    fn cutting_counts_display_columns() {
        assert_eq!(cut("陈晓明陈晓明", 7), "陈晓明…");
        assert_eq!(cut("Ishwar Gautam", 8), "Ishwar …");
        assert_eq!(cut("short", 8), "short");
    }

    #[test]
    fn narrow_terminals_drop_seconds_then_cut_names_then_hide_ids() {
        let headers: Vec<String> = ["TIME", "WHO", "WHAT", "ID"].map(String::from).to_vec();
        let r = rows(&[&[
            "2024-05-01 08:00:00",
            "Ishwar Gautam Ishwar",
            "Admin deleted candidate",
            "1234567890",
        ]]);
        let fits = [Fit::Keep, Fit::Shrink(8), Fit::Last, Fit::Hide];
        let times = [true, false, false, false];
        let wide = layout(&headers, &r, &fits, &times, Some(200));
        assert!(!wide.short_times && wide.widths.iter().all(Option::is_some));
        let l = layout(&headers, &r, &fits, &times, Some(70));
        assert!(l.short_times);
        assert_eq!(l.widths[3], Some(10));
        let l = layout(&headers, &r, &fits, &times, Some(55));
        assert_eq!(l.widths[3], None, "the id is hidden, not cut");
        assert_eq!(l.widths[2], Some(23), "what happened stays whole");
    }
}
