//! The PostgreSQL server of the tests: its URL, whether it answers (a test fails under `CI`
//! when it does not, else says SKIPPED loudly), and a schema of a test's own, dropped after it
//! (also when the test panics). One copy, in the library, shared with its unit tests.

#[allow(unused_imports)] // Not every test file uses all of them.
pub use hrlogs::archive::postgres::testing::{Schema, reachable, url as server_url};
