//! Adversarial signature fixtures, made with sequoia at test time, with the verdict GnuPG 2.2
//! gives each. Depends on nothing in this crate, so that both the unit tests (`openpgp::tests`)
//! and the gpgme cross-check (`tests/test_openpgp.rs`, through `#[path]`) use the same cases.
#![allow(dead_code)]

use std::io::Write;
use std::time::{Duration, SystemTime};

use sequoia_openpgp as openpgp;

use openpgp::armor;
use openpgp::cert::prelude::*;
use openpgp::crypto::KeyPair;
use openpgp::packet::prelude::*;
use openpgp::packet::signature::SignatureBuilder;
use openpgp::serialize::SerializeInto;
use openpgp::serialize::stream::{LiteralWriter, Message, Signer};
use openpgp::types::{HashAlgorithm, KeyFlags, ReasonForRevocation, SignatureType};
use openpgp::{Cert, Packet};

const DAY: Duration = Duration::from_secs(86_400);

/// One signature file and what gpg says about it.
pub struct Case {
    pub name: &'static str,
    pub data: Vec<u8>,
    pub sig: Vec<u8>,
    /// `SigStatus::as_str` of gpg's verdict.
    pub status: &'static str,
    /// Expected `key_fingerprint` (`None` when there is no signature to name one).
    pub key: Option<String>,
    /// Expected `signing_key_fingerprint`.
    pub signing: Option<String>,
    /// Expected `key_origin`.
    pub origin: Option<&'static str>,
}

/// Key files (origin, armored bytes) and cases, all judged at `at`.
pub struct Fixtures {
    pub at: SystemTime,
    pub key_files: Vec<(&'static str, Vec<u8>)>,
    pub cases: Vec<Case>,
}

fn fpr(key: &Key<impl key::KeyParts, impl key::KeyRole>) -> String {
    key.fingerprint().to_hex()
}

/// A certificate created at `created`, its primary able to sign, optionally expiring and with a
/// signing subkey expiring on its own schedule.
fn cert(
    uid: &str,
    created: SystemTime,
    validity: Option<Duration>,
    subkey: Option<Option<Duration>>,
) -> (Cert, Signature) {
    let mut b = CertBuilder::new()
        .add_userid(uid)
        .set_creation_time(created)
        .set_cipher_suite(CipherSuite::Cv25519)
        .set_primary_key_flags(KeyFlags::empty().set_certification().set_signing())
        .set_validity_period(validity);
    if let Some(sub_validity) = subkey {
        b = b.add_subkey(KeyFlags::empty().set_signing(), sub_validity, None);
    }
    b.generate().expect("generate certificate")
}

fn primary_signer(cert: &Cert) -> KeyPair {
    cert.primary_key().key().clone().parts_into_secret().unwrap().into_keypair().unwrap()
}

fn subkey_signer(cert: &Cert) -> KeyPair {
    let ka = cert.keys().subkeys().secret().next().expect("a subkey");
    ka.key().clone().into_keypair().unwrap()
}

fn subkey_fpr(cert: &Cert) -> String {
    fpr(cert.keys().subkeys().next().expect("a subkey").key())
}

fn public(cert: &Cert) -> Vec<u8> {
    cert.armored().to_vec().unwrap()
}

/// A binary detached signature.
fn detached(signer: &mut KeyPair, data: &[u8], at: SystemTime) -> Vec<u8> {
    detached_with(signer, data, SignatureBuilder::new(SignatureType::Binary), at)
}

fn detached_with(
    signer: &mut KeyPair,
    data: &[u8],
    builder: SignatureBuilder,
    at: SystemTime,
) -> Vec<u8> {
    let sig = builder.set_signature_creation_time(at).unwrap().sign_message(signer, data).unwrap();
    Packet::from(sig).to_vec().unwrap()
}

fn armored(kind: armor::Kind, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = armor::Writer::new(&mut out, kind).unwrap();
    w.write_all(bytes).unwrap();
    w.finalize().unwrap();
    out
}

/// A complete signed message (one-pass signature, literal data, signature), or the same in the
/// cleartext signature framework.
fn inline(signer: KeyPair, data: &[u8], at: SystemTime, cleartext: bool) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let m = Message::new(&mut out);
        let s = Signer::new(m, signer).unwrap().creation_time(at);
        if cleartext {
            let mut w = s.cleartext().build().unwrap();
            w.write_all(data).unwrap();
            w.finalize().unwrap();
        } else {
            let m = s.build().unwrap();
            let mut w = LiteralWriter::new(m).build().unwrap();
            w.write_all(data).unwrap();
            w.finalize().unwrap();
        }
    }
    out
}

