//! What people see: `--help` (examples never wrapped at 80 columns), `man`, the default
//! tables at 80 and 120 columns (pinned with insta snapshots), workbooks read back with
//! calamine, the `-o` rules, `config show`, error messages, the pager, and the progress
//! display, which shows on a terminal, leaves no trace on the screen, and never shows on a pipe.

mod common;

use std::io::Read;

use common::feishu::{FeishuFake, State, talent_dataset};
use common::{Env, words};

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
        .args(words(
            "--tz Asia/Shanghai -f table feishu talent-logs --operator ou_张三 --operation 3001",
        ))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let table = stdout_of(&out);
    assert!(!table.contains('\u{1b}') && !table.contains('\u{202e}'));
    insta::assert_snapshot!("table_wide_characters", table);
    let never = fake
        .hrlogs(&env)
        .args(words(
            "-f table --color never feishu talent-logs --operator ou_张三 --operation 3001",
        ))
        .output()
        .expect("run");
    assert!(!stdout_of(&never).contains('\u{1b}'));
    let always = fake
        .hrlogs(&env)
        .args(words(
            "-f table --color always feishu talent-logs --operator ou_张三 --operation 3001",
        ))
        .output()
        .expect("run");
    assert!(stdout_of(&always).contains("\u{1b}["), "colour when asked");
    let no_color = fake
        .hrlogs(&env)
        .env("NO_COLOR", "1")
        .args(words(
            "-f table feishu talent-logs --operator ou_张三 --operation 3001",
        ))
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
        // Only what this test sets: not the pacing that the test environment lifts.
        .env_remove("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND")
        .env_remove("HRLOGS_FEISHU_TALENT_LOGS_PER_SECOND")
        .env_remove("HRLOGS_FEISHU_TALENT_LOGS_PER_MINUTE")
        .env_remove("HRLOGS_RECRUITEE_RATE_LIMIT")
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
    std::fs::write(
        env.path("bad.toml"),
        "[feishu]\napp_id = \"cli_a1\"\nmax_in_flight = tru\n",
    )
    .expect("write");
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
        words("feishu dept-logs --department 1 --since 2024-03-01 --until 2024-02-01"),
        words("--page-size 5000 feishu dept-logs --department 1 --since 2024-01-01"),
        words("feishu dept-logs --department 1 --since 2024-01-01"),
        vec!["recruitee", "audit"],
        vec!["recruitee", "candidates", "--offer", "1", "--status", "new"],
        vec!["--timeout", "0", "recruitee", "offers"],
        vec!["--config", "[HOME]/bad.toml", "recruitee", "offers"],
        vec!["-o", "csv", "recruitee", "offers"],
        vec!["-o", "report.tsv", "recruitee", "offers"],
    ] {
        let args: Vec<String> = args.iter().map(|a| a.replace("[HOME]", &home)).collect();
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

/// A pseudo-terminal of `rows` × `cols`, and hrlogs to run on it with the test's clean
/// environment (its size from the terminal alone, not `COLUMNS`/`LINES`).
fn pty_command(
    env: &Env,
    rows: u16,
    cols: u16,
) -> (portable_pty::PtyPair, portable_pty::CommandBuilder) {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    let pty = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
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
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("COLUMNS");
    cmd.env_remove("LINES");
    cmd.cwd(env.home.path());
    (pty, cmd)
}

/// Runs hrlogs with stdout and stderr on a pseudo-terminal of `rows` × `cols`; returns the
/// bytes the terminal received and the exit code.
fn on_terminal_sized(
    env: &Env,
    args: &[&str],
    vars: &[(&str, &str)],
    rows: u16,
    cols: u16,
) -> (Vec<u8>, u32) {
    let (pty, mut cmd) = pty_command(env, rows, cols);
    cmd.args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
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
    let shown = reading.join().expect("reader thread");
    (shown, status.exit_code())
}

/// Runs hrlogs on a 40 × 160 pseudo-terminal; returns what the terminal received, as text.
fn on_terminal(env: &Env, args: &[&str]) -> (String, u32) {
    let (shown, code) = on_terminal_sized(env, args, &[], 40, 160);
    (String::from_utf8_lossy(&shown).into_owned(), code)
}

/// What a terminal of `rows` × `cols` shows after receiving `bytes`: every line of the screen
/// and of its scrollback.
fn screen(bytes: &[u8], rows: u16, cols: u16) -> Vec<String> {
    let size = |n: u16| std::num::NonZeroU16::new(n).expect("a size");
    let mut parser = vt100::Parser::new(size(rows), size(cols), 10_000);
    parser.process(bytes);
    let mut lines = Vec::new();
    // Read the scrollback from the top, then the visible screen.
    parser.screen_mut().set_scrollback(usize::MAX);
    let back = parser.screen().scrollback();
    for offset in (1..=back).rev() {
        parser.screen_mut().set_scrollback(offset);
        let first = parser.screen().rows(0, cols).next().unwrap_or_default();
        lines.push(first);
    }
    parser.screen_mut().set_scrollback(0);
    lines.extend(parser.screen().rows(0, cols));
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines
}

#[test]
fn progress_shows_on_a_terminal_and_never_on_a_pipe() {
    let env = Env::new();
    let ids: Vec<String> = (0..250).map(|i| format!("d{i}")).collect();
    let ids = ids.join(",");
    let file = env.path("out.ndjson");
    let file = file.to_str().expect("utf8 path");
    let to_file = [
        "--sandbox",
        "feishu",
        "dept-logs",
        "--since",
        "2019-01-01",
        "--department",
        ids.as_str(),
        "-o",
        file,
    ];
    let (shown, code) = on_terminal(&env, &to_file);
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains("requests ("),
        "progress drawn on a terminal: {shown:.2000}"
    );
    assert!(
        shown.contains("records,") && shown.contains("retries in"),
        "one-line summary at the end when the records went to a file"
    );

    let mut quiet = vec!["-q"];
    quiet.extend_from_slice(&to_file);
    let (quiet, _) = on_terminal(&env, &quiet);
    assert!(
        !quiet.contains("requests (") && !quiet.contains("retries in"),
        "-q draws nothing"
    );

    let piped = [
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
    let out = env.hrlogs().args(piped).output().expect("run");
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "nothing on a piped stderr: {}",
        stderr_of(&out)
    );
    assert!(!stdout_of(&out).contains("requests ("), "never on stdout");
}

/// The progress display is gone from the screen once records show: no spinner line above a
/// table, none between the rows that csv or ndjson stream to the terminal, none at the end.
#[test]
fn progress_leaves_no_trace_on_the_screen() {
    let env = Env::new();
    let ids: Vec<String> = (0..60).map(|i| format!("d{i}")).collect();
    let ids = ids.join(",");
    for format in ["ndjson", "csv", "table"] {
        let args = [
            "--sandbox",
            "--no-pager",
            "feishu",
            "dept-logs",
            "--since",
            "2019-01-01",
            "--department",
            ids.as_str(),
            "-f",
            format,
        ];
        let (bytes, code) = on_terminal_sized(&env, &args, &[], 24, 100);
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(code, 0, "{format}: {text:.2000}");
        assert!(
            text.contains("requests ("),
            "{format}: the display was drawn while fetching"
        );
        let lines = screen(&bytes, 24, 100);
        assert!(lines.len() > 100, "{format}: the records are on the screen");
        for line in &lines {
            assert!(
                !line.contains("requests (") && !line.contains("retries in"),
                "{format}: a progress line stayed on the screen: {line:?}"
            );
        }
        let spinner = [
            '⠁', '⠂', '⠄', '⡀', '⢀', '⠠', '⠐', '⠈', '⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇',
            '⠏',
        ];
        assert!(
            !lines
                .iter()
                .any(|l| l.chars().any(|c| spinner.contains(&c))),
            "{format}: no spinner left"
        );
    }
}

