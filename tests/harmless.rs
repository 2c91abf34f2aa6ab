//! Issue 18, harmless to the machine: what a vendor or a crafted archive sends cannot blow up
//! a table, fail a workbook, leak a secret in an encoded echo, or drive the terminal.

mod common;

use serde_json::{Value, json};

use common::recruitee::{COMPANY, RecruiteeFake, State, TOKEN};
use common::{Env, words};

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn rfc3339(s: i64) -> String {
    jiff::Timestamp::from_second(s)
        .expect("ts")
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `n` audit entries from an hour ago back, one a minute; `huge(i)` gives the actor of the
/// `i`-th (None: an ordinary name).
fn entries(n: i64, huge: impl Fn(i64) -> Option<String>) -> Vec<(i64, Value)> {
    let now = jiff::Timestamp::now().as_second();
    (0..n)
        .map(|i| {
            let at = now - 3600 - i * 60;
            let actor = huge(i).unwrap_or_else(|| format!("Ann {i}"));
            (
                at,
                json!({"_id": format!("e{i:04}"), "actor": actor, "event_name": "Admin viewed candidate",
                       "created_at": rfc3339(at), "candidate": {"name": format!("Cand {i}")}}),
            )
        })
        .collect()
}

async fn fake_with(audit: Vec<(i64, Value)>) -> RecruiteeFake {
    RecruiteeFake::start(State {
        audit,
        ..Default::default()
    })
    .await
}

// ---------------------------------------------------------------- 1. bounded tables

/// The widest a table cell is drawn without a terminal width (README, Output).
const MAX_CELL: usize = 1_000;

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_vendor_string_cannot_blow_up_a_table() {
    let rows = 40;
    // One 1 MB actor: today every row is padded to it (40 MB).
    let fake = fake_with(entries(rows, |i| (i == 7).then(|| "W".repeat(1_000_000)))).await;
    let env = Env::new();
    for extra in [&[][..], &["--wide"][..]] {
        let out = fake
            .hrlogs(&env)
            .args(["-f", "table"])
            .args(extra)
            .args(words("recruitee audit"))
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", stderr_of(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.lines().count(), rows as usize + 1, "{extra:?}");
        // Every line within a few cut cells' width, whatever the vendor sent.
        let bound = 8 * (MAX_CELL + 2) + 200;
        assert!(
            text.lines().all(|l| l.chars().count() <= bound),
            "{extra:?}: a line of {} characters",
            text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
        );
        assert!(
            out.stdout.len() < (rows as usize + 1) * bound * 4,
            "{extra:?}: {} bytes",
            out.stdout.len()
        );
        let cut = text
            .lines()
            .find(|l| l.contains("WWWW"))
            .expect("the huge cell is shown");
        assert!(cut.contains("W…"), "cut with an ellipsis");
        assert_eq!(cut.matches('W').count(), MAX_CELL - 1, "{extra:?}");
    }
    // Into a file too.
    let path = env.path("t.txt");
    let out = fake
        .hrlogs(&env)
        .arg("-o")
        .arg(&path)
        .args(words("recruitee audit"))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let size = std::fs::metadata(&path).expect("t.txt").len();
    assert!(size < 500_000, "{size} bytes");
}

// ---------------------------------------------------------------- 2. xlsx cells

#[tokio::test(flavor = "multi_thread")]
async fn an_overlong_cell_is_cut_not_a_failed_workbook() {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    // 20,000 emoji: 20,000 characters but 40,000 UTF-16 units; and 40,000 ASCII letters.
    let emoji = "😀".repeat(20_000);
    let ascii = "a".repeat(40_000);
    let (e, a) = (emoji.clone(), ascii.clone());
    let fake = fake_with(entries(3, move |i| match i {
        0 => Some(e.clone()),
        2 => Some(a.clone()),
        _ => None,
    }))
    .await;
    let env = Env::new();
    let path = env.path("audit.xlsx");
    let out = fake
        .hrlogs(&env)
        .arg("-o")
        .arg(&path)
        .args(words("recruitee audit"))
        .output()
        .expect("run");
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("cut")).collect();
    assert_eq!(warnings.len(), 1, "one warning per run: {err}");
    // Two values, each on both sheets (the people's and the raw).
    assert!(warnings[0].contains("4 cells"), "{err}");
    assert!(
        warnings[0].contains("32,767") || warnings[0].contains("32767"),
        "{err}"
    );

    let mut book: Xlsx<_> = open_workbook(&path).expect("a workbook");
    for (sheet, column) in [("records", "ACTOR"), ("raw", "actor")] {
        let range = book.worksheet_range(sheet).expect("sheet");
        let rows: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
        let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
        let actor = header
            .iter()
            .position(|h| h == column)
            .expect("an actor column");
        let cell = |row: usize| match &rows[row][actor] {
            Data::String(s) => s.clone(),
            other => panic!("a text cell, not {other:?}"),
        };
        for (row, original) in [(1, &emoji), (3, &ascii)] {
            let text = cell(row);
            let units = text.encode_utf16().count();
            assert!(units <= 32_767, "{units} UTF-16 units");
            assert!(units > 32_700, "cut near the limit, not far below: {units}");
            let kept = text
                .strip_suffix("…[cut]")
                .expect("a visible marker at the end");
            assert!(original.starts_with(kept), "a prefix of what was sent");
            assert!(kept.chars().all(|c| c == '😀' || c == 'a'), "no split pair");
        }
        assert_eq!(cell(2), "Ann 1", "a short cell is whole");
    }
}

