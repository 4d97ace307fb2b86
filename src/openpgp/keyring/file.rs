//! A key file read: armored or binary blocks split into raw certificates and loose
//! revocation signatures, refusing what would make the library panic.

use std::borrow::Cow;
use std::io::Read;

use sequoia_openpgp as openpgp;

use openpgp::cert::raw::{RawCert, RawCertParser};
use openpgp::packet::Signature;
use openpgp::parse::Parse;
use openpgp::types::SignatureType;
use openpgp::{Fingerprint, KeyHandle, Packet};

use super::super::armor;

/// A key file's certificates, loose revocations and first problem.
type ParsedFile = (Vec<RawCert<'static>>, Vec<Signature>, Option<String>);

/// Every certificate of a key file, in file order, the key revocations found outside any
/// certificate (a revocation certificate, as `gpg --gen-revoke` writes it, appended or alone),
/// and the first problem met (unreadable blocks or certificates among readable ones are
/// skipped, as gpg's import skips them).
///
/// Refused whole (`Err`) when the library's certificate splitter indexed a packet that is not
/// in the certificate it returns: a packet that has no place in a certificate (an empty
/// one-pass, compressed, literal or session-key packet, bad input item 13) right after one. Its
/// packet list then points past the certificate's bytes, and reading the packets panics inside
/// the library; one contributed key file must not stop every verify of the ledger.
pub(super) fn parse_file(bytes: &[u8]) -> Result<ParsedFile, String> {
    let mut certs = Vec::new();
    let mut revocations = Vec::new();
    let mut first_error = None;
    for block in key_blocks(bytes) {
        let binary = match dearmor(block) {
            Ok(binary) => binary,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        if starts_with_signature(&binary) {
            revocations.extend(loose_revocations(&binary));
            continue;
        }
        let parser = match RawCertParser::from_bytes(&*binary) {
            Ok(parser) => parser,
            Err(e) => {
                first_error.get_or_insert_with(|| e.to_string());
                continue;
            }
        };
        let mut last_ok = false;
        for raw in parser {
            match raw {
                Ok(raw) => {
                    certs.push(raw.into_owned());
                    last_ok = true;
                }
                Err(e) => {
                    // The splitter stops a certificate at a foreign packet with an error.
                    if last_ok && certs.last().is_some_and(|raw| !packets_in_bounds(raw)) {
                        return Err(format!(
                            "a packet that has no place in a certificate follows one: {}",
                            lowercase_first(&e.to_string())
                        ));
                    }
                    last_ok = false;
                    first_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
    Ok((certs, revocations, first_error))
}

/// Whether every packet `raw` lists lies inside its bytes: its bytes split again hold as many.
fn packets_in_bounds(raw: &RawCert<'_>) -> bool {
    RawCertParser::from_bytes(raw.as_bytes())
        .ok()
        .and_then(|mut parser| parser.next())
        .and_then(Result::ok)
        .is_some_and(|again| again.count() == raw.count())
}

/// Whether binary OpenPGP begins with a signature packet (a block that is no certificate).
fn starts_with_signature(binary: &[u8]) -> bool {
    match binary.first() {
        // New format: the tag is the low six bits; old format: bits 5-2.
        Some(&b) if b & 0xc0 == 0xc0 => b & 0x3f == 2,
        Some(&b) if b & 0x80 != 0 => (b >> 2) & 0x0f == 2,
        _ => false,
    }
}

/// The key revocation signatures of a block of loose signatures (at most 64 read).
fn loose_revocations(binary: &[u8]) -> Vec<Signature> {
    use openpgp::parse::{PacketParserResult, Parse as _};
    let mut out = Vec::new();
    let Ok(mut ppr) = openpgp::parse::PacketParser::from_bytes(binary) else { return out };
    for _ in 0..64 {
        let PacketParserResult::Some(pp) = ppr else { break };
        let Ok((packet, next)) = pp.next() else { break };
        if let Packet::Signature(sig) = packet
            && sig.typ() == SignatureType::KeyRevocation
        {
            out.push(sig);
        }
        ppr = next;
    }
    out
}

/// Whether `sig` claims to be issued by the primary key `primary` (checked later, with the
/// certificate, as every self-signature is).
pub(super) fn revokes(sig: &Signature, primary: &Fingerprint) -> bool {
    sig.get_issuers().iter().any(|h| h.aliases(KeyHandle::from(primary)))
}

/// The binary OpenPGP of one key block: armor decoded (fast path, else sequoia's tolerant
/// reader), binary passed through.
fn dearmor(block: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    if !block.starts_with(b"-----BEGIN PGP ") {
        return Ok(Cow::Borrowed(block));
    }
    if let Some(binary) = armor::decode(block) {
        return Ok(Cow::Owned(binary));
    }
    let mut reader =
        openpgp::armor::Reader::from_bytes(block, openpgp::armor::ReaderMode::Tolerant(None));
    let mut binary = Vec::new();
    reader.read_to_end(&mut binary).map_err(|e| format!("bad armor: {e}"))?;
    Ok(Cow::Owned(binary))
}

/// Splits a key file into parseable pieces: a binary file is one piece; an armored one is cut
/// at every armor header, so that files with several armored blocks (as gpg imports them) yield
/// every certificate, and text before a header is skipped.
fn key_blocks(bytes: &[u8]) -> Vec<&[u8]> {
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        return vec![bytes];
    }
    const HEADER: &[u8] = b"-----BEGIN PGP ";
    let mut starts: Vec<usize> = (0..bytes.len())
        .filter(|&i| {
            bytes[i..].starts_with(HEADER)
                && (i == 0 || bytes[i - 1] == b'\n' || bytes[i - 1] == b'\r')
        })
        .collect();
    if starts.is_empty() {
        return vec![bytes];
    }
    // Each block ends where the next begins: the armor reader would read on into it.
    starts.push(bytes.len());
    starts.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

pub(super) fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
