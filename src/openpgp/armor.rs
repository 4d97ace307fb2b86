//! A fast path for ASCII-armored key files: plain base64 decoding and the CRC-24 check.
//!
//! Key files are most of the bytes a verification reads (1.7 MB for the corpus against 0.1 MB of
//! signatures), and sequoia's general armor reader, which copes with every malformation,
//! spends more time on them than everything else does. Anything this decoder does not find
//! perfectly regular returns `None`, and the caller falls back to sequoia's reader.

/// Decodes one armored block (starting at its `-----BEGIN PGP ` line) into binary OpenPGP.
pub(super) fn decode(block: &[u8]) -> Option<Vec<u8>> {
    let mut lines = block.split(|&b| b == b'\n').map(trim_end);
    let begin = lines.next()?;
    if !begin.starts_with(b"-----BEGIN PGP ") || !begin.ends_with(b"-----") {
        return None;
    }
    let mut in_headers = true;
    let mut checksum = None;
    let mut text = Vec::with_capacity(block.len());
    for line in lines {
        if line.starts_with(b"-----END PGP ") {
            return finish(&text, checksum);
        }
        if in_headers {
            if line.is_empty() {
                in_headers = false;
                continue;
            }
            if line.contains(&b':') {
                continue;
            }
            // No blank line after the headers (or no headers): this is data already.
            in_headers = false;
        }
        if line.is_empty() {
            continue;
        }
        if checksum.is_some() {
            return None; // data after the checksum line
        }
        if line.len() == 5 && line[0] == b'=' {
            checksum = Some(line[1..].to_vec());
            continue;
        }
        text.extend_from_slice(line);
    }
    None // no footer
}

fn finish(text: &[u8], checksum: Option<Vec<u8>>) -> Option<Vec<u8>> {
    let data = base64(text)?;
    if let Some(checksum) = checksum {
        let want = base64(&checksum)?;
        let crc = crc24(&data);
        if want != [(crc >> 16) as u8, (crc >> 8) as u8, crc as u8] {
            return None;
        }
    }
    Some(data)
}

fn trim_end(line: &[u8]) -> &[u8] {
    let end = line.iter().rposition(|b| !b" \t\r".contains(b)).map_or(0, |p| p + 1);
    &line[..end]
}

