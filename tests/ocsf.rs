//! `-f ocsf` end to end: the real binary against the sandbox and the loopback fakes. Every event
//! is validated against the OCSF 1.7.0 JSON Schema of its class (`tests/fixtures/ocsf/`), carries
//! its record exactly in `raw_data`, and keeps its `metadata.uid` from one run to the next.

mod common;

use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::Env;
use common::feishu::{DeptLog, FeishuFake, State as FeishuState, TalentLog};
use common::recruitee::{RecruiteeFake, State as RecruiteeState};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers

/// The OCSF schema's validator for one class (`entity_management`, `account_change`).
fn validator(class: &str) -> &'static jsonschema::Validator {
    static ENTITY: OnceLock<jsonschema::Validator> = OnceLock::new();
    static ACCOUNT: OnceLock<jsonschema::Validator> = OnceLock::new();
    let build = |name: &str| {
        let mut doc: Value =
            serde_json::from_str(include_str!("fixtures/ocsf/ocsf-1.7.0.schema.json"))
                .expect("schema is JSON");
        doc["$ref"] = json!(format!("#/$defs/{name}"));
        jsonschema::validator_for(&doc).expect("schema compiles")
    };
    match class {
        "entity_management" => ENTITY.get_or_init(|| build(class)),
        "account_change" => ACCOUNT.get_or_init(|| build(class)),
        other => panic!("no validator for {other}"),
    }
}

/// Asserts that every event is valid under the schema of its class, and the invariants that a
/// schema cannot say (`type_uid`, version).
fn assert_valid_ocsf(events: &[Value]) {
    assert!(!events.is_empty(), "no events to validate");
    for event in events {
        let class = match event["class_uid"].as_u64() {
            Some(3004) => "entity_management",
            Some(3001) => "account_change",
            other => panic!("unexpected class_uid {other:?} in {event}"),
        };
        let errors: Vec<String> = validator(class)
            .iter_errors(event)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "invalid {class} event:\n{}\n{event:#}",
            errors.join("\n")
        );
        assert_eq!(
            event["type_uid"].as_u64(),
            Some(
                event["class_uid"].as_u64().expect("class") * 100
                    + event["activity_id"].as_u64().expect("activity")
            )
        );
        assert_eq!(event["metadata"]["version"], "1.7.0");
    }
}

fn stdout_ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

fn uids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            e["metadata"]["uid"]
                .as_str()
                .expect("metadata.uid")
                .to_string()
        })
        .collect()
}

/// `hrlogs sandbox` on a free port, for as long as the test holds it: several runs then see
/// the same sample data (it is generated relative to the time the server starts).
struct Sandbox {
    child: Child,
    base: String,
}