/// Builds every case. `at` is the verdict time; everything happens in the days before it.
pub fn build(at: SystemTime) -> Fixtures {
    let mut f = Acc {
        at,
        data: b"out_manifest: |\n  0123abcd  bitcoin-0.20.1.tar.gz\n".to_vec(),
        other: b"out_manifest: |\n  ffffffff  bitcoin-0.20.1.tar.gz\n".to_vec(),
        key_files: Vec::new(),
        cases: Vec::new(),
    };
    let (alice, sig, asc) = alice(&mut f);
    malformed(&mut f, &alice, &sig, &asc);
    inline_messages(&mut f, &alice);
    subkeys_and_unknown_keys(&mut f);
    expiry(&mut f);
    expiry_edges(&mut f);
    revocation(&mut f);
    renewal(&mut f);
    key_usage(&mut f);
    Fixtures { at, key_files: f.key_files, cases: f.cases }
}

/// The fixtures being built: the verdict time, the two data files, and what is made so far.
struct Acc {
    at: SystemTime,
    data: Vec<u8>,
    other: Vec<u8>,
    key_files: Vec<(&'static str, Vec<u8>)>,
    cases: Vec<Case>,
}

impl Acc {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        name: &'static str,
        data: &[u8],
        sig: Vec<u8>,
        status: &'static str,
        key: Option<String>,
        signing: Option<String>,
        origin: Option<&'static str>,
    ) {
        self.cases.push(Case { name, data: data.to_vec(), sig, status, key, signing, origin });
    }
}

/// Alice's primary key signs (no expiry): good signatures in every form, a bad one, an expired one. Returns her certificate, a signature and its armored form.
fn alice(f: &mut Acc) -> (Cert, Vec<u8>, Vec<u8>) {
    let (at, data, other) = (f.at, f.data.clone(), f.other.clone());
    // Alice: primary signs, no expiry.
    let (alice, _) = cert("Alice <alice@example.invalid>", at - 400 * DAY, None, None);
    f.key_files.push(("keys/alice.asc", public(&alice)));
    let a = Some(fpr(alice.primary_key().key()));
    let mut a_signer = primary_signer(&alice);
    let sig = detached(&mut a_signer, &data, at - 10 * DAY);
    f.push("good", &data, sig.clone(), "good", a.clone(), a.clone(), Some("keys/alice.asc"));
    let asc = armored(armor::Kind::Signature, &sig);
    f.push(
        "good armored",
        &data,
        asc.clone(),
        "good",
        a.clone(),
        a.clone(),
        Some("keys/alice.asc"),
    );
    // gpg reads an armored signature whose checksum and footer were cut off.
    let checksum = asc.windows(2).rposition(|w| w == b"\n=").unwrap();
    let cut = asc[..checksum + 1].to_vec();
    f.push(
        "armor without checksum and footer",
        &data,
        cut,
        "good",
        a.clone(),
        a.clone(),
        Some("keys/alice.asc"),
    );
    f.push(
        "bad: other bytes",
        &other,
        sig.clone(),
        "bad",
        a.clone(),
        a.clone(),
        Some("keys/alice.asc"),
    );
    let sha1 = SignatureBuilder::new(SignatureType::Binary).set_hash_algo(HashAlgorithm::SHA1);
    let sig1 = detached_with(&mut a_signer, &data, sha1, at - 10 * DAY);
    f.push("good: SHA-1", &data, sig1, "good", a.clone(), a.clone(), Some("keys/alice.asc"));
    // A text signature is over CRLF line ends; the file on disk has LF.
    let crlf = String::from_utf8(data.clone()).unwrap().replace('\n', "\r\n").into_bytes();
    let text = SignatureBuilder::new(SignatureType::Text);
    let sigt = detached_with(&mut a_signer, &crlf, text, at - 10 * DAY);
    f.push("good: text mode", &data, sigt, "good", a.clone(), a.clone(), Some("keys/alice.asc"));
    let expiring =
        SignatureBuilder::new(SignatureType::Binary).set_signature_validity_period(DAY).unwrap();
    let sige = detached_with(&mut a_signer, &data, expiring, at - 10 * DAY);
    f.push(
        "expired signature",
        &data,
        sige,
        "expired_sig",
        a.clone(),
        a.clone(),
        Some("keys/alice.asc"),
    );
    (alice, sig, asc)
}

