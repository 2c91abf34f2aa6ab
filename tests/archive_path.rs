//! Issue 18: the archive's path cannot be turned against its owner. A new archive is created
//! 0600 (its new folders 0700) without following a symlink; a symlink is followed only to an
//! existing archive; an archive or folder that others may write, or a file of another user, is
//! refused (exit 3) with the fix; a device, FIFO or folder is an input error (exit 2) before
//! anything is created.
#![cfg(unix)]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;

use common::Env;

struct Out {
    code: Option<i32>,
    stderr: String,
}

/// `hrlogs --sandbox --archive PATH ARGS…`.
fn hrlogs(env: &Env, archive: &Path, args: &[&str]) -> Out {
    let out = env
        .hrlogs()
        .arg("--sandbox")
        .arg("--archive")
        .arg(archive)
        .args(args)
        .output()
        .expect("run hrlogs");
    Out {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const SYNC: &[&str] = &["-f", "ndjson", "sync", "recruitee", "audit"];
const STATUS: &[&str] = &["archive", "status"];

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).expect("stat").mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A refusal: the exit code, one line on stderr, and the words of the fix.
#[track_caller]
fn refused(out: &Out, code: i32, words: &[&str]) {
    assert_eq!(out.code, Some(code), "{}", out.stderr);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    for w in words {
        assert!(out.stderr.contains(w), "{w:?} in {}", out.stderr);
    }
}

#[test]
fn a_new_archive_is_private_and_so_are_its_new_folders() {
    let env = Env::new();
    let archive = env.path("new/deeper/a.sqlite3");
    let out = hrlogs(&env, &archive, SYNC);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(mode(&archive), 0o600);
    assert_eq!(mode(&env.path("new")), 0o700);
    assert_eq!(mode(&env.path("new/deeper")), 0o700);
    // It opens again, for sync and status.
    assert_eq!(hrlogs(&env, &archive, SYNC).code, Some(0));
    assert_eq!(hrlogs(&env, &archive, STATUS).code, Some(0));
}

#[test]
fn a_symlink_is_followed_only_to_an_existing_archive() {
    let env = Env::new();
    // To a missing file: refused, and nothing is created where it points.
    let target = env.path("elsewhere.sqlite3");
    let link = env.path("link.sqlite3");
    symlink(&target, &link).expect("symlink");
    let out = hrlogs(&env, &link, SYNC);
    refused(&out, 2, &["symlink"]);
    assert!(!target.exists(), "no file created through the link");
    assert_eq!(
        hrlogs(&env, &link, STATUS).code,
        Some(2),
        "status: no archive"
    );

    // To an existing empty file: refused, and the file stays as it was.
    let empty = env.path("empty");
    std::fs::write(&empty, b"").expect("empty file");
    chmod(&empty, 0o600);
    let link = env.path("to-empty.sqlite3");
    symlink(&empty, &link).expect("symlink");
    let out = hrlogs(&env, &link, SYNC);
    refused(&out, 2, &["symlink", "empty"]);
    assert_eq!(std::fs::metadata(&empty).expect("stat").len(), 0);

    // To a folder: refused.
    let link = env.path("to-dir.sqlite3");
    symlink(env.home.path(), &link).expect("symlink");
    refused(&hrlogs(&env, &link, SYNC), 2, &["folder"]);

    // To an existing archive: followed.
    let real = env.path("real.sqlite3");
    assert_eq!(hrlogs(&env, &real, SYNC).code, Some(0));
    let link = env.path("to-real.sqlite3");
    symlink(&real, &link).expect("symlink");
    let out = hrlogs(&env, &link, SYNC);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(hrlogs(&env, &link, STATUS).code, Some(0));
}

#[test]
fn an_archive_others_may_write_is_refused_with_the_fix() {
    let env = Env::new();
    let archive = env.path("a.sqlite3");
    assert_eq!(hrlogs(&env, &archive, SYNC).code, Some(0));
    for m in [0o620, 0o602, 0o666] {
        chmod(&archive, m);
        refused(
            &hrlogs(&env, &archive, SYNC),
            3,
            &["chmod 600", "a.sqlite3"],
        );
        // Reading writes nothing: an evidence copy need not be ours to be read.
        assert_eq!(hrlogs(&env, &archive, STATUS).code, Some(0));
        assert_eq!(mode(&archive), m, "refused, not changed");
    }
    chmod(&archive, 0o600);
    assert_eq!(hrlogs(&env, &archive, STATUS).code, Some(0));
}

#[test]
fn a_folder_others_may_write_is_refused_unless_sticky() {
    let env = Env::new();
    let folder = env.path("shared");
    std::fs::create_dir(&folder).expect("mkdir");
    chmod(&folder, 0o777);
    let archive = folder.join("a.sqlite3");
    // Not even created there.
    let out = hrlogs(&env, &archive, SYNC);
    refused(&out, 3, &["chmod", "shared"]);
    assert!(!archive.exists());
    chmod(&folder, 0o775);
    refused(&hrlogs(&env, &archive, SYNC), 3, &["chmod", "shared"]);
    // Sticky and ours, like /tmp: others cannot replace our file.
    chmod(&folder, 0o1777);
    let out = hrlogs(&env, &archive, SYNC);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(mode(&archive), 0o600);
    // An existing archive in a folder that became writable by others.
    chmod(&folder, 0o757);
    refused(&hrlogs(&env, &archive, SYNC), 3, &["chmod", "shared"]);
    assert_eq!(
        hrlogs(&env, &archive, STATUS).code,
        Some(0),
        "reading is allowed"
    );
}

#[test]
fn an_archive_of_another_user_is_refused() {
    let env = Env::new();
    let probe = env.path("probe");
    std::fs::write(&probe, b"x").expect("probe");
    if std::fs::metadata(&probe).expect("stat").uid() != 0 {
        eprintln!(
            "SKIPPED an_archive_of_another_user_is_refused: needs root to chown a file to nobody"
        );
        return;
    }
    let archive = env.path("a.sqlite3");
    assert_eq!(hrlogs(&env, &archive, SYNC).code, Some(0));
    std::os::unix::fs::chown(&archive, Some(65534), Some(65534)).expect("chown");
    refused(&hrlogs(&env, &archive, SYNC), 3, &["chown", "a.sqlite3"]);
    assert_eq!(
        hrlogs(&env, &archive, STATUS).code,
        Some(0),
        "reading is allowed"
    );
}

#[test]
fn a_device_a_fifo_or_a_folder_is_an_input_error_before_anything_is_created() {
    let env = Env::new();
    let journal = Path::new("/dev/null-journal");
    let had_journal = journal.exists();
    for args in [SYNC, STATUS] {
        let out = hrlogs(&env, Path::new("/dev/null"), args);
        refused(&out, 2, &["/dev/null", "device"]);
    }
    if !had_journal {
        assert!(!journal.exists(), "nothing created beside /dev/null");
    }
    let fifo = env.path("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    refused(&hrlogs(&env, &fifo, SYNC), 2, &["FIFO"]);
    let dir = env.path("dir");
    std::fs::create_dir(&dir).expect("mkdir");
    refused(&hrlogs(&env, &dir, SYNC), 2, &["folder"]);
    refused(&hrlogs(&env, &dir, STATUS), 2, &["folder"]);
    assert_eq!(
        common::files_in(env.home.path()),
        ["dir", "fifo"],
        "nothing created"
    );
}
