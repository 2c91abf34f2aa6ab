//! The map of ARCHITECTURE.md, checked on the source instead of hoped for: each room's
//! `crate::` imports against its allow-list, no import circle between rooms (none is excused:
//! the settings registry lives in `commands`, which hands it to the loader), and the rules that
//! keep vendors out of the generic rooms.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each room and the rooms it may import (`crate::<room>`). A room is a top-level module of
/// `src/` (a folder or a file).
const RULES: &[(&str, &[&str])] = &[
    ("sanitize", &[]),
    ("codes", &[]),
    ("record", &[]),
    ("time", &[]),
    ("redact", &["sanitize"]),
    ("error", &["redact"]),
    ("identity", &["record"]),
    ("progress", &["redact"]),
    ("fetch", &["error", "progress", "record", "redact"]),
    ("plan", &["error", "progress", "record"]),
    ("metrics", &["error", "fetch"]),
    ("ocsf", &["codes", "identity", "record", "time"]),
    (
        "output",
        &[
            "codes", "error", "identity", "ocsf", "plan", "progress", "record", "sanitize", "time",
        ],
    ),
    (
        "archive",
        &["error", "identity", "plan", "record", "redact", "settings"],
    ),
    (
        "vendors",
        &[
            "codes", "error", "fetch", "plan", "progress", "record", "redact", "settings", "time",
            "identity",
        ],
    ),
    (
        "logs",
        &[
            "archive", "codes", "error", "fetch", "identity", "ocsf", "output", "plan", "progress",
            "record", "time", "vendors",
        ],
    ),
    ("settings", &["error"]),
    (
        "sandbox",
        &["error", "settings", "vendors", "record", "time"],
    ),
    ("completion", &["settings"]),
    (
        "options",
        &["completion", "error", "fetch", "output", "settings", "time"],
    ),
    ("cli", &["commands", "options"]),
    (
        "commands",
        &[
            "archive",
            "completion",
            "error",
            "fetch",
            "identity",
            "logs",
            "metrics",
            "ocsf",
            "options",
            "output",
            "plan",
            "progress",
            "record",
            "redact",
            "sandbox",
            "settings",
            "time",
            "vendors",
            "codes",
        ],
    ),
];

/// The Rust files under `dir` (recursively), with their text.
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file");
            out.push((path.display().to_string(), text));
        }
    }
    out
}

/// The rooms a file's code (comments and its tests left out) imports, with the first line
/// that does.
fn imports(text: &str) -> BTreeMap<String, String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or_default();
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let room: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !room.is_empty() {
                out.entry(room).or_insert_with(|| line.trim().to_string());
            }
        }
    }
    out
}

/// Every room's imports: room → (imported room → a line that imports it, in which file).
fn graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut g: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (file, text) in sources(&src) {
        let rel = Path::new(&file)
            .strip_prefix(&src)
            .expect("under src")
            .to_path_buf();
        let room = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default()
            .trim_end_matches(".rs")
            .to_string();
        if room == "main" || room == "lib" {
            continue;
        }
        let entry = g.entry(room.clone()).or_default();
        for (to, line) in imports(&text) {
            if to != room {
                entry
                    .entry(to)
                    .or_insert_with(|| format!("{}: {line}", rel.display()));
            }
        }
    }
    g
}

#[test]
fn every_room_imports_only_what_its_rule_allows() {
    let rules: BTreeMap<&str, BTreeSet<&str>> = RULES
        .iter()
        .map(|(room, allowed)| (*room, allowed.iter().copied().collect()))
        .collect();
    let mut broken = Vec::new();
    for (room, imports) in graph() {
        let Some(allowed) = rules.get(room.as_str()) else {
            broken.push(format!(
                "{room}: a room with no rule: add it to ARCHITECTURE.md and RULES"
            ));
            continue;
        };
        for (to, line) in imports {
            if !allowed.contains(to.as_str()) {
                broken.push(format!("{room} must not import {to}: {line}"));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn no_import_circle_between_rooms() {
    let g = graph();
    let edges: BTreeMap<&str, BTreeSet<&str>> = g
        .iter()
        .map(|(room, to)| (room.as_str(), to.keys().map(String::as_str).collect()))
        .collect();
    // Depth-first search for a back edge.
    fn visit<'a>(
        node: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(i) = path.iter().position(|n| *n == node) {
            let mut circle = path[i..].to_vec();
            circle.push(node);
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node);
        None
    }
    let mut done = BTreeSet::new();
    for room in edges.keys() {
        if let Some(circle) = visit(room, &edges, &mut Vec::new(), &mut done) {
            panic!("an import circle: {}", circle.join(" → "));
        }
    }
}

#[test]
fn rooms_below_the_commands_know_no_vendor_and_no_cli() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for room in ["output", "ocsf", "plan", "fetch", "archive"] {
        for (file, text) in sources(&src.join(room)) {
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                assert!(
                    !code.contains("vendors::") && !code.contains("crate::cli"),
                    "{file}:{}: {room}/ must not import a vendor or cli: {line}",
                    n + 1
                );
            }
        }
    }
}

#[test]
fn the_checker_sees_imports_and_skips_comments_and_tests() {
    let text = "use crate::plan::X;\n// crate::output in a comment\nfn f() { crate::time::now(); }\n#[cfg(test)]\nmod tests { use crate::cli; }";
    let found: Vec<String> = imports(text).into_keys().collect();
    assert_eq!(found, ["plan", "time"]);
}

/// Within `commands/`: no circle between its rooms (`feishu`, `recruitee`, `sync`,
/// `from_archive`, …); `commands/mod.rs` is the room's root (the context and the dispatch),
/// which every command uses and which names every command.
#[test]
fn no_import_circle_between_commands() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, text) in sources(&dir) {
        let rel = Path::new(&file).strip_prefix(&dir).expect("under commands");
        let room = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default()
            .trim_end_matches(".rs")
            .to_string();
        if room == "mod" {
            continue;
        }
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or_default();
            for marker in ["crate::commands::", "super::super::"] {
                let mut rest = line;
                while let Some(i) = rest.find(marker) {
                    rest = &rest[i + marker.len()..];
                    let to: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !to.is_empty() && to != room {
                        edges.entry(room.clone()).or_default().insert(to);
                    }
                }
            }
            // `super::x` from a file directly under commands/ names a sibling room.
            if rel.components().count() == 1 {
                let mut rest = line;
                while let Some(i) = rest.find("super::") {
                    rest = &rest[i + "super::".len()..];
                    let to: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !to.is_empty() && to != room && to != "super" {
                        edges.entry(room.clone()).or_default().insert(to);
                    }
                }
            }
        }
    }
    let known: BTreeSet<String> = edges.keys().cloned().collect();
    for (room, to) in &edges {
        for t in to.iter().filter(|t| known.contains(*t)) {
            assert!(
                !edges.get(t).is_some_and(|back| back.contains(room)),
                "an import circle between commands/{room} and commands/{t}"
            );
        }
    }
}
