//! One sync run: plan the units, fetch each unit not done yet, give every record its event id,
//! stage the records batch by batch (committed), mark the unit done, and when every unit is
//! done append what is new to the archive in one transaction.

use jiff::Timestamp;

use super::jobs::Job;
use crate::archive::{Finalized, RunEnd, Staged, Store};
use crate::commands::Context;
use crate::error::Result;
use crate::identity::{Counted, Identifier, Source};
use crate::logs::IdMode;
use crate::output::blocking;
use crate::record::Record;

/// What a complete run did.
pub struct RunOutcome {
    /// The stream's row id.
    pub stream: i64,
    pub finalized: Finalized,
    /// Requests this run sent.
    pub requests: u64,
    /// How many runs this process has made (for `--follow`'s messages).
    pub polls: u64,
}

/// Assigns event ids along one unit: along the stream, or counted over the unit
/// ([`IdMode`]); the one algorithm is in `identity`.
enum Ids {
    Stream(Identifier),
    Counted(Counted),
}

impl Ids {
    fn new(mode: IdMode, source: Source) -> Ids {
        match mode {
            IdMode::Stream => Ids::Stream(Identifier::new(source)),
            IdMode::Counted => Ids::Counted(Counted::new(source)),
        }
    }

    fn id(&mut self, record: &Record) -> String {
        match self {
            Ids::Stream(ids) => ids.id(record),
            Ids::Counted(ids) => ids.id(record),
        }
    }
}

/// How far this machine's clock may be from the vendor's before it is said (the overlap a
/// later sync fetches again).
const CLOCK_TOLERANCE_MS: i64 = 10 * 60 * 1000;

static CLOCK_WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Says once per process that the clocks differ.
fn warn_clock(ctx: &Context, source: Source, host: Timestamp, vendor: Timestamp) {
    if CLOCK_WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let vendor_name = match source.name().split(' ').next() {
        Some("feishu") => "Feishu",
        Some("recruitee") => "Recruitee",
        _ => "the vendor",
    };
    ctx.progress.warn(&format!(
        "this machine's clock reads {} but {vendor_name}'s reads {}: they differ by more than 10 minutes; the archive's cursors follow {vendor_name}'s clock, but fix this machine's (NTP)",
        host.strftime("%Y-%m-%d %H:%M:%SZ"),
        vendor.strftime("%Y-%m-%d %H:%M:%SZ"),
    ));
}

