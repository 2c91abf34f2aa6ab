//! One file per command: its `…Args` (clap, with the `--help` text) and its `cmd_…` function.
//! [`Context`] is the resolved form of the global options that every command gets.

pub mod archive;
pub mod config;
pub mod feishu;
pub mod from_archive;
pub mod greenhouse;
pub mod man;
pub mod recruitee;
pub mod sync;

use std::io::IsTerminal;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::error::{Error, Result};
use crate::fetch::{Http, Request};
use crate::ocsf::Origin;
use crate::options::GlobalArgs;
use crate::options::Options;
use crate::output::{self, Column, Destination, Format, OutputOptions};
use crate::plan::RecordStream;
use crate::progress::Progress;
use crate::redact::Redactor;
use crate::sandbox;
use crate::settings::{Sections, Settings};
use clap::{Args, Subcommand};

/// The settings registry: the keys each room with settings declares, in the order `config show`
/// and `config init` list their tables. Adding a vendor is one line here.
pub const SETTINGS: Sections = Sections(&[
    crate::vendors::feishu::settings::KEYS,
    crate::vendors::recruitee::settings::KEYS,
    crate::vendors::greenhouse::settings::KEYS,
    crate::archive::settings::KEYS,
]);

/// One run's resolved options, its settings, and the services built from them (HTTP client,
/// progress display, the sandbox when asked for).
pub struct Context {
    pub options: Options,
    pub settings: Settings,
    pub progress: Progress,
    pub http: Arc<Http>,
    pub now: Timestamp,
    /// A stage for the next stream emitted ([`Context::stage_next`]).
    stage: std::sync::Mutex<Option<Stage>>,
    _sandbox: Option<sandbox::Running>,
}

/// A stage put on a stream before its sink.
type Stage = Box<dyn FnOnce(RecordStream) -> RecordStream + Send>;

/// Which log and tenant records of `source` come from, as `-f ocsf` says it.
pub fn origin(source: crate::identity::Source, ctx: &Context) -> Origin {
    use crate::identity::Source;
    match source {
        Source::FeishuDeptLogs | Source::FeishuTalentLogs => feishu::origin(ctx, source),
        Source::GreenhouseAudit => crate::logs::greenhouse_audit::origin(),
        Source::RecruiteeAudit => crate::logs::recruitee_audit::origin(
            &ctx.settings
                .plain(&crate::vendors::recruitee::settings::COMPANY_ID)
                .unwrap_or_default(),
        ),
    }
}

/// The clap tree of the whole command line (`cli::command`), for completions and man pages:
/// handed down, so that nothing here imports the root of the command line.
pub type Tree = fn() -> clap::Command;

/// Runs the command the user asked for, with the global flags as typed; `redactor` learns the
/// run's secrets as they come, and redacts them from everything the run says (the caller's
/// final error line too).
pub async fn run(
    command: Command,
    global: GlobalArgs,
    tree: Tree,
    redactor: Redactor,
) -> Result<()> {
    match command {
        Command::Completions(args) => {
            let mut cmd = tree();
            // Into memory first: clap_complete panics on a failed write (`| head`).
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut cmd, "hrlogs", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)?;
            Ok(())
        }
        Command::Man(args) => man::run(&args.command, tree),
        Command::Sandbox(args) => sandbox::serve_forever(args.port).await,
        Command::Config(cmd) => config::run(cmd, &Options::resolve(global)?),
        Command::Feishu(cmd) => {
            in_context(global, redactor, async |ctx| feishu::run(cmd, ctx).await).await
        }
        Command::Recruitee(cmd) => {
            in_context(global, redactor, async |ctx| recruitee::run(cmd, ctx).await).await
        }
        Command::Greenhouse(cmd) => {
            in_context(global, redactor, async |ctx| {
                greenhouse::run(cmd, ctx).await
            })
            .await
        }
        Command::Sync(cmd) => {
            in_context(global, redactor, async |ctx| sync::run(cmd, ctx).await).await
        }
        // No fetching, so no summary line.
        Command::Archive(cmd) => archive::run(
            cmd,
            &Context::new(Options::resolve(global)?, redactor).await?,
        ),
    }
}

/// Runs a command with the services of a run (resolved options, settings, HTTP, progress,
/// the sandbox), and clears the progress display after it.
async fn in_context(
    global: GlobalArgs,
    redactor: Redactor,
    command: impl AsyncFnOnce(&Context) -> Result<()>,
) -> Result<()> {
    let ctx = Context::new(Options::resolve(global)?, redactor).await?;
    let result = command(&ctx).await;
    ctx.progress.finish(result.is_ok());
    result
}

