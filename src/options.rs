//! The door: the global flags as typed (`cli::GlobalArgs`) turned, in one function, into the
//! plain, validated options of a run ([`Options::resolve`]). Nothing after this sees clap:
//! `commands/` reads `Options`, and the rooms below it (plan, fetch, vendors, output, settings)
//! never import `cli`. Runtime services (HTTP client, progress, sandbox) are built from these
//! options by `commands::Context::new`.

use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::tz::TimeZone;

use crate::error::{Error, Result};
use crate::fetch::RetryPolicy;
use crate::output::{Format, OutputOptions};
use crate::settings::Inputs;

/// The most a user may ask one request to wait, and the most retries.
const MAX_TIMEOUT_SECS: f64 = 3600.0;
const MAX_RETRIES: u32 = 100;

/// Everything the global flags decide, validated, with defaults applied.
pub struct Options {
    pub output: OutputOptions,
    /// What `-f` said, if anything (`config show` prints JSON only when asked).
    pub format_flag: Option<Format>,
    /// `-o PATH`.
    pub output_path: Option<PathBuf>,
    pub dry_run: bool,
    /// `--page-size`, not yet checked against an API's range (each command knows its own).
    pub page_size: Option<u32>,
    pub retry: RetryPolicy,
    /// `--sandbox`: point every vendor at the built-in stand-in.
    pub sandbox: bool,
    /// Where the settings come from (`--config`, `--profile`).
    pub sources: Inputs,
    /// `--archive PATH`.
    pub archive: Option<PathBuf>,
    pub messages: Messages,
}

/// What goes to stderr besides errors.
#[derive(Debug, Clone, Copy)]
pub struct Messages {
    pub progress: bool,
    pub quiet: bool,
    pub verbose: u8,
}

impl Options {
    /// Validates the global flags; fails (exit 2) before anything is sent.
    pub fn resolve(global: GlobalArgs) -> Result<Options> {
        let tz = crate::time::zone(global.tz.as_deref())
            .map_err(|e| Error::input(format!("--tz: {e}")))?;
        if global.limit == Some(0) {
            return Err(Error::input("--limit must be at least 1"));
        }
        let timeout = match global.timeout {
            None => Duration::from_secs(30),
            Some(t) if t.is_finite() && t > 0.0 && t <= MAX_TIMEOUT_SECS => {
                Duration::from_secs_f64(t)
            }
            Some(t) => {
                return Err(Error::input(format!(
                    "--timeout must be more than 0 and at most {MAX_TIMEOUT_SECS} seconds, not {t}"
                )));
            }
        };
        let max_retries = global.max_retries.unwrap_or(5);
        if max_retries > MAX_RETRIES {
            return Err(Error::input(format!(
                "--max-retries must be at most {MAX_RETRIES}"
            )));
        }
        let min_delay = std::env::var("HRLOGS_RETRY_MIN_DELAY_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(Duration::from_millis(500), Duration::from_millis);
        let retry = RetryPolicy {
            max_retries: max_retries as usize,
            timeout,
            min_delay,
            max_delay: Duration::from_secs(30).max(min_delay),
        };
        let format_flag = global.format;
        let format = resolve_format(format_flag, global.output.as_deref())?;
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
            // A table written to a file (-o report.txt) gets no escape codes.
            ColorChoice::Auto => {
                to_stdout
                    && std::io::stdout().is_terminal()
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
            tz,
            color,
            limit: global.limit,
            origin: None,
            wide: global.wide,
            pager: !global.no_pager,
            bom: global.bom,
            quiet: global.quiet,
        };
        Ok(Options {
            output,
            format_flag,
            output_path: global.output,
            dry_run: global.dry_run,
            page_size: global.page_size,
            retry,
            sandbox: global.sandbox,
            sources: Inputs {
                config_flag: global.config,
                profile_flag: global.profile,
                overrides: Vec::new(),
            },
            archive: global.archive,
            messages: Messages {
                progress: !global.no_progress,
                quiet: global.quiet,
                verbose: global.verbose,
            },
        })
    }

    /// The zone for parsing and showing times (`--tz`, else `TZ`, else the system's).
    pub fn tz(&self) -> &TimeZone {
        &self.output.tz
    }
}

/// `-o -`: stdout.
pub fn is_stdout(path: &Path) -> bool {
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
