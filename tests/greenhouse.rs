//! `greenhouse audit` and `sync greenhouse audit`: the real binary against the Greenhouse fake
//! (`hrlogs::sandbox::greenhouse`) on loopback, one run per switch of what Greenhouse does not
//! promise, each exit 0 only with the exact set of results; the JWT and its refresh; secrets;
//! sync across runs and `--from-archive`; OCSF against the vendored schema; every format.
//! The fake's limits and hrlogs' pacing are scaled so that nothing here waits seconds.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Env, assert_ok};
use hrlogs::sandbox::greenhouse::{self as fake, Config, Hits, Limit};
use serde_json::{Value, json};

const KEY: &str = "greenhouse-harvest-key-do-not-print";

/// The span of a test's data: two days ending an hour ago.
fn span() -> (i64, i64) {
    static SPAN: std::sync::OnceLock<(i64, i64)> = std::sync::OnceLock::new();
    *SPAN.get_or_init(|| {
        let end = jiff::Timestamp::now().as_millisecond() - 3_600_000;
        (end - 2 * 86_400_000, end)
    })
}

fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .expect("ms")
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// `n` results over the test's span: actions of one to four results that share their ms
/// (and their request), some identical to the one before (a double), some on the span's very
/// first and last ms.
fn dataset(n: usize, seed: u64) -> Vec<Value> {
    let (lo, hi) = span();
    let mut rng = seed;
    let mut next = |m: u64| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) % m.max(1)
    };
    let mut out: Vec<Value> = Vec::with_capacity(n);
    let mut i = 0usize;
    while out.len() < n {
        let ms = match i {
            0 => lo,
            1 => hi,
            _ => lo + next((hi - lo) as u64) as i64,
        };
        let group = 1 + next(4) as usize;
        for g in 0..group {
            let kind = [
                "action",
                "data_change_update",
                "data_change_create",
                "harvest_access",
                "data_change_destroy",
            ][(i + g) % 5];
            let v = json!({
                "organization_id": 123,
                "event_time": iso(ms),
                "request": {"id": format!("r{i}"), "type": "candidates#update"},
                "performer": {"id": 4000 + (i % 7), "type": if i % 3 == 0 { "api_key" } else { "user" },
                    "ip_address": "192.168.0.1", "meta": {"name": format!("User {}", i % 7), "username": format!("u{}@x.test", i % 7)}},
                "event": {"type": kind, "target_type": "Candidate", "target_id": 10_000 + i, "meta": {"value": [null, format!("v{g}")]}},
            });
            if next(10) == 0 {
                out.push(v.clone());
            }
            out.push(v);
        }
        i += 1;
    }
    out
}

/// A fake with `results` and the switches of `config`, limits scaled down a hundredfold in
/// time (100 requests per s, 10 paginated per s).
fn start(results: Vec<Value>, config: Config) -> fake::Fake {
    fake::spawn(Config {
        results,
        key: KEY.to_string(),
        limit: Some(Limit {
            n: 100,
            period: Duration::from_secs(1),
        }),
        paged_limit: Some(Limit {
            n: 10,
            period: Duration::from_secs(1),
        }),
        ..config
    })
    .expect("start the Greenhouse fake")
}

/// `hrlogs` pointed at the fake, paced just under its scaled limits.
fn hrlogs(env: &Env, f: &fake::Fake) -> assert_cmd::Command {
    let mut cmd = env.hrlogs();
    cmd.env("HRLOGS_GREENHOUSE_BASE_URL", f.base_url())
        .env("HRLOGS_GREENHOUSE_AUTH_URL", f.base_url())
        .env("HRLOGS_GREENHOUSE_API_KEY", KEY)
        .env("HRLOGS_GREENHOUSE_ORGANIZATION_ID", "123")
        .env("HRLOGS_GREENHOUSE_RATE_LIMIT", "950")
        .env("HRLOGS_GREENHOUSE_PAGE_RATE_LIMIT", "280");
    cmd
}

/// The whole span of [`span`] as flags.
fn span_flags() -> Vec<String> {
    let (lo, hi) = span();
    vec![
        "--since".into(),
        lo.to_string(),
        "--until".into(),
        hi.to_string(),
    ]
}

/// Each line of stdout, counted (results are compared as the multiset of their texts).
fn counted(lines: impl IntoIterator<Item = String>) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for l in lines {
        *m.entry(l).or_insert(0) += 1;
    }
    m
}

