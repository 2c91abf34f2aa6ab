//! The `hrlogs` binary: parse the flags, run the command, map the outcome to an exit code.
//! SIGINT, SIGTERM and SIGHUP end the run the same way: the command is dropped (a temporary
//! output file with it), and the exit code says which signal it was (130, 143, 129).

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
    if cli.global.output.is_none() && !stdout_is_writable() {
        return report(
            Error::other("stdout is not open for writing: the records cannot be written")
                .hint("redirect stdout to a file, or give -o PATH"),
        );
    }
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

/// False when stdout was opened read-only (`hrlogs >&0` on a file): Rust's stdout silently
/// drops what cannot be written there (EBADF), which would read as an empty export. (A closed
/// stdout is reopened on /dev/null by Rust before `main`, like a `> /dev/null`.)
fn stdout_is_writable() -> bool {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::fd::AsFd;
        let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() else {
            return false;
        };
        // A write of nothing: the kernel still checks that the descriptor may be written.
        !matches!(
            std::fs::File::from(fd).write(&[]),
            Err(e) if e.raw_os_error() == Some(9) // EBADF
        )
    }
    #[cfg(not(unix))]
    {
        true
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

/// Waits for Ctrl-C (outside the pager), SIGTERM or SIGHUP, and says which came.
async fn signalled() -> Kind {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            ctrl_c_outside_the_pager().await;
            return Kind::Interrupted;
        };
        tokio::select! {
            _ = ctrl_c_outside_the_pager() => Kind::Interrupted,
            _ = term.recv() => Kind::Terminated,
            _ = hup.recv() => Kind::HungUp,
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c_outside_the_pager().await;
        Kind::Interrupted
    }
}

/// Prints the one line that says what failed (made safe by `Error`'s `Display`), after
/// clearing the progress display, and gives the exit code. Writing to a closed stderr is not a
/// panic.
fn report(e: Error) -> ExitCode {
    use std::io::Write;
    hrlogs::progress::clear();
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
