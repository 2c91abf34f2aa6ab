//! The OCSF 1.7.0 shapes hrlogs writes: typed serde structs for the two event classes it uses
//! (Entity Management 3004, Account Change 3001) and the objects they carry. Only the attributes
//! hrlogs fills are declared; absent ones are left out of the JSON, as OCSF wants.

use serde::Serialize;
use serde_json::{Map, Value};

/// The OCSF schema version the events follow (`metadata.version`).
pub const VERSION: &str = "1.7.0";

/// Identity & Access Management, the category of both classes.
pub const CATEGORY_UID: u32 = 3;
pub const CATEGORY_NAME: &str = "Identity & Access Management";

/// The OCSF event classes hrlogs emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// 3004: a change to a managed entity (department, talent, candidate, offer).
    EntityManagement,
    /// 3001: a change to a user account (an admin user of the vendor's product).
    AccountChange,
}

impl Class {
    pub fn uid(self) -> u32 {
        match self {
            Class::EntityManagement => 3004,
            Class::AccountChange => 3001,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Class::EntityManagement => "Entity Management",
            Class::AccountChange => "Account Change",
        }
    }
}

/// What happened: an `activity_id` of the class and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub id: u32,
    /// The OCSF caption, or for Other (99) the vendor's own words.
    pub name: String,
}

impl Activity {
    /// Other (99), named in the vendor's words.
    pub fn other(words: impl Into<String>) -> Activity {
        Activity {
            id: 99,
            name: words.into(),
        }
    }

    /// A defined activity of the class, named by its OCSF caption.
    pub fn defined(id: u32, caption: &str) -> Activity {
        Activity {
            id,
            name: caption.to_string(),
        }
    }
}

/// One OCSF event (Entity Management or Account Change), borrowing the record's raw text.
#[derive(Debug, Serialize)]
pub struct Event<'a> {
    pub activity_id: u32,
    pub activity_name: String,
    pub category_uid: u32,
    pub category_name: &'static str,
    pub class_uid: u32,
    pub class_name: &'static str,
    pub type_uid: u32,
    pub type_name: String,
    pub severity_id: u32,
    pub severity: &'static str,
    pub status_id: u32,
    pub status: &'static str,
    /// Epoch milliseconds.
    pub time: i64,
    /// Minutes east of UTC of the zone the vendor's time was read in, where it had none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone_offset: Option<i32>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// Entity Management: the entity acted upon (required there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<ManagedEntity>,
    /// Account Change: the user account acted upon (required there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_endpoint: Option<NetworkEndpoint>,
    pub metadata: Metadata,
    /// The vendor's record as JSON text, exactly as received.
    pub raw_data: &'a str,
    /// The vendor's fields that have no OCSF home, as they came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmapped: Option<Map<String, Value>>,
}

impl<'a> Event<'a> {
    /// An event of `class` and `activity` with the fixed classification filled in: severity
    /// Informational and status Success (an audit log records what was done).
    pub fn new(
        class: Class,
        activity: Activity,
        time: i64,
        metadata: Metadata,
        raw_data: &'a str,
    ) -> Event<'a> {
        let caption = match (activity.id, class) {
            (99, _) => "Other",
            _ => activity.name.as_str(),
        };
        Event {
            activity_id: activity.id,
            type_uid: class.uid() * 100 + activity.id,
            type_name: format!("{}: {caption}", class.name()),
            activity_name: activity.name,
            category_uid: CATEGORY_UID,
            category_name: CATEGORY_NAME,
            class_uid: class.uid(),
            class_name: class.name(),
            severity_id: 1,
            severity: "Informational",
            status_id: 1,
            status: "Success",
            time,
            timezone_offset: None,
            message: String::new(),
            comment: None,
            actor: None,
            entity: None,
            user: None,
            src_endpoint: None,
            metadata,
            raw_data,
            unmapped: None,
        }
    }
}

/// `metadata`: where the event comes from and its ids.
#[derive(Debug, Serialize)]
pub struct Metadata {
    pub product: Product,
    pub version: &'static str,
    /// The hrlogs event id (see `crate::identity`): the same in the archive and in every run.
    pub uid: String,
    /// The vendor's own name or code of the event (operation type, event name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_code: Option<String>,
    pub log_name: &'static str,
    /// The vendor's time exactly as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_uid: Option<String>,
    /// The event's row in the hrlogs archive (records read from the archive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i64>,
}

/// `metadata.product`.
#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub name: &'static str,
    pub vendor_name: &'static str,
}

/// `actor`: who did it.
#[derive(Debug, Serialize)]
pub struct Actor {
    pub user: User,
}

/// `user` (as `actor.user`, or the account an Account Change acts upon).
#[derive(Debug, Default, Serialize)]
pub struct User {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_addr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_id: Option<u32>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
}

impl User {
    /// Whether OCSF's "at least one of name, uid" holds.
    pub fn is_named(&self) -> bool {
        self.uid.is_some() || self.name.is_some()
    }
}

/// User `type_id` values.
pub const USER_TYPE_USER: (u32, &str) = (1, "User");
pub const USER_TYPE_ADMIN: (u32, &str) = (2, "Admin");
pub const USER_TYPE_SYSTEM: (u32, &str) = (3, "System");

/// `entity`: the managed entity acted upon.
#[derive(Debug, Serialize)]
pub struct ManagedEntity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The vendor's kind of entity (`department`, `talent`, `candidate`, `offer`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Always Other (99): OCSF's entity types are devices, users, groups and the like.
    pub type_id: u32,
}

impl ManagedEntity {
    /// An entity of the vendor's `kind`; with neither uid nor name it is named by its kind,
    /// as OCSF wants at least one of them.
    pub fn new(kind: impl Into<String>, uid: Option<String>, name: Option<String>) -> Self {
        let kind = kind.into();
        let name = match (&uid, name) {
            (None, None) => Some(kind.clone()),
            (_, name) => name,
        };
        ManagedEntity {
            uid,
            name,
            kind,
            type_id: 99,
        }
    }
}

/// `src_endpoint`: where the action came from.
#[derive(Debug, Serialize)]
pub struct NetworkEndpoint {
    pub ip: String,
}
