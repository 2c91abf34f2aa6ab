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

/// The help topic that lists the global options: `hrlogs help globals` (or `hrlogs globals`).
pub const GLOBALS: &str = "globals";

/// The last line of every `-h`, in place of the global options it leaves out (at most 80
/// columns).
const GLOBALS_POINTER: &str =
    "Global options (-f FORMAT, -o PATH, --tz, --profile, …): hrlogs help globals";

/// The command line with its help texts: `-h` shows each command's own flags and examples and
/// ends with a pointer to `hrlogs help globals`; `--help` lists the global options too
/// (clap's `hide_short_help` on each of them); `hrlogs help globals` lists them alone (a
/// hidden topic, so that clap's own `help` subcommand finds it and `hrlogs help <command>`
/// works as ever). Parse, complete and document with this rather than `Cli::command()`.
pub fn command() -> clap::Command {
    let globals = clap::Command::new(GLOBALS)
        .about("The global options: every command takes them, before or after its name")
        .override_usage("hrlogs [OPTIONS] <COMMAND>")
        .hide(true);
    with_pointer(<Cli as clap::CommandFactory>::command().subcommand(globals))
}

/// Parses the command line. `hrlogs globals` is the topic of `hrlogs help globals`: it prints
/// the same (clap's help, exit 0).
pub fn parse() -> Result<Cli, clap::Error> {
    let matches = command().try_get_matches()?;
    if matches.subcommand_name() == Some(GLOBALS) {
        command().try_get_matches_from(["hrlogs", "help", GLOBALS])?;
    }
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches)
}

/// Ends `-h` with [`GLOBALS_POINTER`], after the examples, in `cmd` and every subcommand but
/// the `globals` topic; `--help` keeps the examples alone.
fn with_pointer(mut cmd: clap::Command) -> clap::Command {
    if cmd.get_name() != GLOBALS {
        let examples = cmd.get_after_help().map(|h| h.to_string());
        cmd = match examples {
            Some(examples) => cmd
                .after_help(format!("{examples}\n\n{GLOBALS_POINTER}"))
                .after_long_help(examples),
            None => cmd.after_help(GLOBALS_POINTER),
        };
    }
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
