//! Rewriting a tar stream in normal form: headers normalised in place (core::archive::tar),
//! entries sorted by path, PAX time records made deterministic, GNU tar's end padding. Member
//! data is copied, never re-encoded; it waits in an anonymous spool file (not extracted: the
//! file is unnamed and gone when closed) because sorting needs it in another order.

use std::collections::BTreeSet;
use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::core::archive::Clamp;
use crate::core::archive::tar::{self, BLOCK, RECORD};

struct Entry {
    /// Extension headers (PAX `x`, GNU `L`/`K`) with their data, then the main header.
    headers: Vec<u8>,
    /// Its path and link target as the archive gives them.
    path: Vec<u8>,
    link: Vec<u8>,
    /// Where its data is in the spool, and its length in whole blocks.
    data: (u64, u64),
    key: (Vec<u8>, u8, Vec<u8>),
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn read_block(r: &mut dyn Read, block: &mut [u8; BLOCK]) -> io::Result<bool> {
    let mut got = 0;
    while got < BLOCK {
        match r.read(&mut block[got..])? {
            0 if got == 0 => return Ok(false),
            0 => return Err(invalid("tar archive ends inside a header block".into())),
            n => got += n,
        }
    }
    Ok(true)
}

fn read_data(r: &mut dyn Read, size: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; (tar::data_blocks(size) * BLOCK as u64) as usize];
    r.read_exact(&mut buf)?;
    buf.truncate(size as usize);
    Ok(buf)
}

fn padded(mut data: Vec<u8>) -> Vec<u8> {
    data.resize(data.len().next_multiple_of(BLOCK), 0);
    data
}

/// What a rewrite changed.
pub type Changes = BTreeSet<&'static str>;

/// Extension headers (PAX, GNU long names) read so far for the next entry, and the global
/// PAX headers.
#[derive(Default)]
struct Extensions {
    globals: Vec<u8>,
    pending: Vec<u8>,
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
}

impl Extensions {
    /// Reads and normalises one PAX (`x`, `g`) or GNU long-name (`L`, `K`) header and its data.
    fn read(
        &mut self,
        r: &mut dyn Read,
        mut block: [u8; BLOCK],
        size: u64,
        at: u64,
        clamp: Clamp,
        changes: &mut Changes,
    ) -> io::Result<()> {
        let flag = tar::typeflag(&block);
        let data = read_data(r, size)?;
        if matches!(flag, b'L' | b'K') {
            let name: Vec<u8> = data.iter().copied().take_while(|&b| b != 0).collect();
            *(if flag == b'L' { &mut self.path } else { &mut self.link }) = Some(name);
            changes.extend(tar::normalize_header(&mut block, clamp));
            self.pending.extend_from_slice(&block);
            self.pending.extend_from_slice(&padded(data));
            return Ok(());
        }
        let records = tar::pax_records(&data)
            .ok_or_else(|| invalid(format!("tar block {at}: malformed PAX records")))?;
        let (p, l, s) = tar::pax_overrides(&records);
        let new = tar::normalize_pax(&records, clamp);
        if new.is_some() {
            changes.insert("pax records");
        }
        let records = new.unwrap_or(records);
        if flag == b'x' {
            (self.path, self.link, self.size) =
                (p.or(self.path.take()), l.or(self.link.take()), s.or(self.size));
        }
        if records.is_empty() {
            return Ok(());
        }
        let body = tar::render_pax(&records);
        tar::set_size(&mut block, body.len() as u64);
        changes.extend(tar::normalize_header(&mut block, clamp));
        let target = if flag == b'g' { &mut self.globals } else { &mut self.pending };
        target.extend_from_slice(&block);
        target.extend_from_slice(&padded(body));
        Ok(())
    }
}