fn show_ms(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

static POLLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Runs the job once against the archive.
pub async fn run_once(job: &Job, archive: &mut dyn Store, ctx: &Context) -> Result<RunOutcome> {
    let polls = POLLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let now = Timestamp::now();
    let started = std::time::Instant::now();
    let now_ms = now.as_millisecond();
    let mut state = blocking(|| archive.stream(job.key(), now_ms))?;
    if let Some(cursor) = state.cursor.filter(|c| *c > now_ms) {
        // Set while this machine's clock was ahead (or altered): the events' own times say
        // how far the stream really is.
        let newest = blocking(|| archive.newest_event_ms(state.id))?.map(|n| n.min(now_ms));
        ctx.progress.warn(&format!(
            "the stream's cursor ({}) is after this machine's clock ({}): it was set by a clock that was ahead; syncing from {} instead",
            show_ms(cursor),
            show_ms(now_ms),
            newest.map_or_else(|| "the start".to_string(), show_ms)
        ));
        state.cursor = newest;
    }
    let plan = job.plan(&state, now)?;
    if let Some((from, until, message)) = &plan.lost {
        ctx.progress.warn(message);
        blocking(|| archive.note_gap(state.id, (*from, *until), now_ms))?;
    }
    blocking(|| archive.set_pending(state.id, plan.pending.as_deref()))?;
    let requests_before = ctx.progress.requests();
    ctx.progress
        .start(&format!("syncing {}…", job.source().name()));
    let source = job.source();
    let mut ord = blocking(|| archive.staged_until(state.id))?;
    let fetched: Result<()> = async {
        for unit in plan.units {
            if blocking(|| archive.unit_done(state.id, &unit.name))? {
                ctx.progress
                    .line_if_verbose(&format!("{}: done by the last run, skipped", unit.name));
                continue;
            }
            let mut ids = Ids::new(unit.ids, source);
            let floor = if unit.floors {
                blocking(|| archive.unit_floor(state.id, &unit.name))?
            } else {
                None
            };
            if let Some(f) = floor {
                ctx.progress.line_if_verbose(&format!(
                    "{}: staged down to {f} by the last run; fetching what is below",
                    unit.name
                ));
            }
            let mut stream = (unit.start)(ctx.progress.clone(), floor);
            while let Some(batch) = stream.next_batch().await {
                let records = batch?;
                let rows: Vec<(String, i64)> = records
                    .iter()
                    .map(|r| (ids.id(r), job.time_ms(r)))
                    .collect();
                let staged: Vec<Staged<'_>> = records
                    .iter()
                    .zip(&rows)
                    .map(|(r, (id, t))| Staged {
                        event_id: id,
                        time_ms: *t,
                        record: r.raw.get(),
                    })
                    .collect();
                // Newest first, in verified pieces: all at or above the oldest key is staged.
                // Keys are ms; floors whole seconds (the search's windows).
                let floor = unit
                    .floors
                    .then(|| records.iter().map(|r| r.key).min())
                    .flatten()
                    .map(|k| (unit.name.as_str(), k.div_euclid(1000).saturating_add(1)));
                blocking(|| archive.stage(state.id, ord, &staged, floor))?;
                ord = ord.saturating_add(staged.len() as i64);
            }
            blocking(|| archive.mark_unit_done(state.id, &unit.name))?;
        }
        Ok(())
    }
    .await;
    let requests = ctx.progress.requests().saturating_sub(requests_before);
    if let Err(e) = fetched {
        let _ = blocking(|| archive.note_incomplete_run(state.id, now_ms, requests));
        if !ctx.options.messages.quiet {
            let kept = blocking(|| archive.staged_count(state.id)).unwrap_or(0);
            ctx.progress.line(&format!(
                "hrlogs: sync {}: 0 new, {requests} request{}, incomplete: the archive is unchanged; the {kept} records fetched so far are kept for the next sync",
                source.name(),
                if requests == 1 { "" } else { "s" },
            ));
        }
        return Err(e);
    }
    // The cursor in the vendor's time: the end asked for, or the vendor's clock when the run
    // started if that is earlier (this machine's clock is ahead).
    let vendor_start = ctx.http.server_now().and_then(|t| {
        let ran = jiff::SignedDuration::try_from(started.elapsed()).ok()?;
        t.checked_sub(ran).ok()
    });
    let cursor = match vendor_start {
        Some(v) => {
            let skew = now_ms.saturating_sub(v.as_millisecond());
            if skew.saturating_abs() > CLOCK_TOLERANCE_MS {
                warn_clock(ctx, source, now, v);
            }
            plan.cursor.min(v.as_millisecond())
        }
        None => plan.cursor,
    };
    let finalized = blocking(|| {
        archive.finalize(
            job.key(),
            state.id,
            &RunEnd {
                asked_from: plan.asked_from,
                covered_from: plan.covered_from,
                cursor: Some(cursor),
                now_ms,
                requests,
                offsets: job.offsets(),
            },
        )
    })?;
    Ok(RunOutcome {
        stream: state.id,
        finalized,
        requests,
        polls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    fn rec(text: &str, key: i64) -> Record {
        Record::new(RawValue::from_string(text.to_string()).expect("json"), key)
    }

    #[test]
    fn counted_ids_equal_the_stream_ids_in_any_order() {
        let day = 86_400_000 * 20_000;
        let same = r#"{"operation_time":"x","operator":"E1"}"#;
        let other = r#"{"operation_time":"y","operator":"E2"}"#;
        let newest_first = [
            rec(same, day + 9),
            rec(other, day + 5),
            rec(same, day + 9),
            rec(
                r#"{"operation_time":"z","operator":"E1"}"#,
                day - 86_400_000 + 1,
            ),
        ];
        let mut stream = Identifier::new(Source::FeishuTalentLogs);
        let expected: Vec<String> = newest_first.iter().map(|r| stream.id(r)).collect();
        let mut counted = Ids::new(IdMode::Counted, Source::FeishuTalentLogs);
        let mut got: Vec<String> = newest_first.iter().rev().map(|r| counted.id(r)).collect();
        got.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(
            expected
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len(),
            4
        );
    }
}
