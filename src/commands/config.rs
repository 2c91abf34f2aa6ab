//! `hrlogs config show` and `hrlogs config init`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::error::{Error, Result};
use crate::options::Options;
use crate::output::Format;
use crate::settings::{Provenance, config_template};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Effective settings and where each came from (flag, env, file, default); secrets only as set/unset
    #[command(
        after_help = "Examples:\n  hrlogs config show\n  hrlogs --profile lark config show\n  hrlogs config show -f json | jq '.[] | select(.origin == \"-\")'"
    )]
    Show,
    /// Write a commented config file, readable only by you (mode 0600)
    #[command(
        after_help = "Examples:\n  hrlogs config init            # at <config dir>/hrlogs/config.toml\n  hrlogs --config ./hrlogs.toml config init --force"
    )]
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Replace an existing file
    #[arg(long)]
    pub force: bool,
}

pub fn run(cmd: ConfigCommand, options: &Options) -> Result<()> {
    match cmd {
        ConfigCommand::Show => show_settings(options),
        ConfigCommand::Init(args) => init(args, options),
    }
}

fn show_settings(options: &Options) -> Result<()> {
    let settings = crate::settings::Settings::load(&options.sources, super::SETTINGS)?;
    for w in &settings.warnings {
        eprintln!("hrlogs: warning: {w}");
    }
    let mut out = std::io::stdout().lock();
    if matches!(options.format_flag, Some(Format::Json | Format::Ndjson)) {
        let rows: Vec<_> = settings
            .entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "key": e.key.path(),
                    "value": e.shown(),
                    "origin": e.origin.to_string(),
                    "env": e.key.env,
                    "secret": e.key.secret,
                })
            })
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        )?;
        return Ok(());
    }
    let file = match (&settings.file, &settings.file_origin) {
        (Some(p), origin) => format!("{} ({origin})", p.display()),
        (None, Provenance::Default) => match crate::settings::Settings::default_file() {
            Some(p) => format!(
                "{} (not found; using defaults and environment)",
                p.display()
            ),
            None => "(none)".into(),
        },
        (None, origin) => format!("(none) ({origin})"),
    };
    writeln!(out, "config file: {file}")?;
    writeln!(
        out,
        "profile:     {} ({})",
        settings.profile, settings.profile_origin
    )?;
    writeln!(out)?;
    let width = settings
        .entries
        .iter()
        .map(|e| e.key.path().len())
        .max()
        .unwrap_or(10);
    let vwidth = settings
        .entries
        .iter()
        .map(|e| e.shown().len())
        .max()
        .unwrap_or(10)
        .min(40);
    writeln!(out, "{:width$}  {:vwidth$}  FROM", "KEY", "VALUE")?;
    for e in &settings.entries {
        writeln!(
            out,
            "{:width$}  {:vwidth$}  {}",
            e.key.path(),
            e.shown(),
            e.origin
        )?;
    }
    Ok(())
}

fn init(args: InitArgs, options: &Options) -> Result<()> {
    let path: PathBuf = match options
        .sources
        .config_flag
        .clone()
        .or_else(|| std::env::var_os("HRLOGS_CONFIG").map(PathBuf::from))
    {
        Some(p) => p,
        None => crate::settings::Settings::default_file().ok_or_else(|| {
            Error::config("cannot tell where the user config folder is; give --config PATH")
        })?,
    };
    if path.exists() && !args.force {
        return Err(Error::input(format!("{} already exists", path.display()))
            .hint("add --force to replace it"));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::input(format!("cannot create {}: {e}", dir.display())))?;
    }
    write_private(&path, config_template(super::SETTINGS).as_bytes())
        .map_err(|e| Error::input(format!("cannot write {}: {e}", path.display())))?;
    eprintln!(
        "hrlogs: wrote {} (mode 0600); fill in your credentials there",
        path.display()
    );
    Ok(())
}

/// Writes a file that only its owner can read.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut f = options.open(path)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(bytes)
    }
    #[cfg(not(unix))]
    {
        options.open(path)?.write_all(bytes)
    }
}
