//! Columns for csv, xlsx and table: a header, how to get the value from a record (a dotted
//! path, or a derived value such as Recruitee placements), how a table or workbook shows it,
//! and whether (and where) it is part of the default table designed for 80 columns.

use serde_json::Value;

use super::fields::Fields;

/// How a table (and a workbook) shows a column's value. csv always writes the raw value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    Plain,
    /// Milliseconds since the epoch (number or string), shown in the chosen zone.
    Millis,
    /// An RFC 3339 timestamp, shown in the chosen zone.
    Timestamp,
    /// A wall-clock time without an offset (`2023-11-15 19:25:45`) in the tenant's zone,
    /// which the record does not name: shown as given, and the header says so.
    WallClock,
    /// A Feishu CoreHR department operation type, shown with its documented meaning.
    DeptOperation,
    /// Feishu CoreHR `changes` (`[{field, before, after}]`), shown as `field: before → after`.
    Changes,
}

impl Show {
    /// A column of times.
    pub fn is_time(self) -> bool {
        matches!(self, Show::Millis | Show::Timestamp | Show::WallClock)
    }
}

/// How a column of the default table gives way when the terminal is narrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Never cut nor hidden (ids, codes, times except their seconds).
    Keep,
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
    /// Every csv column (csv, xlsx, `--wide` tables).
    Full,
}

/// `--fields` if given (keeping the way a default column with the same path is shown), else
/// the defaults of `set`.
pub fn choose(fields: &[String], defaults: &[Column], set: Set) -> Vec<Column> {
    if fields.is_empty() {
        return match set {
            Set::Full => defaults.iter().filter(|c| c.csv).cloned().collect(),
            Set::Table => {
                let mut cols: Vec<Column> = defaults
                    .iter()
                    .filter(|c| c.table.is_some())
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

/// The documented meaning of a CoreHR department operation type (FACTS.md).
pub fn dept_operation(code: i64) -> Option<&'static str> {
    Some(match code {
        10 => "create record",
        20 => "create/copy version",
        50 => "edit version",
        60 => "revoke version",
        70 => "disable",
        80 => "enable",
        90 => "delete record",
        100 => "custom sort",
        110 => "update",
        120 => "edit association rules",
        _ => return None,
    })
}

/// `120 edit association rules`; a code without a documented meaning as it is.
pub fn dept_operation_text(value: &Value) -> String {
    let code = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match code.and_then(|c| dept_operation(c).map(|m| (c, m))) {
        Some((c, meaning)) => format!("{c} {meaning}"),
        None => cell_text(value),
    }
}

/// `field: before → after` for each change, joined with `; `. A value that already starts
/// with its own field name (`manager: Tom`) is not prefixed twice.
pub fn changes_text(value: &Value) -> String {
    let Value::Array(changes) = value else {
        return cell_text(value);
    };
    let parts: Vec<String> = changes
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
        .collect();
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dept_operations_carry_their_meaning() {
        assert_eq!(
            dept_operation_text(&json!(120)),
            "120 edit association rules"
        );
        assert_eq!(dept_operation_text(&json!("10")), "10 create record");
        assert_eq!(dept_operation_text(&json!(7)), "7");
    }

    #[test]
    fn changes_read_as_before_and_after() {
        let v = json!([{"field": "manager", "before": "manager: Tom", "after": "manager: 张三"},
                       {"field": "name", "before": "", "after": "Ops"}]);
        assert_eq!(changes_text(&v), "manager: Tom → 张三; name: ∅ → Ops");
    }
}