/// Every command with subcommands or not, as a path of names.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["feishu"],
    &["feishu", "dept-logs"],
    &["feishu", "talent-logs"],
    &["recruitee"],
    &["recruitee", "audit"],
    &["recruitee", "candidates"],
    &["recruitee", "offers"],
    &["config"],
    &["config", "show"],
    &["config", "init"],
    &["completions"],
    &["man"],
    &["sandbox"],
    &["sync"],
    &["sync", "feishu"],
    &["sync", "feishu", "dept-logs"],
    &["sync", "feishu", "talent-logs"],
    &["sync", "recruitee"],
    &["sync", "recruitee", "audit"],
    &["archive"],
    &["archive", "status"],
    &["archive", "verify"],
    &["archive", "copy"],
];

/// The last line of every `-h`: where the global options it leaves out are.
const POINTER: &str =
    "Global options (-f FORMAT, -o PATH, --tz, --profile, …): hrlogs help globals";

/// At 80 columns no help line is wider than the terminal, and no example is wrapped: every
/// line of an example is a comment, a command, or the continuation of a line ending in `\`.
#[test]
fn help_at_80_columns_never_wraps_an_example() {
    let env = Env::new();
    for path in COMMANDS {
        let out = env
            .hrlogs()
            .env("COLUMNS", "80")
            .args(*path)
            .arg("--help")
            .output()
            .expect("run");
        assert!(out.status.success(), "{path:?}");
        let text = stdout_of(&out);
        for line in text.lines() {
            assert!(
                unicode_width::UnicodeWidthStr::width(line) <= 80,
                "{path:?}: wider than 80: {line:?}"
            );
        }
        let Some((_, examples)) = text.split_once("\nExamples:\n") else {
            panic!("{path:?} has no examples");
        };
        let mut continued = false;
        for line in examples.lines() {
            let command = line.starts_with("  hrlogs ")
                || line.starts_with("  cut ")
                || line.starts_with("  HRLOGS_");
            let ok = line.is_empty()
                || line.starts_with("  # ")
                || (command && !continued)
                || (continued && line.starts_with("    "));
            assert!(
                ok,
                "{path:?}: example line wrapped or out of place: {line:?}"
            );
            continued = line.ends_with(" \\");
        }
    }
}

#[test]
fn hrlogs_alone_prints_help_and_exits_0() {
    let env = Env::new();
    let out = env.hrlogs().output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = stdout_of(&out);
    assert!(text.contains("Usage: hrlogs") && text.contains("Examples:"));
}

#[test]
fn man_has_a_page_for_every_command() {
    let env = Env::new();
    for path in COMMANDS {
        let out = env.hrlogs().arg("man").args(*path).output().expect("run");
        assert!(out.status.success(), "{path:?}: {}", stderr_of(&out));
        let page = stdout_of(&out);
        let title = std::iter::once("hrlogs")
            .chain(path.iter().copied())
            .collect::<Vec<_>>()
            .join("-")
            .to_uppercase();
        assert!(page.starts_with(".ie") || page.contains(".TH"), "{path:?}");
        assert!(
            page.contains(&format!(".TH {title} ")),
            "{path:?}: titled {title}"
        );
        assert!(page.contains(".SH EXAMPLES") || page.contains(".SH \"EXAMPLES\""));
    }
    let top = stdout_of(&env.hrlogs().arg("man").output().expect("run"));
    for needle in [
        "\"TIMES\"",
        "yesterday",
        "\"EXIT STATUS\"",
        "SIGTERM",
        "\"ENVIRONMENT\"",
        "HRLOGS_FEISHU_APP_ID",
        "HRLOGS_PAGER",
        "\"CONFIGURATION\"",
        "recruitee.api_token",
        "hrlogs man feishu dept\\-logs",
    ] {
        assert!(top.contains(needle), "top page has {needle}");
    }
    let bad = env
        .hrlogs()
        .args(["man", "feishu", "nope"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr_of(&bad).contains("dept-logs"), "lists the commands");
}

/// Masks times (they move with the clock in the sandbox), keeping their width.
fn time_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "YYYY-MM-DD hh:mm:ss"),
        (r"\d{4}-\d\d-\d\d \d\d:\d\d", "YYYY-MM-DD hh:mm"),
    ]
}

/// The default table of every command, on the sandbox (CJK names, escape sequences, bidi
/// overrides, formula-looking names), at 80 and 120 columns: no line wider than the terminal,
/// what happened shown whole, strangers' strings escaped.
#[test]
fn default_tables_fit_80_and_120_columns() {
    let env = Env::new();
    let commands: &[(&str, &[&str], &str)] = &[
        (
            "dept_logs",
            &words("feishu dept-logs --department 7094136522860922111 --since 1000d"),
            "operation_type",
        ),
        (
            "talent_logs",
            &words(
                "feishu talent-logs --operator ou_b29276c7c3e2ff4bd3fcfb567ce690e3 --operation 1,3001",
            ),
            "operation_type",
        ),
        ("audit", &["recruitee", "audit"], "event_name"),
        ("candidates", &["recruitee", "candidates"], "name"),
        ("offers", &["recruitee", "offers"], "title"),
    ];
    for (name, args, what) in commands {
        let records = common::ndjson(
            &env.hrlogs()
                .args(["--sandbox", "--limit", "30", "-f", "ndjson"])
                .args(*args)
                .output()
                .expect("run")
                .stdout,
        );
        assert!(!records.is_empty(), "{name}: records");
        for width in [80usize, 120] {
            let out = env
                .hrlogs()
                .env("COLUMNS", width.to_string())
                .args(["--sandbox", "--limit", "30", "-f", "table"])
                .args(*args)
                .output()
                .expect("run");
            assert!(out.status.success(), "{name}: {}", stderr_of(&out));
            let table = stdout_of(&out);
            assert!(!table.contains('\u{1b}') && !table.contains('\u{202e}'));
            for line in table.lines() {
                let w = unicode_width::UnicodeWidthStr::width(line);
                assert!(w <= width, "{name} at {width}: {w} columns: {line:?}");
            }
            // A record's line, with what happened continued on indented lines when it is
            // wrapped whole rather than cut.
            let mut lines: Vec<String> = Vec::new();
            for line in table.lines() {
                match lines.last_mut() {
                    Some(prev) if line.starts_with(' ') => {
                        prev.push(' ');
                        prev.push_str(line.trim_start());
                    }
                    _ => lines.push(line.to_string()),
                }
            }
            assert_eq!(lines.len(), records.len() + 1, "{name}: a line per record");
            if *name == "dept_logs" {
                // The change, `field: before → after`, is never cut.
                for (record, line) in records.iter().zip(&lines[1..]) {
                    let change = &record["changes"][0];
                    let field = change["field"].as_str().unwrap_or_default();
                    // A value that repeats its field's name is shown without it.
                    let value = |v: &serde_json::Value| {
                        let v = v.as_str().unwrap_or_default();
                        v.strip_prefix(&format!("{field}: "))
                            .unwrap_or(v)
                            .to_string()
                    };
                    let shown = format!(
                        "{field}: {} → {}",
                        value(&change["before"]),
                        value(&change["after"])
                    );
                    assert!(
                        line.contains(&shown),
                        "{name} at {width}: {shown:?} whole in {line:?}"
                    );
                }
            }
            // What happened, whole, on each record's line (the sandbox's data fits).
            for (record, line) in records.iter().zip(&lines[1..]) {
                let shown = match (*what, &record[*what]) {
                    ("operation_type", serde_json::Value::Number(n)) => {
                        let code = n.as_i64().expect("code");
                        let meaning = match code {
                            10 => "create record",
                            20 => "create/copy version",
                            50 => "edit version",
                            60 => "revoke version",
                            70 => "disable",
                            80 => "enable",
                            90 => "delete record",
                            100 => "custom sort",
                            110 => "update",
                            120 => "edit association rules",
                            _ => "",
                        };
                        format!("{code} {meaning}")
                    }
                    (_, serde_json::Value::String(s)) if *what != "name" => s.clone(),
                    _ => continue,
                };
                assert!(
                    line.contains(&shown),
                    "{name} at {width}: {shown:?} whole in {line:?}"
                );
            }
            insta::with_settings!({filters => time_filters()}, {
                insta::assert_snapshot!(format!("table_{name}_{width}"), table);
            });
        }
    }
}

