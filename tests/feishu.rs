//! `hrlogs feishu …` end to end: the real binary against a loopback Feishu.

mod common;

use std::collections::HashSet;

use common::feishu::{DEPT_PATH, FeishuFake, State, date, dept_dataset, talent_dataset};
use common::{Env, words};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn dept_logs_three_years_of_250_departments_arrive_exactly_once_newest_first() {
    let data = dept_dataset(250, date("2021-01-01"), date("2023-12-31"), 8);
    let fake = FeishuFake::start(State {
        dept: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let ids: Vec<String> = (0..250).map(|d| format!("70941365228609{d:05}")).collect();
    std::fs::write(env.path("depts.txt"), format!("{}\n\n", ids.join("\n"))).expect("write");
    let out = fake
        .hrlogs_unpaced(&env)
        .args(["feishu", "dept-logs", "--department-file"])
        .arg(env.path("depts.txt"))
        .args(words(
            "--since 2021-01-01 --until 2023-12-31 --page-size 100 -f ndjson",
        ))
        .output()
        .expect("run");
    common::assert_ok(&out);
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout)
        .expect("utf8")
        .lines()
        .collect();
    assert_eq!(lines.len(), data.len(), "every record exactly once");
    let expected: HashSet<String> = data
        .iter()
        .map(|l| serde_json::to_string(&l.value).expect("json"))
        .collect();
    let got: HashSet<String> = lines.iter().map(|l| l.to_string()).collect();
    assert_eq!(
        got, expected,
        "records passed through byte for byte, none lost or doubled"
    );
    let times: Vec<String> = common::ndjson(&out.stdout)
        .iter()
        .map(|v| v["operation_time"].as_str().expect("time").to_string())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first across windows and batches"
    );
    assert!(
        fake.state.seen.violations().is_empty(),
        "limits broken: {:?}",
        fake.state.seen.violations()
    );
    let bodies = fake.state.bodies();
    assert!(bodies.iter().all(|b| {
        b["department_ids"]
            .as_array()
            .is_some_and(|a| a.len() <= 100)
    }));
    let windows: HashSet<(String, String)> = bodies
        .iter()
        .map(|b| (b["start_date"].to_string(), b["end_date"].to_string()))
        .collect();
    assert!(
        bodies.iter().all(|b| {
            let d = |k: &str| b[k].as_str().and_then(|s| s.parse::<jiff::civil::Date>().ok());
            matches!((d("start_date"), d("end_date")), (Some(a), Some(z)) if a < z && (z - a).get_days() <= 366)
        }),
        "every window within 366 days"
    );
    let ends: HashSet<&String> = windows.iter().map(|(_, e)| e).collect();
    assert!(
        ends.len() >= 3,
        "1095 days need three windows (narrowed further where a page is full): {windows:?}"
    );
    assert_eq!(fake.token_calls(), 1, "one token for the whole run");
}

