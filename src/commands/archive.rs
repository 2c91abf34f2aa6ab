//! `hrlogs archive status`, `hrlogs archive verify` and `hrlogs archive copy FROM TO`. What they print from the archive is
//! escaped as table cells are (json stays the same JSON value): a crafted archive cannot drive
//! the terminal.

use std::io::Write;

use clap::Subcommand;
use jiff::Timestamp;

use crate::archive::{self, Anchor, Integrity, Status, anchors};
use crate::commands::Context;
use crate::error::{Error, Kind, Result};
use crate::output::Format;
use crate::output::{escape_for_terminal, escape_json_for_terminal};

/// The examples under `hrlogs archive --help`.
pub const EXAMPLES: &str = "\
Examples:
  hrlogs archive status
  hrlogs archive status -f json | jq .chain_head
  hrlogs archive verify && echo intact
  hrlogs archive copy ~/.local/share/hrlogs/archive.sqlite3 \\
    postgres://hrlogs@db.example/audit";

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// What the archive holds: streams, cursors, counts, last run, retention gaps, chain head
    /// (table, or -f json). Record the chain head elsewhere to prove later that nothing was
    /// rewritten
    #[command(
        after_help = "Examples:\n  hrlogs archive status\n  hrlogs archive status -f json | jq .chain_head"
    )]
    Status,
    /// Recompute the archive's SHA-256 hash chain: exit 0 when intact, 6 when a row was
    /// altered, removed or inserted (naming the first bad row), or when the chain no longer
    /// reaches a head written down elsewhere
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Copy one archive into another (an SQLite path or a postgres:// URL each): events with
    /// their ids and archive times, streams, cursors. The destination verifies; copying again
    /// adds nothing
    #[command(after_help = COPY_EXAMPLES)]
    Copy(CopyArgs),
}

const COPY_EXAMPLES: &str = "\
Examples:
  # A personal archive into the team's PostgreSQL (password: PGPASSWORD or
  # ~/.pgpass)
  hrlogs archive copy ~/.local/share/hrlogs/archive.sqlite3 \\
    postgres://hrlogs@db.example/audit
  hrlogs archive verify --archive postgres://hrlogs@db.example/audit

  # An SQLite evidence copy of the team archive
  hrlogs archive copy postgres://reader@db.example/audit \\
    /mnt/evidence/archive.sqlite3";

/// The two archives of `archive copy`.
#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// The archive copied: an SQLite file or a postgres:// URL (no password in it)
    #[arg(value_name = "FROM")]
    pub from: std::path::PathBuf,
    /// The archive copied into (created when missing): an SQLite file or a postgres:// URL
    #[arg(value_name = "TO")]
    pub to: std::path::PathBuf,
}

const VERIFY_EXAMPLES: &str = "\
Examples:
  hrlogs archive verify && echo intact

  # Against heads kept outside the archive (rows cut from its end show)
  hrlogs archive status -f json > /mnt/evidence/head.json
  hrlogs archive verify --expect-head-file /mnt/evidence/head.json
  hrlogs sync recruitee audit --head-log /mnt/evidence/heads.log -q
  hrlogs archive verify --head-log /mnt/evidence/heads.log";

/// Heads of the chain written down elsewhere, which the chain must still reach.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A chain head written down earlier (from `archive status`): the chain must still reach
    /// it, at the row it had then
    #[arg(long, value_name = "HASH")]
    pub expect_head: Vec<String>,
    /// A file holding a chain head: the hash, `archive status -f json`, or a head-log line
    #[arg(long, value_name = "PATH")]
    pub expect_head_file: Vec<std::path::PathBuf>,
    /// A head log that `sync --head-log` appended to: every line is checked
    #[arg(long, value_name = "PATH")]
    pub head_log: Option<std::path::PathBuf>,
}

