//! `hrlogs recruitee …` end to end: the real binary against a loopback Recruitee.

mod common;

use std::collections::HashSet;

use common::recruitee::{RecruiteeFake, State, audit_dataset, candidate_dataset};
use common::{Env, words};
use hrlogs::sandbox::recruitee::Config;
use serde_json::{Value, json};

const NEWEST: i64 = 1_790_000_000;

#[tokio::test(flavor = "multi_thread")]
async fn audit_flags_become_the_filters_sent() {
    let fake = RecruiteeFake::start(State {
        audit: audit_dataset(500, NEWEST),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args([
            "recruitee",
            "audit",
            "--since",
            "2026-01-01T00:00:00Z",
            "--until",
            "2026-01-31",
            "--actor",
            "Ishwar Gautam,Anna Kowalska",
            "--exclude-actor",
            "System",
            "--search",
            "Cand 1",
        ])
        .output()
        .expect("run");
    common::assert_ok(&out);
    let sent = fake.filters_sent();
    assert!(!sent.is_empty());
    let f = &sent[0];
    let created = f
        .as_array()
        .expect("array")
        .iter()
        .find(|x| x["field"] == "created_at")
        .expect("created_at");
    assert_eq!(
        created["gte"],
        json!(1_767_225_600),
        "2026-01-01T00:00:00Z in Unix seconds"
    );
    assert_eq!(
        created["lte"],
        json!(1_769_903_999),
        "the end of 2026-01-31 (TZ=UTC)"
    );
    let actor = f
        .as_array()
        .expect("array")
        .iter()
        .find(|x| x["field"] == "actor")
        .expect("actor");
    assert_eq!(actor["in"], json!(["Ishwar Gautam", "Anna Kowalska"]));
    assert_eq!(actor["not_in"], json!(["System"]));
    assert!(
        f.as_array()
            .expect("array")
            .iter()
            .any(|x| x["field"] == "all" && x["query"] == "Cand 1")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_of_25000_entries_beyond_the_10000_window_arrives_exactly_once_newest_first() {
    let data = audit_dataset(25_000, NEWEST);
    let fake = RecruiteeFake::start(State {
        audit: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args(["recruitee", "audit", "-f", "ndjson"])
        .output()
        .expect("run");
    common::assert_ok(&out);
    let got = common::ndjson(&out.stdout);
    assert_eq!(got.len(), 25_000, "every entry");
    let ids: Vec<&str> = got.iter().map(|e| e["_id"].as_str().expect("id")).collect();
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        25_000,
        "none doubled"
    );
    let want: Vec<&str> = data
        .iter()
        .map(|(_, e)| e["_id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids, want,
        "newest first, in the vendor's order, across windows"
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    let filters = fake.filters_sent();
    let windows: HashSet<String> = filters.iter().map(|f| f[0].to_string()).collect();
    assert!(windows.len() >= 3, "split into windows: {windows:?}");
    // Window bounds are whole seconds, and entries sharing a second sit on the boundaries.
    let dup_seconds = data.windows(2).filter(|w| w[0].0 == w[1].0).count();
    assert!(
        dup_seconds > 1000,
        "the data has many entries sharing a second"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_event_filter_is_applied_here() {
    let data = audit_dataset(300, NEWEST);
    let fake = RecruiteeFake::start(State {
        audit: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args([
            "recruitee",
            "audit",
            "--event",
            "admin DELETED candidate",
            "-f",
            "ndjson",
        ])
        .output()
        .expect("run");
    assert!(out.status.success());
    let got = common::ndjson(&out.stdout);
    let want = data
        .iter()
        .filter(|(_, e)| e["event_name"] == "Admin deleted candidate")
        .count();
    assert_eq!(got.len(), want);
    assert!(
        got.iter()
            .all(|e| e["event_name"] == "Admin deleted candidate")
    );
    assert!(fake.filters_sent().iter().all(|f| {
        f.as_array()
            .expect("array")
            .iter()
            .all(|x| x["field"] != "event_name")
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_csv_round_trips_nested_details() {
    let data = audit_dataset(40, NEWEST);
    let fake = RecruiteeFake::start(State {
        audit: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args(words(
            "recruitee audit -f csv --fields _id,details,candidate.emails",
        ))
        .output()
        .expect("run");
    assert!(out.status.success());
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("csv");
    assert_eq!(rows.len(), 40);
    for (row, (_, entry)) in rows.iter().zip(&data) {
        assert_eq!(&row[0], entry["_id"].as_str().expect("id"));
        let details: Value = serde_json::from_str(&row[1]).expect("details as JSON text");
        assert_eq!(details, entry["details"]);
        let emails: Value = serde_json::from_str(&row[2]).expect("emails as JSON text");
        assert_eq!(emails, entry["candidate"]["emails"]);
    }
    let out = fake
        .hrlogs(&env)
        .args(["recruitee", "audit", "-f", "csv"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("created_at,actor,event_name,candidate.name,candidate.id,offer.title\n"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn candidates_list_offer_status_and_ids_are_exact() {
    let data = candidate_dataset(250, NEWEST);
    let fake = RecruiteeFake::start(State {
        candidates: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let ids = printed_ids;
    let all = ids(&fake
        .hrlogs(&env)
        .args(words("--page-size 40 recruitee candidates -f ndjson"))
        .output()
        .expect("run"));
    assert_eq!(all, candidate_ids(&data, |_| true));

    let by_offer = ids(&fake
        .hrlogs(&env)
        .args(words("recruitee candidates --offer 1209651 -f ndjson"))
        .output()
        .expect("run"));
    assert_eq!(
        by_offer,
        candidate_ids(&data, |c| c["offer_id_for_test"] == 1209651)
    );

    let by_status = ids(&fake
        .hrlogs(&env)
        .args(words(
            "recruitee candidates --status disqualified,overdue -f ndjson",
        ))
        .output()
        .expect("run"));
    let want = candidate_ids(&data, |c| {
        c["status_for_test"] == "disqualified" || c["status_for_test"] == "overdue"
    });
    assert_eq!(by_status, want);
    let sent = fake.filters_sent();
    assert_eq!(
        sent.last().expect("search")[1],
        json!({"field": "status", "in": ["disqualified", "overdue"]})
    );

    let picked = ids(&fake
        .hrlogs(&env)
        .args(words(
            "recruitee candidates 47628540 47628534 47628600 -f ndjson",
        ))
        .output()
        .expect("run"));
    assert_eq!(
        picked,
        vec![47628540, 47628534, 47628600],
        "in the order given"
    );

    let out = fake
        .hrlogs(&env)
        .args(["recruitee", "candidates", "47628534", "1"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("404") && err.contains("candidate 1:"),
        "names the ID: {err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn offers_by_kind() {
    let offers = vec![
        json!({"id": 1, "kind": "job", "title": "A", "status": "published", "city": "London"}),
        json!({"id": 2, "kind": "talent_pool", "title": "B", "status": "draft", "city": null}),
    ];
    let fake = RecruiteeFake::start(State {
        offers,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args(["recruitee", "offers", "--kind", "talent_pool", "-f", "csv"])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "id,kind,title,status,city\n2,talent_pool,B,draft,\n"
    );
    let out = fake
        .hrlogs(&env)
        .args(["recruitee", "offers", "--kind", "internship"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    // The first run: one answer of every offer, the same again for page 2 (Recruitee does not
    // page /offers: `page` ignored), then one unpaged request proves it whole. The second run
    // sends nothing.
    assert_eq!(fake.calls(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn error_shapes_map_to_exit_codes() {
    let env = Env::new();
    let cases = [
        (
            401,
            json!({"error": "Token not found.", "error_code": "invalid_token"}),
            3,
            "Token not found.",
        ),
        (
            403,
            json!({"error": ["Forbidden"], "error_fields": {}}),
            3,
            "Forbidden",
        ),
        (
            404,
            json!({"error": ["Not found"], "error_fields": {}}),
            4,
            "Not found",
        ),
        (
            422,
            json!({"error": ["Invalid filters"], "error_fields": {"filters_json": ["is invalid"]}}),
            4,
            // The field details stay, on the same line.
            "Invalid filters; filters_json: is invalid",
        ),
    ];
    for (status, body, code, text) in cases {
        let fake = RecruiteeFake::start(State {
            refuse_with: Some((status, body)),
            ..Default::default()
        })
        .await;
        let out = fake
            .hrlogs(&env)
            .args(["recruitee", "audit"])
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{status}: {err}");
        assert!(
            err.contains(text) && err.contains(&status.to_string()),
            "{err}"
        );
        assert!(!err.contains(common::recruitee::TOKEN));
        assert_eq!(fake.calls(), 1, "not retried");
    }
    let fake = RecruiteeFake::start(State::default()).await;
    let out = fake
        .hrlogs(&env)
        .env("HRLOGS_RECRUITEE_API_TOKEN", "wrong")
        .args(["recruitee", "offers"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_token"));
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_with_retry_after_is_waited_out() {
    let fake = RecruiteeFake::start(State {
        audit: audit_dataset(120, NEWEST),
        throttle_first: 3,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args(["recruitee", "audit", "-f", "ndjson"])
        .output()
        .expect("run");
    common::assert_ok(&out);
    assert_eq!(common::ndjson(&out.stdout).len(), 120);
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_shows_the_filters_and_redacts_the_token() {
    let fake = RecruiteeFake::start(State::default()).await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args(words(
            "--dry-run recruitee audit --since 1767225600 --actor A",
        ))
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("GET ") && text.contains("/c/90598/audit_log?filters_json="),
        "{text}"
    );
    assert!(
        text.contains("gte%22%3A1767225600") && text.contains("<redacted>"),
        "{text}"
    );
    assert!(!text.contains(common::recruitee::TOKEN));
    assert_eq!(fake.calls(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn overlapping_pages_are_verified_against_total_and_come_out_exact() {
    // Every page after the first starts one entry early: the last entry is never served by
    // paging. The window disagrees with its total, so it is narrowed until each part is served
    // whole: exact, where an unverified walk wrote 999 of 1,000 and exited 0.
    let data = audit_dataset(1_000, NEWEST);
    let fake = RecruiteeFake::start(State {
        audit: data.clone(),
        overlap_pages: true,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args(["recruitee", "audit", "-f", "ndjson"])
        .output()
        .expect("run");
    common::assert_ok(&out);
    assert_eq!(
        ids_of(&out.stdout),
        ids_in(&data),
        "every entry once, newest first"
    );
}

/// The `_id`s of an ndjson output, in order.
fn ids_of(stdout: &[u8]) -> Vec<String> {
    common::ndjson(stdout)
        .iter()
        .map(|e| e["_id"].as_str().expect("id").to_string())
        .collect()
}

/// The `_id`s of a dataset, in order.
fn ids_in(data: &[(i64, Value)]) -> Vec<String> {
    data.iter()
        .map(|(_, e)| e["_id"].as_str().expect("id").to_string())
        .collect()
}

/// Runs `hrlogs recruitee audit -f ndjson` (plus `args`) against a fake with `data` and
/// `config`'s switches.
async fn audit_against(
    data: &[(i64, Value)],
    config: Config,
    args: &[&str],
) -> (std::process::Output, RecruiteeFake) {
    let fake = RecruiteeFake::start(State {
        audit: data.to_vec(),
        config: Some(config),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args(args)
        .args(["recruitee", "audit", "-f", "ndjson"])
        .output()
        .expect("run");
    (out, fake)
}

/// The run succeeded and wrote exactly `data`: each entry once, newest first. With
/// `ties_in_any_order`, entries that share a second may come in any order among themselves
/// (the vendor itself orders them differently on each request).
fn assert_exact(
    out: &std::process::Output,
    data: &[(i64, Value)],
    what: &str,
    ties_in_any_order: bool,
) {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = common::ndjson(&out.stdout);
    let ids: Vec<String> = got
        .iter()
        .map(|e| e["_id"].as_str().expect("id").to_string())
        .collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{what}: an entry written twice");
    let want = ids_in(data);
    let missing = want.iter().filter(|id| !unique.contains(id)).count();
    assert_eq!(
        (ids.len(), missing),
        (want.len(), 0),
        "{what}: written / missing"
    );
    if ties_in_any_order {
        let times: Vec<&str> = got
            .iter()
            .map(|e| e["created_at"].as_str().expect("created_at"))
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] >= w[1]),
            "{what}: not newest first"
        );
    } else {
        let first_difference = ids.iter().zip(&want).position(|(a, b)| a != b);
        assert_eq!(first_difference, None, "{what}: not in the vendor's order");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_well_behaved_recruitee_costs_one_request_a_page() {
    let data = audit_dataset(2_500, NEWEST);
    let (out, fake) = audit_against(&data, Config::default(), &[]).await;
    assert_exact(&out, &data, "well behaved", false);
    assert_eq!(fake.calls(), 25, "2,500 entries at 100 a page");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_cap_below_limit_is_learned_from_what_a_page_holds() {
    // Recruitee serves 50 where 100 were asked: 2,500 entries came out as 1,000, exit 0.
    let data = audit_dataset(2_500, NEWEST);
    let config = Config {
        page_cap: Some(50),
        ..Config::default()
    };
    let (out, fake) = audit_against(&data, config, &[]).await;
    assert_exact(&out, &data, "page cap 50", false);
    assert_eq!(
        fake.calls(),
        50,
        "one request a page once the size is learned"
    );
    let limits: HashSet<String> = fake
        .state
        .seen()
        .queries()
        .iter()
        .skip(1)
        .filter_map(|(_, q)| q.iter().find(|(k, _)| k == "limit").map(|(_, v)| v.clone()))
        .collect();
    assert_eq!(
        limits,
        HashSet::from(["50".to_string()]),
        "asks what it is served"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ignored_limit_serving_60_a_page_is_exact() {
    // 2,500 entries came out as 780 (limit ignored: 60 a page), exit 0.
    let data = audit_dataset(2_500, NEWEST);
    let config = Config {
        ignore_limit: true,
        ..Config::default()
    };
    let (out, fake) = audit_against(&data, config, &["--page-size", "250"]).await;
    assert_exact(&out, &data, "limit ignored", false);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_total_capped_at_10000_is_split_until_every_window_is_exact() {
    // 12,000 entries with `total` capped at 10,000: 10,000 were written, exit 0.
    let data = audit_dataset(12_000, NEWEST);
    let config = Config {
        cap_total: true,
        ..Config::default()
    };
    let (out, fake) = audit_against(&data, config, &[]).await;
    assert_exact(&out, &data, "total capped", false);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn ties_shuffled_on_every_request_are_narrowed_to_exact_windows() {
    // Entries sharing a second come in another order on each request: 12% were lost, exit 0.
    let data = audit_dataset(2_500, NEWEST);
    let ties = data.windows(2).filter(|w| w[0].0 == w[1].0).count();
    assert!(ties > 1_000, "the data has many ties");
    let config = Config {
        shuffle_ties: true,
        ..Config::default()
    };
    let (out, fake) = audit_against(&data, config, &["--page-size", "50"]).await;
    assert_exact(&out, &data, "ties shuffled", true);
    let calls = fake.calls();
    eprintln!("ties shuffled: {calls} requests for 50 pages");
    assert!(calls <= 160, "few requests: {calls}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ignored_page_is_narrowed_to_windows_of_one_page() {
    // Page 1 whatever `page` says: 100 of 1,500 were written, exit 0.
    let data = audit_dataset(1_500, NEWEST);
    let config = Config {
        ignore_page: true,
        ..Config::default()
    };
    let (out, fake) = audit_against(&data, config, &[]).await;
    assert_exact(&out, &data, "page ignored", false);
    let calls = fake.calls();
    eprintln!("page ignored: {calls} requests");
    // Once page 2 repeats page 1, each window is narrowed below what its page 1 held: about
    // two requests for each 100 entries.
    assert!(calls <= 45, "few requests: {calls}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_that_cannot_be_fetched_whole_fails_naming_it() {
    // 300 entries in one second, 50 a page, every page after the first starting one early:
    // no request shows one of them, so the run must fail rather than guess.
    let second = NEWEST - 100;
    let data = in_one_second(300, second);
    let config = Config {
        overlap_pages: true,
        page_cap: Some(50),
        ..Config::default()
    };
    let (out, _fake) = audit_against(&data, config, &[]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    let when = jiff::Timestamp::from_second(second)
        .expect("ts")
        .to_string();
    assert!(
        err.contains(&format!("{when}..{when}")) && err.contains("said 300 results"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn candidates_list_ignoring_offset_falls_back_to_one_unpaged_request() {
    // GET /candidates that ignores `offset`: endless requests (1,200 in 5 s).
    let data = candidate_dataset(250, NEWEST);
    let fake = RecruiteeFake::start(State {
        candidates: data.clone(),
        config: Some(Config {
            ignore_offset: true,
            ..Config::default()
        }),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args(words("--page-size 40 recruitee candidates -f ndjson"))
        .output()
        .expect("run");
    assert_eq!(printed_ids(&out), candidate_ids(&data, |_| true));
    assert_eq!(
        fake.calls(),
        3,
        "page 1, page 2 (the same), then one unpaged request"
    );
    let last = &fake.state.seen().queries()[2].1;
    assert!(
        !last.iter().any(|(k, _)| k == "limit" || k == "offset"),
        "{last:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn offers_are_followed_page_by_page_when_recruitee_pages_them() {
    // GET /offers served in pages: only the first page was written, exit 0.
    let offers: Vec<Value> = (0..250)
        .map(|i| json!({"id": 1_000 + i, "kind": "job", "title": format!("Job {i}"), "status": "published", "city": null}))
        .collect();
    for paged in [true, false] {
        let fake = RecruiteeFake::start(State {
            offers: offers.clone(),
            config: Some(Config {
                paged_offers: paged,
                ..Config::default()
            }),
            ..Default::default()
        })
        .await;
        let env = Env::new();
        let out = fake
            .hrlogs(&env)
            .args(["recruitee", "offers", "-f", "ndjson"])
            .output()
            .expect("run");
        common::assert_ok(&out);
        let got: Vec<Value> = common::ndjson(&out.stdout);
        assert_eq!(got, offers, "paged: {paged}");
        // Paged: 100, 100, 50, then an empty page (a short page proves nothing). Not paged:
        // all 250, then the same again (nothing new: the vendor ignores `page`), then one
        // request without page/limit settles it.
        assert_eq!(fake.calls(), if paged { 4 } else { 3 }, "paged: {paged}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_end_on_proof_not_on_a_short_page() {
    // A server that caps its page size below `limit`: a short page is no proof of the end.
    // Was: 7 of 700 candidates, 9 of 123 with --offer, 3 of 7 offers, each with exit 0.
    let start = |candidates: Vec<(i64, Value)>, offers: Vec<Value>, cap: u64| {
        RecruiteeFake::start(State {
            candidates,
            offers,
            config: Some(Config {
                page_cap: Some(cap),
                paged_offers: true,
                ..Config::default()
            }),
            ..Default::default()
        })
    };
    let env = Env::new();
    let data = candidate_dataset(700, NEWEST);
    let fake = start(data.clone(), vec![], 7).await;
    let all = printed_ids(
        &fake
            .hrlogs(&env)
            .args(words("recruitee candidates -f ndjson"))
            .output()
            .expect("run"),
    );
    let want = candidate_ids(&data, |_| true);
    assert!(
        all == want,
        "700 candidates, 7 a page: {} written",
        all.len()
    );
    assert_eq!(fake.calls(), 101, "100 pages of 7, then one empty page");

    let data = candidate_dataset(369, NEWEST);
    let fake = start(data.clone(), vec![], 9).await;
    let by_offer = printed_ids(
        &fake
            .hrlogs(&env)
            .args(words("recruitee candidates --offer 1209650 -f ndjson"))
            .output()
            .expect("run"),
    );
    let want = candidate_ids(&data, |c| c["offer_id_for_test"] == 1209650);
    assert!(
        by_offer.len() == 123 && by_offer == want,
        "--offer, 9 a page: {} written",
        by_offer.len()
    );
    assert_eq!(
        fake.calls(),
        15,
        "14 pages (the last one short), then one empty page"
    );

    let offers: Vec<Value> = (0..7)
        .map(|i| json!({"id": 2_000 + i, "kind": "job", "title": format!("Job {i}"), "status": "published", "city": null}))
        .collect();
    let fake = start(vec![], offers.clone(), 3).await;
    let out = fake
        .hrlogs(&env)
        .args(["recruitee", "offers", "-f", "ndjson"])
        .output()
        .expect("run");
    common::assert_ok(&out);
    assert_eq!(common::ndjson(&out.stdout), offers, "7 offers, 3 a page");
    assert_eq!(fake.calls(), 4, "3, 3, 1, then one empty page");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_base_url_with_a_path_prefix_keeps_it() {
    let data = audit_dataset(30, NEWEST);
    let fake = RecruiteeFake::start(State {
        audit: data.clone(),
        config: Some(Config {
            prefix: Some("/recruitee".into()),
            ..Config::default()
        }),
        ..Default::default()
    })
    .await;
    assert!(fake.uri().ends_with("/recruitee"));
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args(["recruitee", "audit", "-f", "ndjson"])
        .output()
        .expect("run");
    assert_exact(&out, &data, "path prefix", false);
    let out = fake
        .hrlogs(&env)
        .args(["--dry-run", "recruitee", "audit"])
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("/recruitee/c/90598/audit_log?"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn entries_created_while_the_run_goes_do_not_break_it() {
    // The range's end is fixed when the run starts: entries that arrive meanwhile (newest
    // first, so they shift every page) must neither double nor hide another entry.
    let now = jiff::Timestamp::now().as_second();
    let data = audit_dataset(2_000, now - 5);
    // One new entry arrives with each request after the first (the fake's switch): they
    // arrive mid-walk every time, inside the range, newest, shifting every later page.
    let arriving: Vec<hrlogs::sandbox::recruitee::Entry> = (0..400)
        .map(|i| {
            let at = now - 1;
            hrlogs::sandbox::recruitee::Entry::new(
                at,
                json!({"_id": format!("new{i}"), "created_at": jiff::Timestamp::from_second(at).expect("ts").strftime("%Y-%m-%dT%H:%M:%SZ").to_string(), "event_name": "Admin created candidate"}),
            )
        })
        .collect();
    let pushed: HashSet<String> = (0..400).map(|i| format!("new{i}")).collect();
    let fake = RecruiteeFake::start(State {
        audit: data.clone(),
        config: Some(Config {
            arrive_during: arriving,
            ..Config::default()
        }),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args(["recruitee", "audit", "-f", "ndjson"])
        .output()
        .expect("run");
    assert!(fake.calls() >= 3, "entries arrived during the run");
    common::assert_ok(&out);
    let got = ids_of(&out.stdout);
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "an entry written twice");
    let old = ids_in(&data);
    assert!(
        old.iter().all(|id| unique.contains(id)),
        "an entry went missing"
    );
    assert!(
        got.iter().all(|id| pushed.contains(id) || old.contains(id)),
        "only real entries"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn limit_stops_after_a_few_requests_with_the_newest_entries() {
    // --limit 20 must not walk (and verify) a whole window of thousands first.
    let data = audit_dataset(2_500, NEWEST);
    let (out, fake) = audit_against(&data, Config::default(), &["--limit", "20"]).await;
    common::assert_ok(&out);
    let newest: Vec<(i64, Value)> = data.iter().take(20).cloned().collect();
    assert_exact(&out, &newest, "--limit 20", true);
    let calls = fake.calls();
    assert!(calls <= 5, "{calls} requests for 20 entries");
}

#[tokio::test(flavor = "multi_thread")]
async fn limit_with_an_event_filter_stops_fetching_once_enough_passed() {
    // --limit 3 --event X used to walk the whole first window (25 pages) before writing.
    let data = audit_dataset(2_500, NEWEST);
    let fake = RecruiteeFake::start(State {
        audit: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let event = "Admin viewed candidate";
    let out = fake
        .hrlogs(&env)
        .args(["--limit", "3", "recruitee", "audit", "--event", event])
        .args(["-f", "ndjson"])
        .output()
        .expect("run");
    common::assert_ok(&out);
    let got = ids_of(&out.stdout);
    let want: Vec<String> = data
        .iter()
        .filter(|(_, e)| e["event_name"] == event)
        .take(3)
        .map(|(_, e)| e["_id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(got, want, "the newest 3 that match, exactly");
    let calls = fake.calls();
    assert!(
        calls <= 5,
        "{calls} requests for 3 entries that the first page holds"
    );

    // Nothing matches: every page is read, at one request a page as without --limit.
    let before = fake.calls();
    let out = fake
        .hrlogs(&env)
        .args([
            "--limit",
            "3",
            "recruitee",
            "audit",
            "--event",
            "Admin sent email",
        ])
        .args(["-f", "ndjson"])
        .output()
        .expect("run");
    common::assert_ok(&out);
    assert!(out.stdout.is_empty());
    assert_eq!(fake.calls() - before, 25, "2,500 entries at 100 a page");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_that_matches_nothing_names_the_events_seen_closest_first() {
    let now = jiff::Timestamp::now().as_second();
    let data = audit_dataset(300, now - 3_600);
    let fake = RecruiteeFake::start(State {
        audit: data.clone(),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let archive = env.path("archive.sqlite3");
    let typo = "Admin deleted candidat";
    let warning = "hrlogs: warning: no event matched --event \"admin deleted candidat\"; events seen: \"Admin deleted candidate\", ";
    let run = |args: &[&str]| {
        let out = fake
            .hrlogs(&env)
            .arg("--archive")
            .arg(&archive)
            .args(args)
            .args(["-f", "ndjson"])
            .output()
            .expect("run");
        common::assert_ok(&out);
        out
    };
    let stderr = |out: &std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();
    // The archive holds what a sync fetched (a sync with --event keeps only what passes).
    let out = run(&["sync", "recruitee", "audit"]);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    for args in [
        &["recruitee", "audit", "--event", typo][..],
        &["sync", "recruitee", "audit", "--event", typo],
        &["recruitee", "audit", "--from-archive", "--event", typo],
    ] {
        let out = run(args);
        let err = stderr(&out);
        assert!(out.stdout.is_empty(), "{args:?}");
        let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
        assert_eq!(warnings.len(), 1, "{args:?}: one warning: {err}");
        assert!(warnings[0].starts_with(warning), "{args:?}: {err}");
        assert!(warnings[0].len() < 300, "short: {err}");
    }
    // --from-archive filters as live, --limit included.
    let out = run(&[
        "--limit",
        "2",
        "recruitee",
        "audit",
        "--from-archive",
        "--event",
        "admin DELETED candidate",
    ]);
    let got = common::ndjson(&out.stdout);
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .all(|e| e["event_name"] == "Admin deleted candidate")
    );
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    // Nothing fetched: nothing to say.
    let out = run(&[
        "recruitee",
        "audit",
        "--since",
        "2020-01-01",
        "--until",
        "2020-01-02",
        "--event",
        typo,
    ]);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn created_at_without_an_offset_is_utc_and_an_unreadable_one_names_its_entry() {
    let now = jiff::Timestamp::now().as_second();
    let data = audit_dataset(300, now - 3_600);
    let start = |config: Config| {
        RecruiteeFake::start(State {
            audit: data.clone(),
            config: Some(config),
            ..Default::default()
        })
    };
    let env = Env::new();
    // No offset: read as UTC, said once (not once per entry); export and sync alike.
    let fake = start(Config {
        created_at_without_offset: true,
        ..Config::default()
    })
    .await;
    let archive = env.path("archive.sqlite3");
    for args in [
        &["recruitee", "audit"][..],
        &["sync", "recruitee", "audit"],
        &["recruitee", "audit", "--from-archive", "--since", "2d"],
    ] {
        let out = fake
            .hrlogs(&env)
            .arg("--archive")
            .arg(&archive)
            .args(args)
            .args(["-f", "ndjson"])
            .output()
            .expect("run");
        let mut got = ids_of(&out.stdout);
        if args[0] == "sync" {
            got.reverse(); // a sync prints oldest first
        }
        assert!(
            got == ids_in(&data),
            "{args:?}: every entry once, in order: {got:?}"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
        if args.contains(&"--from-archive") {
            assert!(warnings.is_empty(), "{err}");
        } else {
            assert_eq!(warnings.len(), 1, "{args:?}: one warning: {err}");
            assert!(warnings[0].contains("UTC"), "{err}");
        }
    }
    let first = &common::ndjson(
        &fake
            .hrlogs(&env)
            .args(["recruitee", "audit", "-f", "ndjson", "--limit", "1"])
            .output()
            .expect("run")
            .stdout,
    )[0];
    assert!(
        first["created_at"]
            .as_str()
            .is_some_and(|t| t.len() == 19 && t.contains(' ')),
        "served as is: {first}"
    );
    let ocsf = fake
        .hrlogs(&env)
        .args(["recruitee", "audit", "-f", "ocsf", "--limit", "1"])
        .output()
        .expect("run");
    common::assert_ok(&ocsf);
    let event = &common::ndjson(&ocsf.stdout)[0];
    assert_eq!(
        event["time"],
        json!(data[0].0 * 1000),
        "OCSF reads it as UTC too"
    );

    // Unreadable: the run fails (exit 5) naming the entry and the value, not the time filter.
    let fake = start(Config {
        garbled_created_at: Some("31/12/2026 8am".into()),
        ..Config::default()
    })
    .await;
    for args in [&["recruitee", "audit"][..], &["sync", "recruitee", "audit"]] {
        let out = fake
            .hrlogs(&env)
            .arg("--archive")
            .arg(env.path("other.sqlite3"))
            .args(args)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "{args:?}: {err}");
        assert!(
            err.contains("e000000") && err.contains("31/12/2026 8am"),
            "{args:?}: names the entry and the value: {err}"
        );
        assert!(!err.contains("filter"), "{args:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn candidate_search_is_verified_by_the_same_machinery() {
    let data = candidate_dataset(250, NEWEST);
    let fake = RecruiteeFake::start(State {
        candidates: data.clone(),
        config: Some(Config {
            page_cap: Some(30),
            shuffle_ties: true,
            cap_total: true,
            ..Config::default()
        }),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args(words("recruitee candidates --since 2020-01-01 -f ndjson"))
        .output()
        .expect("run");
    assert_eq!(
        printed_ids(&out),
        candidate_ids(&data, |_| true),
        "every candidate once, newest first"
    );
    let sent = fake.filters_sent();
    assert!(sent.iter().all(|f| f[0]["field"] == "created_at"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_holding_several_pages_of_shuffled_ties_is_gathered_whole() {
    // 300 entries in one second, 50 a page, in another order on every request: no single
    // pass of its six pages shows them all, but asking again gathers the rest. (One request
    // at a time, so the fake's shuffles, seeded by request number, are the same every run.)
    let data = in_one_second(300, NEWEST - 100);
    let fake = RecruiteeFake::start(State {
        audit: data.clone(),
        config: Some(Config {
            shuffle_ties: true,
            page_cap: Some(50),
            ..Config::default()
        }),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .env("HRLOGS_RECRUITEE_MAX_IN_FLIGHT", "1")
        .args(["recruitee", "audit", "-f", "ndjson"])
        .output()
        .expect("run");
    assert_exact(&out, &data, "one second, shuffled", true);
    eprintln!("one second of 300 shuffled: {} requests", fake.calls());
}

/// The candidate ids a successful run printed (ndjson), in order.
fn printed_ids(out: &std::process::Output) -> Vec<u64> {
    common::assert_ok(out);
    common::ndjson(&out.stdout)
        .iter()
        .map(|c| c["id"].as_u64().expect("id"))
        .collect()
}

/// The ids of the candidates in `data` that `keep` keeps, in order.
fn candidate_ids(data: &[(i64, Value)], keep: impl Fn(&Value) -> bool) -> Vec<u64> {
    data.iter()
        .filter(|(_, c)| keep(c))
        .map(|(_, c)| c["id"].as_u64().expect("id"))
        .collect()
}

/// `n` audit entries all created in the one `second`.
fn in_one_second(n: usize, second: i64) -> Vec<(i64, Value)> {
    let at = jiff::Timestamp::from_second(second)
        .expect("ts")
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    audit_dataset(n, NEWEST)
        .into_iter()
        .map(|(_, mut e)| {
            e["created_at"] = json!(at);
            (second, e)
        })
        .collect()
}
