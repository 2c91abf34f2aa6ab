//! `-f ocsf`: each log record as one OCSF 1.7.0 event, for SIEMs and security data lakes.
//!
//! [`schema`] holds the typed OCSF structs; [`feishu`] and [`recruitee`] map each vendor's record
//! onto them (the rules, field by field, are in `docs/ocsf.md`). [`event`] is the one entry
//! point: it takes the record, its hrlogs id (the same id the archive uses, see
//! [`crate::identity`]) and the [`Origin`] that says which log and tenant the record came from.
//! Nothing here does I/O; the sink in `output::ocsf` writes the events.

mod feishu;
pub use feishu::in_zone as wall_clock_in_zone;
mod greenhouse;
mod recruitee;
pub mod schema;

use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use crate::codes::Codes;
use crate::identity::Source;
use crate::record::Record;
pub use schema::{Event, VERSION};

/// How a log's records become events: named by the log's room (`logs::<log>::OCSF`), one
/// of [`feishu_dept_log`], [`feishu_talent_log`], [`recruitee_audit_entry`] (no central
/// match on the source).
pub type Mapper = for<'a, 'o> fn(Subject<'a, 'o>, &TimeZone) -> Result<Event<'a>, String>;

/// Feishu department operation logs (their wall-clock times read in `tz` unless the origin
/// knows the tenant's zone).
pub fn feishu_dept_log<'a>(s: Subject<'a, '_>, tz: &TimeZone) -> Result<Event<'a>, String> {
    let zone = s.0.wall_clock.clone().unwrap_or_else(|| tz.clone());
    feishu::dept_log(s, &zone)
}

/// Feishu talent operation logs.
pub fn feishu_talent_log<'a>(s: Subject<'a, '_>, _: &TimeZone) -> Result<Event<'a>, String> {
    feishu::talent_log(s)
}

/// Recruitee audit log entries.
pub fn recruitee_audit_entry<'a>(s: Subject<'a, '_>, _: &TimeZone) -> Result<Event<'a>, String> {
    recruitee::audit_entry(s)
}

/// Greenhouse audit log results.
pub fn greenhouse_audit_result<'a>(s: Subject<'a, '_>, _: &TimeZone) -> Result<Event<'a>, String> {
    greenhouse::audit_result(s)
}

/// Which log and tenant the records of a stream come from: what an OCSF event says of its
/// origin (`metadata.product`, `metadata.tenant_uid`), how its id is made, and how its
/// records are mapped.
#[derive(Debug, Clone)]
pub struct Origin {
    pub source: Source,
    /// The log's mapping, as its room names it.
    pub mapper: Mapper,
    /// `metadata.tenant_uid`: the Feishu app id (else the base URL's host), the Recruitee
    /// company id.
    pub tenant_uid: Option<String>,
    /// Feishu's international edition (a base URL on larksuite.com): products are named Lark.
    pub lark: bool,
    /// The zone of the times the log writes without an offset (Feishu department logs: the
    /// tenant's wall clock), when known; else they are read in the zone `event` is given.
    pub wall_clock: Option<TimeZone>,
    /// The vendor's table of the log's operation codes, for their meaning (`activity_name`,
    /// `message`); codes are "other" activities without one.
    pub operations: Option<Codes>,
}

