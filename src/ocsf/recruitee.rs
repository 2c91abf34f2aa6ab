//! Recruitee audit entries as OCSF events. The event name (`Admin disqualified candidate`) says
//! what happened: its verb gives the activity, its object the entity. Changes to candidates and
//! offers (and anything else) are Entity Management; a change to an admin user, where an entry
//! names the admin acted upon, is Account Change.

use serde_json::{Map, Value};

use super::schema::{
    Activity, Actor, Class, Event, ManagedEntity, Metadata, NetworkEndpoint, Product,
    USER_TYPE_ADMIN, USER_TYPE_SYSTEM, USER_TYPE_USER, User, VERSION,
};
use super::{Subject, email, ip, text, time_of, unmapped};

/// Words that end the object of an event name (`assigned candidate *to* offer`).
const PREPOSITIONS: &[&str] = &[
    "to", "from", "in", "of", "for", "on", "with", "by", "at", "as",
];

/// Objects that are admin users of the account.
const ACCOUNT_OBJECTS: &[&str] = &[
    "admin",
    "admins",
    "administrator",
    "teammate",
    "teammates",
    "user",
    "users",
    "member",
    "members",
];

/// The Entity Management activity a verb of an event name stands for.
fn entity_activity(verb: &str) -> Option<(u32, &'static str)> {
    Some(match verb {
        "created" | "added" | "imported" | "uploaded" => (1, "Create"),
        "viewed" | "opened" | "downloaded" | "exported" => (2, "Read"),
        "updated" | "changed" | "edited" | "renamed" | "assigned" | "deassigned" | "unassigned"
        | "reassigned" | "disqualified" | "requalified" | "qualified" | "moved" | "hired"
        | "restored" => (3, "Update"),
        "deleted" | "removed" => (4, "Delete"),
        _ => return None,
    })
}

/// The Account Change activity a verb of an event name stands for.
fn account_activity(verb: &str) -> Option<(u32, &'static str)> {
    Some(match verb {
        "created" | "added" | "invited" => (1, "Create"),
        "enabled" | "activated" | "reactivated" => (2, "Enable"),
        "disabled" | "deactivated" | "blocked" => (5, "Disable"),
        "deleted" | "removed" => (6, "Delete"),
        "locked" => (9, "Lock"),
        "unlocked" => (12, "Unlock"),
        _ => return None,
    })
}

/// An event name split into its verb (the first word that names an activity) and the object
/// after it (up to a preposition), lowercase.
struct Words {
    verb: Option<String>,
    object: Vec<String>,
    all: Vec<String>,
}

fn words(event_name: &str) -> Words {
    let all: Vec<String> = event_name
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let at = all
        .iter()
        .position(|w| entity_activity(w).is_some() || account_activity(w).is_some());
    let object = at
        .map(|i| {
            all.iter()
                .skip(i.saturating_add(1))
                .take_while(|w| !PREPOSITIONS.contains(&w.as_str()))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Words {
        verb: at.and_then(|i| all.get(i)).cloned(),
        object,
        all,
    }
}

/// The first of `paths` (each a path of keys into `fields`) that holds a scalar, as text.
fn first(fields: &Map<String, Value>, paths: &[&[&str]]) -> Option<String> {
    paths.iter().find_map(|path| {
        let (head, rest) = path.split_first()?;
        let mut v = fields.get(*head)?;
        for key in rest {
            v = v.get(*key)?;
        }
        text(Some(v))
    })
}

/// The admin user an entry acts upon: the first object in `details`, other than the acting
/// `admin`, that looks like a person (an e-mail or a first or last name).
fn target_user(details: Option<&Value>) -> Option<User> {
    let (_, person) = details?.as_object()?.iter().find(|(k, v)| {
        k.as_str() != "admin"
            && ["email", "first_name", "last_name"]
                .iter()
                .any(|f| text(v.get(*f)).is_some())
    })?;
    let user = person_user(person, None);
    user.is_named().then_some(user)
}

/// A Recruitee admin object (`{id, email, first_name, last_name}`) as an OCSF user; `shown` is
/// the name the entry shows for it, if any.
fn person_user(person: &Value, shown: Option<String>) -> User {
    let full_name = match (
        text(person.get("first_name")),
        text(person.get("last_name")),
    ) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, l) => f.or(l),
    };
    User {
        uid: text(person.get("id")),
        name: shown.or_else(|| full_name.clone()),
        full_name,
        email_addr: email(person.get("email")),
        ..User::default()
    }
}

/// The entity an entry acts upon, chosen by the words of its event name, and the top-level
/// fields that went into it.
fn entity_of(w: &Words, fields: &Map<String, Value>) -> (ManagedEntity, Vec<&'static str>) {
    let has = |word: &str| w.all.iter().any(|x| x == word);
    if has("candidate") || has("candidates") {
        let uid = first(
            fields,
            &[
                &["candidate", "id"],
                &["details", "candidate", "id"],
                &["details", "placement", "candidate_id"],
                &["details", "field", "candidate_id"],
                &["details", "previous_field", "candidate_id"],
            ],
        );
        let name = first(
            fields,
            &[&["candidate", "name"], &["details", "candidate", "name"]],
        );
        let used = if fields.get("candidate").is_some_and(Value::is_object) {
            vec!["candidate"]
        } else {
            vec![]
        };
        return (ManagedEntity::new("candidate", uid, name), used);
    }
    if has("offer") || has("offers") || has("job") || has("jobs") || has("pool") {
        let uid = first(fields, &[&["offer", "id"], &["details", "offer", "id"]]);
        let name = first(
            fields,
            &[&["offer", "title"], &["details", "offer", "title"]],
        );
        let used = if fields.get("offer").is_some_and(Value::is_object) {
            vec!["offer"]
        } else {
            vec![]
        };
        return (ManagedEntity::new("offer", uid, name), used);
    }
    // Anything else: the first object in `details` (other than the acting admin) with an id.
    let found = fields
        .get("details")
        .and_then(Value::as_object)
        .and_then(|d| {
            d.iter()
                .find(|(k, v)| k.as_str() != "admin" && text(v.get("id")).is_some())
        });
    match found {
        Some((kind, v)) => {
            let name = text(v.get("name")).or_else(|| text(v.get("title")));
            (
                ManagedEntity::new(kind.clone(), text(v.get("id")), name),
                vec![],
            )
        }
        None => {
            let kind = if w.object.is_empty() {
                "entry".to_string()
            } else {
                w.object.join(" ")
            };
            (ManagedEntity::new(kind, None, None), vec![])
        }
    }
}

