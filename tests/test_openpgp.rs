//! In-process OpenPGP verification (`git_gitian::openpgp`) over the real corpus, checked against
//! GnuPG 2.2.40's recorded verdicts (`expected.tsv`) and against gpgme live.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use git_gitian::openpgp::{self, Keyring, Verdict};

use crate::common::corpus;
use crate::common::gnupg::GnupgHome;

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

#[path = "../src/openpgp/fixtures.rs"]
mod fixtures;

/// gpg's "now" is the corpus verdict time, so expiry is judged where expected.tsv judged it.
fn corpus_time_home() -> GnupgHome {
    GnupgHome::at_time("20261128T000000")
}

fn verdict_line(v: &Verdict) -> String {
    let (s, k, sk) = columns(v);
    format!("{s} {k} {sk}")
}

#[test]
fn test_openpgp_gpgme_agrees_on_the_corpus() {
    use git_gitian::gpg::verify::GpgmeVerifier;
    let home = corpus_time_home();
    let mut gpgme = GpgmeVerifier::new(home.path()).unwrap();
    for (_, path) in key_files() {
        gpgme.import(&std::fs::read(path).unwrap()).unwrap();
    }
    let keyring = corpus_keyring();
    let mut differ = Vec::new();
    let rows = signature_rows();
    for row in &rows {
        let data = std::fs::read(row.data_path()).unwrap();
        let sig = std::fs::read(&row.sig_path).unwrap();
        let ours = verdict_line(&openpgp::verify_detached(&keyring, &data, &sig, corpus_time()));
        let theirs = verdict_line(&gpgme.verify_detached(&data, &sig));
        if ours != theirs {
            differ
                .push(format!("{}\n  openpgp {ours}\n  gpgme   {theirs}", row.sig_path.display()));
        }
    }
    for d in &differ {
        eprintln!("{d}");
    }
    assert!(differ.is_empty(), "{} of {} corpus signatures differ", differ.len(), rows.len());
}

#[test]
fn test_openpgp_gpgme_agrees_on_adversarial_signatures() {
    use git_gitian::gpg::verify::GpgmeVerifier;
    let home = corpus_time_home();
    let fx = fixtures::build(corpus_time());
    let mut gpgme = GpgmeVerifier::new(home.path()).unwrap();
    let mut keyring = Keyring::new();
    for (origin, bytes) in &fx.key_files {
        gpgme.import(bytes).unwrap();
        keyring.add_file(origin, bytes).unwrap();
    }
    let mut differ = Vec::new();
    for case in &fx.cases {
        let ours = verdict_line(&openpgp::verify_detached(&keyring, &case.data, &case.sig, fx.at));
        let theirs = verdict_line(&gpgme.verify_detached(&case.data, &case.sig));
        let want = format!(
            "{} {} {}",
            case.status,
            case.key.as_deref().unwrap_or("-"),
            case.signing.as_deref().unwrap_or("-")
        );
        if ours != theirs || ours != want {
            differ.push(format!(
                "{}\n  expected {want}\n  openpgp  {ours}\n  gpgme    {theirs}",
                case.name
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// Signatures made by gpg itself (text mode over awkward line ends, clearsigned, inline,
/// detached), verified in process: the fixtures above are sequoia-made.
#[test]
fn test_openpgp_verifies_what_gpg_signs() {
    use git_gitian::openpgp::SigStatus;
    let home = corpus_time_home();
    let gpg = |args: &[&str], input: Option<&[u8]>| -> Vec<u8> {
        home.gpg_with_input(args, input.unwrap_or_default())
    };
    home.key_with("Builder", "rsa2048");
    let mut keyring = Keyring::new();
    keyring.add_file("builder.asc", &gpg(&["--armor", "--export"], None)).unwrap();
    let fpr = keyring.fingerprints().next().unwrap();
    // gpg's clock is the corpus time; judge a day later.
    let at = corpus_time() + Duration::from_secs(86_400);

    let text: &[u8] = b"out_manifest: |\r\n  abc  x.tar.gz   \n\ttrailing\t\r\nlone\rcr\nlast line";
    let cases: [(&str, Vec<u8>, &[u8], &str); 6] = [
        ("detached", gpg(&["--detach-sign"], Some(text)), text, "good"),
        ("detached armored", gpg(&["--armor", "--detach-sign"], Some(text)), text, "good"),
        ("text mode", gpg(&["--textmode", "--detach-sign"], Some(text)), text, "good"),
        ("detached, other data", gpg(&["--detach-sign"], Some(text)), b"other", "bad"),
        ("inline", gpg(&["--sign"], Some(text)), text, "inline:good"),
        ("clearsigned", gpg(&["--clearsign"], Some(text)), text, "inline:good"),
    ];
    let mut wrong = Vec::new();
    for (name, sig, data, want) in &cases {
        let v = openpgp::verify_detached(&keyring, data, sig, at);
        if v.status.as_str() != *want || v.key_fingerprint.as_deref() != Some(fpr.as_str()) {
            wrong.push(format!("{name}: want {want}, got {:?} {:?}", v.status, v.key_fingerprint));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The same text-mode signature over the file with other line ends still holds, as in gpg.
    let sig = &cases[2].1;
    let lf: Vec<u8> = String::from_utf8_lossy(text).replace("\r\n", "\n").into_bytes();
    assert_eq!(openpgp::verify_detached(&keyring, &lf, sig, at).status, SigStatus::Good);
}
