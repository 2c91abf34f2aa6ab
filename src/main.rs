//! hrlogs: fetch audit and operation logs from Feishu/Lark and Recruitee.
//!
//! The data flows one way: `cli` (flags) → `commands` (a validated query) → `plan` (page
//! chains: windows, batches) → `fetch` (pacing, retries, tokens) with the `vendors` modules →
//! one newest-first stream of records → `output` (a format, to stdout or an atomic file).

mod cli;
mod commands;
mod error;
mod fetch;
mod output;
mod plan;
mod progress;
mod record;
mod sandbox;
mod settings;
mod time;
mod vendors;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::error::{Error, Kind};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(Error::other(format!("cannot start the async runtime: {e}"))),
    };
    let result = runtime.block_on(async {
        tokio::select! {
            result = commands::run(cli) => result,
            _ = tokio::signal::ctrl_c() => Err(Error::interrupted()),
        }
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(e),
    }
}

/// Prints the one line that says what failed, and gives the exit code.
fn report(e: Error) -> ExitCode {
    match e.kind {
        Kind::PipeClosed => {}
        Kind::Interrupted => eprintln!("hrlogs: interrupted"),
        _ => eprintln!("hrlogs: error: {e}"),
    }
    e.exit_code()
}