#[tokio::test(flavor = "multi_thread")]
async fn dept_logs_reads_departments_from_stdin_and_repeats_count_once() {
    let data = dept_dataset(3, date("2024-01-01"), date("2024-03-01"), 5);
    let fake = FeishuFake::start(State {
        dept: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs_unpaced(&env)
        .args(words("feishu dept-logs --department-file - --department 7094136522860900000 --since 2024-01-01 --until 2024-03-01"))
        .write_stdin("7094136522860900000\n 7094136522860900001 \n\n7094136522860900002\n")
        .output()
        .expect("run");
    common::assert_ok(&out);
    let records: Vec<Value> =
        serde_json::from_slice(&out.stdout).expect("a JSON array when stdout is not a terminal");
    assert_eq!(records.len(), 15);
}

#[tokio::test(flavor = "multi_thread")]
async fn talent_logs_follow_every_page_and_pass_lenient_fields_through() {
    let ops = ["ou_a", "ou_b", "ou_c"];
    let data = talent_dataset(&ops, &[1, 3001], 70, 1_700_000_000_000);
    let fake = FeishuFake::start(State {
        talent: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs_unpaced(&env)
        .args(words("feishu talent-logs --operator ou_a,ou_b --operator ou_c --operation 1,3001 --page-size 20 -f ndjson"))
        .output()
        .expect("run");
    common::assert_ok(&out);
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout)
        .expect("utf8")
        .lines()
        .collect();
    let expected: HashSet<String> = data
        .iter()
        .map(|l| serde_json::to_string(&l.value).expect("json"))
        .collect();
    assert_eq!(lines.len(), data.len());
    assert_eq!(
        lines.iter().map(|l| l.to_string()).collect::<HashSet<_>>(),
        expected
    );
    let parsed = common::ndjson(&out.stdout);
    assert!(
        parsed.iter().any(|v| v["operation_type"].is_string())
            && parsed.iter().any(|v| v["operation_type"].is_number())
    );
    let ms = |v: &Value| {
        v["operation_time"]
            .as_i64()
            .or_else(|| v["operation_time"].as_str().and_then(|s| s.parse().ok()))
            .expect("ms")
    };
    assert!(
        parsed.windows(2).all(|w| ms(&w[0]) >= ms(&w[1])),
        "merged newest first"
    );
    assert_eq!(fake.token_calls(), 1);
    assert!(
        fake.data_calls() > 3,
        "split into several chains of several pages"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn talent_logs_since_until_filter_on_operation_time_and_jobs_are_sent() {
    let start = 1_700_000_000_000i64;
    let data = talent_dataset(&["ou_a"], &[1], 200, start);
    let fake = FeishuFake::start(State {
        talent: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let (since, until) = (start + 10 * 86_400_000, start + 20 * 86_400_000);
    let out = fake
        .hrlogs_unpaced(&env)
        .args(words(
            "feishu talent-logs --operator ou_a --operation 1 -f ndjson",
        ))
        .args([
            "--since",
            &since.to_string(),
            "--until",
            &until.to_string(),
            "--job",
            "694980546779953790",
        ])
        .output()
        .expect("run");
    common::assert_ok(&out);
    let want = data
        .iter()
        .filter(|l| l.ms >= since && l.ms <= until && l.job == "694980546779953790")
        .count();
    assert!(want > 0);
    assert_eq!(common::ndjson(&out.stdout).len(), want);
    let bodies = fake.state.bodies();
    assert_eq!(
        bodies[0]["job_id_list"],
        serde_json::json!(["694980546779953790"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_token_is_refreshed_once_and_the_request_retried() {
    let data = dept_dataset(2, date("2024-01-01"), date("2024-06-30"), 50);
    let fake = FeishuFake::start(State {
        dept: data.clone(),
        revoke_every: 3,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs_unpaced(&env)
        .args(words("feishu dept-logs --department 7094136522860900000,7094136522860900001 --since 2024-01-01 --until 2024-06-30 --page-size 10 -f ndjson"))
        .output()
        .expect("run");
    common::assert_ok(&out);
    assert_eq!(common::ndjson(&out.stdout).len(), data.len());
    assert!(fake.token_calls() >= 2, "token replaced after revocation");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_given_tenant_token_skips_the_exchange_and_a_refused_one_is_exit_3() {
    let fake = FeishuFake::start(State {
        dept: dept_dataset(1, date("2024-01-01"), date("2024-01-31"), 3),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = env
        .hrlogs()
        .env("HRLOGS_FEISHU_BASE_URL", fake.uri())
        .env("HRLOGS_FEISHU_TENANT_TOKEN", "t-never-issued-secret")
        .args(words(
            "feishu dept-logs --department 7094136522860900000 --since 2024-01-01",
        ))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("99991663"), "{err}");
    assert!(!err.contains("t-never-issued-secret"), "{err}");
    assert_eq!(fake.token_calls(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_app_secret_is_exit_3_with_the_vendor_code() {
    let fake = FeishuFake::start(State::default()).await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .env("HRLOGS_FEISHU_APP_SECRET", "wrong-secret-value")
        .args(words("feishu dept-logs --department 1 --since 2024-01-01"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("10014") && err.contains("app secret invalid"),
        "{err}"
    );
    assert!(!err.contains("wrong-secret-value"));
    assert_eq!(fake.data_calls(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vendor_error_code_is_exit_4_and_a_failing_vendor_exit_5() {
    let fake = FeishuFake::start(State {
        refuse_with: Some((1002002, "参数错误".into())),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args(words("feishu talent-logs --operator ou_a --operation 1"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1002002") && err.contains("参数错误"), "{err}");
    assert_eq!(fake.data_calls(), 1, "not retried");

    let fake = FeishuFake::start(State {
        faults: common::feishu::Faults::new(1, 0, 0),
        ..Default::default()
    })
    .await;
    let out = fake
        .hrlogs(&env)
        .args(words(
            "--max-retries 2 feishu talent-logs --operator ou_a --operation 1",
        ))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("after 2 retries") && err.contains("talent operation logs"),
        "{err}"
    );
    assert_eq!(fake.data_calls(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeating_page_token_stops_with_exit_5() {
    let fake = FeishuFake::start(State {
        dept: dept_dataset(1, date("2024-01-01"), date("2024-01-31"), 30),
        repeat_token: true,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    // A vendor whose every page says there is more (the same token each time) cannot be
    // proven: the narrowing comes down to one day, whose token walk catches the loop.
    let out = fake
        .hrlogs_unpaced(&env)
        .args(words("feishu dept-logs --department 7094136522860900000 --since 2024-01-01 --until 2024-01-31 --page-size 5"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("second time"));
}

#[tokio::test(flavor = "multi_thread")]
async fn limit_stops_output_and_fetching() {
    let data = dept_dataset(1, date("2024-01-01"), date("2024-06-30"), 300);
    let fake = FeishuFake::start(State {
        dept: data,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs_unpaced(&env)
        .args(words("--limit 7 feishu dept-logs --department 7094136522860900000 --since 2024-01-01 --until 2024-06-30 --page-size 5 -f ndjson"))
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(common::ndjson(&out.stdout).len(), 7);
    assert!(
        fake.data_calls() < 10,
        "stopped fetching: {} calls for 60 pages",
        fake.data_calls()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn output_file_is_written_atomically() {
    let data = dept_dataset(1, date("2024-01-01"), date("2024-03-31"), 40);
    let fake = FeishuFake::start(State {
        dept: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let dir = env.path("out");
    std::fs::create_dir(&dir).expect("mkdir");
    let target = dir.join("logs.csv");
    let out = fake
        .hrlogs_unpaced(&env)
        .args(words("feishu dept-logs --department 7094136522860900000 --since 2024-01-01 --until 2024-03-31 -o"))
        .arg(&target)
        .output()
        .expect("run");
    common::assert_ok(&out);
    assert!(out.stdout.is_empty(), "nothing on stdout with -o");
    let text = std::fs::read_to_string(&target).expect("file");
    assert!(
        text.starts_with("operation_time,object_id,"),
        "csv chosen from the extension: {text}"
    );
    assert_eq!(
        csv::Reader::from_reader(text.as_bytes()).records().count(),
        data.len()
    );
    assert_eq!(common::files_in(&dir), vec!["logs.csv"]);

    // A failing run leaves the old file as it was and no temporary file.
    let failing = FeishuFake::start(State {
        refuse_with: Some((1160101, "date interval exceeds 366".into())),
        ..Default::default()
    })
    .await;
    let out = failing
        .hrlogs_unpaced(&env)
        .args(words(
            "feishu dept-logs --department 1 --since 2024-01-01 -o",
        ))
        .arg(&target)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(std::fs::read_to_string(&target).expect("file"), text);
    assert_eq!(common::files_in(&dir), vec!["logs.csv"]);
    let fresh = dir.join("new.json");
    let out = failing
        .hrlogs_unpaced(&env)
        .args(words(
            "feishu dept-logs --department 1 --since 2024-01-01 -o",
        ))
        .arg(&fresh)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(4));
    assert!(!fresh.exists());
    assert_eq!(common::files_in(&dir), vec!["logs.csv"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_fails_part_way_leaves_json_unclosed_and_ndjson_whole_lines() {
    let data = dept_dataset(1, date("2024-01-01"), date("2024-03-31"), 40);
    // Every 4th answer is a 500 and no retries are allowed: the run fails after some pages.
    let fake = FeishuFake::start(State {
        dept: data,
        faults: common::feishu::Faults::new(4, 0, 0),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    for (format, check) in [("json", 0), ("ndjson", 1)] {
        let out = fake
            .hrlogs_unpaced(&env)
            .args([
                "--max-retries",
                "0",
                "feishu",
                "dept-logs",
                "--department",
                "7094136522860900000",
                "--since",
                "2024-01-01",
                "--until",
                "2024-03-31",
                "--page-size",
                "5",
                "-f",
                format,
            ])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(5));
        let text = String::from_utf8_lossy(&out.stdout);
        if check == 0 {
            assert!(
                text.starts_with('[') && !text.trim_end().ends_with(']'),
                "json left open: {text}"
            );
            assert!(serde_json::from_str::<Value>(&text).is_err());
        } else {
            assert!(!text.is_empty() && text.ends_with('\n'));
            common::ndjson(&out.stdout);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_format_parses_back() {
    let data = talent_dataset(&["ou_a"], &[7], 30, 1_700_000_000_000);
    let fake = FeishuFake::start(State {
        talent: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let run = |format: &str, extra: &[&str]| {
        let out = fake
            .hrlogs_unpaced(&env)
            .args([
                "feishu",
                "talent-logs",
                "--operator",
                "ou_a",
                "--operation",
                "7",
                "-f",
                format,
            ])
            .args(extra)
            .output()
            .expect("run");
        common::assert_ok(&out);
        out.stdout
    };
    let json: Vec<Value> = serde_json::from_slice(&run("json", &[])).expect("json array");
    assert_eq!(json.len(), 30);
    assert_eq!(common::ndjson(&run("ndjson", &[])), json);
    let csv_out = run(
        "csv",
        &[
            "--fields",
            "application_id,operator.name.en_us,operator.name,operation_type",
        ],
    );
    let mut reader = csv::Reader::from_reader(csv_out.as_slice());
    assert_eq!(
        reader.headers().expect("header").iter().collect::<Vec<_>>(),
        [
            "application_id",
            "operator.name.en_us",
            "operator.name",
            "operation_type"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("rfc 4180");
    assert_eq!(rows.len(), 30);
    for (row, rec) in rows.iter().zip(&json) {
        assert_eq!(&row[0], rec["application_id"].as_str().expect("id"));
        assert_eq!(&row[1], "Tom, \"the\" recruiter");
        let nested: Value = serde_json::from_str(&row[2]).expect("nested values as JSON text");
        assert_eq!(nested, rec["operator"]["name"]);
        assert_eq!(row[3].trim_matches('"'), "7");
    }
    let table = String::from_utf8(run("table", &[])).expect("utf8");
    assert!(
        table.contains("张三") && table.contains("TIME UTC"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_prints_requests_without_sending_and_without_secrets() {
    let fake = FeishuFake::start(State::default()).await;
    let env = Env::new();
    let ids: Vec<String> = (0..150).map(|i| i.to_string()).collect();
    let out = fake
        .hrlogs(&env)
        .args([
            "--dry-run",
            "feishu",
            "dept-logs",
            "--department",
            &ids.join(","),
            "--since",
            "2022-01-01",
            "--until",
            "2023-12-31",
        ])
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches(&format!("POST {}{DEPT_PATH}", fake.uri()))
            .count(),
        4,
        "2 windows × 2 batches: {text}"
    );
    assert!(text.contains("tenant_access_token/internal") && text.contains("<redacted>"));
    assert!(!text.contains(common::feishu::APP_SECRET));
    assert_eq!(fake.token_calls() + fake.data_calls(), 0, "nothing sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_logs_each_request_without_secrets() {
    let fake = FeishuFake::start(State {
        dept: dept_dataset(1, date("2024-01-01"), date("2024-01-31"), 12),
        revoke_every: 2,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs_unpaced(&env)
        .args(words("-vv feishu dept-logs --department 7094136522860900000 --since 2024-01-01 --until 2024-01-31 --page-size 5"))
        .output()
        .expect("run");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("POST {DEPT_PATH}")) && err.contains("-> 200"),
        "{err}"
    );
    assert!(err.contains("/tenant_access_token/internal -> 200"));
    for secret in [common::feishu::APP_SECRET, "t-test-1", "t-test-2"] {
        assert!(!err.contains(secret), "{secret} leaked: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn many_pages_filtered_out_by_until_are_not_mistaken_for_a_stuck_vendor() {
    let start = 1_700_000_000_000i64;
    let data = talent_dataset(&["ou_a"], &[1], 150, start);
    let fake = FeishuFake::start(State {
        talent: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    // The 130 newest records come first and are all after --until: 130 pages of size 1 with
    // nothing to keep, each saying there is more.
    let until = data[130].ms;
    let out = fake
        .hrlogs_unpaced(&env)
        .args(words(
            "--page-size 1 feishu talent-logs --operator ou_a --operation 1 -f ndjson",
        ))
        .args(["--until", &until.to_string()])
        .output()
        .expect("run");
    common::assert_ok(&out);
    assert_eq!(
        common::ndjson(&out.stdout).len(),
        data.iter().filter(|l| l.ms <= until).count()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn code_0_without_data_is_an_empty_last_page() {
    let fake = FeishuFake::start(State {
        no_data: true,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    for args in [
        words("feishu dept-logs --department d1 --since 2024-01-01 --until 2024-01-31"),
        words("feishu talent-logs --operator ou_a --operation 1,2"),
    ] {
        let before = fake.data_calls();
        let out = fake
            .hrlogs_unpaced(&env)
            .args(["--max-retries", "0", "-f", "ndjson"])
            .args(&args)
            .output()
            .expect("run");
        common::assert_ok(&out);
        assert!(out.stdout.is_empty());
        assert_eq!(
            fake.data_calls() - before,
            1,
            "one request, read as the last page"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_one_day_dept_query_asks_two_days_and_keeps_its_own() {
    let data = dept_dataset(2, date("2024-04-28"), date("2024-05-03"), 40);
    let fake = FeishuFake::start(State {
        dept: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs_unpaced(&env)
        .args(["-f", "ndjson", "feishu", "dept-logs"])
        .args(["--department", "7094136522860900000,7094136522860900001"])
        .args(["--since", "2024-05-01", "--until", "2024-05-01"])
        .output()
        .expect("run");
    common::assert_ok(&out);
    let want: HashSet<String> = data
        .iter()
        .filter(|l| l.at.date() == date("2024-05-01"))
        .map(|l| serde_json::to_string(&l.value).expect("json"))
        .collect();
    assert!(!want.is_empty() && want.len() < data.len());
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), want.len(), "only the day asked for");
    assert_eq!(lines.into_iter().collect::<HashSet<_>>(), want);
    let bodies = fake.state.bodies();
    assert!(
        bodies
            .iter()
            .all(|b| b["start_date"] == "2024-04-30" && b["end_date"] == "2024-05-01"),
        "{bodies:?}"
    );
    assert!(
        fake.state.seen.violations().is_empty(),
        "{:?}",
        fake.state.seen.violations()
    );

    // 367 days: a window of 366 days and one of a single day, which is widened too.
    let out = fake
        .hrlogs_unpaced(&env)
        .args(words(
            "-f ndjson feishu dept-logs --department 7094136522860900000",
        ))
        .args(["--since", "2023-05-02", "--until", "2024-05-03"])
        .output()
        .expect("run");
    common::assert_ok(&out);
    assert!(
        fake.state.seen.violations().is_empty(),
        "{:?}",
        fake.state.seen.violations()
    );
    let want = data
        .iter()
        .filter(|l| l.department == "7094136522860900000")
        .count();
    assert_eq!(common::ndjson(&out.stdout).len(), want);
}

#[tokio::test(flavor = "multi_thread")]
async fn talent_logs_shard_by_operator_and_keep_the_operation_list_whole() {
    let operations = [1, 2, 3, 4, 5];
    let data = talent_dataset(
        &["ou_a", "ou_b", "ou_c"],
        &operations,
        50,
        1_700_000_000_000,
    );
    let fake = FeishuFake::start(State {
        talent: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    // One operator: 250 records, 100 a page: one combined query's 3 pages (+1 at most).
    let out = fake
        .hrlogs_unpaced(&env)
        .args(words("-f ndjson feishu talent-logs --operator ou_a"))
        .args(["--operation", "1,2,3,4,5", "--page-size", "100"])
        .output()
        .expect("run");
    common::assert_ok(&out);
    assert_eq!(common::ndjson(&out.stdout).len(), 250);
    assert!(
        fake.data_calls() <= 4,
        "{} requests for 3 pages",
        fake.data_calls()
    );
    // Three operators: a chain each, each with the whole operation list.
    let out = fake
        .hrlogs_unpaced(&env)
        .args(words(
            "-f ndjson feishu talent-logs --operator ou_a,ou_b,ou_c",
        ))
        .args(["--operation", "1,2,3,4,5", "--page-size", "100"])
        .output()
        .expect("run");
    common::assert_ok(&out);
    assert_eq!(common::ndjson(&out.stdout).len(), data.len());
    let bodies = fake.state.bodies();
    assert!(
        bodies
            .iter()
            .all(|b| b["operation_list"] == serde_json::json!(operations)),
        "operation_list kept whole: {bodies:?}"
    );
    assert!(fake.data_calls() <= 4 + 3 * 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_path_prefix_is_kept_for_the_token_and_every_call() {
    let data = dept_dataset(1, date("2024-01-01"), date("2024-01-31"), 12);
    let fake = FeishuFake::start(State {
        dept: data.clone(),
        prefix: Some("/feishu".into()),
        ..Default::default()
    })
    .await;
    assert!(fake.uri().ends_with("/feishu"));
    let env = Env::new();
    let out = fake
        .hrlogs_unpaced(&env)
        .args(words(
            "-f ndjson feishu dept-logs --department 7094136522860900000",
        ))
        .args(words("--since 2024-01-01 --until 2024-01-31 --page-size 5"))
        .output()
        .expect("run");
    common::assert_ok(&out);
    assert_eq!(common::ndjson(&out.stdout).len(), data.len());
    assert_eq!(fake.token_calls(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_repeating_records_under_fresh_tokens_are_a_loop_exit_5() {
    let fake = FeishuFake::start(State {
        dept: dept_dataset(1, date("2024-01-01"), date("2024-01-31"), 30),
        talent: talent_dataset(&["ou_a"], &[1, 2], 20, 1_700_000_000_000),
        fresh_token_repeats: true,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out_file = env.path("out.ndjson");
    for args in [
        words(
            "feishu dept-logs --department 7094136522860900000 --since 2024-01-01 --until 2024-01-31",
        ),
        words("feishu talent-logs --operator ou_a --operation 1,2"),
    ] {
        let before = fake.data_calls();
        let out = fake
            .hrlogs_unpaced(&env)
            .args(["--page-size", "5", "-f", "ndjson", "-o"])
            .arg(&out_file)
            .args(&args)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "{args:?}: {err}");
        assert!(err.contains("already seen"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        // Department logs first narrow their window page by page (first pages, which do
        // not repeat) down to a day that needs a token walk, where the loop shows.
        assert!(
            fake.data_calls() - before <= 12,
            "stopped at once: {} calls",
            fake.data_calls() - before
        );
        assert!(!out_file.exists(), "no file from a failed run");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn has_more_without_a_token_is_an_incomplete_answer_exit_5() {
    let fake = FeishuFake::start(State {
        dept: dept_dataset(1, date("2024-01-01"), date("2024-01-31"), 30),
        talent: talent_dataset(&["ou_a"], &[1, 2], 20, 1_700_000_000_000),
        more_without_token: true,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    // Department logs never follow a vendor's page token across days (their windows are
    // narrowed instead): exact whatever the tokens do.
    let dept = fake
        .hrlogs_unpaced(&env)
        .args(words("--page-size 5 -f ndjson feishu dept-logs --department 7094136522860900000 --since 2024-01-01 --until 2024-01-31"))
        .output()
        .expect("run");
    common::assert_ok(&dept);
    let got: HashSet<String> = common::ndjson(&dept.stdout)
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!((common::ndjson(&dept.stdout).len(), got.len()), (30, 30));
    let out = fake
        .hrlogs_unpaced(&env)
        .args(["--page-size", "5", "-f", "ndjson"])
        .args(words("feishu talent-logs --operator ou_a --operation 1,2"))
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains("no page token") && err.contains("incomplete"),
        "{err}"
    );
    // When everything fits one page, has_more is false and nothing is missing: exit 0.
    let out = fake
        .hrlogs_unpaced(&env)
        .args(["--page-size", "100", "-f", "ndjson"])
        .args(words("feishu talent-logs --operator ou_a --operation 1,2"))
        .output()
        .expect("run");
    common::assert_ok(&out);
    assert_eq!(common::ndjson(&out.stdout).len(), 40);
}
