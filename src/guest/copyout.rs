//! Copy-out on the host: what a guest hands back is untrusted. The build script (and, with
//! `sudo`, root in the guest) decides what is in its output tree, so the host side creates
//! every file itself and never takes a mode, an owner or a file type from the guest:
//!
//! - folders and regular files are created by git-gitian, owned by the invoking user, with the
//!   guest's permission bits less set-uid, set-gid and sticky (and less the umask);
//! - symbolic links are recreated as links (inert: nothing on the host follows them, the
//!   manifest lists regular files only) and never written through: a link already in the
//!   destination where a folder or file is wanted is replaced, not followed;
//! - hard links become links to the file already extracted in the same tree (checked to be a
//!   regular file inside it), never to a path outside;
//! - device nodes, FIFOs and sockets are not created; each is named in the returned notes;
//! - paths are relative and never contain `..`.
//!
//! Two sources: a tar stream (sandbox, LXC, Docker/podman: `tar -c` in the guest, read here by
//! the `tar` crate, never by the host's `tar -x`, which as root would restore modes, owners and
//! devices) and a folder written by the guest through virtiofs (QEMU), whose files are adopted
//! (opened without following links, checked to be regular, re-owned and re-moded through the
//! open descriptor, then renamed; folders are made anew).

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// Permission bits a copied-out file or folder may keep.
const KEEP: u32 = 0o777;

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// `rel` checked: relative, no `..`, `.` dropped; `None` for the tree's root itself.
fn clean(rel: &Path) -> io::Result<Option<PathBuf>> {
    let mut out = PathBuf::new();
    for c in rel.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            _ => return Err(bad(format!("unsafe path '{}' in the guest's output", rel.display()))),
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

/// Makes `dest/rel`'s parent folders real folders: a missing one is created, a link or file
/// in the way is removed first (never followed).
fn ensure_parents(dest: &Path, rel: &Path) -> io::Result<()> {
    let mut p = dest.to_path_buf();
    if let Some(parent) = rel.parent() {
        for c in parent.components() {
            p.push(c);
            ensure_dir(&p)?;
        }
    }
    Ok(())
}

/// `p` is a real folder afterwards (created, or what was in the way removed).
fn ensure_dir(p: &Path) -> io::Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => {
            fs::remove_file(p)?;
            fs::create_dir(p)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir(p),
        Err(e) => Err(e),
    }
}

/// Removes whatever is at `p` (a folder with its content), so a new entry can take its place.
fn clear(p: &Path) -> io::Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// A new regular file at `p` (nothing followed), mode `mode & 0777` less the umask.
fn create_file(p: &Path, mode: u32) -> io::Result<fs::File> {
    clear(p)?;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode & KEEP)
        .custom_flags(libc::O_NOFOLLOW)
        .open(p)
}

/// What kind of entry a guest tried to hand over that is never created on the host.
fn refused(kind: &str, rel: &Path, notes: &mut Vec<String>) {
    notes.push(format!("{}: a {kind}, not copied", rel.display()));
}

/// Extracts a tar stream into `dest` under the rules of the module docs. Returns notes about
/// entries that were not created. Stops at the first error (the caller fails the build).
pub fn extract_tar(
    input: impl Read,
    dest: &Path,
    stop: &dyn Fn() -> bool,
) -> io::Result<Vec<String>> {
    fs::create_dir_all(dest)?;
    let mut notes = Vec::new();
    let mut dirs: Vec<(PathBuf, u32)> = Vec::new();
    let mut archive = tar::Archive::new(input);
    for entry in archive.entries()? {
        if stop() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let Some(rel) = clean(&path)? else { continue };
        let target = dest.join(&rel);
        let header = entry.header();
        let mode = header.mode().unwrap_or(0o644);
        let kind = header.entry_type();
        let mtime = header.mtime().ok();
        ensure_parents(dest, &rel)?;
        use tar::EntryType as T;
        match kind {
            T::Directory => {
                ensure_dir(&target)?;
                dirs.push((target, mode));
            }
            T::Regular | T::Continuous | T::GNUSparse => {
                let mut f = create_file(&target, mode)?;
                copy_interruptible(&mut entry, &mut f, stop)?;
                if let Some(t) = mtime {
                    let _ =
                        f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t));
                }
            }
            T::Symlink => {
                let link = entry
                    .link_name()?
                    .ok_or_else(|| bad(format!("{}: link without a target", rel.display())))?;
                clear(&target)?;
                std::os::unix::fs::symlink(link.as_ref(), &target)?;
            }
            T::Link => {
                let link = entry
                    .link_name()?
                    .ok_or_else(|| bad(format!("{}: link without a target", rel.display())))?;
                let Some(src_rel) = clean(&link)? else {
                    return Err(bad(format!("{}: hard link to the tree's root", rel.display())));
                };
                hard_link_inside(dest, &src_rel, &target)?;
            }
            T::Char => refused("character device", &rel, &mut notes),
            T::Block => refused("block device", &rel, &mut notes),
            T::Fifo => refused("FIFO", &rel, &mut notes),
            _ => refused("special tar entry", &rel, &mut notes),
        }
    }
    // The reader stops at the end-of-archive blocks; tar pads its last record past them. Read
    // the padding too, or the writer (tar, or docker's client relaying it) dies of SIGPIPE and
    // the copy counts as failed.
    io::copy(&mut archive.into_inner(), &mut io::sink())?;
    // Folder modes last (a read-only folder would refuse its content), deepest first.
    for (d, mode) in dirs.iter().rev() {
        fs::set_permissions(d, fs::Permissions::from_mode((mode & KEEP) | 0o700))?;
    }
    Ok(notes)
}

