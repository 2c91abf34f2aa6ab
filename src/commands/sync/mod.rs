//! `hrlogs sync …`: keeps every event of a query in the archive. Each run fetches what is new
//! since the stream's cursor (minus an overlap), stages it, and appends what the archive does
//! not hold yet, oldest first; it prints those records and one summary line on stderr.
//! `--follow` repeats the run every `--interval` until Ctrl-C / SIGTERM; with `--metrics ADDR`
//! it serves its metrics and health meanwhile ([`crate::metrics`]).
//!
//! - `jobs`: what each source's stream is (its key) and the units a run fetches.
//! - `engine`: one run: units → ids → staging → finalize.
//! - `from_archive`: `--from-archive` on the three log commands.

mod delivery;
mod engine;
mod jobs;

use std::io::IsTerminal;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::archive::{self, Store};

use crate::commands::Context;
use crate::commands::feishu::dept_logs::DeptLogsArgs;
use crate::commands::feishu::talent_logs::TalentLogsArgs;
use crate::commands::recruitee::audit::AuditArgs;
use crate::error::{Error, Kind, Result};
use crate::metrics::{self, Metrics};
use crate::output::{self, Destination, Format, OutputOptions};

pub use engine::RunOutcome;
pub use jobs::Job;

/// The examples under `hrlogs sync --help`.
pub const EXAMPLES: &str = "\
Examples:
  # Nightly from cron: keep the Recruitee audit trail past its 30 days
  hrlogs sync recruitee audit -f ndjson >> /var/log/hrlogs/audit.ndjson

  # Feishu department logs since 2024; later runs fetch only what is new
  hrlogs sync feishu dept-logs --department-file departments.txt \\
    --since 2024-01-01 -q

  # Follow new events as they happen, for a log shipper
  hrlogs sync recruitee audit --follow --interval 2m -f ndjson

  # Try it with no account (the sandbox's audit log grows every few seconds)
  hrlogs --sandbox --archive /tmp/demo.sqlite3 sync recruitee audit \\
    --follow --interval 5s -f ndjson";

/// The default time between polls with `--follow`.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// The shortest `--interval`; the vendor's rate limit paces every request anyway.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The longest wait after failed polls.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Feishu/Lark: department and talent operation logs
    #[command(subcommand, after_help = SYNC_FEISHU_EXAMPLES)]
    Feishu(SyncFeishu),
    /// Recruitee: the audit log
    #[command(subcommand, after_help = SYNC_AUDIT_EXAMPLES)]
    Recruitee(SyncRecruitee),
    /// Greenhouse Recruiting: the audit log
    #[command(subcommand, after_help = SYNC_GREENHOUSE_EXAMPLES)]
    Greenhouse(SyncGreenhouse),
}

#[derive(Debug, Subcommand)]
pub enum SyncGreenhouse {
    /// Archive the audit log. The first sync fetches from --since, or everything Greenhouse
    /// keeps (30 days); later ones from 15 minutes before the last sync. Sync at least every
    /// 30 days, or results are lost
    #[command(mut_arg("from_archive", |a| a.hide(true)), mut_arg("until", |a| a.hide(true)))]
    #[command(after_help = SYNC_GREENHOUSE_EXAMPLES)]
    Audit(SyncGreenhouseAudit),
}

/// `sync greenhouse audit`: the flags of `greenhouse audit`, and those of a sync.
#[derive(Debug, Args)]
pub struct SyncGreenhouseAudit {
    #[command(flatten)]
    pub follow: FollowArgs,
    #[command(flatten)]
    pub query: crate::commands::greenhouse::audit::AuditArgs,
}

const SYNC_GREENHOUSE_EXAMPLES: &str = "\
Examples:
  hrlogs sync greenhouse audit -f ndjson >> /var/log/hrlogs/greenhouse.ndjson
  hrlogs sync greenhouse audit --follow --interval 5m -f ndjson";

const SYNC_DEPT_EXAMPLES: &str = "\
Examples:
  # Into the archive, printing what is new (the first run fetches from --since)
  hrlogs sync feishu dept-logs --department-file departments.txt \\
    --since 2024-01-01 -f ndjson >> dept-logs.ndjson

  # Try it with no account
  hrlogs --sandbox sync feishu dept-logs --department 7094136522860922111 \\
    --since 2023-01-01";

