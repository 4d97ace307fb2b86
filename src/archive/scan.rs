//! Walking the members of an archive stream: tar (via the `tar` crate), ar (GNU and BSD names)
//! and zip (central directory; the archive is read into memory, as zip must be read from its
//! end). Each member is handed over as metadata and a reader positioned on its bytes.

use std::io::{self, Read};
use std::sync::Arc;

use super::{HEAD, Hashing, Stream};
use crate::core::archive::{Kind, ar, format_time, zip};
use crate::core::diff::Meta;

/// What a visitor gets for each member; it returns false to stop the walk.
pub type Visit<'a> = dyn FnMut(Meta, &mut dyn Read) -> io::Result<bool> + 'a;

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Walks the members of `stream`, an archive of `kind` (or, for any other kind, one member
/// named `single` holding the whole stream). Returns the BLAKE3 of the whole stream when the
/// walk ran to its end.
pub fn walk(
    kind: Kind,
    stream: Stream,
    single: &str,
    visit: &mut Visit<'_>,
) -> io::Result<Option<[u8; 32]>> {
    let mut hashing = Hashing::new(stream);
    let complete = match kind {
        Kind::Tar => walk_tar(&mut hashing, visit)?,
        Kind::Ar => walk_ar(&mut hashing, visit)?,
        Kind::Zip => {
            let mut bytes = Vec::new();
            hashing.read_to_end(&mut bytes)?;
            walk_zip(&bytes, visit)?
        }
        _ => {
            let meta = Meta { path: single.to_string(), kind: "file", ..Meta::default() };
            visit(meta, &mut hashing)?
        }
    };
    if complete { Ok(Some(hashing.finish()?)) } else { Ok(None) }
}

fn tar_kind(t: tar::EntryType) -> &'static str {
    use tar::EntryType as E;
    match t {
        E::Regular | E::Continuous => "file",
        E::Directory => "directory",
        E::Symlink => "symlink",
        E::Link => "hardlink",
        E::Char => "char device",
        E::Block => "block device",
        E::Fifo => "fifo",
        E::GNUSparse => "sparse file",
        _ => "other",
    }
}

fn tar_meta<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Meta> {
    let h = entry.header();
    let name =
        |n: Option<&[u8]>, id: u64| format!("{}({id})", String::from_utf8_lossy(n.unwrap_or(b"")));
    let mut mtime = h.mtime().ok().map(|t| format_time(t as i64));
    if let Some(exts) = entry.pax_extensions()? {
        for ext in exts.flatten() {
            if ext.key_bytes() == b"mtime" {
                mtime = Some(format!(
                    "{} (pax {})",
                    mtime.unwrap_or_default(),
                    String::from_utf8_lossy(ext.value_bytes())
                ));
            }
        }
    }
    let h = entry.header();
    let format = if h.as_gnu().is_some() {
        "gnu"
    } else if h.as_ustar().is_some() {
        "ustar"
    } else {
        "v7"
    };
    Ok(Meta {
        path: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
        kind: tar_kind(h.entry_type()),
        size: entry.size(),
        mtime,
        mode: h.mode().ok(),
        owner: Some(name(h.username_bytes(), h.uid().unwrap_or(0))),
        group: Some(name(h.groupname_bytes(), h.gid().unwrap_or(0))),
        link: entry.link_name_bytes().map(|l| String::from_utf8_lossy(&l).into_owned()),
        extra: vec![("tar format", format.to_string())],
    })
}