/// `target` becomes a hard link to `dest/src_rel`, which must be a regular file reached
/// through real folders of `dest` (no link on the way).
fn hard_link_inside(dest: &Path, src_rel: &Path, target: &Path) -> io::Result<()> {
    let mut p = dest.to_path_buf();
    let n = src_rel.components().count();
    for (i, c) in src_rel.components().enumerate() {
        p.push(c);
        let m = fs::symlink_metadata(&p)?;
        let ok = if i + 1 == n { m.is_file() } else { m.is_dir() };
        if !ok {
            return Err(bad(format!(
                "hard link to '{}', which is not a regular file of the output",
                src_rel.display()
            )));
        }
    }
    clear(target)?;
    fs::hard_link(&p, target)
}

fn copy_interruptible(
    from: &mut impl Read,
    to: &mut fs::File,
    stop: &dyn Fn() -> bool,
) -> io::Result<()> {
    use std::io::Write;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if stop() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
    }
}

/// Moves the tree `src` (written by a guest, e.g. through virtiofs) into `dest`, merging
/// folders and replacing files, under the rules of the module docs: folders are made anew by
/// us; each regular file is opened without following a link, checked on the open descriptor,
/// given our owner and its permission bits less set-uid/set-gid/sticky through that
/// descriptor, and only then renamed into place (and checked to be the same file there).
/// Returns notes about entries that were not moved.
pub fn adopt_tree(src: &Path, dest: &Path) -> io::Result<Vec<String>> {
    let mut notes = Vec::new();
    let m = fs::symlink_metadata(src)?;
    if !m.is_dir() {
        return Err(bad(format!("{} is not a folder", src.display())));
    }
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent)?;
    }
    ensure_dir(dest)?;
    adopt_dir(src, dest, Path::new(""), &mut notes)?;
    fs::set_permissions(dest, fs::Permissions::from_mode((m.mode() & KEEP) | 0o700))?;
    Ok(notes)
}

fn adopt_dir(src: &Path, dest: &Path, rel: &Path, notes: &mut Vec<String>) -> io::Result<()> {
    let (uid, gid) = super::util::ids();
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        let (from, to, r) = (entry.path(), dest.join(&name), rel.join(&name));
        let m = fs::symlink_metadata(&from)?;
        let ft = m.file_type();
        if ft.is_dir() {
            ensure_dir(&to)?;
            adopt_dir(&from, &to, &r, notes)?;
            fs::set_permissions(&to, fs::Permissions::from_mode((m.mode() & KEEP) | 0o700))?;
        } else if ft.is_symlink() {
            let link = fs::read_link(&from)?;
            clear(&to)?;
            std::os::unix::fs::symlink(link, &to)?;
        } else if ft.is_file() {
            let f = match fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
                .open(&from)
            {
                Ok(f) => f,
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                    refused("file replaced by a link during the copy", &r, notes);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let fm = f.metadata()?;
            if !fm.is_file() {
                refused("file replaced during the copy", &r, notes);
                continue;
            }
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
            f.set_permissions(fs::Permissions::from_mode(fm.mode() & KEEP))?;
            clear(&to)?;
            fs::rename(&from, &to)?;
            let now = fs::symlink_metadata(&to)?;
            if now.ino() != fm.ino() || now.dev() != fm.dev() {
                let _ = fs::remove_file(&to);
                return Err(bad(format!("{}: replaced during the copy", r.display())));
            }
        } else {
            let kind = if ft_is(&m, libc::S_IFCHR) {
                "character device"
            } else if ft_is(&m, libc::S_IFBLK) {
                "block device"
            } else if ft_is(&m, libc::S_IFIFO) {
                "FIFO"
            } else {
                "socket"
            };
            refused(kind, &r, notes);
        }
    }
    Ok(())
}

