//! Columns for csv, xlsx and table: a header, how to get the value from a record (a dotted
//! path, or a derived value such as Recruitee placements), how a table or workbook shows it
//! ([`human`]: the one place a value becomes what a person reads, for both), and whether (and
//! where) it is part of the default table designed for 80 columns and of the workbook's first
//! sheet.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::fields::Fields;
use crate::codes::Codes;

/// How a table (and a workbook) shows a column's value. csv always writes the raw value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    Plain,
    /// Milliseconds since the epoch (number or string), shown in the chosen zone.
    Millis,
    /// An RFC 3339 timestamp, shown in the chosen zone.
    Timestamp,
    /// A wall-clock time without an offset (`2023-11-15 19:25:45`) in the tenant's zone,
    /// which the record does not name: converted to the chosen zone when the tenant's zone is
    /// known ([`Zones::wall_clock`]), else shown as given, and the header says which.
    WallClock,
    /// A calendar date (`2023-10-28`): a date cell in a workbook, as given elsewhere.
    Date,
    /// A code shown with its meaning from the vendor's table (`120 edit association rules`).
    Code(Codes),
    /// `changes` (`[{field, before, after}]`), shown as `field: before → after`.
    Changes,
}

impl Show {
    /// A column of times.
    pub fn is_time(self) -> bool {
        matches!(self, Show::Millis | Show::Timestamp | Show::WallClock)
    }
}

/// The zones of times: the one they are shown in (`--tz`), and the one of the wall-clock
/// times a log writes without an offset (the tenant's), when it is known.
#[derive(Debug, Clone)]
pub struct Zones {
    pub shown: TimeZone,
    pub wall_clock: Option<TimeZone>,
}

impl Zones {
    /// A time value as an instant, if `how` says the column holds one and it reads as one
    /// (a wall clock only when its zone is known).
    pub fn instant(&self, value: &Value, how: Show) -> Option<Timestamp> {
        match how {
            Show::Millis => {
                crate::codes::read(value).and_then(|ms| Timestamp::from_millisecond(ms).ok())
            }
            Show::Timestamp => value.as_str().and_then(|s| s.parse::<Timestamp>().ok()),
            Show::WallClock => {
                let zone = self.wall_clock.as_ref()?;
                let civil: jiff::civil::DateTime = value.as_str()?.trim().parse().ok()?;
                civil.to_zoned(zone.clone()).ok().map(|z| z.timestamp())
            }
            _ => None,
        }
    }

    /// The zone a time column is shown in, for its header: the chosen zone's name, or None
    /// for wall clocks shown as given (the tenant's zone unknown).
    pub fn of(&self, how: Show) -> Option<String> {
        match how {
            Show::WallClock if self.wall_clock.is_none() => None,
            _ => Some(zone_name(&self.shown)),
        }
    }
}

/// The name of a zone for a header: its IANA name, else its current offset.
pub fn zone_name(tz: &TimeZone) -> String {
    match tz.iana_name() {
        Some("Etc/UTC" | "Etc/Universal" | "Etc/Zulu" | "UCT") => "UTC".to_string(),
        Some(name) => name.to_string(),
        None => Timestamp::now()
            .to_zoned(tz.clone())
            .strftime("UTC%:z")
            .to_string(),
    }
}

/// A value as a person reads it, before any escaping or cutting: times in the shown zone
/// (`2024-05-01 08:00:00`), codes with their meaning, changes as `field: before → after`
/// joined by `separator`. The table and the workbook's first sheet both show this.
pub fn human(value: &Value, how: Show, zones: &Zones, separator: &str) -> String {
    match how {
        Show::Millis | Show::Timestamp | Show::WallClock => match zones.instant(value, how) {
            Some(ts) => ts
                .to_zoned(zones.shown.clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string(),
            None => cell_text(value),
        },
        Show::Plain | Show::Date => cell_text(value),
        Show::Code(codes) => codes.text(value),
        Show::Changes => changes_lines(value).join(separator),
    }
}

/// How a column of the default table gives way when the terminal is narrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Never cut nor hidden (ids, codes, times except their seconds).
    Keep,
    /// Not in the terminal table (no room at 80 columns): only among the workbook's human
    /// columns (a reason, an effective date).
    SheetOnly,
    /// May be cut, with an ellipsis, down to this many columns (names, titles).
    Shrink(usize),
    /// Hidden whole when there is no room (an id that would be useless cut).
    Hide,
    /// Cut down to this many columns, and hidden when even that leaves no room.
    ShrinkOrHide(usize),
    /// What happened: cut only when nothing else can give way.
    Last,
}

/// The place of a column in the default table.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    pub header: &'static str,
    pub fit: Fit,
    /// Table columns are shown in this order (when, who, what happened, on what).
    pub order: u8,
}

#[derive(Clone)]
pub struct Column {
    pub header: String,
    pub path: Vec<String>,
    /// Made from the value at `path` rather than being it.
    pub derive: Option<fn(&Value) -> Value>,
    pub show: Show,
    /// Part of the default csv/xlsx columns (and of `--wide` tables).
    pub csv: bool,
    /// Part of the default table, and how.
    pub table: Option<TableSpec>,
}

impl Column {
    /// A column at a dotted path (`operator.name.en_us`; numbers index arrays: `emails.0`).
    pub fn path(path: &str) -> Column {
        Column {
            header: path.to_string(),
            path: path.split('.').map(str::to_string).collect(),
            derive: None,
            show: Show::Plain,
            csv: true,
            table: None,
        }
    }