impl Context {
    /// Starts the services of a run: progress, the HTTP client, the sandbox with `--sandbox`,
    /// and loads the settings (which the sandbox overrides).
    pub async fn new(mut options: Options, redactor: Redactor) -> Result<Context> {
        let m = options.messages;
        let progress = Progress::with_redactor(m.progress, m.quiet, m.verbose, redactor);
        let http = Arc::new(Http::new(options.retry.clone(), progress.clone())?);
        let running = if options.sandbox {
            Some(sandbox::start(None).await?)
        } else {
            None
        };
        if let Some(r) = &running {
            options.sources.overrides = r.overrides();
        }
        let settings = Settings::load(&options.sources, SETTINGS)?;
        for w in &settings.warnings {
            progress.warn(w);
        }
        Ok(Context {
            options,
            settings,
            progress,
            http,
            now: Timestamp::now(),
            stage: std::sync::Mutex::new(None),
            _sandbox: running,
        })
    }

    /// The zone for parsing and showing times.
    pub fn tz(&self) -> &TimeZone {
        self.options.tz()
    }

    /// `--page-size`, checked against the API's range, or the API's maximum.
    pub fn page_size(&self, max: u32) -> Result<u32> {
        match self.options.page_size {
            None => Ok(max),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err(Error::input(format!(
                "--page-size {n} is out of range: this API takes 1 to {max}"
            ))),
        }
    }

    /// Parses a `--since`/`--until` value.
    pub fn time(&self, flag: &str, text: &str, bound: crate::time::Bound) -> Result<Timestamp> {
        crate::time::parse(text, bound, self.tz(), self.now)
            .map_err(|e| Error::input(format!("{flag}: {e}")))
    }

    /// Where the records go, or None with `--dry-run`. Checked before any request, so a bad
    /// `-o` sends nothing. A csv file written by someone at a terminal draws one hint: a
    /// workbook keeps what a spreadsheet's csv import mangles.
    pub fn destination(&self) -> Result<Option<Destination>> {
        match (&self.options.output_path, self.options.dry_run) {
            (_, true) => Ok(None),
            (Some(path), false) if !crate::options::is_stdout(path) => {
                let dest = Destination::file(path)?;
                if self.options.output.format == Format::Csv
                    && !self.options.messages.quiet
                    && std::io::stderr().is_terminal()
                {
                    self.progress.line(&csv_hint(path));
                }
                Ok(Some(dest))
            }
            (_, false) => Ok(Some(Destination::stdout())),
        }
    }

    /// Where the archive is: `--archive`, `archive.path` (`HRLOGS_ARCHIVE`), or the default
    /// file; a PostgreSQL URL with `archive.schema` and `archive.password`.
    pub fn archive_location(&self) -> Result<crate::archive::Location> {
        self.archive_location_given(self.options.archive.as_deref())
    }

