//! The command-line contract: bad input (exit 2, nothing sent), configuration and secrets
//! (exit 3), `config show/init`, help, completions, man page, broken pipes, the sandbox.

mod common;

use std::io::Read;
use std::process::Stdio;

use common::feishu::{FeishuFake, State};
use common::{Env, words};

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_exit_2_and_sends_nothing() {
    let fake = FeishuFake::start(State::default()).await;
    let env = Env::new();
    std::fs::write(env.path("empty.txt"), "\n  \n").expect("write");
    let empty = env.path("empty.txt").display().to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "feishu",
            "dept-logs",
            "--department",
            "1",
            "--since",
            "last tuesday",
        ],
        vec!["feishu", "dept-logs", "--department", "1"],
        vec!["feishu", "dept-logs", "--since", "2024-01-01"],
        vec![
            "feishu",
            "dept-logs",
            "--department-file",
            &empty,
            "--since",
            "2024-01-01",
        ],
        words("feishu dept-logs --department-file /nonexistent/ids.txt --since 2024-01-01"),
        words("feishu dept-logs --department 1 --since 2024-02-01 --until 2024-01-01"),
        words("feishu dept-logs --department 1,,2 --since 2024-01-01"),
        words("--page-size 1001 feishu dept-logs --department 1 --since 2024-01-01"),
        words("--page-size 0 feishu talent-logs --operator a --operation 1"),
        words("--page-size 101 feishu talent-logs --operator a --operation 1"),
        words("feishu talent-logs --operator a --operation x"),
        vec!["feishu", "talent-logs", "--operation", "1"],
        words(
            "feishu talent-logs --operator a --operation 1 --since 2024-02-01 --until 2024-01-01",
        ),
        words("-f xml feishu talent-logs --operator a --operation 1"),
        words("--tz Mars/Olympus feishu talent-logs --operator a --operation 1"),
        words("--limit 0 feishu talent-logs --operator a --operation 1"),
        words("--timeout -1 feishu talent-logs --operator a --operation 1"),
        words("-o /nonexistent-dir/out.json feishu talent-logs --operator a --operation 1"),
        words("feishu talent-logs --operator a --operation 1 --user-id-type email"),
        words("feishu dept-logs --department 1 --since 2024-01-01 --department-id-type x"),
    ];
    for args in cases {
        let out = fake.hrlogs(&env).args(&args).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            err.trim().lines().count() <= 12,
            "{args:?}: short message: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(
        fake.token_calls() + fake.data_calls(),
        0,
        "no request sent for bad input"
    );
}

