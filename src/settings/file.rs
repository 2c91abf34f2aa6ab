//! The TOML config file: where it lives, how its profiles are laid out, the permission check,
//! and the commented template that `config init` writes.

use std::path::{Path, PathBuf};

use super::{SectionMap, Sections};
use crate::error::{Error, Result};

/// `<user config dir>/hrlogs/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("hrlogs").join("config.toml"))
}

/// A parsed config file: the default profile and the named ones.
pub struct Document {
    default: SectionMap,
    profiles: Vec<(String, SectionMap)>,
}

/// One profile's tables.
pub struct Profile<'a>(&'a SectionMap);

impl Profile<'_> {
    pub fn get(&self, section: &str, name: &str) -> Option<String> {
        self.0.get(section).and_then(|s| s.get(name)).cloned()
    }
}

impl Document {
    pub fn profile(&self, name: &str) -> Option<Profile<'_>> {
        if name == "default" {
            return Some(Profile(&self.default));
        }
        self.profiles
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| Profile(m))
    }

    pub fn profile_names(&self) -> Vec<String> {
        std::iter::once("default".to_string())
            .chain(self.profiles.iter().map(|(n, _)| n.clone()))
            .collect()
    }
}

/// The profiles a config file names (`default` first), for completion: the file is only
/// parsed, not checked against the keys, so a file with a typo still completes; a file that
/// cannot be read or parsed names none.
pub fn profile_names(path: &Path) -> Vec<String> {
    let Some(table) = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| toml::from_str::<toml::Table>(&text).ok())
    else {
        return Vec::new();
    };
    let named = match table.get("profiles") {
        Some(toml::Value::Table(ps)) => ps.keys().cloned().collect(),
        _ => Vec::new(),
    };
    std::iter::once("default".to_string())
        .chain(named)
        .collect()
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(start..).map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Reads and checks the file; pushes a warning when it holds a secret others can read.
pub fn read(path: &Path, sections: Sections, warnings: &mut Vec<String>) -> Result<Document> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::config(format!("cannot read config file {}: {e}", path.display()))
            .hint("create one with `hrlogs config init`, or point --config / HRLOGS_CONFIG at it")
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        let msg = e.message().trim().to_string();
        let at = e
            .span()
            .map(|s| {
                let (line, column) = line_column(&text, s.start);
                format!(":{line}:{column}")
            })
            .unwrap_or_default();
        Error::config(format!(
            "config file {}{at} is not valid TOML: {msg}",
            path.display()
        ))
        .hint("fix that line, or write a fresh file with `hrlogs config init --force`")
    })?;
    let bad = |what: String| Error::config(format!("config file {}: {what}", path.display()));
    let mut default = SectionMap::new();
    let mut profiles = Vec::new();
    for (name, value) in &table {
        match name.as_str() {
            "profiles" => {
                let toml::Value::Table(ps) = value else {
                    return Err(bad("`profiles` must be a table of profiles".into()));
                };
                for (pname, p) in ps {
                    let toml::Value::Table(pt) = p else {
                        return Err(bad(format!("profiles.{pname} must be a table")));
                    };
                    let mut map = SectionMap::new();
                    for (section, v) in pt {
                        read_section(
                            sections,
                            &format!("profiles.{pname}."),
                            section,
                            v,
                            &mut map,
                        )
                        .map_err(bad)?;
                    }
                    profiles.push((pname.clone(), map));
                }
            }
            section => read_section(sections, "", section, value, &mut default).map_err(bad)?,
        }
    }
    let holds_secret = std::iter::once(&default)
        .chain(profiles.iter().map(|(_, m)| m))
        .any(|m| {
            sections
                .keys()
                .any(|k| k.secret && m.get(k.section).is_some_and(|s| s.contains_key(k.name)))
        });
    if holds_secret {
        if let Some(mode) = group_or_other_readable(path) {
            warnings.push(format!(
                "config file {} holds a secret and is readable by others (mode {mode:o}); run: chmod 600 {}",
                path.display(),
                path.display()
            ));
        }
    }
    Ok(Document { default, profiles })
}

fn read_section(
    sections: Sections,
    prefix: &str,
    section: &str,
    value: &toml::Value,
    out: &mut SectionMap,
) -> std::result::Result<(), String> {
    if !sections.keys().any(|k| k.section == section) {
        let tables: Vec<String> = sections.tables().iter().map(|t| format!("[{t}]")).collect();
        return Err(format!(
            "unknown table [{prefix}{section}]: expected {} or [profiles.NAME.…]",
            tables.join(", ")
        ));
    }
    let toml::Value::Table(t) = value else {
        return Err(format!("{prefix}{section} must be a table"));
    };
    let entry = out.entry(section.to_string()).or_default();
    for (name, v) in t {
        if !sections
            .keys()
            .any(|k| k.section == section && k.name == name)
        {
            let known: Vec<_> = sections
                .keys()
                .filter(|k| k.section == section)
                .map(|k| k.name)
                .collect();
            return Err(format!(
                "unknown key {prefix}{section}.{name}; known keys: {}",
                known.join(", ")
            ));
        }
        let text = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            _ => {
                return Err(format!(
                    "{prefix}{section}.{name} must be a string or a number"
                ));
            }
        };
        if !text.is_empty() {
            entry.insert(name.clone(), text);
        }
    }
    Ok(())
}

#[cfg(unix)]
fn group_or_other_readable(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn group_or_other_readable(_path: &Path) -> Option<u32> {
    None
}

/// The commented config file that `config init` writes and `config.example.toml` holds.
pub fn config_template(sections: Sections) -> String {
    let mut out = format!(
        "# hrlogs configuration. Precedence: flags > environment (HRLOGS_*) > this file > defaults.\n\
         # Keep this file private (chmod 600): it may hold secrets.\n\
         # The top-level tables ({}) are the default profile; another\n\
         # profile goes in [profiles.NAME.<table>] and is chosen with --profile NAME or\n\
         # HRLOGS_PROFILE=NAME.\n",
        sections.tables_listed("and", |t| format!("[{t}]")),
    );
    let mut section = "";
    for key in sections.keys() {
        if key.section != section {
            section = key.section;
            out.push_str(&format!("\n[{section}]\n"));
        }
        out.push_str(&format!("# {} (env {})\n", key.doc, key.env));
        match key.default {
            Some(d) if d.parse::<u32>().is_ok() => out.push_str(&format!("# {} = {d}\n", key.name)),
            Some(d) => out.push_str(&format!("# {} = \"{d}\"\n", key.name)),
            None => out.push_str(&format!("{} = \"\"\n", key.name)),
        }
    }
    out.push_str(
        "\n# A second profile, e.g. for Lark (hrlogs --profile lark ...):\n\
         # [profiles.lark.feishu]\n\
         # app_id = \"\"\n\
         # app_secret = \"\"\n\
         # base_url = \"https://open.larksuite.com\"\n",
    );
    out
}

/// The README's table of keys: key, environment variable, default, meaning.
pub fn keys_table(sections: Sections) -> String {
    let mut out =
        String::from("| key | environment | default | meaning |\n| --- | --- | --- | --- |\n");
    for key in sections.keys() {
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {}{} |\n",
            key.path(),
            key.env,
            key.default.map(|d| format!("`{d}`")).unwrap_or_default(),
            key.doc,
            if key.secret { " (secret)" } else { "" }
        ));
    }
    out
}
