//! `hrlogs man [COMMAND...]`: the manual page (roff) of hrlogs or of one command, from the
//! same clap definitions as `--help`. The top page also carries what `--help` cannot: the time
//! grammar, exit codes, environment variables and config keys. Examples are set unfilled, so
//! `man` shows them line for line.

use std::io::Write;

use crate::error::{Error, Result};

const TIMES: &str = "\
T is any of: RFC 3339 (2024-05-01T08:00:00+08:00); a date (2024-05-01 or 20240501); a date \
and time without offset (2024-05-01 08:00); Unix seconds (10 digits; 13 digits are \
milliseconds; other all-digit lengths are an error); or relative: 30m, 24h, 7d, 2w, now, \
today, yesterday (M is refused as ambiguous). Times without an offset are in the zone given by \
--tz, else TZ, else the local zone. A bare date given to --until means the end of that day. A \
range whose end is before its start is an input error.";

const EXIT_CODES: &[(&str, &str)] = &[
    ("0", "success (also when there are no records)"),
    (
        "1",
        "hrlogs could not write its output (disk full, closed stdout, permission)",
    ),
    (
        "2",
        "bad input: flags, dates, ranges, files; detected before any request is sent",
    ),
    (
        "3",
        "credentials or configuration: missing, rejected by the vendor, forbidden",
    ),
    (
        "4",
        "the API refused the request and retrying cannot help (a vendor error code, 404)",
    ),
    (
        "5",
        "the network or the vendor kept failing after all retries, or paging made no progress",
    ),
    ("6", "archive verify: the archive was altered"),
    (
        "130, 143, 129",
        "interrupted by SIGINT, SIGTERM, SIGHUP: nothing left at -o",
    ),
];

const OTHER_ENV: &[(&str, &str)] = &[
    ("HRLOGS_CONFIG", "the config file (like --config)"),
    (
        "HRLOGS_PROFILE",
        "the profile in the config file (like --profile)",
    ),
    (
        "HRLOGS_PAGER, PAGER",
        "the pager for tables longer than the screen [default: less -FRX]; empty or cat: none",
    ),
    (
        "TZ",
        "the local time zone, for times without an offset (unless --tz)",
    ),
    ("NO_COLOR", "no colour in tables"),
    (
        "COLUMNS, LINES",
        "the terminal's size, when hrlogs should not ask the terminal",
    ),
];

/// Writes the page of `path` (empty: the top page) on stdout.
pub fn run(path: &[String], tree: super::Tree) -> Result<()> {
    let mut root = tree();
    root.build();
    let mut cmd = root.clone();
    for name in path {
        let Some(sub) = cmd.find_subcommand(name).cloned() else {
            let known: Vec<String> = cmd
                .get_subcommands()
                .filter(|s| !s.is_hide_set() && s.get_name() != "help")
                .map(|s| s.get_name().to_string())
                .collect();
            return Err(Error::input(format!(
                "hrlogs man: no command {:?} under `{}`; there are: {}",
                name,
                cmd.get_bin_name().unwrap_or("hrlogs"),
                known.join(", ")
            )));
        };
        cmd = sub;
    }
    let page = render(&cmd, path.is_empty())?;
    std::io::stdout().write_all(&page)?;
    Ok(())
}

/// The roff page of `cmd`; `top` adds the sections of the whole program.
pub fn render(cmd: &clap::Command, top: bool) -> Result<Vec<u8>> {
    let name = cmd
        .get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string();
    // `cli::command` keeps a command's examples in its long after-help (its short one adds
    // the pointer to `hrlogs help globals`, which a page does not need).
    let examples = cmd.get_after_long_help().map(|s| s.to_string());
    let cmd = cmd
        .clone()
        .after_help(None::<&str>)
        .after_long_help(None::<&str>);
    let man = clap_mangen::Man::new(cmd.clone()).title(name.to_uppercase());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut out)?;
    }
    if let Some(text) = examples {
        let body = text.strip_prefix("Examples:").unwrap_or(&text);
        section(&mut out, "EXAMPLES");
        out.extend_from_slice(b".nf\n");
        for line in body.trim_matches('\n').lines() {
            text_line(&mut out, line);
        }
        out.extend_from_slice(b".fi\n");
    }
    if top {
        top_sections(&mut out);
    }
    section(&mut out, "SEE ALSO");
    let subs: Vec<String> = leaves(&cmd)
        .into_iter()
        .filter(|p| p.as_slice() != [cmd.get_name().to_string()])
        .map(|p| format!("hrlogs man {}", p.join(" ")))
        .collect();
    if subs.is_empty() {
        text_line(
            &mut out,
            "hrlogs man (the whole program), hrlogs COMMAND --help",
        );
    } else {
        text_line(&mut out, "The page of each command:");
        out.extend_from_slice(b".nf\n");
        for s in subs {
            text_line(&mut out, &s);
        }
        out.extend_from_slice(b".fi\n");
    }
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// The command paths under `cmd` that have no subcommands (`feishu dept-logs`).
fn leaves(cmd: &clap::Command) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        let name = sub.get_name().to_string();
        if sub.has_subcommands() {
            for mut path in leaves(sub) {
                path.insert(0, name.clone());
                out.push(path);
            }
        } else {
            out.push(vec![name]);
        }
    }
    out
}

fn top_sections(out: &mut Vec<u8>) {
    section(out, "TIMES");
    text_line(out, TIMES);
    section(out, "EXIT STATUS");
    for (code, meaning) in EXIT_CODES {
        tagged(out, code, meaning);
    }
    section(out, "ENVIRONMENT");
    for key in super::SETTINGS.keys() {
        let secret = if key.secret { " (a secret)" } else { "" };
        tagged(
            out,
            key.env,
            &format!("the config key {}{secret}", key.path()),
        );
    }
    for (name, meaning) in OTHER_ENV {
        tagged(out, name, meaning);
    }
    section(out, "CONFIGURATION");
    text_line(
        out,
        &format!(
            "A TOML file at <user config dir>/hrlogs/config.toml (HRLOGS_CONFIG or --config to \
             override). The top-level tables ({}) are the default profile; \
             [profiles.NAME.<table>] another (--profile NAME). Flags win over the environment, \
             which wins over the file, which wins over the defaults. `hrlogs config init` writes \
             a commented file; `hrlogs config show` shows the effective settings. The keys:",
            super::SETTINGS.tables_listed("and", |t| format!("[{t}]"))
        ),
    );
    for key in super::SETTINGS.keys() {
        let default = key
            .default
            .map(|d| format!(" [default: {d}]"))
            .unwrap_or_default();
        tagged(out, &key.path(), &format!("{}{default}", key.doc));
    }
}

fn section(out: &mut Vec<u8>, title: &str) {
    out.extend_from_slice(format!(".SH \"{title}\"\n").as_bytes());
}

/// A `.TP` paragraph: a tag and its text.
fn tagged(out: &mut Vec<u8>, tag: &str, text: &str) {
    out.extend_from_slice(b".TP\n");
    out.extend_from_slice(format!("\\fB{}\\fR\n", escape(tag)).as_bytes());
    text_line(out, text);
}

/// One line of text, escaped so that roff prints it as it is.
fn text_line(out: &mut Vec<u8>, line: &str) {
    let line = escape(line);
    if line.starts_with('.') || line.starts_with('\'') {
        out.extend_from_slice(b"\\&");
    }
    out.extend_from_slice(line.as_bytes());
    out.push(b'\n');
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\e").replace('-', "\\-")
}
