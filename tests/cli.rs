//! The command-line contract: bad input (exit 2, nothing sent), configuration and secrets
//! (exit 3), `config show/init`, help, completions, man page, broken pipes, the sandbox.

mod common;

use std::io::Read;
use std::process::Stdio;

use common::Env;
use common::feishu::{FeishuFake, State};

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
        vec![
            "feishu",
            "dept-logs",
            "--department-file",
            "/nonexistent/ids.txt",
            "--since",
            "2024-01-01",
        ],
        vec![
            "feishu",
            "dept-logs",
            "--department",
            "1",
            "--since",
            "2024-02-01",
            "--until",
            "2024-01-01",
        ],
        vec![
            "feishu",
            "dept-logs",
            "--department",
            "1,,2",
            "--since",
            "2024-01-01",
        ],
        vec![
            "--page-size",
            "1001",
            "feishu",
            "dept-logs",
            "--department",
            "1",
            "--since",
            "2024-01-01",
        ],
        vec![
            "--page-size",
            "0",
            "feishu",
            "talent-logs",
            "--operator",
            "a",
            "--operation",
            "1",
        ],
        vec![
            "--page-size",
            "101",
            "feishu",
            "talent-logs",
            "--operator",
            "a",
            "--operation",
            "1",
        ],
        vec![
            "feishu",
            "talent-logs",
            "--operator",
            "a",
            "--operation",
            "x",
        ],
        vec!["feishu", "talent-logs", "--operation", "1"],
        vec![
            "feishu",
            "talent-logs",
            "--operator",
            "a",
            "--operation",
            "1",
            "--since",
            "2024-02-01",
            "--until",
            "2024-01-01",
        ],
        vec![
            "-f",
            "xml",
            "feishu",
            "talent-logs",
            "--operator",
            "a",
            "--operation",
            "1",
        ],
        vec![
            "--tz",
            "Mars/Olympus",
            "feishu",
            "talent-logs",
            "--operator",
            "a",
            "--operation",
            "1",
        ],
        vec![
            "--limit",
            "0",
            "feishu",
            "talent-logs",
            "--operator",
            "a",
            "--operation",
            "1",
        ],
        vec![
            "--timeout",
            "-1",
            "feishu",
            "talent-logs",
            "--operator",
            "a",
            "--operation",
            "1",
        ],
        vec![
            "-o",
            "/nonexistent-dir/out.json",
            "feishu",
            "talent-logs",
            "--operator",
            "a",
            "--operation",
            "1",
        ],
        vec![
            "feishu",
            "talent-logs",
            "--operator",
            "a",
            "--operation",
            "1",
            "--user-id-type",
            "email",
        ],
        vec![
            "feishu",
            "dept-logs",
            "--department",
            "1",
            "--since",
            "2024-01-01",
            "--department-id-type",
            "x",
        ],
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
        .args([
            "feishu",
            "dept-logs",
            "--department",
            "1",
            "--since",
            "2024-01-01",
        ])
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
        .args([
            "--sandbox",
            "-f",
            "ndjson",
            "feishu",
            "dept-logs",
            "--since",
            "2020-01-01",
            "--department-file",
            "-",
        ])
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

#[test]
fn the_readme_first_command_works_on_the_sandbox() {
    let env = Env::new();
    let out = env
        .hrlogs()
        .args([
            "--sandbox",
            "feishu",
            "dept-logs",
            "--department",
            "7094136522860922111",
            "--since",
            "2023-01-01",
            "-f",
            "table",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("7094136522860922111") && text.contains("TIME (tenant)"));
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
            .args([
                "--sandbox",
                "-f",
                "csv",
                "--fields",
                "operation_reason",
                "feishu",
                "dept-logs",
                "--since",
                "2019-01-01",
            ])
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
