//! stdout, or a file written atomically: records go to a temporary file beside PATH, which is
//! renamed over PATH only when the run succeeds. A failed or interrupted run drops the
//! temporary file and leaves PATH as it was.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

pub enum Destination {
    Stdout(io::Stdout),
    File { tmp: NamedTempFile, path: PathBuf },
}

impl Destination {
    pub fn stdout() -> Destination {
        Destination::Stdout(io::stdout())
    }

    /// Prepares the temporary file for PATH; fails (bad input) if its folder is not writable.
    pub fn file(path: &Path) -> Result<Destination> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if path.is_dir() {
            return Err(Error::input(format!(
                "-o {}: is a directory",
                path.display()
            )));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| {
                Error::input(format!(
                    "-o {}: cannot write in {}: {e}",
                    path.display(),
                    dir.display()
                ))
            })?;
        Ok(Destination::File {
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// Makes the output final: renames the temporary file over PATH.
    pub fn commit(self) -> io::Result<()> {
        match self {
            Destination::Stdout(mut s) => s.flush(),
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
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Destination::Stdout(s) => s.flush(),
            Destination::File { tmp, .. } => tmp.flush(),
        }
    }
}
