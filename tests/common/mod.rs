//! Test harness: the real `hrlogs` binary against the crate's one fake per vendor
//! (`hrlogs::sandbox`) on loopback, answering the way Feishu and Recruitee do: tokens,
//! pagination, validation, error bodies, faults.
#![allow(dead_code)]

pub mod feishu;
pub mod postgres;
pub mod recruitee;

use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

/// A test's own home: no user config, no stray HRLOGS_* variables.
pub struct Env {
    pub home: TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            home: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The `hrlogs` binary with a clean environment (no user config, no stray HRLOGS_*
    /// variables, fast retries, UTC), as a plain process for tests that drive it themselves.
    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("hrlogs"));
        for (k, _) in std::env::vars() {
            if k.starts_with("HRLOGS_") || k == "NO_COLOR" {
                cmd.env_remove(k);
            }
        }
        cmd.env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env("HRLOGS_RETRY_MIN_DELAY_MS", "1")
            // Pacing lifted: tests are not about the vendors' rates (those are checked on a
            // simulated clock and in the benchmark); a fake's helper that needs the vendor's
            // own pacing sets it again.
            .env("HRLOGS_FEISHU_DEPT_LOGS_PER_SECOND", "1000")
            .env("HRLOGS_FEISHU_TALENT_LOGS_PER_SECOND", "1000")
            .env("HRLOGS_FEISHU_TALENT_LOGS_PER_MINUTE", "100000")
            .env("HRLOGS_RECRUITEE_RATE_LIMIT", "1000")
            .env("TZ", "UTC");
        cmd
    }

    /// [`Env::command`] for `assert_cmd`, with a time limit.
    pub fn hrlogs(&self) -> Command {
        let mut cmd = Command::from_std(self.command());
        cmd.timeout(std::time::Duration::from_secs(120));
        cmd
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.home.path().join(name)
    }
}

/// Asserts that a run succeeded; if not, the failure shows its exit code and stderr.
#[track_caller]
pub fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The lines of `out` (a child's stdout or stderr) as they come, read on a thread of their own
/// to the end, so that the child never writes to a pipe nobody reads.
pub fn lines_of(out: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// A command line's arguments, written as one would type them (no argument holds a space).
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Lines of stdout parsed as JSON.
pub fn ndjson(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad ndjson line {l:?}: {e}")))
        .collect()
}

/// Files in a folder (to check that no temporary file is left behind).
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The faults a fake injects (one type for both vendors' fakes, in `hrlogs::sandbox`).
pub use hrlogs::sandbox::Faults;

/// A finished run as a failed assertion shows it: its exit, stdout and stderr.
pub fn text(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
