//! The command line as typed: clap's derive types and nothing else. `options::Options::resolve`
//! turns these into resolved options; nothing after that sees clap.

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::Format;

use crate::commands::{archive, config, feishu, recruitee, sync};

/// Examples are kept under 80 columns, lines continued with `\`, so that no terminal of
/// usual width wraps one in the middle of an argument.
const EXAMPLES: &str = "\
Examples:
  # Try it with no account: the built-in sandbox stands in for both vendors
  hrlogs --sandbox feishu dept-logs --department 7094136522860922111 \\
    --since 2023-01-01

  # A department's history for a year, as a workbook for a spreadsheet
  hrlogs feishu dept-logs --department 7094136522860922111 \\
    --since 2024-01-01 -o history.xlsx

  # Who deleted candidates last week (Recruitee), as JSON for jq
  hrlogs recruitee audit --since 7d --event 'Admin deleted candidate' \\
    -f json | jq '.[].actor'";

/// What `-h` says in place of the global options.
const GLOBALS_POINTER: &str = "\
Global options (-f FORMAT, -o PATH, --fields, --limit, --tz, --profile, -q, -v
and more) are left out here: --help lists them.";

/// The command line with its help texts: `-h` shows each command's own flags and a pointer to
/// `--help`, which lists the global options too (clap's `hide_short_help` on each of them).
/// Parse, complete and document with this rather than `Cli::command()`.
pub fn command() -> clap::Command {
    with_pointer(<Cli as clap::CommandFactory>::command())
}

/// Puts [`GLOBALS_POINTER`] before the examples of `-h`, in `cmd` and every subcommand.
fn with_pointer(mut cmd: clap::Command) -> clap::Command {
    let examples = cmd.get_after_help().map(|h| h.to_string());
    cmd = match examples {
        Some(examples) => cmd
            .after_help(format!("{GLOBALS_POINTER}\n\n{examples}"))
            .after_long_help(examples),
        None => cmd,
    };
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, with_pointer);
    }
    cmd
}

/// Fetch audit and operation logs from Feishu/Lark and Recruitee: every page, every record
/// exactly once, as a table, JSON, NDJSON, CSV or a workbook (xlsx).
#[derive(Debug, Parser)]
#[command(name = "hrlogs", version, after_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

// The sections of `--help` that the global options fall into.
const OUTPUT: &str = "Output";
const REQUESTS: &str = "Requests";
const CONFIGURATION: &str = "Configuration";
const MESSAGES: &str = "Messages";

