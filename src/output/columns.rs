//! Columns for csv and table: a header, how to get the value from a record (a dotted path, or
//! a derived value such as Recruitee placements), and how a table shows it.

use serde_json::Value;

/// How a table shows a column's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    Plain,
    /// Milliseconds since the epoch (number or string), shown in the chosen zone.
    Millis,
    /// An RFC 3339 timestamp, shown in the chosen zone.
    Timestamp,
}

#[derive(Clone)]
pub struct Column {
    pub header: String,
    pub path: Vec<String>,
    pub derive: Option<fn(&Value) -> Value>,
    pub show: Show,
}

impl Column {
    /// A column at a dotted path (`operator.name.en_us`; numbers index arrays: `emails.0`).
    pub fn path(path: &str) -> Column {
        Column {
            header: path.to_string(),
            path: path.split('.').map(str::to_string).collect(),
            derive: None,
            show: Show::Plain,
        }
    }

    pub fn show(mut self, show: Show) -> Column {
        self.show = show;
        self
    }

    /// A column computed from the whole record.
    pub fn derived(header: &str, derive: fn(&Value) -> Value) -> Column {
        Column {
            header: header.to_string(),
            path: vec![header.to_string()],
            derive: Some(derive),
            show: Show::Plain,
        }
    }

    pub fn get(&self, record: &Value) -> Value {
        if let Some(f) = self.derive {
            return f(record);
        }
        lookup(record, &self.path).cloned().unwrap_or(Value::Null)
    }
}

/// The value at `path`, if there is one.
pub fn lookup<'a>(mut value: &'a Value, path: &[String]) -> Option<&'a Value> {
    for part in path {
        value = match value {
            Value::Object(map) => map.get(part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// `--fields` if given (keeping the way a default column with the same path is shown), else the defaults.
pub fn choose(fields: &[String], defaults: &[Column]) -> Vec<Column> {
    if fields.is_empty() {
        return defaults.to_vec();
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
