//! Unit tests: adversarial signatures made with sequoia at test time (`fixtures`), limits, and
//! key-file handling. The same fixtures are cross-checked against gpgme in tests/test_openpgp.rs.

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::packet::signature::SignatureBuilder;
use openpgp::serialize::SerializeInto;
use openpgp::serialize::stream::{LiteralWriter, Message, Signer};
use openpgp::types::{HashAlgorithm, SignatureType};

use super::fixtures;
use super::*;

/// 2026-11-28T00:00:00Z, the corpus verdict time.
fn at() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_824_000)
}

fn keyring_of(files: &[(&str, Vec<u8>)]) -> Keyring {
    let mut keyring = Keyring::new();
    for (origin, bytes) in files {
        keyring.add_file(origin, bytes).unwrap();
    }
    keyring
}

fn signer_cert() -> (Cert, openpgp::crypto::KeyPair) {
    let (cert, _) = CertBuilder::new()
        .add_userid("T <t@example.invalid>")
        .set_creation_time(at() - Duration::from_secs(86_400 * 30))
        .set_primary_key_flags(openpgp::types::KeyFlags::empty().set_certification().set_signing())
        .generate()
        .unwrap();
    let pair =
        cert.primary_key().key().clone().parts_into_secret().unwrap().into_keypair().unwrap();
    (cert, pair)
}

fn sign(pair: &mut openpgp::crypto::KeyPair, data: &[u8]) -> Vec<u8> {
    let sig = SignatureBuilder::new(SignatureType::Binary)
        .set_signature_creation_time(at() - Duration::from_secs(3600))
        .unwrap()
        .sign_message(pair, data)
        .unwrap();
    openpgp::Packet::from(sig).to_vec().unwrap()
}

