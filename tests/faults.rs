//! Faults injected by the loopback vendors: the output must still be exact.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::feishu::{self as feishu, FeishuFake, State, date, dept_dataset, talent_dataset};
use common::recruitee::{self, RecruiteeFake, audit_dataset};
use common::{Env, Faults, words};

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
    common::assert_ok(&out);
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
        .args(words("--max-retries 8 feishu talent-logs --operator ou_a,ou_b --operation 1,2,3 --page-size 10 -f ndjson"))
        .output()
        .expect("run");
    common::assert_ok(&out);
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
    common::assert_ok(&out);
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
            .args(words("--max-retries 3 feishu dept-logs --department 7094136522860900000 --since 2024-01-01 --until 2024-03-31 --page-size 10 -f ndjson"))
            .output()
            .expect("run");
        common::assert_ok(&out);
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
    common::assert_ok(&out);
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
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while fake.data_calls() < before + 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the run never started"
            );
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
        .args(words(
            "--timeout 0.3 --max-retries 1 feishu dept-logs --department 7094136522860900000",
        ))
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

/// One department's logs over January 2024, and the flags that ask for them.
fn january() -> (Vec<feishu::DeptLog>, Vec<&'static str>) {
    (
        dept_dataset(1, date("2024-01-01"), date("2024-01-31"), 30),
        words(
            "feishu dept-logs --department 7094136522860900000 --since 2024-01-01 --until 2024-01-31 --page-size 5 -f ndjson",
        ),
    )
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_on_the_token_call_is_not_followed_and_the_secret_stays_home() {
    let elsewhere = FeishuFake::start(State::default()).await;
    let (data, args) = january();
    let fake = FeishuFake::start(State {
        dept: data,
        redirect_token_to: Some(format!("{}{}", elsewhere.uri(), feishu::TOKEN_PATH)),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake.hrlogs_unpaced(&env).args(&args).output().expect("run");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("307") && err.contains("redirect"), "{err}");
    assert!(
        err.contains(&elsewhere.uri()),
        "names where it pointed: {err}"
    );
    assert_eq!(fake.token_calls(), 1);
    assert_eq!(
        elsewhere.token_calls(),
        0,
        "the app secret never reached the other host"
    );
    assert_eq!(fake.data_calls(), 0);
}

#[cfg(target_os = "linux")]
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives its peak memory
#[tokio::test(flavor = "multi_thread")]
async fn an_endless_body_fails_fast_in_bounded_memory() {
    let (data, args) = january();
    let fake = FeishuFake::start(State {
        dept: data,
        endless_body: true,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let mut child = env
        .command()
        .envs(fake.vars())
        .env("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND", "1000")
        .args(["--timeout", "60"])
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut { stderr }, &mut text);
        text
    });
    // wait4 gives the child's peak resident memory.
    let pid = child.id() as libc::pid_t;
    let (status, max_rss_kib) = tokio::task::spawn_blocking(move || {
        let mut status = 0;
        // SAFETY: plain wait4 on our own child; status and usage are valid out-pointers.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        assert_eq!(r, pid, "wait4");
        (status, usage.ru_maxrss)
    })
    .await
    .expect("wait");
    let err = reader.join().expect("stderr");
    assert!(libc::WIFEXITED(status), "exited: {err}");
    assert_eq!(libc::WEXITSTATUS(status), 5, "{err}");
    assert!(err.contains("over 64 MiB"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        max_rss_kib < 300 * 1024,
        "peak memory {} MiB: the body was not capped",
        max_rss_kib / 1024
    );
    assert_eq!(fake.data_calls(), 1, "an endless body is not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_answer_with_a_huge_expire_is_no_panic() {
    let (data, args) = january();
    for expire in [i64::MAX, i64::MIN, -1, 0] {
        let fake = FeishuFake::start(State {
            dept: data.clone(),
            expire,
            ..Default::default()
        })
        .await;
        let env = Env::new();
        let out = fake.hrlogs_unpaced(&env).args(&args).output().expect("run");
        let err = stderr_of(&out);
        assert!(out.status.success(), "expire {expire}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(
            common::ndjson(&out.stdout).len(),
            data.len(),
            "expire {expire}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_a_server_echoes_are_redacted_and_vendor_text_stays_one_line() {
    let (data, args) = january();
    // Data calls answer with the Authorization header they got.
    let fake = FeishuFake::start(State {
        dept: data.clone(),
        echo_secret: true,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake.hrlogs_unpaced(&env).args(&args).output().expect("run");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("authorization"),
        "the vendor's text is shown: {err}"
    );
    assert!(
        !err.contains("t-test-1") && !err.contains("Bearer t-"),
        "{err}"
    );
    assert!(err.contains("<redacted>"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    // The token call echoes a wrong app secret back.
    let out = fake
        .hrlogs_unpaced(&env)
        .env("HRLOGS_FEISHU_APP_SECRET", "wrong-secret-echoed-back")
        .args(&args)
        .output()
        .expect("run");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("10014"), "{err}");
    assert!(!err.contains("wrong-secret-echoed-back"), "{err}");

    // A vendor message with lines and escape sequences is shown escaped, on one line.
    let fake = FeishuFake::start(State {
        dept: data,
        refuse_with: Some((1002002, "bad\nthing \u{1b}[2J\u{202e}here\r".into())),
        ..Default::default()
    })
    .await;
    let out = fake.hrlogs_unpaced(&env).args(&args).output().expect("run");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert_eq!(err.trim_end_matches('\n').lines().count(), 1, "{err}");
    assert!(!err.contains('\u{1b}') && !err.contains('\u{202e}') && !err.contains('\r'));
    assert!(err.contains("bad\\nthing"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn waits_the_vendor_asks_for_do_not_use_up_retries() {
    for as_400 in [false, true] {
        let (data, args) = january();
        let fake = FeishuFake::start(State {
            dept: data.clone(),
            throttle_first: 12,
            reset_seconds: Some(0),
            rate_limit_as_400: as_400,
            ..Default::default()
        })
        .await;
        let env = Env::new();
        let out = fake
            .hrlogs_unpaced(&env)
            .args(["--max-retries", "1"])
            .args(&args)
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert_eq!(common::ndjson(&out.stdout).len(), data.len());
        assert!(fake.data_calls() > 12);
    }
    // Without the header, the same storm is a failure after the retries allowed.
    let (data, args) = january();
    let fake = FeishuFake::start(State {
        dept: data,
        throttle_first: 12,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs_unpaced(&env)
        .args(["--max-retries", "1"])
        .args(&args)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    assert_eq!(fake.data_calls(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn recruitee_x_ratelimit_reset_without_retry_after_is_honoured() {
    use hrlogs::sandbox::recruitee as fake_recruitee;
    let entries: Vec<fake_recruitee::Entry> = (0..300)
        .map(|i| {
            let at = 1_790_000_000 - i * 7;
            fake_recruitee::Entry::new(
                at,
                serde_json::json!({
                    "_id": format!("e{i}"),
                    "created_at": jiff::Timestamp::from_second(at).expect("time").to_string(),
                    "event_type": "x"
                }),
            )
        })
        .collect();
    let fake = fake_recruitee::spawn(fake_recruitee::Config {
        audit: entries,
        faults: hrlogs::sandbox::Faults {
            every_429: 2,
            retry_after: None,
            ratelimit_reset: Some(0),
            ..Default::default()
        },
        ..Default::default()
    })
    .expect("fake");
    let env = Env::new();
    let out = env
        .hrlogs()
        .env("HRLOGS_RECRUITEE_BASE_URL", fake.base_url())
        .env("HRLOGS_RECRUITEE_COMPANY_ID", hrlogs::sandbox::COMPANY_ID)
        .env("HRLOGS_RECRUITEE_API_TOKEN", hrlogs::sandbox::API_TOKEN)
        .env("HRLOGS_RECRUITEE_RATE_LIMIT", "1000")
        .args(["-v", "--max-retries", "0", "--page-size", "50"])
        .args(["recruitee", "audit", "-f", "ndjson"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(common::ndjson(&out.stdout).len(), 300);
    assert!(fake.state.seen().requests() >= 8, "429s were served");
    assert!(
        stderr_of(&out).contains("waiting 0.0s as the vendor asked"),
        "{}",
        stderr_of(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wait_beyond_the_cap_fails_saying_so_and_a_long_one_is_said() {
    let (data, args) = january();
    let fake = FeishuFake::start(State {
        dept: data.clone(),
        throttle_first: 1,
        reset_seconds: Some(600),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake.hrlogs_unpaced(&env).args(&args).output().expect("run");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("Feishu asked to wait 600 s"), "{err}");
    assert_eq!(fake.data_calls(), 1);

    // A wait of a few seconds is honoured and said.
    let fake = FeishuFake::start(State {
        dept: data.clone(),
        throttle_first: 1,
        reset_seconds: Some(3),
        ..Default::default()
    })
    .await;
    let out = fake.hrlogs_unpaced(&env).args(&args).output().expect("run");
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("Feishu asked to wait 3 s"), "{err}");
    assert_eq!(common::ndjson(&out.stdout).len(), data.len());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_and_sighup_behave_like_ctrl_c() {
    let data = dept_dataset(1, date("2024-01-01"), date("2024-12-31"), 200);
    let fake = FeishuFake::start(State {
        dept: data,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let dir = env.path("out");
    std::fs::create_dir(&dir).expect("mkdir");
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let mut cmd = env.command();
        cmd.envs(fake.vars())
            .env("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND", "2")
            .args(["feishu", "dept-logs", "--department", "7094136522860900000"])
            .args(words("--since 2024-01-01 --until 2024-12-31 --page-size 5"))
            .args(["-f", "ndjson", "-o"])
            .arg(dir.join("logs.ndjson"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let before = fake.data_calls();
        let child = cmd.spawn().expect("spawn");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while fake.data_calls() < before + 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the run never started"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let killed = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            common::files_in(&dir).is_empty(),
            "no file and no temporary file: {:?}",
            common::files_in(&dir)
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 12,
        failure_persistence: None,
        ..Default::default()
    })]

    /// Random combinations of Feishu faults, revocations and rate limits: exit 0 must mean
    /// every record exactly once; anything else must be a non-zero exit.
    #[test]
    fn feishu_under_random_faults_is_exact_or_fails(
        every_5xx in proptest::prop_oneof![proptest::strategy::Just(0u64), 2u64..9],
        every_cut in proptest::prop_oneof![proptest::strategy::Just(0u64), 3u64..13],
        every_429 in proptest::prop_oneof![proptest::strategy::Just(0u64), 2u64..9],
        revoke_every in proptest::prop_oneof![proptest::strategy::Just(0u64), 2u64..11],
        rate_limit_as_400 in proptest::bool::ANY,
        departments in 1usize..130,
        page_size in 1u32..60,
        talent in proptest::bool::ANY,
    ) {
        let dept = dept_dataset(departments, date("2023-11-01"), date("2024-12-31"), 3);
        let talent_data = talent_dataset(&["ou_a", "ou_b", "ou_c"], &[1, 2], 25, 1_700_000_000_000);
        let fake = hrlogs::sandbox::feishu::spawn(State {
            dept: dept.clone(),
            talent: talent_data.clone(),
            revoke_every,
            rate_limit_as_400,
            reset_seconds: Some(0),
            faults: feishu::Faults::new(every_5xx, every_cut, every_429),
            ..Default::default()
        })
        .expect("fake");
        let env = Env::new();
        let ids: Vec<String> = (0..departments).map(|d| format!("70941365228609{d:05}")).collect();
        let mut cmd = env.hrlogs();
        cmd.env("HRLOGS_FEISHU_BASE_URL", fake.base_url())
            .env("HRLOGS_FEISHU_APP_ID", hrlogs::sandbox::APP_ID)
            .env("HRLOGS_FEISHU_APP_SECRET", hrlogs::sandbox::APP_SECRET)
            .env("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND", "1000")
            .env("HRLOGS_FEISHU_TALENT_LOGS_PER_SECOND", "1000")
            .env("HRLOGS_FEISHU_TALENT_LOGS_PER_MINUTE", "100000")
            .args(["--max-retries", "4", "-f", "ndjson", "--page-size", &page_size.to_string()]);
        let want: Vec<String> = if talent {
            cmd.args(["feishu", "talent-logs", "--operator", "ou_a,ou_b,ou_c", "--operation", "1,2"]);
            talent_data.iter().map(|l| serde_json::to_string(&l.value).expect("json")).collect()
        } else {
            cmd.args(["feishu", "dept-logs", "--department", &ids.join(",")])
                .args(["--since", "2023-11-01", "--until", "2024-12-31"]);
            dept.iter().map(|l| serde_json::to_string(&l.value).expect("json")).collect()
        };
        let out = cmd.output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        proptest::prop_assert!(!err.contains("panicked"), "{}", err);
        if out.status.success() {
            let (n, got) = lines_set(&out.stdout);
            proptest::prop_assert_eq!(n, want.len(), "exit 0 with a record missing or doubled");
            proptest::prop_assert_eq!(got, want.into_iter().collect::<HashSet<_>>());
        } else {
            proptest::prop_assert!(out.status.code().is_some_and(|c| c != 0), "{}", err);
            proptest::prop_assert_eq!(err.lines().count(), 1, "{}", err);
        }
    }
}
