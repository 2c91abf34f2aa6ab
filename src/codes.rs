//! A vendor's numeric codes and what they mean (Feishu's operation types), as one shape that
//! every room can read without knowing the vendor: each vendor module keeps its one table of
//! [`Codes`] (`vendors/feishu/codes.rs`), and a command hands it to the rooms that show codes
//! (`output`'s columns, `ocsf`'s [`Origin`](crate::ocsf::Origin)). A code a table does not
//! hold is shown as the number it is.

use serde_json::Value;

/// What kind of change a code records (what OCSF calls its activity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Create,
    /// A view, print or export of what the entity holds (OCSF's Read).
    Read,
    Update,
    Delete,
    Enable,
    Disable,
    /// None of the above, or not documented.
    Other,
}

/// One documented code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub code: i64,
    /// The vendor's meaning, in English words (`edit association rules`).
    pub meaning: &'static str,
    /// The vendor's own words for it, as its documentation publishes them (`编辑部门关联规则`).
    pub published: &'static str,
    pub change: Change,
}

/// A table of codes: what the codes are of (`operation type`) and the documented ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codes {
    /// What a code is, for a code without a meaning (`operation type 7`).
    pub what: &'static str,
    pub list: &'static [Code],
}

impl Codes {
    /// The documented code `code`, if the table has it.
    pub fn get(&self, code: i64) -> Option<&'static Code> {
        self.list.iter().find(|c| c.code == code)
    }

    /// `120 edit association rules`; a code the table does not hold as the value it is.
    pub fn text(&self, value: &Value) -> String {
        match read(value).and_then(|c| self.get(c)) {
            Some(c) => format!("{} {}", c.code, c.meaning),
            None => match value {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
        }
    }

    /// The meaning in words: `edit association rules`, else `operation type 7` (or
    /// `operation type unknown` without a code).
    pub fn words(&self, code: Option<i64>) -> String {
        match code {
            Some(c) => match self.get(c) {
                Some(known) => known.meaning.to_string(),
                None => format!("{} {c}", self.what),
            },
            None => format!("{} unknown", self.what),
        }
    }
}

/// A code as the vendor may send it: a number, or a number as a string (`"3001"`).
pub fn read(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TABLE: Codes = Codes {
        what: "operation type",
        list: &[Code {
            code: 120,
            meaning: "edit association rules",
            published: "编辑部门关联规则",
            change: Change::Update,
        }],
    };

    #[test]
    fn known_codes_carry_their_meaning_and_others_stay_numbers() {
        assert_eq!(TABLE.text(&json!(120)), "120 edit association rules");
        assert_eq!(TABLE.text(&json!(" 120")), "120 edit association rules");
        assert_eq!(TABLE.text(&json!(7)), "7");
        assert_eq!(TABLE.text(&json!("x")), "x");
        assert_eq!(TABLE.text(&Value::Null), "");
        assert_eq!(TABLE.words(Some(120)), "edit association rules");
        assert_eq!(TABLE.words(Some(7)), "operation type 7");
        assert_eq!(TABLE.words(None), "operation type unknown");
    }
}