/// Reads the tar stream `r` and writes its normal form to `w`; returns what was changed.
pub fn normalize(r: &mut dyn Read, w: &mut dyn Write, clamp: Clamp) -> io::Result<Changes> {
    let mut spool = tempfile::tempfile()?;
    let mut spool_w = io::BufWriter::with_capacity(1 << 20, &mut spool);
    let mut changes = Changes::new();
    let mut ext = Extensions::default();
    let mut entries: Vec<Entry> = Vec::new();
    let (mut offset, mut at) = (0u64, 0u64);
    let mut block = [0u8; BLOCK];
    while read_block(r, &mut block)? {
        at += 1;
        if crate::process::interrupted() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        if tar::is_zero(&block) {
            break;
        }
        if !tar::is_header(&block) {
            return Err(invalid(format!("tar header block {at} has a bad checksum")));
        }
        let flag = tar::typeflag(&block);
        let size = tar::size(&block)
            .ok_or_else(|| invalid(format!("tar header block {at}: bad size field")))?;
        match flag {
            b'x' | b'g' | b'L' | b'K' => ext.read(r, block, size, at, clamp, &mut changes)?,
            b'S' if block[482] != 0 => {
                return Err(invalid(format!(
                    "tar block {at}: extended GNU sparse members are not supported"
                )));
            }
            _ => {
                let size = ext.size.take().unwrap_or(size);
                let path = ext.path.take().unwrap_or_else(|| tar::path(&block));
                let link = ext.link.take().unwrap_or_else(|| tar::link(&block));
                let key = tar::sort_key(&path, flag, &link);
                changes.extend(tar::normalize_header(&mut block, clamp));
                ext.pending.extend_from_slice(&block);
                let blocks = tar::data_blocks(size);
                let n = io::copy(&mut r.take(blocks * BLOCK as u64), &mut spool_w)?;
                if n != blocks * BLOCK as u64 {
                    return Err(invalid(format!(
                        "tar archive ends inside the data of '{}'",
                        String::from_utf8_lossy(&path)
                    )));
                }
                let headers = std::mem::take(&mut ext.pending);
                entries.push(Entry { headers, path, link, data: (offset, blocks), key });
                offset += n;
            }
        }
    }
    io::copy(r, &mut io::sink())?;
    drop(spool_w);
    if canonical_hard_links(&mut entries) {
        changes.insert("hard link roles");
    }
    write_sorted(&mut spool, w, ext.globals, entries, &mut changes)?;
    Ok(changes)
}

/// Of a file and its hard links, the name that sorts first holds the data and the others link
/// to it (tar gives the data to whichever name it met first, which depends on the order the
/// directory was read in). Only where every header of the group stands alone (no PAX or long
/// name header) and the names fit the header's fields. Returns whether anything changed.
fn canonical_hard_links(entries: &mut [Entry]) -> bool {
    let holder: std::collections::HashMap<Vec<u8>, usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            matches!(e.headers.last_chunk::<BLOCK>().map(|b| tar::typeflag(b)), Some(b'0' | 0))
        })
        .map(|(i, e)| (e.path.clone(), i))
        .collect();
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> =
        std::collections::BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        if e.headers.len() == BLOCK
            && tar::typeflag(&e.headers) == b'1'
            && let Some(&f) = holder.get(&e.link)
        {
            groups.entry(f).or_default().push(i);
        }
    }
    let by_name = |e: &Entry| tar::sort_key(&e.path, b'0', b"");
    let mut changed = false;
    for (f, links) in groups {
        let Some(&first) = links.iter().min_by_key(|&&i| by_name(&entries[i])) else { continue };
        let name = entries[first].path.clone();
        if entries[f].headers.len() != BLOCK
            || by_name(&entries[first]) >= by_name(&entries[f])
            || name.len() > 100
        {
            continue;
        }
        // every header stands alone and `name` fits: none of the rewrites below can fail
        let mut data_header = entries[f].headers.clone();
        let mut link_header = entries[f].headers.clone();
        tar::rename(&mut data_header, &name);
        tar::make_hard_link(&mut link_header, &name);
        for &l in links.iter().filter(|&&l| l != first) {
            tar::make_hard_link(&mut entries[l].headers, &name);
            entries[l].key = tar::sort_key(&entries[l].path, b'1', &name);
            entries[l].link = name.clone();
        }
        let old = entries[f].path.clone();
        entries[first].headers = data_header;
        entries[first].data = entries[f].data;
        entries[first].key = tar::sort_key(&name, b'0', b"");
        entries[f].headers = link_header;
        entries[f].data.1 = 0;
        entries[f].key = tar::sort_key(&old, b'1', &name);
        changed = true;
    }
    changed
}

fn write_sorted(
    spool: &mut std::fs::File,
    w: &mut dyn Write,
    globals: Vec<u8>,
    entries: Vec<Entry>,
    changes: &mut Changes,
) -> io::Result<()> {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| entries[a].key.cmp(&entries[b].key));
    if order.iter().enumerate().any(|(i, &j)| i != j) {
        changes.insert("member order");
    }
    w.write_all(&globals)?;
    let mut written = globals.len() as u64;
    for e in order.into_iter().map(|i| &entries[i]) {
        if crate::process::interrupted() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        w.write_all(&e.headers)?;
        spool.seek(SeekFrom::Start(e.data.0))?;
        let n = io::copy(&mut (&mut *spool).take(e.data.1 * BLOCK as u64), w)?;
        written += e.headers.len() as u64 + n;
    }
    let end = (written + 2 * BLOCK as u64).next_multiple_of(RECORD as u64);
    io::copy(&mut io::repeat(0).take(end - written), w)?;
    Ok(())
}