#[test]
fn wide_tables_and_fields_show_columns_whole() {
    let env = Env::new();
    let out = env
        .hrlogs()
        .env("COLUMNS", "80")
        .args(words("--sandbox --wide -f table feishu dept-logs --department 7094136522860922111 --since 1000d"))
        .output()
        .expect("run");
    assert!(out.status.success());
    let table = stdout_of(&out);
    let header = table.lines().next().expect("header");
    for column in ["operation_reason", "effective_time", "object_id", "changes"] {
        assert!(header.contains(column), "--wide shows {column}: {header}");
    }
    assert!(!table.contains('…'), "nothing cut with --wide");

    let out = env
        .hrlogs()
        .args(words("--sandbox -f csv --fields object_id,operater feishu dept-logs --department 7094136522860922111 --since 1000d"))
        .output()
        .expect("run");
    assert!(out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains("no record has operater") && err.contains("operator, "),
        "a path no record has draws a warning listing the first record's fields: {err}"
    );
    let out = env
        .hrlogs()
        .args(words("--sandbox -f csv --fields object_id,operator feishu dept-logs --department 7094136522860922111 --since 1000d"))
        .output()
        .expect("run");
    assert!(
        stderr_of(&out).is_empty(),
        "no warning when every path is there"
    );
}

#[test]
fn output_rules_of_dash_o() {
    let env = Env::new();
    let offers = ["--sandbox", "recruitee", "offers"];
    // A bare format name is the kubectl habit: refused, suggesting -f.
    let out = env
        .hrlogs()
        .current_dir(env.home.path())
        .args(["-o", "json"])
        .args(offers)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("-f json"), "{}", stderr_of(&out));
    assert!(!env.path("json").exists(), "no file named json");
    // An extension hrlogs does not know, without -f: refused, listing the known ones.
    let out = env
        .hrlogs()
        .current_dir(env.home.path())
        .args(["-o", "x.tsv"])
        .args(offers)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains(".json .ndjson .jsonl .csv .xlsx .txt"),
        "{}",
        stderr_of(&out)
    );
    assert!(!env.path("x.tsv").exists());
    // ... but -f says the format of any file.
    let out = env
        .hrlogs()
        .current_dir(env.home.path())
        .args(["-o", "x.tsv", "-f", "csv"])
        .args(offers)
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(
        std::fs::read_to_string(env.path("x.tsv"))
            .expect("file")
            .starts_with("id,")
    );
    // -o - is stdout.
    let out = env
        .hrlogs()
        .current_dir(env.home.path())
        .args(["-o", "-", "-f", "ndjson"])
        .args(offers)
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(common::ndjson(&out.stdout).len(), 6);
    assert!(!env.path("-").exists(), "no file named -");
    // The extension picks the format: .xlsx a workbook, .txt a table.
    for (name, check) in [
        (
            "o.xlsx",
            (|b: &[u8]| b.starts_with(b"PK")) as fn(&[u8]) -> bool,
        ),
        ("o.txt", |b: &[u8]| b.starts_with(b"ID ")),
        ("o.jsonl", |b: &[u8]| b.starts_with(b"{")),
    ] {
        let out = env
            .hrlogs()
            .current_dir(env.home.path())
            .args(["-o", name])
            .args(offers)
            .output()
            .expect("run");
        assert!(out.status.success(), "{name}: {}", stderr_of(&out));
        let bytes = std::fs::read(env.path(name)).expect("file");
        assert!(check(&bytes), "{name}: {:?}", &bytes[..8.min(bytes.len())]);
    }
    // A table written to a file from a terminal carries no colour codes.
    let (shown, code) = on_terminal(&env, &["--sandbox", "-o", "t.txt", "recruitee", "offers"]);
    assert_eq!(code, 0, "{shown}");
    let text = std::fs::read_to_string(env.path("t.txt")).expect("t.txt");
    assert!(
        text.starts_with("ID ") && !text.contains('\u{1b}'),
        "{text:?}"
    );
    // A workbook is not for a terminal.
    let (shown, code) = on_terminal(&env, &["--sandbox", "-f", "xlsx", "recruitee", "offers"]);
    assert_eq!(code, 2, "{shown}");
    assert!(shown.contains("-o report.xlsx"), "{shown}");
}

/// A workbook read back: ids and strings are text cells exactly as sent (19 digits intact,
/// no formula, no `'`), times are date-time cells in the chosen zone.
#[tokio::test(flavor = "multi_thread")]
async fn xlsx_keeps_ids_strings_and_times() {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    use common::feishu::TalentLog;
    // 2024-05-01T08:00:00.250Z
    let ms: i64 = 1_714_550_400_250;
    let talent = vec![TalentLog {
        operator: "ou_1".into(),
        operation: 3001,
        job: "6949805467799537965".into(),
        ms,
        value: serde_json::json!({
            "application_id": "6949805467799583565",
            "talent_id": "7094136522860922111",
            "operator": {"id": "ou_1", "name": {"zh_cn": "陈晓明 _x0041_\t1", "en_us": "=cmd|' /C calc'!A0"}},
            "operation_type": "3001",
            "operation_time": ms.to_string(),
            "operator_type": 1
        }),
    }];
    let fake = FeishuFake::start(State {
        talent,
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let path = env.path("talent.xlsx");
    let out = fake
        .hrlogs(&env)
        .args(["--tz", "Asia/Shanghai", "-o"])
        .arg(&path)
        .args(words("feishu talent-logs --operator ou_1 --operation 3001"))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut book: Xlsx<_> = open_workbook(&path).expect("a workbook");
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).expect("sheet");
    let rows: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
    assert_eq!(rows.len(), 2, "a header and one record");
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    let col = |header: &[String], name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("column {name} in {header:?}"))
    };
    assert_eq!(
        rows[1][col(&header, "TALENT")],
        Data::String("7094136522860922111".into()),
        "a 19-digit id stays text"
    );
    assert_eq!(
        rows[1][col(&header, "OPERATOR")],
        Data::String("陈晓明 _x0041_\t1 =cmd|' /C calc'!A0".into()),
        "names as the table shows them, never a formula"
    );
    match &rows[1][col(&header, "TIME (Asia/Shanghai)")] {
        Data::DateTime(t) => {
            // Excel serial days since 1899-12-30, in Asia/Shanghai (UTC+8).
            let expected = (ms as f64 / 1000.0 + 8.0 * 3600.0) / 86_400.0 + 25_569.0;
            assert!(
                (t.as_f64() - expected).abs() < 1e-6,
                "{} vs {expected}",
                t.as_f64()
            );
        }
        other => panic!("a time is a date-time cell, not {other:?}"),
    }
    // The raw sheet: the vendor's fields exactly as sent.
    let range = book.worksheet_range("raw").expect("raw sheet");
    let raw: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
    let raw_header: Vec<String> = raw[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(
        raw[1][col(&raw_header, "operator.name.en_us")],
        Data::String("=cmd|' /C calc'!A0".into()),
        "a formula-looking name stays text, without a '"
    );
    assert_eq!(
        raw[1][col(&raw_header, "operator.name.zh_cn")],
        Data::String("陈晓明 _x0041_\t1".into()),
        "CJK, a tab and text that looks like an OOXML escape, exactly"
    );
    assert_eq!(
        raw[1][col(&raw_header, "operation_time")],
        Data::String(ms.to_string())
    );
    for sheet in [sheet.as_str(), "raw"] {
        let formulas = book.worksheet_formula(sheet).expect("formulas");
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "no formula in the workbook"
        );
    }

    // Department logs: the tenant's wall clock becomes a date-time cell as given.
    let out = env
        .hrlogs()
        .args(["--sandbox", "-f", "xlsx", "feishu", "dept-logs"])
        .args(["--department", "7094136522860922111", "--since", "1000d"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut book = Xlsx::new(std::io::Cursor::new(out.stdout)).expect("a workbook on stdout");
    let range = book.worksheet_range("records").expect("sheet");
    let first: Vec<Data> = range.rows().nth(1).expect("a record").to_vec();
    assert!(matches!(first[0], Data::DateTime(_)), "{:?}", first[0]);
    assert_eq!(first[4], Data::String("7094136522860922111".into()));
}

/// A table longer than the screen goes through the pager on a terminal; not with
/// --no-pager, not on a pipe; a pager that quits early is a normal end.
#[test]
fn long_tables_go_through_the_pager() {
    let env = Env::new();
    let args = ["--sandbox", "-f", "table", "recruitee", "candidates"];
    let pager = [("HRLOGS_PAGER", "sed s/^/PAGED:/")];
    let (bytes, code) = on_terminal_sized(&env, &args, &pager, 24, 120);
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(code, 0, "{text:.2000}");
    assert!(text.contains("PAGED:47300000 "), "paged: {text:.500}");

    let mut no_pager = vec!["--no-pager"];
    no_pager.extend_from_slice(&args);
    let (bytes, code) = on_terminal_sized(&env, &no_pager, &pager, 24, 120);
    assert_eq!(code, 0);
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains("PAGED:") && text.contains("ID "),
        "{text:.500}"
    );

    // A short table is not paged.
    let offers = ["--sandbox", "-f", "table", "recruitee", "offers"];
    let (bytes, _) = on_terminal_sized(&env, &offers, &pager, 24, 120);
    assert!(!String::from_utf8_lossy(&bytes).contains("PAGED:"));

    // A pager that quits after the first line.
    let (bytes, code) = on_terminal_sized(&env, &args, &[("PAGER", "head -n 1")], 24, 120);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&bytes));

    // Never on a pipe.
    let out = env.hrlogs().envs(pager).args(args).output().expect("run");
    assert!(out.status.success());
    assert!(!stdout_of(&out).contains("PAGED:"));
}

