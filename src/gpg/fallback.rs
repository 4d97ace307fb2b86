//! GnuPG as [`crate::openpgp::Fallback`]: a signature whose key the in-process library cannot
//! use is checked by `gpg --verify` in a throwaway GnuPG home that holds only that certificate
//! (every version read from the ledger), with gpg's clock set to the verdict time. Nothing of
//! the user's GnuPG is read; the homes are removed when verify ends.
//!
//! gpg is run directly (through [`crate::process`], which spawns without copying this process)
//! and not through gpgme: gpgme forks, and forking verify while it holds a whole ledger
//! (180 MB) three or four times per signature was a quarter of a cold verify of both public
//! ledgers. Its status lines (`--status-fd`) are read as gpgme reads them.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::openpgp::{Fallback, SigStatus, Verdict};
use crate::process::{self, Invocation};

/// A home made for one (certificate digest, verdict time); `None` when it could not be made.
type Homes = HashMap<(Vec<u8>, u64), Option<Arc<tempfile::TempDir>>>;

/// One throwaway home per (certificate, verdict time), made on first use.
#[derive(Default)]
pub struct GpgFallback {
    homes: Mutex<Homes>,
}

impl GpgFallback {
    pub fn new() -> Self {
        Self::default()
    }

    fn home(&self, cert: &[Vec<u8>], at: SystemTime) -> Option<Arc<tempfile::TempDir>> {
        let secs = at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let key = (blake3::hash(&cert.concat()).as_bytes().to_vec(), secs);
        let mut homes = self.homes.lock().ok()?;
        homes.entry(key).or_insert_with(|| make_home(cert, secs).map(Arc::new)).clone()
    }
}

/// `gpg` on `home`, offline and without a terminal, status lines on stdout.
fn gpg(home: &std::path::Path) -> Invocation {
    Invocation::new("gpg")
        .arg("--homedir")
        .arg(home)
        .args(["--batch", "--no-tty", "--status-fd", "1", "--disable-dirmngr"])
        .env("LC_ALL", "C")
}

/// A home holding only `cert`, gpg's time frozen at `secs`; `None` when gpg cannot be run or
/// refuses the certificate.
fn make_home(cert: &[Vec<u8>], secs: u64) -> Option<tempfile::TempDir> {
    // Short path under /tmp: gpg's socket names must fit in 108 bytes.
    let home = tempfile::Builder::new().prefix("gitian-gpg").tempdir_in("/tmp").ok()?;
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).ok()?;
    let time = chrono::DateTime::from_timestamp(secs as i64, 0)?.format("%Y%m%dT%H%M%S");
    // No agent: nothing here needs a secret key.
    let mut conf = std::fs::File::create(home.path().join("gpg.conf")).ok()?;
    writeln!(conf, "no-autostart\nfaked-system-time {time}!").ok()?;
    let out =
        process::run_with_stdin(&gpg(home.path()).arg("--import"), Some(&cert.concat())).ok()?;
    // IMPORT_RES <count> ...: how many keys gpg considered.
    let considered = status_lines(&out.stdout)
        .find_map(|(word, args)| (word == "IMPORT_RES").then(|| args.first()?.parse::<u32>().ok()))
        .flatten()
        .unwrap_or(0);
    (considered > 0).then_some(home)
}

/// gpg's status lines: (keyword, arguments).
fn status_lines(out: &[u8]) -> impl Iterator<Item = (&str, Vec<&str>)> {
    std::str::from_utf8(out).unwrap_or("").lines().filter_map(|l| {
        let mut words = l.strip_prefix("[GNUPG:] ")?.split(' ');
        Some((words.next()?, words.collect()))
    })
}

/// The verdict gpg's status lines give on one detached signature (as gpgme reads them): the
/// first of GOODSIG, EXPSIG, EXPKEYSIG, REVKEYSIG, BADSIG decides; the signature's creation
/// time from VALIDSIG. `None` for anything else (no key, an error, no signature).
fn verdict_of(out: &[u8], (primary, signing): (&str, &str)) -> Option<Verdict> {
    let status = status_lines(out).find_map(|(word, _)| match word {
        "GOODSIG" => Some(Some(SigStatus::Good)),
        "EXPSIG" => Some(Some(SigStatus::ExpiredSig)),
        "EXPKEYSIG" => Some(Some(SigStatus::ExpiredKey)),
        "REVKEYSIG" => Some(Some(SigStatus::RevokedKey)),
        "BADSIG" => Some(Some(SigStatus::Bad)),
        "ERRSIG" | "NODATA" => Some(None),
        _ => None,
    })??;
    let created = status_lines(out)
        .find_map(|(word, args)| (word == "VALIDSIG").then(|| args.get(2)?.parse::<u64>().ok()))
        .flatten()
        .filter(|&t| t > 0)
        .map(|t| SystemTime::UNIX_EPOCH + Duration::from_secs(t));
    Some(Verdict {
        status,
        key_fingerprint: Some(primary.to_string()),
        signing_key_fingerprint: Some(signing.to_string()),
        key_origin: None,
        created,
    })
}

impl Fallback for GpgFallback {
    fn verify(
        &self,
        cert: &[Vec<u8>],
        key: (&str, &str),
        sig: &[u8],
        data: &[u8],
        at: SystemTime,
    ) -> Option<Verdict> {
        let home = self.home(cert, at)?;
        // The signature in a file of the home, the data on stdin (`--verify SIG -`).
        let mut sig_file = tempfile::NamedTempFile::new_in(home.path()).ok()?;
        sig_file.write_all(sig).ok()?;
        let verify = gpg(home.path()).arg("--verify").arg(sig_file.path()).arg("-");
        let out = process::run_with_stdin(&verify, Some(data)).ok()?;
        verdict_of(&out.stdout, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: (&str, &str) = ("AAAA", "BBBB");

    #[test]
    fn status_lines_give_gpgmes_verdicts() {
        let good = b"[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 1234 K1\n[GNUPG:] VALIDSIG BBBB 2026-01-01 1767225600 0 4 0 19 10 00 AAAA\n";
        let v = verdict_of(good, KEY).unwrap();
        assert_eq!(v.status, SigStatus::Good);
        assert_eq!(
            (v.key_fingerprint.as_deref(), v.signing_key_fingerprint.as_deref()),
            (Some("AAAA"), Some("BBBB"))
        );
        assert_eq!(v.created, Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)));
        for (word, status) in [
            ("EXPSIG", SigStatus::ExpiredSig),
            ("EXPKEYSIG", SigStatus::ExpiredKey),
            ("REVKEYSIG", SigStatus::RevokedKey),
            ("BADSIG", SigStatus::Bad),
        ] {
            let out = format!("[GNUPG:] KEYEXPIRED 1\n[GNUPG:] {word} 1234 K1\n");
            let v = verdict_of(out.as_bytes(), KEY).unwrap();
            assert_eq!(v.status, status, "{word}");
            assert_eq!(v.created, None, "{word}: no VALIDSIG");
        }
        assert!(verdict_of(b"[GNUPG:] ERRSIG 1234 19 10 00 1767225600 9 -\n", KEY).is_none());
        assert!(verdict_of(b"[GNUPG:] NODATA 4\n", KEY).is_none());
        assert!(verdict_of(b"", KEY).is_none());
        assert!(verdict_of(b"gpg: GOODSIG in a message, not a status line\n", KEY).is_none());
    }
}