/// A Recruitee audit-log entry.
pub fn audit_entry<'a>(record: Subject<'a, '_>) -> Result<Event<'a>, String> {
    let Subject(origin, fields, raw, uid) = record;
    let (time, original_time) = time_of(&fields, "created_at", ("audit entry", &uid), |v| {
        // As the Recruitee module reads it (no offset: UTC); `ocsf` does not import vendors.
        text(v)
            .and_then(|t| crate::time::vendor_instant(&t))
            .map(|(t, _)| t.as_millisecond())
    })?;
    let event_name = text(fields.get("event_name"));
    let w = words(event_name.as_deref().unwrap_or(""));
    let vendor_words = event_name
        .clone()
        .unwrap_or_else(|| "unnamed event".to_string());

    // The actor.
    let actor_type = text(fields.get("actor_type")).map(|t| t.to_lowercase());
    let shown = text(fields.get("actor"));
    let mut actor = match fields.get("admin").filter(|a| a.is_object()) {
        Some(admin) => person_user(admin, shown),
        None => User {
            name: shown,
            ..User::default()
        },
    };
    let kind = match actor_type.as_deref() {
        Some("admin") => Some(USER_TYPE_ADMIN),
        Some("system") => Some(USER_TYPE_SYSTEM),
        Some("candidate" | "user") => Some(USER_TYPE_USER),
        _ => None,
    };
    actor.type_id = kind.map(|k| k.0);
    actor.kind = kind.map(|k| k.1);

    // The class, activity and what was acted upon.
    let verb = w.verb.as_deref().unwrap_or("");
    let account_change = w
        .object
        .first()
        .is_some_and(|o| ACCOUNT_OBJECTS.contains(&o.as_str()))
        .then(|| target_user(fields.get("details")))
        .flatten();
    let mut mapped = vec![
        "_id",
        "actor",
        "actor_type",
        "admin",
        "created_at",
        "event_name",
    ];
    let (class, activity, target) = match account_change {
        Some(user) => {
            let activity = match account_activity(verb) {
                Some((id, caption)) => Activity::defined(id, caption),
                None => Activity::other(vendor_words.clone()),
            };
            let name = user
                .name
                .clone()
                .or_else(|| user.uid.clone())
                .unwrap_or_default();
            (Class::AccountChange, activity, Err((user, name)))
        }
        None => {
            let activity = match entity_activity(verb) {
                Some((id, caption)) => Activity::defined(id, caption),
                None => Activity::other(vendor_words.clone()),
            };
            let (entity, used) = entity_of(&w, &fields);
            mapped.extend(used);
            (Class::EntityManagement, activity, Ok(entity))
        }
    };

    let tenant_uid = origin
        .tenant_uid
        .clone()
        .or_else(|| text(fields.get("company_id")));
    if tenant_uid.is_some() && tenant_uid == text(fields.get("company_id")) {
        mapped.push("company_id");
    }
    let metadata = Metadata {
        product: Product {
            name: "Recruitee",
            vendor_name: "Recruitee",
        },
        version: VERSION,
        uid,
        event_code: event_name,
        log_name: "audit log",
        original_time,
        tenant_uid,
        sequence: None,
    };
    let mut event = Event::new(class, activity, time, metadata, raw);
    let who = actor.name.clone().or_else(|| actor.uid.clone());
    let what = match &target {
        Ok(entity) => match (&entity.name, &entity.uid) {
            (Some(n), Some(u)) => format!("{} {n} ({u})", entity.kind),
            (Some(n), None) => format!("{} {n}", entity.kind),
            (None, Some(u)) => format!("{} {u}", entity.kind),
            (None, None) => entity.kind.clone(),
        },
        Err((_, name)) => format!("admin {name}"),
    };
    event.message = format!(
        "{}: {vendor_words} — {what}",
        who.as_deref().unwrap_or("(unknown actor)")
    );
    event.comment = first(
        &fields,
        &[
            &["details", "disqualify_reason", "name"],
            &["details", "disqualify_reason"],
            &["details", "reason"],
        ],
    );
    event.actor = actor.is_named().then_some(Actor { user: actor });
    match target {
        Ok(entity) => event.entity = Some(entity),
        Err((user, _)) => event.user = Some(user),
    }
    if let Some(address) = ip(fields.get("ip_address")) {
        event.src_endpoint = Some(NetworkEndpoint { ip: address });
        mapped.push("ip_address");
    }
    event.unmapped = unmapped(fields, &mapped);
    Ok(event)
}