const SYNC_TALENT_EXAMPLES: &str = "\
Examples:
  hrlogs sync feishu talent-logs \\
    --operator ou_b29276c7c3e2ff4bd3fcfb567ce690e3 --operation 1,3001 \\
    -f ndjson >> talent-logs.ndjson";

const SYNC_FEISHU_EXAMPLES: &str = "\
Examples:
  hrlogs sync feishu dept-logs --department-file departments.txt \\
    --since 2024-01-01 -q
  hrlogs sync feishu talent-logs \\
    --operator ou_b29276c7c3e2ff4bd3fcfb567ce690e3 --operation 3001 -q";

const SYNC_AUDIT_EXAMPLES: &str = "\
Examples:
  hrlogs sync recruitee audit -f ndjson >> /var/log/hrlogs/audit.ndjson
  hrlogs sync recruitee audit --follow --interval 2m -f ndjson";

#[derive(Debug, Subcommand)]
pub enum SyncFeishu {
    /// Archive department operation logs. The first sync fetches from --since (required);
    /// later ones from the day before the last sync to today: one request per 100 departments
    /// when nothing is new
    #[command(mut_arg("from_archive", |a| a.hide(true)), mut_arg("until", |a| a.hide(true)))]
    #[command(after_help = SYNC_DEPT_EXAMPLES)]
    DeptLogs(SyncDeptLogs),
    /// Archive talent operation logs. The API has no time filter and no documented order, so
    /// every sync reads every page of the query (one request per 100 records, split across
    /// operators and operation types) and archives only what is new; --since filters here
    #[command(mut_arg("from_archive", |a| a.hide(true)), mut_arg("until", |a| a.hide(true)))]
    #[command(after_help = SYNC_TALENT_EXAMPLES)]
    TalentLogs(SyncTalentLogs),
}

#[derive(Debug, Subcommand)]
pub enum SyncRecruitee {
    /// Archive the audit log. The first sync fetches from --since, or everything Recruitee
    /// keeps (30 days); later ones from 10 minutes before the last sync: one request when
    /// nothing is new. Sync at least every 30 days, or events are lost
    #[command(mut_arg("from_archive", |a| a.hide(true)), mut_arg("until", |a| a.hide(true)))]
    #[command(after_help = SYNC_AUDIT_EXAMPLES)]
    Audit(SyncAudit),
}

#[derive(Debug, Args)]
pub struct SyncDeptLogs {
    #[command(flatten)]
    pub query: DeptLogsArgs,
    #[command(flatten)]
    pub follow: FollowArgs,
}

#[derive(Debug, Args)]
pub struct SyncTalentLogs {
    #[command(flatten)]
    pub query: TalentLogsArgs,
    #[command(flatten)]
    pub follow: FollowArgs,
}

#[derive(Debug, Args)]
pub struct SyncAudit {
    #[command(flatten)]
    pub query: AuditArgs,
    #[command(flatten)]
    pub follow: FollowArgs,
}

/// `--follow` and `--interval`.
#[derive(Debug, Args, Clone)]
pub struct FollowArgs {
    /// After catching up, keep polling and print new records as they are archived, until
    /// Ctrl-C or SIGTERM (a failed poll is retried later, not fatal)
    #[arg(long, help_heading = "Sync")]
    pub follow: bool,
    /// Time between polls with --follow: 90s, 5m, 1h, or seconds [default: 60s]
    #[arg(long, value_name = "D", requires = "follow", help_heading = "Sync")]
    pub interval: Option<String>,
    /// After each run that archived something, append the chain head and row count to this
    /// file (keep it outside the archive: `archive verify --head-log PATH` checks it)
    #[arg(long, value_name = "PATH", help_heading = "Sync")]
    pub head_log: Option<std::path::PathBuf>,
    /// With --follow, serve Prometheus metrics at http://ADDR/metrics and a health check at
    /// /healthz (ADDR: 127.0.0.1:9464; port 0: a free port, said on stderr)
    #[arg(long, value_name = "ADDR", requires = "follow", help_heading = "Sync")]
    pub metrics: Option<String>,
}