/// Truncations, garbage, things that are not detached signatures.
fn malformed(f: &mut Acc, alice: &Cert, sig: &[u8], asc: &[u8]) {
    let data = f.data.clone();
    // Truncations, garbage, things that are not detached signatures.
    for len in [1, 2, 10, sig.len() / 2, sig.len() - 1] {
        let name = Box::leak(format!("truncated to {len} bytes").into_boxed_str());
        f.push(name, &data, sig[..len].to_vec(), "error_rc2", None, None, None);
    }
    let asc_cut = asc[..asc.len() * 2 / 3].to_vec();
    f.push("truncated armor", &data, asc_cut, "error_rc2", None, None, None);
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let garbage: Vec<u8> = (0..512)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Keep the first byte from looking like a packet header by accident.
            (state >> 24) as u8 & 0x7f
        })
        .collect();
    f.push("garbage", &data, garbage, "error_rc2", None, None, None);
    f.push("empty file", &data, Vec::new(), "error_rc2", None, None, None);
    f.push("key block", &data, public(alice), "error_rc2", None, None, None);
    let literal = {
        let mut out = Vec::new();
        let m = Message::new(&mut out);
        let mut w = LiteralWriter::new(m).build().unwrap();
        w.write_all(&data).unwrap();
        w.finalize().unwrap();
        armored(armor::Kind::Message, &out)
    };
    f.push("armored message without signature", &data, literal, "error_nosig", None, None, None);
}

/// Complete signed messages where a detached signature is expected.
fn inline_messages(f: &mut Acc, alice: &Cert) {
    let (at, data, other) = (f.at, f.data.clone(), f.other.clone());
    let a = Some(fpr(alice.primary_key().key()));
    let msg = inline(primary_signer(alice), &data, at - 10 * DAY, false);
    f.push(
        "inline message",
        &data,
        msg.clone(),
        "inline:good",
        a.clone(),
        a.clone(),
        Some("keys/alice.asc"),
    );
    // The data next to it does not matter: the message carries its own.
    f.push(
        "inline message, other data",
        &other,
        msg.clone(),
        "inline:good",
        a.clone(),
        a.clone(),
        Some("keys/alice.asc"),
    );
    let msg_asc = armored(armor::Kind::Message, &msg);
    f.push(
        "armored inline message",
        &data,
        msg_asc,
        "inline:good",
        a.clone(),
        a.clone(),
        Some("keys/alice.asc"),
    );
    let clear = inline(primary_signer(alice), &data, at - 10 * DAY, true);
    f.push(
        "cleartext-signed message",
        &data,
        clear,
        "inline:good",
        a.clone(),
        a.clone(),
        Some("keys/alice.asc"),
    );
}

