//! Times in-process verification of every signature in a corpus laid out as
//! `../shared/corpus` is: load every key file, then verify every `*.sig`/`*.asc` against the
//! file next to it, once, in a fresh process (sequoia caches signature verifications in
//! memory, so a second round in the same process would flatter it). Used by
//! `bench/verify-openpgp`, which runs it several times.
//!
//! Usage: verify-openpgp CORPUS [serial|batch] [AT_UNIX_SECONDS]
//! (`batch` verifies on every core with `verify_detached_batch`.)
//! Prints: `<total ms> <key-loading ms> <key files> <signatures> <status>=<count>...`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use git_gitian::openpgp::{self, Keyring};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let corpus = PathBuf::from(args.get(1).expect("usage: verify-openpgp CORPUS [AT]"));
    let batch = args.get(2).is_some_and(|m| m == "batch");
    let at = UNIX_EPOCH
        + Duration::from_secs(args.get(3).map_or(1_795_824_000, |t| t.parse().expect("AT")));

    let start = Instant::now();
    // Finding and reading the files is part of the job, as it is for gpg.
    let mut key_files = Vec::new();
    walk(&corpus.join("keys"), &mut key_files);
    walk(&corpus.join("guix.sigs/builder-keys"), &mut key_files);
    key_files.sort();
    let mut keyring = Keyring::new();
    for path in &key_files {
        let bytes = std::fs::read(path).unwrap();
        keyring.add_file(&path.to_string_lossy(), &bytes).unwrap();
    }
    let loaded = start.elapsed();

    let mut sig_files = Vec::new();
    walk(&corpus.join("gitian.sigs"), &mut sig_files);
    walk(&corpus.join("guix.sigs"), &mut sig_files);
    sig_files.retain(|p| {
        !p.starts_with(corpus.join("guix.sigs/builder-keys"))
            && p.extension().is_some_and(|e| e == "sig" || e == "asc")
    });
    sig_files.sort();
    let mut counts = BTreeMap::new();
    let files: Vec<(Vec<u8>, Vec<u8>)> = sig_files
        .iter()
        .map(|p| {
            (std::fs::read(p.with_extension("")).unwrap_or_default(), std::fs::read(p).unwrap())
        })
        .collect();
    let verdicts = if batch {
        let jobs: Vec<(&[u8], &[u8])> =
            files.iter().map(|(d, s)| (d.as_slice(), s.as_slice())).collect();
        openpgp::verify_detached_batch(&keyring, &jobs, at)
    } else {
        files.iter().map(|(d, s)| openpgp::verify_detached(&keyring, d, s, at)).collect()
    };
    for verdict in verdicts {
        *counts.entry(verdict.status.as_str()).or_insert(0usize) += 1;
    }
    let total = start.elapsed();

    let verdicts: Vec<String> = counts.iter().map(|(s, n)| format!("{s}={n}")).collect();
    println!(
        "{:.1} {:.1} {} {} {}",
        total.as_secs_f64() * 1e3,
        loaded.as_secs_f64() * 1e3,
        key_files.len(),
        sig_files.len(),
        verdicts.join(" ")
    );
}
