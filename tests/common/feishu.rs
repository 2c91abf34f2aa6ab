//! The loopback Feishu of the tests: the crate's one configurable Feishu fake
//! (`hrlogs::sandbox::feishu`, also the sandbox's and the benchmark's), served on a thread of
//! its own, plus test datasets and the commands pointed at it.
#![allow(unused_imports)] // each test binary uses a different part

use std::sync::Arc;
use std::sync::atomic::Ordering;

use jiff::ToSpan;
use jiff::civil::{Date, DateTime};
use serde_json::json;

pub use hrlogs::sandbox::feishu::{
    Config as State, DEPT_PATH, DeptLog, Feishu, TALENT_PATH, TOKEN_PATH, TalentLog,
};
pub use hrlogs::sandbox::{APP_ID, APP_SECRET, Faults};

/// A fake Feishu on 127.0.0.1; stops when dropped.
pub struct FeishuFake {
    fake: hrlogs::sandbox::feishu::Fake,
    pub state: Arc<Feishu>,
}

/// A calendar date, for test data.
pub fn date(s: &str) -> Date {
    s.parse().expect("date")
}

/// A tiny deterministic generator for test data.
pub struct Lcg(pub u64);
impl Lcg {
    pub fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

/// `per_department` logs for each of `departments` departments between `from` and `to`;
/// every tenth record shares its second with another department's (ties across batches).
/// `operation_reason` is unique, so each record can be told apart.
pub fn dept_dataset(
    departments: usize,
    from: Date,
    to: Date,
    per_department: usize,
) -> Vec<DeptLog> {
    let mut rng = Lcg(7);
    let days = (to - from).get_days() as u64 + 1;
    let mut out = Vec::new();
    let mut shared: Option<DateTime> = None;
    for d in 0..departments {
        let department = format!("70941365228609{d:05}");
        for i in 0..per_department {
            let day = from
                .checked_add((rng.next(days) as i64).days())
                .expect("day");
            let mut at = day.at(
                rng.next(24) as i8,
                rng.next(60) as i8,
                rng.next(60) as i8,
                0,
            );
            if i % 10 == 0 {
                at = *shared.get_or_insert(at);
            }
            let n = out.len();
            let operation_type = [10, 20, 50, 60, 70, 80, 90, 100, 110, 120][n % 10];
            out.push(DeptLog {
                department: department.clone(),
                at,
                value: json!({
                    "object_id": department,
                    "changes": [{"field": "description", "before": "优秀部门", "after": format!("更优秀的部门 {n}")}],
                    "operator": format!("E{:03}", n % 97),
                    "operation_type": operation_type,
                    "operation_time": at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                    "effective_time": day.to_string(),
                    "operation_reason": format!("reason-{n}"),
                    "change_reasons": ["新建部门"]
                }),
            });
        }
    }
    out.sort_by_key(|l| std::cmp::Reverse(l.at));
    out
}

/// Talent logs for each operator × operation; `operation_type` and `operation_time` come as a
/// string in some records and as a number in others, as the vendor's own examples disagree.
/// `application_id` is unique.
pub fn talent_dataset(
    operators: &[&str],
    operations: &[i64],
    per_pair: usize,
    start_ms: i64,
) -> Vec<TalentLog> {
    let mut rng = Lcg(11);
    let mut out = Vec::new();
    for op in operators {
        for &operation in operations {
            for _ in 0..per_pair {
                let n = out.len();
                let ms = start_ms + rng.next(30 * 86_400_000) as i64;
                let job = format!("69498054677995379{}", n % 3);
                let (op_type, op_time) = if n % 2 == 0 {
                    (json!(operation.to_string()), json!(ms.to_string()))
                } else {
                    (json!(operation), json!(ms))
                };
                out.push(TalentLog {
                    operator: op.to_string(),
                    operation,
                    job,
                    ms,
                    value: json!({
                        "application_id": format!("app-{n}"),
                        "talent_id": format!("talent-{}", n % 50),
                        "operator": {"id": op, "name": {"zh_cn": "张三", "en_us": "Tom, \"the\" recruiter"}},
                        "operation_type": op_type,
                        "operation_time": op_time,
                        "operator_type": 1
                    }),
                });
            }
        }
    }
    out.sort_by_key(|l| std::cmp::Reverse(l.ms));
    out
}

impl FeishuFake {
    /// Serves `state` (the dataset and switches).
    pub async fn start(state: State) -> FeishuFake {
        let fake = hrlogs::sandbox::feishu::spawn(state).expect("fake Feishu");
        let state = fake.state.clone();
        FeishuFake { fake, state }
    }

    /// The base URL to configure, with the path prefix if any.
    pub fn uri(&self) -> String {
        self.fake.base_url()
    }

    /// The variables that point hrlogs at this server with app credentials.
    pub fn vars(&self) -> [(&'static str, String); 3] {
        [
            ("HRLOGS_FEISHU_BASE_URL", self.uri()),
            ("HRLOGS_FEISHU_APP_ID", self.state.config.app_id.clone()),
            (
                "HRLOGS_FEISHU_APP_SECRET",
                self.state.config.app_secret.clone(),
            ),
        ]
    }

    /// `hrlogs` pointed at this server with app credentials.
    /// `hrlogs` paced as Feishu's documented limits say (5/s, 50/s and 1000/min).
    pub fn hrlogs(&self, env: &super::Env) -> assert_cmd::Command {
        let mut cmd = env.hrlogs();
        cmd.envs(self.vars())
            .env("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND", "5")
            .env("HRLOGS_FEISHU_TALENT_LOGS_PER_SECOND", "50")
            .env("HRLOGS_FEISHU_TALENT_LOGS_PER_MINUTE", "1000");
        cmd
    }

    /// `hrlogs` as above, with pacing lifted, for tests that are not about pacing.
    pub fn hrlogs_unpaced(&self, env: &super::Env) -> assert_cmd::Command {
        let mut cmd = self.hrlogs(env);
        cmd.env("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND", "1000")
            .env("HRLOGS_FEISHU_TALENT_LOGS_PER_SECOND", "1000")
            .env("HRLOGS_FEISHU_TALENT_LOGS_PER_MINUTE", "100000");
        cmd
    }

    pub fn token_calls(&self) -> u64 {
        self.state.token_calls()
    }

    pub fn data_calls(&self) -> u64 {
        self.state.data_calls()
    }

    /// How many faults the fake injected.
    pub fn injected(&self) -> u64 {
        self.state.injected.load(Ordering::SeqCst)
    }
}

/// The UTC date `offset_days` before today.
pub fn day(offset_days: i64) -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .checked_sub(jiff::Span::new().days(offset_days))
        .expect("day")
}

/// A department log of `dept` at the wall-clock time `at`, its `n`th change of the name.
pub fn dept_log(dept: &str, at: &str, n: u64) -> DeptLog {
    DeptLog {
        department: dept.to_string(),
        at: at.parse().expect("a wall-clock time"),
        value: serde_json::json!({"object_id": dept, "operation_time": at, "operator": "E001",
               "operation_type": 110, "changes": [{"field": "name", "after": format!("v{n}")}]}),
    }
}
