//! What a sync prints, and how it knows the reader received it: at-least-once delivery with
//! stable ids, never silently short.
//!
//! Each stream numbers the events it has to print (`stream_events.pos`: events new to the
//! archive, and events another stream archived first) and keeps a delivery cursor
//! (`streams.delivered`). A run prints every event numbered after the cursor, oldest first,
//! and moves the cursor only to a point it can prove the reader received:
//! - a terminal: once the output is flushed;
//! - stdout redirected to a file (`>> audit.ndjson`): once the file is flushed and fsynced;
//! - `-o PATH`: once the file is committed (fsynced and renamed into place);
//! - a pipe: once the run's output is flushed and closed without error; with `--follow`,
//!   also whenever the pipe is seen drained (nothing of it left unread) after a poll.
//!
//! When a write fails (the reader went away, a full disk), the run fails with exit 1 saying
//! how far it got, and the next sync prints again everything after the cursor: an event may
//! be printed twice across such a failure (with the same id and `metadata.uid`), never zero
//! times.

use crate::archive::{Order, ReadFilter, Store};
use crate::commands::Context;
use crate::error::{Error, Kind, Result};
use crate::output::{self, Sink};

use super::jobs::Job;

/// Where the output goes, as far as a receipt is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// A person reads it as it is flushed.
    Terminal,
    /// A regular file behind stdout: an fsync is the receipt.
    File,
    /// A pipe, socket or device: only a clean end (or a drained pipe) is a receipt.
    Pipe,
    /// `-o PATH`: the committed file is the receipt.
    Committed,
}

impl Receipt {
    /// What kind of destination this run writes to.
    pub fn of(ctx: &Context) -> Receipt {
        match &ctx.options.output_path {
            Some(p) if !crate::options::is_stdout(p) => Receipt::Committed,
            _ => stdout_kind(),
        }
    }
}

#[cfg(unix)]
fn stdout_kind() -> Receipt {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        return Receipt::Terminal;
    }
    // SAFETY: fstat fills the zeroed struct it is given for a descriptor this process holds.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::fstat(libc::STDOUT_FILENO, &mut st) } == 0;
    if ok && (st.st_mode & libc::S_IFMT) == libc::S_IFREG {
        Receipt::File
    } else {
        Receipt::Pipe
    }
}

#[cfg(not(unix))]
fn stdout_kind() -> Receipt {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        Receipt::Terminal
    } else {
        Receipt::Pipe
    }
}

/// True when stdout is a pipe holding nothing unread: the reader took everything written.
#[cfg(target_os = "linux")]
fn pipe_drained() -> bool {
    let mut unread: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int for a descriptor this process holds.
    let r = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::FIONREAD, &mut unread) };
    r == 0 && unread == 0
}

#[cfg(not(target_os = "linux"))]
fn pipe_drained() -> bool {
    false
}

/// Flushes stdout's file to disk.
#[cfg(unix)]
fn fsync_stdout() -> bool {
    // SAFETY: fsync on a descriptor this process holds.
    unsafe { libc::fsync(libc::STDOUT_FILENO) == 0 }
}

#[cfg(not(unix))]
fn fsync_stdout() -> bool {
    false
}

/// This process, as it names itself when it takes a stream's events to print: host, pid and
/// the process's start time (so that a reused pid is not taken for it).
fn me() -> String {
    format!(
        "{}/{}/{}",
        host_name(),
        std::process::id(),
        start_time(std::process::id()).unwrap_or_default()
    )
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into the buffer it is given.
    #[cfg(unix)]
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    #[cfg(not(unix))]
    let ok = false;
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    if ok {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    }
}

/// A process's start time (clock ticks since boot, field 22 of `/proc/PID/stat`).
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19).map(str::to_string)
}

