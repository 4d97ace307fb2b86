//! The tar header block (POSIX ustar, GNU and v7) and PAX records: reading the fields the
//! normaliser touches, and rewriting them in place so member data is never re-encoded.

use super::Clamp;

/// Size of a tar block.
pub const BLOCK: usize = 512;
/// GNU tar's default record: archives end padded to a multiple of it.
pub const RECORD: usize = 20 * BLOCK;

const MTIME: std::ops::Range<usize> = 136..148;
const UID: std::ops::Range<usize> = 108..116;
const GID: std::ops::Range<usize> = 116..124;
const SIZE: std::ops::Range<usize> = 124..136;
const CHKSUM: std::ops::Range<usize> = 148..156;
const UNAME: std::ops::Range<usize> = 265..297;
const GNAME: std::ops::Range<usize> = 297..329;
const GNU_ATIME: std::ops::Range<usize> = 345..357;
const GNU_CTIME: std::ops::Range<usize> = 357..369;
const TYPEFLAG: usize = 156;

/// The name GNU tar gives PAX headers with `exthdr.name=%d/PaxHeaders/%f`'s fixed sibling: the
/// default name embeds the writer's process id, which no two runs share.
pub const PAX_NAME: &[u8] = b"././@PaxHeader";

/// Reads a numeric field: octal text (space/NUL padded) or GNU base-256 (high bit set).
pub fn number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let text: Vec<u8> = field.iter().copied().filter(|&b| b != 0 && b != b' ').collect();
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(std::str::from_utf8(&text).ok()?, 8).ok()
}

/// Writes `v` as zero-padded octal followed by a NUL, or base-256 when it does not fit.
fn set_number(field: &mut [u8], v: u64) {
    let digits = field.len() - 1;
    let text = format!("{v:0digits$o}");
    if text.len() <= digits {
        field[..digits].copy_from_slice(text.as_bytes());
        field[digits] = 0;
    } else {
        let mut x = v;
        for b in field.iter_mut().rev() {
            *b = (x & 0xff) as u8;
            x >>= 8;
        }
        field[0] |= 0x80;
    }
}

fn checksum(block: &[u8]) -> u64 {
    block
        .iter()
        .enumerate()
        .map(|(i, &b)| if CHKSUM.contains(&i) { u64::from(b' ') } else { u64::from(b) })
        .sum()
}

fn set_checksum(block: &mut [u8]) {
    let sum = checksum(block);
    let text = format!("{sum:06o}\0 ");
    block[CHKSUM].copy_from_slice(text.as_bytes());
}

/// Whether `block` is a tar header: its checksum holds and it is not all zeros.
pub fn is_header(block: &[u8]) -> bool {
    block.len() >= BLOCK
        && block[..BLOCK].iter().any(|&b| b != 0)
        && number(&block[CHKSUM]).is_some_and(|c| c == checksum(&block[..BLOCK]))
}

/// Whether `block` is an end-of-archive marker block.
pub fn is_zero(block: &[u8]) -> bool {
    block.iter().all(|&b| b == 0)
}

/// The type flag (`'0'` regular, `'5'` directory, `'x'` PAX, `'L'` GNU long name, ...).
pub fn typeflag(block: &[u8]) -> u8 {
    block[TYPEFLAG]
}

/// Bytes of data following the header (before padding), per its size field.
pub fn size(block: &[u8]) -> Option<u64> {
    number(&block[SIZE])
}

/// Sets the size field and the checksum.
pub fn set_size(block: &mut [u8], v: u64) {
    set_number(&mut block[SIZE], v);
    set_checksum(block);
}

/// Blocks of data after a header with `size` bytes.
pub fn data_blocks(size: u64) -> u64 {
    size.div_ceil(BLOCK as u64)
}

