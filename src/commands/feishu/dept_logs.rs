//! `hrlogs feishu dept-logs`.
//!
//! Department IDs, from `--department` or a `--department-file`, are checked before any
//! request ([`not_an_id`]): a header row or a line of prose is an input error naming the file,
//! the line number and the line, not a department that silently has no logs.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::commands::{Context, clean_list};
use crate::error::{Error, Result};
use crate::identity::Source;
use crate::plan::merge_groups;
use crate::vendors::feishu::dept_logs::{self, DeptLogsQuery, MAX_PAGE_SIZE};

const EXAMPLES: &str = "\
Examples:
  # A department's history for a year
  hrlogs feishu dept-logs --department 7094136522860922111 \\
    --since 2024-01-01 --until 2024-12-31

  # Departments listed in a file (one ID per line), three years, as a workbook
  hrlogs feishu dept-logs --department-file departments.txt \\
    --since 2022-01-01 -o dept-logs.xlsx

  # IDs from another command, Feishu department IDs instead of CoreHR ones
  cut -d, -f1 depts.csv | hrlogs feishu dept-logs --department-file - \\
    --department-id-type department_id --since 30d";

/// CoreHR department operation logs: every change to the given departments, newest first.
///
/// Calls POST /open-apis/corehr/v2/departments/query_operation_logs. The API takes at most 100
/// departments and 366 days per query; hrlogs splits larger requests into batches and windows
/// by itself and merges the answers, so any number of departments and any span work.
/// Dates are whole days: the API reads --since as 00:00:00 and --until as 23:59:59.
/// operation_time is the tenant's wall clock (no offset): tables show it as given, whatever
/// --tz says, under the header TIME (tenant), unless feishu.tenant_time_zone
/// (HRLOGS_FEISHU_TENANT_TIME_ZONE) names the tenant's zone; OCSF and workbooks read it in
/// that zone (without it: in --tz, and the run says so).
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct DeptLogsArgs {
    /// Department IDs (repeat or separate with commas)
    #[arg(long = "department", value_name = "ID", value_delimiter = ',')]
    pub departments: Vec<String>,
    /// Read department IDs from PATH, one per line or separated by commas or semicolons (blank lines and # comments ignored; no header row); - reads stdin
    #[arg(long, value_name = "PATH|-")]
    pub department_file: Option<PathBuf>,
    /// First day (required): a date like 2024-01-01, or any time form such as 90d or yesterday
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Last day, included [default: today]
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// The kind of ID given [default: people_corehr_department_id, the API's own default]
    #[arg(long, value_enum)]
    pub department_id_type: Option<DepartmentIdType>,
    /// Read the local archive that `hrlogs sync` fills instead of Feishu: no network, no
    /// credentials; the flags filter here (a department matches a record's object_id, or a
    /// synced department list that is part of the one given)
    #[arg(long)]
    pub from_archive: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
#[allow(clippy::enum_variant_names)] // named as the API names them
pub enum DepartmentIdType {
    OpenDepartmentId,
    DepartmentId,
    PeopleCorehrDepartmentId,
}

impl DepartmentIdType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DepartmentIdType::OpenDepartmentId => "open_department_id",
            DepartmentIdType::DepartmentId => "department_id",
            DepartmentIdType::PeopleCorehrDepartmentId => "people_corehr_department_id",
        }
    }
}

pub async fn cmd_dept_logs(args: DeptLogsArgs, ctx: &Context) -> Result<()> {
    let query = validate(&args, ctx)?;
    if args.from_archive {
        return crate::commands::from_archive::dept_logs(query, super::tenant(ctx), ctx).await;
    }
    let dest = ctx.destination()?;
    let feishu = super::client(ctx, ctx.options.dry_run)?;
    let plan = dept_logs::plan(feishu, query);
    let Some(dest) = dest else {
        let requests = plan
            .iter()
            .flatten()
            .map(|c| c.request(None))
            .collect::<Result<Vec<_>>>()?;
        return ctx.print_requests(super::token_preamble(ctx), &requests);
    };
    let chains: usize = plan.iter().map(Vec::len).sum();
    ctx.progress.start(&format!(
        "fetching Feishu department operation logs ({chains} windows × batches)…"
    ));
    let stream = merge_groups(plan, 1, ctx.progress.clone());
    let origin = super::origin(ctx, Source::FeishuDeptLogs);
    ctx.emit_events(stream, dest, crate::logs::feishu_dept::columns(), origin)
        .await
}

/// The flags as a checked query (dates resolved, departments de-duplicated).
pub(crate) fn validate(args: &DeptLogsArgs, ctx: &Context) -> Result<DeptLogsQuery> {
    validate_with(args, ctx, None)
}

