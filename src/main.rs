//! The `hrlogs` binary: parse the flags, run the command, map the outcome to an exit code.
//! SIGINT, SIGTERM and SIGHUP end the run the same way: the command is dropped (a temporary
//! output file with it), and the exit code says which signal it was (130, 143, 129).

use std::process::ExitCode;
use std::time::Duration;

use hrlogs::error::{Error, Kind};
use hrlogs::{cli, commands};

fn main() -> ExitCode {
    // `COMPLETE=bash hrlogs …`: the shell asks for completions; answered, then exit.
    hrlogs::completion::answer_the_shell(cli::command);
    if std::env::args_os().len() <= 1 {
        // Like gh: `hrlogs` alone shows what it can do, and that is not an error.
        let _ = cli::command().print_help();
        return ExitCode::SUCCESS;
    }
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
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
    // The run's secrets, learnt as they come: redacted from the final line too.
    let redactor = hrlogs::redact::Redactor::new();
    let run_redactor = redactor.clone();
    let result = runtime.block_on(async {
        // The handlers are in place before the command starts: a signal that comes early
        // still ends the run cleanly (exit 130/143/129, no temp file), never by the default
        // action.
        let mut signals = Signals::install();
        tokio::select! {
            result = commands::run(cli.command, cli.global, cli::command, run_redactor) => result,
            kind = signals.next() => Err(Error::new(kind, "interrupted")),
        }
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report_redacted(e, &redactor),
    }
}

/// [`report`], with the run's secrets redacted from the line (also those a server echoed).
fn report_redacted(e: Error, redactor: &hrlogs::redact::Redactor) -> ExitCode {
    let code = e.exit_code();
    let Error {
        kind,
        message,
        hint,
        vendor,
    } = e;
    let _ = vendor;
    let mut clean = Error::new(kind, redactor.secrets_only(&message));
    if let Some(h) = hint {
        clean = clean.hint(redactor.secrets_only(&h));
    }
    let _ = report(clean);
    code
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

/// The signals that end a run: Ctrl-C (except while the pager shows a table: the pager
/// handles it, as in git), SIGTERM and SIGHUP.
struct Signals {
    #[cfg(unix)]
    handlers: Option<[tokio::signal::unix::Signal; 3]>,
}

impl Signals {
    /// Installs the handlers now (not when first awaited).
    fn install() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let handlers = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) {
                (Ok(int), Ok(term), Ok(hup)) => Some([int, term, hup]),
                _ => None,
            };
            Signals { handlers }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// Waits for the next signal that ends the run, and says which came.
    async fn next(&mut self) -> Kind {
        #[cfg(unix)]
        if let Some([int, term, hup]) = &mut self.handlers {
            loop {
                tokio::select! {
                    _ = int.recv() => {
                        if !hrlogs::output::paging() {
                            return Kind::Interrupted;
                        }
                    }
                    _ = term.recv() => return Kind::Terminated,
                    _ = hup.recv() => return Kind::HungUp,
                }
            }
        }
        loop {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            if !hrlogs::output::paging() {
                return Kind::Interrupted;
            }
        }
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
