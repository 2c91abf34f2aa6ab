//! Feishu's operation codes and what they mean: the one table of each, read by the table,
//! the workbook, `--help` and OCSF through [`crate::codes::Codes`]. Each code carries the
//! vendor's own words (Chinese, as published) and a short English rendering, which hrlogs
//! shows; a code missing here is shown as its number.
//!
//! Department operation types are documented on the API's own page (FACTS.md). Talent
//! operation types are defined on the vendor's Hire enum page ([`TALENT_ENUM_PAGE`], section
//! 操作类型枚举定义), copied here code for code (the order is by code; the page lists 2010–2012
//! before 2006). The kind of change follows OCSF's activities for the talent: creating or
//! importing the talent is Create; viewing, printing or exporting it is Read; changing its
//! record, its tags, its blocklist entry or its application's job and stage is Update; steps
//! of the hiring process (evaluations, interviews, offers, messages) are Other.

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
pub const TALENT_OPERATIONS: Codes = Codes {
    what: "operation type",
    list: &[
        code(1, "新建人才", "create talent", Change::Create),
        code(2, "修改标准简历", "edit standard resume", Change::Update),
        code(3, "更新标准简历", "update standard resume", Change::Update),
        code(4, "新增附件简历", "add attached resume", Change::Update),
        code(5, "删除附件简历", "delete attached resume", Change::Update),
        code(
            7,
            "填写入职登记表",
            "fill in onboarding form",
            Change::Update,
        ),
        code(8, "修改入职登记表", "edit onboarding form", Change::Update),
        code(9, "人才合并", "merge talents", Change::Update),
        code(
            10,
            "更新人才在其他招聘系统的创建时间",
            "set time created elsewhere",
            Change::Update,
        ),
        code(11, "添加标签", "add tag", Change::Update),
        code(12, "移除标签", "remove tag", Change::Update),
        code(13, "取消疑似标记", "clear suspected mark", Change::Update),
        code(20, "加入屏蔽名单", "add to blocklist", Change::Update),
        code(21, "移出屏蔽名单", "remove from blocklist", Change::Update),
        code(22, "打印简历", "print resume", Change::Read),
        code(
            27,
            "查看候选人信息",
            "view candidate information",
            Change::Read,
        ),
        code(1001, "安排评估", "arrange evaluation", Change::Other),
        code(1002, "移除评估人", "remove evaluator", Change::Other),
        code(1003, "修改评估备注", "edit evaluation note", Change::Other),
        code(
            1004,
            "删除评估备注",
            "delete evaluation note",
            Change::Other,
        ),
        code(1005, "评估简历", "evaluate resume", Change::Other),
        code(
            1006,
            "修改评估结果",
            "edit evaluation result",
            Change::Other,
        ),
        code(
            1007,
            "删除评估结果",
            "delete evaluation result",
            Change::Other,
        ),
        code(1008, "添加评估备注", "add evaluation note", Change::Other),
        code(
            1201,
            "安排了背调",
            "arrange background check",
            Change::Other,
        ),
        code(
            1202,
            "发起了终止背调申请",
            "request to end background check",
            Change::Other,
        ),
        code(
            1203,
            "录入了背调结果",
            "enter background check result",
            Change::Other,
        ),
        code(
            1204,
            "删除了背调结果",
            "delete background check result",
            Change::Other,
        ),
        code(2001, "安排面试", "schedule interview", Change::Other),
        code(2002, "修改面试", "edit interview", Change::Other),
        code(2003, "取消面试", "cancel interview", Change::Other),
        code(
            2004,
            "发送面试通知邮件",
            "email interview notice",
            Change::Other,
        ),
        code(
            2005,
            "发送面试通知短信",
            "text interview notice",
            Change::Other,
        ),
        code(2006, "填写面评", "write interview feedback", Change::Other),
        code(
            2007,
            "帮写面评",
            "write feedback for interviewer",
            Change::Other,
        ),
        code(
            2008,
            "修改面试评价",
            "edit interview feedback",
            Change::Other,
        ),
        code(
            2009,
            "帮面试官修改面评",
            "edit feedback for interviewer",
            Change::Other,
        ),
        code(
            2010,
            "发送即将面试提醒短信",
            "text interview reminder",
            Change::Other,
        ),
        code(
            2011,
            "标记候选人未到场",
            "mark candidate no-show",
            Change::Other,
        ),
        code(2012, "取消未到场标记", "clear no-show mark", Change::Other),
        code(
            2017,
            "发送取消面试通知邮件",
            "email interview cancellation",
            Change::Other,
        ),
        code(
            2018,
            "发送取消面试通知短信",
            "text interview cancellation",
            Change::Other,
        ),
        code(
            2019,
            "导出面试记录",
            "export interview records",
            Change::Read,
        ),
        code(
            2021,
            "指定可安排面试的面试官",
            "name interviewers to schedule",
            Change::Other,
        ),
        code(2022, "转移面试官", "transfer interviewer", Change::Other),
        code(
            2023,
            "修改可安排面试的面试官",
            "edit interviewers to schedule",
            Change::Other,
        ),
        code(
            2024,
            "取消可安排面试的面试官",
            "remove interviewers to schedule",
            Change::Other,
        ),
        code(3001, "加入职位", "add to job", Change::Update),
        code(3002, "恢复投递", "restore application", Change::Update),
        code(3003, "终止投递", "end application", Change::Update),
        code(
            3004,
            "转移投递阶段",
            "move application stage",
            Change::Update,
        ),
        code(
            3005,
            "取消定时拒信",
            "cancel scheduled rejection",
            Change::Other,
        ),
        code(3006, "发送拒信", "send rejection", Change::Other),
        code(
            3007,
            "修改定时拒信",
            "edit scheduled rejection",
            Change::Other,
        ),
        code(3008, "转移职位", "transfer to another job", Change::Update),
        code(3009, "共享投递", "share application", Change::Other),
        code(
            3010,
            "移除投递共享人",
            "remove application sharer",
            Change::Other,
        ),
        code(3011, "放弃入职", "decline onboarding", Change::Update),
        code(3012, "解除锁定", "unlock", Change::Other),
        code(
            3013,
            "接收猎头推荐",
            "accept headhunter referral",
            Change::Other,
        ),
        code(
            3014,
            "拒绝猎头推荐",
            "reject headhunter referral",
            Change::Other,
        ),
        code(
            3015,
            "导入对接系统",
            "import into connected system",
            Change::Other,
        ),
        code(3019, "分配至实体职位", "assign to real job", Change::Update),
        code(
            3020,
            "回退至虚拟职位",
            "return to virtual job",
            Change::Update,
        ),
        code(3032, "导出投递信息", "export applications", Change::Read),
        code(
            3034,
            "导出候选人列表",
            "export candidate list",
            Change::Read,
        ),
        code(
            3037,
            "变更人才关联的投递",
            "change linked application",
            Change::Update,
        ),
        code(
            5001,
            "新增猎头推荐信息",
            "add headhunter referral",
            Change::Other,
        ),
        code(
            5002,
            "更新猎头推荐信息",
            "update headhunter referral",
            Change::Other,
        ),
        code(7001, "确认入职", "confirm onboarding", Change::Other),
        code(
            7002,
            "恢复至待入职阶段",
            "back to pending onboarding",
            Change::Other,
        ),
        code(7003, "转正", "end probation", Change::Other),
        code(7004, "撤销转正", "undo end of probation", Change::Other),
        code(7005, "离职", "leave company", Change::Other),
        code(7006, "撤销离职", "undo leaving", Change::Other),
        code(
            7007,
            "编辑入职信息",
            "edit onboarding details",
            Change::Other,
        ),
        code(7013, "绑定在职人员", "link to employee", Change::Update),
        code(
            7014,
            "解除在职人员绑定关系",
            "unlink from employee",
            Change::Update,
        ),
        code(8001, "撤销 Offer", "revoke offer", Change::Other),
        code(8002, "新建 Offer", "create offer", Change::Other),
        code(8003, "编辑 Offer", "edit offer", Change::Other),
        code(
            8011,
            "发起 Offer 审批",
            "submit offer for approval",
            Change::Other,
        ),
        code(8012, "Offer 审批通过", "offer approved", Change::Other),
        code(
            8013,
            "Offer 审批不通过",
            "offer not approved",
            Change::Other,
        ),
        code(
            8014,
            "撤回 Offer 审批",
            "withdraw offer approval",
            Change::Other,
        ),
        code(8021, "发送 Offer", "send offer", Change::Other),
        code(8022, "接受 Offer", "accept offer", Change::Other),
        code(8023, "拒绝 Offer", "decline offer", Change::Other),
        code(
            8024,
            "更新 Offer 接受状态",
            "update offer acceptance",
            Change::Other,
        ),
        code(9001, "通知候选人", "notify candidate", Change::Other),
        code(
            10004,
            "新建申请表附加信息表",
            "create extra application form",
            Change::Other,
        ),
        code(
            10005,
            "编辑申请表附加信息表",
            "edit extra application form",
            Change::Other,
        ),
        code(100001, "匹配职位", "match job", Change::Other),
        code(
            100002,
            "推荐至其它职位",
            "recommend for another job",
            Change::Other,
        ),
        code(100003, "转发", "forward", Change::Other),
        code(100004, "淘汰", "reject", Change::Other),
        code(100005, "评估通过", "evaluation passed", Change::Other),
        code(100006, "评估不通过", "evaluation failed", Change::Other),
        code(100007, "创建面试", "create interview", Change::Other),
        code(100008, "修改面试", "edit interview", Change::Other),
        code(100009, "删除面试", "delete interview", Change::Other),
        code(
            100010,
            "增加面试评价",
            "add interview feedback",
            Change::Other,
        ),
        code(
            100011,
            "修改面试评价",
            "edit interview feedback",
            Change::Other,
        ),
        code(
            100012,
            "删除面试评价",
            "delete interview feedback",
            Change::Other,
        ),
        code(100013, "增加面试官", "add interviewer", Change::Other),
        code(
            100014,
            "增加面试观察者",
            "add interview observer",
            Change::Other,
        ),
        code(
            100015,
            "淘汰－拒绝面试",
            "reject: declined interview",
            Change::Other,
        ),
        code(100016, "未参加面试", "missed interview", Change::Other),
        code(100017, "创建 Offer", "create offer", Change::Other),
        code(100018, "Offer 审批通过", "offer approved", Change::Other),
        code(
            100019,
            "Offer 审批不通过",
            "offer not approved",
            Change::Other,
        ),
        code(
            100020,
            "淘汰－拒绝 - Offer",
            "reject: declined offer",
            Change::Other,
        ),
        code(100021, "接受 Offer", "accept offer", Change::Other),
        code(100022, "撤回 Offer", "withdraw offer", Change::Other),
        code(100023, "撤回", "withdraw", Change::Other),
        code(100024, "签到", "check in", Change::Other),
        code(
            100025,
            "面试反馈提醒",
            "interview feedback reminder",
            Change::Other,
        ),
        code(100026, "终面通过", "final interview passed", Change::Other),
        code(100027, "修改 Offer", "edit offer", Change::Other),
        code(100028, "删除 Offer", "delete offer", Change::Other),
        code(
            100029,
            "增加 Offer 评论",
            "add offer comment",
            Change::Other,
        ),
        code(
            100030,
            "删除 Offer 评论",
            "delete offer comment",
            Change::Other,
        ),
        code(100031, "发送拒信", "send rejection", Change::Other),
        code(100032, "终止投递", "end application", Change::Update),
        code(
            100033,
            "淘汰－重复投递",
            "reject: duplicate application",
            Change::Other,
        ),
        code(
            100034,
            "淘汰－简历未通过评估",
            "reject: resume not passed",
            Change::Other,
        ),
        code(
            100035,
            "淘汰－拒绝安排面试",
            "reject: declined scheduling",
            Change::Other,
        ),
        code(
            100036,
            "淘汰－面试未通过",
            "reject: interview not passed",
            Change::Other,
        ),
        code(100037, "淘汰－爽约", "reject: no-show", Change::Other),
        code(
            100038,
            "淘汰－拒发 Offer",
            "reject: offer refused",
            Change::Other,
        ),
        code(
            100039,
            "淘汰－取消入职",
            "reject: onboarding cancelled",
            Change::Other,
        ),
        code(100040, "候选人 Offer 待定", "offer pending", Change::Other),
        code(100041, "入职", "onboard", Change::Other),
        code(100042, "添加评估人", "add evaluator", Change::Other),
        code(100043, "保存 Offer", "save offer", Change::Other),
        code(100044, "设置内推奖", "set referral bonus", Change::Other),
        code(
            100045,
            "【被动关闭】其它投递已入职",
            "closed: hired elsewhere",
            Change::Other,
        ),
        code(
            100046,
            "虚拟投递记录",
            "virtual application record",
            Change::Other,
        ),
        code(100047, "选择奖励", "choose reward", Change::Other),
        code(
            100048,
            "确认发放奖励",
            "confirm reward payout",
            Change::Other,
        ),
        code(100049, "创建", "create", Change::Create),
        code(100050, "编辑", "edit", Change::Update),
        code(100051, "拉勾导入", "import from Lagou", Change::Create),
        code(100052, "猎聘导入", "import from Liepin", Change::Create),
        code(100053, "无忧导入", "import from 51job", Change::Create),
        code(100054, "智联导入", "import from Zhaopin", Change::Create),
        code(100055, "取消奖励", "cancel reward", Change::Other),
        code(100056, "淘汰-其它", "reject: other", Change::Other),
        code(100057, "内推创建", "create by referral", Change::Create),
        code(100058, "内推编辑", "edit by referral", Change::Update),
        code(
            100059,
            "校招创建",
            "create by campus hiring",
            Change::Create,
        ),
        code(100060, "校招编辑", "edit by campus hiring", Change::Update),
        code(100061, "猎头创建", "create by headhunter", Change::Create),
        code(100062, "转到待笔试", "move to written test", Change::Other),
        code(
            100063,
            "加入统招统分面试",
            "add to joint interview",
            Change::Other,
        ),
        code(
            100064,
            "导入笔试成绩",
            "import written test scores",
            Change::Other,
        ),
        code(100065, "转岗", "transfer position", Change::Other),
        code(
            100066,
            "创建待入职记录",
            "create pending onboarding",
            Change::Other,
        ),
        code(
            100067,
            "猎头校重",
            "headhunter duplicate check",
            Change::Other,
        ),
        code(
            100068,
            "笔试未通过",
            "written test not passed",
            Change::Other,
        ),
        code(
            100069,
            "创建异动记录",
            "create transfer record",
            Change::Other,
        ),
        code(100070, "恢复状态", "restore status", Change::Other),
        code(100071, "状态回退", "revert status", Change::Other),
        code(
            100072,
            "官网社招投递",
            "apply on careers site",
            Change::Other,
        ),
        code(
            100073,
            "官网实习生投递",
            "apply as intern on careers site",
            Change::Other,
        ),
        code(100076, "共享候选人", "share candidate", Change::Other),
        code(
            100077,
            "删除共享候选人权限",
            "remove candidate sharing",
            Change::Other,
        ),
        code(
            100078,
            "重置视频面试链接",
            "reset video interview link",
            Change::Other,
        ),
        code(100079, "脉脉导入", "import from Maimai", Change::Create),
        code(
            100080,
            "修改投递职位",
            "change application's job",
            Change::Update,
        ),
        code(
            100081,
            "安排笔试阅卷",
            "arrange written test marking",
            Change::Other,
        ),
        code(
            100082,
            "修改笔试分数或结果",
            "edit written test result",
            Change::Other,
        ),
        code(100084, "删除评估", "delete evaluation", Change::Other),
        code(100085, "安排定档", "arrange grading", Change::Other),
        code(100086, "修改定档安排", "edit grading", Change::Other),
        code(100087, "取消定档安排", "cancel grading", Change::Other),
        code(
            100088,
            "增加定档评价",
            "add grading feedback",
            Change::Other,
        ),
        code(
            100089,
            "修改定档评价",
            "edit grading feedback",
            Change::Other,
        ),
        code(
            100091,
            "编辑猎头信息",
            "edit headhunter details",
            Change::Other,
        ),
        code(1000100, "转移阶段", "move stage", Change::Update),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_listed_once_and_in_order() {
        for table in [DEPT_OPERATIONS, TALENT_OPERATIONS] {
            assert!(table.list.windows(2).all(|w| w[0].code < w[1].code));
            assert!(table.list.iter().all(|c| !c.meaning.is_empty()));
            assert!(table.list.iter().all(|c| !c.published.is_empty()));
        }
        assert_eq!(DEPT_OPERATIONS.list.len(), 10);
        assert_eq!(TALENT_OPERATIONS.list.len(), 180);
    }

    #[test]
    fn talent_codes_mean_what_the_enum_page_says() {
        let t = TALENT_OPERATIONS;
        let of = |c| t.get(c).map(|c| (c.published, c.meaning, c.change));
        assert_eq!(of(1), Some(("新建人才", "create talent", Change::Create)));
        assert_eq!(of(3001), Some(("加入职位", "add to job", Change::Update)));
        assert_eq!(
            of(27),
            Some(("查看候选人信息", "view candidate information", Change::Read))
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
