//! In-process OpenPGP verification (`git_gitian::openpgp`) over the real corpus, checked against
//! GnuPG 2.2.40's recorded verdicts (`expected.tsv`) and against gpgme live.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use git_gitian::openpgp::{self, Keyring, Verdict};

use crate::common::corpus;

/// The corpus verdict time, 2026-11-28T00:00:00Z.
fn corpus_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_824_000)
}

/// Every key file of the corpus, sorted, with its path relative to the corpus as origin.
fn key_files() -> Vec<(String, PathBuf)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = corpus();
    let mut files = Vec::new();
    walk(&root.join("keys"), &mut files);
    walk(&root.join("guix.sigs/builder-keys"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| (p.strip_prefix(&root).unwrap().to_string_lossy().into_owned(), p))
        .collect()
}

pub fn corpus_keyring() -> Keyring {
    let mut keyring = Keyring::new();
    for (origin, path) in key_files() {
        let bytes = std::fs::read(&path).unwrap();
        keyring.add_file(&origin, &bytes).unwrap_or_else(|e| panic!("{e}"));
    }
    keyring
}

/// One signature row of `expected.tsv`.
struct Row {
    sig_path: PathBuf,
    status: String,
    key_fingerprint: String,
    signing_key_fingerprint: String,
}

impl Row {
    fn data_path(&self) -> PathBuf {
        self.sig_path.with_extension("")
    }
}

/// The rows of `expected.tsv` that have a signature file and a data file next to it.
fn signature_rows() -> Vec<Row> {
    let root = corpus();
    let text = std::fs::read_to_string(root.join("expected.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (ledger, status, kfp, skfp, sig) = (
        col("ledger"),
        col("signature_status"),
        col("key_fingerprint"),
        col("signing_key_fingerprint"),
        col("sig_path"),
    );
    let rows: Vec<Row> = lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f[sig] != "-" && f[status] != "no_data")
        .map(|f| Row {
            sig_path: root.join(format!("{}.sigs", f[ledger])).join(f[sig]),
            status: f[status].to_string(),
            key_fingerprint: f[kfp].to_string(),
            signing_key_fingerprint: f[skfp].to_string(),
        })
        .collect();
    assert!(rows.len() >= 100, "expected.tsv has only {} signature rows", rows.len());
    rows
}

fn dash(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

/// The three compared columns of a verdict, as expected.tsv writes them.
fn columns(v: &Verdict) -> (String, String, String) {
    (
        v.status.as_str(),
        dash(&v.key_fingerprint).to_string(),
        dash(&v.signing_key_fingerprint).to_string(),
    )
}

#[test]
fn test_openpgp_corpus_matches_gnupg() {
    let keyring = corpus_keyring();
    assert!(keyring.len() > 50, "only {} certificates loaded", keyring.len());
    let at = corpus_time();
    let rows = signature_rows();
    let mut mismatches = Vec::new();
    for row in &rows {
        let data = std::fs::read(row.data_path()).unwrap();
        let sig = std::fs::read(&row.sig_path).unwrap();
        let verdict = openpgp::verify_detached(&keyring, &data, &sig, at);
        let got = columns(&verdict);
        let want =
            (row.status.clone(), row.key_fingerprint.clone(), row.signing_key_fingerprint.clone());
        if got != want {
            mismatches.push(format!(
                "{}\n  want {want:?}\n  got  {got:?} ({:?})",
                row.sig_path.display(),
                verdict.status
            ));
        }
    }
    for m in &mismatches {
        eprintln!("{m}");
    }
    assert!(mismatches.is_empty(), "{} of {} rows differ from gpg", mismatches.len(), rows.len());
}