// ---------------------------------------------------------------- 3. encoded echoes

fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..=chunk.len() {
            out.push(alphabet[((n >> (18 - 6 * k)) & 63) as usize] as char);
        }
        if pad {
            out.extend(std::iter::repeat_n('=', 3 - chunk.len()));
        }
    }
    out
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#[tokio::test(flavor = "multi_thread")]
async fn a_token_echoed_encoded_is_redacted() {
    // Every byte percent-encoded (lower and upper case hex), Basic auth of company:token,
    // and URL-safe base64 without padding.
    let percent: String = TOKEN
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            if i % 2 == 0 {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            }
        })
        .collect();
    let basic = base64(format!("{COMPANY}:{TOKEN}").as_bytes(), STANDARD, true);
    let url_safe = base64(TOKEN.as_bytes(), URL_SAFE, false);
    let message = format!(
        "refused: got Authorization Basic {basic}, query t={percent}&x=1, cookie {url_safe}"
    );
    let fake = RecruiteeFake::start(State {
        refuse_with: Some((400, json!({"error": message}))),
        ..Default::default()
    })
    .await;
    let env = Env::new();
    let out = fake
        .hrlogs(&env)
        .args(words("recruitee audit"))
        .output()
        .expect("run");
    let err = stderr_of(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("refused: got Authorization Basic"),
        "the vendor's words: {err}"
    );
    for secret in [TOKEN, &percent, &basic, &url_safe] {
        assert!(!err.contains(secret), "{secret} in {err}");
    }
    assert_eq!(err.matches("<redacted>").count(), 3, "{err}");
}

// ---------------------------------------------------------------- 4. archive commands

#[test]
fn archive_status_escapes_what_a_crafted_archive_holds() {
    let env = Env::new();
    let archive = env.path("a.sqlite3");
    let out = env
        .hrlogs()
        .arg("--sandbox")
        .arg("--archive")
        .arg(&archive)
        .args(words("sync recruitee audit -f ndjson"))
        .output()
        .expect("sync");
    assert!(out.status.success(), "{}", stderr_of(&out));
    {
        let conn = rusqlite::Connection::open(&archive).expect("open");
        conn.execute_batch(
            "UPDATE streams SET source = 'recruitee-audit\u{1b}[2J', tenant = 'x\u{1b}[2J\u{202e}',
                                query = '{\"q\":\"\u{1b}]0;owned\u{7}\"}';
             UPDATE meta SET value = 'head\u{1b}[31m' WHERE key = 'chain_head';",
        )
        .expect("tamper");
    }
    for format in [
        &["-f", "table"][..],
        &["-f", "csv"][..],
        &["-f", "json"][..],
    ] {
        let out = env
            .hrlogs()
            .arg("--archive")
            .arg(&archive)
            .args(format)
            .args(words("archive status"))
            .output()
            .expect("status");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr_of(&out),
        );
        assert!(out.status.success(), "{format:?}: {stderr}");
        for text in [&stdout, &stderr] {
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{202e}'),
                "{format:?}: {text:?}"
            );
        }
        if format.contains(&"json") {
            let v: Value = serde_json::from_str(&stdout).expect("json");
            assert_eq!(v["chain_head"], "head\u{1b}[31m", "json stays lossless");
            assert_eq!(v["streams"][0]["tenant"], "x\u{1b}[2J\u{202e}");
        } else {
            assert!(stdout.contains("head\\u{1b}[31m"), "{stdout}");
            assert!(stdout.contains("recruitee-audit\\u{1b}[2J"), "{stdout}");
        }
    }
    // verify names the altered archive without running what it holds.
    let out = env
        .hrlogs()
        .arg("--archive")
        .arg(&archive)
        .args(words("archive verify"))
        .output()
        .expect("verify");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}
