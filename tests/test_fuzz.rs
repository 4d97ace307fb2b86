//! Bounded, seeded mutation fuzzing of the readers verify trusts: the assert reader, the
//! SHA256SUMS reader, the signature and key readers (through a real signature and key of the
//! corpus) and the descriptor reader (through its public API). Each input is a real file
//! mutated by a deterministic generator; every run is the same. What must hold: nothing panics,
//! every read stays fast, and no mutation yields a false OK (a good verdict GnuPG does not
//! give). The findings of the first fuzzing (bad input items 13 and 14 of issue 11) are kept as
//! regression cases and run first.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use git_gitian::core::assertion::Document;
use git_gitian::core::descriptor::Descriptor;
use git_gitian::core::sums;
use git_gitian::openpgp::{self, Keyring, SigStatus};

use crate::common::gnupg::GnupgHome;
use crate::common::*;

/// Inputs tried per reader (the first fuzzing ran about 35,000 in all, unbounded).
const RUNS: usize = 400;
/// The slowest any one read may be (debug build, loaded machine).
const SLOW: Duration = Duration::from_secs(2);

/// xorshift64*: small, seeded, the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens worth inserting: YAML structure and OpenPGP packet headers.
const TOKENS: &[&[u8]] = &[
    b"\n",
    b"\r",
    b"\r\n",
    b" ",
    b"    ",
    b"\t",
    b"- ",
    b": ",
    b"'",
    b"''",
    b"\"",
    b"\\",
    b"\\ ",
    b"!omap",
    b"!!omap",
    b"! ",
    b"|",
    b"|-",
    b"|+",
    b">",
    b"&a ",
    b"*a",
    b"#",
    b"---",
    b"...",
    b"[",
    b"]",
    b"\0",
    b"\x90\x00",
    b"\x8c\x00",
    b"\xa0\x00",
    b"\xac\x00",
    b"\xc2\x00",
    b"\xff",
    b"\x89\x01\x33",
    b"  ",
    b"0000000000000000000000000000000000000000000000000000000000000000",
];

/// One to four mutations of `input`.
fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(7) {
            0 if !b.is_empty() => {
                let i = at.min(b.len() - 1);
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let i = at.min(b.len() - 1);
                b[i] = rng.next() as u8;
            }
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                b.splice(at..at, t.iter().copied());
            }
            3 => {
                let end = (at + 1 + rng.below(64)).min(b.len());
                b.drain(at.min(end)..end);
            }
            4 => {
                let end = (at + 1 + rng.below(256)).min(b.len());
                let piece = b[at.min(end)..end].to_vec();
                b.splice(at..at, piece);
            }
            5 => b.truncate(at),
            _ => {
                let n = 1 + rng.below(4096);
                b.splice(at..at, std::iter::repeat_n(TOKENS[rng.below(5)][0], n));
            }
        }
    }
    b
}

fn timed<T>(what: &str, input: &[u8], f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(took < SLOW, "{what} took {took:?} on {} bytes", input.len());
    out
}

fn corpus_file(rel: &str) -> Vec<u8> {
    std::fs::read(corpus().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// 2026-11-28T00:00:00Z, the corpus verdict time.
fn at() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_824_000)
}

#[test]
fn test_fuzz_assert_and_sums_readers() {
    // Item 14: `--- !omap` CR, 300,000 spaces, `x` took 12 s in the table (the message echoed
    // the file).
    let mut cases = vec![format!("--- !omap\r{}x", " ".repeat(300_000)).into_bytes()];
    let seeds = [
        "gitian.sigs/0.20.1-linux/laanwj/bitcoin-core-linux-0.20-build.assert",
        "gitian.sigs/0.13.0-linux/laanwj/bitcoin-linux-0.13-build.assert",
        "gitian.sigs/0.13.0-linux/btcdrak/bitcoin-linux-0.13-build.assert",
    ];
    let seeds: Vec<Vec<u8>> = seeds.iter().map(|s| corpus_file(s)).collect();
    let mut rng = Rng(0x1157_2026_0001);
    for i in 0..RUNS {
        cases.push(mutate(&mut rng, &seeds[i % seeds.len()]));
    }
    for case in &cases {
        let text = String::from_utf8_lossy(case);
        if let Err(e) = timed("assert reader", case, || Document::parse(&text)) {
            assert!(e.to_string().len() < 300, "message of {} bytes", e.to_string().len());
        }
    }
    let sums_seed = corpus_file("guix.sigs/25.0/fanquake/all.SHA256SUMS");
    for _ in 0..RUNS {
        let case = mutate(&mut rng, &sums_seed);
        timed("SHA256SUMS reader", &case, || sums::parse(&String::from_utf8_lossy(&case)));
    }
}