/// [`validate`], with `--since` already read (`sync`'s own rule) when given.
fn validate_with(
    args: &DeptLogsArgs,
    ctx: &Context,
    since: Option<jiff::civil::Date>,
) -> Result<DeptLogsQuery> {
    let kind = args.department_id_type;
    let mut ids = clean_list("--department", &args.departments)?;
    if let Some(id) = ids.iter().find(|id| not_an_id(id, kind).is_some()) {
        let why = not_an_id(id, kind).unwrap_or_default();
        return Err(Error::input(format!(
            "--department {:?} {why}",
            shorten(id)
        )));
    }
    if let Some(path) = &args.department_file {
        ids.extend(crate::output::blocking(|| read_ids(path, kind))?);
    }
    let departments = clean_list("--department", &ids)?;
    if departments.is_empty() {
        return Err(Error::input("no departments given")
            .hint("use --department 7094136522860922111 (repeatable, or comma-separated) or --department-file PATH"));
    }
    let Some(since) = since.map_or_else(|| since_of(args, ctx), |d| Ok(Some(d)))? else {
        return Err(Error::input("--since is required for dept-logs")
            .hint("e.g. --since 2024-01-01 (the first day) or --since 90d"));
    };
    let until = match &args.until {
        Some(u) => crate::time::parse_date(u, ctx.tz(), ctx.now)
            .map_err(|e| Error::input(format!("--until: {e}")))?,
        None => ctx.now.to_zoned(ctx.tz().clone()).date(),
    };
    if until < since {
        return Err(Error::input(format!(
            "--until {until} is before --since {since}"
        )));
    }
    Ok(DeptLogsQuery {
        departments,
        since,
        until,
        department_id_type: args.department_id_type.map(|t| t.as_str().to_string()),
        page_size: ctx.page_size(MAX_PAGE_SIZE)?,
    })
}

/// `--since` as a date, if given.
fn since_of(args: &DeptLogsArgs, ctx: &Context) -> Result<Option<jiff::civil::Date>> {
    args.since
        .as_deref()
        .map(|s| {
            crate::time::parse_date(s, ctx.tz(), ctx.now)
                .map_err(|e| Error::input(format!("--since: {e}")))
        })
        .transpose()
}

/// The flags of `sync feishu dept-logs`: `--since` is needed by a stream's first sync only
/// (later ones start from its cursor), so it is returned apart; the query's own `since` is
/// then today's date (a sync plans its own days from the stream's row).
pub(crate) fn validate_for_sync(
    args: &DeptLogsArgs,
    ctx: &Context,
) -> Result<(DeptLogsQuery, Option<jiff::civil::Date>)> {
    let since = since_of(args, ctx)?;
    let today = ctx.now.to_zoned(ctx.tz().clone()).date();
    let mut query = validate_with(args, ctx, Some(since.unwrap_or(today)))?;
    if since.is_none() {
        query.since = today;
    }
    Ok((query, since))
}

/// The largest `--department-file` read (far above any real list of IDs).
const MAX_ID_FILE: u64 = 10 * 1024 * 1024;

/// IDs from a file or stdin: one per line or separated by commas or semicolons, as a
/// spreadsheet or Notepad saves them (a UTF-8 BOM, CRLF); blanks and `#` comments ignored.
/// Each must be a department ID of `kind` ([`not_an_id`]); the first that is not is an error
/// naming its line.
fn read_ids(path: &std::path::Path, kind: Option<DepartmentIdType>) -> Result<Vec<String>> {
    let shown = path.display();
    let mut bytes = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_ID_FILE + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_ID_FILE + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| Error::input(format!("--department-file {shown}: {e}")))?;
    if bytes.len() as u64 > MAX_ID_FILE {
        return Err(Error::input(format!(
            "--department-file {shown} is over {} MiB: not a list of department IDs",
            MAX_ID_FILE / (1024 * 1024)
        )));
    }
    let listed =
        parse_ids(&bytes).map_err(|e| Error::input(format!("--department-file {shown}: {e}")))?;
    let mut ids = Vec::with_capacity(listed.len());
    for (line, text, id) in listed {
        if let Some(why) = not_an_id(&id, kind) {
            let line_and_id = if id == text.trim() {
                format!("line {line} {:?}", shorten(&text))
            } else {
                format!("line {line} {:?}: {:?}", shorten(&text), shorten(&id))
            };
            return Err(Error::input(format!(
                "--department-file {shown}: {line_and_id} {why}"
            ))
            .hint("give one department ID per line (or separated by , or ;), no header row; # starts a comment"));
        }
        ids.push(id);
    }
    Ok(ids)
}

