//! The `hrlogs` binary: parse the flags, run the command, map the outcome to an exit code.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use hrlogs::error::{Error, Kind};
use hrlogs::{cli, commands};

fn main() -> ExitCode {
    if std::env::args_os().len() <= 1 {
        // Like gh: `hrlogs` alone shows what it can do, and that is not an error.
        let _ = <cli::Cli as clap::CommandFactory>::command().print_help();
        return ExitCode::SUCCESS;
    }
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
            _ = ctrl_c_outside_the_pager() => Err(Error::interrupted()),
        }
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(e),
    }
}

/// Ctrl-C, except while the pager shows a table (the pager handles it, as in git).
async fn ctrl_c_outside_the_pager() {
    loop {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        if !hrlogs::output::paging() {
            return;
        }
    }
}

/// Prints the one line that says what failed, and gives the exit code.
fn report(e: Error) -> ExitCode {
    hrlogs::progress::clear();
    match e.kind {
        Kind::PipeClosed => {}
        Kind::Interrupted => eprintln!("hrlogs: interrupted"),
        _ => eprintln!("hrlogs: error: {e}"),
    }
    e.exit_code()
}