#[test]
fn test_fuzz_descriptor_reader() {
    let seed = std::fs::read(root().join("examples/hello/gitian-hello.yml")).unwrap();
    let mut rng = Rng(0x1157_2026_0002);
    for _ in 0..RUNS {
        let case = mutate(&mut rng, &seed);
        let _ = timed("descriptor reader", &case, || Descriptor::parse_bytes("d.yml", &case));
    }
}

/// A GnuPG home (the tests' one fixture) holding one key file, whatever gpg makes of it, gpg's
/// clock frozen at the corpus verdict time.
fn gpg_with_key(key: &[u8]) -> GnupgHome {
    let home = GnupgHome::with_conf("no-autostart\nfaked-system-time 20261128T000000!\n");
    home.import_any(key);
    home
}

/// `gpg --verify`'s status in `home` (as gpg-oracle.sh reads it: the first verdict line) on
/// the pair.
fn gpg_verdict(home: &GnupgHome, data: &[u8], sig: &[u8]) -> SigStatus {
    let dir = tempfile::tempdir().unwrap();
    let (d, s) = (dir.path().join("data"), dir.path().join("sig"));
    std::fs::write(&d, data).unwrap();
    std::fs::write(&s, sig).unwrap();
    let status = home.verify_status(&d, &s);
    let word = status.lines().find_map(|l| {
        let w = l.strip_prefix("[GNUPG:] ")?.split(' ').next()?;
        ["GOODSIG", "EXPKEYSIG", "REVKEYSIG", "EXPSIG", "BADSIG", "ERRSIG"]
            .contains(&w)
            .then_some(w)
    });
    match word {
        Some("GOODSIG") => SigStatus::Good,
        Some("EXPKEYSIG") => SigStatus::ExpiredKey,
        Some("REVKEYSIG") => SigStatus::RevokedKey,
        Some("EXPSIG") => SigStatus::ExpiredSig,
        Some("BADSIG") => SigStatus::Bad,
        _ => SigStatus::Error(status),
    }
}

