//! Feishu's operation codes and what they mean: the one table of each, read by the table,
//! the workbook, `--help` and OCSF through [`crate::codes::Codes`]. Each code carries the
//! vendor's own words (Chinese, as published) and a short English rendering, which hrlogs
//! shows; a code missing here is shown as its number.
//!
//! Department operation types are documented on the API's own page (FACTS.md). Talent
//! operation types are defined on the vendor's Hire enum page ([`TALENT_ENUM_PAGE`], section
//! 操作类型枚举定义), copied code for code into `talent_operations.tsv` beside this file (the
//! order is by code; the page lists 2010–2012 before 2006), read once. The kind of change follows OCSF's activities for the talent: creating or
//! importing the talent is Create; viewing, printing or exporting it is Read; changing its
//! record, its tags, its blocklist entry or its application's job and stage is Update; steps
//! of the hiring process (evaluations, interviews, offers, messages) are Other.

use std::sync::LazyLock;

use crate::codes::{Change, Code, Codes};

/// Where Feishu defines the talent operation types.
pub const TALENT_ENUM_PAGE: &str = "https://open.feishu.cn/document/server-docs/hire-v1/enum";

const fn code(code: i64, published: &'static str, meaning: &'static str, change: Change) -> Code {
    Code {
        code,
        meaning,
        published,
        change,
    }
}

/// CoreHR department operation types (`operation_type` of a department operation log).
pub const DEPT_OPERATIONS: Codes = Codes {
    what: "operation type",
    list: &[
        code(10, "新建部门记录", "create record", Change::Create),
        code(
            20,
            "新建/复制部门版本",
            "create/copy version",
            Change::Update,
        ),
        code(50, "编辑部门版本", "edit version", Change::Update),
        code(60, "撤销部门版本", "revoke version", Change::Update),
        code(70, "停用部门", "disable", Change::Disable),
        code(80, "启用部门", "enable", Change::Enable),
        code(90, "删除部门记录", "delete record", Change::Delete),
        code(100, "自定义部门排序", "custom sort", Change::Update),
        code(110, "更新部门", "update", Change::Update),
        code(
            120,
            "编辑部门关联规则",
            "edit association rules",
            Change::Update,
        ),
    ],
};

/// Hire talent operation types (`operation_type` of a talent operation log, `--operation`),
/// as the Hire enum page defines them ([`TALENT_ENUM_PAGE`]).
pub fn talent_operations() -> Codes {
    Codes {
        what: "operation type",
        list: TALENT_LIST.as_slice(),
    }
}

/// `talent_operations.tsv`: a line a code, tab-separated: the code, the page's words, the
/// English, the kind of change; `#` starts a comment line.
const TALENT_TABLE: &str = include_str!("talent_operations.tsv");

static TALENT_LIST: LazyLock<Vec<Code>> = LazyLock::new(|| {
    TALENT_TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(row)
        .collect()
});

/// One line of the table; None for a line that is not one (the unit tests count the codes).
fn row(line: &'static str) -> Option<Code> {
    let mut cells = line.split('\t');
    let code = cells.next()?.parse().ok()?;
    let published = cells.next()?;
    let meaning = cells.next()?;
    let change = match cells.next()? {
        "Create" => Change::Create,
        "Read" => Change::Read,
        "Update" => Change::Update,
        "Other" => Change::Other,
        _ => return None,
    };
    Some(Code {
        code,
        meaning,
        published,
        change,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_listed_once_and_in_order() {
        for table in [DEPT_OPERATIONS, talent_operations()] {
            assert!(table.list.windows(2).all(|w| w[0].code < w[1].code));
            assert!(table.list.iter().all(|c| !c.meaning.is_empty()));
            assert!(table.list.iter().all(|c| !c.published.is_empty()));
        }
        assert_eq!(DEPT_OPERATIONS.list.len(), 10);
        let lines = TALENT_TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        assert_eq!(talent_operations().list.len(), lines, "every line is read");
        assert_eq!(lines, 180);
    }

    #[test]
    fn talent_codes_mean_what_the_enum_page_says() {
        let t = talent_operations();
        let of = |c| t.get(c).map(|c| (c.published, c.meaning, c.change));
        assert_eq!(of(1), Some(("新建人才", "create talent", Change::Create)));
        assert_eq!(of(3001), Some(("加入职位", "add to job", Change::Update)));
        assert_eq!(
            of(27),
            Some(("查看候选人信息", "view candidate information", Change::Read))
        );
        assert_eq!(
            of(2001),
            Some(("安排面试", "schedule interview", Change::Other))
        );
        assert_eq!(
            of(1000100),
            Some(("转移阶段", "move stage", Change::Update))
        );
        // Not on the page: shown as the number.
        assert_eq!(of(6), None);
        assert_eq!(t.text(&serde_json::json!("3001")), "3001 add to job");
        assert_eq!(t.text(&serde_json::json!(6)), "6");
    }
}
