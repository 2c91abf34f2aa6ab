//! What the benchmarks share: a child's peak memory, its lines (and bytes) of output, and
//! waiting for its end without losing the last reading.
#![allow(dead_code)] // each benchmark uses a different part

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The peak resident memory of a child process, polled from `/proc/<pid>/status` (`VmHWM`:
/// the process image after exec; `ru_maxrss` would also count the forked benchmark before
/// it). It only grows, so polling until the process is gone finds the peak.
pub struct PeakRss {
    peak: Arc<AtomicU64>,
    watcher: JoinHandle<()>,
}

impl PeakRss {
    pub fn watch(pid: u32) -> PeakRss {
        let peak = Arc::new(AtomicU64::new(0));
        let seen = peak.clone();
        let watcher = std::thread::spawn(move || {
            while let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                let kib = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
                match kib {
                    Some(k) => {
                        seen.fetch_max(k, Ordering::Relaxed);
                    }
                    None => break,
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        PeakRss { peak, watcher }
    }

    /// The peak in KiB, once the process has been reaped.
    pub fn kib(self) -> u64 {
        self.watcher.join().expect("watcher");
        self.peak.load(Ordering::Relaxed)
    }
}

/// Waits until `pid` has exited but is not reaped yet, so that the last `VmHWM` is read.
pub fn until_exited(pid: u32) {
    while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z ")) {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The lines read from `out` until it ends.
pub fn count_lines(out: impl Read) -> usize {
    count_output(out).0
}

/// The lines and the bytes read from `out` until it ends.
pub fn count_output(mut out: impl Read) -> (usize, u64) {
    let mut buf = vec![0u8; 1 << 16];
    let (mut lines, mut bytes) = (0usize, 0u64);
    while let Ok(n) = out.read(&mut buf) {
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count();
        bytes += n as u64;
    }
    (lines, bytes)
}
