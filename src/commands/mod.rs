//! One file per command: its `…Args` (clap, with the `--help` text) and its `cmd_…` function.
//! [`Context`] is the resolved form of the global options that every command gets.

pub mod config;
pub mod feishu;
pub mod man;
pub mod recruitee;

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
        Command::Man(args) => man::run(&args.command),
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
                    "--timeout must be more than 0 and at most 3600 seconds, not {t}"
                )));
            }
        };
        let max_retries = global.max_retries.unwrap_or(5);
        if max_retries > 100 {
            return Err(Error::input("--max-retries must be at most 100"));
        }
        let format = resolve_format(global.format, global.output.as_deref())?;
        let to_stdout = global.output.as_deref().is_none_or(is_stdout);
        if format == Format::Xlsx && to_stdout && !global.dry_run && std::io::stdout().is_terminal()
        {
            return Err(
                Error::input("-f xlsx writes a workbook, which a terminal cannot show").hint(
                    "give a file with -o report.xlsx, or pipe the output: … -f xlsx > report.xlsx",
                ),
            );
        }
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
            wide: global.wide,
            pager: !global.no_pager,
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
            (Some(path), false) if !is_stdout(path) => Destination::file(path).map(Some),
            (_, false) => Ok(Some(Destination::stdout())),
        }
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
        self.progress.set_output_on_terminal(
            matches!(dest, Destination::Stdout(_)) && std::io::stdout().is_terminal(),
        );
        let sink = output::sink(&self.output, columns, dest)?;
        output::drain(stream, sink, self.output.limit, &self.progress).await
    }
}

/// `-o -`: stdout.
fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The extensions `-o` knows, and the format each picks.
const EXTENSIONS: &[(&str, Format)] = &[
    ("json", Format::Json),
    ("ndjson", Format::Ndjson),
    ("jsonl", Format::Ndjson),
    ("csv", Format::Csv),
    ("xlsx", Format::Xlsx),
    ("txt", Format::Table),
];

/// `-f`, else the `-o` file's extension, else table on a terminal and json otherwise.
/// `-o json` (a format's name as the file, the kubectl habit) and an extension that names no
/// format are input errors.
fn resolve_format(explicit: Option<Format>, output: Option<&Path>) -> Result<Format> {
    use clap::ValueEnum;
    let file = output.filter(|p| !is_stdout(p));
    if let Some(path) = file {
        let text = path.to_string_lossy();
        let bare = Format::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value())
            .any(|v| v.get_name() == text.as_ref())
            || ["jsonl", "txt", "yaml", "wide"].contains(&text.as_ref());
        if bare {
            let fmt = if text == "jsonl" { "ndjson" } else { &text };
            return Err(Error::input(format!(
                "-o {text}: -o takes a file to write; to choose the format use -f {fmt}"
            ))
            .hint(format!(
                "-f {fmt} prints to stdout; -o {text}.{ext} writes a file; -o ./{text} writes a file named {text}",
                ext = if text == "table" { "txt" } else { &text }
            )));
        }
    }
    if let Some(f) = explicit {
        return Ok(f);
    }
    if let Some(path) = file {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let known = EXTENSIONS
            .iter()
            .map(|(e, _)| format!(".{e}"))
            .collect::<Vec<_>>()
            .join(" ");
        return match ext.as_deref() {
            Some(ext) => EXTENSIONS
                .iter()
                .find(|(e, _)| *e == ext)
                .map(|(_, f)| *f)
                .ok_or_else(|| {
                    Error::input(format!(
                        "-o {}: hrlogs does not know the extension .{ext}; known: {known}",
                        path.display()
                    ))
                    .hint("use one of those extensions, or say the format with -f")
                }),
            None => Err(Error::input(format!(
                "-o {}: the file has no extension to choose the format by; known: {known}",
                path.display()
            ))
            .hint("add an extension, or say the format with -f")),
        };
    }
    Ok(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    })
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