impl VerifyArgs {
    /// The anchors given, read and checked before the archive is opened.
    fn anchors(&self) -> Result<Vec<Anchor>> {
        let mut out = Vec::new();
        for h in &self.expect_head {
            out.push(Anchor {
                head: anchors::parse_hash(h, "--expect-head")?,
                count: None,
                from: "--expect-head".into(),
            });
        }
        for p in &self.expect_head_file {
            out.push(anchors::from_file(p)?);
        }
        if let Some(p) = &self.head_log {
            out.extend(anchors::from_log(p)?);
        }
        Ok(out)
    }
}

/// Runs `archive status` or `archive verify`.
pub fn run(cmd: ArchiveCommand, ctx: &Context) -> Result<()> {
    if let ArchiveCommand::Copy(args) = &cmd {
        return copy(args, ctx);
    }
    let path = ctx.archive_location()?;
    let anchors = match &cmd {
        ArchiveCommand::Verify(args) => args.anchors()?,
        ArchiveCommand::Status | ArchiveCommand::Copy(_) => vec![],
    };
    let archive = crate::output::blocking(|| archive::open_for_reading(&path))?;
    match cmd {
        ArchiveCommand::Status => {
            let status = archive.status()?;
            let text = match ctx.options.output.format {
                Format::Json | Format::Ndjson => {
                    let mut t = serde_json::to_string_pretty(&status)
                        .map_err(|e| Error::other(format!("archive status: {e}")))?;
                    t.push('\n');
                    // The same JSON, with bidi and C1 control characters as `\u` escapes.
                    escape_json_for_terminal(&t)
                }
                _ => table(&status, ctx),
            };
            std::io::stdout().write_all(text.as_bytes())?;
            Ok(())
        }
        ArchiveCommand::Copy(_) => Ok(()),
        ArchiveCommand::Verify(_) => match archive.verify(&anchors)? {
            Integrity::Intact { rows, head, staged } => {
                if !ctx.options.messages.quiet {
                    let reached = match anchors.len() {
                        0 => String::new(),
                        1 => ", and it reaches the head written down".to_string(),
                        n => format!(", and it reaches all {n} heads written down"),
                    };
                    ctx.progress.line(&format!(
                        "hrlogs: archive {} is intact: {rows} events, chain head {}{reached}",
                        escape_for_terminal(&archive.location()),
                        escape_for_terminal(&head)
                    ));
                    if staged > 0 {
                        ctx.progress.warn(&format!(
                            "not covered: {staged} records staged by a sync that did not complete; the next sync takes them in as fetched then (`archive status` shows them)"
                        ));
                    }
                }
                Ok(())
            }
            Integrity::Broken { seq, why } => Err(Error::new(
                Kind::Tampered,
                if seq > 0 {
                    format!(
                        "archive {} was altered at row {seq}: {why}",
                        archive.location()
                    )
                } else {
                    format!("archive {} was altered: {why}", archive.location())
                },
            )
            .hint("restore it from a backup; rows are in the `events` table, ordered by seq")),
        },
    }
}

/// `archive copy FROM TO`: the source is opened for reading only, the destination for
/// writing (created when missing).
fn copy(args: &CopyArgs, ctx: &Context) -> Result<()> {
    let from = ctx.archive_location_given(Some(&args.from))?;
    let to = ctx.archive_location_given(Some(&args.to))?;
    let same = match (&from, &to) {
        (archive::Location::Sqlite(a), archive::Location::Sqlite(b)) => {
            a == b
                || a.canonicalize()
                    .ok()
                    .is_some_and(|a| b.canonicalize().ok() == Some(a))
        }
        (archive::Location::Postgres(a), archive::Location::Postgres(b)) => {
            a.url == b.url && a.schema == b.schema
        }
        _ => false,
    };
    if same {
        return Err(Error::input(
            "archive copy: FROM and TO are the same archive",
        ));
    }
    let now_ms = ctx.now.as_millisecond();
    let (copied, source, dest) = crate::output::blocking(|| -> Result<_> {
        let source = archive::open_for_reading(&from)?;
        let mut dest = archive::open_for_writing(&to)?;
        let copied = archive::copy::copy(source.as_ref(), dest.as_mut(), now_ms)?;
        Ok((copied, source.location(), dest.location()))
    })?;
    if !ctx.options.messages.quiet {
        ctx.progress.line(&format!(
            "hrlogs: copied {} into {}: {} new, {} already there ({} runs replayed, {} streams)",
            escape_for_terminal(&source),
            escape_for_terminal(&dest),
            copied.new,
            copied.seen,
            copied.runs,
            copied.streams
        ));
    }
    Ok(())
}

