//! What people see: `--help`, tables with wide characters, `config show`, error messages
//! (pinned with insta snapshots), and the progress display, which shows on a terminal and
//! never on a pipe.

mod common;

use std::io::Read;

use common::Env;
use common::feishu::{FeishuFake, State, talent_dataset};

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn help_texts() {
    let env = Env::new();
    for (name, args) in [
        ("help_top", vec!["--help"]),
        ("help_dept_logs", vec!["feishu", "dept-logs", "--help"]),
        ("help_talent_logs", vec!["feishu", "talent-logs", "--help"]),
        ("help_audit", vec!["recruitee", "audit", "--help"]),
        ("help_candidates", vec!["recruitee", "candidates", "--help"]),
        ("help_offers", vec!["recruitee", "offers", "--help"]),
        ("help_config_show", vec!["config", "show", "--help"]),
    ] {
        let out = env
            .hrlogs()
            .env("COLUMNS", "100")
            .args(&args)
            .output()
            .expect("run");
        assert!(out.status.success());
        insta::assert_snapshot!(name, stdout_of(&out));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn table_with_wide_characters_and_hostile_text() {
    let mut data = talent_dataset(&["ou_张三"], &[3001], 4, 1_700_000_000_000);
    data[1].value["operator"]["name"]["en_us"] = serde_json::json!("Eve\u{1b}[2J\u{202e}evil");
    data[2].value["operator"]["name"]["zh_cn"] =
        serde_json::json!("陈晓明陈晓明陈晓明陈晓明陈晓明陈晓明陈晓明陈晓明陈晓明");
    let fake = FeishuFake::start(State {
        talent: data,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .env("COLUMNS", "120")
        .args([
            "--tz",
            "Asia/Shanghai",
            "-f",
            "table",
            "feishu",
            "talent-logs",
            "--operator",
            "ou_张三",
            "--operation",
            "3001",
        ])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let table = stdout_of(&out);
    assert!(!table.contains('\u{1b}') && !table.contains('\u{202e}'));
    insta::assert_snapshot!("table_wide_characters", table);
    let never = fake
        .hrlogs(&env)
        .args([
            "-f",
            "table",
            "--color",
            "never",
            "feishu",
            "talent-logs",
            "--operator",
            "ou_张三",
            "--operation",
            "3001",
        ])
        .output()
        .expect("run");
    assert!(!stdout_of(&never).contains('\u{1b}'));
    let always = fake
        .hrlogs(&env)
        .args([
            "-f",
            "table",
            "--color",
            "always",
            "feishu",
            "talent-logs",
            "--operator",
            "ou_张三",
            "--operation",
            "3001",
        ])
        .output()
        .expect("run");
    assert!(stdout_of(&always).contains("\u{1b}["), "colour when asked");
    let no_color = fake
        .hrlogs(&env)
        .env("NO_COLOR", "1")
        .args([
            "-f",
            "table",
            "feishu",
            "talent-logs",
            "--operator",
            "ou_张三",
            "--operation",
            "3001",
        ])
        .output()
        .expect("run");
    assert!(!stdout_of(&no_color).contains('\u{1b}'));
}

#[test]
fn config_show_output() {
    let env = Env::new();
    let cfg = env.path("config.toml");
    std::fs::write(&cfg, "[feishu]\napp_id = \"cli_a1b2c3\"\napp_secret = \"hidden-secret\"\n\n[recruitee]\ncompany_id = \"90598\"\nrate_limit = 5\n").expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let out = env
        .hrlogs()
        .arg("--config")
        .arg(&cfg)
        .env("HRLOGS_RECRUITEE_API_TOKEN", "tok")
        .args(["config", "show"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let home = env.home.path().display().to_string();
    insta::with_settings!({filters => vec![(home.as_str(), "[HOME]")]}, {
        insta::assert_snapshot!("config_show", stdout_of(&out));
    });
    assert!(stderr_of(&out).is_empty(), "no warning for a private file");
}

#[test]
fn error_messages() {
    let env = Env::new();
    let home = env.home.path().display().to_string();
    let mut all = String::new();
    for args in [
        vec!["feishu", "dept-logs", "--department", "1"],
        vec!["feishu", "dept-logs", "--since", "2024-01-01"],
        vec![
            "feishu",
            "dept-logs",
            "--department",
            "1",
            "--since",
            "next blue moon",
        ],
        vec![
            "feishu",
            "dept-logs",
            "--department",
            "1",
            "--since",
            "2024-03-01",
            "--until",
            "2024-02-01",
        ],
        vec![
            "--page-size",
            "5000",
            "feishu",
            "dept-logs",
            "--department",
            "1",
            "--since",
            "2024-01-01",
        ],
        vec![
            "feishu",
            "dept-logs",
            "--department",
            "1",
            "--since",
            "2024-01-01",
        ],
        vec!["recruitee", "audit"],
        vec!["recruitee", "candidates", "--offer", "1", "--status", "new"],
    ] {
        let out = env.hrlogs().args(&args).output().expect("run");
        all.push_str(&format!(
            "$ hrlogs {}\nexit {}\n{}\n",
            args.join(" "),
            out.status.code().unwrap_or(-1),
            stderr_of(&out)
        ));
    }
    insta::with_settings!({filters => vec![(home.as_str(), "[HOME]")]}, {
        insta::assert_snapshot!("error_messages", all);
    });
}

/// Runs hrlogs with stdout and stderr on a pseudo-terminal; returns what the terminal showed.
fn on_terminal(env: &Env, args: &[&str]) -> (String, u32) {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 160,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("pty");
    let clean = env.command();
    let mut cmd = CommandBuilder::new(clean.get_program());
    for (k, v) in clean.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        }
    }
    cmd.args(args);
    cmd.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(cmd).expect("spawn");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("reader");
    let reading = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = reader.read(&mut chunk) {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        buf
    });
    let status = child.wait().expect("wait");
    drop(pty.master);
    let shown = String::from_utf8_lossy(&reading.join().expect("reader thread")).into_owned();
    (shown, status.exit_code())
}

#[test]
fn progress_shows_on_a_terminal_and_never_on_a_pipe() {
    let env = Env::new();
    let ids: Vec<String> = (0..250).map(|i| format!("d{i}")).collect();
    let ids = ids.join(",");
    let args = [
        "--sandbox",
        "feishu",
        "dept-logs",
        "--since",
        "2019-01-01",
        "--department",
        ids.as_str(),
        "-f",
        "ndjson",
    ];
    let (shown, code) = on_terminal(&env, &args);
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains("requests ("),
        "progress drawn on a terminal: {shown:.2000}"
    );
    assert!(
        shown.contains("records,") && shown.contains("retries in"),
        "one-line summary at the end"
    );

    let (quiet, _) = on_terminal(
        &env,
        &[
            "-q",
            "--sandbox",
            "feishu",
            "dept-logs",
            "--since",
            "2019-01-01",
            "--department",
            ids.as_str(),
            "-f",
            "ndjson",
        ],
    );
    assert!(
        !quiet.contains("requests (") && !quiet.contains("retries in"),
        "-q draws nothing"
    );

    let out = env.hrlogs().args(args).output().expect("run");
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "nothing on a piped stderr: {}",
        stderr_of(&out)
    );
    assert!(!stdout_of(&out).contains("requests ("), "never on stdout");
}
