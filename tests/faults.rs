//! Faults injected by the loopback vendors: the output must still be exact.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::feishu::{self as feishu, FeishuFake, State, date, dept_dataset, talent_dataset};
use common::recruitee::{self, RecruiteeFake, audit_dataset};
use common::{Env, Faults};

fn lines_set(stdout: &[u8]) -> (usize, HashSet<String>) {
    let text = String::from_utf8_lossy(stdout);
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    (lines.len(), lines.into_iter().collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn feishu_with_20_percent_5xx_and_5_percent_cut_bodies_is_still_exact() {
    let dept = dept_dataset(120, date("2022-06-01"), date("2024-05-31"), 10);
    let talent = talent_dataset(&["ou_a", "ou_b"], &[1, 2, 3], 60, 1_700_000_000_000);
    let fake = FeishuFake::start(State {
        dept: dept.clone(),
        talent: talent.clone(),
        faults: feishu::Faults::new(5, 19, 0),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let ids: Vec<String> = (0..120).map(|d| format!("70941365228609{d:05}")).collect();
    let out = fake
        .hrlogs_unpaced(&env)
        .args([
            "--max-retries",
            "8",
            "feishu",
            "dept-logs",
            "--department",
            &ids.join(","),
            "--since",
            "2022-06-01",
            "--until",
            "2024-05-31",
            "--page-size",
            "50",
            "-f",
            "ndjson",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (n, got) = lines_set(&out.stdout);
    assert_eq!(n, dept.len());
    assert_eq!(
        got,
        dept.iter()
            .map(|l| serde_json::to_string(&l.value).expect("json"))
            .collect::<HashSet<_>>()
    );

    let out = fake
        .hrlogs_unpaced(&env)
        .args([
            "--max-retries",
            "8",
            "feishu",
            "talent-logs",
            "--operator",
            "ou_a,ou_b",
            "--operation",
            "1,2,3",
            "--page-size",
            "10",
            "-f",
            "ndjson",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (n, got) = lines_set(&out.stdout);
    assert_eq!(n, talent.len());
    assert_eq!(
        got,
        talent
            .iter()
            .map(|l| serde_json::to_string(&l.value).expect("json"))
            .collect::<HashSet<_>>()
    );
    assert!(fake.injected() > 10, "faults were injected");
}

#[tokio::test(flavor = "multi_thread")]
async fn recruitee_with_20_percent_5xx_and_5_percent_cut_bodies_is_still_exact() {
    let data = audit_dataset(12_000, 1_790_000_000);
    let fake = RecruiteeFake::start(recruitee::State {
        audit: data.clone(),
        faults: Faults::new(5, 19, 0),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args(["--max-retries", "8", "recruitee", "audit", "-f", "ndjson"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<String> = common::ndjson(&out.stdout)
        .iter()
        .map(|e| e["_id"].as_str().expect("id").to_string())
        .collect();
    let want: Vec<String> = data
        .iter()
        .map(|(_, e)| e["_id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_storms_wait_for_the_reset_header_also_when_sent_as_http_400() {
    for as_400 in [false, true] {
        let data = dept_dataset(1, date("2024-01-01"), date("2024-03-31"), 60);
        let fake = FeishuFake::start(State {
            dept: data.clone(),
            faults: feishu::Faults::new(0, 0, 3),
            rate_limit_as_400: as_400,
            reset_seconds: Some(1),
            ..Default::default()
        })
        .await;
        let env = Env::new();
        let out = fake
            .hrlogs_unpaced(&env)
            .args([
                "--max-retries",
                "3",
                "feishu",
                "dept-logs",
                "--department",
                "7094136522860900000",
                "--since",
                "2024-01-01",
                "--until",
                "2024-03-31",
                "--page-size",
                "10",
                "-f",
                "ndjson",
            ])
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(common::ndjson(&out.stdout).len(), data.len());
        let arrivals = fake.state.arrivals.lock().expect("lock").clone();
        let limited = fake.state.limited.lock().expect("lock").clone();
        assert!(limited.len() >= 2, "storm injected");
        for i in limited {
            if let Some(next) = arrivals.get(i + 1) {
                assert!(
                    *next - arrivals[i] >= Duration::from_millis(900),
                    "waited for x-ogw-ratelimit-reset (as_400: {as_400})"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_revoked_every_few_calls_with_chains_in_flight_are_replaced_one_at_a_time() {
    let data = dept_dataset(300, date("2023-01-01"), date("2024-12-31"), 4);
    let fake = FeishuFake::start(State {
        dept: data.clone(),
        revoke_every: 10,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let ids: Vec<String> = (0..300).map(|d| format!("70941365228609{d:05}")).collect();
    let out = fake
        .hrlogs_unpaced(&env)
        .args([
            "feishu",
            "dept-logs",
            "--department",
            &ids.join(","),
            "--since",
            "2023-01-01",
            "--until",
            "2024-12-31",
            "--page-size",
            "20",
            "-f",
            "ndjson",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (n, got) = lines_set(&out.stdout);
    assert_eq!(n, data.len());
    assert_eq!(got.len(), data.len());
    let calls = fake.data_calls();
    assert!(
        fake.token_calls() >= 2 && fake.token_calls() <= calls / 2,
        "one refresh per revocation, not one per chain: {} tokens for {calls} calls",
        fake.token_calls()
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_exits_130_and_leaves_no_file() {
    let data = dept_dataset(1, date("2024-01-01"), date("2024-12-31"), 200);
    let fake = FeishuFake::start(State {
        dept: data,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let dir = env.path("out");
    std::fs::create_dir(&dir).expect("mkdir");
    for (target, format) in [(Some(dir.join("logs.ndjson")), "ndjson"), (None, "ndjson")] {
        let mut cmd = env.command();
        cmd.envs(fake.vars())
            .env("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND", "2")
            .args([
                "feishu",
                "dept-logs",
                "--department",
                "7094136522860900000",
                "--since",
                "2024-01-01",
                "--until",
                "2024-12-31",
                "--page-size",
                "5",
                "-f",
                format,
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if let Some(t) = &target {
            cmd.arg("-o").arg(t);
        }
        let before = fake.data_calls();
        let child = cmd.spawn().expect("spawn");
        while fake.data_calls() < before + 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let killed = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let out = child.wait_with_output().expect("wait");
        assert_eq!(
            out.status.code(),
            Some(130),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if target.is_some() {
            assert!(
                common::files_in(&dir).is_empty(),
                "no file and no temporary file: {:?}",
                common::files_in(&dir)
            );
        } else {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.is_empty() || text.ends_with('\n'), "whole lines only");
            common::ndjson(&out.stdout);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_slower_than_timeout_is_retried_then_fails_with_exit_5() {
    let fake = FeishuFake::start(State {
        dept: dept_dataset(1, date("2024-01-01"), date("2024-01-31"), 3),
        faults: feishu::Faults {
            latency: Duration::from_secs(3),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs_unpaced(&env)
        .args([
            "--timeout",
            "0.3",
            "--max-retries",
            "1",
            "feishu",
            "dept-logs",
            "--department",
            "7094136522860900000",
        ])
        .args(["--since", "2024-01-01", "--until", "2024-01-31"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("timed out") && err.contains("after 1 retries"),
        "{err}"
    );
    assert_eq!(fake.data_calls(), 2, "sent, timed out, retried once");
}
