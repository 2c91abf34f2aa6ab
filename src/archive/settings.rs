//! The archive's settings: where it is (a file or a PostgreSQL URL), and for PostgreSQL the
//! schema and the password.

use crate::settings::Key;

/// `archive.path` (`HRLOGS_ARCHIVE`).
pub const PATH: Key = Key {
    section: "archive",
    name: "path",
    env: "HRLOGS_ARCHIVE",
    secret: false,
    default: None,
    doc: "The archive that `hrlogs sync` fills: an SQLite file, or a PostgreSQL URL (postgres://USER@HOST:5432/DB) [default: <user data dir>/hrlogs/archive.sqlite3]",
};

/// `archive.schema` (`HRLOGS_ARCHIVE_SCHEMA`).
pub const SCHEMA: Key = Key {
    section: "archive",
    name: "schema",
    env: "HRLOGS_ARCHIVE_SCHEMA",
    secret: false,
    default: Some("hrlogs"),
    doc: "PostgreSQL only: the schema that holds the archive (the first sync creates it)",
};

/// `archive.password` (`HRLOGS_ARCHIVE_PASSWORD`).
pub const PASSWORD: Key = Key {
    section: "archive",
    name: "password",
    env: "HRLOGS_ARCHIVE_PASSWORD",
    secret: true,
    default: None,
    doc: "PostgreSQL only: the password (else PGPASSWORD, ~/.pgpass, or the URL's when the URL is set here)",
};

/// Every key of the section.
pub const KEYS: &[Key] = &[PATH, SCHEMA, PASSWORD];
