//! Feishu/Lark records as OCSF Entity Management events: CoreHR department operation logs
//! (entity `department`) and Hire talent operation logs (entity `talent`).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::schema::{
    Activity, Actor, Class, Event, ManagedEntity, Metadata, Product, USER_TYPE_USER, User, VERSION,
};
use super::{Origin, Subject, text, time_of, unmapped};
use crate::codes::{Change, Codes};

/// An operation type: the vendor's words (from the log's table of codes, `origin.operations`)
/// and the OCSF activity it is. A code without a documented meaning is Other (99), named
/// `operation type N`.
pub fn activity(codes: Option<&Codes>, operation_type: Option<&Value>) -> (String, Activity) {
    let code = operation_type.and_then(crate::codes::read);
    let known = code.and_then(|c| codes.and_then(|t| t.get(c)));
    let Some(known) = known else {
        let words = match (code, text(operation_type)) {
            (Some(c), _) => format!("operation type {c}"),
            (None, Some(t)) => format!("operation type {t}"),
            (None, None) => "operation type unknown".to_string(),
        };
        return (words.clone(), Activity::other(words));
    };
    let words = known.meaning.to_string();
    let activity = match known.change {
        Change::Create => Activity::defined(1, "Create"),
        Change::Read => Activity::defined(2, "Read"),
        Change::Update => Activity::defined(3, "Update"),
        Change::Delete => Activity::defined(4, "Delete"),
        Change::Enable => Activity::defined(8, "Enable"),
        Change::Disable => Activity::defined(9, "Disable"),
        Change::Other => Activity::other(words.clone()),
    };
    (words, activity)
}

fn product(origin: &Origin, feishu: &'static str, lark: &'static str) -> Product {
    if origin.lark {
        Product {
            name: lark,
            vendor_name: "Lark",
        }
    } else {
        Product {
            name: feishu,
            vendor_name: "Feishu",
        }
    }
}

/// An integer the vendor may send as a number or as a string (`"3001"`).
fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A wall-clock time without offset (`2023-11-15 19:25:45`) read in `tz`: epoch ms and the
/// zone's offset then, in minutes.
fn wall_clock(text: &str, tz: &TimeZone) -> Option<(i64, i32)> {
    in_zone(text.trim().parse::<DateTime>().ok()?, tz)
}

/// A wall-clock time read in `tz` (a time that a change of offset skips or repeats is read
/// as jiff's `compatible` rule does: the offset before the change): epoch ms and the zone's
/// offset then, in minutes. The one rule for department log times, here and in the archive
/// (`logs::feishu_dept`).
pub fn in_zone(dt: DateTime, tz: &TimeZone) -> Option<(i64, i32)> {
    let zoned = tz.to_ambiguous_zoned(dt).compatible().ok()?;
    Some((
        zoned.timestamp().as_millisecond(),
        zoned.offset().seconds() / 60,
    ))
}

/// A CoreHR department operation log.
pub fn dept_log<'a>(record: Subject<'a, '_>, tz: &TimeZone) -> Result<Event<'a>, String> {
    let Subject(origin, fields, raw, uid) = record;
    let ((time, offset), original_time) = time_of(
        &fields,
        "operation_time",
        ("department operation log", &uid),
        |v| text(v).and_then(|t| wall_clock(&t, tz)),
    )?;
    let (words, activity) = activity(origin.operations.as_ref(), fields.get("operation_type"));
    let department = text(fields.get("object_id"));
    let operator = text(fields.get("operator"));
    let metadata = Metadata {
        product: product(origin, "Feishu CoreHR", "Lark CoreHR"),
        version: VERSION,
        uid,
        event_code: text(fields.get("operation_type")),
        log_name: "department operation logs",
        original_time,
        tenant_uid: origin.tenant_uid.clone(),
        sequence: None,
    };
    let mut event = Event::new(Class::EntityManagement, activity, time, metadata, raw);
    event.timezone_offset = Some(offset);
    event.message = format!(
        "department {}: {words} by {}",
        department.as_deref().unwrap_or("(unknown)"),
        operator.as_deref().unwrap_or("(unknown operator)")
    );
    event.comment = text(fields.get("operation_reason"));
    event.actor = operator.map(|uid| Actor {
        user: User {
            uid: Some(uid),
            type_id: Some(USER_TYPE_USER.0),
            kind: Some(USER_TYPE_USER.1),
            ..User::default()
        },
    });
    event.entity = Some(ManagedEntity::new(
        "department",
        department,
        renamed_to(fields.get("changes")),
    ));
    event.unmapped = unmapped(
        fields,
        &[
            "object_id",
            "operator",
            "operation_type",
            "operation_time",
            "operation_reason",
        ],
    );
    Ok(event)
}

/// The department's name, when one of the changes is to its `name` (the new one, or the old
/// one if the new is empty).
fn renamed_to(changes: Option<&Value>) -> Option<String> {
    let change = changes?
        .as_array()?
        .iter()
        .find(|c| c.get("field").and_then(Value::as_str) == Some("name"))?;
    text(change.get("after")).or_else(|| text(change.get("before")))
}

/// A Hire talent operation log.
pub fn talent_log<'a>(record: Subject<'a, '_>) -> Result<Event<'a>, String> {
    let Subject(origin, fields, raw, uid) = record;
    let (time, original_time) = time_of(
        &fields,
        "operation_time",
        ("talent operation log", &uid),
        int,
    )?;
    let operation_type = text(fields.get("operation_type"));
    let (words, activity) = activity(origin.operations.as_ref(), fields.get("operation_type"));
    let talent = text(fields.get("talent_id"));
    let operator = fields.get("operator");
    let id = text(operator.and_then(|o| o.get("id")));
    let names = operator.and_then(|o| o.get("name"));
    let zh = text(names.and_then(|n| n.get("zh_cn")));
    let en = text(names.and_then(|n| n.get("en_us")));
    let name = zh.clone().or_else(|| en.clone());
    let display_name = en.filter(|e| zh.as_ref().is_some_and(|z| z != e));
    let employee = int(fields.get("operator_type")) == Some(1);
    let user = User {
        uid: id.clone(),
        name: name.clone(),
        display_name,
        type_id: employee.then_some(USER_TYPE_USER.0),
        kind: employee.then_some(USER_TYPE_USER.1),
        ..User::default()
    };
    let metadata = Metadata {
        product: product(origin, "Feishu Hire", "Lark Hire"),
        version: VERSION,
        uid,
        event_code: operation_type,
        log_name: "talent operation logs",
        original_time,
        tenant_uid: origin.tenant_uid.clone(),
        sequence: None,
    };
    let mut event = Event::new(Class::EntityManagement, activity, time, metadata, raw);
    let who = match (&name, &id) {
        (Some(n), Some(i)) => format!("{n} ({i})"),
        (Some(n), None) => n.clone(),
        (None, Some(i)) => i.clone(),
        (None, None) => "(unknown operator)".to_string(),
    };
    let application = text(fields.get("application_id"))
        .map(|a| format!(", application {a}"))
        .unwrap_or_default();
    event.message = format!(
        "talent {}{application}: {words} by {who}",
        talent.as_deref().unwrap_or("(unknown)")
    );
    event.actor = user.is_named().then_some(Actor { user });
    event.entity = Some(ManagedEntity::new("talent", talent, None));
    let mut mapped = vec!["talent_id", "operator", "operation_type", "operation_time"];
    if employee {
        mapped.push("operator_type");
    }
    event.unmapped = unmapped(fields, &mapped);
    Ok(event)
}