#[test]
fn test_fuzz_signature_and_key_readers_never_give_a_false_ok() {
    let data = corpus_file("gitian.sigs/0.20.1-linux/laanwj/bitcoin-core-linux-0.20-build.assert");
    let sig =
        corpus_file("gitian.sigs/0.20.1-linux/laanwj/bitcoin-core-linux-0.20-build.assert.sig");
    let key_file: PathBuf =
        corpus().join("keys/gitian-pr621/71A3B16735405025D447E8F274810B012346C9A6.pgp");
    let key = std::fs::read(&key_file).unwrap();
    let keyring = |k: &[u8]| {
        let mut ring = Keyring::new();
        let _ = ring.add_file("k.pgp", k);
        ring
    };
    let ring = keyring(&key);
    // The maths hold (this one key file's version of the key has expired by then).
    let held = |s: &SigStatus| {
        matches!(
            s,
            SigStatus::Good | SigStatus::ExpiredKey | SigStatus::RevokedKey | SigStatus::ExpiredSig
        )
    };
    assert!(held(&openpgp::verify_detached(&ring, &data, &sig, at()).status));
    let mut rng = Rng(0x1157_2026_0003);
    let mut checked_by_gpg = 0;
    let mut refused_by_gpg = 0;

    // Item 13: a key file followed by an empty packet (tags 4, 3, 8, 11) panicked (exit 101).
    let binary = {
        let mut ring = Keyring::new();
        ring.add_file("k.pgp", &key).unwrap();
        GnupgHome::new().dearmor(&key)
    };
    for tail in [[0x90u8, 0x00], [0x8c, 0x00], [0xa0, 0x00], [0xac, 0x00]] {
        let mut k = binary.clone();
        k.extend(tail);
        let v = openpgp::verify_detached(&keyring(&k), &data, &sig, at());
        assert!(!held(&v.status), "{tail:02x?}: {:?}", v.status);
    }

    // Mutated signatures over the right data: a signature that holds must hold for gpg, with
    // the same status.
    for _ in 0..RUNS {
        let case = mutate(&mut rng, &sig);
        let v = timed("signature reader", &case, || {
            openpgp::verify_detached(&ring, &data, &case, at())
        });
        if held(&v.status) && case != sig {
            checked_by_gpg += 1;
            let gpg = gpg_with_key(&key);
            assert_eq!(gpg_verdict(&gpg, &data, &case), v.status, "mutated signature");
        }
    }
    // Mutated data under the right signature (a binary one): never good.
    for _ in 0..RUNS {
        let case = mutate(&mut rng, &data);
        let v = timed("verify", &case, || openpgp::verify_detached(&ring, &case, &sig, at()));
        assert!(case == data || !held(&v.status), "false OK on mutated data: {:?}", v.status);
    }
    // Mutated key files: a signature that holds must hold for gpg holding that key file, with
    // the same status.
    for i in 0..RUNS {
        let case = mutate(&mut rng, if i % 2 == 0 { &key } else { &binary });
        let v = timed("key reader", &case, || {
            openpgp::verify_detached(&keyring(&case), &data, &sig, at())
        });
        if held(&v.status) && case != key && case != binary {
            checked_by_gpg += 1;
            let gpg = gpg_with_key(&case);
            if !gpg.has_keys() {
                // gpg refuses a keyring with a damaged packet whole; this reader keeps the
                // certificate it could read, whose key and self-signatures still verified.
                refused_by_gpg += 1;
                continue;
            }
            assert_eq!(gpg_verdict(&gpg, &data, &sig), v.status, "mutated key");
        }
    }
    eprintln!(
        "fuzz: {checked_by_gpg} signatures that held on mutated input, each as gpg says; \
         {refused_by_gpg} key files gpg refused whole"
    );
}

#[test]
fn test_fuzz_regressions_through_verify() {
    // Item 14 through the whole command, table format: 12 s before the message was cut.
    let tmp = tempfile::tempdir().unwrap();
    let signer = tmp.path().join("sigs/1.0/alice");
    std::fs::create_dir_all(&signer).unwrap();
    let huge = format!("--- !omap\r{}x", " ".repeat(300_000));
    std::fs::write(signer.join("demo-build.assert"), &huge).unwrap();
    std::fs::write(signer.join("demo-build.assert.sig"), b"\x89\x00").unwrap();
    let start = Instant::now();
    let out = run_in(tmp.path(), &["verify", "-d", "sigs", "--no-cache"]);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(stdout(&out).len() < 20_000, "{} bytes of table", stdout(&out).len());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // Item 13 through the whole command: the key file is skipped with a warning, the rest is
    // judged (exit 1, not 101).
    let keys = tmp.path().join("sigs/builder-keys");
    std::fs::create_dir_all(&keys).unwrap();
    let key = corpus().join("keys/gitian-pr621/71A3B16735405025D447E8F274810B012346C9A6.pgp");
    let mut binary = GnupgHome::new().dearmor(&std::fs::read(key).unwrap());
    binary.extend([0x90, 0x00]);
    std::fs::write(keys.join("laanwj.gpg"), binary).unwrap();
    let out = run_in(tmp.path(), &["verify", "-d", "sigs", "--no-cache", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("laanwj.gpg"), "{}", stdout(&out));
}