/// A signing subkey, a second certificate in one key file, and keys nobody has.
fn subkeys_and_unknown_keys(f: &mut Acc) {
    let (at, data) = (f.at, f.data.clone());
    // Bob signs with a subkey; his key file also carries a second certificate (Carol).
    let (bob, _) = cert("Bob <bob@example.invalid>", at - 300 * DAY, None, Some(None));
    let (carol, _) = cert("Carol <carol@example.invalid>", at - 300 * DAY, None, None);
    let mut two = public(&bob);
    two.extend_from_slice(&public(&carol));
    f.key_files.push(("keys/bob-and-carol.asc", two));
    let b = Some(fpr(bob.primary_key().key()));
    let sig = detached(&mut subkey_signer(&bob), &data, at - 10 * DAY);
    f.push(
        "good: signing subkey",
        &data,
        sig,
        "good",
        b.clone(),
        Some(subkey_fpr(&bob)),
        Some("keys/bob-and-carol.asc"),
    );
    let c = Some(fpr(carol.primary_key().key()));
    let sig = detached(&mut primary_signer(&carol), &data, at - 10 * DAY);
    f.push(
        "good: second certificate in a file",
        &data,
        sig,
        "good",
        c.clone(),
        c,
        Some("keys/bob-and-carol.asc"),
    );

    // Mallory is nobody's key.
    let (mallory, _) = cert("Mallory <mallory@example.invalid>", at - 100 * DAY, None, None);
    let mut m_signer = primary_signer(&mallory);
    let sig = detached(&mut m_signer, &data, at - 10 * DAY);
    let m_fpr = fpr(mallory.primary_key().key());
    f.push("unknown key", &data, sig, "no_pubkey", Some(m_fpr), None, None);
    let keyid_only = SignatureBuilder::new(SignatureType::Binary)
        .set_issuer(mallory.primary_key().key().keyid())
        .unwrap();
    let sig = detached_with(&mut m_signer, &data, keyid_only, at - 10 * DAY);
    let m_id = mallory.primary_key().key().keyid().to_hex();
    f.push("unknown key, key id only", &data, sig, "no_pubkey", Some(m_id), None, None);
    let msg = inline(m_signer, &data, at - 10 * DAY, false);
    let m_fpr = fpr(mallory.primary_key().key());
    f.push("inline message, unknown key", &data, msg, "inline:no_pubkey", Some(m_fpr), None, None);
}

/// Expired keys and signatures, and a signature made after its key expired.
fn expiry(f: &mut Acc) {
    let (at, data, other) = (f.at, f.data.clone(), f.other.clone());
    // Dave's whole key expired after he signed.
    let (dave, _) = cert("Dave <dave@example.invalid>", at - 100 * DAY, Some(50 * DAY), None);
    f.key_files.push(("keys/dave.asc", public(&dave)));
    let d = Some(fpr(dave.primary_key().key()));
    let mut d_signer = primary_signer(&dave);
    let sig = detached(&mut d_signer, &data, at - 60 * DAY);
    f.push(
        "expired key",
        &data,
        sig.clone(),
        "expired_key",
        d.clone(),
        d.clone(),
        Some("keys/dave.asc"),
    );
    // The maths come first: a bad signature is bad, whatever the key's state.
    f.push(
        "bad signature, expired key",
        &other,
        sig,
        "bad",
        d.clone(),
        d.clone(),
        Some("keys/dave.asc"),
    );
    // gpg's order of precedence: expired signature, then expired key, then revoked key.
    let expiring =
        SignatureBuilder::new(SignatureType::Binary).set_signature_validity_period(DAY).unwrap();
    let sig = detached_with(&mut d_signer, &data, expiring, at - 60 * DAY);
    f.push(
        "expired signature, expired key",
        &data,
        sig,
        "expired_sig",
        d.clone(),
        d,
        Some("keys/dave.asc"),
    );
    let (ivan, ivan_rev) =
        cert("Ivan <ivan@example.invalid>", at - 100 * DAY, Some(50 * DAY), None);
    let sig = detached(&mut primary_signer(&ivan), &data, at - 60 * DAY);
    let (ivan, _) = ivan.insert_packets(ivan_rev).unwrap();
    f.key_files.push(("keys/ivan.asc", public(&ivan)));
    let i = Some(fpr(ivan.primary_key().key()));
    f.push(
        "revoked and expired key",
        &data,
        sig,
        "expired_key",
        i.clone(),
        i,
        Some("keys/ivan.asc"),
    );

    // Attack: Dave's key, expired 50 days before the verdict time, signs 10 days before it.
    // Dave's signature made after his key expired is expired_key at any verdict time.
    let sig = detached(&mut primary_signer(&dave), &data, at - 10 * DAY);
    f.push(
        "signature made after the key expired",
        &data,
        sig,
        "expired_key",
        Some(fpr(dave.primary_key().key())),
        Some(fpr(dave.primary_key().key())),
        Some("keys/dave.asc"),
    );
}

