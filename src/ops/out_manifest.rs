//! The manifest of a build's outputs (`out_manifest`, the cache manifests): sha256 lines over
//! the regular files of a folder, read as Gitian's `find -type f` saw them. The folder is
//! written by a build script, which is not trusted (issue 10): nothing here follows a link,
//! opens anything but a regular file, or ignores Ctrl-C.

use std::fs;
use std::path::Path;

use super::build::{BuildError, check_interrupt, io};
use crate::core::manifest::{Entry, Manifest};

/// sha256 manifest lines over the regular files under `dir` (dot files included), paths checked
/// with Gitian's sanitizer. As Gitian's `find -type f`: symbolic links are neither followed nor
/// listed (a link out of the tree would put a host file's hash in the manifest, a link to
/// `/dev/zero` would never end), and FIFOs, sockets and devices are never opened. Stops with
/// [`BuildError::Interrupted`] on Ctrl-C or SIGTERM, also in the middle of a large file.
pub fn manifest_of(dir: &Path, label: &str) -> Result<String, BuildError> {
    let mut entries = Vec::new();
    if fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        walk(dir, dir, label, &mut entries)?;
    }
    Ok(Manifest { entries }.render())
}

fn walk(root: &Path, dir: &Path, label: &str, out: &mut Vec<Entry>) -> Result<(), BuildError> {
    for entry in fs::read_dir(dir).map_err(io("cannot read", dir))? {
        check_interrupt()?;
        let entry = entry.map_err(io("cannot read", dir))?;
        let path = entry.path();
        // The entry's own type: never what a link points to.
        let ft = entry.file_type().map_err(io("cannot read", &path))?;
        if ft.is_dir() {
            walk(root, &path, label, out)?;
            continue;
        }
        if !ft.is_file() {
            continue;
        }
        let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
        if !rel.bytes().all(|b| b.is_ascii_alphanumeric() || b"_@/.:+-".contains(&b)) {
            return Err(BuildError::Other(format!("unsanitary string in {label}/{rel}")));
        }
        if let Some(hash) = hash_regular_file(&path)? {
            out.push(Entry { path: rel, hash });
        }
    }
    Ok(())
}

/// The sha256 of `path` if it is a regular file: opened without following a link or blocking
/// (`O_NOFOLLOW | O_NONBLOCK`), its type checked on the open file, read in 1 MiB pieces with
/// an interruption check between them. `None` when it is not a regular file (any more).
fn hash_regular_file(path: &Path) -> Result<Option<String>, BuildError> {
    use sha2::Digest;
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path);
    let mut f = match f {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Ok(None),
        Err(e) => return Err(io("cannot read", path)(e)),
    };
    if !f.metadata().map_err(io("cannot read", path))?.is_file() {
        return Ok(None);
    }
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        check_interrupt()?;
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io("cannot read", path)(e)),
        };
        hasher.update(&buf[..n]);
    }
    Ok(Some(crate::core::manifest::hex(&hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::manifest::sha256_hex;

    #[test]
    fn out_manifest_sorts_bytewise_and_refuses_spaces() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("src")).unwrap();
        fs::write(t.path().join("src/x"), "x").unwrap();
        fs::write(t.path().join("a.tar.gz"), "").unwrap();
        fs::write(t.path().join(".hidden"), "").unwrap();
        let m = manifest_of(t.path(), "build/out").unwrap();
        let names: Vec<&str> = m.lines().map(|l| &l[66..]).collect();
        assert_eq!(names, [".hidden", "a.tar.gz", "src/x"]);
        fs::write(t.path().join("a b"), "").unwrap();
        let e = manifest_of(t.path(), "build/out").unwrap_err().to_string();
        assert_eq!(e, "unsanitary string in build/out/a b");
    }

    #[test]
    fn out_manifest_lists_regular_files_only_and_never_follows_links() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        fs::write(d.join("real"), "real\n").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", d.join("x")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", d.join("z")).unwrap();
        std::os::unix::fs::symlink("/etc", d.join("etc")).unwrap();
        std::os::unix::fs::symlink("real", d.join("inner")).unwrap();
        let fifo = d.join("fifo");
        crate::process::run_ok(&crate::process::Invocation::new("mkfifo").arg(&fifo)).unwrap();
        let m = manifest_of(d, "build/out").unwrap();
        assert_eq!(m, format!("{}  real\n", sha256_hex(b"real\n")));
        // A link as the folder itself is not walked either.
        let link = t.path().join("out-link");
        std::os::unix::fs::symlink("/etc", &link).unwrap();
        assert_eq!(manifest_of(&link, "build/out").unwrap(), "");
    }
}
