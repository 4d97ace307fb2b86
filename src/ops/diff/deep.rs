//! `--deep`: the smallest differing pieces (single members, never whole archives) handed to
//! diffoscope, with a timeout, through the one process module.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::core::diff::Change;
use crate::process::{self, Invocation};

/// Text shown per member at most; the rest is counted.
const MAX_OUTPUT: usize = 64 * 1024;

/// diffoscope on PATH, if installed.
pub fn diffoscope() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("diffoscope")).find(|p| p.is_file())
}

/// The command line for one pair (files named as the member, in their own directories).
pub fn invocation(program: &Path, a: &Path, b: &Path) -> Invocation {
    Invocation::new(program)
        .args(["--text", "-", "--no-progress", "--exclude-directory-metadata=recursive"])
        .arg(a)
        .arg(b)
        .env("TZ", "UTC")
}

/// Runs diffoscope on the two sides of member `path`; stops it after `timeout`.
pub fn run(path: &str, a: &[u8], b: &[u8], timeout: Duration) -> Change {
    let Some(program) = diffoscope() else {
        return Change::Note {
            text: "--deep: diffoscope is not installed (apt install diffoscope)".into(),
        };
    };
    match run_with(&program, path, a, b, timeout) {
        Ok(c) => c,
        Err(e) => Change::Note { text: format!("--deep: diffoscope could not run: {e}") },
    }
}

fn run_with(
    program: &Path,
    path: &str,
    a: &[u8],
    b: &[u8],
    timeout: Duration,
) -> std::io::Result<Change> {
    let dir = tempfile::tempdir()?;
    let base = path.rsplit(['/', '!']).next().filter(|s| !s.is_empty()).unwrap_or("member");
    let (da, db) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir(&da)?;
    std::fs::create_dir(&db)?;
    let (fa, fb) = (da.join(base), db.join(base));
    std::fs::write(&fa, a)?;
    std::fs::write(&fb, b)?;
    let log = dir.path().join("out.txt");
    let mut child =
        process::spawn(&invocation(program, &fa, &fb), &log).map_err(std::io::Error::other)?;
    let timed_out = !child.wait_timeout(timeout);
    child.kill();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let text = text.replace(&dir.path().display().to_string(), "");
    let output = if text.len() > MAX_OUTPUT {
        let cut = (0..=MAX_OUTPUT).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        format!(
            "{}\n[{} more bytes of diffoscope output not shown]\n",
            &text[..cut],
            text.len() - cut
        )
    } else {
        text
    };
    Ok(Change::Deep { output, timed_out })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line() {
        let inv =
            invocation(Path::new("diffoscope"), Path::new("/t/a/x.so"), Path::new("/t/b/x.so"));
        assert_eq!(
            inv.display(),
            "diffoscope --text - --no-progress --exclude-directory-metadata=recursive /t/a/x.so /t/b/x.so"
        );
    }
}
