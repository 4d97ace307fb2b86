//! Unix ar member headers (60 bytes: name, mtime, uid, gid, mode, size, "`\n"), as binutils,
//! GNU (`/`, `//`, `/N` long names) and BSD (`#1/N`) write them.

use super::Clamp;

/// The archive's magic line.
pub const MAGIC: &[u8] = b"!<arch>\n";
/// Size of a member header.
pub const HEADER: usize = 60;

const NAME: std::ops::Range<usize> = 0..16;
const MTIME: std::ops::Range<usize> = 16..28;
const UID: std::ops::Range<usize> = 28..34;
const GID: std::ops::Range<usize> = 34..40;
const MODE: std::ops::Range<usize> = 40..48;
const SIZE: std::ops::Range<usize> = 48..58;

/// A parsed member header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The raw name field, trimmed of trailing spaces.
    pub name: Vec<u8>,
    /// Modification time.
    pub mtime: i64,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Mode (octal in the file).
    pub mode: u32,
    /// Bytes of data (a BSD long name is part of them).
    pub size: u64,
}

fn text(field: &[u8]) -> &str {
    std::str::from_utf8(field).unwrap_or("").trim_end_matches(' ')
}

/// Parses a 60-byte header; None when the terminator or a number is wrong.
pub fn parse(h: &[u8]) -> Option<Header> {
    if h.len() < HEADER || &h[58..60] != b"`\n" {
        return None;
    }
    let dec = |r: std::ops::Range<usize>| -> Option<u64> {
        let t = text(&h[r]);
        if t.is_empty() { Some(0) } else { t.parse().ok() }
    };
    let mode = text(&h[MODE]);
    Some(Header {
        name: h[NAME][..h[NAME].iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1)].to_vec(),
        mtime: dec(MTIME)? as i64,
        uid: dec(UID)?,
        gid: dec(GID)?,
        mode: if mode.is_empty() { 0 } else { u32::from_str_radix(mode, 8).ok()? },
        size: dec(SIZE)?,
    })
}

/// Whether the member is one of the GNU tables (`/` symbols, `//` long names) rather than a file.
pub fn is_table(name: &[u8]) -> bool {
    matches!(name, b"/" | b"//" | b"/SYM64/" | b"__.SYMDEF" | b"__.SYMDEF SORTED")
}

/// The member's name: GNU `name/` and `/N` (offset into the `//` table), BSD `#1/N` (the first
/// N data bytes, given as `bsd_name`).
pub fn member_name(raw: &[u8], long_names: &[u8], bsd_name: Option<&[u8]>) -> Vec<u8> {
    if let Some(n) = bsd_name {
        return n.iter().copied().take_while(|&b| b != 0).collect();
    }
    if raw.len() > 1 && raw[0] == b'/' && raw[1..].iter().all(u8::is_ascii_digit) {
        let off: usize = text(&raw[1..]).parse().unwrap_or(usize::MAX);
        if let Some(rest) = long_names.get(off..) {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            return rest[..end].strip_suffix(b"/").unwrap_or(&rest[..end]).to_vec();
        }
    }
    raw.strip_suffix(b"/").unwrap_or(raw).to_vec()
}

/// Length of a BSD `#1/N` name stored at the start of the data, if the name field says so.
pub fn bsd_name_len(raw: &[u8]) -> Option<usize> {
    text(raw.strip_prefix(b"#1/")?).parse().ok()
}

fn put(field: &mut [u8], value: &str) {
    field.fill(b' ');
    field[..value.len()].copy_from_slice(value.as_bytes());
}

