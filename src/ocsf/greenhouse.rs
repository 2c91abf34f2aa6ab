//! Greenhouse audit log results as OCSF events. Every result is Entity Management (3004): data
//! changes are Create, Update and Delete of the record named by `event.target_type` and
//! `event.target_id`; a Harvest API access is a Read of that record (why not API Activity:
//! `docs/ocsf.md`); an `action` is Other (99), named by its `target_type` (the action's name,
//! such as `Global Email Added`).

use serde_json::Value;

use super::schema::{
    Activity, Actor, Class, Event, ManagedEntity, Metadata, NetworkEndpoint, Product,
    USER_TYPE_SYSTEM, USER_TYPE_USER, User, VERSION,
};
use super::{Subject, email, ip, text, time_of, unmapped};

/// The activity an `event.type` stands for.
fn activity(kind: Option<&str>, target_type: Option<&str>) -> Activity {
    match kind {
        Some("data_change_create") => Activity::defined(1, "Create"),
        Some("harvest_access") => Activity::defined(2, "Read"),
        Some("data_change_update") => Activity::defined(3, "Update"),
        Some("data_change_destroy") => Activity::defined(4, "Delete"),
        Some("action") => Activity::other(target_type.unwrap_or("action")),
        Some(other) => Activity::other(other),
        None => Activity::other("unnamed event"),
    }
}

/// A Greenhouse audit log result.
pub fn audit_result<'a>(record: Subject<'a, '_>) -> Result<Event<'a>, String> {
    let Subject(origin, fields, raw, uid) = record;
    let (time, original_time) = time_of(&fields, "event_time", ("audit result", &uid), |v| {
        text(v)
            .and_then(|t| crate::time::vendor_instant(&t))
            .map(|(t, _)| t.as_millisecond())
    })?;
    let event = fields.get("event").cloned().unwrap_or(Value::Null);
    let kind = text(event.get("type"));
    let target_type = text(event.get("target_type"));
    let target_id = text(event.get("target_id"));
    let activity = activity(kind.as_deref(), target_type.as_deref());

    // Who: a Greenhouse user, an API key, or Greenhouse itself.
    let performer = fields.get("performer").cloned().unwrap_or(Value::Null);
    let meta = performer.get("meta");
    let username = meta.and_then(|m| text(m.get("username")));
    let mut actor = User {
        uid: text(performer.get("id")),
        name: meta
            .and_then(|m| text(m.get("name")))
            .or_else(|| username.clone()),
        email_addr: email(meta.and_then(|m| m.get("username"))),
        ..User::default()
    };
    let user_type = match text(performer.get("type")).as_deref() {
        Some("user") => Some(USER_TYPE_USER),
        Some("greenhouse_internal") => Some(USER_TYPE_SYSTEM),
        _ => None,
    };
    actor.type_id = user_type.map(|t| t.0);
    actor.kind = user_type.map(|t| t.1);

    let entity_kind = match kind.as_deref() {
        Some("action") => "action".to_string(),
        _ => target_type.clone().unwrap_or_else(|| "record".to_string()),
    };
    let entity_name = match kind.as_deref() {
        Some("action") => target_type.clone(),
        _ => None,
    };
    let entity = ManagedEntity::new(entity_kind, target_id, entity_name);

    let mut mapped = vec!["event_time"];
    let org = text(fields.get("organization_id"));
    let tenant_uid = origin.tenant_uid.clone().or_else(|| org.clone());
    if tenant_uid.is_some() && tenant_uid == org {
        mapped.push("organization_id");
    }
    let metadata = Metadata {
        product: Product {
            name: "Greenhouse Recruiting",
            vendor_name: "Greenhouse",
        },
        version: VERSION,
        uid,
        event_code: kind.clone(),
        log_name: "audit log",
        original_time,
        tenant_uid,
        sequence: None,
    };
    let mut ev = Event::new(Class::EntityManagement, activity, time, metadata, raw);
    let who = actor.name.clone().or_else(|| actor.uid.clone());
    let what = match (&entity.name, &entity.uid) {
        (Some(n), Some(u)) => format!("{} {n} ({u})", entity.kind),
        (Some(n), None) => format!("{} {n}", entity.kind),
        (None, Some(u)) => format!("{} {u}", entity.kind),
        (None, None) => entity.kind.clone(),
    };
    ev.message = format!(
        "{}: {} — {what}",
        who.as_deref().unwrap_or("(unknown performer)"),
        kind.as_deref().unwrap_or("unnamed event")
    );
    ev.comment = fields
        .get("request")
        .and_then(|r| text(r.get("type")))
        .map(|t| format!("request {t}"));
    if let Some(address) = ip(performer.get("ip_address")) {
        ev.src_endpoint = Some(NetworkEndpoint { ip: address });
    }
    if actor.is_named() {
        ev.actor = Some(Actor { user: actor });
        mapped.push("performer");
    }
    ev.entity = Some(entity);
    ev.unmapped = unmapped(fields, &mapped);
    Ok(ev)
}
