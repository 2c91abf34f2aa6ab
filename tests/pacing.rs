//! Pacing: requests the server saw, per second, stay within the vendor's documented limits,
//! shared by every concurrent chain. Arrivals are timed at the loopback server, so a little
//! scheduling jitter is allowed for: a pacer that bursts would break these bounds by far
//! (6 department-log requests in about 0.2 s).

mod common;

use std::time::Duration;

use common::Env;
use common::feishu::{FeishuFake, State, date, dept_dataset, talent_dataset};

/// Six requests spaced at the 5/s limit span at least 1 s; allow 150 ms of measurement jitter.
const SPAN: Duration = Duration::from_millis(850);

#[tokio::test(flavor = "multi_thread")]
async fn pacing_keeps_under_the_vendor_limit_in_every_second() {
    let data = dept_dataset(1, date("2024-01-01"), date("2024-12-31"), 80);
    let fake = FeishuFake::start(State {
        dept: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let ids: Vec<String> = (0..250).map(|d| format!("70941365228609{d:05}")).collect();
    // Default pacing for department logs: 5 requests per second, shared by all chains.
    let out = fake
        .hrlogs(&env)
        .args([
            "feishu",
            "dept-logs",
            "--department",
            &ids.join(","),
            "--since",
            "2023-06-01",
            "--until",
            "2024-12-31",
            "--page-size",
            "4",
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
    assert!(arrivals.len() >= 10, "{} requests", arrivals.len());
    for w in arrivals.windows(6) {
        assert!(w[5] - w[0] >= SPAN, "6 requests within {:?}", w[5] - w[0]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn talent_pacing_keeps_under_50_per_second() {
    let data = talent_dataset(
        &["ou_a", "ou_b", "ou_c", "ou_d"],
        &[1, 2, 3],
        40,
        1_700_000_000_000,
    );
    let fake = FeishuFake::start(State {
        talent: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args([
            "feishu",
            "talent-logs",
            "--operator",
            "ou_a,ou_b,ou_c,ou_d",
            "--operation",
            "1,2,3",
            "--page-size",
            "2",
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
    assert!(arrivals.len() > 100);
    for w in arrivals.windows(51) {
        assert!(
            w[50] - w[0] >= SPAN,
            "51 requests within {:?}",
            w[50] - w[0]
        );
    }
}