/// A key expiring just after the verdict time, and a signing subkey expired on its own.
fn expiry_edges(f: &mut Acc) {
    let (at, data) = (f.at, f.data.clone());
    // Judy's key expires half a day after the verdict time: good at `at`, expired by any
    // later clock (the gpgme cross-check thereby shows gpg judges at its faked time).
    let (judy, _) =
        cert("Judy <judy@example.invalid>", at - 100 * DAY, Some(100 * DAY + DAY / 2), None);
    f.key_files.push(("keys/judy.asc", public(&judy)));
    let j = Some(fpr(judy.primary_key().key()));
    let sig = detached(&mut primary_signer(&judy), &data, at - 10 * DAY);
    f.push(
        "key expiring after the verdict time",
        &data,
        sig,
        "good",
        j.clone(),
        j,
        Some("keys/judy.asc"),
    );

    // Erin's signing subkey expired; her primary did not.
    let (erin, _) = cert("Erin <erin@example.invalid>", at - 100 * DAY, None, Some(Some(50 * DAY)));
    f.key_files.push(("keys/erin.asc", public(&erin)));
    let e = Some(fpr(erin.primary_key().key()));
    let sig = detached(&mut subkey_signer(&erin), &data, at - 60 * DAY);
    f.push(
        "expired signing subkey",
        &data,
        sig,
        "expired_key",
        e,
        Some(subkey_fpr(&erin)),
        Some("keys/erin.asc"),
    );
}

/// A revoked key and a revoked signing subkey.
fn revocation(f: &mut Acc) {
    let (at, data) = (f.at, f.data.clone());
    // Frank revoked his key; Grace revoked only her signing subkey.
    let (frank, frank_rev) = cert("Frank <frank@example.invalid>", at - 100 * DAY, None, None);
    let sig = detached(&mut primary_signer(&frank), &data, at - 10 * DAY);
    let (frank, _) = frank.insert_packets(frank_rev).unwrap();
    f.key_files.push(("keys/frank.asc", public(&frank)));
    let fk = Some(fpr(frank.primary_key().key()));
    f.push("revoked key", &data, sig, "revoked_key", fk.clone(), fk, Some("keys/frank.asc"));
    let (grace, _) = cert("Grace <grace@example.invalid>", at - 100 * DAY, None, Some(None));
    let sig = detached(&mut subkey_signer(&grace), &data, at - 10 * DAY);
    let sub = grace.keys().subkeys().next().unwrap().key().clone();
    let rev = SubkeyRevocationBuilder::new()
        .set_reason_for_revocation(ReasonForRevocation::KeyCompromised, b"lost")
        .unwrap()
        .set_signature_creation_time(at - 5 * DAY)
        .unwrap()
        .build(&mut primary_signer(&grace), &grace, &sub, None)
        .unwrap();
    let (grace, _) = grace.insert_packets(rev).unwrap();
    f.key_files.push(("keys/grace.asc", public(&grace)));
    let g = Some(fpr(grace.primary_key().key()));
    f.push(
        "revoked signing subkey",
        &data,
        sig,
        "revoked_key",
        g,
        Some(subkey_fpr(&grace)),
        Some("keys/grace.asc"),
    );
}

