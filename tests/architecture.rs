//! The rooms' import rules of ARCHITECTURE.md, checked on the source: `output/`, `ocsf/`,
//! `plan/` and `fetch/` know no vendor (codes and zones reach them as values), and nothing
//! below `commands/` imports `cli`.

use std::path::Path;

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

#[test]
fn rooms_below_the_commands_know_no_vendor_and_no_cli() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for room in ["output", "ocsf", "plan", "fetch"] {
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