/// Asserts two multisets equal, showing only a few differences.
#[track_caller]
fn assert_same(got: &HashMap<String, usize>, want: &HashMap<String, usize>, what: &str) {
    let diff: Vec<String> = want
        .keys()
        .chain(got.keys())
        .filter(|k| got.get(*k) != want.get(*k))
        .take(3)
        .map(|k| format!("{k}: got {:?}, want {:?}", got.get(k), want.get(k)))
        .collect();
    assert!(
        diff.is_empty(),
        "{what}: {} results, {} wanted; e.g. {diff:#?}",
        got.values().sum::<usize>(),
        want.values().sum::<usize>()
    );
}

fn out_lines(out: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Runs `greenhouse audit` over the whole span against `config` and asserts exit 0 with
/// exactly the dataset: every result, doubles as often as they are, nothing more.
fn assert_exact(config: Config, what: &str) -> (fake::Fake, String) {
    let env = Env::new();
    let data = dataset(1_500, 7);
    let f = start(data.clone(), config);
    let out = hrlogs(&env, &f)
        .args(["greenhouse", "audit", "-f", "ndjson", "-v"])
        .args(span_flags())
        .output()
        .expect("run");
    assert_ok(&out);
    let got = counted(out_lines(&out));
    let want = counted(data.iter().map(Value::to_string));
    assert_same(&got, &want, what);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains(KEY), "{what}: the key was printed");
    (f, stderr)
}

#[test]
fn a_well_behaved_greenhouse_gives_the_exact_set_fetched_without_pages() {
    let (f, _) = assert_exact(Config::default(), "default");
    let pages = f.state.paged_requests();
    assert_eq!(pages, 0, "hits proven total: no paginated request");
    assert_eq!(f.state.limited(), 0, "paced under both limits");
}

/// Each switch of what Greenhouse does not promise: exit 0 only with the exact set, and what
/// `-v` says of it (a line, and how often).
#[test]
fn each_switch_of_the_fake_gives_the_exact_set() {
    let cases: Vec<(&str, Config, &str, usize)> = vec![
        (
            "both bounds inclusive",
            Config {
                after_inclusive: true,
                before_inclusive: true,
                ..Config::default()
            },
            "",
            0,
        ),
        (
            "after_time inclusive",
            Config {
                after_inclusive: true,
                ..Config::default()
            },
            "",
            0,
        ),
        (
            "ties reordered on every request, answers of 37",
            Config {
                shuffle_ties: true,
                unpaged_size: 37,
                ..Config::default()
            },
            "",
            0,
        ),
        (
            "answers of the oldest matches",
            Config {
                oldest_first: true,
                after_inclusive: true,
                ..Config::default()
            },
            "sweeping by windows",
            1,
        ),
        (
            "hits of the answer only: pages",
            Config {
                hits: Hits::ThisAnswer,
                ..Config::default()
            },
            "walked by pages",
            1,
        ),
        (
            "points in time that expire mid-walk",
            Config {
                hits: Hits::ThisAnswer,
                expire_pits: 2,
                ..Config::default()
            },
            "expired mid-walk",
            2,
        ),
    ];
    for (what, config, said, times) in cases {
        let (f, stderr) = assert_exact(config, what);
        assert_eq!(f.state.limited(), 0, "{what}: paced under both limits");
        if times > 0 {
            assert!(stderr.matches(said).count() >= times, "{what}: {stderr}");
        }
    }
}

#[test]
fn a_429_without_headers_is_waited_out() {
    // The fake's limit far below hrlogs' pacing: 429s, no headers, and still the exact set.
    let env = Env::new();
    let data = dataset(600, 11);
    let f = fake::spawn(Config {
        results: data.clone(),
        key: KEY.to_string(),
        limit: Some(Limit {
            n: 2,
            period: Duration::from_millis(100),
        }),
        ..Config::default()
    })
    .expect("fake");
    let out = hrlogs(&env, &f)
        .env("HRLOGS_GREENHOUSE_RATE_LIMIT", "100000")
        .args(["greenhouse", "audit", "-f", "ndjson"])
        .args(span_flags())
        .output()
        .expect("run");
    assert_ok(&out);
    assert_same(
        &counted(out_lines(&out)),
        &counted(data.iter().map(Value::to_string)),
        "429s",
    );
    assert!(f.state.limited() > 0, "the fake did limit");
}