    pub fn show(mut self, show: Show) -> Column {
        self.show = show;
        self
    }

    /// Also in the default table, at `order`, headed `header`.
    pub fn table(mut self, order: u8, header: &'static str, fit: Fit) -> Column {
        self.table = Some(TableSpec { header, fit, order });
        self
    }

    /// Only in the default table, not in csv/xlsx (a derived value meant for people).
    pub fn table_only(mut self) -> Column {
        self.csv = false;
        self
    }

    /// A column computed from the value at `source` (a dotted path): `derive` is given that
    /// value (null when the record has none).
    pub fn derived(header: &str, source: &str, derive: fn(&Value) -> Value) -> Column {
        Column {
            header: header.to_string(),
            derive: Some(derive),
            ..Column::path(source)
        }
    }
}

/// Which set of columns a sink wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    /// The default table, designed for 80 columns.
    Table,
    /// Every csv column (csv, the workbook's raw sheet, `--wide` tables and workbooks).
    Full,
    /// The workbook's human columns: the default table's, all of them, and those only a
    /// sheet has room for ([`Fit::SheetOnly`]).
    Sheet,
}

/// `--fields` if given (keeping the way a default column with the same path is shown), else
/// the defaults of `set`.
pub fn choose(fields: &[String], defaults: &[Column], set: Set) -> Vec<Column> {
    if fields.is_empty() {
        return match set {
            Set::Full => defaults.iter().filter(|c| c.csv).cloned().collect(),
            Set::Table | Set::Sheet => {
                let mut cols: Vec<Column> = defaults
                    .iter()
                    .filter(|c| {
                        c.table
                            .is_some_and(|t| set == Set::Sheet || t.fit != Fit::SheetOnly)
                    })
                    .cloned()
                    .collect();
                cols.sort_by_key(|c| c.table.map_or(u8::MAX, |t| t.order));
                cols
            }
        };
    }
    fields
        .iter()
        .map(|f| {
            let f = f.trim();
            defaults
                .iter()
                .find(|c| c.derive.is_none() && c.path.join(".") == f)
                .map(|c| Column {
                    header: f.to_string(),
                    table: None,
                    csv: true,
                    ..c.clone()
                })
                .unwrap_or_else(|| Column::path(f))
        })
        .collect()
}

/// The text of a value in a cell: strings as they are, null as empty, objects and arrays as JSON.
pub fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(_) | Value::Number(_) | Value::Array(_) | Value::Object(_) => value.to_string(),
    }
}

/// Watches the records for `--fields` paths that none of them has, to warn about a typo.
pub struct FieldCheck {
    paths: Vec<(Vec<String>, bool)>,
    first_fields: Option<Vec<String>>,
}

impl FieldCheck {
    /// A check of the user's `--fields` columns (none when `--fields` was not given).
    pub fn of(fields: &[String], columns: &[Column]) -> Option<FieldCheck> {
        if fields.is_empty() {
            return None;
        }
        let paths: Vec<(Vec<String>, bool)> = columns
            .iter()
            .filter(|c| c.derive.is_none())
            .map(|c| (c.path.clone(), false))
            .collect();
        Some(FieldCheck {
            paths,
            first_fields: None,
        })
    }

    /// Notes which paths this record has.
    pub fn see(&mut self, record: &Fields) {
        if self.first_fields.is_none() {
            self.first_fields = Some(record.names());
        }
        for (path, found) in &mut self.paths {
            if !*found && record.has(path) {
                *found = true;
            }
        }
    }

    /// The warning to give, if a path was in no record.
    pub fn warning(&self) -> Option<String> {
        let first = self.first_fields.as_ref()?;
        let missing: Vec<String> = self
            .paths
            .iter()
            .filter(|(_, found)| !found)
            .map(|(p, _)| p.join("."))
            .collect();
        if missing.is_empty() {
            return None;
        }
        Some(format!(
            "--fields: no record has {}; the first record's fields are: {}",
            missing.join(", "),
            first.join(", ")
        ))
    }
}

/// `field: before → after` for each change. A value that already starts with its own field
/// name (`manager: Tom`) is not prefixed twice. A value that is not a list is one line, as is.
pub fn changes_lines(value: &Value) -> Vec<String> {
    let Value::Array(changes) = value else {
        return vec![cell_text(value)];
    };
    changes
        .iter()
        .map(|c| {
            let field = c.get("field").map(cell_text).unwrap_or_default();
            let side = |key: &str| {
                let text = c.get(key).map(cell_text).unwrap_or_default();
                match text.strip_prefix(&format!("{field}: ")) {
                    Some(rest) if !field.is_empty() => rest.to_string(),
                    _ => text,
                }
            };
            let (before, after) = (side("before"), side("after"));
            let before = if before.is_empty() { "∅" } else { &before };
            let after = if after.is_empty() { "∅" } else { &after };
            if field.is_empty() {
                format!("{before} → {after}")
            } else {
                format!("{field}: {before} → {after}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_read_as_before_and_after() {
        let v = json!([{"field": "manager", "before": "manager: Tom", "after": "manager: 张三"},
                       {"field": "name", "before": "", "after": "Ops"}]);
        assert_eq!(changes_lines(&v), ["manager: Tom → 张三", "name: ∅ → Ops"]);
    }
}
