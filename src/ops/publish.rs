//! Putting a set of finished files into a directory at once, so that a kill at any instant
//! leaves either the old directory or the new one, never half of each.
//!
//! The new directory is assembled beside the old one (same file system): hard links to every
//! file the old one keeps, fresh files written and fsynced. Then one `renameat2(...,
//! RENAME_EXCHANGE)` swaps the two directories (a plain `rename` when there was none). A
//! leftover from a kill is a scratch directory in `$GIT_DIR/gitian-sign/` (cleaned on the next
//! run) or, when the git directory is on another file system, a `.gitian-sign-*` directory
//! beside the target. Where the file system cannot exchange, files are renamed one by one with
//! any old signature removed first and signatures last, so no signature ever sits next to
//! bytes it was not made for.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{CWD, RenameFlags, renameat_with};

/// A directory being assembled; nothing is visible until [`Staged::publish`].
#[derive(Debug)]
pub struct Staged {
    scratch: tempfile::TempDir,
    dir: PathBuf,
    target: PathBuf,
    target_existed: bool,
    /// Whether every entry of the old directory could be linked (else: sequential fallback).
    linked_all: bool,
    written: Vec<String>,
    removed: Vec<String>,
}

/// Whether a file name is a detached signature (published last, removed first).
fn is_signature(name: &str) -> bool {
    name.ends_with(".sig") || name.ends_with(".asc")
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes scratch directories left by killed runs (`<pid>.*` whose process is gone).
pub fn clean_stale(area: &Path) {
    let Ok(entries) = fs::read_dir(area) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.split('.').next()) else { continue };
        if crate::process::is_gone(pid) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

impl Staged {
    /// Starts a new version of `target` (which may not exist yet; its parent is created).
    /// `scratch_area` (the git directory's `gitian-sign/`) is used when it is on the same file
    /// system as the target.
    pub fn new(target: &Path, scratch_area: Option<&Path>) -> io::Result<Self> {
        let parent = target.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(parent)?;
        let dev = fs::metadata(parent)?.dev();
        let area = scratch_area.filter(|a| {
            fs::create_dir_all(a).is_ok() && fs::metadata(a).is_ok_and(|m| m.dev() == dev)
        });
        let scratch = match area {
            Some(a) => {
                clean_stale(a);
                tempfile::Builder::new()
                    .prefix(&format!("{}.", std::process::id()))
                    .tempdir_in(a)?
            }
            None => tempfile::Builder::new().prefix(".gitian-sign-").tempdir_in(parent)?,
        };
        let dir = scratch.path().join("d");
        fs::create_dir(&dir)?;
        let mut linked_all = true;
        let target_existed = target.is_dir();
        if target_existed {
            fs::set_permissions(&dir, fs::metadata(target)?.permissions())?;
            for entry in fs::read_dir(target)? {
                let entry = entry?;
                if fs::hard_link(entry.path(), dir.join(entry.file_name())).is_err() {
                    linked_all = false;
                }
            }
        }
        Ok(Self {
            scratch,
            dir,
            target: target.to_path_buf(),
            target_existed,
            linked_all,
            written: Vec::new(),
            removed: Vec::new(),
        })
    }

    /// Where `name` is being assembled (for a signing program that writes its own file).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `name` (replacing the link to the old file, never writing through it).
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.path(name);
        let _ = fs::remove_file(&path);
        let mut f = File::create(&path)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        self.note_written(name);
        Ok(())
    }

    /// Records that `name` was written into the staging directory by someone else.
    pub fn note_written(&mut self, name: &str) {
        if !self.written.iter().any(|w| w == name) {
            self.written.push(name.to_string());
        }
        self.removed.retain(|r| r != name);
    }

    /// Drops `name` from the new version.
    pub fn remove(&mut self, name: &str) -> io::Result<()> {
        match fs::remove_file(self.path(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        self.written.retain(|w| w != name);
        self.removed.push(name.to_string());
        Ok(())
    }

    /// Whether `name` is in the new version.
    pub fn exists(&self, name: &str) -> bool {
        self.path(name).exists()
    }

    /// Makes the new version visible at the target path, all at once where the file system
    /// allows it. Files written by another program are fsynced here.
    pub fn publish(self) -> io::Result<()> {
        for name in &self.written {
            File::open(self.path(name))?.sync_all()?;
        }
        fsync_dir(&self.dir)?;
        let parent = self.target.parent().unwrap_or(Path::new(".")).to_path_buf();
        if !self.target_existed {
            // rename(2) onto a missing name: atomic; fails if the directory appeared meanwhile.
            fs::rename(&self.dir, &self.target)?;
            return fsync_dir(&parent);
        }
        if self.linked_all {
            match renameat_with(CWD, &self.dir, CWD, &self.target, RenameFlags::EXCHANGE) {
                Ok(()) => return fsync_dir(&parent),
                Err(e)
                    if ![
                        rustix::io::Errno::INVAL,
                        rustix::io::Errno::NOSYS,
                        rustix::io::Errno::OPNOTSUPP,
                    ]
                    .contains(&e) =>
                {
                    return Err(e.into());
                }
                Err(_) => {}
            }
        }
        self.publish_one_by_one()
    }

    /// Fallback: old signatures out first, data files in, signatures in last.
    fn publish_one_by_one(&self) -> io::Result<()> {
        for name in self.written.iter().chain(&self.removed).filter(|n| is_signature(n)) {
            match fs::remove_file(self.target.join(name)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        fsync_dir(&self.target)?;
        for name in &self.removed {
            match fs::remove_file(self.target.join(name)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        let (sigs, data): (Vec<&String>, Vec<&String>) =
            self.written.iter().partition(|n| is_signature(n));
        for name in data.into_iter().chain(sigs) {
            fs::rename(self.path(name), self.target.join(name))?;
            fsync_dir(&self.target)?;
        }
        Ok(())
    }

    /// The scratch directory (for tests and messages).
    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }
}

/// Prefix of the temporary files [`write_file`] renames into place; the writer's process id
/// follows, so that leftovers of killed runs can be told from a live writer's.
const TMP_PREFIX: &str = ".gitian-tmp-";

/// Writes one file through a temporary file and a rename (no half-written file), with the
/// mode a new file gets under the user's umask (0644 by default), as `git` and Gitian do.
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_new(path, bytes, None)
}

/// [`write_file`] with exactly `mode`, set on the temporary file before the rename: the file
/// never appears with another mode, whenever the process is killed.
pub fn write_file_mode(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    write_new(path, bytes, Some(mode))
}

/// [`write_file`] of what `write` writes, streamed to the temporary file (nothing is held
/// whole in memory).
pub fn write_file_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    write_new_with(path, None, |f| {
        let mut buffered = io::BufWriter::new(f);
        write(&mut buffered)?;
        buffered.flush()
    })
}

fn write_new(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    write_new_with(path, mode, |f| f.write_all(bytes))
}

fn write_new_with(
    path: &Path,
    mode: Option<u32>,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent)?;
    clean_stale_tmp(parent);
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{TMP_PREFIX}{}-", std::process::id()))
        .permissions(fs::Permissions::from_mode(0o666))
        .tempfile_in(parent)?;
    write(tmp.as_file_mut())?;
    if let Some(mode) = mode {
        tmp.as_file().set_permissions(fs::Permissions::from_mode(mode))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    fsync_dir(parent)
}

/// Removes the temporary files of [`write_file`] runs in `dir` whose process is gone (killed
/// between creating and renaming them).
pub fn clean_stale_tmp(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(TMP_PREFIX)?.split_once('-'))
        else {
            continue;
        };
        if pid.0.bytes().all(|b| b.is_ascii_digit()) && crate::process::is_gone(pid.0) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// How old a libgit2 temporary file must be to count as a dead process's leftover.
pub const GIT2_LEFTOVER_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// Removes the temporary files libgit2 leaves in a git directory when it is killed while
/// writing (`_git2_*` beside the config, `objects/tmp_object_git2_*`), once they are older
/// than `min_age`: libgit2 renames a live one into place within moments, so an old one
/// belongs to a dead process.
pub fn clean_git2_leftovers(git_dir: &Path, min_age: std::time::Duration) {
    let now = std::time::SystemTime::now();
    for (dir, prefix) in
        [(git_dir.to_path_buf(), "_git2_"), (git_dir.join("objects"), "tmp_object_git2_")]
    {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age >= min_age));
            let ours = entry.file_name().to_str().is_some_and(|n| n.starts_with(prefix));
            if ours && old && entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name().into_string().unwrap(), fs::read(e.path()).unwrap())
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn new_directory_appears_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let git = tmp.path().join(".git");
        let target = tmp.path().join("rel/alice");
        let mut s = Staged::new(&target, Some(&git.join("gitian-sign"))).unwrap();
        s.write("a.assert", b"A").unwrap();
        s.write("a.assert.sig", b"S").unwrap();
        assert!(!target.exists());
        s.publish().unwrap();
        assert_eq!(
            listing(&target),
            vec![("a.assert".into(), b"A".to_vec()), ("a.assert.sig".into(), b"S".to_vec())]
        );
        assert_eq!(
            fs::read_dir(git.join("gitian-sign")).unwrap().count(),
            0,
            "scratch left behind"
        );
    }

    #[test]
    fn existing_directory_is_exchanged_keeping_other_files() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("rel/alice");
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("other.assert"), b"O").unwrap();
        fs::write(target.join("a.assert"), b"old").unwrap();
        fs::write(target.join("a.assert.sig"), b"oldsig").unwrap();
        let mut s = Staged::new(&target, None).unwrap();
        s.write("a.assert", b"new").unwrap();
        s.write("a.assert.sig", b"newsig").unwrap();
        // Writing in the staging area never writes through a hard link into the old file.
        assert_eq!(fs::read(target.join("a.assert")).unwrap(), b"old");
        s.publish().unwrap();
        assert_eq!(
            listing(&target),
            vec![
                ("a.assert".into(), b"new".to_vec()),
                ("a.assert.sig".into(), b"newsig".to_vec()),
                ("other.assert".into(), b"O".to_vec()),
            ]
        );
        let leftovers: Vec<_> = fs::read_dir(tmp.path().join("rel")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "scratch directory left beside the target");
    }

    #[test]
    fn one_by_one_fallback_removes_old_signature_first() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("alice");
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("a.assert"), b"old").unwrap();
        fs::write(target.join("a.assert.sig"), b"oldsig").unwrap();
        let mut s = Staged::new(&target, None).unwrap();
        s.write("a.assert", b"new").unwrap();
        s.remove("a.assert.sig").unwrap();
        s.publish_one_by_one().unwrap();
        assert_eq!(listing(&target), vec![("a.assert".into(), b"new".to_vec())]);
    }

    #[test]
    fn write_file_replaces_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x/y.txt");
        write_file(&p, b"one").unwrap();
        write_file(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(tmp.path().join("x")).unwrap().count(), 1);
    }

    #[test]
    fn write_file_follows_the_umask_and_write_file_mode_sets_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a");
        write_file(&p, b"x").unwrap();
        let status = fs::read_to_string("/proc/self/status").unwrap();
        let umask = status.lines().find_map(|l| l.strip_prefix("Umask:")).unwrap().trim();
        let want = 0o666 & !u32::from_str_radix(umask, 8).unwrap();
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, want);
        let h = tmp.path().join("hook");
        write_file_mode(&h, b"#!/bin/sh\n", 0o750).unwrap();
        assert_eq!(fs::metadata(&h).unwrap().permissions().mode() & 0o7777, 0o750);
    }

    #[test]
    fn temporary_files_of_dead_writers_are_removed_and_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        // Above the kernel's largest process id: no process has it.
        let pid_max = fs::read_to_string("/proc/sys/kernel/pid_max").unwrap();
        let dead = pid_max.trim().parse::<u64>().unwrap() + 1;
        let stale = tmp.path().join(format!(".gitian-tmp-{dead}-abc"));
        let live = tmp.path().join(format!(".gitian-tmp-{}-abc", std::process::id()));
        let other = tmp.path().join(".gitian-tmp-notapid");
        for f in [&stale, &live, &other] {
            fs::write(f, b"x").unwrap();
        }
        write_file(&tmp.path().join("f"), b"y").unwrap();
        assert!(!stale.exists() && live.exists() && other.exists());
    }

    #[test]
    fn old_libgit2_leftovers_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("objects")).unwrap();
        let a = tmp.path().join("_git2_a12345");
        let b = tmp.path().join("objects/tmp_object_git2_b12345");
        let keep = tmp.path().join("config");
        for f in [&a, &b, &keep] {
            fs::write(f, b"x").unwrap();
        }
        clean_git2_leftovers(tmp.path(), std::time::Duration::from_secs(3600));
        assert!(a.exists() && b.exists(), "young ones may be a live writer's");
        clean_git2_leftovers(tmp.path(), std::time::Duration::ZERO);
        assert!(!a.exists() && !b.exists() && keep.exists());
    }
}