/// Whether the sync named `owner` (see [`me`]) still runs. One on another host cannot be
/// told, and is taken for gone: its events are printed again rather than never.
fn alive(owner: &str) -> bool {
    let mut parts = owner.splitn(3, '/');
    let (Some(host), Some(pid), Some(start)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    host == host_name() && !start.is_empty() && start_time(pid).as_deref() == Some(start)
}

/// One stream's delivery during a run (or a follow): what was written, what is proven.
pub struct Delivery {
    stream: i64,
    receipt: Receipt,
    me: String,
    /// The ranges of the stream's event numbers this process wrote and has not proven
    /// delivered yet, in order. Each is proven on its own, so that the cursor never passes
    /// over what another sync of the stream took in between.
    unproven: Vec<(i64, i64)>,
}

impl Delivery {
    pub fn new(stream: i64, receipt: Receipt) -> Delivery {
        Delivery {
            stream,
            receipt,
            me: me(),
            unproven: Vec::new(),
        }
    }

    /// Prints every event of the stream numbered after its delivery cursor, oldest first,
    /// and flushes; returns how many were printed. A failed write fails the run (exit 1)
    /// saying how far it got.
    pub async fn print(
        &mut self,
        archive: &mut dyn Store,
        job: &Job,
        sink: &mut dyn Sink,
        ctx: &Context,
    ) -> Result<u64> {
        let (after, upto) = output::blocking(|| archive.claim(self.stream, &self.me, &alive))?;
        if upto <= after {
            return Ok(0);
        }
        let total = upto.saturating_sub(after);
        let mut rows = archive.read(ReadFilter {
            source: job.source(),
            tenant: Some(job.key().tenant.clone()),
            from_ms: None,
            until_ms: None,
            order: Order::Delivery {
                stream: self.stream,
                after,
            },
            linked_streams: vec![],
            keep: None,
        });
        let mut printed: u64 = 0;
        while let Some(batch) = rows.next_batch().await {
            let batch = batch?;
            let mut done = 0usize;
            let wrote = output::blocking(|| {
                for r in &batch {
                    sink.write(r)?;
                    done += 1;
                }
                Ok::<(), std::io::Error>(())
            });
            printed = printed.saturating_add(done as u64);
            ctx.progress.records_out(done as u64);
            if let Err(e) = wrote {
                let _ = output::blocking(|| archive.release(self.stream, &self.me));
                return Err(failed(e, printed, total));
            }
        }
        if let Err(e) = output::blocking(|| sink.flush()) {
            let _ = output::blocking(|| archive.release(self.stream, &self.me));
            return Err(failed(e, printed, total));
        }
        let to = after.saturating_add(printed as i64);
        match self.unproven.last_mut() {
            Some(last) if last.1 == after => last.1 = to,
            _ => self.unproven.push((after, to)),
        }
        self.prove_flushed(archive)?;
        Ok(printed)
    }

    /// After a flush: what this kind of destination proves by now.
    fn prove_flushed(&mut self, archive: &mut dyn Store) -> Result<()> {
        let proven = match self.receipt {
            Receipt::Terminal => true,
            Receipt::File => fsync_stdout(),
            Receipt::Pipe => pipe_drained(),
            Receipt::Committed => false,
        };
        if proven {
            self.proven(archive)?;
        }
        Ok(())
    }

    /// Everything written so far was received: each range moves the cursor in turn.
    fn proven(&mut self, archive: &mut dyn Store) -> Result<()> {
        for (from, to) in std::mem::take(&mut self.unproven) {
            output::blocking(|| archive.mark_delivered(self.stream, from, to))?;
        }
        Ok(())
    }

    /// Before a poll of `--follow`: a pipe drained since the last poll proves what was
    /// written before it.
    pub fn poll_starts(&mut self, archive: &mut dyn Store) -> Result<()> {
        if self.receipt == Receipt::Pipe && !self.unproven.is_empty() && pipe_drained() {
            self.proven(archive)?;
        }
        Ok(())
    }

    /// The output was closed (and an `-o` file committed) without error: everything
    /// written was delivered.
    pub fn closed(&mut self, archive: &mut dyn Store) -> Result<()> {
        self.proven(archive)
    }

    /// Closing the output failed: nothing written by this run is proven.
    pub fn close_failed(&self, archive: &mut dyn Store, e: Error) -> Error {
        if self.unproven.is_empty() {
            return e;
        }
        let _ = output::blocking(|| archive.release(self.stream, &self.me));
        Error::other(format!(
            "{}; the events this sync printed are not known to have been received",
            e.message
        ))
        .hint("the next sync prints them again (with the same ids)")
    }
}

/// A write that failed part-way: the run fails (exit 1), saying how far it got.
fn failed(e: std::io::Error, printed: u64, total: i64) -> Error {
    let err: Error = e.into();
    let what = if err.kind == Kind::PipeClosed {
        "the reader went away".to_string()
    } else {
        format!("writing the output failed ({})", err.message)
    };
    Error::other(format!("{what} after {printed} of {total} events to print"))
        .hint("the next sync prints them again (with the same ids), oldest first; nothing is lost")
}
