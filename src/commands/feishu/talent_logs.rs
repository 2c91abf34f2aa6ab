//! `hrlogs feishu talent-logs`.

use clap::{Args, ValueEnum};

use crate::commands::{Context, clean_list};
use crate::error::{Error, Result};
use crate::identity::Source;
use crate::plan::{filter, merge_groups};
use crate::time::Bound;
use crate::vendors::feishu::codes::{TALENT_ENUM_PAGE, talent_operations};
use crate::vendors::feishu::talent_logs::{self, MAX_PAGE_SIZE, TalentLogsQuery};

const EXAMPLES: &str = "\
Examples:
  # Everything two recruiters did of operation types 1 and 3001, newest first
  hrlogs feishu talent-logs \\
    --operator ou_b29276c7c3e2ff4bd3fcfb567ce690e3 \\
    --operator ou_016632190e242d8c9eed0a542b00756c --operation 1,3001

  # The last week only (filtered here: the API has no time filter), as CSV
  hrlogs feishu talent-logs --operator ou_b29276c7c3e2ff4bd3fcfb567ce690e3 \\
    --operation 3001 --since 7d -o week.csv

  # Operators given as user IDs, limited to one job
  hrlogs feishu talent-logs --user-id-type user_id --operator 5d9bdxxx \\
    --operation 1 --job 6949805467799537965";

/// Talent operation logs of Feishu Hire: records of what the given operators did to talents.
///
/// Calls POST /open-apis/hire/v1/talent_operation_logs/search and follows every page. The query
/// is split into parallel chains by operator and operation (each record has one of each), and
/// the chains are merged by operation_time, newest first.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct TalentLogsArgs {
    /// Operator IDs, of the kind given by --user-id-type (repeat or separate with commas)
    #[arg(
        long = "operator",
        value_name = "ID",
        value_delimiter = ',',
        required = true
    )]
    pub operators: Vec<String>,
    /// Operation type IDs, as Feishu Hire numbers them (repeat or separate with commas;
    /// --help lists them with their meanings)
    #[arg(
        long = "operation",
        value_name = "N",
        value_delimiter = ',',
        required = true,
        allow_negative_numbers = true,
        long_help = operations_help()
    )]
    pub operations: Vec<i64>,
    /// Only these job IDs
    #[arg(long = "job", value_name = "ID", value_delimiter = ',')]
    pub jobs: Vec<String>,
    /// The kind of ID that --operator gives and the records' operator.id carries
    #[arg(long, value_enum, default_value_t = UserIdType::OpenId)]
    pub user_id_type: UserIdType,
    /// Only records at or after T. The API has no time filter: this filters here, after fetching
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only records at or before T (a bare date: the end of that day). Filters here, like --since
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Read the local archive that `hrlogs sync` fills instead of Feishu: no network, no
    /// credentials; the flags filter here (--job: records synced with a job list that is part
    /// of the one given)
    #[arg(long)]
    pub from_archive: bool,
}

/// `--operation`'s `--help`: where Feishu defines the codes, then every code with its meaning
/// in English and in Feishu's own words, one a line (at most 70 columns: none wraps at 80).
fn operations_help() -> String {
    let mut help = format!(
        "Operation type IDs, as Feishu Hire numbers them (repeat or separate with commas)\n\n\
         Feishu defines them on its Hire enum page, section 操作类型枚举定义:\n\n\
         {TALENT_ENUM_PAGE}\n\n\
         Any integer is accepted. Tables, workbooks and OCSF show a code with its meaning; a \
         code not listed below is shown as its number. The codes, in English and as Feishu \
         words them:\n"
    );
    for code in talent_operations().list {
        help.push_str(&format!(
            "\n{:>7}  {} ({})",
            code.code, code.meaning, code.published
        ));
    }
    help
}

#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
#[allow(clippy::enum_variant_names)] // named as the API names them
pub enum UserIdType {
    OpenId,
    UnionId,
    UserId,
}

impl UserIdType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UserIdType::OpenId => "open_id",
            UserIdType::UnionId => "union_id",
            UserIdType::UserId => "user_id",
        }
    }
}

pub async fn cmd_talent_logs(args: TalentLogsArgs, ctx: &Context) -> Result<()> {
    let query = validate(&args, ctx)?;
    if args.from_archive {
        return crate::commands::from_archive::talent_logs(query, super::tenant(ctx), ctx).await;
    }
    let (query_since, query_until) = (query.since_ms, query.until_ms);
    let dest = ctx.destination()?;
    let feishu = super::client(ctx, ctx.options.dry_run)?;
    let chains = talent_logs::chains(feishu, query, crate::logs::feishu_talent::MAX_CHAINS);
    let Some(dest) = dest else {
        let requests = chains
            .iter()
            .map(|c| c.first_request())
            .collect::<Result<Vec<_>>>()?;
        return ctx.print_requests(super::token_preamble(ctx), &requests);
    };
    ctx.progress.start("fetching Feishu talent operation logs…");
    let (since, until) = (query_since, query_until);
    let mut stream = merge_groups(vec![chains], 0, ctx.progress.clone());
    if since.is_some() || until.is_some() {
        // The API has no time filter: a stage of the stream applies --since/--until here.
        stream = filter(stream, move |r| {
            since.is_none_or(|s| r.key >= s) && until.is_none_or(|u| r.key <= u)
        });
    }
    let origin = super::origin(ctx, Source::FeishuTalentLogs);
    ctx.emit_events(stream, dest, crate::logs::feishu_talent::columns(), origin)
        .await
}

/// The flags as a checked query.
pub(crate) fn validate(args: &TalentLogsArgs, ctx: &Context) -> Result<TalentLogsQuery> {
    let operators = clean_list("--operator", &args.operators)?;
    let mut operations = args.operations.clone();
    let mut seen = std::collections::HashSet::new();
    operations.retain(|o| seen.insert(*o));
    let jobs = clean_list("--job", &args.jobs)?;
    let since = args
        .since
        .as_deref()
        .map(|t| ctx.time("--since", t, Bound::Start))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|t| ctx.time("--until", t, Bound::End))
        .transpose()?;
    if let (Some(s), Some(u)) = (since, until) {
        if u < s {
            return Err(Error::input(format!(
                "--until ({}) is before --since ({})",
                crate::time::human(u, ctx.tz()),
                crate::time::human(s, ctx.tz())
            )));
        }
    }
    Ok(TalentLogsQuery {
        operators,
        operations,
        jobs,
        user_id_type: args.user_id_type.as_str().to_string(),
        since_ms: since.map(|t| t.as_millisecond()),
        until_ms: until.map(|t| t.as_millisecond()),
        page_size: ctx.page_size(MAX_PAGE_SIZE)?,
    })
}
