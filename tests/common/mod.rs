//! Test harness: the real `hrlogs` binary against loopback servers (wiremock) that answer the
//! way Feishu and Recruitee do: tokens, pagination, validation, error bodies, faults.
#![allow(dead_code)]

pub mod feishu;
pub mod recruitee;

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use assert_cmd::Command;
use tempfile::TempDir;
use wiremock::ResponseTemplate;

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

/// Injects faults into a share of answers, deterministically: every `every_5xx`-th request
/// answers 500, every `every_cut`-th a 200 whose body is cut off.
#[derive(Default)]
pub struct Faults {
    pub every_5xx: u64,
    pub every_cut: u64,
    /// Every `every_429`-th request answers 429 with the vendor's reset header.
    pub every_429: u64,
    counter: AtomicU64,
    pub injected: AtomicU64,
}

impl Faults {
    pub fn new(every_5xx: u64, every_cut: u64, every_429: u64) -> Faults {
        Faults {
            every_5xx,
            every_cut,
            every_429,
            ..Default::default()
        }
    }

    /// A fault to answer instead, if this request gets one. `rate_limited` builds the
    /// vendor's 429.
    pub fn pick(&self, rate_limited: impl Fn() -> ResponseTemplate) -> Option<ResponseTemplate> {
        let n = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        let hit = |every: u64| every > 0 && n % every == 0;
        let fault = if hit(self.every_5xx) {
            Some(ResponseTemplate::new(500).set_body_string("<html>502 Bad Gateway</html>"))
        } else if hit(self.every_cut) {
            Some(ResponseTemplate::new(200).set_body_raw(
                b"{\"code\":0,\"data\":{\"items\":[{\"appl".to_vec(),
                "application/json",
            ))
        } else if hit(self.every_429) {
            Some(rate_limited())
        } else {
            None
        };
        if fault.is_some() {
            self.injected.fetch_add(1, Ordering::SeqCst);
        }
        fault
    }
}

/// Records what a fake saw, for assertions.
#[derive(Default)]
pub struct Seen {
    pub bodies: Mutex<Vec<serde_json::Value>>,
    pub queries: Mutex<Vec<Vec<(String, String)>>>,
    pub violations: Mutex<Vec<String>>,
}

impl Seen {
    pub fn violation(&self, v: String) {
        self.violations.lock().expect("lock").push(v);
    }
    pub fn violations(&self) -> Vec<String> {
        self.violations.lock().expect("lock").clone()
    }
    pub fn count(&self) -> usize {
        self.queries.lock().expect("lock").len()
    }
}
