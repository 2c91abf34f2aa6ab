//! hrlogs: fetch audit and operation logs from Feishu/Lark and Recruitee.
//!
//! The data flows one way: `cli` (flags) → `commands` (a validated query) → `plan` (page
//! chains: windows, batches) → `fetch` (pacing, retries, tokens) with the `vendors` modules →
//! one newest-first stream of records → `output` (a format, to stdout or an atomic file).
//! `archive` is one more room after the stream (`sync`: a sink that also remembers, exactly
//! once, in SQLite) and one more source before it (`--from-archive`).
//! The binary (`main.rs`) only parses the flags, runs, and maps errors to exit codes.

pub mod archive;
pub mod cli;
pub mod codes;
pub mod commands;
pub mod completion;
pub mod error;
pub mod fetch;
pub mod identity;
pub mod logs;
pub mod metrics;
pub mod ocsf;
pub mod options;
pub mod output;
pub mod plan;
pub mod progress;
pub mod record;
pub mod redact;
pub mod sandbox;
pub mod sanitize;
pub mod settings;
pub mod time;
pub mod vendors;