/// The header's own path: ustar prefix + name (a PAX `path` or GNU long name overrides it).
pub fn path(block: &[u8]) -> Vec<u8> {
    let field = |r: std::ops::Range<usize>| {
        let f = &block[r];
        f[..f.iter().position(|&b| b == 0).unwrap_or(f.len())].to_vec()
    };
    let name = field(0..100);
    let ustar = &block[257..262] == b"ustar" && block[262] == 0;
    let prefix = if ustar { field(345..500) } else { Vec::new() };
    if prefix.is_empty() { name } else { [prefix, b"/".to_vec(), name].concat() }
}

/// The link target field.
pub fn link(block: &[u8]) -> Vec<u8> {
    let f = &block[157..257];
    f[..f.iter().position(|&b| b == 0).unwrap_or(f.len())].to_vec()
}

/// Normalises one header block in place: mtime capped, uid/gid 0, user/group names empty, GNU
/// atime/ctime capped, PAX headers renamed to [`PAX_NAME`]; the checksum is recomputed.
/// Returns the names of the fields that changed.
pub fn normalize_header(block: &mut [u8], clamp: Clamp) -> Vec<&'static str> {
    let before = block[..BLOCK].to_vec();
    let mut changed = Vec::new();
    if let Some(t) = number(&block[MTIME]) {
        set_number(&mut block[MTIME], clamp.apply(t as i64).max(0) as u64);
    }
    set_number(&mut block[UID], 0);
    set_number(&mut block[GID], 0);
    block[UNAME].fill(0);
    block[GNAME].fill(0);
    let gnu = &block[257..265] == b"ustar  \0";
    if gnu {
        for r in [GNU_ATIME, GNU_CTIME] {
            match number(&block[r.clone()]) {
                Some(0) | None => {}
                Some(t) => set_number(&mut block[r], clamp.apply(t as i64).max(0) as u64),
            }
        }
    }
    if matches!(typeflag(block), b'x' | b'g') && block[..100] != pad100(PAX_NAME)[..] {
        block[..100].copy_from_slice(&pad100(PAX_NAME));
    }
    set_checksum(block);
    for (name, r) in
        [("mtime", MTIME), ("uid", UID), ("gid", GID), ("uname", UNAME), ("gname", GNAME)]
    {
        if before[r.clone()] != block[r] {
            changed.push(name);
        }
    }
    if before[..100] != block[..100] {
        changed.push("pax header name");
    }
    if gnu && (before[GNU_ATIME] != block[GNU_ATIME] || before[GNU_CTIME] != block[GNU_CTIME]) {
        changed.push("atime/ctime");
    }
    changed
}

fn pad100(name: &[u8]) -> [u8; 100] {
    let mut out = [0u8; 100];
    out[..name.len()].copy_from_slice(name);
    out
}

/// PAX records (`"<len> <key>=<value>\n"`) in order; None when malformed.
pub fn pax_records(data: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() && rest[0] != 0 {
        let sp = rest.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..sp]).ok()?.parse().ok()?;
        let rec = rest.get(sp + 1..len)?;
        let rec = rec.strip_suffix(b"\n")?;
        let eq = rec.iter().position(|&b| b == b'=')?;
        out.push((rec[..eq].to_vec(), rec[eq + 1..].to_vec()));
        rest = &rest[len..];
    }
    Some(out)
}

/// Renders PAX records, each with its self-inclusive decimal length.
pub fn render_pax(records: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in records {
        let body = k.len() + v.len() + 3; // ' ', '=', '\n'
        let mut len = body + body.to_string().len();
        if len.to_string().len() + body != len {
            len = body + len.to_string().len();
        }
        out.extend_from_slice(format!("{len} ").as_bytes());
        out.extend_from_slice(k);
        out.push(b'=');
        out.extend_from_slice(v);
        out.push(b'\n');
    }
    out
}