/// Every example of the README runs on the sandbox as written (with `--sandbox` added by a
/// wrapper named `hrlogs`), and gives records: sample ids included.
#[test]
fn readme_examples_run_on_the_sandbox() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let mut examples = Vec::new();
    let mut in_sh = false;
    let mut current = String::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        if !current.is_empty() || line.starts_with("hrlogs ") {
            current.push_str(line.trim_end_matches('\\'));
            current.push(' ');
            if !line.ends_with('\\') {
                examples.push(std::mem::take(&mut current));
            }
        }
    }
    let jq = std::process::Command::new("jq")
        .arg("--version")
        .output()
        .is_ok();
    let examples: Vec<String> = examples
        .into_iter()
        .filter(|e| {
            // `--follow` runs until it is stopped, like the sandbox itself.
            !e.contains("completions")
                && !e.contains("hrlogs man")
                && !e.contains("sandbox")
                && !e.contains("--follow")
        })
        .filter(|e| jq || !e.contains("jq"))
        .collect();
    assert!(examples.len() >= 10, "the README's examples: {examples:#?}");
    let bin = env.path("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let wrapper = bin.join("hrlogs");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec '{}' --sandbox \"$@\"\n",
            assert_cmd::cargo::cargo_bin("hrlogs").display()
        ),
    )
    .expect("wrapper");
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Each example in a folder of its own, a few at a time.
    let run = |i: usize, example: &String| {
        let work = env.path(&format!("work{i}"));
        std::fs::create_dir_all(&work).expect("work");
        for name in ["departments.txt", "depts.txt"] {
            std::fs::write(
                work.join(name),
                "7094136522860922111\n7094136522860922112\n",
            )
            .expect("ids");
        }
        let before = common::files_in(&work);
        let clean = env.command();
        let mut bash = std::process::Command::new("bash");
        for (k, v) in clean.get_envs() {
            match v {
                Some(v) => bash.env(k, v),
                None => bash.env_remove(k),
            };
        }
        let out = bash
            .current_dir(&work)
            .env("PATH", &path)
            .args(["-o", "pipefail", "-c", example])
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "{example}: exit {:?}: {}",
            out.status.code(),
            stderr_of(&out)
        );
        let new_files: Vec<String> = common::files_in(&work)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        let wrote = new_files
            .iter()
            .any(|f| std::fs::metadata(work.join(f)).is_ok_and(|m| m.len() > 200));
        assert!(
            out.stdout.len() > 20 || wrote,
            "{example}: no records: {}",
            stdout_of(&out)
        );
    };
    // The archive's examples build on each other: they run in the README's order, on one
    // thread; the others are shared out between three.
    let (stateful, free): (Vec<_>, Vec<_>) = examples
        .iter()
        .enumerate()
        .partition(|(_, e)| e.contains("sync") || e.contains("archive"));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let pool = || {
        while let Some((i, example)) =
            free.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
        {
            run(*i, example);
        }
    };
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for (i, example) in &stateful {
                run(*i, example);
            }
            pool();
        });
        scope.spawn(pool);
        scope.spawn(pool);
    });
}