impl Origin {
    /// A Feishu/Lark log (`source` is one of the Feishu sources, mapped by `mapper`) of the
    /// app `app_id` at `base_url`.
    pub fn feishu(source: Source, mapper: Mapper, base_url: &str, app_id: Option<&str>) -> Origin {
        let host = url::Url::parse(base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        let lark = host
            .as_deref()
            .is_some_and(|h| h == "larksuite.com" || h.ends_with(".larksuite.com"));
        let tenant_uid = app_id
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .or(host);
        Origin {
            source,
            mapper,
            tenant_uid,
            lark,
            wall_clock: None,
            operations: None,
        }
    }

    /// The same origin, whose wall-clock times are in `zone` (None: unknown).
    pub fn with_wall_clock(self, zone: Option<TimeZone>) -> Origin {
        Origin {
            wall_clock: zone,
            ..self
        }
    }

    /// The same origin, whose operation codes mean what `codes` says.
    pub fn with_operations(self, codes: Codes) -> Origin {
        Origin {
            operations: Some(codes),
            ..self
        }
    }

    /// The Greenhouse audit log (mapped by `mapper`) of the organization `tenant` names (None:
    /// its results' `organization_id`).
    pub fn greenhouse(mapper: Mapper, tenant: Option<String>) -> Origin {
        Origin {
            source: Source::GreenhouseAudit,
            mapper,
            tenant_uid: tenant.filter(|t| !t.trim().is_empty()),
            lark: false,
            wall_clock: None,
            operations: None,
        }
    }

    /// The Recruitee audit log (mapped by `mapper`) of company `company_id`.
    pub fn recruitee(mapper: Mapper, company_id: &str) -> Origin {
        let company = company_id.trim();
        Origin {
            source: Source::RecruiteeAudit,
            mapper,
            tenant_uid: (!company.is_empty()).then(|| company.to_string()),
            lark: false,
            wall_clock: None,
            operations: None,
        }
    }
}

/// The time in the record's `field` as `read` makes it, with the field's text (OCSF's
/// `original_time`). Without a readable time a record cannot be an event: the error says why,
/// naming the `what` by its `uid`.
fn time_of<T>(
    fields: &Map<String, Value>,
    field: &str,
    (what, uid): (&str, &str),
    read: impl FnOnce(Option<&Value>) -> Option<T>,
) -> Result<(T, Option<String>), String> {
    let value = fields.get(field);
    let original = text(value);
    match read(value) {
        Some(time) => Ok((time, original)),
        None => Err(format!(
            "{what} {uid} has no readable {field} ({}): an OCSF event needs a time (-f ndjson shows the record as received)",
            original.as_deref().unwrap_or("none")
        )),
    }
}

/// The OCSF event of `record`, whose hrlogs id is `uid`. Times the vendor writes without an
/// offset are read in the origin's wall-clock zone, else in `tz`. Fails (with the reason) only when the record has no readable time,
/// which OCSF requires.
pub fn event<'a>(
    origin: &Origin,
    record: &'a Record,
    uid: String,
    tz: &TimeZone,
) -> Result<Event<'a>, String> {
    let fields: Map<String, Value> = match serde_json::from_str(record.raw.get()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let subject = Subject(origin, fields, record.raw.get(), uid);
    let mut event = (origin.mapper)(subject, tz)?;
    if let Some(link) = &record.link {
        // OCSF 1.7.0 has no field for a record's integrity chain: the row goes in
        // `metadata.sequence`, the chain hash in `unmapped` (docs/ocsf.md).
        event.metadata.sequence = Some(link.seq);
        event.unmapped.get_or_insert_with(Map::new).insert(
            CHAIN_KEY.to_string(),
            serde_json::json!({"seq": link.seq, "hash": link.hash}),
        );
    }
    Ok(event)
}

/// Where an archived event's chain link goes in `unmapped`.
pub const CHAIN_KEY: &str = "hrlogs_chain";

/// A record on its way to an event: the log it is from, its fields, its exact text (OCSF's
/// `raw_data`) and its hrlogs id.
pub struct Subject<'a, 'o>(&'o Origin, Map<String, Value>, &'a str, String);

/// A scalar as text: strings as they are (None when blank), numbers in their JSON form.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What is left of the record once the mapped fields are taken out, nulls dropped; None when
/// nothing is left.
fn unmapped(mut fields: Map<String, Value>, mapped: &[&str]) -> Option<Map<String, Value>> {
    for key in mapped {
        fields.remove(*key);
    }
    fields.retain(|_, v| !v.is_null());
    (!fields.is_empty()).then_some(fields)
}

/// The address, when `v` is a valid IP address (OCSF's `ip_t`).
fn ip(v: Option<&Value>) -> Option<String> {
    let s = v?.as_str()?.trim();
    s.parse::<std::net::IpAddr>().ok().map(|a| a.to_string())
}