#[test]
fn results_indexed_mid_walk_are_never_doubled_and_the_next_sync_gets_them() {
    let env = Env::new();
    let archive = env.path("a.sqlite3");
    let data = dataset(800, 5);
    let (lo, _) = span();
    // Late arrivals: indexed while the first sync runs, with times of the minutes before
    // it (within the next sync's overlap), one identical to a result already there.
    let now = jiff::Timestamp::now().as_millisecond();
    let mut late: Vec<Value> = (0..5)
        .map(|i| {
            let mut v = data[i].clone();
            v["event_time"] = json!(iso(now - 300_000 + i as i64 * 1_000));
            v["request"]["id"] = json!(format!("late{i}"));
            v
        })
        .collect();
    late.push(late[0].clone());
    let mut data = data;
    data.push(late[0].clone());
    let f = start(
        data.clone(),
        Config {
            arrive_during: late.clone(),
            ..Config::default()
        },
    );
    let sync = |extra: &[&str]| {
        hrlogs(&env, &f)
            .arg("--archive")
            .arg(&archive)
            .args(["sync", "greenhouse", "audit", "-f", "ndjson", "--since"])
            .arg(lo.to_string())
            .args(extra)
            .output()
            .expect("run")
    };
    let first = sync(&[]);
    assert_ok(&first);
    let got = counted(out_lines(&first));
    let all = counted(data.iter().chain(late.iter()).map(Value::to_string));
    for (text, n) in &got {
        assert!(
            all.get(text).is_some_and(|m| n <= m),
            "doubled or unknown: {text}"
        );
    }
    for (text, n) in counted(data.iter().map(Value::to_string)) {
        assert!(got.get(&text).is_some_and(|m| *m >= n), "lost: {text}");
    }
    // The second sync starts before the first one's end: everything the first missed, once.
    let second = sync(&[]);
    assert_ok(&second);
    let mut both = got.clone();
    for l in out_lines(&second) {
        *both.entry(l).or_insert(0) += 1;
    }
    assert_same(&both, &all, "two syncs: every result once");
    // A third has nothing new; --from-archive gives the set back.
    let third = sync(&[]);
    assert_ok(&third);
    assert!(out_lines(&third).is_empty(), "nothing new");
    let read_back = |filters: &[&str]| {
        hrlogs(&env, &f)
            .arg("--archive")
            .arg(&archive)
            .args(["greenhouse", "audit", "--from-archive", "-f", "ndjson"])
            .args(filters)
            .args(["--since", &lo.to_string()])
            .output()
            .expect("run")
    };
    let back = read_back(&[]);
    assert_ok(&back);
    assert_same(&counted(out_lines(&back)), &all, "--from-archive");
    // Filters apply to the archive as Greenhouse applies them.
    let only = read_back(&["--event-type", "harvest_access"]);
    assert_ok(&only);
    let want = data
        .iter()
        .chain(late.iter())
        .filter(|v| v["event"]["type"] == "harvest_access")
        .count();
    assert_eq!(out_lines(&only).len(), want);
}

/// The archive files a stream under its organization: a sync needs `greenhouse.organization_id`
/// (two organizations on one regional host must not share a cursor), and a result of another
/// organization fails the run rather than being filed under the wrong tenant.
#[test]
fn a_sync_is_filed_under_its_organization_and_refuses_another() {
    let env = Env::new();
    let archive = env.path("a.sqlite3");
    let data = dataset(50, 9);
    let f = start(data.clone(), Config::default());
    let sync = |org: &str| {
        hrlogs(&env, &f)
            .env("HRLOGS_GREENHOUSE_ORGANIZATION_ID", org)
            .arg("--archive")
            .arg(&archive)
            .args(["sync", "greenhouse", "audit", "-f", "ndjson"])
            .args(span_flags().iter().take(2))
            .output()
            .expect("run")
    };
    let unset = sync("");
    assert_eq!(unset.status.code(), Some(3), "{unset:?}");
    assert!(
        String::from_utf8_lossy(&unset.stderr).contains("greenhouse.organization_id"),
        "{}",
        String::from_utf8_lossy(&unset.stderr)
    );
    let other = sync("999");
    assert_ne!(other.status.code(), Some(0), "{other:?}");
    let said = String::from_utf8_lossy(&other.stderr);
    assert!(
        said.contains("organization 123") && said.contains("999"),
        "{said}"
    );
    assert!(
        other.stdout.is_empty(),
        "nothing printed from another organization"
    );
    let right = sync("123");
    assert_ok(&right);
    assert_same(
        &counted(out_lines(&right)),
        &counted(data.iter().map(Value::to_string)),
        "the organization's results",
    );
    let status = hrlogs(&env, &f)
        .arg("--archive")
        .arg(&archive)
        .args(["archive", "status"])
        .output()
        .expect("run");
    let said = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(said.contains("/organizations/123"), "{said}");
    assert!(!said.contains("overdue"), "{said}");
    // A stream last synced 31 days ago is overdue: Greenhouse has forgotten since.
    let db = rusqlite::Connection::open(&archive).expect("open the archive");
    db.execute("UPDATE streams SET cursor = cursor - 31 * 86400000", [])
        .expect("age the cursor");
    drop(db);
    let status = hrlogs(&env, &f)
        .arg("--archive")
        .arg(&archive)
        .args(["archive", "status", "-f", "table"])
        .output()
        .expect("run");
    let said = String::from_utf8_lossy(&status.stdout);
    assert!(
        said.contains("overdue") && said.contains("Greenhouse forgets events"),
        "{said}"
    );
}

