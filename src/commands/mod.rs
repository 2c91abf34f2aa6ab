//! One file per command: its `…Args` (clap, with the `--help` text) and its `cmd_…` function.
//! [`Context`] is the resolved form of the global options that every command gets.

pub mod archive;
pub mod config;
pub mod feishu;
pub mod recruitee;
pub mod sync;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clap::CommandFactory;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::cli::{Cli, ColorChoice, Command, Format, GlobalArgs};
use crate::error::{Error, Result};
use crate::fetch::{Http, Request, RetryPolicy};
use crate::output::{self, Column, Destination, OutputOptions};
use crate::plan::RecordStream;
use crate::progress::Progress;
use crate::sandbox;
use crate::settings::{Settings, Sources};

/// The resolved global options, settings and shared machinery of one run.
pub struct Context {
    pub global: GlobalArgs,
    pub output: OutputOptions,
    pub settings: Settings,
    pub progress: Progress,
    pub http: Arc<Http>,
    pub now: Timestamp,
    pub tz: TimeZone,
    _sandbox: Option<sandbox::Running>,
}

/// Runs the command the user asked for.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Completions(args) => {
            let mut cmd = Cli::command();
            clap_complete::generate(args.shell, &mut cmd, "hrlogs", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            let man = clap_mangen::Man::new(Cli::command());
            let mut out = Vec::new();
            man.render(&mut out).map_err(Error::from)?;
            std::io::Write::write_all(&mut std::io::stdout(), &out)?;
            Ok(())
        }
        Command::Sandbox(args) => sandbox::serve_forever(args.port).await,
        Command::Config(cmd) => config::run(cmd, &cli.global),
        Command::Feishu(cmd) => {
            let ctx = Context::new(cli.global).await?;
            let result = feishu::run(cmd, &ctx).await;
            ctx.progress.finish();
            result
        }
        Command::Recruitee(cmd) => {
            let ctx = Context::new(cli.global).await?;
            let result = recruitee::run(cmd, &ctx).await;
            ctx.progress.finish();
            result
        }
        Command::Sync(cmd) => {
            let ctx = Context::new(cli.global).await?;
            let result = sync::run(cmd, &ctx).await;
            ctx.progress.finish();
            result
        }
        Command::Archive(cmd) => {
            let ctx = Context::new(cli.global).await?;
            archive::run(cmd, &ctx)
        }
    }
}

/// Loads the settings the flags point at; `--sandbox` overrides base URLs and credentials.
pub fn load_settings(global: &GlobalArgs, sandbox: Option<&sandbox::Running>) -> Result<Settings> {
    let sources = Sources {
        config_flag: global.config.clone(),
        profile_flag: global.profile.clone(),
        overrides: sandbox.map(sandbox::Running::overrides).unwrap_or_default(),
    };
    Settings::load(&sources)
}

