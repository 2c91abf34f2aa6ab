//! The pager, as gh and git use one: a table longer than the screen goes through
//! `HRLOGS_PAGER`, else `PAGER`, else `less -FRX`. An empty value or `cat` means none. A pager
//! that the user quits before the end is a normal end, not an error.

use std::io::{self, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set while the pager shows the output: Ctrl-C then belongs to the pager (as in git), and
/// hrlogs waits for it to end instead of leaving it behind on the terminal.
static PAGING: AtomicBool = AtomicBool::new(false);

/// Whether a pager is showing the output now.
pub fn paging() -> bool {
    PAGING.load(Ordering::SeqCst)
}

/// The pager command to run, if any.
pub fn command() -> Option<String> {
    let chosen = ["HRLOGS_PAGER", "PAGER"]
        .iter()
        .find_map(|k| std::env::var(k).ok())
        .unwrap_or_else(|| "less -FRX".to_string());
    let chosen = chosen.trim().to_string();
    (!chosen.is_empty() && chosen != "cat").then_some(chosen)
}

/// Shows `text` through the pager. Ok(false) when there is no pager or it cannot be started
/// (the caller then writes the text itself).
pub fn page(text: &str) -> io::Result<bool> {
    let Some(cmd) = command() else {
        return Ok(false);
    };
    let mut child = match shell(&cmd)
        .stdin(Stdio::piped())
        .env(
            "LESS",
            std::env::var("LESS").unwrap_or_else(|_| "FRX".into()),
        )
        .env("LV", std::env::var("LV").unwrap_or_else(|_| "-c".into()))
        .spawn()
    {
        Ok(child) => child,
        Err(_) => return Ok(false),
    };
    PAGING.store(true, Ordering::SeqCst);
    let shown = feed(&mut child, text);
    PAGING.store(false, Ordering::SeqCst);
    shown
}

/// Writes `text` to the pager and waits for the user to leave it.
fn feed(child: &mut std::process::Child, text: &str) -> io::Result<bool> {
    if let Some(mut stdin) = child.stdin.take() {
        match stdin.write_all(text.as_bytes()) {
            Ok(()) => {}
            // The user quit the pager before the end.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            Err(e) => return Err(e),
        }
    }
    child.wait()?;
    Ok(true)
}

#[cfg(unix)]
fn shell(cmd: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(cmd);
    c
}

#[cfg(not(unix))]
fn shell(cmd: &str) -> Command {
    let mut parts = cmd.split_whitespace();
    let mut c = Command::new(parts.next().unwrap_or("more"));
    c.args(parts);
    c
}