/// A run against a fake that refuses the first `refused` tokens it issues: the fake, the
/// output, and whether any secret (the key, a token) was printed.
fn refusing(env: &Env, data: &[Value], refused: u64) -> (fake::Fake, std::process::Output, bool) {
    let f = start(
        data.to_vec(),
        Config {
            refuse_tokens: refused,
            ..Config::default()
        },
    );
    let out = hrlogs(env, &f)
        .args(["greenhouse", "audit", "-f", "ndjson", "-vv"])
        .args(span_flags())
        .output()
        .expect("run");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut secrets = f.state.issued_tokens();
    secrets.push(KEY.to_string());
    let leaked = secrets.iter().any(|s| printed.contains(s.as_str()));
    (f, out, leaked)
}

#[test]
fn a_refused_jwt_is_replaced_once_and_a_second_refusal_fails_clearly() {
    let env = Env::new();
    let data = dataset(50, 3);
    let (f, out, leaked) = refusing(&env, &data, 1);
    assert_ok(&out);
    assert_eq!(out_lines(&out).len(), data.len());
    assert_eq!(
        f.state.tokens_issued(),
        2,
        "one new token, not one per request"
    );
    assert!(!leaked, "a secret was printed");

    let (f, out, leaked) = refusing(&env, &data, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("401") && stderr.contains("greenhouse.api_key"),
        "{stderr}"
    );
    assert_eq!(f.state.tokens_issued(), 2);
    assert!(!leaked, "a secret was printed: {stderr}");
}

