//! Zip (jar, apk, whl) structure: the central directory, local headers and extra fields, and
//! the normal form: members sorted, DOS and extended timestamps capped, Unix owner extra fields
//! dropped, modes 644/755. Member data (compressed bytes) is copied, never recompressed.

use super::{Clamp, civil_from_days, days_from_civil};

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const EOCD_SIG: u32 = 0x0605_4b50;
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;
/// 1980-01-01 12:01 UTC: the earliest time a normaliser writes (DOS dates start in 1980, and
/// noon keeps every time zone's reading of it in 1980, as strip-nondeterminism does).
pub const SAFE_EPOCH: i64 = 315_576_060;

/// Why bytes are not a zip this module handles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    /// No end-of-central-directory record, or a record points outside the file.
    #[error("not a zip archive or truncated ({0})")]
    Corrupt(&'static str),
    /// Zip64, multi-disk: read elsewhere.
    #[error("zip64 and multi-disk archives are not supported")]
    Zip64,
}

/// A central directory entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entry {
    /// Version made by (high byte: host system, 3 = Unix).
    pub made_by: u16,
    /// General purpose flags (bit 3: data descriptor follows the data).
    pub flags: u16,
    /// Compression method (0 stored, 8 deflate).
    pub method: u16,
    /// DOS time.
    pub time: u16,
    /// DOS date.
    pub date: u16,
    /// CRC-32 of the uncompressed data.
    pub crc: u32,
    /// Compressed size.
    pub csize: u64,
    /// Uncompressed size.
    pub usize: u64,
    /// Member name.
    pub name: Vec<u8>,
    /// Extra field of the central entry.
    pub extra: Vec<u8>,
    /// Member comment.
    pub comment: Vec<u8>,
    /// External attributes (high 16 bits: Unix mode when made on Unix).
    pub external: u32,
    /// Offset of its local header.
    pub offset: u64,
    /// The raw 46-byte fixed part, for fields kept as they are.
    raw: Vec<u8>,
}

impl Entry {
    /// The Unix mode, when the entry was made on Unix.
    pub fn unix_mode(&self) -> Option<u32> {
        (self.made_by >> 8 == 3).then_some(self.external >> 16)
    }

    /// The DOS timestamp as Unix time (read as UTC).
    pub fn mtime(&self) -> i64 {
        dos_to_unix(self.date, self.time)
    }
}

/// A parsed archive: its entries in central-directory order and its comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    /// Entries.
    pub entries: Vec<Entry>,
    /// Archive comment.
    pub comment: Vec<u8>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Parses the central directory of the zip in `b`.
pub fn parse(b: &[u8]) -> Result<Archive, ZipError> {
    let corrupt = ZipError::Corrupt;
    let lowest = b.len().saturating_sub(22 + 65_535);
    let eocd = (lowest..=b.len().saturating_sub(22))
        .rev()
        .find(|&i| u32_at(b, i) == Some(EOCD_SIG))
        .ok_or(corrupt("no end of central directory"))?;
    let count = u16_at(b, eocd + 10).ok_or(corrupt("eocd"))?;
    let cd_offset = u32_at(b, eocd + 16).ok_or(corrupt("eocd"))?;
    if u16_at(b, eocd + 4) != Some(0) || cd_offset == u32::MAX || count == u16::MAX {
        return Err(ZipError::Zip64);
    }
    let clen = usize::from(u16_at(b, eocd + 20).ok_or(corrupt("eocd"))?);
    let comment = b.get(eocd + 22..eocd + 22 + clen).unwrap_or(&b[eocd + 22..]).to_vec();
    let mut at = cd_offset as usize;
    let mut entries = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        if u32_at(b, at) != Some(CENTRAL_SIG) {
            return Err(corrupt("central directory entry"));
        }
        let f = |o| u16_at(b, at + o).ok_or(corrupt("central directory entry"));
        let g = |o| u32_at(b, at + o).ok_or(corrupt("central directory entry"));
        let (n, m, k) = (usize::from(f(28)?), usize::from(f(30)?), usize::from(f(32)?));
        let var = b.get(at + 46..at + 46 + n + m + k).ok_or(corrupt("central directory entry"))?;
        let e = Entry {
            made_by: f(4)?,
            flags: f(8)?,
            method: f(10)?,
            time: f(12)?,
            date: f(14)?,
            crc: g(16)?,
            csize: u64::from(g(20)?),
            usize: u64::from(g(24)?),
            name: var[..n].to_vec(),
            extra: var[n..n + m].to_vec(),
            comment: var[n + m..].to_vec(),
            external: g(38)?,
            offset: u64::from(g(42)?),
            raw: b[at..at + 46].to_vec(),
        };
        if e.csize == u64::from(u32::MAX) || e.offset == u64::from(u32::MAX) {
            return Err(ZipError::Zip64);
        }
        entries.push(e);
        at += 46 + n + m + k;
    }
    Ok(Archive { entries, comment })
}

