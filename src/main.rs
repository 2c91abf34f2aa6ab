//! The `hrlogs` binary: parse the flags, run the command, map the outcome to an exit code.
//! SIGINT, SIGTERM and SIGHUP end the run the same way: the command is dropped (a temporary
//! output file with it), and the exit code says which signal it was (130, 143, 129).

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
            kind = signalled() => Err(Error::new(kind, "interrupted")),
        }
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(e),
    }
}

/// Waits for Ctrl-C, SIGTERM or SIGHUP, and says which came.
async fn signalled() -> Kind {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return Kind::Interrupted;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => Kind::Interrupted,
            _ = term.recv() => Kind::Terminated,
            _ = hup.recv() => Kind::HungUp,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        Kind::Interrupted
    }
}

/// Prints the one line that says what failed (made safe by `Error`'s `Display`), and gives
/// the exit code. Writing to a closed stderr is not a panic.
fn report(e: Error) -> ExitCode {
    use std::io::Write;
    let line = match e.kind {
        Kind::PipeClosed => None,
        Kind::Interrupted => Some("hrlogs: interrupted".to_string()),
        Kind::Terminated => Some("hrlogs: terminated (SIGTERM)".to_string()),
        Kind::HungUp => Some("hrlogs: hung up (SIGHUP)".to_string()),
        _ => Some(format!("hrlogs: error: {e}")),
    };
    if let Some(line) = line {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
    e.exit_code()
}