#[test]
fn a_wrong_key_fails_with_exit_3_and_the_key_goes_only_to_the_auth_host() {
    let env = Env::new();
    let events = start(dataset(20, 1), Config::default());
    let auth = start(Vec::new(), Config::default());
    // The events host refuses tokens it did not issue: exit 3, after one replacement.
    let out = hrlogs(&env, &events)
        .env("HRLOGS_GREENHOUSE_AUTH_URL", auth.base_url())
        .args(["greenhouse", "audit", "-f", "ndjson"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(auth.state.tokens_issued(), 2);
    // The events host saw no token request (never the key), the auth host no events one.
    let paths = |f: &fake::Fake| -> Vec<String> {
        f.state
            .seen()
            .queries()
            .into_iter()
            .map(|(p, _)| p)
            .collect()
    };
    assert!(paths(&events).iter().all(|p| p == "/events"));
    assert!(paths(&auth).iter().all(|p| p == "/auth/jwt_access_token"));
    assert!(!paths(&auth).is_empty());

    let out = hrlogs(&env, &events)
        .env("HRLOGS_GREENHOUSE_API_KEY", "not-the-key-but-a-long-one")
        .args(["greenhouse", "audit"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("greenhouse.api_key"), "{stderr}");
    assert!(!stderr.contains("not-the-key-but-a-long-one"), "{stderr}");
}

#[test]
fn dry_run_sends_nothing_and_shows_no_secret() {
    let env = Env::new();
    let f = start(dataset(20, 1), Config::default());
    let out = hrlogs(&env, &f)
        .args([
            "--dry-run",
            "greenhouse",
            "audit",
            "--event-type",
            "action,harvest_access",
            "--performer",
            "4001",
        ])
        .output()
        .expect("run");
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("/auth/jwt_access_token")
            && stdout.contains("event_types=action%2Charvest_access"),
        "{stdout}"
    );
    assert!(!stdout.contains(KEY));
    let out = hrlogs(&env, &f)
        .args(["--dry-run", "sync", "greenhouse", "audit"])
        .arg("--archive")
        .arg(env.path("a.sqlite3"))
        .output()
        .expect("run");
    assert_ok(&out);
    assert_eq!(f.state.seen().requests(), 0, "nothing sent");
}

#[test]
fn bad_flags_are_refused_before_any_request() {
    let env = Env::new();
    let f = start(Vec::new(), Config::default());
    for (flags, said) in [
        (&["--performer", "abc"][..], "whole numbers"),
        (&["--event-type", "data_change"][..], "harvest_access"),
        (&["--performer-type", "robot"][..], "greenhouse_internal"),
        (&["--target-id", "1,,2"][..], "empty"),
        (&["--since", "1d", "--until", "2d"][..], "before"),
    ] {
        let out = hrlogs(&env, &f)
            .args(["greenhouse", "audit"])
            .args(flags)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(said), "{flags:?}: {stderr}");
    }
    assert_eq!(f.state.seen().requests(), 0);
}

/// The OCSF schema of Entity Management, from the vendored OCSF 1.7.0 schema.
fn entity_management() -> jsonschema::Validator {
    let mut doc: Value =
        serde_json::from_str(include_str!("fixtures/ocsf/ocsf-1.7.0.schema.json")).expect("schema");
    doc["$ref"] = json!("#/$defs/entity_management");
    jsonschema::validator_for(&doc).expect("schema compiles")
}

#[test]
fn ocsf_events_are_valid_and_carry_the_archive_ids() {
    let env = Env::new();
    let data = dataset(300, 17);
    let f = start(data.clone(), Config::default());
    let archive = env.path("a.sqlite3");
    let out = hrlogs(&env, &f)
        .args(["greenhouse", "audit", "-f", "ocsf"])
        .args(span_flags())
        .output()
        .expect("run");
    assert_ok(&out);
    let events = common::ndjson(&out.stdout);
    assert_eq!(events.len(), data.len());
    let schema = entity_management();
    let mut activities = std::collections::BTreeSet::new();
    for e in &events {
        let errors: Vec<String> = schema.iter_errors(e).map(|x| x.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{e:#}");
        activities.insert((
            e["activity_id"].as_u64(),
            e["activity_name"].as_str().map(str::to_string),
        ));
        let raw: Value = serde_json::from_str(e["raw_data"].as_str().expect("raw")).expect("json");
        let want = match raw["event"]["type"].as_str() {
            Some("data_change_create") => 1,
            Some("harvest_access") => 2,
            Some("data_change_update") => 3,
            Some("data_change_destroy") => 4,
            _ => 99,
        };
        assert_eq!(e["activity_id"], want, "{e:#}");
        if want == 99 {
            assert_eq!(e["activity_name"], raw["event"]["target_type"]);
        }
    }
    assert!(activities.len() >= 5, "{activities:?}");
    // metadata.uid is the archive's id: the same from a sync and its read-back.
    let sync = hrlogs(&env, &f)
        .arg("--archive")
        .arg(&archive)
        .args(["sync", "greenhouse", "audit", "-f", "ocsf", "--since"])
        .arg(span().0.to_string())
        .output()
        .expect("run");
    assert_ok(&sync);
    let uids = |o: &std::process::Output| -> std::collections::BTreeSet<String> {
        common::ndjson(&o.stdout)
            .iter()
            .map(|e| e["metadata"]["uid"].as_str().expect("uid").to_string())
            .collect()
    };
    let live: std::collections::BTreeSet<String> = events
        .iter()
        .map(|e| e["metadata"]["uid"].as_str().expect("uid").to_string())
        .collect();
    assert_eq!(uids(&sync), live);
    assert_eq!(
        live.len(),
        data.len(),
        "identical results have ids of their own"
    );
}

#[test]
fn the_sandbox_needs_no_credentials_and_writes_every_format() {
    let env = Env::new();
    let sandbox = |more: &[&str]| {
        env.hrlogs()
            .args(["--sandbox", "greenhouse", "audit", "--since", "2d"])
            .args(more)
            .output()
            .expect("run")
    };
    for format in ["json", "ndjson", "csv", "table", "ocsf"] {
        let out = sandbox(&["-f", format]);
        assert_ok(&out);
        assert!(!out.stdout.is_empty(), "{format}");
        if format == "table" {
            let text = String::from_utf8_lossy(&out.stdout);
            let header = text.lines().next().unwrap_or_default();
            for col in ["TIME", "WHO", "EVENT", "TARGET"] {
                assert!(header.contains(col), "{header}");
            }
        }
    }
    let xlsx = env.path("audit.xlsx");
    let out = sandbox(&["-o", xlsx.to_str().expect("path")]);
    assert_ok(&out);
    let bytes = std::fs::read(&xlsx).expect("workbook");
    assert!(bytes.starts_with(b"PK"), "a zip");
}
