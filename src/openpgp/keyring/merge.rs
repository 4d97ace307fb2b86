//! One certificate from all its versions: packets gathered per component, each distinct
//! signature once; what never affects a verdict (user attributes, third-party
//! certifications) dropped.

use std::collections::HashMap;

use sequoia_openpgp as openpgp;

use openpgp::cert::raw::{RawCert, RawPacket};
use openpgp::packet::Tag;
use openpgp::types::SignatureType;
use openpgp::{Cert, KeyID, Packet};

/// Parses and merges every version of a certificate, public parts only.
///
/// The versions' packets are gathered per component first (the primary key, each user ID,
/// each subkey), each distinct signature once, so a certificate held in several files is
/// parsed once rather than once per file and then merged. Certificates with secret key
/// packets take the general way: each version parsed, stripped and merged.
pub(super) fn build(versions: &[&RawCert<'static>], own: &[KeyID]) -> Option<Cert> {
    let public_only = versions
        .iter()
        .all(|raw| raw.packets().all(|p| !matches!(p.tag(), Tag::SecretKey | Tag::SecretSubkey)));
    if public_only && let Some(cert) = build_merged(versions, own) {
        return Some(cert);
    }
    let mut merged: Option<Cert> = None;
    for raw in versions {
        let Ok(cert) = Cert::from_packets(relevant_packets(raw).into_iter()) else { continue };
        let cert = cert.strip_secret_key_material();
        merged = Some(match merged {
            None => cert,
            // Only fails for different fingerprints, which the index rules out.
            Some(m) => m.merge_public(cert).ok()?,
        });
    }
    merged
}

/// One certificate from the union of its versions' components and signatures; `None` when a
/// packet does not parse (the general way then says which versions are usable).
/// `own` holds the key ids of every key of every version.
fn build_merged(versions: &[&RawCert<'static>], own: &[KeyID]) -> Option<Cert> {
    use std::collections::HashSet;
    // Components in first-seen order, with their signatures.
    let mut components: Vec<(&[u8], Vec<RawPacket<'_>>)> = Vec::new();
    let mut index: HashMap<(Tag, &[u8]), usize> = HashMap::new();
    let mut seen_sigs: HashSet<(usize, &[u8])> = HashSet::new();
    let mut packets: Vec<RawPacket<'_>> = Vec::new();
    for raw in versions {
        let whole = raw.as_bytes();
        let mut current: Option<usize> = None;
        for p in raw.packets() {
            // The packet's body as a slice of the certificate's bytes (lives as long as they).
            let body = p.body();
            let body: &[u8] = whole
                .get((body.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?..)?
                .get(..body.len())?;
            match p.tag() {
                Tag::Signature => {
                    let Some(c) = current else { continue };
                    if !seen_sigs.insert((c, body)) {
                        continue;
                    }
                    // Third-party certifications never affect a verdict: dropped unparsed
                    // when the raw bytes tell (v4), after parsing otherwise.
                    if raw_certification_issuers(body).is_some_and(|issuers| {
                        !issuers.is_empty() && !issuers.iter().any(|i| own.contains(i))
                    }) {
                        continue;
                    }
                    components[c].1.push(p);
                }
                Tag::UserAttribute => current = None,
                Tag::PublicKey | Tag::UserID | Tag::PublicSubkey => {
                    let key = (p.tag(), body);
                    let c = *index.entry(key).or_insert_with(|| {
                        components.push((body, Vec::new()));
                        packets.push(p.clone());
                        components.len() - 1
                    });
                    current = Some(c);
                }
                // Trust packets, markers and anything unknown: not part of a certificate's
                // meaning.
                _ => {}
            }
        }
    }
    let mut out: Vec<Packet> = Vec::with_capacity(components.len() * 4);
    for (i, (_, sigs)) in components.iter().enumerate() {
        out.push(Packet::try_from(packets[i].clone()).ok()?);
        for sig in sigs {
            let packet = Packet::try_from(sig.clone()).ok()?;
            if let Packet::Signature(s) = &packet
                && is_third_party_certification(s, own)
            {
                continue;
            }
            out.push(packet);
        }
    }
    if !matches!(out.first(), Some(Packet::PublicKey(_))) {
        return None;
    }
    Cert::from_packets(out.into_iter()).ok()
}

/// For a version 4 certification of a user ID, the key ids its subpackets name as issuer
/// (issuer and issuer fingerprint, hashed or not); an empty list for any other signature type;
/// `None` when the bytes are not a well-formed v4 signature.
fn raw_certification_issuers(body: &[u8]) -> Option<Vec<KeyID>> {
    if body.first() != Some(&4) {
        return None;
    }
    let typ = *body.get(1)?;
    if !(0x10..=0x13).contains(&typ) {
        return Some(Vec::new());
    }
    let mut issuers = Vec::new();
    let mut pos = 4;
    for _ in 0..2 {
        let len = usize::from(u16::from_be_bytes([*body.get(pos)?, *body.get(pos + 1)?]));
        let area = body.get(pos + 2..pos + 2 + len)?;
        let mut i = 0;
        while i < area.len() {
            let (sub_len, header) = match area[i] {
                o @ 0..=191 => (usize::from(o), 1),
                o @ 192..=254 => {
                    (((usize::from(o) - 192) << 8) + usize::from(*area.get(i + 1)?) + 192, 2)
                }
                255 => {
                    let b = area.get(i + 1..i + 5)?;
                    (u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize, 5)
                }
            };
            let sub = area.get(i + header..i + header + sub_len)?;
            let (&t, data) = sub.split_first()?;
            match t & 0x7f {
                16 if data.len() == 8 => issuers.push(KeyID::from_bytes(data)),
                33 if data.len() == 21 && data[0] == 4 => {
                    issuers.push(KeyID::from_bytes(&data[13..21]));
                }
                _ => {}
            }
            i += header + sub_len;
        }
        pos += 2 + len;
    }
    Some(issuers)
}

/// The packets of `raw` that can affect a verdict: all but user attributes (with their
/// signatures) and certifications of user IDs by other keys.
fn relevant_packets(raw: &RawCert<'_>) -> Vec<Packet> {
    let own: Vec<KeyID> = raw.keys().map(|k| k.keyid()).collect();
    let mut out = Vec::with_capacity(raw.count());
    let mut in_attribute = false;
    for p in raw.packets() {
        match p.tag() {
            Tag::UserAttribute => {
                in_attribute = true;
                continue;
            }
            Tag::Signature if in_attribute => continue,
            Tag::Signature => {}
            _ => in_attribute = false,
        }
        let Ok(packet) = Packet::try_from(p) else { continue };
        if let Packet::Signature(sig) = &packet
            && is_third_party_certification(sig, &own)
        {
            continue;
        }
        out.push(packet);
    }
    out
}

fn is_third_party_certification(sig: &openpgp::packet::Signature, own: &[KeyID]) -> bool {
    use SignatureType::*;
    matches!(
        sig.typ(),
        GenericCertification | PersonaCertification | CasualCertification | PositiveCertification
    ) && {
        let issuers = sig.get_issuers();
        !issuers.is_empty() && !issuers.iter().any(|h| own.contains(&KeyID::from(h)))
    }
}