/// Standard base64 with `=` padding only at the very end; `None` on anything else.
fn base64(text: &[u8]) -> Option<Vec<u8>> {
    const INVALID: u8 = 0xff;
    const TABLE: [u8; 256] = {
        let mut t = [INVALID; 256];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut i = 0;
        while i < 64 {
            t[alphabet[i] as usize] = i as u8;
            i += 1;
        }
        t
    };
    let body = match text.iter().position(|&b| b == b'=') {
        Some(p) if text[p..].iter().all(|&b| b == b'=') && text.len() - p <= 2 => &text[..p],
        Some(_) => return None,
        None => text,
    };
    // gpg pads; anything else goes the slow way.
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    let mut chunks = body.chunks_exact(4);
    for c in &mut chunks {
        let (a, b, cc, d) = (
            TABLE[c[0] as usize],
            TABLE[c[1] as usize],
            TABLE[c[2] as usize],
            TABLE[c[3] as usize],
        );
        if [a, b, cc, d].contains(&INVALID) {
            return None;
        }
        let n = (u32::from(a) << 18) | (u32::from(b) << 12) | (u32::from(cc) << 6) | u32::from(d);
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut n = 0u32;
        for (i, &ch) in rest.iter().enumerate() {
            let v = TABLE[ch as usize];
            if v == INVALID {
                return None;
            }
            n |= u32::from(v) << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if rest.len() == 3 {
            out.push((n >> 8) as u8);
        }
    }
    Some(out)
}

/// The OpenPGP armor checksum (RFC 9580 §6.1), four bytes at a time ("slicing by 4": a
/// byte-at-a-time loop is a chain of dependent lookups, and key files are megabytes).
fn crc24(data: &[u8]) -> u32 {
    const POLY: u32 = 0x186_4CFB;
    const MASK: u32 = 0xFF_FFFF;
    /// `T[0][v]`: the checksum contribution of byte `v`; `T[k][v]`: the same followed by `k`
    /// zero bytes.
    const T: [[u32; 256]; 4] = {
        let mut t = [[0u32; 256]; 4];
        let mut i = 0;
        while i < 256 {
            let mut crc = (i as u32) << 16;
            let mut bit = 0;
            while bit < 8 {
                crc <<= 1;
                if crc & 0x100_0000 != 0 {
                    crc ^= POLY;
                }
                bit += 1;
            }
            t[0][i] = crc & MASK;
            i += 1;
        }
        let mut k = 1;
        while k < 4 {
            let mut i = 0;
            while i < 256 {
                let prev = t[k - 1][i];
                t[k][i] = ((prev << 8) & MASK) ^ t[0][(prev >> 16) as usize];
                i += 1;
            }
            k += 1;
        }
        t
    };
    let mut crc: u32 = 0xB7_04CE;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        let w = u32::from_be_bytes([w[0], w[1], w[2], w[3]]) ^ (crc << 8);
        crc = T[3][(w >> 24) as usize]
            ^ T[2][((w >> 16) & 0xff) as usize]
            ^ T[1][((w >> 8) & 0xff) as usize]
            ^ T[0][(w & 0xff) as usize];
    }
    for &byte in words.remainder() {
        crc = ((crc << 8) & MASK) ^ T[0][(((crc >> 16) as u8) ^ byte) as usize];
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_armor_base64() {
        assert_eq!(base64(b"aGVsbG8="), Some(b"hello".to_vec()));
        assert_eq!(base64(b"aGVsbG8h"), Some(b"hello!".to_vec()));
        assert_eq!(base64(b"aGVsbA=="), Some(b"hell".to_vec()));
        assert_eq!(base64(b""), Some(Vec::new()));
        for bad in [&b"aGVsb"[..], b"aGV=bG8=", b"aGVsbG8*", b"a===", b"aGVsbG8"] {
            assert_eq!(base64(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn test_armor_crc24() {
        // Reference values from the bitwise definition.
        fn slow(data: &[u8]) -> u32 {
            let mut crc: u32 = 0xB7_04CE;
            for &byte in data {
                crc ^= u32::from(byte) << 16;
                for _ in 0..8 {
                    crc <<= 1;
                    if crc & 0x100_0000 != 0 {
                        crc ^= 0x186_4CFB;
                    }
                }
            }
            crc & 0xFF_FFFF
        }
        let long: Vec<u8> = (0..1031u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for data in [&b""[..], b"h", b"he", b"hel", b"hell", b"hello", &[0xff; 300], &long] {
            assert_eq!(crc24(data), slow(data), "{} bytes", data.len());
        }
        assert_eq!(crc24(b""), 0xB7_04CE);
    }

    #[test]
    fn test_armor_block() {
        // `printf hello | gpg --enarmor` body with its checksum.
        let block = b"-----BEGIN PGP ARMORED FILE-----\nComment: x\n\naGVsbG8=\n=XVH2\n-----END PGP ARMORED FILE-----\n";
        let crc = crc24(b"hello");
        let enc = [(crc >> 16) as u8, (crc >> 8) as u8, crc as u8];
        let good = String::from_utf8_lossy(block).replace("XVH2", &encode(&enc));
        assert_eq!(decode(good.as_bytes()), Some(b"hello".to_vec()));
        // A wrong checksum, a missing footer, junk in the data: leave it to sequoia.
        let wrong = good.replace("aGVsbG8=", "aGVsbF8=");
        assert_eq!(decode(wrong.as_bytes()), None);
        let cut = &good[..good.find("-----END").unwrap()];
        assert_eq!(decode(cut.as_bytes()), None);
        let junk = good.replace("aGVsbG8=", "aGV*bG8=");
        assert_eq!(decode(junk.as_bytes()), None);
        // No checksum and no blank line after the (absent) headers: still fine.
        let bare = "-----BEGIN PGP ARMORED FILE-----\naGVsbG8=\n-----END PGP ARMORED FILE-----";
        assert_eq!(decode(bare.as_bytes()), Some(b"hello".to_vec()));
    }

    fn encode(bytes: &[u8; 3]) -> String {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let n = (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2]);
        (0..4).map(|i| alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char).collect()
    }
}