/// Ctrl-C in the middle of a run: exit 130, and the terminal shows no progress line.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_run_leaves_no_progress_line() {
    let fake = FeishuFake::start(State {
        talent: talent_dataset(&["ou_1"], &[1], 200, 1_700_000_000_000),
        faults: hrlogs::sandbox::Faults {
            latency: std::time::Duration::from_millis(200),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let (pty, mut cmd) = pty_command(&env, 24, 100);
    for (k, v) in fake.vars() {
        cmd.env(k, v);
    }
    let file = env.path("out.ndjson");
    cmd.args(["--page-size", "1", "-o"]);
    cmd.arg(&file);
    cmd.args(words("feishu talent-logs --operator ou_1 --operation 1"));
    let mut child = pty.slave.spawn_command(cmd).expect("spawn");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("reader");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = reader.read(&mut chunk) {
            if n == 0 || tx.send(chunk[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut shown = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !String::from_utf8_lossy(&shown).contains("requests (") {
        assert!(std::time::Instant::now() < deadline, "no progress drawn");
        if let Ok(bytes) = rx.recv_timeout(std::time::Duration::from_millis(100)) {
            shown.extend(bytes);
        }
    }
    let pid = child.process_id().expect("pid");
    // SAFETY: sends SIGINT to the child this test started.
    unsafe {
        libc::kill(pid as i32, libc::SIGINT);
    }
    let status = child.wait().expect("wait");
    drop(pty.master);
    while let Ok(bytes) = rx.recv_timeout(std::time::Duration::from_millis(500)) {
        shown.extend(bytes);
    }
    assert_eq!(status.exit_code(), 130);
    let lines = screen(&shown, 24, 100);
    assert!(
        lines.iter().all(|l| !l.contains("requests (")),
        "a progress line stayed: {lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("interrupted")),
        "says so: {lines:?}"
    );
    assert!(!file.exists(), "nothing left at -o");
}

/// A wait the vendor asks for shows in the progress display while it lasts and leaves no line
/// on the screen; without a terminal it is a line on stderr.
#[tokio::test(flavor = "multi_thread")]
async fn a_vendor_wait_shows_while_it_lasts() {
    use common::feishu::{date, dept_dataset};
    let fake = FeishuFake::start(State {
        dept: dept_dataset(1, date("2024-01-01"), date("2024-01-31"), 30),
        throttle_first: 1,
        reset_seconds: Some(3),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let vars: Vec<(&str, String)> = fake.vars().into_iter().collect();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args = words(
        "-o out.ndjson feishu dept-logs --department 7094136522860900000 --since 2024-01-01 --until 2024-01-31",
    );
    let (bytes, code) = on_terminal_sized(&env, &args, &vars, 24, 100);
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("Feishu asked to wait 3 s"),
        "shown while waiting: {text}"
    );
    let lines = screen(&bytes, 24, 100);
    assert!(
        lines.iter().all(|l| !l.contains("asked to wait")),
        "gone once over: {lines:?}"
    );
}

// ------------------------------------------------ issue 22: answers read and trusted at a glance

/// Runs hrlogs (sandbox, UTC) and returns its output, checked to have succeeded.
fn ok_run(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> std::process::Output {
    let out = env
        .hrlogs()
        .envs(vars.iter().copied())
        .args(args)
        .output()
        .expect("run");
    assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
    out
}

/// The rows of a sheet of the workbook at `path`.
fn sheet_rows(path: &std::path::Path, sheet: &str) -> Vec<Vec<calamine::Data>> {
    use calamine::{Reader, Xlsx, open_workbook};
    let mut book: Xlsx<_> = open_workbook(path).expect("a workbook");
    let range = book.worksheet_range(sheet).expect("sheet");
    range.rows().map(|r| r.to_vec()).collect()
}

/// Excel's serial day of a civil date-time (days since 1899-12-30).
fn serial(civil: jiff::civil::DateTime) -> f64 {
    let ts = civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .expect("a time")
        .timestamp();
    ts.as_millisecond() as f64 / 86_400_000.0 + 25_569.0
}

const DEPT: [&str; 7] = [
    "--sandbox",
    "feishu",
    "dept-logs",
    "--department",
    "7094136522860922111",
    "--since",
    "1000d",
];

/// The workbook's first sheet shows what the table shows, for people: when, who, the
/// operation in words, the change as `field: before → after` one per line, the department id
/// as text, the effective date as a date; the vendor's fields stay whole on a "raw" sheet.
#[test]
fn workbooks_show_what_the_table_shows_and_keep_the_vendors_fields_raw() {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let env = Env::new();
    let path = env.path("dept.xlsx");
    let path_arg = path.to_str().expect("utf8");
    let mut args = DEPT.to_vec();
    args.extend(["--limit", "6", "-o", path_arg]);
    ok_run(&env, &args, &[]);
    let mut json_args = DEPT.to_vec();
    json_args.extend(["--limit", "6", "-f", "ndjson"]);
    let records = common::ndjson(&ok_run(&env, &json_args, &[]).stdout);
    let mut csv_args = DEPT.to_vec();
    csv_args.extend(["--limit", "6", "-f", "csv"]);
    let csv = stdout_of(&ok_run(&env, &csv_args, &[]));
    assert_eq!(records.len(), 6);

    let book: Xlsx<_> = open_workbook(&path).expect("a workbook");
    assert_eq!(book.sheet_names(), ["records", "raw"]);
    let rows = sheet_rows(&path, "records");
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(
        header,
        [
            "TIME (tenant clock)",
            "BY",
            "OPERATION",
            "CHANGE",
            "DEPARTMENT",
            "REASON",
            "EFFECTIVE"
        ]
    );
    let meanings = [
        (10, "create record"),
        (20, "create/copy version"),
        (50, "edit version"),
        (60, "revoke version"),
        (70, "disable"),
        (80, "enable"),
        (90, "delete record"),
        (100, "custom sort"),
        (110, "update"),
        (120, "edit association rules"),
    ];
    for (row, record) in rows[1..].iter().zip(&records) {
        let code = record["operation_type"].as_i64().expect("a code");
        let meaning = meanings
            .iter()
            .find(|(c, _)| *c == code)
            .expect("documented")
            .1;
        assert_eq!(row[2], Data::String(format!("{code} {meaning}")));
        assert_eq!(
            row[1],
            Data::String(record["operator"].as_str().expect("operator").into())
        );
        assert_eq!(
            row[4],
            Data::String("7094136522860922111".into()),
            "the id is text"
        );
        let Data::String(change) = &row[3] else {
            panic!("a change is text: {:?}", row[3]);
        };
        let changes = record["changes"].as_array().expect("changes");
        assert_eq!(change.lines().count(), changes.len(), "{change}");
        for (line, c) in change.lines().zip(changes) {
            let field = c["field"].as_str().expect("field");
            assert!(
                line.starts_with(&format!("{field}: ")) && line.contains(" → "),
                "{line}"
            );
        }
        assert!(!change.contains('{'), "no JSON: {change}");
        let wall: jiff::civil::DateTime = record["operation_time"]
            .as_str()
            .expect("time")
            .parse()
            .expect("a wall clock");
        match &row[0] {
            Data::DateTime(t) => assert!((t.as_f64() - serial(wall)).abs() < 1e-6),
            other => panic!("a time is a date-time cell, not {other:?}"),
        }
        let day: jiff::civil::Date = record["effective_time"]
            .as_str()
            .expect("date")
            .parse()
            .expect("a date");
        match &row[6] {
            Data::DateTime(d) => assert!((d.as_f64() - serial(day.at(0, 0, 0, 0))).abs() < 1e-9),
            other => panic!("a date is a date cell, not {other:?}"),
        }
    }

    // The raw sheet: csv's default columns, every cell the text csv writes.
    let raw = sheet_rows(&path, "raw");
    let csv_header: Vec<String> = csv
        .lines()
        .next()
        .expect("header")
        .split(',')
        .map(String::from)
        .collect();
    let raw_header: Vec<String> = raw[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(raw_header, csv_header);
    let col = |name: &str| raw_header.iter().position(|h| h == name).expect(name);
    for (row, record) in raw[1..].iter().zip(&records) {
        assert_eq!(
            row[col("operation_type")],
            Data::String(record["operation_type"].to_string())
        );
        assert_eq!(
            row[col("changes")],
            Data::String(record["changes"].to_string())
        );
        assert_eq!(
            row[col("operation_time")],
            Data::String(record["operation_time"].as_str().expect("time").into())
        );
    }
    assert_eq!(raw.len(), rows.len());

    // --wide chooses the first sheet's columns: the csv columns, still shown for people.
    let wide = env.path("wide.xlsx");
    let mut args = DEPT.to_vec();
    args.extend(["--limit", "2", "--wide", "-o", wide.to_str().expect("utf8")]);
    ok_run(&env, &args, &[]);
    let rows = sheet_rows(&wide, "records");
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(header[0], "operation_time (tenant clock)");
    assert_eq!(header[1..], csv_header[1..]);
}

/// With the tenant's zone set, department times in a workbook are instants shown in --tz, and
/// the header names the zone; without it, the run says which zone it assumed, once.
#[test]
fn the_tenants_zone_turns_department_times_into_instants() {
    use calamine::Data;
    let env = Env::new();
    let path = env.path("dept.xlsx");
    let mut args = DEPT.to_vec();
    args.extend([
        "--limit",
        "1",
        "--tz",
        "UTC",
        "-o",
        path.to_str().expect("utf8"),
    ]);
    let zone = [("HRLOGS_FEISHU_TENANT_TIME_ZONE", "Asia/Shanghai")];
    let out = ok_run(&env, &args, &zone);
    assert!(
        !stderr_of(&out).contains("tenant_time_zone"),
        "{}",
        stderr_of(&out)
    );
    let mut json_args = DEPT.to_vec();
    json_args.extend(["--limit", "1", "-f", "ndjson"]);
    let record = &common::ndjson(&ok_run(&env, &json_args, &[]).stdout)[0];
    let wall: jiff::civil::DateTime = record["operation_time"]
        .as_str()
        .expect("time")
        .parse()
        .expect("a wall clock");
    let rows = sheet_rows(&path, "records");
    assert_eq!(rows[0][0].to_string(), "TIME (UTC)");
    match &rows[1][0] {
        Data::DateTime(t) => {
            let expected = serial(wall) - 8.0 / 24.0;
            assert!(
                (t.as_f64() - expected).abs() < 1e-6,
                "{} vs {expected}",
                t.as_f64()
            );
        }
        other => panic!("a date-time cell, not {other:?}"),
    }

    // Unset: one warning naming the setting.
    let out = ok_run(&env, &args, &[]);
    let err = stderr_of(&out);
    assert_eq!(
        err.matches("HRLOGS_FEISHU_TENANT_TIME_ZONE").count(),
        1,
        "{err}"
    );
    // Not a zone: a configuration error naming the key.
    let out = env
        .hrlogs()
        .env("HRLOGS_FEISHU_TENANT_TIME_ZONE", "Mars/Olympus")
        .args(&args)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("feishu.tenant_time_zone"));
    // A table does not depend on it: no warning.
    let mut table = DEPT.to_vec();
    table.extend(["--limit", "1", "-f", "table"]);
    assert!(!stderr_of(&ok_run(&env, &table, &[])).contains("TENANT_TIME_ZONE"));
}

/// Talent operation codes in words, from Feishu's Hire enum page, wherever hrlogs shows
/// them: `--operation`'s `--help` lists every code (English and Feishu's own words) while `-h`
/// stays short; the table says `3001 add to job`, a long meaning going on under itself at 80
/// columns; the workbook's first sheet says the same while its raw sheet keeps the number as
/// sent; a code the page does not define stays its number everywhere.
#[test]
fn talent_operation_codes_are_shown_in_words() {
    use calamine::Data;
    let env = Env::new();
    let help = stdout_of(&ok_run(
        &env,
        &["feishu", "talent-logs", "--help"],
        &[("COLUMNS", "80")],
    ));
    assert!(
        help.contains("https://open.feishu.cn/document/server-docs/hire-v1/enum")
            && help.contains("操作类型枚举定义"),
        "{help}"
    );
    for line in [
        "      1  create talent (新建人才)",
        "   3001  add to job (加入职位)",
        "     27  view candidate information (查看候选人信息)",
        "1000100  move stage (转移阶段)",
    ] {
        assert!(help.contains(line), "--help lists {line:?}:\n{help}");
    }
    for line in help.lines() {
        assert!(
            unicode_width::UnicodeWidthStr::width(line) <= 80,
            "{line:?}"
        );
    }
    let short = stdout_of(&ok_run(&env, &["feishu", "talent-logs", "-h"], &[]));
    assert!(!short.contains("加入职位"), "-h stays short:\n{short}");
    assert!(
        short.contains("--help lists them with their meanings"),
        "{short}"
    );

    let talent = |ops: &str| -> Vec<String> {
        words(&format!(
            "--sandbox feishu talent-logs --operator ou_b29276c7c3e2ff4bd3fcfb567ce690e3 \
             --operation {ops}"
        ))
        .into_iter()
        .map(String::from)
        .collect()
    };
    let run = |args: Vec<String>, extra: &[&str], vars: &[(&str, &str)]| {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend(extra);
        ok_run(&env, &all, vars)
    };

    // The table at 80 columns: words, and a long meaning wrapped whole, never cut.
    let table = stdout_of(&run(
        talent("3001,100034,6"),
        &["-f", "table", "--limit", "40"],
        &[("COLUMNS", "80")],
    ));
    assert!(
        table
            .lines()
            .next()
            .is_some_and(|h| h.contains("OPERATION"))
    );
    for line in table.lines() {
        assert!(
            unicode_width::UnicodeWidthStr::width(line) <= 80,
            "{line:?}"
        );
    }
    let joined = table.split_whitespace().collect::<Vec<_>>().join(" ");
    for shown in ["3001 add to job", "100034 reject: resume not passed"] {
        assert!(joined.contains(shown), "{shown:?} in\n{table}");
    }

    // The workbook: the same words on the first sheet, the number as sent on the raw one.
    let path = env.path("talent.xlsx");
    let path_arg = path.to_str().expect("utf8");
    run(talent("1,3001,6"), &["-o", path_arg], &[]);
    let records = common::ndjson(&run(talent("1,3001,6"), &["-f", "ndjson"], &[]).stdout);
    let rows = sheet_rows(&path, "records");
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    let op = header
        .iter()
        .position(|h| h == "OPERATION")
        .expect("OPERATION");
    let talent_col = header.iter().position(|h| h == "TALENT").expect("TALENT");
    assert_eq!(rows.len(), records.len() + 1);
    let mut seen = std::collections::BTreeSet::new();
    for (row, record) in rows[1..].iter().zip(&records) {
        let code = record["operation_type"].as_str().expect("a code as text");
        let words = match code {
            "1" => "1 create talent",
            "3001" => "3001 add to job",
            "6" => "6",
            other => panic!("asked for 1, 3001 and 6, got {other}"),
        };
        assert_eq!(row[op], Data::String(words.into()), "{record}");
        assert_eq!(
            row[talent_col],
            Data::String(record["talent_id"].as_str().expect("id").into()),
            "the id is text"
        );
        seen.insert(code.to_string());
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    // --fields still chooses the first sheet's columns, still shown for people.
    let fields = env.path("fields.xlsx");
    run(
        talent("3001"),
        &[
            "--limit",
            "1",
            "--fields",
            "operation_type,talent_id",
            "-o",
            fields.to_str().expect("utf8"),
        ],
        &[],
    );
    let picked = sheet_rows(&fields, "records");
    assert_eq!(
        picked[0].iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        ["operation_type", "talent_id"]
    );
    assert_eq!(picked[1][0], Data::String("3001 add to job".into()));

    let raw = sheet_rows(&path, "raw");
    let raw_header: Vec<String> = raw[0].iter().map(|c| c.to_string()).collect();
    let raw_op = raw_header
        .iter()
        .position(|h| h == "operation_type")
        .expect("operation_type");
    for (row, record) in raw[1..].iter().zip(&records) {
        assert_eq!(
            row[raw_op],
            Data::String(record["operation_type"].as_str().expect("code").into())
        );
    }
}

/// `--bom` starts csv with a byte-order mark; nothing else does.
#[test]
fn csv_takes_a_byte_order_mark_on_request() {
    let env = Env::new();
    let bom = ok_run(
        &env,
        &["--sandbox", "-f", "csv", "--bom", "recruitee", "offers"],
        &[],
    );
    assert!(
        bom.stdout.starts_with(b"\xef\xbb\xbfid,"),
        "{:?}",
        &bom.stdout[..8]
    );
    let plain = ok_run(
        &env,
        &["--sandbox", "-f", "csv", "recruitee", "offers"],
        &[],
    );
    assert!(plain.stdout.starts_with(b"id,"));
    let file = env.path("offers.csv");
    ok_run(
        &env,
        &[
            "--sandbox",
            "--bom",
            "-o",
            file.to_str().expect("utf8"),
            "recruitee",
            "offers",
        ],
        &[],
    );
    assert!(
        std::fs::read(&file)
            .expect("file")
            .starts_with(b"\xef\xbb\xbf")
    );
}

/// A csv file written at a terminal draws one hint towards the workbook; not with -q, not
/// when stderr is not a terminal.
#[test]
fn a_csv_file_written_at_a_terminal_suggests_the_workbook() {
    let env = Env::new();
    let file = env.path("offers.csv");
    let file = file.to_str().expect("utf8");
    let (shown, code) = on_terminal(&env, &["--sandbox", "-o", file, "recruitee", "offers"]);
    assert_eq!(code, 0, "{shown}");
    assert_eq!(shown.matches("hint:").count(), 1, "{shown}");
    assert!(
        shown.contains("offers.xlsx") && shown.contains("19-digit"),
        "{shown}"
    );
    let (shown, _) = on_terminal(
        &env,
        &["--sandbox", "-q", "-o", file, "recruitee", "offers"],
    );
    assert!(!shown.contains("hint:"), "{shown}");
    let json = env.path("offers.json");
    let json = json.to_str().expect("utf8");
    let (shown, _) = on_terminal(&env, &["--sandbox", "-o", json, "recruitee", "offers"]);
    assert!(!shown.contains("hint:"), "{shown}");
    let out = ok_run(&env, &["--sandbox", "-o", file, "recruitee", "offers"], &[]);
    assert!(!stderr_of(&out).contains("hint:"));
}

/// Several candidates share a name: the audit log's default columns carry the candidate's id.
#[test]
fn audit_defaults_carry_the_candidate_id() {
    let env = Env::new();
    let csv = stdout_of(&ok_run(
        &env,
        &[
            "--sandbox",
            "-f",
            "csv",
            "--limit",
            "3",
            "recruitee",
            "audit",
        ],
        &[],
    ));
    let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    assert!(header.contains(&"candidate.id"), "{header:?}");
    let ndjson = common::ndjson(
        &ok_run(
            &env,
            &[
                "--sandbox",
                "-f",
                "ndjson",
                "--limit",
                "3",
                "recruitee",
                "audit",
            ],
            &[],
        )
        .stdout,
    );
    let table = stdout_of(&ok_run(
        &env,
        &[
            "--sandbox",
            "-f",
            "table",
            "--limit",
            "3",
            "recruitee",
            "audit",
        ],
        &[("COLUMNS", "120")],
    ));
    let first = table.lines().next().expect("header");
    assert!(
        first.contains("CANDIDATE") && first.contains(" ID "),
        "{table}"
    );
    let id = ndjson[0]["candidate"]["id"].to_string();
    assert!(
        table.lines().nth(1).expect("a row").contains(&id),
        "{table}"
    );
}

/// The pager decides on the lines the table draws, wrapped changes included: department
/// records whose changes go on under themselves fill more lines than there are records.
#[test]
fn a_table_that_wraps_past_the_screen_is_paged() {
    let env = Env::new();
    let args = words(
        "--sandbox --limit 22 -f table feishu dept-logs --department 7094136522860922111 --since 1000d",
    );
    let piped = env
        .hrlogs()
        .env("COLUMNS", "80")
        .args(&args)
        .output()
        .expect("run");
    assert!(piped.status.success(), "{}", stderr_of(&piped));
    let drawn = stdout_of(&piped).lines().count();
    // A header and 22 records, some of them on two lines.
    assert!(drawn > 23 + 3, "the sample wraps: {drawn} lines");
    let rows = u16::try_from(drawn - 1).expect("a height");
    let pager = [("HRLOGS_PAGER", "sed s/^/PAGED:/")];
    let (bytes, code) = on_terminal_sized(&env, &args, &pager, rows, 80);
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(code, 0, "{text:.2000}");
    let tail: String = text
        .chars()
        .rev()
        .take(1500)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(
        text.matches("PAGED:").count() == drawn,
        "{drawn} lines on a screen of {rows}: every line paged: {tail}"
    );
    // One line more than it draws: not paged.
    let rows = u16::try_from(drawn + 2).expect("a height");
    let (bytes, _) = on_terminal_sized(&env, &args, &pager, rows, 80);
    assert!(!String::from_utf8_lossy(&bytes).contains("PAGED:"));
}

/// The characters of the progress display's spinner.
const SPINNER: [char; 18] = [
    '⠁', '⠂', '⠄', '⡀', '⢀', '⠠', '⠐', '⠈', '⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏',
];

/// No progress line and no spinner among the lines a terminal shows.
#[track_caller]
fn assert_no_progress_left(lines: &[String], what: &str) {
    for line in lines {
        assert!(
            !line.contains("requests (") && !line.chars().any(|c| SPINNER.contains(&c)),
            "{what}: a progress line stayed on the screen: {line:?} in {lines:#?}"
        );
    }
}

/// Whatever way a run ends, the screen holds no progress line; a run that failed before it
/// fetched anything has no summary line; commands that fetch nothing draw no display.
#[test]
fn every_end_leaves_the_screen_clean() {
    let env = Env::new();
    let archive = env.path("a.sqlite3");
    let archive = archive.to_str().expect("utf8 path");
    let cases: &[(&str, Vec<&str>, u32)] = &[
        (
            "success to a file",
            words("--sandbox -o out.ndjson recruitee offers"),
            0,
        ),
        (
            "failure before fetching",
            words("--sandbox -o out.ndjson recruitee audit --since 2024-05-01 --until 2024-04-01"),
            2,
        ),
        (
            "failure after fetching",
            words("--sandbox -o out.json recruitee candidates 1"),
            4,
        ),
        (
            "a sync to a file",
            vec![
                "--sandbox",
                "--archive",
                archive,
                "-f",
                "ndjson",
                "-o",
                "s.ndjson",
                "sync",
                "recruitee",
                "audit",
            ],
            0,
        ),
        (
            "archive status",
            vec!["--archive", archive, "archive", "status"],
            0,
        ),
        (
            "archive verify",
            vec!["--archive", archive, "archive", "verify"],
            0,
        ),
    ];
    for (what, args, expected) in cases {
        let (bytes, code) = on_terminal_sized(&env, args, &[], 24, 100);
        let lines = screen(&bytes, 24, 100);
        assert_eq!(code, *expected, "{what}: {lines:#?}");
        assert_no_progress_left(&lines, what);
        if *expected == 2 || what.starts_with("archive") {
            assert!(
                !lines.iter().any(|l| l.contains("retries in")),
                "{what}: no summary line when nothing was fetched: {lines:#?}"
            );
        }
    }
}

/// With a total from the vendor, the display counts records against it.
#[test]
fn progress_counts_against_the_vendors_total() {
    let env = Env::new();
    let (bytes, code) = on_terminal_sized(
        &env,
        &words("--sandbox --page-size 50 -o out.ndjson recruitee audit"),
        &[],
        24,
        100,
    );
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(code, 0, "{text:.2000}");
    let counted = text
        .split(['\r', '\n'])
        .any(|l| l.contains(" of 12,0") && l.contains("%)") && l.contains("requests ("));
    assert!(
        counted,
        "records of the total, with a percentage: {text:.3000}"
    );
    assert_no_progress_left(&screen(&bytes, 24, 100), "audit to a file");
}

/// Sends `signal` to a run on a terminal once its display shows; the run ends with `code`
/// and leaves no progress line.
async fn signalled_run_leaves_no_progress_line(signal: i32, code: u32, says: &str) {
    let fake = FeishuFake::start(State {
        talent: talent_dataset(&["ou_1"], &[1], 200, 1_700_000_000_000),
        faults: hrlogs::sandbox::Faults {
            latency: std::time::Duration::from_millis(200),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let (pty, mut cmd) = pty_command(&env, 24, 100);
    for (k, v) in fake.vars() {
        cmd.env(k, v);
    }
    cmd.args(words(
        "--page-size 1 -o out.ndjson feishu talent-logs --operator ou_1 --operation 1",
    ));
    let mut child = pty.slave.spawn_command(cmd).expect("spawn");
    drop(pty.slave);
    let rx = pty_reader(&*pty.master);
    let shown = read_until(&rx, Vec::new(), "requests (");
    let pid = child.process_id().expect("pid");
    // SAFETY: signals the child this test started.
    unsafe {
        libc::kill(pid as i32, signal);
    }
    let status = child.wait().expect("wait");
    drop(pty.master);
    let shown = drain(&rx, shown);
    assert_eq!(status.exit_code(), code);
    let lines = screen(&shown, 24, 100);
    assert_no_progress_left(&lines, says);
    assert!(lines.iter().any(|l| l.contains(says)), "{lines:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_terminated_run_leaves_no_progress_line() {
    signalled_run_leaves_no_progress_line(libc::SIGTERM, 143, "terminated").await;
}

/// What a pseudo-terminal shows, as it comes, read on a thread of its own.
fn pty_reader(master: &dyn portable_pty::MasterPty) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let mut reader = master.try_clone_reader().expect("reader");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = reader.read(&mut chunk) {
            if n == 0 || tx.send(chunk[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads on until the terminal has shown `needle` (60 s at most).
fn read_until(
    rx: &std::sync::mpsc::Receiver<Vec<u8>>,
    mut shown: Vec<u8>,
    needle: &str,
) -> Vec<u8> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !String::from_utf8_lossy(&shown).contains(needle) {
        assert!(
            std::time::Instant::now() < deadline,
            "{needle:?} never shown: {}",
            String::from_utf8_lossy(&shown)
        );
        if let Ok(bytes) = rx.recv_timeout(std::time::Duration::from_millis(100)) {
            shown.extend(bytes);
        }
    }
    shown
}

/// Whatever else the terminal receives until the child's end.
fn drain(rx: &std::sync::mpsc::Receiver<Vec<u8>>, mut shown: Vec<u8>) -> Vec<u8> {
    while let Ok(bytes) = rx.recv_timeout(std::time::Duration::from_millis(500)) {
        shown.extend(bytes);
    }
    shown
}

/// `sync --follow` on a terminal: while it waits for the next round, the screen shows the
/// round's summary and no progress line.
#[test]
fn follow_leaves_no_progress_line_between_rounds() {
    let env = Env::new();
    let archive = env.path("f.sqlite3");
    let archive = archive.to_str().expect("utf8 path");
    // The archive holds the sample already: the rounds on the terminal find little or nothing.
    let first = env
        .hrlogs()
        .args(["--sandbox", "--archive", archive, "-f", "ndjson"])
        .args(["sync", "recruitee", "audit"])
        .output()
        .expect("run");
    common::assert_ok(&first);
    let (pty, mut cmd) = pty_command(&env, 24, 100);
    cmd.args(["--sandbox", "--archive", archive, "-f", "ndjson"]);
    cmd.args(words("sync recruitee audit --follow --interval 4s"));
    let mut child = pty.slave.spawn_command(cmd).expect("spawn");
    drop(pty.slave);
    let rx = pty_reader(&*pty.master);
    let shown = read_until(&rx, Vec::new(), "hrlogs: sync recruitee audit:");
    // Well inside the wait before the next round.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let mut shown = shown;
    while let Ok(bytes) = rx.try_recv() {
        shown.extend(bytes);
    }
    let lines = screen(&shown, 24, 100);
    let pid = child.process_id().expect("pid");
    // SAFETY: signals the child this test started.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let status = child.wait().expect("wait");
    drop(pty.master);
    assert_eq!(status.exit_code(), 143);
    assert_no_progress_left(&lines, "between rounds");
    assert!(
        lines
            .last()
            .is_some_and(|l| l.contains("hrlogs: sync recruitee audit:")),
        "the round's summary is the last line: {lines:#?}"
    );
}

/// `-h` shows a command's own flags and points to `--help` for the global ones, which only
/// `--help` lists: `archive verify -h` does not list `--csv-raw`.
#[test]
fn short_help_shows_the_commands_own_flags() {
    let env = Env::new();
    let help = |path: &[&str], flag: &str| {
        let out = env
            .hrlogs()
            .env("COLUMNS", "80")
            .args(path)
            .args((!flag.is_empty()).then_some(flag))
            .output()
            .expect("run");
        assert!(out.status.success(), "{path:?} {flag}");
        stdout_of(&out)
    };
    for path in COMMANDS {
        let short = help(path, "-h");
        let long = help(path, "--help");
        for global in ["--csv-raw", "--no-pager", "--page-size", "--max-retries"] {
            assert!(
                !short.contains(global),
                "{path:?} -h lists {global}:\n{short}"
            );
            assert!(long.contains(global), "{path:?} --help lists {global}");
        }
        assert_eq!(
            short.trim_end().lines().last(),
            Some(POINTER),
            "{path:?} -h ends with the pointer to the global options:\n{short}"
        );
        assert!(!long.contains(POINTER), "{path:?}");
        assert!(
            short.lines().count() < 60,
            "{path:?} -h is {} lines:\n{short}",
            short.lines().count()
        );
        for line in short.lines() {
            assert!(
                unicode_width::UnicodeWidthStr::width(line) <= 80,
                "{path:?}: wider than 80: {line:?}"
            );
        }
    }
    insta::assert_snapshot!("short_help_audit", help(&["recruitee", "audit"], "-h"));

    // Where the pointer leads: every global option, and nothing else but -h and -V.
    let globals = help(&["help", "globals"], "");
    insta::assert_snapshot!("help_globals", globals);
    let long = help(&["feishu", "talent-logs"], "--help");
    for flag in [
        "--format",
        "--fields",
        "--limit",
        "--output",
        "--csv-raw",
        "--bom",
        "--tz",
        "--wide",
        "--no-pager",
        "--color",
        "--page-size",
        "--timeout",
        "--max-retries",
        "--dry-run",
        "--sandbox",
        "--profile",
        "--config",
        "--archive",
        "--quiet",
        "--verbose",
        "--no-progress",
    ] {
        assert!(long.contains(flag), "{flag} is global");
        assert!(
            globals.contains(flag),
            "help globals lists {flag}:\n{globals}"
        );
    }
    assert!(!globals.contains("--operator") && !globals.contains("Examples:"));
    assert_eq!(
        help(&["globals"], ""),
        globals,
        "`hrlogs globals` says the same"
    );
    // `hrlogs help <command>` is still the command's --help.
    assert_eq!(help(&["help", "feishu", "talent-logs"], ""), long);
    assert_eq!(
        help(&["help", "archive", "verify"], ""),
        help(&["archive", "verify"], "--help")
    );
    insta::assert_snapshot!(
        "short_help_archive_verify",
        help(&["archive", "verify"], "-h")
    );
}

/// A date that does not exist is named as such; times in messages read as a person writes them.
#[test]
fn dates_and_times_in_messages_read_as_people_write_them() {
    let env = Env::new();
    let run = |args: &str| {
        let out = env.hrlogs().args(words(args)).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args}: {}", stderr_of(&out));
        stderr_of(&out)
    };
    let err = run("--sandbox recruitee audit --since 2024-13-01");
    assert!(err.contains("month 13 does not exist"), "{err}");
    assert!(!err.contains("RFC 3339"), "not the list of formats: {err}");
    let err = run("--sandbox feishu dept-logs --department 7094136522860922111 --since 2023-02-29");
    assert!(err.contains("February 2023 has 28 days"), "{err}");
    let err = run("--sandbox recruitee audit --since 2024-05-02 --until 2024-05-01");
    assert!(
        err.contains("2024-05-01 23:59:59 UTC") && err.contains("2024-05-02 00:00:00 UTC"),
        "{err}"
    );
    assert!(!err.contains(".999999999"), "{err}");
    let err = run(
        "--sandbox --tz Asia/Shanghai feishu talent-logs --operator ou_1 --operation 1 --since 2024-05-02 --until 2024-05-01",
    );
    assert!(err.contains("2024-05-01 23:59:59 Asia/Shanghai"), "{err}");
}

/// `-q` means nothing on stderr but errors: not even the table's "(no records)".
#[test]
fn quiet_tables_say_nothing_when_there_is_nothing() {
    let env = Env::new();
    let args = words("--sandbox --no-pager recruitee audit --actor Nobody-at-all --since 1d");
    let (shown, code) = on_terminal(&env, &args);
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("(no records)"), "{shown}");
    let mut quiet = vec!["-q"];
    quiet.extend_from_slice(&args);
    let (shown, code) = on_terminal(&env, &quiet);
    assert_eq!(code, 0, "{shown}");
    assert!(!shown.contains("(no records)"), "{shown}");
}
