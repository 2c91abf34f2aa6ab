//! Heads of the chain kept outside the archive, so that `archive verify` can prove nothing was
//! cut from its end: `sync --head-log PATH` appends one JSON line per run (time, archive,
//! head, rows), and `archive verify` takes heads from `--expect-head HASH`,
//! `--expect-head-file PATH` (a hash, `archive status -f json`, or a head-log line) and
//! `--head-log PATH` (every line).

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Anchor;
use crate::error::{Error, Result};

/// One line of a head log.
#[derive(Debug, Serialize, Deserialize)]
pub struct HeadLine {
    /// When the run ended (RFC 3339, UTC).
    pub time: String,
    /// The archive, as given.
    pub archive: String,
    pub head: String,
    pub count: i64,
}

/// Appends `line` to the head log at `path` (created 0600), flushed to disk.
pub fn append(path: &Path, line: &HeadLine) -> Result<()> {
    let failed = |e: std::io::Error| {
        Error::other(format!(
            "writing the head log {} failed: {e}",
            path.display()
        ))
        .hint("check the file's folder and permissions; the archive itself is complete")
    };
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(failed)?;
    let mut text =
        serde_json::to_string(line).map_err(|e| Error::other(format!("head log line: {e}")))?;
    text.push('\n');
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)
}

/// A chain hash as given: 64 hex digits.
pub fn parse_hash(text: &str, from: &str) -> Result<String> {
    let t = text.trim();
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(t.to_ascii_lowercase())
    } else {
        Err(Error::input(format!(
            "{from}: {t:?} is not a chain head (64 hexadecimal digits)"
        ))
        .hint("copy it from `hrlogs archive status` (chain head) or a --head-log line"))
    }
}

/// The anchor of one text: a bare hash, `archive status -f json`, or a head-log line.
fn anchor_of(text: &str, from: String) -> Result<Anchor> {
    let t = text.trim();
    if t.starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(t).map_err(|e| Error::input(format!("{from}: not JSON: {e}")))?;
        let head = v
            .get("head")
            .or_else(|| v.get("chain_head"))
            .and_then(|h| h.as_str())
            .ok_or_else(|| {
                Error::input(format!("{from}: no \"head\" (or \"chain_head\") in it"))
            })?;
        let count = v
            .get("count")
            .or_else(|| v.get("chain_count"))
            .and_then(serde_json::Value::as_i64);
        return Ok(Anchor {
            head: parse_hash(head, &from)?,
            count,
            from,
        });
    }
    Ok(Anchor {
        head: parse_hash(t, &from)?,
        count: None,
        from,
    })
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        Error::input(format!("cannot read {}: {e}", path.display()))
            .hint("give the file where the chain head was written down")
    })
}

/// The anchor written down in a file: a hash, `archive status -f json`, or a head-log line.
pub fn from_file(path: &Path) -> Result<Anchor> {
    anchor_of(&read(path)?, path.display().to_string())
}

/// The last line of a head log, if it has one (a missing log has none).
pub fn last_of_log(path: &Path) -> Result<Option<Anchor>> {
    if !path.exists() {
        return Ok(None);
    }
    Ok(from_log(path)?.pop())
}

/// Every line of a head log.
pub fn from_log(path: &Path) -> Result<Vec<Anchor>> {
    read(path)?
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| anchor_of(l, format!("{} line {}", path.display(), i + 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "A0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1";

    #[test]
    fn anchors_are_read_from_every_form_they_are_written_in() {
        let bare = anchor_of(H, "x".into()).expect("bare");
        assert_eq!((bare.head, bare.count), (H.to_ascii_lowercase(), None));
        let status = format!(r#"{{"chain_head": "{H}", "chain_count": 7}}"#);
        assert_eq!(
            anchor_of(&status, "x".into()).expect("status").count,
            Some(7)
        );
        let line = format!(r#"{{"time":"t","archive":"a","head":"{H}","count":9}}"#);
        assert_eq!(anchor_of(&line, "x".into()).expect("line").count, Some(9));
        for bad in ["abc", "", "{}", &H[1..], &format!("{H}0")] {
            let e = anchor_of(bad, "x".into()).expect_err(bad);
            assert_eq!(e.kind.exit_code(), 2, "{bad}");
        }
    }
}
