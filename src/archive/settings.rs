//! The archive's one setting: where the file is.

use crate::settings::Key;

/// `archive.path` (`HRLOGS_ARCHIVE`).
pub const PATH: Key = Key {
    section: "archive",
    name: "path",
    env: "HRLOGS_ARCHIVE",
    secret: false,
    default: None,
    doc: "The SQLite archive that `hrlogs sync` fills [default: <user data dir>/hrlogs/archive.sqlite3]",
};

/// Every key of the section.
pub const KEYS: &[Key] = &[PATH];