impl Sandbox {
    fn start(env: &Env) -> Sandbox {
        let mut child = env
            .command()
            .arg("sandbox")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hrlogs sandbox");
        // Reads stderr to its end: a reader that went away would make the sandbox's next
        // line to stderr fail, and the sandbox stop.
        let rx = common::lines_of(child.stderr.take().expect("stderr"));
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("the sandbox did not say where it serves: {e}");
                }
            };
            if let Some(at) = line.find(" at http://") {
                let base = line[at + 4..]
                    .split_whitespace()
                    .next()
                    .expect("url")
                    .to_string();
                return Sandbox { child, base };
            }
        }
    }

    fn hrlogs(&self, env: &Env) -> assert_cmd::Command {
        let mut cmd = env.hrlogs();
        cmd.env("HRLOGS_FEISHU_BASE_URL", &self.base)
            .env("HRLOGS_FEISHU_APP_ID", "cli_sandbox")
            .env("HRLOGS_FEISHU_APP_SECRET", "sandbox-secret")
            .env("HRLOGS_RECRUITEE_BASE_URL", &self.base)
            .env("HRLOGS_RECRUITEE_COMPANY_ID", "90598")
            .env("HRLOGS_RECRUITEE_API_TOKEN", "sandbox-recruitee-token");
        cmd
    }

    fn run(&self, env: &Env, args: &[&str]) -> String {
        stdout_ok(&self.hrlogs(env).args(args).output().expect("run"))
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Queries that give a few hundred records of each source from the sandbox.
const DEPT: &[&str] = &[
    "feishu",
    "dept-logs",
    "--department",
    "7094136522860922111,7094136522860922222,d3,d4,d5",
    "--since",
    "3650d",
    "--tz",
    "Asia/Shanghai",
];
const TALENT: &[&str] = &[
    "feishu",
    "talent-logs",
    "--operator",
    "ou_b29276c7c3e2ff4bd3fcfb567ce690e3,ou_016632190e242d8c9eed0a542b00756c",
    "--operation",
    "1,3001,7",
];
const AUDIT: &[&str] = &["recruitee", "audit"];

fn with(args: &[&str], more: &[&'static str]) -> Vec<String> {
    args.iter().chain(more).map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// The sandbox: schema, raw_data, ids

#[test]
fn sandbox_events_are_valid_carry_their_record_exactly_and_keep_their_ids() {
    let env = Env::new();
    let sandbox = Sandbox::start(&env);
    for query in [DEPT, TALENT, AUDIT] {
        let args = with(query, &["-f", "ndjson", "--limit", "400"]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let records: Vec<String> = sandbox
            .run(&env, &args)
            .lines()
            .map(str::to_string)
            .collect();
        let args = with(query, &["-f", "ocsf", "--limit", "400"]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let first = sandbox.run(&env, &args);
        let events = common::ndjson(first.as_bytes());
        assert!(
            events.len() >= 50,
            "{query:?}: only {} events",
            events.len()
        );
        assert_eq!(
            events.len(),
            records.len(),
            "{query:?}: one event per record"
        );
        for (event, record) in events.iter().zip(&records) {
            assert_eq!(
                event["raw_data"].as_str(),
                Some(record.as_str()),
                "{query:?}: raw_data is the record exactly"
            );
        }
        assert_valid_ocsf(&events);
        let ids = uids(&events);
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{query:?}: every uid distinct");
        let again = common::ndjson(sandbox.run(&env, &args).as_bytes());
        assert_eq!(
            uids(&again),
            ids,
            "{query:?}: the same uids in a second run"
        );
    }
}

#[test]
fn sandbox_golden_events() {
    let env = Env::new();
    let sandbox = Sandbox::start(&env);
    // The sandbox's data moves with the clock: times, and the Feishu ids hashed over them,
    // are masked; everything else is pinned.
    let filters = vec![
        (r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}Z?", "[DATETIME]"),
        (r"\d{4}-\d{2}-\d{2}", "[DATE]"),
        (r"\b1\d{12}\b", "[EPOCH_MS]"),
        (r"[0-9a-f]{64}", "[SHA256]"),
    ];
    for (name, query) in [
        ("dept_logs", DEPT),
        ("talent_logs", TALENT),
        ("audit", AUDIT),
    ] {
        let args = with(query, &["-f", "ocsf", "--limit", "3"]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let events = common::ndjson(sandbox.run(&env, &args).as_bytes());
        let text: Vec<String> = events
            .iter()
            .map(|e| serde_json::to_string_pretty(e).expect("json"))
            .collect();
        insta::with_settings!({filters => filters.clone()}, {
            insta::assert_snapshot!(format!("sandbox_{name}"), text.join("\n"));
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The vendors' documented records, mapped exactly

fn dept_fixture() -> Vec<DeptLog> {
    let doc = json!({
        "object_id": "7094136522860922111",
        "changes": [{"field": "description", "before": "优秀部门", "after": "更优秀的部门"}],
        "operator": "E001",
        "operation_type": 10,
        "operation_time": "2023-11-15 19:25:45",
        "effective_time": "2023-10-28",
        "operation_reason": "因人员调整,变更部门负责人为张三",
        "change_reasons": ["新建部门"]
    });
    let rename = json!({
        "object_id": "7094136522860922111",
        "changes": [{"field": "name", "before": "平台部", "after": "基础架构部"}],
        "operator": "E002",
        "operation_type": 110,
        "operation_time": "2023-11-16 09:00:00",
        "effective_time": "2023-11-16",
        "operation_reason": "",
        "change_reasons": []
    });
    let disable = json!({
        "object_id": "7094136522860922111",
        "changes": [],
        "operator": "E002",
        "operation_type": 70,
        "operation_time": "2023-11-16 08:00:00",
        "effective_time": "2023-11-16",
        "operation_reason": "merged",
        "change_reasons": []
    });
    let at = |s: &str| s.parse().expect("datetime");
    vec![
        DeptLog {
            department: "7094136522860922111".into(),
            at: at("2023-11-16T09:00:00"),
            value: rename,
        },
        DeptLog {
            department: "7094136522860922111".into(),
            at: at("2023-11-16T08:00:00"),
            value: disable,
        },
        DeptLog {
            department: "7094136522860922111".into(),
            at: at("2023-11-15T19:25:45"),
            value: doc,
        },
    ]
}

fn recruitee_fixture() -> Vec<(i64, Value)> {
    let entries: Vec<Value> =
        serde_json::from_str(include_str!("fixtures/ocsf/recruitee-audit.json"))
            .expect("fixture is JSON");
    entries
        .into_iter()
        .map(|e| {
            let at: jiff::Timestamp = e["created_at"]
                .as_str()
                .expect("created_at")
                .parse()
                .expect("time");
            (at.as_second(), e)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn documented_feishu_records_map_exactly() {
    let talent = json!({
        "application_id": "6949805467799537964",
        "talent_id": "6843547872837273223",
        "operator": {"id": "ou_016632190e242d8c9eed0a542b00756c", "name": {"zh_cn": "张三", "en_us": "Tom"}},
        "operation_type": "3001",
        "operation_time": "1618500278663",
        "operator_type": 1
    });
    let fake = FeishuFake::start(FeishuState {
        dept: dept_fixture(),
        talent: vec![TalentLog {
            operator: "ou_016632190e242d8c9eed0a542b00756c".into(),
            operation: 3001,
            job: "6949805467799537965".into(),
            ms: 1_618_500_278_663,
            value: talent,
        }],
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let dept = common::ndjson(
        stdout_ok(
            &fake
                .hrlogs_unpaced(&env)
                .args(["feishu", "dept-logs", "--department", "7094136522860922111"])
                .args(["--since", "2023-11-01", "--until", "2023-11-30"])
                .args(["--tz", "Asia/Shanghai", "-f", "ocsf"])
                .output()
                .expect("run"),
        )
        .as_bytes(),
    );
    let talent = common::ndjson(
        stdout_ok(
            &fake
                .hrlogs_unpaced(&env)
                .args(["feishu", "talent-logs", "--operator"])
                .args(["ou_016632190e242d8c9eed0a542b00756c", "--operation", "3001"])
                .args(["-f", "ocsf"])
                .output()
                .expect("run"),
        )
        .as_bytes(),
    );
    assert_valid_ocsf(&dept);
    assert_valid_ocsf(&talent);

    // The documented department record: created (10 → Create), read in the tenant's zone.
    let created = &dept[2];
    assert_eq!(created["activity_id"], 1);
    assert_eq!(created["type_uid"], 300401);
    assert_eq!(
        created["time"], 1_700_047_545_000_i64,
        "2023-11-15 19:25:45 in Asia/Shanghai is 11:25:45 UTC"
    );
    assert_eq!(created["timezone_offset"], 480);
    assert_eq!(created["metadata"]["original_time"], "2023-11-15 19:25:45");
    assert_eq!(created["metadata"]["tenant_uid"], common::feishu::APP_ID);
    assert_eq!(created["comment"], "因人员调整,变更部门负责人为张三");
    assert_eq!(created["actor"]["user"]["uid"], "E001");
    assert_eq!(created["entity"]["uid"], "7094136522860922111");
    assert_eq!(created["entity"]["type"], "department");
    assert_eq!(created["unmapped"]["effective_time"], "2023-10-28");
    // Renamed (110 → Update), the new name on the entity; disabled (70 → Disable).
    assert_eq!(dept[0]["activity_id"], 3);
    assert_eq!(dept[0]["entity"]["name"], "基础架构部");
    assert_eq!(dept[1]["activity_id"], 9);
    assert_eq!(dept[1]["activity_name"], "Disable");
    // The same wall clock read in another zone is another instant.
    let utc = common::ndjson(
        stdout_ok(
            &fake
                .hrlogs_unpaced(&env)
                .args(["feishu", "dept-logs", "--department", "7094136522860922111"])
                .args(["--since", "2023-11-01", "--until", "2023-11-30"])
                .args(["--tz", "UTC", "-f", "ocsf"])
                .output()
                .expect("run"),
        )
        .as_bytes(),
    );
    assert_eq!(utc[2]["time"], 1_700_076_345_000_i64);
    assert_eq!(utc[2]["timezone_offset"], 0);
    assert_eq!(
        utc[2]["metadata"]["uid"], created["metadata"]["uid"],
        "the id does not depend on the zone"
    );

    // 3001 is 加入职位 on Feishu's Hire enum page: the talent joins a job, an Update, and the
    // message says it in words.
    let t = &talent[0];
    assert_eq!(t["activity_id"], 3);
    assert_eq!(t["activity_name"], "Update");
    assert_eq!(t["type_uid"], 300403);
    assert_eq!(t["metadata"]["event_code"], "3001");
    assert!(
        t["message"]
            .as_str()
            .is_some_and(|m| m.contains(": add to job by 张三")),
        "{}",
        t["message"]
    );
    assert_eq!(t["time"], 1_618_500_278_663_i64);
    assert_eq!(t["actor"]["user"]["name"], "张三");
    assert_eq!(t["actor"]["user"]["display_name"], "Tom");
    assert_eq!(t["entity"]["uid"], "6843547872837273223");

    insta::assert_snapshot!(
        "documented_feishu",
        dept.iter()
            .chain(&talent)
            .map(|e| serde_json::to_string_pretty(e).expect("json"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn documented_recruitee_entries_map_exactly() {
    let fake = RecruiteeFake::start(RecruiteeState {
        audit: recruitee_fixture(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = stdout_ok(
        &fake
            .hrlogs(&env)
            .args(["recruitee", "audit", "-f", "ocsf"])
            .output()
            .expect("run"),
    );
    let events = common::ndjson(out.as_bytes());
    assert_eq!(events.len(), 12);
    assert_valid_ocsf(&events);
    let by_name = |name: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|e| e["metadata"]["event_code"] == name)
            .collect()
    };
    let one = |name: &str| by_name(name)[0];
    // Activities by the verb of the event name.
    for (name, activity) in [
        ("Admin created candidate", 1),
        ("Admin viewed candidate", 2),
        ("Admin updated candidate field", 3),
        ("Admin changed candidate stage", 3),
        ("Admin assigned candidate to offer", 3),
        ("Admin deassigned candidate from offer", 3),
        ("Admin disqualified candidate", 3),
        ("Admin deleted candidate", 4),
        ("Admin created event request link", 1),
        ("Candidate field visibility changed", 3),
    ] {
        let e = one(name);
        assert_eq!(e["class_uid"], 3004, "{name}");
        assert_eq!(e["activity_id"], activity, "{name}");
    }
    // The candidate acted upon, wherever the entry names it.
    assert_eq!(
        one("Admin disqualified candidate")["entity"]["uid"],
        "47318282"
    );
    assert_eq!(one("Admin disqualified candidate")["comment"], "Not a fit");
    assert_eq!(
        one("Admin updated candidate field")["entity"]["uid"],
        "47628534"
    );
    assert_eq!(
        one("Admin created candidate")["entity"]["name"],
        "Jasprit Bumrah"
    );
    let link = one("Admin created event request link");
    assert_eq!(link["entity"]["type"], "interview_request_link");
    assert_eq!(link["entity"]["uid"], "2863186");
    // The actor, its address, the system.
    let viewed = one("Admin viewed candidate");
    assert_eq!(viewed["actor"]["user"]["uid"], "322453");
    assert_eq!(
        viewed["actor"]["user"]["email_addr"],
        "ishwar0123@gmail.com"
    );
    assert_eq!(viewed["actor"]["user"]["type_id"], 2);
    assert_eq!(viewed["src_endpoint"]["ip"], "103.167.233.83");
    assert_eq!(viewed["metadata"]["uid"], "Uau1KoYBjAGyTaM8eOi1");
    assert_eq!(viewed["metadata"]["tenant_uid"], common::recruitee::COMPANY);
    assert_eq!(viewed["time"], 1_675_753_781_000_i64);
    let system = one("Candidate field visibility changed");
    assert_eq!(system["actor"]["user"]["type_id"], 3);
    assert!(system.get("src_endpoint").is_none(), "no address given");
    // An admin user removed: Account Change, Delete, the admin acted upon as `user`.
    let removed = one("Admin removed admin");
    assert_eq!(removed["class_uid"], 3001);
    assert_eq!(removed["activity_id"], 6);
    assert_eq!(removed["type_uid"], 300106);
    assert_eq!(removed["user"]["uid"], "322454");
    assert_eq!(removed["user"]["email_addr"], "anna@example.com");
    assert_eq!(removed["src_endpoint"]["ip"], "2001:db8::7");

    insta::assert_snapshot!(
        "documented_recruitee",
        events
            .iter()
            .map(|e| serde_json::to_string_pretty(e).expect("json"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_schema_rejects_what_ocsf_forbids() {
    let valid = json!({
        "activity_id": 1, "activity_name": "Create", "category_uid": 3,
        "class_uid": 3004, "type_uid": 300401, "severity_id": 1, "time": 1_700_047_545_000_i64,
        "entity": {"uid": "1", "type": "department", "type_id": 99},
        "actor": {"user": {"uid": "E001", "email_addr": "a@example.com"}},
        "metadata": {"product": {"name": "Feishu CoreHR", "vendor_name": "Feishu"}, "version": "1.7.0"},
        "unmapped": {"anything": [1, {"goes": true}]}
    });
    let check = validator("entity_management");
    assert!(check.is_valid(&valid), "the baseline is valid");
    type Break = fn(&mut Value);
    let broken: [(&str, Break); 8] = [
        ("no entity", |e| {
            drop(e.as_object_mut().expect("object").remove("entity"))
        }),
        ("no time", |e| {
            drop(e.as_object_mut().expect("object").remove("time"))
        }),
        ("an activity the class lacks", |e| {
            e["activity_id"] = json!(42)
        }),
        ("a type_uid of another class", |e| {
            e["type_uid"] = json!(300101)
        }),
        ("an attribute OCSF does not define", |e| {
            e["hrlogs_extra"] = json!(1)
        }),
        ("an entity with neither uid nor name", |e| {
            e["entity"] = json!({"type": "x"})
        }),
        ("a malformed e-mail address", |e| {
            e["actor"]["user"]["email_addr"] = json!("not mail")
        }),
        ("an e-mail address with a space", |e| {
            e["actor"]["user"]["email_addr"] = json!("a b@example.com")
        }),
    ];
    for (what, breaks) in broken {
        let mut event = valid.clone();
        breaks(&mut event);
        assert!(!check.is_valid(&event), "{what} must be invalid");
    }
}

// ---------------------------------------------------------------------------------------------
// Ids and refusals

#[tokio::test(flavor = "multi_thread")]
async fn identical_feishu_records_get_their_own_uids_and_keep_them() {
    let record = json!({
        "object_id": "7094136522860922111",
        "changes": [{"field": "description", "before": "a", "after": "b"}],
        "operator": "E001",
        "operation_type": 50,
        "operation_time": "2024-03-01 10:00:00",
        "effective_time": "2024-03-01",
        "operation_reason": "twice",
        "change_reasons": []
    });
    let other = json!({
        "object_id": "7094136522860922111",
        "changes": [],
        "operator": "E001",
        "operation_type": 110,
        "operation_time": "2024-03-01 09:00:00",
        "effective_time": "2024-03-01",
        "operation_reason": "",
        "change_reasons": []
    });
    let log = |value: &Value, at: &str| DeptLog {
        department: "7094136522860922111".into(),
        at: at.parse().expect("datetime"),
        value: value.clone(),
    };
    let fake = FeishuFake::start(FeishuState {
        dept: vec![
            log(&record, "2024-03-01T10:00:00"),
            log(&record, "2024-03-01T10:00:00"),
            log(&other, "2024-03-01T09:00:00"),
        ],
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let run = || {
        let out = fake
            .hrlogs_unpaced(&env)
            .args(["feishu", "dept-logs", "--department", "7094136522860922111"])
            .args([
                "--since",
                "2024-03-01",
                "--until",
                "2024-03-01",
                "-f",
                "ocsf",
            ])
            .output()
            .expect("run");
        uids(&common::ndjson(stdout_ok(&out).as_bytes()))
    };
    let first = run();
    assert_eq!(first.len(), 3);
    assert!(
        first[0].ends_with("-1") && first[1].ends_with("-2"),
        "{first:?}"
    );
    assert_eq!(first[0][..64], first[1][..64], "same content, same hash");
    assert!(first[2].ends_with("-1"));
    assert_ne!(first[2][..64], first[0][..64]);
    assert_eq!(run(), first, "a second run gives the same uids");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_without_a_time_fails_the_run_and_says_which() {
    let timeless = json!({
        "application_id": "1", "talent_id": "t-without-time",
        "operator": {"id": "ou_1", "name": {"zh_cn": "张三"}},
        "operation_type": 1, "operator_type": 1
    });
    let fake = FeishuFake::start(FeishuState {
        talent: vec![TalentLog {
            operator: "ou_1".into(),
            operation: 1,
            job: "j".into(),
            ms: 0,
            value: timeless,
        }],
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let run = |format: &str| {
        fake.hrlogs_unpaced(&env)
            .args([
                "feishu",
                "talent-logs",
                "--operator",
                "ou_1",
                "--operation",
                "1",
            ])
            .args(["-f", format])
            .output()
            .expect("run")
    };
    assert!(run("ndjson").status.success(), "the record itself is fine");
    let out = run("ocsf");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("operation_time") && err.contains("-f ndjson"),
        "names the missing time and the way out: {err}"
    );
    assert!(out.stdout.is_empty(), "no event without a time");
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_without_events_refuse_ocsf_before_any_request() {
    let fake = RecruiteeFake::start(RecruiteeState::default()).await;
    let env = Env::new();
    for args in [
        vec!["recruitee", "candidates", "-f", "ocsf"],
        vec!["recruitee", "offers", "-f", "ocsf"],
    ] {
        let out = fake.hrlogs(&env).args(&args).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("-f ocsf") && err.contains("recruitee audit"),
            "says which commands take it: {err}"
        );
        assert!(out.stdout.is_empty());
    }
    assert_eq!(fake.calls(), 0, "no request sent");
}

// ---------------------------------------------------------------------------------------------
// Whatever a vendor sends: no panic, and every event it yields is valid OCSF

mod any_record {
    use hrlogs::identity::Source;
    use hrlogs::ocsf;
    use hrlogs::record::Record;
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    /// Scalars a vendor might put anywhere: texts that look like times, addresses, names
    /// (hostile ones too), numbers of every size, nulls, booleans.
    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            prop::sample::select(vec![
                "2023-11-15 19:25:45",
                "2023-02-07T07:09:41Z",
                "2024-03-10 02:30:00",
                "1618500278663",
                "-1",
                "",
                " ",
                "103.167.233.83",
                "2001:db8::1",
                "999.1.1.1",
                "a@example.com",
                "not mail",
                "a b@example.com",
                "x@y",
                "@",
                "名@例子.中国",
                "Admin removed admin",
                "Admin created candidate",
                "Candidate field visibility changed",
                "admin",
                "system",
                "=cmd|' /C calc'!A0",
                "\u{202e}txt.exe",
                "\u{1b}[2J",
                "张三",
            ])
            .prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ]
    }

    /// A person as Recruitee writes admins, every field any scalar.
    fn person() -> impl Strategy<Value = Value> {
        (scalar(), scalar(), scalar(), scalar()).prop_map(
            |(id, email, f, l)| json!({"id": id, "email": email, "first_name": f, "last_name": l}),
        )
    }

    /// A field's value: a scalar, a person, or an object or list of those, its object keys
    /// drawn from the vendors' own.
    fn value() -> impl Strategy<Value = Value> {
        let keys = prop::sample::select(vec![
            "id",
            "name",
            "title",
            "email",
            "candidate_id",
            "zh_cn",
            "en_us",
            "field",
            "before",
            "after",
            "admin",
            "candidate",
            "offer",
            "placement",
            "disqualify_reason",
            "removed_admin",
        ]);
        let leaf = || prop_oneof![scalar(), person()];
        prop_oneof![
            3 => scalar(),
            3 => person(),
            3 => prop::collection::btree_map(keys, leaf(), 0..4).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
            1 => prop::collection::vec(leaf(), 0..3).prop_map(Value::from),
        ]
    }

    /// A record with some of `fields` (each any value), maybe a key of its own, and most of
    /// the time a readable time at `fields[0]` (so that most cases reach the mapping).
    fn record(fields: &'static [&'static str], times: Vec<Value>) -> impl Strategy<Value = String> {
        (
            prop::collection::vec((prop::sample::select(fields), value()), 0..fields.len() + 2),
            prop::option::of(value()),
            prop::option::weighted(0.8, prop::sample::select(times)),
        )
            .prop_map(|(pairs, extra, time)| {
                let mut map = Map::new();
                for (k, v) in pairs {
                    map.insert(k.to_string(), v);
                }
                if let Some(v) = extra {
                    map.insert("vendor_added_field".into(), v);
                }
                if let Some(t) = time {
                    map.insert(fields[0].to_string(), t);
                }
                Value::Object(map).to_string()
            })
    }

    fn dept_times() -> Vec<Value> {
        vec![
            json!("2023-11-15 19:25:45"),
            json!("2024-03-10 02:30:00"),
            json!("2024-11-03 01:30:00"),
        ]
    }

    fn talent_times() -> Vec<Value> {
        vec![
            json!("1618500278663"),
            json!(1_618_500_278_663_i64),
            json!(-5),
        ]
    }

    fn audit_times() -> Vec<Value> {
        vec![
            json!("2023-02-07T07:09:41Z"),
            json!("2023-02-07T07:09:41.123456Z"),
            json!("2023-02-07T07:09:41+05:45"),
        ]
    }

    const DEPT: &[&str] = &[
        "operation_time",
        "object_id",
        "changes",
        "operator",
        "operation_type",
        "effective_time",
        "operation_reason",
        "change_reasons",
    ];
    const TALENT: &[&str] = &[
        "operation_time",
        "application_id",
        "talent_id",
        "operator",
        "operation_type",
        "operator_type",
    ];
    const AUDIT: &[&str] = &[
        "created_at",
        "_id",
        "actor",
        "actor_type",
        "admin",
        "candidate",
        "company_id",
        "details",
        "event_name",
        "highlight",
        "ip_address",
        "offer",
    ];

    const GREENHOUSE: &[&str] = &[
        "event_time",
        "organization_id",
        "request",
        "performer",
        "event",
    ];

    fn check(source: Source, text: &str) -> Result<(), TestCaseError> {
        let origin = match source {
            Source::GreenhouseAudit => hrlogs::logs::greenhouse_audit::origin(),
            Source::RecruiteeAudit => hrlogs::logs::recruitee_audit::origin("90598"),
            Source::FeishuDeptLogs => {
                hrlogs::logs::feishu_dept::origin("https://open.feishu.cn", Some("cli_x"), None)
            }
            Source::FeishuTalentLogs => {
                hrlogs::logs::feishu_talent::origin("https://open.feishu.cn", Some("cli_x"))
            }
        };
        let raw = serde_json::value::RawValue::from_string(text.to_string()).expect("json");
        let record = Record::new(raw, 0);
        let tz = jiff::tz::TimeZone::get("America/New_York").expect("zone");
        // A record without a readable time is refused with a reason; anything else is an event.
        if let Ok(event) = ocsf::event(&origin, &record, "uid-1".into(), &tz) {
            let v = serde_json::to_value(&event).expect("serializes");
            prop_assert_eq!(v["raw_data"].as_str(), Some(text));
            super::assert_valid_ocsf(&[v]);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn dept_logs(text in record(DEPT, dept_times())) {
            check(Source::FeishuDeptLogs, &text)?;
        }

        #[test]
        fn talent_logs(text in record(TALENT, talent_times())) {
            check(Source::FeishuTalentLogs, &text)?;
        }

        #[test]
        fn audit_entries(text in record(AUDIT, audit_times())) {
            check(Source::RecruiteeAudit, &text)?;
        }

        #[test]
        fn greenhouse_results(text in record(GREENHOUSE, audit_times())) {
            check(Source::GreenhouseAudit, &text)?;
        }
    }

    #[test]
    fn well_formed_records_become_events() {
        // The generator reaches the mapping, not only the refusal of records without time.
        let dept = json!({"operation_time": "2024-03-10 02:30:00", "object_id": 1}).to_string();
        let audit =
            json!({"created_at": "2023-02-07T07:09:41Z", "event_name": "Admin removed admin",
            "details": {"removed_admin": {"first_name": "A"}}})
            .to_string();
        for (source, text) in [
            (Source::FeishuDeptLogs, dept),
            (Source::RecruiteeAudit, audit),
        ] {
            let origin = match source {
                Source::GreenhouseAudit => hrlogs::logs::greenhouse_audit::origin(),
                Source::RecruiteeAudit => hrlogs::logs::recruitee_audit::origin("1"),
                Source::FeishuDeptLogs => {
                    hrlogs::logs::feishu_dept::origin("https://open.feishu.cn", None, None)
                }
                Source::FeishuTalentLogs => {
                    hrlogs::logs::feishu_talent::origin("https://open.feishu.cn", None)
                }
            };
            let raw = serde_json::value::RawValue::from_string(text).expect("json");
            let record = Record::new(raw, 0);
            let event = ocsf::event(&origin, &record, "u".into(), &jiff::tz::TimeZone::UTC)
                .expect("an event");
            super::assert_valid_ocsf(&[serde_json::to_value(&event).expect("json")]);
        }
    }
}

/// Feishu department times are the tenant's wall clock: with `feishu.tenant_time_zone` set,
/// their OCSF `time` is the same instant whatever `--tz` says, and nothing is said; without
/// it, `--tz` is assumed and the run says so once, naming the setting.
#[tokio::test(flavor = "multi_thread")]
async fn the_tenants_zone_fixes_department_times_whatever_tz_says() {
    let fake = FeishuFake::start(FeishuState {
        dept: dept_fixture(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let run = |tz: &str, zone: Option<&str>| {
        let mut cmd = fake.hrlogs_unpaced(&env);
        if let Some(z) = zone {
            cmd.env("HRLOGS_FEISHU_TENANT_TIME_ZONE", z);
        }
        cmd.args(["feishu", "dept-logs", "--department", "7094136522860922111"])
            .args(["--since", "2023-11-01", "--until", "2023-11-30"])
            .args(["--tz", tz, "-f", "ocsf"])
            .output()
            .expect("run")
    };
    for tz in ["UTC", "America/New_York"] {
        let out = run(tz, Some("Asia/Shanghai"));
        let events = common::ndjson(stdout_ok(&out).as_bytes());
        assert_eq!(
            events[2]["time"], 1_700_047_545_000_i64,
            "2023-11-15 19:25:45 in Asia/Shanghai, with --tz {tz}"
        );
        assert_eq!(events[2]["timezone_offset"], 480);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("tenant_time_zone"), "{err}");
    }
    let out = run("UTC", None);
    let events = common::ndjson(stdout_ok(&out).as_bytes());
    assert_eq!(events[2]["time"], 1_700_076_345_000_i64, "read in --tz");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("HRLOGS_FEISHU_TENANT_TIME_ZONE").count(),
        1,
        "{err}"
    );
    assert!(err.contains("UTC"), "names the zone assumed: {err}");
}

/// Talent operation codes become OCSF activities as Feishu's Hire enum page words them:
/// creating the talent is Create, viewing it Read, joining a job Update, a step of the hiring
/// process Other named in words; a code the page lacks is Other named by its number.
#[test]
fn talent_codes_become_activities_in_words() {
    let origin = hrlogs::logs::feishu_talent::origin("https://open.feishu.cn", Some("cli_x"));
    let tz = jiff::tz::TimeZone::UTC;
    for (code, id, name, words) in [
        ("1", 1, "Create", "create talent"),
        ("27", 2, "Read", "view candidate information"),
        ("3001", 3, "Update", "add to job"),
        ("2001", 99, "schedule interview", "schedule interview"),
        ("6", 99, "operation type 6", "operation type 6"),
    ] {
        let text = json!({
            "talent_id": "6843547872837273223",
            "operator": {"id": "ou_1", "name": {"zh_cn": "张三", "en_us": "Tom"}},
            "operation_type": code,
            "operation_time": "1618500278663",
            "operator_type": 1
        })
        .to_string();
        let raw = serde_json::value::RawValue::from_string(text).expect("json");
        let record = hrlogs::record::Record::new(raw, 0);
        let event = hrlogs::ocsf::event(&origin, &record, "uid-1".into(), &tz).expect("an event");
        let v = serde_json::to_value(&event).expect("serializes");
        assert_eq!(v["activity_id"], id, "{code}");
        assert_eq!(v["activity_name"], name, "{code}");
        assert_eq!(v["type_uid"], 300400 + id, "{code}");
        let message = v["message"].as_str().expect("message");
        assert!(message.contains(&format!(": {words} by 张三")), "{message}");
        assert_valid_ocsf(&[v]);
    }
}
