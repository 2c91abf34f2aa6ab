//! The `hrlogs` binary: parse the flags, run the command, map the outcome to an exit code.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use hrlogs::error::{Error, Kind};
use hrlogs::{cli, commands};

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
        Kind::Interrupted | Kind::Terminated => eprintln!("hrlogs: interrupted"),
        _ => eprintln!("hrlogs: error: {e}"),
    }
    e.exit_code()
}