fn walk_tar(r: &mut dyn Read, visit: &mut Visit<'_>) -> io::Result<bool> {
    let mut archive = tar::Archive::new(r);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let meta = tar_meta(&mut entry)?;
        if !visit(meta, &mut entry)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn walk_ar(r: &mut dyn Read, visit: &mut Visit<'_>) -> io::Result<bool> {
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    let mut long_names = Vec::new();
    let mut offset = 8u64;
    loop {
        let mut h = [0u8; ar::HEADER];
        match r.read(&mut h[..1])? {
            0 => return Ok(true),
            _ => r.read_exact(&mut h[1..])?,
        }
        let header = ar::parse(&h)
            .ok_or_else(|| invalid(format!("bad ar member header at byte {offset}")))?;
        let mut data = r.take(header.size);
        let mut bsd = None;
        if let Some(n) = ar::bsd_name_len(&header.name) {
            let mut name = vec![0u8; n];
            data.read_exact(&mut name)?;
            bsd = Some(name);
        }
        let keep = if header.name == b"//" {
            data.read_to_end(&mut long_names)?;
            true
        } else {
            let name = ar::member_name(&header.name, &long_names, bsd.as_deref());
            let meta = Meta {
                path: if header.name == b"/" {
                    "/ (symbol table)".into()
                } else {
                    String::from_utf8_lossy(&name).into_owned()
                },
                kind: "file",
                size: header.size - bsd.as_ref().map_or(0, |b| b.len() as u64),
                mtime: Some(format_time(header.mtime)),
                mode: Some(header.mode),
                owner: Some(format!("({})", header.uid)),
                group: Some(format!("({})", header.gid)),
                link: None,
                extra: Vec::new(),
            };
            visit(meta, &mut data)?
        };
        io::copy(&mut data, &mut io::sink())?;
        if !keep {
            return Ok(false);
        }
        if header.size % 2 == 1 {
            r.read_exact(&mut [0u8; 1])?;
        }
        offset += ar::HEADER as u64 + header.size.next_multiple_of(2);
    }
}

fn zip_meta(e: &zip::Entry) -> Meta {
    let name = String::from_utf8_lossy(&e.name).into_owned();
    let mut ids: Vec<String> =
        zip::extra_fields(&e.extra).iter().map(|(id, _)| format!("{id:#06x}")).collect();
    ids.sort();
    let mut extra = vec![("method", e.method.to_string()), ("extra fields", ids.join(" "))];
    if !e.comment.is_empty() {
        extra.push(("comment", String::from_utf8_lossy(&e.comment).into_owned()));
    }
    Meta {
        kind: if name.ends_with('/') { "directory" } else { "file" },
        path: name,
        size: e.usize,
        mtime: Some(format_time(e.mtime())),
        mode: e.unix_mode(),
        owner: None,
        group: None,
        link: None,
        extra,
    }
}

/// Walks a zip held in memory.
pub fn walk_zip(bytes: &[u8], visit: &mut Visit<'_>) -> io::Result<bool> {
    let archive = zip::parse(bytes).map_err(|e| invalid(e.to_string()))?;
    for e in &archive.entries {
        let loc = zip::local(bytes, e)
            .map_err(|err| invalid(format!("{}: {err}", String::from_utf8_lossy(&e.name))))?;
        let data = &bytes[loc.data];
        let meta = zip_meta(e);
        let more = match e.method {
            0 => visit(meta, &mut &data[..])?,
            8 => visit(meta, &mut flate2::read::DeflateDecoder::new(data))?,
            m => {
                let meta =
                    Meta { extra: vec![("method", format!("{m} (not decompressed)"))], ..meta };
                visit(meta, &mut &data[..])?
            }
        };
        if !more {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A member's bytes as the diff needs them: hash, first bytes, and the whole content when it
/// is at most `keep` bytes.
#[derive(Debug, Clone)]
pub struct Digest {
    /// BLAKE3.
    pub hash: [u8; 32],
    /// Bytes read.
    pub size: u64,
    /// The first [`HEAD`] bytes.
    pub head: Vec<u8>,
    /// All bytes, when small enough.
    pub content: Option<Arc<Vec<u8>>>,
}

/// Reads `r` to its end, hashing it and keeping it when it is at most `keep` bytes
/// (`expected` is the size the archive announced, to allocate once).
pub fn digest(r: &mut dyn Read, expected: u64, keep: u64) -> io::Result<Digest> {
    if expected <= keep {
        let mut buf = Vec::with_capacity(expected as usize);
        r.take(keep + 1).read_to_end(&mut buf)?;
        if buf.len() as u64 <= keep {
            let hash = *blake3::hash(&buf).as_bytes();
            return Ok(Digest {
                hash,
                size: buf.len() as u64,
                head: buf[..buf.len().min(HEAD)].to_vec(),
                content: Some(Arc::new(buf)),
            });
        }
        let head = buf[..HEAD.min(buf.len())].to_vec();
        let (hash, size) = super::hash_stream(io::Cursor::new(buf).chain(r))?;
        return Ok(Digest { hash, size, head, content: None });
    }
    let mut head = Vec::with_capacity(HEAD);
    r.take(HEAD as u64).read_to_end(&mut head)?;
    let (hash, size) = super::hash_stream(io::Cursor::new(head.clone()).chain(r))?;
    Ok(Digest { hash, size, head, content: None })
}