fn time(ms: Option<i64>, ctx: &Context) -> String {
    ms.and_then(|m| Timestamp::from_millisecond(m).ok())
        .map(|t| {
            t.to_zoned(ctx.tz().clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
}

/// The status for people. Every string read from the archive is escaped like a table cell:
/// a crafted archive cannot drive the terminal.
fn table(s: &Status, ctx: &Context) -> String {
    let mut out = String::new();
    out.push_str(&format!("archive     {}\n", escape_for_terminal(&s.path)));
    out.push_str(&format!("events      {}\n", s.events));
    out.push_str(&format!(
        "chain head  {} ({} rows)\n",
        escape_for_terminal(&s.chain_head),
        s.chain_count
    ));
    for st in &s.streams {
        out.push_str(&format!(
            "\nstream {}  {}  {}\n",
            st.id,
            escape_for_terminal(&st.source),
            escape_for_terminal(&st.tenant)
        ));
        out.push_str(&format!(
            "  query       {}\n",
            escape_for_terminal(&st.query.to_string())
        ));
        out.push_str(&format!("  events      {}\n", st.events));
        let from = match (st.covered_from_ms, st.cursor_ms) {
            (_, None) => "-".to_string(),
            (None, Some(_)) => "the start of what the vendor kept".to_string(),
            // Department logs are complete from a whole day (their keys read the wall clock
            // as UTC).
            (Some(f), Some(_)) if st.source == crate::identity::Source::FeishuDeptLogs.name() => {
                Timestamp::from_millisecond(f)
                    .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date().to_string())
                    .unwrap_or_else(|_| "-".into())
            }
            (Some(f), Some(_)) => time(Some(f), ctx),
        };
        out.push_str(&format!(
            "  complete    from {from} to {}\n",
            time(st.cursor_ms, ctx)
        ));
        let complete = match st.last_run_complete {
            Some(true) => "complete",
            Some(false) => "incomplete",
            None => "-",
        };
        out.push_str(&format!(
            "  last run    {} ({complete}: {} new, {} already archived, {} requests)\n",
            time(st.last_run_ms, ctx),
            st.last_run_new.unwrap_or(0),
            st.last_run_already_archived.unwrap_or(0),
            st.last_run_requests.unwrap_or(0)
        ));
        let forgets = crate::identity::Source::from_name(&st.source)
            .and_then(crate::logs::forgets_after)
            .filter(|(days, _)| {
                st.cursor_ms
                    .is_some_and(|c| c < ctx.now.as_millisecond() - days * 86_400_000)
            });
        if let Some((days, vendor)) = forgets {
            out.push_str(&format!(
                "  overdue     last synced more than {days} days ago: {vendor} forgets events after that; sync now\n"
            ));
        }
        if st.staged > 0 {
            out.push_str(&format!(
                "  unfinished  {} records fetched by a run that did not complete; the next sync finishes it\n",
                st.staged
            ));
        }
        for g in s.gaps.iter().filter(|g| g.stream_id == st.id) {
            out.push_str(&format!(
                "  may be lost {} .. {} (noted {})\n",
                time(g.from_ms, ctx),
                time(Some(g.until_ms), ctx),
                time(Some(g.noted_ms), ctx)
            ));
        }
    }
    if s.streams.is_empty() {
        out.push_str("\nno streams yet: run `hrlogs sync …`\n");
    }
    out
}
