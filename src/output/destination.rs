//! stdout, or a file written atomically: records go to a temporary file beside PATH, which is
//! renamed over PATH only when the run succeeds. A failed or interrupted run drops the
//! temporary file and leaves PATH as it was.
//!
//! What PATH already is decides how: a character device or FIFO (`/dev/null`, `/dev/stdout`, a
//! named pipe) is written into, never replaced; through a symlink the file it points at is
//! replaced, not the link; a replaced file keeps its mode; a new file follows the umask.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

pub enum Destination {
    Stdout(io::Stdout),
    File {
        tmp: NamedTempFile,
        path: PathBuf,
    },
    /// A device, FIFO or socket named by `-o`: written into as it is.
    Special(std::fs::File),
}

/// Symlinks followed at most this deep (as the kernel does).
const MAX_LINKS: u32 = 40;

/// The file a path finally names, following symlinks (also one that points nowhere yet).
fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

impl Destination {
    /// What this is, for messages: `stdout`, the file's path, or the device given to `-o`.
    pub fn describe(&self) -> String {
        match self {
            Destination::Stdout(_) => "stdout".to_string(),
            Destination::File { path, .. } => path.display().to_string(),
            Destination::Special(_) => "the device or FIFO given to -o".to_string(),
        }
    }

    pub fn stdout() -> Destination {
        Destination::Stdout(io::stdout())
    }

    /// Prepares the temporary file for PATH (or opens a device or FIFO); fails (bad input) if
    /// its folder is not writable.
    pub fn file(path: &Path) -> Result<Destination> {
        let bad = |e: &dyn std::fmt::Display| Error::input(format!("-o {}: {e}", path.display()));
        let existing = std::fs::metadata(path).ok();
        if let Some(m) = &existing {
            if m.is_dir() {
                return Err(bad(&"is a directory"));
            }
            if !m.is_file() {
                // /dev/null, a FIFO, a terminal: write into it; replacing it would break it.
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| bad(&e))?;
                return Ok(Destination::Special(file));
            }
        }
        let target = resolve_links(path).map_err(|e| bad(&e))?;
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            // Created as 0666 minus the umask, like any new file (tempfile's default is 0600).
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder.tempfile_in(&dir).map_err(|e| {
            Error::input(format!(
                "-o {}: cannot write in {}: {e}",
                path.display(),
                dir.display()
            ))
        })?;
        if let Some(m) = existing {
            // A replaced file keeps its mode.
            tmp.as_file()
                .set_permissions(m.permissions())
                .map_err(|e| bad(&e))?;
        }
        Ok(Destination::File { tmp, path: target })
    }

    /// Makes the output final: renames the temporary file over PATH.
    pub fn commit(self) -> io::Result<()> {
        match self {
            Destination::Stdout(mut s) => s.flush(),
            Destination::Special(mut f) => f.flush(),
            Destination::File { tmp, path } => {
                tmp.as_file().sync_all()?;
                tmp.persist(&path).map(|_| ()).map_err(|e| e.error)
            }
        }
    }
}

impl Write for Destination {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Destination::Stdout(s) => s.write(buf),
            Destination::File { tmp, .. } => tmp.write(buf),
            Destination::Special(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Destination::Stdout(s) => s.flush(),
            Destination::File { tmp, .. } => tmp.flush(),
            Destination::Special(f) => f.flush(),
        }
    }
}
