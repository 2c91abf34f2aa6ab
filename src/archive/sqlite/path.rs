//! Where the archive lives, checked before SQLite opens it, so that the path cannot be turned
//! against its owner (the rules ssh applies to `~/.ssh`):
//! - a new archive is created empty, mode 0600, with `O_CREAT|O_EXCL|O_NOFOLLOW` (never through
//!   a symlink), and the folders created for it are 0700;
//! - a symlink is followed only to an existing archive (a regular, non-empty file): not to a
//!   missing file (which would be created wherever it points) nor to an empty one (which would
//!   be overwritten with a database);
//! - a device, FIFO, socket or folder is an input error (exit 2), found before anything is
//!   created (SQLite would write `/dev/null-journal`);
//! - for writing (`sync`), an archive that others may write or that another user owns, or a
//!   folder holding it that others may write (unless sticky, like `/tmp`, and owned by root or
//!   by us) or that another user owns, is refused (exit 3) with the command that fixes it.
//!   Reading commands skip that check: they write nothing, an evidence copy on read-only
//!   media is often owned by someone else, and its chain (with heads kept elsewhere) is what
//!   proves its content.

use std::fs::{self, Metadata};
use std::io;
use std::path::Path;

use crate::error::{Error, Result};

/// Checks `path` before the archive is opened there; with `create`, a missing archive is
/// created (empty, 0600; its missing folders 0700). The one entry point of this module.
pub(crate) fn prepare(path: &Path, create: bool) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => through_symlink(path, create),
        Ok(meta) => {
            kind(path, &meta)?;
            if !create {
                return Ok(());
            }
            owner::file(path, &meta)?;
            owner::folder(folder_of(path))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && create => create_new(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::input(format!(
            "no archive at {}",
            path.display()
        ))
        .hint("run `hrlogs sync …` first, or point --archive / HRLOGS_ARCHIVE at the archive")),
        Err(e) => Err(unreadable(path, &e)),
    }
}

/// A symlink: followed only to an existing, non-empty regular file, whose folder (and the
/// link's own) others cannot write.
fn through_symlink(link: &Path, write: bool) -> Result<()> {
    let target = fs::read_link(link)
        .map(|t| folder_of(link).join(t))
        .unwrap_or_else(|_| link.to_path_buf());
    let meta = match fs::metadata(link) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::input(format!(
                "the archive {} is a symlink to {}, which does not exist",
                link.display(),
                target.display()
            ))
            .hint(
                "hrlogs does not create an archive through a symlink: give --archive the real path",
            ));
        }
        Err(e) => return Err(unreadable(link, &e)),
    };
    kind(link, &meta)?;
    if meta.len() == 0 {
        return Err(Error::input(format!(
            "the archive {} is a symlink to an empty file ({}), not to an archive",
            link.display(),
            target.display()
        ))
        .hint(
            "hrlogs follows a symlink only to an existing archive: give --archive the real path",
        ));
    }
    if !write {
        return Ok(());
    }
    let real = fs::canonicalize(link).map_err(|e| unreadable(link, &e))?;
    owner::file(&real, &meta)?;
    owner::folder(folder_of(&real))?;
    owner::folder(folder_of(link))
}

/// Creates the archive's missing folders (0700) and the empty archive (0600), never through a
/// symlink.
fn create_new(path: &Path) -> Result<()> {
    let folder = folder_of(path);
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(folder).map_err(|e| {
        Error::other(format!(
            "cannot create the archive's folder {}: {e}",
            folder.display()
        ))
        .hint("give --archive PATH in a folder you can write")
    })?;
    owner::folder(folder)?;
    let mut options = fs::OpenOptions::new();
    // create_new is O_CREAT|O_EXCL: it fails on any existing name, a dangling symlink too.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        // Created meanwhile (another hrlogs, or someone else): checked as any existing path.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => prepare(path, false),
        Err(e) => Err(
            Error::other(format!("cannot create the archive {}: {e}", path.display()))
                .hint("give --archive PATH in a folder you can write"),
        ),
    }
}

