//! Columns for csv, xlsx and table: a header, how to get the value from a record (a dotted
//! path, or a derived value such as Recruitee placements), how a table or workbook shows it,
//! and whether (and where) it is part of the default table designed for 80 columns.

use std::borrow::Cow;
use std::cell::OnceCell;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::record::Record;

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

    /// A column computed from the whole record.
    pub fn derived(header: &str, derive: fn(&Value) -> Value) -> Column {
        Column {
            header: header.to_string(),
            path: vec![header.to_string()],
            derive: Some(derive),
            show: Show::Plain,
            csv: true,
            table: None,
        }
    }

}

/// One record's fields, read from its JSON text without building the record: the top level is
/// split once into keys and borrowed raw values, deeper levels only when a column asks, and
/// the record is parsed whole only for a derived column. A column's value is what
/// [`Column::get`] gives on the parsed record, cell for cell.
pub struct Fields<'a> {
    text: &'a str,
    /// The top-level members when the record is an object.
    top: Option<Vec<(Cow<'a, str>, &'a RawValue)>>,
    whole: OnceCell<Value>,
}

/// A cell's text, and whether the value was a JSON string (only strings can be formulas).
pub struct Cell<'a> {
    pub text: Cow<'a, str>,
    pub string: bool,
}

impl<'a> Fields<'a> {
    pub fn of(record: &'a Record) -> Fields<'a> {
        let text = record.raw.get();
        Fields {
            text,
            top: serde_json::from_str::<Members>(text).ok().map(|m| m.0),
            whole: OnceCell::new(),
        }
    }

    /// The record parsed whole (made once, for derived columns).
    fn whole(&self) -> &Value {
        self.whole
            .get_or_init(|| serde_json::from_str(self.text).unwrap_or(Value::Null))
    }

    /// The raw value at `path`, if there is one.
    fn raw(&self, path: &[String]) -> Option<&'a RawValue> {
        let (first, rest) = path.split_first()?;
        let mut value = match &self.top {
            // The last of duplicate keys wins, as in a parsed `Value`.
            Some(top) => top.iter().rev().find(|(k, _)| k == first)?.1,
            None => step(serde_json::from_str(self.text).ok()?, first)?,
        };
        for part in rest {
            value = step(value, part)?;
        }
        Some(value)
    }

    /// Whether the record has a value at `path`.
    pub fn has(&self, path: &[String]) -> bool {
        self.raw(path).is_some()
    }

    /// The record's top-level field names in the order written, each once (as a parsed
    /// `Value` lists them).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (k, _) in self.top.iter().flatten() {
            if !names.iter().any(|n| n == k) {
                names.push(k.to_string());
            }
        }
        names
    }

    /// The column's value (for the formats that show it typed: table, xlsx).
    pub fn value(&self, column: &Column) -> Value {
        if let Some(f) = column.derive {
            return f(self.whole());
        }
        self.raw(&column.path)
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or(Value::Null)
    }

    /// The column's text as [`cell_text`] gives it, borrowed from the record where it can be.
    pub fn cell(&self, column: &Column) -> Cell<'a> {
        if let Some(f) = column.derive {
            let value = f(self.whole());
            return Cell {
                string: value.is_string(),
                text: Cow::Owned(cell_text(&value)),
            };
        }
        let Some(raw) = self.raw(&column.path) else {
            return Cell {
                text: Cow::Borrowed(""),
                string: false,
            };
        };
        let text = raw.get();
        if text.starts_with('"') {
            if let Ok(Text(s)) = serde_json::from_str::<Text>(text) {
                return Cell {
                    text: s,
                    string: true,
                };
            }
        }
        // A plain integer is its own text; anything else is written as a parsed value is.
        let integer = !text.is_empty()
            && text.len() < 19
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text == "0" || !text.starts_with('0'));
        if integer {
            return Cell {
                text: Cow::Borrowed(text),
                string: false,
            };
        }
        let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        Cell {
            string: value.is_string(),
            text: Cow::Owned(cell_text(&value)),
        }
    }
}

