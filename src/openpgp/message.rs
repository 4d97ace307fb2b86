//! Reads a "signature" file into what it really holds: detached signatures, a complete signed
//! message (the data inside), or nothing usable. Never panics and never reads more than a bounded
//! amount of decompressed data, whatever the bytes.

use std::io::Read;

use sequoia_openpgp as openpgp;

use openpgp::Packet;
use openpgp::armor::ReaderMode;
use openpgp::packet::Signature;
use openpgp::parse::{Dearmor, PacketParser, PacketParserBuilder, PacketParserResult, Parse};

/// More signatures than this in one detached signature file are not read (a ledger entry has
/// one), so that a huge file of signatures costs no more than a small one.
const MAX_SIGS: usize = 64;

/// A signature file with more packets than this is not a signature anyone made.
const MAX_PACKETS: usize = 4096;

/// The largest literal body of an inline signed message we read (decompression bombs stop here;
/// a ledger's signed files are a few KiB). Small in unit tests, so the limit itself is tested.
pub(super) const MAX_LITERAL: u64 = if cfg!(test) { 1 << 20 } else { 64 << 20 };

/// What a signature file holds.
#[derive(Debug)]
pub(super) enum SigFile {
    /// Detached signatures over some other data, in file order.
    Detached(Vec<Signature>),
    /// A complete signed message. Signatures announced by one-pass-signature packets or a
    /// cleartext frame carry the digest the parser computed over `body`; the others (old-style
    /// signature-then-literal messages) are checked against `body`.
    Inline { sigs: Vec<Signature>, body: Vec<u8> },
    /// Readable OpenPGP (or an empty armor frame) without any signature.
    NoSig,
    /// Not a signature: unreadable, truncated, a key block, encrypted data, ...
    Error(String),
}

/// `bytes` without surrounding white space when it is exactly one `SIGNATURE` armor block.
fn single_signature_block(bytes: &[u8]) -> Option<&[u8]> {
    const BEGIN: &[u8] = b"-----BEGIN PGP SIGNATURE-----";
    const ANY_BEGIN: &[u8] = b"-----BEGIN PGP ";
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace())? + 1;
    let block = &bytes[start..end];
    let begins = block.windows(ANY_BEGIN.len()).filter(|w| *w == ANY_BEGIN).count();
    (block.starts_with(BEGIN) && begins == 1 && block.ends_with(b"-----END PGP SIGNATURE-----"))
        .then_some(block)
}

/// Parses `bytes` (armored or binary).
pub(super) fn parse(bytes: &[u8]) -> SigFile {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return SigFile::Error("empty signature file".into());
    }
    let fast = single_signature_block(bytes).and_then(super::armor::decode);
    let mut ppr = match packet_parser(bytes, fast.as_deref()) {
        Ok(ppr) => ppr,
        Err(e) => return SigFile::Error(format!("no valid OpenPGP data: {e}")),
    };

    let mut sigs = Vec::new();
    let mut body: Option<Vec<u8>> = None;
    let mut one_pass = 0usize;
    let mut packets = 0usize;
    while let PacketParserResult::Some(mut pp) = ppr {
        packets += 1;
        if packets > MAX_PACKETS {
            return SigFile::Error(format!("more than {MAX_PACKETS} OpenPGP packets"));
        }
        if sigs.len() == MAX_SIGS && complete_sigs(&sigs, &body, one_pass) {
            break;
        }
        match &pp.packet {
            Packet::Literal(_) => {
                if body.is_some() {
                    return SigFile::Error("more than one literal data packet".into());
                }
                match read_literal(&mut pp) {
                    Ok(data) => body = Some(data),
                    Err(e) => return SigFile::Error(e),
                }
            }
            Packet::OnePassSig(_) => one_pass += 1,
            Packet::Signature(_) | Packet::CompressedData(_) | Packet::Marker(_) => {}
            Packet::PublicKey(_)
            | Packet::PublicSubkey(_)
            | Packet::SecretKey(_)
            | Packet::SecretSubkey(_)
            | Packet::UserID(_)
            | Packet::UserAttribute(_) => {
                return SigFile::Error("the file holds a key, not a signature".into());
            }
            Packet::Unknown(_) if complete_sigs(&sigs, &body, one_pass) => break,
            Packet::Unknown(u) => {
                return SigFile::Error(format!("unreadable {} packet: {}", u.tag(), u.error()));
            }
            other => {
                return SigFile::Error(format!("unexpected {} packet", other.tag()));
            }
        }
        // A signature packet is complete once the parser shows it; keep it before reading on,
        // which is where damage after it surfaces.
        if let Packet::Signature(sig) = &pp.packet
            && sigs.len() < MAX_SIGS
        {
            sigs.push(sig.clone());
        }
        match pp.recurse() {
            Ok((_, next)) => ppr = next,
            Err(_) if complete_sigs(&sigs, &body, one_pass) => break,
            Err(e) => return SigFile::Error(format!("malformed OpenPGP data: {e}")),
        }
    }

    match body {
        Some(_) if sigs.is_empty() => SigFile::NoSig,
        Some(body) => SigFile::Inline { sigs, body },
        None if one_pass > 0 => SigFile::Error("one-pass signature without signed data".into()),
        None if sigs.is_empty() => SigFile::NoSig,
        None => SigFile::Detached(sigs),
    }
}

/// The packet parser for `bytes`. The common case, one regular armored signature block and
/// nothing else, is decoded by the fast armor reader (sequoia's tolerant one is most of the
/// cost of a small file); anything else takes sequoia's reader.
/// `fast` is that block decoded, when it is one.
fn packet_parser<'a>(
    bytes: &'a [u8],
    fast: Option<&'a [u8]>,
) -> openpgp::Result<PacketParserResult<'a>> {
    match fast {
        Some(binary) => PacketParserBuilder::from_bytes(binary)
            .and_then(|b| b.dearmor(Dearmor::Disabled).build()),
        None => PacketParserBuilder::from_bytes(bytes).and_then(|b| {
            // A cleartext-signed message must come out as the signed message it is; without
            // the transformation the armor reader would skip to its signature and call it
            // detached.
            b.dearmor(Dearmor::Auto(ReaderMode::VeryTolerant)).process_csf_message(true).build()
        }),
    }
}

/// The signed message of a literal data packet, at most [`MAX_LITERAL`] bytes.
fn read_literal(pp: &mut PacketParser<'_>) -> Result<Vec<u8>, String> {
    let mut data = Vec::new();
    if let Err(e) = pp.take(MAX_LITERAL + 1).read_to_end(&mut data) {
        return Err(format!("reading the signed message: {e}"));
    }
    if data.len() as u64 > MAX_LITERAL {
        return Err(format!("signed message larger than {} MiB", MAX_LITERAL >> 20));
    }
    Ok(data)
}

/// Whether what was read so far is a complete set of detached signatures, so that damage after
/// it (a missing armor footer or checksum, trailing junk, a truncated extra packet) leaves them
/// standing. gpg reports the signatures it read before the damage the same way.
fn complete_sigs(sigs: &[Signature], body: &Option<Vec<u8>>, one_pass: usize) -> bool {
    !sigs.is_empty() && body.is_none() && one_pass == 0
}