fn ft_is(m: &fs::Metadata, kind: libc::mode_t) -> bool {
    m.mode() & libc::S_IFMT == kind
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::{Invocation, run_ok};

    fn sh(script: &str, dir: &Path) {
        run_ok(&Invocation::new("sh").arg("-c").arg(script).cwd(dir)).unwrap();
    }

    /// A real tar stream of `what` in `dir`, made by the host's tar.
    fn tar_of(dir: &Path, what: &str) -> Vec<u8> {
        crate::process::run(&Invocation::new("tar").arg("-C").arg(dir).args(["-cf", "-", what]))
            .unwrap()
            .stdout
    }

    /// What a hostile guest's `out` holds: set-uid/set-gid files and folder, a FIFO, a
    /// device (when we may make one), links out of the tree, a hard link.
    fn hostile_tree(dir: &Path) {
        sh(
            "mkdir out && cd out && echo plain > plain && cp /bin/true suid && chmod 6755 suid \
             && mkdir sub && chmod 2775 sub && echo in > sub/in && mkfifo fifo \
             && ln -s /etc/hostname x && ln -s /etc etc && ln plain hard \
             && { mknod null c 1 3 2>/dev/null || true; }",
            dir,
        );
    }

    fn check(out: &Path) {
        for e in ["plain", "suid", "sub", "sub/in", "hard"] {
            let m = fs::symlink_metadata(out.join(e)).unwrap();
            assert_eq!(m.mode() & 0o7000, 0, "{e}: {:o}", m.mode());
            assert_eq!(m.uid(), super::super::util::ids().0, "{e}");
        }
        assert_eq!(fs::read_to_string(out.join("plain")).unwrap(), "plain\n");
        assert_eq!(fs::read_to_string(out.join("hard")).unwrap(), "plain\n");
        assert!(fs::symlink_metadata(out.join("fifo")).is_err());
        assert!(fs::symlink_metadata(out.join("null")).is_err());
        assert!(fs::symlink_metadata(out.join("x")).unwrap().file_type().is_symlink());
    }

    #[test]
    fn tar_stream_of_a_hostile_tree_lands_tame() {
        let t = tempfile::tempdir().unwrap();
        hostile_tree(t.path());
        let tar = tar_of(t.path(), "out");
        let dest = t.path().join("host");
        let notes = extract_tar(&tar[..], &dest, &|| false).unwrap();
        check(&dest.join("out"));
        assert!(notes.iter().any(|n| n == "out/fifo: a FIFO, not copied"), "{notes:?}");
    }

    #[test]
    fn tar_never_writes_through_a_link() {
        let t = tempfile::tempdir().unwrap();
        let victim = t.path().join("victim");
        fs::create_dir(&victim).unwrap();
        // A link planted by an earlier copy-out (a cache folder) where the new stream has a
        // folder with a file in it.
        let dest = t.path().join("host");
        fs::create_dir_all(dest.join("out")).unwrap();
        std::os::unix::fs::symlink(&victim, dest.join("out/d")).unwrap();
        sh("mkdir -p src/out/d && echo new > src/out/d/f", t.path());
        let tar = tar_of(&t.path().join("src"), "out");
        extract_tar(&tar[..], &dest, &|| false).unwrap();
        assert!(fs::read_dir(&victim).unwrap().next().is_none(), "wrote through the link");
        assert_eq!(fs::read_to_string(dest.join("out/d/f")).unwrap(), "new\n");
        // Paths out of the tree are refused.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_entry_type(tar::EntryType::Regular);
        h.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
        h.set_cksum();
        b.append(&h, &b"x"[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        assert!(extract_tar(&bytes[..], &dest, &|| false).is_err());
        assert!(!t.path().join("escape").exists());
    }

    #[test]
    fn adopted_tree_is_ours_and_tame() {
        let t = tempfile::tempdir().unwrap();
        hostile_tree(t.path());
        let dest = t.path().join("host/out");
        let notes = adopt_tree(&t.path().join("out"), &dest).unwrap();
        check(&dest);
        assert!(notes.iter().any(|n| n == "fifo: a FIFO, not copied"), "{notes:?}");
    }
}