/// Where an entry's pieces are in the file: local header, its extra field, data, descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    /// Start of the local header.
    pub start: usize,
    /// The local header's extra field.
    pub extra: std::ops::Range<usize>,
    /// The compressed data.
    pub data: std::ops::Range<usize>,
    /// End of the data descriptor (== data.end when there is none).
    pub end: usize,
}

/// Locates `e`'s local header and data.
pub fn local(b: &[u8], e: &Entry) -> Result<Local, ZipError> {
    let at = e.offset as usize;
    let bad = ZipError::Corrupt("local header");
    if u32_at(b, at) != Some(LOCAL_SIG) {
        return Err(bad);
    }
    let n = usize::from(u16_at(b, at + 26).ok_or(bad.clone())?);
    let m = usize::from(u16_at(b, at + 28).ok_or(bad.clone())?);
    let data_start = at + 30 + n + m;
    let data = data_start..data_start + e.csize as usize;
    if data.end > b.len() {
        return Err(bad);
    }
    let mut end = data.end;
    if e.flags & 8 != 0 {
        end += if u32_at(b, end) == Some(DESCRIPTOR_SIG) { 16 } else { 12 };
    }
    Ok(Local { start: at, extra: at + 30 + n..data_start, data, end: end.min(b.len()) })
}

/// The DOS date and time as Unix seconds, read as UTC.
pub fn dos_to_unix(date: u16, time: u16) -> i64 {
    let (y, mo, d) =
        (1980 + i64::from(date >> 9), u32::from((date >> 5) & 15), u32::from(date & 31));
    let days = days_from_civil(y, mo.clamp(1, 12), d.clamp(1, 31));
    days * 86_400
        + i64::from(time >> 11) * 3600
        + i64::from((time >> 5) & 63) * 60
        + i64::from(time & 31) * 2
}

/// Unix seconds (UTC) as DOS (date, time), two-second resolution, from 1980 on.
pub fn unix_to_dos(t: i64) -> (u16, u16) {
    let t = t.max(days_from_civil(1980, 1, 1) * 86_400);
    let (y, mo, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    let date = (((y - 1980).min(127) as u16) << 9) | ((mo as u16) << 5) | d as u16;
    let time =
        (((s / 3600) as u16) << 11) | ((((s / 60) % 60) as u16) << 5) | ((s % 60 / 2) as u16);
    (date, time)
}

/// Splits an extra field into (id, data) blocks; a trailing fragment is kept as id 0xffff.
pub fn extra_fields(extra: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= extra.len() {
        let id = u16::from_le_bytes([extra[at], extra[at + 1]]);
        let n = usize::from(u16::from_le_bytes([extra[at + 2], extra[at + 3]]));
        let Some(data) = extra.get(at + 4..at + 4 + n) else { break };
        out.push((id, data.to_vec()));
        at += 4 + n;
    }
    if at < extra.len() {
        out.push((0xffff, extra[at..].to_vec()));
    }
    out
}

const FILETIME_UNIX_DIFF: i64 = 11_644_473_600;

/// Extra fields in normal form: extended timestamp (0x5455) reduced to a capped mtime, NTFS
/// times (0x000a) capped, Unix uid/gid fields (0x7875, 0x5855, 0x000d) dropped.
pub fn normalize_extra(extra: &[u8], clamp: Clamp) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, data) in extra_fields(extra) {
        let data = match id {
            0x7875 | 0x5855 | 0x000d => continue,
            0x5455 if data.len() >= 5 && data[0] & 1 != 0 => {
                let t = i64::from(u32::from_le_bytes(data[1..5].try_into().unwrap_or([0; 4])));
                let mut d = vec![1u8];
                d.extend_from_slice(
                    &(clamp.apply(t).clamp(0, u32::MAX.into()) as u32).to_le_bytes(),
                );
                d
            }
            0x000a if data.len() >= 32 => {
                let mut d = data.clone();
                for at in [8, 16, 24] {
                    let ft = u64::from_le_bytes(d[at..at + 8].try_into().unwrap_or([0; 8]));
                    let t = clamp.apply(ft as i64 / 10_000_000 - FILETIME_UNIX_DIFF);
                    let back = ((t + FILETIME_UNIX_DIFF).max(0) as u64) * 10_000_000;
                    let v = if back < ft || clamp.overwrite { back } else { ft };
                    d[at..at + 8].copy_from_slice(&v.to_le_bytes());
                }
                d
            }
            _ => data,
        };
        if id == 0xffff {
            out.extend_from_slice(&data);
            continue;
        }
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(data.len() as u16).to_le_bytes());
        out.extend_from_slice(&data);
    }
    out
}

