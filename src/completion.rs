//! Dynamic shell completion (clap_complete's `CompleteEnv`): the shell asks the binary itself,
//! so values that only this machine knows complete too: `--profile` from the config file's
//! `[profiles.NAME]` tables, and `--event` from the Recruitee event names hrlogs knows.
//! Enabled by sourcing `COMPLETE=bash hrlogs` (zsh, fish, elvish, powershell alike); the
//! static scripts of `hrlogs completions SHELL` stay as they were.

use std::ffi::OsStr;

use clap_complete::engine::CompletionCandidate;

/// Recruitee audit event names seen in real audit logs (Recruitee publishes no list):
/// `--event` completes them; any other name is still accepted.
pub const KNOWN_EVENTS: &[&str] = &[
    "Admin assigned candidate to offer",
    "Admin changed candidate stage",
    "Admin created candidate",
    "Admin deassigned candidate from offer",
    "Admin deleted candidate",
    "Admin disqualified candidate",
    "Admin updated candidate field",
    "Admin viewed candidate",
];

/// Answers the shell and exits when it asks for completions (`COMPLETE` is set); otherwise
/// returns at once. Runs before anything is written to stdout.
pub fn answer_the_shell(tree: fn() -> clap::Command) {
    clap_complete::CompleteEnv::with_factory(tree).complete();
}

/// `--profile`: the profiles of the config file (`HRLOGS_CONFIG`, else the default file).
/// A file that cannot be read completes nothing.
pub fn profiles(current: &OsStr) -> Vec<CompletionCandidate> {
    let path = std::env::var_os("HRLOGS_CONFIG")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(crate::settings::Settings::default_file);
    let Some(path) = path else {
        return Vec::new();
    };
    let names = crate::settings::file::profile_names(&path);
    matching(names.iter().map(String::as_str), current)
}

/// `--event`: [`KNOWN_EVENTS`].
pub fn events(current: &OsStr) -> Vec<CompletionCandidate> {
    matching(KNOWN_EVENTS.iter().copied(), current)
}

/// The names that start with what was typed (case-insensitively).
fn matching<'a>(names: impl Iterator<Item = &'a str>, current: &OsStr) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy().to_lowercase();
    names
        .filter(|n| n.to_lowercase().starts_with(&typed))
        .map(CompletionCandidate::new)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(c: Vec<CompletionCandidate>) -> Vec<String> {
        c.iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn events_complete_from_what_was_typed() {
        assert_eq!(
            names(events(OsStr::new("admin de"))),
            [
                "Admin deassigned candidate from offer",
                "Admin deleted candidate"
            ]
        );
        assert_eq!(names(events(OsStr::new(""))).len(), KNOWN_EVENTS.len());
        assert!(events(OsStr::new("nothing")).is_empty());
    }
}