/// Makes PAX records deterministic: `atime` and `ctime` dropped (GNU tar writes them with the
/// current time), `mtime` capped (whole seconds when capped), owner records (`uid`, `gid`,
/// `uname`, `gname`) dropped. Returns None when nothing changed.
pub fn normalize_pax(
    records: &[(Vec<u8>, Vec<u8>)],
    clamp: Clamp,
) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    for (k, v) in records {
        match k.as_slice() {
            b"atime" | b"ctime" | b"uid" | b"gid" | b"uname" | b"gname" => {}
            b"mtime" => {
                let text = String::from_utf8_lossy(v);
                let secs: f64 = text.parse().unwrap_or(0.0);
                let t = clamp.apply(secs.floor() as i64);
                let keep = !clamp.overwrite && (secs.floor() as i64) < clamp.time;
                out.push((k.clone(), if keep { v.clone() } else { t.to_string().into_bytes() }));
            }
            _ => out.push((k.clone(), v.clone())),
        }
    }
    (out.as_slice() != records).then_some(out)
}

/// The PAX `path`, `linkpath` and `size` overrides, if any.
pub fn pax_overrides(
    records: &[(Vec<u8>, Vec<u8>)],
) -> (Option<Vec<u8>>, Option<Vec<u8>>, Option<u64>) {
    let get = |key: &[u8]| records.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let size = get(b"size").and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok());
    (get(b"path"), get(b"linkpath"), size)
}

/// Makes a header a hard link (`'1'`, no data) to `target`. False (block unchanged) when the
/// target does not fit the 100-byte link field.
pub fn make_hard_link(block: &mut [u8], target: &[u8]) -> bool {
    if target.len() > 100 {
        return false;
    }
    block[157..257].fill(0);
    block[157..157 + target.len()].copy_from_slice(target);
    block[TYPEFLAG] = b'1';
    set_number(&mut block[SIZE], 0);
    set_checksum(block);
    true
}

/// Renames a header to `path` (the name field only; a ustar prefix is cleared). False (block
/// unchanged) when the path does not fit the 100-byte name field.
pub fn rename(block: &mut [u8], path: &[u8]) -> bool {
    if path.len() > 100 {
        return false;
    }
    block[..100].fill(0);
    block[..path.len()].copy_from_slice(path);
    if &block[257..262] == b"ustar" && block[262] == 0 {
        block[345..500].fill(0);
    }
    set_checksum(block);
    true
}

