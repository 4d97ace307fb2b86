//! The gzip member header (RFC 1952 §2.3): what it says, how two differ, and its normal form.

use super::{Clamp, format_time};

const FTEXT: u8 = 1;
const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

/// The OS byte a normalised header carries: 3 (Unix), what `gzip -n` writes on Linux.
pub const NORMAL_OS: u8 = 3;

/// A parsed gzip header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// FLG.
    pub flags: u8,
    /// MTIME (0: none stored).
    pub mtime: u32,
    /// XFL (2: slowest compression, 4: fastest).
    pub xfl: u8,
    /// OS.
    pub os: u8,
    /// FEXTRA payload.
    pub extra: Option<Vec<u8>>,
    /// FNAME (original file name, without its NUL).
    pub name: Option<Vec<u8>>,
    /// FCOMMENT.
    pub comment: Option<Vec<u8>>,
    /// Length of the header in bytes (where the deflate stream starts).
    pub len: usize,
}

/// Why bytes are not a gzip header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// More bytes are needed.
    #[error("gzip header is cut short")]
    Short,
    /// Not gzip, or not deflate.
    #[error("not a gzip stream with deflate compression")]
    NotGzip,
}

fn zstring(b: &[u8], at: usize) -> Result<(Vec<u8>, usize), HeaderError> {
    let end = b[at.min(b.len())..].iter().position(|&c| c == 0).ok_or(HeaderError::Short)?;
    Ok((b[at..at + end].to_vec(), at + end + 1))
}

/// Parses the header at the start of `b`.
pub fn parse(b: &[u8]) -> Result<Header, HeaderError> {
    if b.len() < 10 {
        return Err(if b.len() >= 2 && b[..2] != [0x1f, 0x8b] {
            HeaderError::NotGzip
        } else {
            HeaderError::Short
        });
    }
    if b[..3] != [0x1f, 0x8b, 8] {
        return Err(HeaderError::NotGzip);
    }
    let flags = b[3];
    let mut h = Header {
        flags,
        mtime: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        xfl: b[8],
        os: b[9],
        ..Header::default()
    };
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let n = usize::from(u16::from_le_bytes([
            *b.get(at).ok_or(HeaderError::Short)?,
            *b.get(at + 1).ok_or(HeaderError::Short)?,
        ]));
        h.extra = Some(b.get(at + 2..at + 2 + n).ok_or(HeaderError::Short)?.to_vec());
        at += 2 + n;
    }
    if flags & FNAME != 0 {
        let (s, next) = zstring(b, at)?;
        h.name = Some(s);
        at = next;
    }
    if flags & FCOMMENT != 0 {
        let (s, next) = zstring(b, at)?;
        h.comment = Some(s);
        at = next;
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    if at > b.len() {
        return Err(HeaderError::Short);
    }
    h.len = at;
    Ok(h)
}

fn show(v: &Option<Vec<u8>>) -> String {
    v.as_ref().map_or_else(|| "(none)".into(), |s| String::from_utf8_lossy(s).into_owned())
}

fn time(t: u32) -> String {
    if t == 0 { "(none)".into() } else { format_time(i64::from(t)) }
}

fn xfl(x: u8) -> String {
    match x {
        2 => "2 (best compression)".into(),
        4 => "4 (fastest)".into(),
        x => x.to_string(),
    }
}

/// The fields that differ between two headers: (field, a, b).
pub fn differences(a: &Header, b: &Header) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    let mut field = |name, x: String, y: String| {
        if x != y {
            out.push((name, x, y));
        }
    };
    field("name", show(&a.name), show(&b.name));
    field("mtime", time(a.mtime), time(b.mtime));
    field("os", a.os.to_string(), b.os.to_string());
    field("xfl", xfl(a.xfl), xfl(b.xfl));
    field("comment", show(&a.comment), show(&b.comment));
    field("extra", format!("{:?}", a.extra), format!("{:?}", b.extra));
    field("header crc", (a.flags & FHCRC != 0).to_string(), (b.flags & FHCRC != 0).to_string());
    out
}

/// The normal form of `h`: no stored name and no header CRC, MTIME capped (0 stays 0: it
/// means "no time"), the fixed OS byte; XFL, FEXTRA and FCOMMENT kept. Returns its bytes.
pub fn normalized(h: &Header, clamp: Clamp) -> Vec<u8> {
    let mtime = if h.mtime == 0 {
        0
    } else {
        clamp.apply(i64::from(h.mtime)).clamp(0, u32::MAX.into()) as u32
    };
    let flags = h.flags & (FTEXT | FEXTRA | FCOMMENT);
    let mut out = vec![0x1f, 0x8b, 8, flags];
    out.extend_from_slice(&mtime.to_le_bytes());
    out.extend_from_slice(&[h.xfl, NORMAL_OS]);
    if let Some(extra) = &h.extra {
        out.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        out.extend_from_slice(extra);
    }
    if let Some(comment) = &h.comment {
        out.extend_from_slice(comment);
        out.push(0);
    }
    out
}