    /// An archive named on the command line (`archive copy FROM TO`), else the configured one.
    pub fn archive_location_given(
        &self,
        given: Option<&std::path::Path>,
    ) -> Result<crate::archive::Location> {
        use crate::archive::settings as keys;
        crate::archive::location::resolve(
            given,
            crate::archive::location::ArchiveSettings {
                path: self.settings.plain(&keys::PATH),
                schema: self.settings.plain(&keys::SCHEMA),
                password: self.settings.secret(&keys::PASSWORD),
            },
            self.progress.redactor(),
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
        self.emit_with(&self.options.output, stream, dest, columns)
            .await
    }

    /// [`Context::emit`] for a log command: `origin` says which log and tenant the records
    /// come from, as `-f ocsf` needs.
    pub async fn emit_events(
        &self,
        stream: RecordStream,
        dest: Destination,
        columns: Vec<Column>,
        origin: Origin,
    ) -> Result<()> {
        let options = OutputOptions {
            origin: Some(origin),
            ..self.options.output.clone()
        };
        self.emit_with(&options, stream, dest, columns).await
    }

    /// Puts `stage` on the next stream emitted: a command's own client-side filter on a stream
    /// that another room builds (`recruitee audit --event` with `--from-archive`).
    pub fn stage_next(&self, stage: impl FnOnce(RecordStream) -> RecordStream + Send + 'static) {
        // A poisoned lock still holds the stage: taking it over loses nothing.
        let mut s = self.stage.lock().unwrap_or_else(|e| e.into_inner());
        *s = Some(Box::new(stage));
    }

    async fn emit_with(
        &self,
        options: &OutputOptions,
        stream: RecordStream,
        dest: Destination,
        columns: Vec<Column>,
    ) -> Result<()> {
        let stage = self.stage.lock().unwrap_or_else(|e| e.into_inner()).take();
        let stream = match stage {
            Some(stage) => stage(stream),
            None => stream,
        };
        self.progress.set_output_on_terminal(
            matches!(dest, Destination::Stdout(_)) && std::io::stdout().is_terminal(),
        );
        let target = dest.describe();
        let sink = output::sink(options, columns, dest)?;
        output::drain(stream, sink, options.limit, &self.progress, &target).await
    }

    /// Refuses `-f ocsf` for a command whose records are not log events (before any request).
    pub fn refuse_ocsf(&self, command: &str) -> Result<()> {
        if self.options.output.format == Format::Ocsf {
            return Err(Error::input(format!(
                "-f ocsf is not available for `{command}`: its records are not log events"
            ))
            .hint(
                "use -f ocsf with feishu dept-logs, feishu talent-logs or recruitee audit (and their sync); json, ndjson, csv or table here",
            ));
        }
        Ok(())
    }
}

/// The hint given when a csv file is written at a terminal.
fn csv_hint(path: &std::path::Path) -> String {
    let xlsx = path.with_extension("xlsx");
    format!(
        "hrlogs: hint: a spreadsheet may turn 19-digit ids into numbers and garble Chinese text from csv; -o {} keeps them intact (csv: --bom for Excel)",
        xlsx.display()
    )
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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Feishu/Lark: talent operation logs and CoreHR department operation logs
    #[command(
        subcommand,
        after_help = "Examples:\n  hrlogs feishu dept-logs --department 7094136522860922111 --since 2024-01-01\n  hrlogs feishu talent-logs --operator ou_b29276c7c3e2ff4bd3fcfb567ce690e3 \\\n    --operation 3001 --since 7d\n  hrlogs --profile lark feishu dept-logs --department-file depts.txt \\\n    --since 90d -o logs.csv"
    )]
    Feishu(feishu::FeishuCommand),
    /// Recruitee: audit log, candidates and offers
    #[command(
        subcommand,
        after_help = "Examples:\n  hrlogs recruitee audit --since 7d --event 'Admin deleted candidate'\n  hrlogs recruitee candidates --offer 1209656 -o candidates.csv\n  hrlogs recruitee offers --kind job"
    )]
    Recruitee(recruitee::RecruiteeCommand),
    /// Greenhouse Recruiting: audit log
    #[command(
        subcommand,
        after_help = "Examples:\n  hrlogs greenhouse audit --since 7d --event-type data_change_destroy\n  hrlogs greenhouse audit --performer-type api_key -o audit.xlsx"
    )]
    Greenhouse(greenhouse::GreenhouseCommand),
    /// Keep every audit event in a local archive: fetch what is new since the last sync, exactly once
    #[command(subcommand, after_help = sync::EXAMPLES)]
    Sync(sync::SyncCommand),
    /// What the archive holds, and whether it is intact
    #[command(subcommand, after_help = archive::EXAMPLES)]
    Archive(archive::ArchiveCommand),
    /// Show or create the configuration
    #[command(
        subcommand,
        after_help = "Examples:\n  hrlogs config init\n  hrlogs config show\n  HRLOGS_PROFILE=lark hrlogs config show"
    )]
    Config(config::ConfigCommand),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Print the manual page (roff) of hrlogs, or of one command, on stdout
    #[command(
        after_help = "Examples:\n  hrlogs man | man -l -\n  hrlogs man feishu dept-logs | man -l -\n  hrlogs man > ~/.local/share/man/man1/hrlogs.1 && man hrlogs"
    )]
    Man(ManArgs),
    /// Serve a local stand-in of both vendors' endpoints with sample data
    Sandbox(SandboxArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print, e.g. `feishu dept-logs` [default: hrlogs itself]
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  hrlogs completions bash > ~/.local/share/bash-completion/completions/hrlogs\n  hrlogs completions zsh > \"${fpath[1]}/_hrlogs\"\n  hrlogs completions fish > ~/.config/fish/completions/hrlogs.fish"
)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  hrlogs sandbox --port 8787 &\n  HRLOGS_FEISHU_BASE_URL=http://127.0.0.1:8787 \\\n    HRLOGS_FEISHU_APP_ID=cli_sandbox HRLOGS_FEISHU_APP_SECRET=sandbox-secret \\\n    hrlogs feishu dept-logs --department 1 --since 2024-01-01"
)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 [default: any free port, printed on start]
    #[arg(long)]
    pub port: Option<u16>,
}
