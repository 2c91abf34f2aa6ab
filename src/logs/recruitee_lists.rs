//! Recruitee's lists (`recruitee candidates`, `recruitee offers`): records, not events, so
//! they are neither archived nor mapped to OCSF; what hrlogs knows of them beyond the vendor's
//! wire format is their columns (the chains are `vendors::recruitee`'s lists and search, ended
//! on proof by `plan`).

use serde_json::Value;

use crate::output::{Column, Fit, Show};

/// `offer/stage` for each placement: titles and names where the answer has them, else IDs.
fn placements(placements: &Value) -> Value {
    let Some(list) = placements.as_array() else {
        return Value::Null;
    };
    let text = |v: &Value| match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    };
    let parts: Vec<String> = list
        .iter()
        .map(|p| {
            let offer = text(&p["offer"]["title"])
                .or_else(|| text(&p["offer_id"]))
                .unwrap_or_else(|| "?".into());
            let stage = text(&p["stage"]["name"])
                .or_else(|| text(&p["stage_id"]))
                .unwrap_or_else(|| "-".into());
            format!("{offer}/{stage}")
        })
        .collect();
    Value::String(parts.join("; "))
}

/// The candidate's id, name, email, when it was created and the jobs it is placed in.
pub fn candidate_columns() -> Vec<Column> {
    vec![
        Column::path("id").table(0, "ID", Fit::Keep),
        Column::path("name").table(1, "NAME", Fit::Shrink(12)),
        Column::path("emails"),
        Column::derived("email", "emails", first_email)
            .table_only()
            .table(2, "EMAIL", Fit::Hide),
        Column::path("created_at")
            .show(Show::Timestamp)
            .table(3, "CREATED", Fit::Keep),
        Column::derived("placements", "placements", placements).table(4, "JOBS", Fit::Shrink(20)),
    ]
}

/// The first email address, with a count of the others.
fn first_email(emails: &Value) -> Value {
    let list: Vec<&str> = emails
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match list.as_slice() {
        [] => Value::Null,
        [one] => Value::String((*one).to_string()),
        [first, rest @ ..] => Value::String(format!("{first} (+{})", rest.len())),
    }
}

/// The offer's id, kind, title, status and city.
pub fn offer_columns() -> Vec<Column> {
    vec![
        Column::path("id").table(0, "ID", Fit::Keep),
        Column::path("kind").table(1, "KIND", Fit::Keep),
        Column::path("title").table(2, "TITLE", Fit::Last),
        Column::path("status").table(3, "STATUS", Fit::Keep),
        Column::path("city").table(4, "CITY", Fit::ShrinkOrHide(8)),
    ]
}