impl Context {
    pub async fn new(global: GlobalArgs) -> Result<Context> {
        let tz = crate::time::zone(global.tz.as_deref())
            .map_err(|e| Error::input(format!("--tz: {e}")))?;
        if global.limit == Some(0) {
            return Err(Error::input("--limit must be at least 1"));
        }
        let timeout = match global.timeout {
            None => Duration::from_secs(30),
            Some(t) if t.is_finite() && t > 0.0 && t <= 3600.0 => Duration::from_secs_f64(t),
            Some(t) => {
                return Err(Error::input(format!(
                    "--timeout must be between 0 and 3600 seconds, not {t}"
                )));
            }
        };
        let max_retries = global.max_retries.unwrap_or(5);
        if max_retries > 100 {
            return Err(Error::input("--max-retries must be at most 100"));
        }
        let format = resolve_format(global.format, global.output.as_deref());
        let color = match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        let output = OutputOptions {
            format,
            fields: global
                .fields
                .iter()
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
                .collect(),
            csv_raw: global.csv_raw,
            tz: tz.clone(),
            color,
            limit: global.limit,
        };
        let progress = Progress::new(!global.no_progress, global.quiet, global.verbose);
        let min_delay = std::env::var("HRLOGS_RETRY_MIN_DELAY_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(Duration::from_millis(500), Duration::from_millis);
        let policy = RetryPolicy {
            max_retries: max_retries as usize,
            timeout,
            min_delay,
            max_delay: Duration::from_secs(30).max(min_delay),
        };
        let http = Arc::new(Http::new(policy, progress.clone())?);
        let running = if global.sandbox {
            Some(sandbox::start(None).await?)
        } else {
            None
        };
        let settings = load_settings(&global, running.as_ref())?;
        for w in &settings.warnings {
            progress.warn(w);
        }
        Ok(Context {
            global,
            output,
            settings,
            progress,
            http,
            now: Timestamp::now(),
            tz,
            _sandbox: running,
        })
    }

    /// `--page-size`, checked against the API's range, or the API's maximum.
    pub fn page_size(&self, max: u32) -> Result<u32> {
        match self.global.page_size {
            None => Ok(max),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err(Error::input(format!(
                "--page-size {n} is out of range: this API takes 1 to {max}"
            ))),
        }
    }

    /// Parses a `--since`/`--until` value.
    pub fn time(&self, flag: &str, text: &str, bound: crate::time::Bound) -> Result<Timestamp> {
        crate::time::parse(text, bound, &self.tz, self.now)
            .map_err(|e| Error::input(format!("{flag}: {e}")))
    }

    /// Where the records go, or None with `--dry-run`. Checked before any request, so a bad
    /// `-o` sends nothing.
    pub fn destination(&self) -> Result<Option<Destination>> {
        match (&self.global.output, self.global.dry_run) {
            (_, true) => Ok(None),
            (Some(path), false) => Destination::file(path).map(Some),
            (None, false) => Ok(Some(Destination::stdout())),
        }
    }

    /// The archive's path: `--archive`, `archive.path` (`HRLOGS_ARCHIVE`), or the default.
    pub fn archive_path(&self) -> Result<std::path::PathBuf> {
        crate::archive::resolve_path(
            self.global.archive.as_deref(),
            self.settings.get("archive.path"),
        )
    }

    /// `--dry-run`: the requests, one after another, on stdout.
    pub fn print_requests(&self, preamble: Option<String>, requests: &[Request]) -> Result<()> {
        let mut out = String::new();
        if let Some(p) = preamble {
            out.push_str(&p);
            out.push('\n');
        }
        for r in requests {
            out.push_str(&r.describe());
            out.push('\n');
        }
        std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
        Ok(())
    }

    /// Streams `stream` into the chosen format and destination.
    pub async fn emit(
        &self,
        stream: RecordStream,
        dest: Destination,
        columns: Vec<Column>,
    ) -> Result<()> {
        let sink = output::sink(&self.output, columns, dest);
        output::drain(stream, sink, self.output.limit, &self.progress).await
    }
}

/// `-f`, else the `-o` file's extension, else table on a terminal and json otherwise.
fn resolve_format(explicit: Option<Format>, output: Option<&Path>) -> Format {
    if let Some(f) = explicit {
        return f;
    }
    if let Some(path) = output {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        return match ext.as_deref() {
            Some("csv") => Format::Csv,
            Some("ndjson" | "jsonl") => Format::Ndjson,
            Some("txt") => Format::Table,
            _ => Format::Json,
        };
    }
    if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    }
}

/// Splits repeated, comma-separated list flags, trims, refuses empty items, drops repeats
/// (a repeated ID would fetch its records twice).
pub fn clean_list(flag: &str, items: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            return Err(Error::input(format!(
                "{flag} has an empty item: give IDs like `{flag} a,b` or repeat the flag"
            )));
        }
        if seen.insert(item.to_string()) {
            out.push(item.to_string());
        }
    }
    Ok(out)
}