// Listed by `--help`, left out of `-h` (which shows a command's own flags and points to
// `--help`): `hide_short_help` on each.
/// Options that every command takes, before or after the subcommand.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Output format [default: table when stdout is a terminal, else json; with -o, from the
    /// file's extension]
    #[arg(short = 'f', long, global = true, hide_short_help = true, value_enum, help_heading = OUTPUT)]
    pub format: Option<Format>,
    /// Columns for table, csv and xlsx: dotted paths into each record, e.g. operator.name.en_us
    #[arg(
        long,
        global = true, hide_short_help = true,
        value_delimiter = ',',
        value_name = "a,b.c",
        help_heading = OUTPUT
    )]
    pub fields: Vec<String>,
    /// Stop after N records (and stop fetching)
    #[arg(long, global = true, hide_short_help = true, value_name = "N", help_heading = OUTPUT)]
    pub limit: Option<u64>,
    /// Write to PATH instead of stdout, atomically: a failed run leaves no file (or the old one).
    /// The format follows the extension (.json .ndjson .jsonl .csv .xlsx .txt) unless -f says.
    /// `-o -` is stdout
    #[arg(
        short = 'o',
        long,
        global = true, hide_short_help = true,
        value_name = "PATH",
        help_heading = OUTPUT
    )]
    pub output: Option<PathBuf>,
    /// Write CSV cells exactly as received, without the ' that stops a spreadsheet from running
    /// a cell as a formula
    #[arg(long, global = true, hide_short_help = true, help_heading = OUTPUT)]
    pub csv_raw: bool,
    /// Start CSV with a UTF-8 byte-order mark, for spreadsheets that need one to read Chinese text
    #[arg(long, global = true, hide_short_help = true, help_heading = OUTPUT)]
    pub bom: bool,
    /// Time zone for parsing times without an offset and for showing times [default: TZ or local]
    #[arg(long, global = true, hide_short_help = true, value_name = "ZONE", help_heading = OUTPUT)]
    pub tz: Option<String>,
    /// Tables and workbooks: every column (the csv columns), whole, however wide the terminal
    #[arg(long, global = true, hide_short_help = true, help_heading = OUTPUT)]
    pub wide: bool,
    /// Tables longer than the screen are not sent through a pager (HRLOGS_PAGER, PAGER, less)
    #[arg(long, global = true, hide_short_help = true, help_heading = OUTPUT)]
    pub no_pager: bool,
    /// When to use colour in tables (NO_COLOR is honoured)
    #[arg(long, global = true, hide_short_help = true, value_enum, default_value_t = ColorChoice::Auto, help_heading = OUTPUT)]
    pub color: ColorChoice,

    /// Records per request [default: the API's maximum: talent logs 100, department logs 1000,
    /// Recruitee 100]
    #[arg(long, global = true, hide_short_help = true, value_name = "N", help_heading = REQUESTS)]
    pub page_size: Option<u32>,
    /// Seconds before one request is given up and retried [default: 30]
    #[arg(long, global = true, hide_short_help = true, value_name = "SECS", help_heading = REQUESTS)]
    pub timeout: Option<f64>,
    /// Retries of a transient failure (network, 5xx, 429) per request [default: 5]
    #[arg(long, global = true, hide_short_help = true, value_name = "N", help_heading = REQUESTS)]
    pub max_retries: Option<u32>,
    /// Print the requests that would be sent (auth redacted) and exit without sending any
    #[arg(long, global = true, hide_short_help = true, help_heading = REQUESTS)]
    pub dry_run: bool,
    /// Run against the built-in stand-in of both vendors: no account or network needed
    #[arg(long, global = true, hide_short_help = true, help_heading = REQUESTS)]
    pub sandbox: bool,

    /// Profile in the config file [env: HRLOGS_PROFILE]
    #[arg(
        long,
        global = true,
        hide_short_help = true,
        value_name = "NAME",
        help_heading = CONFIGURATION,
        add = clap_complete::engine::ArgValueCompleter::new(crate::completion::profiles)
    )]
    pub profile: Option<String>,
    /// Config file [env: HRLOGS_CONFIG] [default: <config dir>/hrlogs/config.toml]
    #[arg(long, global = true, hide_short_help = true, value_name = "PATH", help_heading = CONFIGURATION)]
    pub config: Option<PathBuf>,
    /// The archive that sync fills and --from-archive reads: an SQLite file, or a postgres:// URL
    /// (its password in HRLOGS_ARCHIVE_PASSWORD, PGPASSWORD or ~/.pgpass) [env: HRLOGS_ARCHIVE]
    /// [default: <user data dir>/hrlogs/archive.sqlite3]
    #[arg(long, global = true, hide_short_help = true, value_name = "PATH", help_heading = CONFIGURATION)]
    pub archive: Option<PathBuf>,

    /// No progress display or notices on stderr
    #[arg(short, long, global = true, hide_short_help = true, help_heading = MESSAGES)]
    pub quiet: bool,
    /// A line per request on stderr (-vv: more), secrets redacted
    #[arg(short, long, global = true, hide_short_help = true, action = clap::ArgAction::Count, help_heading = MESSAGES)]
    pub verbose: u8,
    /// No progress display (none is drawn anyway when stderr is not a terminal)
    #[arg(long, global = true, hide_short_help = true, help_heading = MESSAGES)]
    pub no_progress: bool,
}

/// `-f`'s values: the output formats of `output`, named and explained for the command line.
impl ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Format::Table,
            Format::Json,
            Format::Ndjson,
            Format::Csv,
            Format::Xlsx,
            Format::Ocsf,
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Format::Table => PossibleValue::new("table"),
            Format::Json => PossibleValue::new("json"),
            Format::Ndjson => PossibleValue::new("ndjson"),
            Format::Csv => PossibleValue::new("csv"),
            Format::Xlsx => PossibleValue::new("xlsx")
                .help("A workbook for spreadsheets (needs -o, or a stdout that is not a terminal)"),
            Format::Ocsf => PossibleValue::new("ocsf")
                .help("NDJSON of OCSF 1.7.0 events, for security tools (log commands only)"),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
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