/// A header for a stream this tool compresses itself: no name, the given MTIME, XFL for the
/// deflate level as zlib reports it, the fixed OS byte.
pub fn fresh(mtime: u32, level: u32) -> Vec<u8> {
    let xfl = match level {
        9 => 2,
        0 | 1 => 4,
        _ => 0,
    };
    let mut out = vec![0x1f, 0x8b, 8, 0];
    out.extend_from_slice(&mtime.to_le_bytes());
    out.extend_from_slice(&[xfl, NORMAL_OS]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_name() -> Vec<u8> {
        let mut h = vec![0x1f, 0x8b, 8, FNAME | FHCRC, 0x10, 0, 0, 0x60, 2, 0];
        h.extend_from_slice(b"a.tar\0\xab\xcd");
        h
    }

    #[test]
    fn parses_name_and_crc() {
        let h = parse(&with_name()).unwrap();
        assert_eq!(h.name.as_deref(), Some(&b"a.tar"[..]));
        assert_eq!(h.len, 18);
        assert_eq!(h.mtime, 0x6000_0010);
        assert_eq!(parse(&with_name()[..12]), Err(HeaderError::Short));
    }

    #[test]
    fn normal_form_drops_name_and_caps_time() {
        let h = parse(&with_name()).unwrap();
        let n = normalized(&h, Clamp { time: 1000, overwrite: false });
        assert_eq!(n, [0x1f, 0x8b, 8, 0, 0xe8, 3, 0, 0, 2, NORMAL_OS]);
        let zero = Header { mtime: 0, ..h };
        assert_eq!(&normalized(&zero, Clamp { time: 1000, overwrite: true })[4..8], &[0; 4]);
    }

    #[test]
    fn differences_name_fields() {
        let a = parse(&with_name()).unwrap();
        let b = Header { name: None, os: 11, ..a.clone() };
        let d: Vec<_> = differences(&a, &b).into_iter().map(|x| x.0).collect();
        assert_eq!(d, ["name", "os"]);
    }

    #[test]
    fn every_optional_field_in_order() {
        let mut b = vec![0x1f, 0x8b, 8, FEXTRA | FNAME | FCOMMENT | FHCRC, 0, 0, 0, 0, 0, 255];
        b.extend_from_slice(&[3, 0, b'x', b'y', b'z']);
        b.extend_from_slice(b"n\0c\0\x12\x34deflate");
        let h = parse(&b).unwrap();
        assert_eq!(h.extra.as_deref(), Some(&b"xyz"[..]));
        assert_eq!((h.name.as_deref(), h.comment.as_deref()), (Some(&b"n"[..]), Some(&b"c"[..])));
        assert_eq!((h.len, h.os, h.flags), (21, 255, FEXTRA | FNAME | FCOMMENT | FHCRC));
        // Without FHCRC the header ends after the name.
        let plain = [0x1f, 0x8b, 8, FNAME, 0, 0, 0, 0, 0, 3, b'a', 0, 0xaa];
        assert_eq!(parse(&plain).unwrap().len, 12);
        assert_eq!(parse(&b[..12]), Err(HeaderError::Short));
        assert_eq!(parse(&[0x1f, 0x8b, 8, FHCRC, 0, 0, 0, 0, 0, 3]), Err(HeaderError::Short));
        assert_eq!(parse(b"PK\x03\x04"), Err(HeaderError::NotGzip));
        assert_eq!(parse(&[0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 3]), Err(HeaderError::NotGzip));
        assert_eq!(parse(&[0x1f]), Err(HeaderError::Short));
    }

    #[test]
    fn fresh_headers_say_the_level() {
        assert_eq!(fresh(1000, 9), [0x1f, 0x8b, 8, 0, 0xe8, 3, 0, 0, 2, NORMAL_OS]);
        assert_eq!(fresh(0, 1)[8], 4);
        assert_eq!(fresh(0, 0)[8], 4);
        assert_eq!(fresh(0, 6)[8], 0);
        assert_eq!(parse(&fresh(7, 6)).unwrap().mtime, 7);
    }

    #[test]
    fn times_in_differences_say_none_for_zero() {
        assert_eq!(time(0), "(none)");
        assert_eq!(time(1_700_000_000), "2023-11-14 22:13:20");
    }

    #[test]
    fn differences_say_the_compression_level_and_the_header_crc() {
        let a = parse(&with_name()).unwrap();
        let b = Header { xfl: 4, flags: FNAME, ..a.clone() };
        assert_eq!(
            differences(&a, &b),
            [
                ("xfl", "2 (best compression)".to_string(), "4 (fastest)".to_string()),
                ("header crc", "true".to_string(), "false".to_string()),
            ]
        );
        let c = Header { xfl: 0, flags: FNAME | FHCRC | FTEXT, ..a.clone() };
        assert_eq!(
            differences(&b, &c),
            [
                ("xfl", "4 (fastest)".to_string(), "0".to_string()),
                ("header crc", "false".to_string(), "true".to_string()),
            ]
        );
        let plain = Header { flags: 0, ..a.clone() };
        let crc = Header { flags: FHCRC, ..a };
        assert_eq!(differences(&plain, &crc)[0].0, "header crc");
    }

    #[test]
    fn normal_form_keeps_text_extra_and_comment_flags() {
        let h = Header {
            flags: FTEXT | FHCRC | FEXTRA | FNAME | FCOMMENT,
            mtime: 5,
            xfl: 4,
            os: 11,
            extra: Some(b"ab".to_vec()),
            name: Some(b"n".to_vec()),
            comment: Some(b"c".to_vec()),
            len: 0,
        };
        let n = normalized(&h, Clamp { time: 1000, overwrite: false });
        let flags = FTEXT | FEXTRA | FCOMMENT;
        assert_eq!(n, [0x1f, 0x8b, 8, flags, 5, 0, 0, 0, 4, NORMAL_OS, 2, 0, b'a', b'b', b'c', 0]);
        let back = parse(&n).unwrap();
        assert_eq!((back.extra, back.comment, back.name), (h.extra, h.comment, None));
    }
}
