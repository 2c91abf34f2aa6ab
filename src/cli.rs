//! The root of the command line: [`Cli`] (the global flags, `options::GlobalArgs`, and the
//! subcommand, `commands::Command`) and [`command`], the clap tree with its help texts. Only
//! `main` imports it; `options::Options::resolve` turns the global flags into resolved options
//! and nothing after that sees clap.

use clap::Parser;

use crate::commands::Command;
use crate::options::GlobalArgs;

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