/// One level down from `value`: an object's member, or an array's item by index.
fn step<'a>(value: &'a RawValue, part: &str) -> Option<&'a RawValue> {
    match value.get().as_bytes().first()? {
        b'{' => {
            let members = serde_json::from_str::<Members>(value.get()).ok()?.0;
            members.into_iter().rev().find(|(k, _)| k == part).map(|(_, v)| v)
        }
        b'[' => {
            let index = part.parse::<usize>().ok()?;
            let items = serde_json::from_str::<Items>(value.get()).ok()?.0;
            items.get(index).copied()
        }
        _ => None,
    }
}

/// A string, borrowed from the JSON text when it holds no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// An object's members in the order written, values left as raw JSON.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((Text(k), v)) = map.next_entry::<Text<'de>, &'de RawValue>()? {
                    members.push((k, v));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// An array's items, left as raw JSON.
struct Items<'a>(Vec<&'a RawValue>);

impl<'de> Deserialize<'de> for Items<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Items<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items<'de>, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element::<&'de RawValue>()? {
                    items.push(v);
                }
                Ok(Items(items))
            }
        }
        d.deserialize_seq(V)
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
    use proptest::prelude::*;
    use serde_json::json;

    /// The column's value on the parsed record: what [`Fields`] must give without parsing it.
    fn reference(column: &Column, record: &Value) -> Value {
        if let Some(f) = column.derive {
            return f(record);
        }
        let mut value = record;
        for part in &column.path {
            value = match value {
                Value::Object(map) => map.get(part),
                Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            }
            .unwrap_or(&Value::Null);
        }
        value.clone()
    }

    fn record(text: &str) -> Record {
        Record::new(
            RawValue::from_string(text.to_string()).expect("json"),
            0,
        )
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e12f64..1e12).prop_map(Value::from),
            "[a-z=+\\-@\"\u{1b}\n é张]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("[ab\"é.]{1,2}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Cell for cell, reading the text gives what parsing the record gives, whatever the
        /// record and however it is spaced.
        #[test]
        fn fields_read_from_the_text_equal_the_parsed_record(
            value in json_value(),
            pretty in any::<bool>(),
            paths in prop::collection::vec(prop::collection::vec("[ab\"é.0-2]{1,2}", 1..4), 1..6),
        ) {
            let text = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) }
                .expect("text");
            let rec = record(&text);
            let fields = Fields::of(&rec);
            for path in paths {
                let column = Column { path, ..Column::path("x") };
                let expected = reference(&column, &value);
                prop_assert_eq!(fields.value(&column), expected.clone());
                let cell = fields.cell(&column);
                prop_assert_eq!(cell.text.as_ref(), cell_text(&expected));
                prop_assert_eq!(cell.string, expected.is_string());
            }
        }
    }

    #[test]
    fn the_last_of_duplicate_keys_wins_as_when_parsed() {
        let rec = record(r#"{"a": {"b": 1, "b": "x\u0041"}, "a": {"b": [10, 20]}}"#);
        let fields = Fields::of(&rec);
        let column = Column::path("a.b.1");
        let parsed: Value = serde_json::from_str(rec.raw.get()).expect("json");
        assert_eq!(fields.value(&column), reference(&column, &parsed));
        assert_eq!(fields.cell(&column).text, "20");
        assert_eq!(fields.names(), vec!["a".to_string()]);
        let rec = record(r#"{"z": 1, "a": 2, "z": 3}"#);
        let parsed: Value = serde_json::from_str(rec.raw.get()).expect("json");
        let keys: Vec<String> = parsed.as_object().expect("object").keys().cloned().collect();
        assert_eq!(Fields::of(&rec).names(), keys);
        let rec = record(r#"{"k\"ey": "v\n", "n": 12.50, "big": 123456789012345678901}"#);
        let fields = Fields::of(&rec);
        assert_eq!(fields.cell(&Column::path("k\"ey")).text, "v\n");
        assert_eq!(fields.cell(&Column::path("n")).text, "12.5");
        assert_eq!(fields.cell(&Column::path("big")).text, "1.2345678901234568e+20");
    }

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