/// Runs a sync: once, or with `--follow` until interrupted.
pub async fn run(cmd: SyncCommand, ctx: &Context) -> Result<()> {
    let (job, follow, from_archive) = match cmd {
        SyncCommand::Feishu(SyncFeishu::DeptLogs(a)) => {
            let fa = a.query.from_archive;
            (jobs::dept_logs(&a.query, ctx)?, a.follow, fa)
        }
        SyncCommand::Feishu(SyncFeishu::TalentLogs(a)) => {
            let fa = a.query.from_archive;
            (jobs::talent_logs(&a.query, ctx)?, a.follow, fa)
        }
        SyncCommand::Recruitee(SyncRecruitee::Audit(a)) => {
            let fa = a.query.from_archive;
            (jobs::audit(&a.query, ctx)?, a.follow, fa)
        }
        SyncCommand::Greenhouse(SyncGreenhouse::Audit(a)) => {
            let fa = a.query.from_archive;
            (jobs::greenhouse_audit(&a.query, ctx)?, a.follow, fa)
        }
    };
    if from_archive {
        return Err(Error::input(
            "sync writes the archive; --from-archive reads it: drop --from-archive",
        ));
    }
    let interval = match &follow.interval {
        Some(text) => parse_interval(text)?,
        None => DEFAULT_INTERVAL,
    };
    check_flags(ctx, follow.follow)?;
    let path = ctx.archive_location()?;
    if ctx.options.dry_run {
        return dry_run(&job, &path, ctx);
    }
    // Bound before the archive is is opened or fetched: an address taken is an input error.
    let metrics = match &follow.metrics {
        Some(addr) => Some(serve_metrics(addr, interval, ctx).await?),
        None => None,
    };
    let mut archive = output::blocking(|| archive::open_for_writing(&path))?;
    if let Some(log) = &follow.head_log {
        check_head_log(archive.as_ref(), log)?;
    }
    let dest = ctx
        .destination()?
        .ok_or_else(|| Error::other("no destination for the records"))?;
    let table_per_poll = follow.follow && ctx.options.output.format == Format::Table;
    let options = OutputOptions {
        origin: Some(crate::commands::origin(job.source(), ctx)),
        // A follow never ends: no pager waits on its tables.
        pager: ctx.options.output.pager && !follow.follow,
        ..ctx.options.output.clone()
    };
    ctx.progress.set_output_on_terminal(
        ctx.options.output_path.is_none() && std::io::stdout().is_terminal(),
    );
    let receipt = delivery::Receipt::of(ctx);
    let mut sink = output::sink(&options, job.columns(), dest)?;
    let mut delivery: Option<delivery::Delivery> = None;
    let work = async {
        let mut failures: u32 = 0;
        loop {
            if let Some(d) = &mut delivery {
                d.poll_starts(archive.as_mut())?;
            }
            let poll_started = std::time::Instant::now();
            match engine::run_once(&job, archive.as_mut(), ctx).await {
                Ok(outcome) => {
                    failures = 0;
                    if let Some(m) = &metrics {
                        m.poll_succeeded(
                            job.source().name(),
                            &job.key().tenant,
                            outcome.finalized.new,
                            poll_started.elapsed(),
                        );
                    }
                    let d = delivery
                        .get_or_insert_with(|| delivery::Delivery::new(outcome.stream, receipt));
                    // New records may go to the terminal: the display goes first.
                    ctx.progress.output_starts();
                    let printed = if table_per_poll {
                        // A table is drawn when it ends: with --follow, one per poll.
                        let mut each =
                            output::sink(&options, job.columns(), Destination::stdout())?;
                        let printed = d.print(archive.as_mut(), &job, each.as_mut(), ctx).await?;
                        if printed > 0 {
                            output::blocking(|| output::close(each))?;
                        }
                        printed
                    } else {
                        d.print(archive.as_mut(), &job, sink.as_mut(), ctx).await?
                    };
                    summary(ctx, &job, &outcome, printed, follow.follow);
                    if let Some(log) = &follow.head_log {
                        let f = &outcome.finalized;
                        if f.new > 0 || !follow.follow {
                            archive::anchors::append(
                                log,
                                &archive::anchors::HeadLine {
                                    time: jiff::Timestamp::now()
                                        .strftime("%Y-%m-%dT%H:%M:%SZ")
                                        .to_string(),
                                    archive: path.to_string(),
                                    head: f.head.clone(),
                                    count: f.count,
                                },
                            )?;
                        }
                    }
                }
                Err(e) if follow.follow && is_transient(&e) => {
                    failures = failures.saturating_add(1);
                    if let Some(m) = &metrics {
                        m.poll_failed(
                            &ctx.progress.redactor().clean(&e.message),
                            poll_started.elapsed(),
                        );
                    }
                    let wait = backoff(interval, failures);
                    ctx.progress.pause();
                    ctx.progress.warn(&format!(
                        "{e}; trying again in {}s (the archive is unchanged)",
                        wait.as_secs()
                    ));
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Err(e) => return Err(e),
            }
            if !follow.follow {
                return Ok(());
            }
            // No progress line stays on the screen while waiting for the next round.
            ctx.progress.pause();
            tokio::time::sleep(interval).await;
        }
    };
    // Ctrl-C, SIGTERM and SIGHUP end the run in `main` (exit 130/143/129): every
    // transaction is atomic, so the archive stays consistent whenever that happens.
    let outcome: Result<()> = work.await;
    match outcome {
        Ok(()) if table_per_poll => Ok(()),
        Ok(()) => match output::blocking(|| {
            for w in sink.warnings() {
                ctx.progress.warn(&output::escape_for_terminal(&w));
            }
            output::close(sink)
        }) {
            Ok(()) => match &mut delivery {
                Some(d) => d.closed(archive.as_mut()),
                None => Ok(()),
            },
            Err(e) => {
                let e: Error = e.into();
                Err(match &delivery {
                    Some(d) => d.close_failed(archive.as_mut(), e),
                    None => e,
                })
            }
        },
        Err(e) => {
            let _ = sink.flush();
            Err(e)
        }
    }
}

/// `--metrics ADDR`: binds it (exit 2 when it cannot be), counts every request of the run
/// from now on, serves `/metrics` and `/healthz`, and says where on stderr.
async fn serve_metrics(
    addr: &str,
    interval: Duration,
    ctx: &Context,
) -> Result<std::sync::Arc<Metrics>> {
    let listener = metrics::bind(addr).await?;
    let shown = listener
        .local_addr()
        .map_or_else(|_| addr.to_string(), |a| a.to_string());
    let m = std::sync::Arc::new(Metrics::new(interval));
    ctx.http.observe(m.clone());
    metrics::serve(listener, m.clone());
    ctx.progress
        .line(&format!("hrlogs: metrics on http://{shown}/metrics"));
    Ok(m)
}

/// `--dry-run`: what the next run would fetch (the first request of each chain), from the
/// archive's state for this stream; nothing is written and nothing is sent.
fn dry_run(job: &Job, path: &archive::Location, ctx: &Context) -> Result<()> {
    let state = if output::blocking(|| archive::exists(path))? {
        output::blocking(|| archive::open_for_reading(path))?.find_stream(job.key())?
    } else {
        None
    };
    let first = state.is_none();
    let state = state.unwrap_or(archive::StreamState {
        id: 0,
        covered_from: None,
        cursor: None,
        last_run_at: None,
        pending: None,
    });
    let plan = job.plan(&state, jiff::Timestamp::now())?;
    let requests: Vec<crate::fetch::Request> = plan
        .units
        .into_iter()
        .flat_map(|u| u.first_requests)
        .collect();
    let preamble = format!(
        "# {} of {} into {} ({}): the first request of each chain",
        if first { "first sync" } else { "sync" },
        job.source().name(),
        path,
        if first {
            "a new stream".to_string()
        } else {
            "from the stream's cursor".to_string()
        },
    );
    ctx.print_requests(Some(preamble), &requests)
}

/// Before a sync appends to an archive whose heads are logged elsewhere: the archive must
/// still hold the last head logged (a restored backup, a truncated `-wal`, rows cut from its
/// end would otherwise be extended as if nothing happened, and events printed twice).
fn check_head_log(archive: &dyn Store, log: &std::path::Path) -> Result<()> {
    let Some(last) = archive::anchors::last_of_log(log)? else {
        return Ok(());
    };
    let Some(count) = last.count else {
        return Ok(());
    };
    if count == 0 || archive.row_hash(count)?.as_deref() == Some(last.head.as_str()) {
        return Ok(());
    }
    Err(Error::new(
        Kind::Tampered,
        format!(
            "archive {} no longer holds the head its head log {} last recorded ({} at row {count}): it lost or changed rows since (a restored copy, a cut write-ahead log, an edit)",
            archive.location(),
            log.display(),
            last.head
        ),
    )
    .hint("nothing was synced; `hrlogs archive verify --head-log …` says more; restore the archive, or start a new head log if this was deliberate"))
}

/// Flags that do not fit a sync.
fn check_flags(ctx: &Context, follow: bool) -> Result<()> {
    if ctx.options.output.limit.is_some() {
        return Err(
            Error::input("--limit does not fit sync: a sync archives every new event")
                .hint("read the archive with --from-archive --limit N instead"),
        );
    }
    if follow && ctx.options.output.format == Format::Xlsx {
        return Err(Error::input(
            "-f xlsx writes its workbook when the run ends, which --follow never does",
        )
        .hint("use -f ndjson (one line per event) with --follow"));
    }
    if follow && ctx.options.output_path.is_some() {
        return Err(Error::input(
            "-o writes its file when the run ends, which --follow never does",
        )
        .hint(
            "append to a file with the shell: hrlogs sync … --follow -f ndjson >> events.ndjson",
        ));
    }
    Ok(())
}

/// The one line on stderr after a run.
fn summary(ctx: &Context, job: &Job, outcome: &RunOutcome, printed: u64, follow: bool) {
    if ctx.options.messages.quiet || (follow && outcome.polls > 1 && printed == 0) {
        return;
    }
    let f = &outcome.finalized;
    let requests = outcome.requests;
    // Printed but not new: archived first by another stream, or not received last time.
    let also = if printed == f.new {
        String::new()
    } else {
        format!(", {printed} printed")
    };
    ctx.progress.line(&format!(
        "hrlogs: sync {}: {} new, {} already archived{also}, {} request{}, complete",
        job.source().name(),
        f.new,
        f.seen,
        requests,
        if requests == 1 { "" } else { "s" }
    ));
}

/// Failures worth another poll: the network or the vendor failing for now.
fn is_transient(e: &Error) -> bool {
    e.kind == Kind::Unavailable
}

/// The wait after `failures` failed polls in a row: the interval, doubled each time, capped.
fn backoff(interval: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.min(10);
    interval
        .saturating_mul(factor)
        .min(MAX_BACKOFF.max(interval))
}

/// `--interval`: `90s`, `5m`, `1h`, or whole seconds (the duration grammar of `--since`,
/// `time::duration`).
pub fn parse_interval(text: &str) -> Result<Duration> {
    let t = text.trim();
    let bad = || {
        Error::input(format!(
            "--interval {text:?}: give a duration like 90s, 5m or 1h"
        ))
    };
    let secs = if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse::<i64>().map_err(|_| bad())?
    } else {
        crate::time::duration_seconds(t).ok_or_else(bad)?
    };
    let d = Duration::from_secs(u64::try_from(secs).map_err(|_| bad())?);
    if d < MIN_INTERVAL || d > Duration::from_secs(7 * 86_400) {
        return Err(Error::input(format!(
            "--interval {text:?} is out of range: 1s to 7 days"
        )));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("90s").ok(), Some(Duration::from_secs(90)));
        assert_eq!(parse_interval("5m").ok(), Some(Duration::from_secs(300)));
        assert_eq!(parse_interval("2h").ok(), Some(Duration::from_secs(7200)));
        assert_eq!(parse_interval("30").ok(), Some(Duration::from_secs(30)));
        for bad in ["0s", "", "5x", "-1", "1.5m", "99999999999999999999h"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let i = Duration::from_secs(60);
        assert_eq!(backoff(i, 1), Duration::from_secs(120));
        assert_eq!(backoff(i, 30), MAX_BACKOFF);
    }
}