/// Normalises a member header in place: mtime capped, uid and gid 0, mode 644 (755 when the
/// owner may execute). The symbol table keeps its mode; the long-name table (whose fields are
/// blank) is left alone. Returns what changed.
pub fn normalize_header(h: &mut [u8], clamp: Clamp) -> Vec<&'static str> {
    let Some(parsed) = parse(h) else { return Vec::new() };
    if parsed.name == b"//" {
        return Vec::new();
    }
    let before = h[..HEADER].to_vec();
    put(&mut h[MTIME], &clamp.apply(parsed.mtime).max(0).to_string());
    put(&mut h[UID], "0");
    put(&mut h[GID], "0");
    if !is_table(&parsed.name) {
        let mode = if parsed.mode & 0o100 != 0 { 0o100_755 } else { 0o100_644 };
        put(&mut h[MODE], &format!("{mode:o}"));
    }
    [("mtime", MTIME), ("uid", UID), ("gid", GID), ("mode", MODE)]
        .into_iter()
        .filter(|(_, r)| before[r.clone()] != h[r.clone()])
        .map(|(n, _)| n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, mtime: u64, mode: &str, size: u64) -> Vec<u8> {
        format!("{name:<16}{mtime:<12}{:<6}{:<6}{mode:<8}{size:<10}`\n", 1000, 1000).into_bytes()
    }

    #[test]
    fn parses_and_normalizes() {
        let mut h = header("a.o/", 1_700_000_000, "100755", 12);
        let p = parse(&h).unwrap();
        assert_eq!((p.uid, p.mode, p.size), (1000, 0o100_755, 12));
        let changed = normalize_header(&mut h, Clamp { time: 0, overwrite: false });
        assert_eq!(changed, ["mtime", "uid", "gid"]);
        let n = parse(&h).unwrap();
        assert_eq!((n.mtime, n.uid, n.gid, n.mode, n.size), (0, 0, 0, 0o100_755, 12));
        assert_eq!(&h[..16], b"a.o/            ");
    }

    #[test]
    fn long_names() {
        assert_eq!(member_name(b"/5", b"abc/\nlong-name.o/\n", None), b"long-name.o");
        assert_eq!(member_name(b"a.o/", b"", None), b"a.o");
        assert_eq!(bsd_name_len(b"#1/20"), Some(20));
        assert!(is_table(b"/"));
    }

    /// The header binutils' `ar rcU` wrote for `b.txt` (mode 600, 6 bytes, root's).
    const BINUTILS: &[u8] = b"b.txt/          1893553446  0     0     100600  6         `\nhello\n";

    #[test]
    fn parses_a_binutils_header_followed_by_its_data() {
        let p = parse(BINUTILS).unwrap();
        assert_eq!(p.name, b"b.txt/");
        assert_eq!((p.mtime, p.uid, p.gid, p.mode, p.size), (1_893_553_446, 0, 0, 0o100_600, 6));
        assert_eq!(parse(&BINUTILS[..59]), None);
        assert_eq!(parse(b"short"), None);
        let mut h = BINUTILS[..HEADER].to_vec();
        let changed = normalize_header(&mut h, Clamp { time: 1_000_000_000, overwrite: false });
        assert_eq!(changed, ["mtime", "mode"]);
        assert_eq!(&h[16..48], b"1000000000  0     0     100644  ");
    }

    #[test]
    fn only_a_slash_number_name_is_read_from_the_long_name_table() {
        let table = b"abc/\nlong-name.o/\n";
        assert_eq!(member_name(b"/0", table, None), b"abc");
        // A short name of digits (BSD style, no trailing slash) is the name itself.
        assert_eq!(member_name(b"a5", table, None), b"a5");
        assert_eq!(member_name(b"15", table, None), b"15");
        // An offset past the table's end, a bare "/" and an empty name: no table lookup.
        assert_eq!(member_name(b"/99", table, None), b"/99");
        assert_eq!(member_name(b"/", table, None), b"");
        assert_eq!(member_name(b"", table, None), b"");
    }

    #[test]
    fn bsd_names_end_at_their_first_nul() {
        assert_eq!(member_name(b"#1/8", b"", Some(b"abc.o\0\0\0")), b"abc.o");
        assert_eq!(member_name(b"#1/5", b"", Some(b"abc.o")), b"abc.o");
    }
}