/// A key published twice: expired, then extended.
fn renewal(f: &mut Acc) {
    let (at, data) = (f.at, f.data.clone());
    // Heidi published her key twice: it first expired, then she extended it. Both files are in
    // the keyring (old first), and the newest self-signature decides, as after `gpg --import`.
    let (heidi, _) = cert("Heidi <heidi@example.invalid>", at - 400 * DAY, Some(100 * DAY), None);
    let uid = heidi.userids().next().unwrap().userid().clone();
    let old = heidi.userids().next().unwrap().self_signatures().next().unwrap().clone();
    let mut h_signer = primary_signer(&heidi);
    let renewed = SignatureBuilder::from(old)
        .set_signature_creation_time(at - 200 * DAY)
        .unwrap()
        .set_key_validity_period(None)
        .unwrap()
        .sign_userid_binding(&mut h_signer, None, &uid)
        .unwrap();
    // CertBuilder also puts the expiry on a direct-key signature, which both gpg and sequoia
    // honour when the user ID's binding says nothing, so renew that one too.
    let direct = heidi.primary_key().self_signatures().next().unwrap().clone();
    let renewed_direct = SignatureBuilder::from(direct)
        .set_signature_creation_time(at - 200 * DAY)
        .unwrap()
        .set_key_validity_period(None)
        .unwrap()
        .sign_direct_key(&mut h_signer, None)
        .unwrap();
    let (heidi_new, _) = heidi.clone().insert_packets([renewed, renewed_direct]).unwrap();
    f.key_files.push(("keys/heidi-2025.asc", public(&heidi)));
    f.key_files.push(("keys/heidi-2026.asc", public(&heidi_new)));
    let h = Some(fpr(heidi.primary_key().key()));
    let sig = detached(&mut h_signer, &data, at - 10 * DAY);
    f.push("renewed key, two files", &data, sig, "good", h.clone(), h, Some("keys/heidi-2025.asc"));
}

/// Keys that are not for signing data, signing anyway.
fn key_usage(f: &mut Acc) {
    let (at, data) = (f.at, f.data.clone());
    // Attack: Oscar's authentication subkey signs data; it is not a signing key.
    let (oscar, _) = CertBuilder::new()
        .add_userid("Oscar <oscar@example.invalid>")
        .set_creation_time(at - 100 * DAY)
        .set_cipher_suite(CipherSuite::Cv25519)
        .set_primary_key_flags(KeyFlags::empty().set_certification().set_signing())
        .add_subkey(KeyFlags::empty().set_authentication(), None, None)
        .generate()
        .unwrap();
    f.key_files.push(("keys/oscar.asc", public(&oscar)));
    let sig = detached(&mut subkey_signer(&oscar), &data, at - 10 * DAY);
    f.push(
        "signature by an authentication subkey",
        &data,
        sig,
        "error_rc2",
        Some(fpr(oscar.primary_key().key())),
        Some(subkey_fpr(&oscar)),
        Some("keys/oscar.asc"),
    );

    // Peggy's primary key certifies only; it signs data anyway (her signing subkey did not).
    let (peggy, _) = CertBuilder::new()
        .add_userid("Peggy <peggy@example.invalid>")
        .set_creation_time(at - 100 * DAY)
        .set_cipher_suite(CipherSuite::Cv25519)
        .set_primary_key_flags(KeyFlags::empty().set_certification())
        .add_subkey(KeyFlags::empty().set_signing(), None, None)
        .generate()
        .unwrap();
    f.key_files.push(("keys/peggy.asc", public(&peggy)));
    let p = Some(fpr(peggy.primary_key().key()));
    let sig = detached(&mut primary_signer(&peggy), &data, at - 10 * DAY);
    f.push(
        "signature by a certification-only primary key",
        &data,
        sig,
        "error_rc2",
        p.clone(),
        p,
        Some("keys/peggy.asc"),
    );
}
