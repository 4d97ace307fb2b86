//! Key loading: the key files of a ledger's key folders and of `--keys`, parsed into one keyring.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{KEY_DIRS, MAX_KEY_FILE, VerifyError};
use crate::ledger::{Content, Kind, LedgerTree};
use crate::openpgp::Keyring;
use crate::ops::memo::{self, Memory};

/// Reads the key files of a ledger's key folders (recursively, three levels at most).
pub(super) fn read_tree_keys(
    tree: &dyn LedgerTree,
    dir: &str,
    out: &mut Vec<(String, Vec<u8>)>,
    warnings: &mut Vec<String>,
    depth: usize,
) -> Result<(), VerifyError> {
    let entries = if dir.is_empty() {
        tree.list("")?
            .into_iter()
            .filter(|e| {
                e.kind == Kind::Dir && matches!(&e.name, Ok(n) if KEY_DIRS.contains(&n.as_str()))
            })
            .collect()
    } else {
        tree.list(dir)?
    };
    for entry in entries {
        let Ok(name) = &entry.name else { continue };
        let path = if dir.is_empty() { name.clone() } else { format!("{dir}/{name}") };
        match entry.kind {
            Kind::Dir if depth < 3 => read_tree_keys(tree, &path, out, warnings, depth + 1)?,
            // builder-keys/README.md (from `git gitian init`) explains the folder; not a key.
            Kind::File if name.ends_with(".md") => {}
            Kind::File if !dir.is_empty() => match tree.read(&path, MAX_KEY_FILE)? {
                Content::Bytes(b) => out.push((path, b)),
                Content::TooLarge(n) => {
                    warnings.push(format!("key file {path} skipped: {n} bytes"))
                }
            },
            Kind::Symlink => warnings.push(format!("key file {path} is a symlink: not followed")),
            _ => {}
        }
    }
    Ok(())
}

/// Every certificate of the key files; files with the same bytes are read once. With a memory,
/// a key file seen before is only indexed (parsed when a signature needs it).
pub(super) fn build_keyring(
    files: Vec<(String, Vec<u8>)>,
    memory: Option<&Memory>,
) -> (Keyring, Vec<String>) {
    let mut keyring = Keyring::new();
    keyring.set_fallback(std::sync::Arc::new(crate::gpg::fallback::GpgFallback::new()));
    let mut warnings = Vec::new();
    // Keyed by length and the last bytes (an armor checksum, or key material), compared whole.
    // For each file, the earlier file with the same bytes, if any.
    let mut copy_of: Vec<Option<usize>> = vec![None; files.len()];
    let mut seen: HashMap<(usize, &[u8]), Vec<usize>> = HashMap::new();
    for (i, (_, bytes)) in files.iter().enumerate() {
        let same = seen.entry((bytes.len(), &bytes[bytes.len().saturating_sub(48)..])).or_default();
        copy_of[i] = same.iter().copied().find(|&j| files[j].1 == *bytes);
        if copy_of[i].is_none() {
            same.push(i);
        }
    }
    let origins: Vec<String> = files.iter().map(|(o, _)| o.clone()).collect();
    for (i, (origin, bytes)) in files.into_iter().enumerate() {
        if let Some(j) = copy_of[i] {
            // Not read again, but the certificates are kept under this name too.
            keyring.add_copy(&origin, &origins[j]);
            continue;
        }
        let added = match memory {
            None => keyring.add_file(&origin, &bytes).map(drop),
            Some(memory) => {
                let digest = memo::digest(&bytes);
                match memory.key_file(&digest) {
                    Some(index) => {
                        keyring.add_known_file(&origin, bytes, index);
                        Ok(())
                    }
                    None => keyring.add_file_indexed(&origin, &bytes).map(|index| {
                        if let Some(index) = index {
                            memory.record_key_file(digest, index);
                        }
                    }),
                }
            }
        };
        if let Err(e) = added {
            warnings.push(format!("key file {origin} skipped: {e}"));
        }
    }
    (keyring, warnings)
}

/// Reads a `--keys` file, or every file under a `--keys` folder.
pub(super) fn read_path_keys(
    path: &Path,
    base: &Path,
    out: &mut Vec<(String, Vec<u8>)>,
    warnings: &mut Vec<String>,
) -> Result<(), VerifyError> {
    let meta = std::fs::metadata(path).map_err(|e| VerifyError::Keys {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| VerifyError::Keys {
                path: path.display().to_string(),
                message: e.to_string(),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            read_path_keys(&p, base, out, warnings)?;
        }
    } else if meta.len() <= MAX_KEY_FILE {
        let bytes = std::fs::read(path).map_err(|e| VerifyError::Keys {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let origin = path.strip_prefix(base).unwrap_or(path).display().to_string();
        out.push((origin, bytes));
    } else {
        warnings.push(format!("key file {} skipped: too large", path.display()));
    }
    Ok(())
}