/// The address, when `v` looks like an e-mail address (OCSF's `email_t`).
fn email(v: Option<&Value>) -> Option<String> {
    let s = v?.as_str()?.trim();
    let (local, domain) = s.split_once('@')?;
    let ok_local = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let ok_domain = domain.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && b.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    });
    (ok_local && ok_domain).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Change;
    use serde_json::json;

    #[test]
    fn feishu_tenant_is_the_app_id_else_the_host_and_lark_is_told_apart() {
        let o = Origin::feishu(
            Source::FeishuDeptLogs,
            feishu_dept_log,
            "https://open.feishu.cn",
            Some("cli_a1"),
        );
        assert_eq!(o.tenant_uid.as_deref(), Some("cli_a1"));
        assert!(!o.lark);
        let o = Origin::feishu(
            Source::FeishuTalentLogs,
            feishu_talent_log,
            "https://open.larksuite.com/gw",
            None,
        );
        assert_eq!(o.tenant_uid.as_deref(), Some("open.larksuite.com"));
        assert!(o.lark);
        assert_eq!(
            Origin::recruitee(recruitee_audit_entry, " ").tenant_uid,
            None
        );
    }

    /// The codes of a test: the department table's shape, without the vendor module (ocsf
    /// knows no vendor; the real table is checked against these mappings in
    /// `vendors::feishu::codes`).
    const DEPT: crate::codes::Codes = crate::codes::Codes {
        what: "operation type",
        list: &[
            code(10, Change::Create),
            code(20, Change::Update),
            code(50, Change::Update),
            code(60, Change::Update),
            code(70, Change::Disable),
            code(80, Change::Enable),
            code(90, Change::Delete),
            code(100, Change::Update),
            code(110, Change::Update),
            code(120, Change::Update),
        ],
    };

    const fn code(code: i64, change: Change) -> crate::codes::Code {
        crate::codes::Code {
            code,
            meaning: "words",
            published: "",
            change,
        }
    }

    #[test]
    fn department_operation_types_map_to_the_activities_documented() {
        let table = [
            (10, 1),
            (20, 3),
            (50, 3),
            (60, 3),
            (70, 9),
            (80, 8),
            (90, 4),
            (100, 3),
            (110, 3),
            (120, 3),
            (7, 99),
        ];
        for (op, activity) in table {
            let (_, a) = feishu::activity(Some(&DEPT), Some(&json!(op)));
            assert_eq!(a.id, activity, "type {op}");
        }
        let (words, other) = feishu::activity(Some(&DEPT), Some(&json!(7)));
        assert_eq!(other.name, "operation type 7");
        assert_eq!(words, "operation type 7");
    }

    #[test]
    fn only_well_formed_addresses_are_mapped() {
        assert_eq!(
            ip(Some(&json!(" 103.167.233.83 "))).as_deref(),
            Some("103.167.233.83")
        );
        assert_eq!(
            ip(Some(&json!("2001:DB8::1"))).as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(ip(Some(&json!("103.167.233"))), None);
        assert_eq!(ip(Some(&json!(42))), None);
        assert!(email(Some(&json!("ishwar0123@gmail.com"))).is_some());
        for bad in [
            "no-at",
            "a@b",
            "@example.com",
            "a b@example.com",
            "a@exa mple.com",
        ] {
            assert_eq!(email(Some(&json!(bad))), None, "{bad}");
        }
    }

    #[test]
    fn a_record_without_a_time_is_refused_with_the_reason() {
        let raw = serde_json::value::RawValue::from_string(
            r#"{"_id":"x1","event_name":"Admin viewed candidate"}"#.to_string(),
        )
        .expect("json");
        let record = Record::new(raw, 0);
        let err = event(
            &Origin::recruitee(recruitee_audit_entry, "1"),
            &record,
            "x1".into(),
            &TimeZone::UTC,
        )
        .expect_err("no time");
        assert!(err.contains("x1") && err.contains("created_at"), "{err}");
    }

    #[test]
    fn unknown_recruitee_events_are_other_in_the_vendors_words() {
        let raw = serde_json::value::RawValue::from_string(
            json!({"_id": "e1", "actor": "Anna", "actor_type": "admin", "admin": null,
                   "created_at": "2024-01-01T00:00:00Z", "event_name": "Admin sent email",
                   "details": {"email": {"id": 9, "subject": "hi"}}, "extra": 1})
            .to_string(),
        )
        .expect("json");
        let record = Record::new(raw, 0);
        let e = event(
            &Origin::recruitee(recruitee_audit_entry, "1"),
            &record,
            "e1".into(),
            &TimeZone::UTC,
        )
        .expect("event");
        assert_eq!(e.activity_id, 99);
        assert_eq!(e.activity_name, "Admin sent email");
        assert_eq!(e.type_uid, 300499);
        assert_eq!(e.entity.as_ref().map(|x| x.kind.as_str()), Some("email"));
        let unmapped = e.unmapped.expect("unmapped");
        assert!(unmapped.contains_key("extra") && unmapped.contains_key("details"));
    }
}
