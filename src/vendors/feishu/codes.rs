//! Feishu's operation codes and what they mean: the one table of each, read by the table,
//! the workbook, `--help` and OCSF through [`crate::codes::Codes`].
//!
//! Department operation types are documented on the API's own page (FACTS.md). Talent
//! operation types are defined on the vendor's Hire enum page ([`TALENT_ENUM_PAGE`],
//! section 操作类型枚举定义), which no SDK reproduces and which could not be read when this
//! table was written: it holds no meanings yet, so talent codes are shown as their numbers
//! until one is added here (one line each, and every place that shows a code follows).

use crate::codes::{Change, Code, Codes};

/// Where Feishu defines the talent operation types.
pub const TALENT_ENUM_PAGE: &str = "https://open.feishu.cn/document/server-docs/hire-v1/enum";

const fn code(code: i64, meaning: &'static str, change: Change) -> Code {
    Code {
        code,
        meaning,
        change,
    }
}

/// CoreHR department operation types (`operation_type` of a department operation log).
pub const DEPT_OPERATIONS: Codes = Codes {
    what: "operation type",
    list: &[
        code(10, "create record", Change::Create),
        code(20, "create/copy version", Change::Update),
        code(50, "edit version", Change::Update),
        code(60, "revoke version", Change::Update),
        code(70, "disable", Change::Disable),
        code(80, "enable", Change::Enable),
        code(90, "delete record", Change::Delete),
        code(100, "custom sort", Change::Update),
        code(110, "update", Change::Update),
        code(120, "edit association rules", Change::Update),
    ],
};

/// Hire talent operation types (`operation_type` of a talent operation log, `--operation`):
/// none documented where hrlogs could read them (see the module's documentation).
pub const TALENT_OPERATIONS: Codes = Codes {
    what: "operation type",
    list: &[],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_listed_once() {
        for table in [DEPT_OPERATIONS, TALENT_OPERATIONS] {
            let mut seen = std::collections::HashSet::new();
            assert!(table.list.iter().all(|c| seen.insert(c.code)));
        }
        assert_eq!(DEPT_OPERATIONS.list.len(), 10);
    }
}