/// The IDs in a department file's bytes, each with its line number (from 1) and line.
fn parse_ids(bytes: &[u8]) -> std::result::Result<Vec<(usize, String, String)>, String> {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err("is UTF-16 (\"Unicode\" in Notepad); save it as UTF-8".into());
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| format!("is not UTF-8 text ({e})"))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let ids = line.split_once('#').map_or(line, |(ids, _)| ids);
        for id in ids.split([',', ';']) {
            let id = id.trim().trim_matches('"').trim();
            if !id.is_empty() {
                out.push((i + 1, line.to_string(), id.to_string()));
            }
        }
    }
    Ok(out)
}

/// The longest department ID: Feishu's custom department IDs take at most 64 characters
/// (people_corehr_department_id has 19 digits, open_department_id 35 characters).
const MAX_ID_LEN: usize = 64;

/// Words that name a column of department IDs, compared without case, spaces or `_ - .`.
const HEADERS: &[&str] = &[
    "id",
    "ids",
    "department",
    "departments",
    "departmentid",
    "departmentids",
    "deptid",
    "opendepartmentid",
    "peoplecorehrdepartmentid",
    "objectid",
];

/// Why `id` is not a department ID of `kind` (None: the API's default,
/// people_corehr_department_id), or None when it may be one. Every documented form is one
/// to 64 ASCII letters, digits and `_ - @ .`, starting with a letter or digit (Feishu's rule
/// for custom department IDs; numeric CoreHR IDs and `od-…` open IDs fit it); an
/// open_department_id starts with `od-`, and no other kind does.
fn not_an_id(id: &str, kind: Option<DepartmentIdType>) -> Option<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '@' | '.');
    let squeezed: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if HEADERS.contains(&squeezed.as_str()) {
        return Some("is a column heading, not a department ID".into());
    }
    if id.len() > MAX_ID_LEN
        || !id.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !id.chars().all(allowed)
    {
        return Some(format!(
            "is not a department ID: those are 1 to {MAX_ID_LEN} letters, digits and _ - @ . (e.g. 7094136522860922111 or od-4e6ac4d14bcd5071a37a39de902c7141)"
        ));
    }
    let open = id.starts_with("od-");
    match kind {
        Some(DepartmentIdType::OpenDepartmentId) if !open => Some(
            "is not an open_department_id (those start with od-): give --department-id-type department_id or people_corehr_department_id for other IDs".into(),
        ),
        Some(DepartmentIdType::OpenDepartmentId) => None,
        _ if open => Some(
            "is an open_department_id: add --department-id-type open_department_id".into(),
        ),
        _ => None,
    }
}

/// `text` cut to a length fit for a message.
fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn department_files_as_editors_save_them() {
        let ids = |b: &[u8]| -> Vec<String> {
            parse_ids(b)
                .expect("ids")
                .into_iter()
                .map(|(_, _, id)| id)
                .collect()
        };
        assert_eq!(ids(b"\xef\xbb\xbfd1\r\nd2\r\n"), ["d1", "d2"]);
        assert_eq!(
            ids(b"# heading\nd1, d2 # two\n\n  d3\n\"d4\",d5;d6"),
            ["d1", "d2", "d3", "d4", "d5", "d6"]
        );
        let lines: Vec<usize> = parse_ids(b"\n# x\nd1\n\nd2, d3")
            .expect("ids")
            .iter()
            .map(|(line, _, _)| *line)
            .collect();
        assert_eq!(lines, [3, 5, 5]);
        assert!(ids(b"").is_empty());
        assert!(parse_ids(b"\xff\xfed\x001\x00").is_err());
        assert!(parse_ids(b"d1\n\xc3\x28").is_err());
    }

    #[test]
    fn department_ids_of_every_documented_form_pass_and_headers_do_not() {
        let open = Some(DepartmentIdType::OpenDepartmentId);
        let custom = Some(DepartmentIdType::DepartmentId);
        for (id, kind) in [
            ("7094136522860922111", None),
            (
                "7094136522860922111",
                Some(DepartmentIdType::PeopleCorehrDepartmentId),
            ),
            ("od-4e6ac4d14bcd5071a37a39de902c7141", open),
            ("D096", custom),
            ("sales.emea@hq-2_b", custom),
            ("0", custom),
        ] {
            assert_eq!(not_an_id(id, kind), None, "{id}");
        }
        for (id, kind) in [
            ("Department ID", None),
            ("department_id", custom),
            ("DepartmentID", None),
            ("ID", custom),
            ("部门ID", None),
            ("7094 136", None),
            ("-7094", None),
            ("d1|rm", custom),
            ("od-4e6ac4d14bcd5071a37a39de902c7141", None),
            ("7094136522860922111", open),
        ] {
            assert!(not_an_id(id, kind).is_some(), "{id} {kind:?}");
        }
        assert!(not_an_id(&"7".repeat(65), None).is_some());
    }
}