#[test]
fn missing_since_suggests_an_example() {
    let env = Env::new();
    let out = env
        .hrlogs()
        .args(["feishu", "dept-logs", "--department", "1"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--since") && err.contains("2024-01-01"),
        "{err}"
    );
}

#[test]
fn missing_credentials_are_exit_3_naming_the_variable_and_key() {
    let env = Env::new();
    let out = env
        .hrlogs()
        .args(words("feishu dept-logs --department 1 --since 2024-01-01"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("HRLOGS_FEISHU_APP_ID") && err.contains("app_id"),
        "{err}"
    );
    let out = env
        .hrlogs()
        .args(["recruitee", "offers"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HRLOGS_RECRUITEE_COMPANY_ID"));
}

#[test]
fn unknown_profile_is_exit_3() {
    let env = Env::new();
    let cfg = env.path("c.toml");
    std::fs::write(&cfg, "[feishu]\napp_id = \"x\"\n").expect("write");
    let out = env
        .hrlogs()
        .arg("--config")
        .arg(&cfg)
        .args(["--profile", "nope", "config", "show"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
}

#[test]
fn config_show_tells_where_each_value_came_from_and_hides_secrets() {
    let env = Env::new();
    let cfg = env.path("c.toml");
    std::fs::write(&cfg, "[feishu]\napp_id = \"cli_from_file\"\napp_secret = \"file-secret-xyz\"\n[profiles.lark.feishu]\nbase_url = \"https://open.larksuite.com\"\n").expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let out = env
        .hrlogs()
        .env("HRLOGS_CONFIG", &cfg)
        .env("HRLOGS_RECRUITEE_API_TOKEN", "env-token-abc")
        .args(["config", "show"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !text.contains("file-secret-xyz")
            && !text.contains("env-token-abc")
            && !err.contains("file-secret-xyz")
    );
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("{key} missing: {text}"))
            .to_string()
    };
    assert!(
        line("feishu.app_id").contains("cli_from_file") && line("feishu.app_id").contains("file")
    );
    assert!(line("feishu.app_secret").contains("(set, hidden)"));
    assert!(
        line("recruitee.api_token").contains("(set, hidden)")
            && line("recruitee.api_token").contains("env HRLOGS_RECRUITEE_API_TOKEN")
    );
    assert!(
        line("feishu.base_url").contains("https://open.feishu.cn")
            && line("feishu.base_url").contains("default")
    );
    #[cfg(unix)]
    assert!(
        err.contains("readable by others") && err.contains("chmod 600"),
        "{err}"
    );

    let out = env
        .hrlogs()
        .env("HRLOGS_CONFIG", &cfg)
        .args(["--profile", "lark", "config", "show", "-f", "json"])
        .output()
        .expect("run");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let base = rows
        .iter()
        .find(|r| r["key"] == "feishu.base_url")
        .expect("row");
    assert_eq!(base["value"], "https://open.larksuite.com");
    let id = rows
        .iter()
        .find(|r| r["key"] == "feishu.app_id")
        .expect("row");
    assert_eq!(
        id["value"], "(unset)",
        "a profile does not inherit the default tables"
    );

    // HRLOGS_PROFILE picks the profile too, and the flag wins over it.
    let out = env
        .hrlogs()
        .env("HRLOGS_CONFIG", &cfg)
        .env("HRLOGS_PROFILE", "lark")
        .args(["config", "show"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("profile:     lark (env HRLOGS_PROFILE)"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("feishu.base_url") && l.contains("open.larksuite.com"))
    );
    let out = env
        .hrlogs()
        .env("HRLOGS_CONFIG", &cfg)
        .env("HRLOGS_PROFILE", "lark")
        .args(["--profile", "default", "config", "show"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("profile:     default (flag --profile)"));
}

#[test]
fn config_init_writes_a_private_commented_file_and_will_not_overwrite() {
    let env = Env::new();
    let cfg = env.path("sub/config.toml");
    let out = env
        .hrlogs()
        .arg("--config")
        .arg(&cfg)
        .args(["config", "init"])
        .output()
        .expect("run");
    common::assert_ok(&out);
    let text = std::fs::read_to_string(&cfg).expect("file");
    assert!(
        text.contains("app_secret")
            && text.contains("HRLOGS_FEISHU_APP_SECRET")
            && text.contains("open.larksuite.com")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&cfg).expect("meta").permissions().mode() & 0o777,
            0o600
        );
    }
    let again = env
        .hrlogs()
        .arg("--config")
        .arg(&cfg)
        .args(["config", "init"])
        .output()
        .expect("run");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let forced = env
        .hrlogs()
        .arg("--config")
        .arg(&cfg)
        .args(["config", "init", "--force"])
        .output()
        .expect("run");
    assert!(forced.status.success());
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
            .expect("config.example.toml");
    assert_eq!(
        example, text,
        "config.example.toml is what `config init` writes"
    );
}

#[test]
fn help_completions_and_man_page() {
    let env = Env::new();
    for args in [
        vec!["--help"],
        vec!["feishu", "dept-logs", "--help"],
        vec!["feishu", "talent-logs", "--help"],
        vec!["recruitee", "audit", "--help"],
        vec!["recruitee", "candidates", "--help"],
        vec!["recruitee", "offers", "--help"],
        vec!["feishu", "--help"],
        vec!["recruitee", "--help"],
        vec!["config", "--help"],
        vec!["config", "show", "--help"],
        vec!["config", "init", "--help"],
        vec!["completions", "--help"],
        vec!["man", "--help"],
        vec!["sandbox", "--help"],
    ] {
        let out = env.hrlogs().args(&args).output().expect("run");
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Examples:") && text.contains("hrlogs "),
            "{args:?}: {text}"
        );
    }
    let out = env
        .hrlogs()
        .args(["feishu", "talent-logs", "--help"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("no time filter"));
    let out = env
        .hrlogs()
        .args(["recruitee", "audit", "--help"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("filters here"));
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = env
            .hrlogs()
            .args(["completions", shell])
            .output()
            .expect("run");
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("dept-logs"),
            "{shell}"
        );
    }
    let out = env.hrlogs().arg("man").output().expect("run");
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).starts_with(".ie"));
}

#[test]
fn a_closed_pipe_is_a_normal_end() {
    let env = Env::new();
    let mut child = env
        .command()
        .args(words(
            "--sandbox -f ndjson feishu dept-logs --since 2020-01-01 --department-file -",
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let ids: Vec<String> = (0..300).map(|i| format!("dept-{i}")).collect();
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(ids.join("\n").as_bytes())
            .expect("write");
    }
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The README's first command runs on the sandbox, and what the README says it prints (the
/// first rows at 80 columns) is what it prints, its dates aside (the sandbox dates its records
/// back from today).
#[test]
fn the_readme_first_command_works_on_the_sandbox() {
    let env = Env::new();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    assert!(readme.contains(
        "cargo run -- --sandbox feishu dept-logs --department 7094136522860922111 --since 2023-01-01\n"
    ));
    let shown = readme
        .split_once("What the first command prints")
        .and_then(|(_, rest)| rest.split_once("```text\n"))
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .expect("the README shows what the first command prints");
    let out = env
        .hrlogs()
        .env("COLUMNS", "80")
        .args(words("--sandbox feishu dept-logs --department 7094136522860922111 --since 2023-01-01 -f table"))
        .output()
        .expect("run");
    common::assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    // A row's leading `YYYY-MM-DD hh:mm` becomes `DATE`.
    let undated = |line: &str| -> String {
        let dated = line.len() >= 16
            && line.is_char_boundary(16)
            && line[..16].chars().enumerate().all(|(i, c)| match i {
                4 | 7 => c == '-',
                10 => c == ' ',
                13 => c == ':',
                _ => c.is_ascii_digit(),
            });
        let line = if dated {
            format!("DATE{}", &line[16..])
        } else {
            line.to_string()
        };
        line.trim_end().to_string()
    };
    let shown: Vec<String> = shown.lines().map(undated).collect();
    let printed: Vec<String> = text.lines().take(shown.len()).map(undated).collect();
    assert!(shown.len() > 3, "{shown:?}");
    assert_eq!(printed, shown, "the README's first rows, dates aside");
    assert!(text.contains("TIME (tenant)"));
    assert!(
        !text.contains('\u{1b}'),
        "terminal escapes from the data are shown escaped"
    );
    assert!(!text.contains('\u{202e}'));
}

#[test]
fn csv_neutralises_formulas_unless_raw() {
    let env = Env::new();
    let run = |extra: &[&str]| {
        let out = env
            .hrlogs()
            .args(words(
                "--sandbox -f csv --fields operation_reason feishu dept-logs --since 2019-01-01",
            ))
            .args([
                "--department",
                &(0..40)
                    .map(|i| format!("d{i}"))
                    .collect::<Vec<_>>()
                    .join(","),
            ])
            .args(extra)
            .output()
            .expect("run");
        assert!(out.status.success());
        csv::Reader::from_reader(out.stdout.as_slice())
            .records()
            .map(|r| r.expect("row")[0].to_string())
            .collect::<Vec<_>>()
    };
    let safe = run(&[]);
    assert!(safe.iter().any(|c| c.starts_with("'=HYPERLINK")));
    assert!(
        safe.iter().all(|c| !c.starts_with(['=', '+', '-', '@'])),
        "{safe:?}"
    );
    let raw = run(&["--csv-raw"]);
    assert!(raw.iter().any(|c| c.starts_with("=HYPERLINK")));
}

/// The JSON bodies a `--dry-run` printed.
fn dry_run_bodies(stdout: &[u8]) -> Vec<serde_json::Value> {
    let text = String::from_utf8_lossy(stdout);
    let mut out = Vec::new();
    let mut rest = text.as_ref();
    while let Some(i) = rest.find("\n{") {
        let mut de = serde_json::Deserializer::from_str(&rest[i + 1..]).into_iter();
        match de.next() {
            Some(Ok(v)) => out.push(v),
            _ => break,
        }
        rest = &rest[i + 1 + de.byte_offset()..];
    }
    out
}

#[test]
fn department_files_saved_by_editors_are_read_whole() {
    let env = Env::new();
    let file = env.path("depts.txt");
    std::fs::write(
        &file,
        b"\xef\xbb\xbfd1\r\n# finance and sales\r\nd2, d3 # two on a line\r\n\r\n\"d4\"\r\n",
    )
    .expect("write");
    let out = env
        .hrlogs()
        .args(["--dry-run", "feishu", "dept-logs", "--department-file"])
        .arg(&file)
        .args(["--since", "20240501", "--until", "2024-05-31"])
        .output()
        .expect("run");
    common::assert_ok(&out);
    let bodies = dry_run_bodies(&out.stdout);
    let data: Vec<&serde_json::Value> = bodies
        .iter()
        .filter(|b| b.get("department_ids").is_some())
        .collect();
    assert_eq!(data.len(), 1, "{bodies:?}");
    assert_eq!(
        data[0]["department_ids"],
        serde_json::json!(["d1", "d2", "d3", "d4"])
    );
    assert_eq!(data[0]["start_date"], "2024-05-01", "20240501 is a date");

    // Over 10 MiB: not a list of IDs.
    let big = env.path("big.txt");
    std::fs::write(&big, "7094136522860922111\n".repeat(600_000)).expect("write");
    let out = env
        .hrlogs()
        .args(["--dry-run", "feishu", "dept-logs", "--department-file"])
        .arg(&big)
        .args(["--since", "2024-05-01"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("over 10 MiB"));
}

#[test]
fn department_files_and_flags_hold_department_ids_only() {
    let env = Env::new();
    let dry = |args: &[&str], file: Option<&[u8]>| {
        let mut cmd = env.hrlogs();
        cmd.args(["--dry-run", "feishu", "dept-logs", "--since", "2024-05-01"])
            .args(args);
        if let Some(bytes) = file {
            let path = env.path("depts.csv");
            std::fs::write(&path, bytes).expect("write");
            cmd.arg("--department-file").arg(path);
        }
        cmd.output().expect("run")
    };
    // A header row, a line with spaces or other punctuation: exit 2, naming the file, the line
    // number and the line, escaped.
    for (bytes, line, shown) in [
        (
            &b"Department ID\n7094136522860922111\n"[..],
            1,
            "\"Department ID\"",
        ),
        (
            b"# exported\ndepartment_id\n7094136522860922111\n",
            2,
            "\"department_id\"",
        ),
        (
            b"7094136522860922111\n7094136522860922112 Sales\n",
            2,
            "\"7094136522860922112 Sales\"",
        ),
        (
            b"7094136522860922111\n\n\x1b[2J|rm\n",
            3,
            "\"\\u{1b}[2J|rm\"",
        ),
    ] {
        let out = dry(&[], Some(bytes));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("depts.csv")
                && err.contains(&format!("line {line} "))
                && err.contains(shown),
            "names the file, line {line} and {shown}: {err}"
        );
        assert!(!err.contains('\x1b'), "escaped: {err}");
        assert!(out.stdout.is_empty(), "nothing sent");
    }
    // `;` separates as commas do; each documented form of ID is taken.
    let out = dry(
        &[],
        Some(b"7094136522860922111;7094136522860922112\nD-1.sales@x, 0\n"),
    );
    common::assert_ok(&out);
    let bodies = dry_run_bodies(&out.stdout);
    let ids = &bodies.last().expect("body")["department_ids"];
    assert_eq!(
        ids,
        &serde_json::json!([
            "7094136522860922111",
            "7094136522860922112",
            "D-1.sales@x",
            "0"
        ])
    );
    let open = ["--department-id-type", "open_department_id"];
    let out = dry(&open, Some(b"od-4e6ac4d14bcd5071a37a39de902c7141\n"));
    common::assert_ok(&out);
    // The same check for --department, and an ID of another type than the one given.
    for (args, says) in [
        (
            &["--department", "Department ID"][..],
            "--department \"Department ID\"",
        ),
        (
            &["--department", "od-4e6ac4d14bcd5071a37a39de902c7141"],
            "--department-id-type open_department_id",
        ),
        (
            &[
                "--department-id-type",
                "open_department_id",
                "--department",
                "7094136522860922111",
            ],
            "od-",
        ),
    ] {
        let out = dry(args, None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn bare_digits_and_1m_are_refused_as_times() {
    let env = Env::new();
    for (since, says) in [
        ("12345", "5 of them"),
        ("123456789012", "12 of them"),
        ("1M", "ambiguous"),
    ] {
        let out = env
            .hrlogs()
            .args(["--dry-run", "feishu", "talent-logs", "--operator", "ou_a"])
            .args(["--operation", "1", "--since", since])
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{since}: {err}");
        assert!(err.contains(says), "{since}: {err}");
    }
}

#[test]
fn base_urls_are_checked_and_their_userinfo_never_shown() {
    let env = Env::new();
    let dry = |base: &str| {
        env.hrlogs()
            .env("HRLOGS_FEISHU_BASE_URL", base)
            .env("HRLOGS_FEISHU_APP_ID", "cli_x")
            .env("HRLOGS_FEISHU_APP_SECRET", "app-secret-value")
            .args(["--dry-run", "feishu", "dept-logs", "--department", "d1"])
            .args(["--since", "2024-05-01", "--until", "2024-05-02"])
            .output()
            .expect("run")
    };
    for bad in ["ftp://open.feishu.cn", "file:///etc/passwd"] {
        let out = dry(bad);
        assert_eq!(out.status.code(), Some(3), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("only https://"));
    }
    let out = dry("http://open.feishu.cn");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning") && err.contains("plain http://"),
        "{err}"
    );
    assert!(
        String::from_utf8_lossy(&dry("http://127.0.0.1:9").stderr).is_empty(),
        "loopback draws no warning"
    );

    // A gateway with a path prefix and credentials in the URL.
    let out = dry("https://bob:hunter2@gw.example.com/feishu");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("gw.example.com/feishu/open-apis/auth/v3/tenant_access_token/internal")
            && text.contains(
                "gw.example.com/feishu/open-apis/corehr/v2/departments/query_operation_logs"
            ),
        "the prefix is kept: {text}"
    );
    assert!(!text.contains("hunter2") && !text.contains("bob"), "{text}");
    let out = env
        .hrlogs()
        .env(
            "HRLOGS_FEISHU_BASE_URL",
            "https://bob:hunter2@gw.example.com/feishu",
        )
        .args(["config", "show"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("gw.example.com/feishu"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}

#[cfg(unix)]
mod output_safety {
    use super::*;
    use common::feishu::{date, dept_dataset};
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    use std::os::unix::process::CommandExt;

    async fn fake() -> FeishuFake {
        FeishuFake::start(State {
            dept: dept_dataset(1, date("2024-01-01"), date("2024-01-31"), 20),
            ..Default::default()
        })
        .await
    }

    fn run(
        fake: &FeishuFake,
        env: &Env,
        target: &std::path::Path,
        umask: Option<u32>,
    ) -> std::process::Output {
        let mut cmd = env.command();
        cmd.envs(fake.vars())
            .env("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND", "1000")
            .args(["-f", "ndjson", "feishu", "dept-logs", "--department"])
            .args(words(
                "7094136522860900000 --since 2024-01-01 --until 2024-01-31",
            ))
            .arg("-o")
            .arg(target);
        if let Some(mask) = umask {
            // SAFETY: umask is async-signal-safe and touches nothing else.
            unsafe {
                cmd.pre_exec(move || {
                    libc::umask(mask as libc::mode_t);
                    Ok(())
                });
            }
        }
        cmd.output().expect("run")
    }

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn o_onto_dev_null_or_a_fifo_writes_into_it() {
        let fake = fake().await;
        let env = Env::new();
        let out = run(&fake, &env, std::path::Path::new("/dev/null"), None);
        common::assert_ok(&out);
        let meta = std::fs::metadata("/dev/null").expect("meta");
        assert!(
            meta.file_type().is_char_device(),
            "/dev/null is still a device"
        );

        let dir = env.path("fifo");
        std::fs::create_dir(&dir).expect("mkdir");
        let fifo = dir.join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().expect("utf8")).expect("cstring");
        // SAFETY: a valid C string and mode.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).expect("read fifo"))
        };
        let out = run(&fake, &env, &fifo, None);
        common::assert_ok(&out);
        let got = reader.join().expect("reader");
        assert_eq!(
            common::ndjson(&got).len(),
            20,
            "the records went through the FIFO"
        );
        assert!(
            std::fs::metadata(&fifo)
                .expect("meta")
                .file_type()
                .is_fifo()
        );
        assert_eq!(
            common::files_in(&dir),
            vec!["pipe".to_string()],
            "no temporary file"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn new_files_follow_the_umask_replaced_ones_keep_their_mode_and_links_stay_links() {
        let fake = fake().await;
        let env = Env::new();
        let new = env.path("new.ndjson");
        let out = run(&fake, &env, &new, Some(0o027));
        common::assert_ok(&out);
        assert_eq!(mode(&new), 0o640, "0666 minus the umask 027");

        let kept = env.path("kept.ndjson");
        std::fs::write(&kept, "old\n").expect("write");
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o604)).expect("chmod");
        let out = run(&fake, &env, &kept, Some(0o077));
        assert!(out.status.success());
        assert_eq!(mode(&kept), 0o604, "a replaced file keeps its mode");
        assert_eq!(
            common::ndjson(&std::fs::read(&kept).expect("read")).len(),
            20
        );

        let real = env.path("real.ndjson");
        std::fs::write(&real, "old\n").expect("write");
        let link = env.path("link.ndjson");
        std::os::unix::fs::symlink("real.ndjson", &link).expect("symlink");
        let out = run(&fake, &env, &link, None);
        assert!(out.status.success());
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("meta")
                .file_type()
                .is_symlink(),
            "the link is still a link"
        );
        assert_eq!(
            common::ndjson(&std::fs::read(&real).expect("read")).len(),
            20
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn stdout_that_cannot_be_written_is_exit_1_with_one_line() {
        let fake = fake().await;
        let env = Env::new();
        let base = |cmd: &mut std::process::Command| {
            cmd.envs(fake.vars())
                .env("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND", "1000")
                .args(["-f", "ndjson", "feishu", "dept-logs", "--department"])
                .args(words(
                    "7094136522860900000 --since 2024-01-01 --until 2024-01-31",
                ))
                .stderr(Stdio::piped());
        };
        let mut cmd = env.command();
        base(&mut cmd);
        cmd.stdout(std::fs::File::create("/dev/full").expect("/dev/full"));
        let out = cmd.output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("No space left"), "{err}");
        // It names what could not be written, and what to do.
        assert!(
            err.contains("writing stdout failed") && err.contains("free some space"),
            "{err}"
        );

        // Stdout opened read-only: Rust would drop every write silently.
        std::fs::write(env.path("ro"), "").expect("write");
        let mut cmd = env.command();
        base(&mut cmd);
        cmd.stdout(std::fs::File::open(env.path("ro")).expect("open"));
        let out = cmd.output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("stdout"), "{err}");
    }
}

/// Dynamic completion: `COMPLETE=bash hrlogs` prints the script to source; the shell then asks
/// the binary, which completes `--profile` from the config file and `--event` from the event
/// names it knows. The static `completions SHELL` scripts stay.
#[test]
fn profiles_and_events_complete_dynamically() {
    let env = Env::new();
    let config = env.path("config.toml");
    std::fs::write(
        &config,
        "[feishu]\napp_id = \"a\"\n\n[profiles.lark.feishu]\napp_id = \"b\"\n\n[profiles.staging.recruitee]\ncompany_id = \"1\"\n",
    )
    .expect("config");
    let script = env.hrlogs().env("COMPLETE", "bash").output().expect("run");
    assert!(script.status.success());
    assert!(
        String::from_utf8_lossy(&script.stdout).contains("_clap_complete_hrlogs"),
        "a script to source"
    );
    let complete = |words: &[&str]| {
        let out = env
            .hrlogs()
            .env("COMPLETE", "bash")
            .env("HRLOGS_CONFIG", &config)
            .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
            .env("_CLAP_COMPLETE_COMP_TYPE", "9")
            .env("_CLAP_COMPLETE_SPACE", "true")
            .env("_CLAP_IFS", "\n")
            .arg("--")
            .args(words)
            .output()
            .expect("run");
        assert!(out.status.success(), "{words:?}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        complete(&["hrlogs", "--profile", ""]),
        ["default", "lark", "staging"]
    );
    assert_eq!(
        complete(&["hrlogs", "recruitee", "offers", "--profile", "st"]),
        ["staging"]
    );
    assert_eq!(
        complete(&["hrlogs", "recruitee", "audit", "--event", "Admin de"]),
        [
            "Admin deassigned candidate from offer",
            "Admin deleted candidate"
        ]
    );
    let stat = env
        .hrlogs()
        .args(["completions", "zsh"])
        .output()
        .expect("run");
    assert!(stat.status.success());
    assert!(String::from_utf8_lossy(&stat.stdout).contains("#compdef hrlogs"));
}