/// Sort key of an entry: by path, bytewise; a hard link (`'1'`) goes right after its target
/// so that extracting in order still finds the target first.
pub fn sort_key(path: &[u8], typeflag: u8, link: &[u8]) -> (Vec<u8>, u8, Vec<u8>) {
    let trim = |p: &[u8]| p.strip_prefix(b"./").unwrap_or(p).to_vec();
    if typeflag == b'1' { (trim(link), 1, trim(path)) } else { (trim(path), 0, Vec::new()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, mtime: u64) -> Vec<u8> {
        let mut b = vec![0u8; BLOCK];
        b[..name.len()].copy_from_slice(name.as_bytes());
        set_number(&mut b[100..108], 0o644);
        set_number(&mut b[UID], 1000);
        set_number(&mut b[GID], 1000);
        set_number(&mut b[SIZE], 5);
        set_number(&mut b[MTIME], mtime);
        b[TYPEFLAG] = b'0';
        b[257..265].copy_from_slice(b"ustar\x0000");
        b[UNAME][..5].copy_from_slice(b"alice");
        set_checksum(&mut b);
        b
    }

    #[test]
    fn normalizes_owner_and_caps_time() {
        let mut b = header("a.txt", 2_000_000_000);
        assert!(is_header(&b));
        let changed = normalize_header(&mut b, Clamp { time: 1_000_000_000, overwrite: false });
        assert_eq!(changed, ["mtime", "uid", "gid", "uname"]);
        assert!(is_header(&b));
        assert_eq!(number(&b[MTIME]), Some(1_000_000_000));
        assert_eq!(number(&b[UID]), Some(0));
        let mut early = header("a.txt", 5);
        normalize_header(&mut early, Clamp { time: 1_000_000_000, overwrite: false });
        assert_eq!(number(&early[MTIME]), Some(5));
    }

    #[test]
    fn base256_numbers() {
        let mut f = [0u8; 12];
        set_number(&mut f, 1 << 40);
        assert_eq!(number(&f), Some(1 << 40));
        set_number(&mut f, u64::MAX >> 1);
        assert_eq!(number(&f), Some(u64::MAX >> 1));
    }

    #[test]
    fn pax_round_trip_and_normal_form() {
        let recs = vec![
            (b"path".to_vec(), b"a/very/long/name".to_vec()),
            (b"mtime".to_vec(), b"1700000000.123456789".to_vec()),
            (b"atime".to_vec(), b"1700000001.5".to_vec()),
        ];
        let text = render_pax(&recs);
        assert_eq!(pax_records(&text).unwrap(), recs);
        assert!(text.starts_with(b"25 path=a/very/long/name\n"));
        let n = normalize_pax(&recs, Clamp { time: 1_600_000_000, overwrite: false }).unwrap();
        assert_eq!(n, [recs[0].clone(), (b"mtime".to_vec(), b"1600000000".to_vec())]);
        // a length whose digits change the length: 9 + 1 = 10 would be wrong
        let r = vec![(b"a".to_vec(), b"123".to_vec())];
        assert_eq!(pax_records(&render_pax(&r)).unwrap(), r);
        let r = vec![(b"k".to_vec(), vec![b'v'; 93])];
        assert_eq!(pax_records(&render_pax(&r)).unwrap(), r);
    }

    #[test]
    fn hard_link_and_rename_keep_the_checksum() {
        let mut b = header("a.txt", 1);
        assert!(make_hard_link(&mut b, b"b.txt") && is_header(&b));
        assert_eq!((typeflag(&b), size(&b), link(&b)), (b'1', Some(0), b"b.txt".to_vec()));
        assert!(rename(&mut b, b"c.txt") && is_header(&b));
        assert_eq!(path(&b), b"c.txt");
        assert!(!rename(&mut b, &[b'x'; 101]));
    }

    #[test]
    fn hard_links_sort_after_their_target() {
        let mut keys =
            [sort_key(b"a", b'1', b"z"), sort_key(b"z", b'0', b""), sort_key(b"m", b'0', b"")];
        keys.sort();
        assert_eq!(keys[1], sort_key(b"z", b'0', b""));
        assert_eq!(keys[2], sort_key(b"a", b'1', b"z"));
    }

    #[test]
    fn gnu_headers_have_atime_and_ctime_capped() {
        let mut b = header("a.txt", 5);
        b[257..265].copy_from_slice(b"ustar  \0");
        set_number(&mut b[GNU_ATIME], 2_000_000_000);
        set_checksum(&mut b);
        let changed = normalize_header(&mut b, Clamp { time: 1_000_000_000, overwrite: false });
        assert_eq!(changed, ["uid", "gid", "uname", "atime/ctime"]);
        assert_eq!(number(&b[GNU_ATIME]), Some(1_000_000_000));
        assert_eq!(number(&b[GNU_CTIME]), Some(0));
        assert!(is_header(&b));
        // A PAX header gets the fixed name; a normal header is left as it is.
        let mut x = header("./PaxHeaders.1234/a.txt", 5);
        x[TYPEFLAG] = b'x';
        let changed = normalize_header(&mut x, Clamp { time: 10, overwrite: false });
        assert_eq!(changed, ["uid", "gid", "uname", "pax header name"]);
        assert_eq!(path(&x), PAX_NAME);
        assert_eq!(normalize_header(&mut x, Clamp { time: 10, overwrite: false }), [""; 0]);
    }

    #[test]
    fn pax_lengths_mtimes_and_overrides() {
        // Body 98 bytes: "98 " would make 101, so the length is 101 (three digits).
        let r = vec![(b"k".to_vec(), vec![b'v'; 94])];
        let text = render_pax(&r);
        assert_eq!(text.len(), 101);
        assert!(text.starts_with(b"101 k=v"), "{}", String::from_utf8_lossy(&text));
        let r = vec![(b"k".to_vec(), vec![b'v'; 93])];
        assert!(render_pax(&r).starts_with(b"99 k=v"));
        // An mtime before the cap keeps its fraction; at or after it, whole seconds.
        let clamp = Clamp { time: 100, overwrite: false };
        let rec = |v: &str| vec![(b"mtime".to_vec(), v.as_bytes().to_vec())];
        assert_eq!(normalize_pax(&rec("5.5"), clamp), None);
        assert_eq!(normalize_pax(&rec("100.5"), clamp), Some(rec("100")));
        assert_eq!(
            normalize_pax(&rec("5.5"), Clamp { overwrite: true, ..clamp }),
            Some(rec("100"))
        );
        let owner = vec![(b"uname".to_vec(), b"alice".to_vec()), (b"x".to_vec(), b"1".to_vec())];
        assert_eq!(normalize_pax(&owner, clamp), Some(vec![owner[1].clone()]));
        let recs = vec![
            (b"path".to_vec(), b"old".to_vec()),
            (b"size".to_vec(), b"12".to_vec()),
            (b"linkpath".to_vec(), b"target".to_vec()),
            (b"path".to_vec(), b"new".to_vec()),
        ];
        assert_eq!(
            pax_overrides(&recs),
            (Some(b"new".to_vec()), Some(b"target".to_vec()), Some(12))
        );
        assert_eq!(pax_overrides(&[]), (None, None, None));
        assert_eq!(pax_records(b"5 a=\n\0\0"), Some(vec![(b"a".to_vec(), vec![])]));
        assert_eq!(pax_records(b"9 a=b\n"), None);
    }

    #[test]
    fn sort_keys_ignore_a_leading_dot_slash() {
        assert_eq!(sort_key(b"./a", b'0', b"x"), (b"a".to_vec(), 0, vec![]));
        assert_eq!(sort_key(b"./b", b'1', b"./a"), (b"a".to_vec(), 1, b"b".to_vec()));
        assert_eq!(
            (data_blocks(0), data_blocks(1), data_blocks(512), data_blocks(513)),
            (0, 1, 1, 2)
        );
    }

    #[test]
    fn zero_blocks_are_no_header_and_gnu_headers_have_no_prefix() {
        assert!(!is_header(&[0u8; BLOCK]));
        // A header cut short is no header (and is not read past its end).
        assert!(!is_header(&header("a.txt", 5)[..BLOCK - 1]));
        assert!(is_zero(&[0u8; BLOCK]));
        let mut b = header("name", 5);
        b[257..265].copy_from_slice(b"ustar  \0");
        set_number(&mut b[GNU_ATIME], 0o7777);
        set_checksum(&mut b);
        assert_eq!(path(&b), b"name");
        let mut u = header("name", 5);
        u[345..348].copy_from_slice(b"dir");
        assert_eq!(path(&u), b"dir/name");
    }

    /// Made by GNU tar 1.34 (`tar --format=ustar -b 1 --owner=alice:1000 --group=staff:50`):
    /// `a.txt`, mode 640, "hello\n", modified 2030-01-02 03:04:06 UTC; one 512-byte record.
    const USTAR_TAR: &[u8] = include_bytes!("../../../tests/fixtures/archive/ustar.tar");

    #[test]
    fn reads_the_header_gnu_tar_wrote() {
        let h = &USTAR_TAR[..BLOCK];
        assert!(is_header(h));
        assert!(!is_zero(h));
        assert!(is_zero(&USTAR_TAR[3 * BLOCK..]));
        assert_eq!((path(h), typeflag(h), size(h)), (b"a.txt".to_vec(), b'0', Some(6)));
        assert_eq!((number(&h[UID]), number(&h[GID])), (Some(1000), Some(50)));
        assert_eq!(number(&h[MTIME]), Some(1_893_553_446));
        // The checksum GNU tar wrote (0o12300) is the one this module computes.
        assert_eq!(number(&h[CHKSUM]), Some(0o12300));
        let mut b = h.to_vec();
        b[CHKSUM].fill(0);
        set_checksum(&mut b);
        assert_eq!(b, h);
        // One byte more in the name and the checksum no longer holds.
        b[0] = b'b';
        assert!(!is_header(&b));
    }

    #[test]
    fn set_size_rewrites_the_size_and_the_checksum() {
        let mut b = USTAR_TAR[..BLOCK].to_vec();
        set_size(&mut b, 1234);
        assert_eq!((size(&b), &b[SIZE]), (Some(1234), &b"00000002322\0"[..]));
        assert!(is_header(&b));
        set_size(&mut b, 1 << 40);
        assert_eq!(size(&b), Some(1 << 40));
        assert!(is_header(&b));
    }

    #[test]
    fn a_header_without_any_nul_byte_is_a_header() {
        // A v7 writer may pad every field with spaces: no NUL anywhere, checksum "%06o  ".
        let mut b = vec![b' '; BLOCK];
        b[..5].copy_from_slice(b"a.txt");
        b[SIZE][..2].copy_from_slice(b"12");
        b[TYPEFLAG] = b'0';
        let sum = checksum(&b);
        b[CHKSUM].copy_from_slice(format!("{sum:06o}  ").as_bytes());
        assert!(is_header(&b));
        assert!(!is_zero(&b));
        assert_eq!(size(&b), Some(0o12));
    }

    #[test]
    fn gnu_header_with_times_already_capped_reports_no_time_change() {
        let mut b = header("a.txt", 5);
        b[257..265].copy_from_slice(b"ustar  \0");
        set_number(&mut b[GNU_ATIME], 7);
        set_checksum(&mut b);
        let changed = normalize_header(&mut b, Clamp { time: 1_000, overwrite: false });
        assert_eq!(changed, ["uid", "gid", "uname"]);
        assert_eq!((number(&b[GNU_ATIME]), number(&b[GNU_CTIME])), (Some(7), Some(0)));
        // Only the ctime above the cap: it is capped and said.
        set_number(&mut b[GNU_CTIME], 2_000);
        let changed = normalize_header(&mut b, Clamp { time: 1_000, overwrite: false });
        assert_eq!(changed, ["atime/ctime"]);
        assert_eq!(number(&b[GNU_CTIME]), Some(1_000));
    }

    #[test]
    fn link_targets_and_names_of_exactly_100_bytes_fit() {
        let long = [b'n'; 100];
        let mut b = header("a.txt", 1);
        assert!(make_hard_link(&mut b, &long));
        assert_eq!(link(&b), long);
        assert!(is_header(&b));
        let before = b.clone();
        assert!(!make_hard_link(&mut b, &[b'n'; 101]));
        assert_eq!(b, before);
        assert!(rename(&mut b, &long));
        assert_eq!(path(&b), long);
        assert!(is_header(&b));
    }

    #[test]
    fn rename_clears_a_ustar_prefix_but_not_gnu_times() {
        let mut u = header("name", 5);
        u[345..348].copy_from_slice(b"dir");
        set_checksum(&mut u);
        assert!(rename(&mut u, b"new"));
        assert_eq!(path(&u), b"new");
        assert!(u[345..500].iter().all(|&b| b == 0));
        // In a GNU header those bytes are the atime and ctime: kept.
        let mut g = header("name", 5);
        g[257..265].copy_from_slice(b"ustar  \0");
        set_number(&mut g[GNU_ATIME], 0o7777);
        set_checksum(&mut g);
        assert!(rename(&mut g, b"new"));
        assert_eq!((path(&g), number(&g[GNU_ATIME])), (b"new".to_vec(), Some(0o7777)));
        assert!(is_header(&g));
    }

    #[test]
    fn archives_end_on_gnu_tars_default_record_of_20_blocks() {
        assert_eq!(RECORD, 10_240);
    }
}