/// Refuses what is not a regular file: a folder, device, FIFO or socket (exit 2).
fn kind(path: &Path, meta: &Metadata) -> Result<()> {
    let file_type = meta.file_type();
    if file_type.is_file() {
        return Ok(());
    }
    let what = if file_type.is_dir() {
        "a folder"
    } else {
        special_kind(&file_type)
    };
    let hint = if file_type.is_dir() {
        format!(
            "give --archive the path of a file, e.g. {}",
            path.join("archive.sqlite3").display()
        )
    } else {
        "give --archive the path of a file, e.g. ~/.local/share/hrlogs/archive.sqlite3".to_string()
    };
    Err(Error::input(format!(
        "the archive {} is {what}, not a file",
        path.display()
    ))
    .hint(hint))
}

#[cfg(unix)]
fn special_kind(file_type: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_char_device() || file_type.is_block_device() {
        "a device"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &fs::FileType) -> &'static str {
    "not a regular file"
}

/// The folder holding `path` (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn unreadable(path: &Path, e: &io::Error) -> Error {
    Error::other(format!("cannot read the archive {}: {e}", path.display()))
        .hint("check the permissions of its folder")
}

/// `path` as a shell word, for a command in a hint.
fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=~".contains(c));
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(unix)]
mod owner {
    //! Who owns the archive and its folder, and who may write them.

    use std::fs::Metadata;
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    use super::{shell_word, unreadable};
    use crate::error::{Error, Result};

    /// Group and other write bits.
    const OTHERS_WRITE: u32 = 0o022;
    const STICKY: u32 = 0o1000;

    /// The user hrlogs runs as.
    fn me() -> u32 {
        // SAFETY: geteuid has no preconditions, touches no memory and cannot fail.
        unsafe { libc::geteuid() }
    }

    /// The archive file must be ours and written by no one else.
    pub(super) fn file(path: &Path, meta: &Metadata) -> Result<()> {
        let me = me();
        if meta.uid() != me {
            return Err(Error::config(format!(
                "the archive {} belongs to another user (uid {}), so it could be changed behind your back",
                path.display(),
                meta.uid()
            ))
            .hint(format!(
                "if it is yours, `sudo chown $(id -un) {}`; else give --archive a file of your own",
                shell_word(path)
            )));
        }
        let mode = meta.mode() & 0o7777;
        if mode & OTHERS_WRITE != 0 {
            return Err(Error::config(format!(
                "the archive {} may be written by other users (mode {mode:04o})",
                path.display()
            ))
            .hint(format!("`chmod 600 {}`", shell_word(path))));
        }
        Ok(())
    }

    /// The folder holding the archive must be ours or root's, and written by no one else
    /// unless it is sticky (then others cannot replace our file).
    pub(super) fn folder(dir: &Path) -> Result<()> {
        let meta = std::fs::metadata(dir).map_err(|e| unreadable(dir, &e))?;
        let me = me();
        let uid = meta.uid();
        if uid != me && uid != 0 {
            return Err(Error::config(format!(
                "the archive's folder {} belongs to another user (uid {uid}), who could replace the archive",
                dir.display()
            ))
            .hint(format!(
                "give --archive a path in a folder of your own, or `sudo chown $(id -un) {}`",
                shell_word(dir)
            )));
        }
        let mode = meta.mode() & 0o7777;
        if mode & OTHERS_WRITE != 0 && mode & STICKY == 0 {
            return Err(Error::config(format!(
                "the archive's folder {} may be written by other users (mode {mode:04o}), who could replace the archive",
                dir.display()
            ))
            .hint(format!(
                "`chmod go-w {}`, or give --archive a path in a folder of your own",
                shell_word(dir)
            )));
        }
        Ok(())
    }
}

#[cfg(not(unix))]
mod owner {
    //! Ownership and modes are Unix notions: elsewhere, nothing to check.

    use std::fs::Metadata;
    use std::path::Path;

    use crate::error::Result;

    pub(super) fn file(_: &Path, _: &Metadata) -> Result<()> {
        Ok(())
    }

    pub(super) fn folder(_: &Path) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_quote_paths_for_the_shell() {
        assert_eq!(shell_word(Path::new("/tmp/a.sqlite3")), "/tmp/a.sqlite3");
        assert_eq!(shell_word(Path::new("/tmp/my a'b")), r"'/tmp/my a'\''b'");
        assert_eq!(folder_of(Path::new("a.sqlite3")), Path::new("."));
    }
}