/// Whether the archive is a signed jar (`META-INF/*.SF` with a signature block).
pub fn is_signed_jar(a: &Archive) -> bool {
    a.entries.iter().any(|e| {
        let n = String::from_utf8_lossy(&e.name);
        n.starts_with("META-INF/") && !n[9..].contains('/') && n.ends_with(".SF")
    })
}

/// Normal member order: `META-INF/` then `META-INF/MANIFEST.MF` first (where a jar reader
/// looks for them), then by name bytewise.
pub fn order_key(name: &[u8]) -> (u8, Vec<u8>) {
    match name {
        b"META-INF/" => (0, Vec::new()),
        b"META-INF/MANIFEST.MF" => (1, Vec::new()),
        _ => (2, name.to_vec()),
    }
}

/// The mode a normalised Unix entry gets: directories 755, files 755 when the owner may
/// execute, else 644; the file type bits are kept.
pub fn normal_mode(mode: u32) -> u32 {
    let kind = mode & 0o170_000;
    let perm = if kind == 0o040_000 || mode & 0o100 != 0 { 0o755 } else { 0o644 };
    kind | perm
}

/// The normal form of the zip in `b`, or None when it already is normal. The caller has
/// refused signed jars; `what` collects which kinds of change were made.
pub fn normalize(
    b: &[u8],
    a: &Archive,
    clamp: Clamp,
    what: &mut Vec<&'static str>,
) -> Result<Option<Vec<u8>>, ZipError> {
    let clamp = Clamp { time: clamp.time.max(SAFE_EPOCH), ..clamp };
    let mut order: Vec<&Entry> = a.entries.iter().collect();
    order.sort_by_key(|e| order_key(&e.name));
    if order.iter().zip(&a.entries).any(|(x, y)| x.offset != y.offset) {
        what.push("member order");
    }
    let mut out = Vec::with_capacity(b.len());
    let mut central = Vec::new();
    for e in order {
        let loc = local(b, e)?;
        let (date, time) = unix_to_dos(clamp.apply(e.mtime()));
        if (date, time) != (e.date, e.time) {
            what.push("timestamps");
        }
        let lextra = normalize_extra(&b[loc.extra.clone()], clamp);
        let cextra = normalize_extra(&e.extra, clamp);
        if lextra != b[loc.extra.clone()] || cextra != e.extra {
            what.push("extra fields");
        }
        let offset = out.len() as u32;
        let mut lh = b[loc.start..loc.start + 30].to_vec();
        lh[10..12].copy_from_slice(&time.to_le_bytes());
        lh[12..14].copy_from_slice(&date.to_le_bytes());
        lh[28..30].copy_from_slice(&(lextra.len() as u16).to_le_bytes());
        out.extend_from_slice(&lh);
        out.extend_from_slice(&e.name);
        out.extend_from_slice(&lextra);
        out.extend_from_slice(&b[loc.data.start..loc.end]);
        let mut ch = e.raw.clone();
        ch[12..14].copy_from_slice(&time.to_le_bytes());
        ch[14..16].copy_from_slice(&date.to_le_bytes());
        ch[30..32].copy_from_slice(&(cextra.len() as u16).to_le_bytes());
        if let Some(mode) = e.unix_mode() {
            let ext = (normal_mode(mode) << 16) | (e.external & 0xffff);
            if ext != e.external {
                what.push("modes");
            }
            ch[38..42].copy_from_slice(&ext.to_le_bytes());
        }
        ch[42..46].copy_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(&ch);
        central.extend_from_slice(&e.name);
        central.extend_from_slice(&cextra);
        central.extend_from_slice(&e.comment);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&EOCD_SIG.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let n = a.entries.len() as u16;
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&(a.comment.len() as u16).to_le_bytes());
    out.extend_from_slice(&a.comment);
    what.sort_unstable();
    what.dedup();
    Ok((out != b).then_some(out))
}

#[cfg(test)]
mod tests;