#[test]
fn test_openpgp_adversarial_fixtures() {
    let fx = fixtures::build(at());
    let keyring = keyring_of(&fx.key_files);
    // Heidi's two files are one certificate; Bob's file holds two.
    assert_eq!(keyring.len(), fx.key_files.len());
    let mut wrong = Vec::new();
    for case in &fx.cases {
        let v = verify_detached(&keyring, &case.data, &case.sig, fx.at);
        let got = (v.status.as_str(), v.key_fingerprint.clone(), v.signing_key_fingerprint.clone());
        let want = (case.status.to_string(), case.key.clone(), case.signing.clone());
        if got != want || v.key_origin.as_deref() != case.origin {
            wrong.push(format!(
                "{}:\n  want {want:?} from {:?}\n  got  {got:?} from {:?} ({:?})",
                case.name, case.origin, v.key_origin, v.status
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn test_openpgp_batch_gives_the_same_verdicts_in_order() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Keyring>();
    let fx = fixtures::build(at());
    let keyring = keyring_of(&fx.key_files);
    let jobs: Vec<(&[u8], &[u8])> =
        fx.cases.iter().map(|c| (c.data.as_slice(), c.sig.as_slice())).collect();
    let batch = verify_detached_batch(&keyring, &jobs, fx.at);
    assert_eq!(batch.len(), jobs.len());
    for (case, verdict) in fx.cases.iter().zip(&batch) {
        assert_eq!(verdict.status.as_str(), case.status, "{}", case.name);
        assert_eq!(verdict.key_fingerprint, case.key, "{}", case.name);
    }
    assert!(verify_detached_batch(&keyring, &[], fx.at).is_empty());
}

#[test]
fn test_openpgp_verdict_time_decides_expiry() {
    let fx = fixtures::build(at());
    let keyring = keyring_of(&fx.key_files);
    let expired = fx.cases.iter().find(|c| c.name == "expired signing subkey").unwrap();
    // Signed 60 days before `at`, the subkey lived 50 days from 100 days before: alive 55
    // days before `at`, dead 45 days before.
    let before = at() - Duration::from_secs(86_400 * 55);
    let after = at() - Duration::from_secs(86_400 * 45);
    assert_eq!(
        verify_detached(&keyring, &expired.data, &expired.sig, before).status,
        SigStatus::Good
    );
    assert_eq!(
        verify_detached(&keyring, &expired.data, &expired.sig, after).status,
        SigStatus::ExpiredKey
    );
    let judy = fx.cases.iter().find(|c| c.name == "key expiring after the verdict time").unwrap();
    let day_after = at() + Duration::from_secs(86_400);
    assert_eq!(verify_detached(&keyring, &judy.data, &judy.sig, at()).status, SigStatus::Good);
    assert_eq!(
        verify_detached(&keyring, &judy.data, &judy.sig, day_after).status,
        SigStatus::ExpiredKey
    );
}

#[test]
fn test_openpgp_a_signature_made_after_its_key_expired_never_counts() {
    // Attack 6 of issue 11: Dave's key lived from 100 to 50 days before `at`; a signature dated
    // 10 days before `at` (after the expiry) was good when judged at a time the key was alive.
    let fx = fixtures::build(at());
    let keyring = keyring_of(&fx.key_files);
    let late = fx.cases.iter().find(|c| c.name == "signature made after the key expired").unwrap();
    for days_before in [70, 60, 20, 0] {
        let when = at() - Duration::from_secs(86_400 * days_before);
        let v = verify_detached(&keyring, &late.data, &late.sig, when);
        assert_eq!(v.status, SigStatus::ExpiredKey, "judged {days_before} days before");
    }
    // Made while the key was alive, judged before the expiry: good, as gpg says.
    let early = fx.cases.iter().find(|c| c.name == "expired key").unwrap();
    let when = at() - Duration::from_secs(86_400 * 55);
    assert_eq!(verify_detached(&keyring, &early.data, &early.sig, when).status, SigStatus::Good);
}

#[test]
fn test_openpgp_a_key_bound_as_someone_elses_authentication_subkey_is_not_captured() {
    // Attack 5 of issue 11: Trudy's certificate binds Alice's public key as an authentication
    // subkey (no secret key is needed for that) and is read before Alice's. Alice's signatures
    // were attributed to Trudy. gpg fails them (error); ours stay Alice's.
    use openpgp::types::KeyFlags;
    let (alice, mut pair) = signer_cert();
    let (trudy, _) = CertBuilder::new()
        .add_userid("Trudy <trudy@example.invalid>")
        .set_creation_time(at() - Duration::from_secs(86_400 * 60))
        .set_primary_key_flags(KeyFlags::empty().set_certification().set_signing())
        .generate()
        .unwrap();
    let mut trudy_signer =
        trudy.primary_key().key().clone().parts_into_secret().unwrap().into_keypair().unwrap();
    let stolen = alice.primary_key().key().clone().role_into_subordinate();
    let binding = SignatureBuilder::new(SignatureType::SubkeyBinding)
        .set_signature_creation_time(at() - Duration::from_secs(86_400 * 20))
        .unwrap()
        .set_key_flags(KeyFlags::empty().set_authentication())
        .unwrap()
        .sign_subkey_binding(&mut trudy_signer, None, &stolen)
        .unwrap();
    let (trudy, _) = trudy
        .insert_packets([openpgp::Packet::from(stolen), openpgp::Packet::from(binding)])
        .unwrap();
    let keyring = keyring_of(&[
        ("keys/0-trudy.asc", trudy.armored().to_vec().unwrap()),
        ("keys/alice.asc", alice.armored().to_vec().unwrap()),
    ]);
    let alice_fpr = alice.fingerprint().to_hex();
    let data = b"payload\n";
    let sig = sign(&mut pair, data);
    let v = verify_detached(&keyring, data, &sig, at());
    assert_eq!(v.status, SigStatus::Good);
    assert_eq!(v.key_fingerprint.as_deref(), Some(alice_fpr.as_str()));
    assert_eq!(v.key_origin.as_deref(), Some("keys/alice.asc"));
    // Bad bytes: Alice's failure, not Trudy's.
    let v = verify_detached(&keyring, b"other\n", &sig, at());
    assert_eq!(v.status, SigStatus::Bad);
    assert_eq!(v.key_fingerprint.as_deref(), Some(alice_fpr.as_str()));
    // Only Trudy's certificate holds the key: it is not a signing key there.
    let only = keyring_of(&[("keys/0-trudy.asc", trudy.armored().to_vec().unwrap())]);
    let v = verify_detached(&only, data, &sig, at());
    assert!(matches!(&v.status, SigStatus::Error(e) if e.contains("not a signing key")), "{v:?}");
}

#[test]
fn test_openpgp_no_prefix_of_a_signature_is_good_and_nothing_panics() {
    let (cert, mut pair) = signer_cert();
    let keyring = keyring_of(&[("t.asc", cert.armored().to_vec().unwrap())]);
    let data = b"payload\n";
    let sig = sign(&mut pair, data);
    let mut asc = Vec::new();
    {
        let mut w = openpgp::armor::Writer::new(&mut asc, openpgp::armor::Kind::Signature).unwrap();
        w.write_all(&sig).unwrap();
        w.finalize().unwrap();
    }
    // Like gpg, a signature survives the loss of the armor's checksum and footer; it must not
    // survive the loss of any byte of the packet itself.
    let checksum = asc.windows(2).rposition(|w| w == b"\n=").unwrap();
    let last_data = asc[..checksum].iter().rposition(|&b| b != b'=').unwrap();
    // Between the two (a last base64 group without its padding) either answer will do.
    for (full, bad_below, good_from) in
        [(&sig, sig.len(), sig.len()), (&asc, last_data, checksum + 1)]
    {
        for len in (0..bad_below).chain(good_from..=full.len()) {
            let v = verify_detached(&keyring, data, &full[..len], at());
            assert_eq!(v.status.is_good(), len >= good_from, "prefix of {len} bytes: {v:?}");
        }
    }
    // Flipped bits: anything but a panic (flips in the unhashed area may stay good).
    for i in 0..sig.len() * 8 {
        let mut bad = sig.clone();
        bad[i / 8] ^= 1 << (i % 8);
        let _ = verify_detached(&keyring, data, &bad, at());
    }
}

#[test]
fn test_openpgp_garbage_is_an_error_not_a_panic() {
    let keyring = Keyring::new();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for round in 0..200 {
        let bytes: Vec<u8> = (0..(round * 7 % 300))
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 32) as u8
            })
            .collect();
        let v = verify_detached(&keyring, b"x", &bytes, at());
        assert!(!v.status.is_good(), "{v:?}");
    }
    for bytes in [
        &b""[..],
        b"   \n",
        b"-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n",
    ] {
        let v = verify_detached(&keyring, b"x", bytes, at());
        assert!(matches!(v.status, SigStatus::Error(_) | SigStatus::NoSig), "{v:?}");
        assert_eq!(v.key_fingerprint, None);
    }
}

#[test]
fn test_openpgp_inline_message_larger_than_the_limit_is_an_error() {
    let (cert, pair) = signer_cert();
    let keyring = keyring_of(&[("t.asc", cert.armored().to_vec().unwrap())]);
    let big = vec![b'a'; message::MAX_LITERAL as usize + 1];
    let mut out = Vec::new();
    {
        let m = Message::new(&mut out);
        let m = Signer::new(m, pair).unwrap().build().unwrap();
        let m = openpgp::serialize::stream::Compressor::new(m).build().unwrap();
        let mut w = LiteralWriter::new(m).build().unwrap();
        w.write_all(&big).unwrap();
        w.finalize().unwrap();
    }
    assert!(out.len() < 64 << 10, "the compressed message should be small, is {}", out.len());
    let v = verify_detached(&keyring, b"", &out, at());
    match v.status {
        SigStatus::Error(reason) => assert!(reason.contains("larger than"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn test_openpgp_many_signatures_all_decide_and_all_are_returned() {
    let (cert, mut pair) = signer_cert();
    let keyring = keyring_of(&[("t.asc", cert.armored().to_vec().unwrap())]);
    let data = b"payload\n";
    let good = sign(&mut pair, data);
    let bad = sign(&mut pair, b"something else");
    let both = [bad.clone(), good.clone()].concat();
    // A bad signature anywhere in the file fails it, as in gpg: a good one first hides nothing.
    let multi = SigStatus::Multi(vec![SigStatus::Bad, SigStatus::Good]);
    assert_eq!(verify_detached(&keyring, data, &both, at()).status, multi);
    let good_first = [good.clone(), bad.clone()].concat();
    let v = verify_detached(&keyring, data, &good_first, at());
    assert_eq!(v.status.as_str(), "multi:good+bad");
    assert!(!v.status.is_good());
    let twice = [good.clone(), good.clone()].concat();
    assert!(verify_detached(&keyring, data, &twice, at()).status.is_good());
    let all: Vec<_> =
        verify_detached_all(&keyring, data, &both, at()).into_iter().map(|v| v.status).collect();
    assert_eq!(all, [SigStatus::Bad, SigStatus::Good]);
    // 200,000 signature packets (30 MB): only the first 64 are read.
    let many = good.repeat(200_000);
    let start = std::time::Instant::now();
    assert_eq!(verify_detached_all(&keyring, data, &many, at()).len(), 64);
    assert_eq!(
        verify_detached(&keyring, data, &many, at()).status,
        SigStatus::Multi(vec![SigStatus::Good; 64])
    );
    assert!(start.elapsed() < Duration::from_secs(20), "{:?}", start.elapsed());
    // Thousands of packets that are not signatures: refused, not read to the end.
    let marker = openpgp::Packet::Marker(Default::default()).to_vec().unwrap();
    let markers = [marker.repeat(1_000_000), good.clone()].concat();
    let v = verify_detached(&keyring, data, &markers, at());
    assert!(matches!(v.status, SigStatus::Error(ref e) if e.contains("packets")), "{v:?}");
}

#[test]
fn test_openpgp_md5_is_refused_as_gpg_does() {
    let (cert, mut pair) = signer_cert();
    let keyring = keyring_of(&[("t.asc", cert.armored().to_vec().unwrap())]);
    let data = b"payload\n";
    let Ok(sig) = SignatureBuilder::new(SignatureType::Binary)
        .set_hash_algo(HashAlgorithm::MD5)
        .sign_message(&mut pair, data)
    else {
        return; // this nettle build cannot make MD5 signatures at all
    };
    let sig = openpgp::Packet::from(sig).to_vec().unwrap();
    let v = verify_detached(&keyring, data, &sig, at());
    assert!(matches!(v.status, SigStatus::Error(_)), "{v:?}");
}

#[test]
fn test_openpgp_key_files() {
    let (a, _) = signer_cert();
    let (b, _) = signer_cert();
    let mut keyring = Keyring::new();
    // Two armored blocks with chatter around them, as people paste keys.
    let mut text = b"laanwj's key, 2026:\n".to_vec();
    text.extend(a.armored().to_vec().unwrap());
    text.extend(b"\nand the other one\n");
    text.extend(b.armored().to_vec().unwrap());
    assert_eq!(keyring.add_file("two.asc", &text).unwrap(), 2);
    // Binary, both again: merged, not duplicated.
    let mut bin = a.to_vec().unwrap();
    bin.extend(b.to_vec().unwrap());
    assert_eq!(keyring.add_file("two.gpg", &bin).unwrap(), 2);
    assert_eq!(keyring.len(), 2);
    assert!(!keyring.is_empty());
    assert_eq!(keyring.origin_of(&a.fingerprint().to_hex()), Some("two.asc"));
    // A secret key file contributes its public half only.
    let (c, _) = signer_cert();
    keyring.add_file("secret.asc", &c.as_tsk().armored().to_vec().unwrap()).unwrap();
    assert!(keyring.entries().iter().all(|e| !e.cert().unwrap().is_tsk()));

    for (bytes, name) in
        [(&b"not a key"[..], "junk.asc"), (b"", "empty.gpg"), (&[0x99, 0x01][..], "cut.gpg")]
    {
        let err = keyring.add_file(name, bytes).unwrap_err();
        assert!(err.to_string().starts_with(&format!("{name}: ")), "{err}");
    }
    assert_eq!(keyring.len(), 3);
}

#[test]
fn test_openpgp_text_canonicalisation() {
    type Canonicaliser = fn(&[u8], &mut dyn FnMut(&[u8]));
    fn collect(f: Canonicaliser, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        f(data, &mut |chunk: &[u8]| out.extend_from_slice(chunk));
        out
    }
    let canonical: Canonicaliser = |d, out| text_canonical(d, out);
    let pgp2: Canonicaliser = |d, out| text_canonical_pgp2(d, out);
    assert_eq!(collect(canonical, b"a\nb\r\nc"), b"a\r\nb\r\nc");
    assert_eq!(collect(canonical, b"a\r\r\n\n"), b"a\r\n\r\n");
    assert_eq!(collect(pgp2, b"a\rb\nc\r\n"), b"a\r\nb\r\nc\r\n");
    // Chunk boundaries of the streaming version do not change the output.
    let long: Vec<u8> = b"line\r\nx\ry\n".repeat(3000);
    let once: Vec<u8> = String::from_utf8(long.clone()).unwrap().replace('\r', "").into_bytes();
    assert_eq!(
        collect(pgp2, &once),
        String::from_utf8(once.clone()).unwrap().replace('\n', "\r\n").into_bytes()
    );
    // Each repetition gains a LF after its lone CR and a CR before its bare LF.
    assert_eq!(collect(pgp2, &long).len(), long.len() + 2 * 3000);
}

#[test]
fn test_openpgp_status_vocabulary() {
    let inline = SigStatus::Inline(Box::new(SigStatus::ExpiredKey));
    assert_eq!(inline.as_str(), "inline:expired_key");
    assert!(!SigStatus::Inline(Box::new(SigStatus::Good)).is_good());
    assert_eq!(SigStatus::Error("x".into()).as_str(), "error_rc2");
    assert_eq!(SigStatus::NoSig.as_str(), "error_nosig");
    assert!(SigStatus::Good.is_good());
    for s in [SigStatus::ExpiredKey, SigStatus::RevokedKey, SigStatus::ExpiredSig, SigStatus::Bad] {
        assert!(!s.is_good());
    }
}

#[test]
fn test_openpgp_key_file_then_a_foreign_empty_packet_is_refused_not_a_panic() {
    // Bad input item 13: `90 00` (an empty one-pass signature packet) after a key, and empty
    // packets of tags 3, 8 and 11 (session key, compressed, literal), old and new format,
    // made the library's certificate splitter index a packet past the certificate's bytes.
    let (cert, mut pair) = signer_cert();
    let key = cert.to_vec().unwrap();
    let data = b"signed bytes\n";
    let sig = sign(&mut pair, data);
    let mut refused = 0;
    for tail in [[0x90u8, 0x00], [0x8c, 0x00], [0xa0, 0x00], [0xac, 0x00], [0xc4, 0x00]] {
        let mut file = key.clone();
        file.extend(tail);
        let mut keyring = Keyring::new();
        let err = keyring.add_file("builder-keys/x.gpg", &file).unwrap_err();
        assert!(
            err.to_string().starts_with("builder-keys/x.gpg: a packet that has no place"),
            "{err}"
        );
        refused += 1;
        // The rest is judged: the same key from another file still verifies.
        keyring.add_file("builder-keys/y.gpg", &key).unwrap();
        assert_eq!(verify_detached(&keyring, data, &sig, at()).status, SigStatus::Good);
    }
    assert_eq!(refused, 5);
    // No trailing byte pair (any first byte, a few lengths) makes key loading panic.
    for b in 0u8..=255 {
        for tail in [vec![b], vec![b, 0], vec![b, 0, 0], vec![b, 1, 0]] {
            let mut file = key.clone();
            file.extend(&tail);
            let mut keyring = Keyring::new();
            let _ = keyring.add_file("k.gpg", &file);
            let _ = verify_detached(&keyring, data, &sig, at());
        }
    }
}
