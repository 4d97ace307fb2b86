//! `git gitian normalize`: archive metadata that should not differ between builds removed in
//! place. tar (mtimes capped, sorted, owners zeroed, PAX times), gzip (no name, mtime capped,
//! fixed OS byte), zip/jar (sorted, timestamps capped, Unix extra fields dropped, modes
//! 644/755; signed jars left alone), ar (mtime, uid, gid, mode). A `.tar.gz` or `.tar.xz` is
//! recompressed with one fixed setting; everything else keeps its bytes apart from the fields
//! changed.
//!
//! Atomicity: the normal form is written to a temporary file beside the original, given the
//! original's permissions and modification time, and renamed over it only when it differs;
//! an error leaves the original untouched.

pub mod tar;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::archive::{self, Stream};
use crate::core::archive::{Clamp, Kind, ar, detect, gzip, zip};

/// The formats a normaliser handles (and a descriptor's `normalize:` key names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// tar (and the tar inside a .tar.gz).
    Tar,
    /// gzip.
    Gzip,
    /// zip, jar.
    Zip,
    /// ar, .deb, static libraries.
    Ar,
}

impl Format {
    /// All of them.
    pub const ALL: [Format; 4] = [Format::Tar, Format::Gzip, Format::Zip, Format::Ar];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Tar => "tar",
            Format::Gzip => "gzip",
            Format::Zip => "zip",
            Format::Ar => "ar",
        }
    }

    /// The format named `s`.
    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// How to normalise.
#[derive(Debug, Clone)]
pub struct Options {
    /// The time to cap (or set) timestamps to.
    pub clamp: Clamp,
    /// Only report what would change.
    pub check: bool,
    /// The deflate level a recompressed `.tar.gz` gets.
    pub gzip_level: u32,
    /// The formats to touch.
    pub formats: Vec<Format>,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The file.
    pub path: PathBuf,
    /// What it is (`tar.gz`, `zip`, ...), or None when no normaliser handles it.
    pub format: Option<String>,
    /// What was (or, with `check`, would be) changed; empty when it already was normal.
    pub changes: Vec<String>,
    /// Why it was left alone (a signed jar), if it was.
    pub skipped: Option<String>,
}

/// Could not normalise.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct NormalizeError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: io::Error,
}

fn open(path: &Path) -> io::Result<Stream> {
    Ok(Box::new(io::BufReader::with_capacity(1 << 18, std::fs::File::open(path)?)))
}

/// Normalises one file in place (or, with `check`, only says what would change).
pub fn normalize_file(path: &Path, opts: &Options) -> Result<Outcome, NormalizeError> {
    let err = |source| NormalizeError { path: path.into(), source };
    let mut outcome =
        Outcome { path: path.into(), format: None, changes: Vec::new(), skipped: None };
    let (head, _) = archive::peek(open(path).map_err(err)?, 64 * 1024).map_err(err)?;
    let kind = detect(&head[..head.len().min(archive::HEAD)]);
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    sweep(dir);
    let prefix = format!("{TMP_PREFIX}{}-", std::process::id());
    let mut tmp = tempfile::Builder::new().prefix(&prefix).tempfile_in(dir).map_err(err)?;
    let mut changes = Vec::new();
    let format = {
        let mut out = io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let f = write_normal(path, &head, kind, opts, &mut out, &mut outcome.skipped, &mut changes)
            .map_err(err)?;
        out.flush().map_err(err)?;
        f
    };
    outcome.format = format;
    if outcome.format.is_none()
        || outcome.skipped.is_some()
        || same_bytes(path, tmp.path()).map_err(err)?
    {
        return Ok(outcome);
    }
    outcome.changes = if changes.is_empty() { vec!["layout".into()] } else { changes };
    if crate::process::interrupted() {
        return Err(err(io::Error::new(
            io::ErrorKind::Interrupted,
            "interrupted before it was replaced",
        )));
    }
    if !opts.check {
        replace(path, tmp).map_err(err)?;
    }
    Ok(outcome)
}

/// Temporary files are named `.normalize-<pid>-...` beside the file they will replace.
const TMP_PREFIX: &str = ".normalize-";

/// Removes what a killed run left in `dir`: temporary files of processes that are gone.
/// (Ctrl-C and SIGTERM stop a run between reads, and its temporary file is removed.)
fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name.strip_prefix(TMP_PREFIX).and_then(|r| r.split('-').next());
        if pid.is_some_and(crate::process::is_gone) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn write_normal(
    path: &Path,
    head: &[u8],
    kind: Kind,
    opts: &Options,
    out: &mut dyn Write,
    skipped: &mut Option<String>,
    changes: &mut Vec<String>,
) -> io::Result<Option<String>> {
    let allowed = |f| opts.formats.contains(&f);
    match kind {
        Kind::Gzip if allowed(Format::Gzip) || allowed(Format::Tar) => {
            gzip_file(path, head, opts, out, changes)
        }
        Kind::Tar if allowed(Format::Tar) => {
            changes.extend(
                tar::normalize(&mut open(path)?, out, opts.clamp)?.into_iter().map(String::from),
            );
            Ok(Some("tar".to_string()))
        }
        Kind::Xz if allowed(Format::Tar) => xz_tar_file(path, opts.clamp, out, changes),
        Kind::Zip if allowed(Format::Zip) => zip_file(path, opts, out, skipped, changes),
        Kind::Ar if allowed(Format::Ar) => {
            ar_file(&mut open(path)?, out, opts.clamp, changes).map(|()| Some("ar".to_string()))
        }
        _ => Ok(None),
    }
}

fn same_bytes(a: &Path, b: &Path) -> io::Result<bool> {
    if std::fs::metadata(a)?.len() != std::fs::metadata(b)?.len() {
        return Ok(false);
    }
    Ok(archive::hash_stream(open(a)?)?.0 == archive::hash_stream(open(b)?)?.0)
}

fn replace(path: &Path, tmp: tempfile::NamedTempFile) -> io::Result<()> {
    let meta = std::fs::metadata(path)?;
    tmp.as_file().set_permissions(meta.permissions())?;
    tmp.as_file().set_times(std::fs::FileTimes::new().set_modified(meta.modified()?))?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// gzip: a tar inside is normalised and recompressed; anything else keeps its deflate stream
/// and gets a normal header.
fn gzip_file(
    path: &Path,
    head: &[u8],
    opts: &Options,
    out: &mut dyn Write,
    changes: &mut Vec<String>,
) -> io::Result<Option<String>> {
    let h =
        gzip::parse(head).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    let opened = archive::open(open(path)?, 1)?;
    if opened.kind == Kind::Tar && opts.formats.contains(&Format::Tar) {
        // One fixed setting for every recompressed tarball: no name, no time, OS 3, the level.
        let header = gzip::fresh(0, opts.gzip_level);
        let mut gz = GzipWriter::new(out, &header, opts.gzip_level)?;
        let ch = tar::normalize(&mut { opened.stream }, &mut gz, opts.clamp)?;
        gz.finish()?;
        changes.extend(ch.into_iter().map(String::from));
        changes.push(format!("recompressed (deflate level {})", opts.gzip_level));
        return Ok(Some("tar.gz".into()));
    }
    if !opts.formats.contains(&Format::Gzip) {
        return Ok(None);
    }
    let header = gzip::normalized(&h, opts.clamp);
    changes.extend(
        gzip::differences(&h, &gzip::parse(&header).unwrap_or_default())
            .into_iter()
            .map(|d| format!("gzip {}", d.0)),
    );
    out.write_all(&header)?;
    let mut rest = open(path)?;
    io::copy(&mut (&mut rest).take(h.len as u64), &mut io::sink())?;
    io::copy(&mut rest, out)?;
    Ok(Some("gzip".into()))
}

/// The xz preset a normalised `.tar.xz` is recompressed with (xz's default), single-threaded
/// so that the output does not depend on the number of cores.
const XZ_PRESET: u32 = 6;

/// A `.tar.xz`: the tar normalised and recompressed; other xz streams are not handled.
fn xz_tar_file(
    path: &Path,
    clamp: Clamp,
    out: &mut dyn Write,
    changes: &mut Vec<String>,
) -> io::Result<Option<String>> {
    let opened = archive::open(open(path)?, 1)?;
    if opened.kind != Kind::Tar {
        return Ok(None);
    }
    let mut xz = liblzma::write::XzEncoder::new(out, XZ_PRESET);
    let ch = tar::normalize(&mut { opened.stream }, &mut xz, clamp)?;
    xz.finish()?;
    changes.extend(ch.into_iter().map(String::from));
    changes.push(format!("recompressed (xz -{XZ_PRESET})"));
    Ok(Some("tar.xz".into()))
}

/// A gzip member written with a given header: raw deflate, then CRC-32 and size.
pub struct GzipWriter<'a> {
    enc: flate2::write::DeflateEncoder<&'a mut dyn Write>,
    crc: flate2::Crc,
}

impl<'a> GzipWriter<'a> {
    /// Writes `header` and starts the deflate stream at `level`.
    pub fn new(out: &'a mut dyn Write, header: &[u8], level: u32) -> io::Result<Self> {
        out.write_all(header)?;
        Ok(Self {
            enc: flate2::write::DeflateEncoder::new(out, flate2::Compression::new(level)),
            crc: flate2::Crc::new(),
        })
    }

    /// Ends the stream and writes the trailer.
    pub fn finish(self) -> io::Result<()> {
        let out = self.enc.finish()?;
        out.write_all(&self.crc.sum().to_le_bytes())?;
        out.write_all(&self.crc.amount().to_le_bytes())?;
        Ok(())
    }
}

impl Write for GzipWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.enc.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.enc.flush()
    }
}

fn zip_file(
    path: &Path,
    opts: &Options,
    out: &mut dyn Write,
    skipped: &mut Option<String>,
    changes: &mut Vec<String>,
) -> io::Result<Option<String>> {
    let bytes = std::fs::read(path)?;
    let bad = |e: zip::ZipError| io::Error::new(io::ErrorKind::InvalidData, e.to_string());
    let parsed = zip::parse(&bytes).map_err(bad)?;
    if zip::is_signed_jar(&parsed) {
        *skipped =
            Some("a signed jar (META-INF/*.SF): normalising would break its signature".into());
        return Ok(Some("jar".into()));
    }
    let mut what = Vec::new();
    let normal = zip::normalize(&bytes, &parsed, opts.clamp, &mut what).map_err(bad)?;
    changes.extend(what.into_iter().map(String::from));
    out.write_all(normal.as_deref().unwrap_or(&bytes))?;
    Ok(Some("zip".into()))
}

fn ar_file(
    r: &mut dyn Read,
    out: &mut dyn Write,
    clamp: Clamp,
    changes: &mut Vec<String>,
) -> io::Result<()> {
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    out.write_all(&magic)?;
    let mut h = [0u8; ar::HEADER];
    loop {
        match r.read(&mut h[..1])? {
            0 => return Ok(()),
            _ => r.read_exact(&mut h[1..])?,
        }
        let size = ar::parse(&h)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad ar member header"))?
            .size;
        for c in ar::normalize_header(&mut h, clamp) {
            if !changes.iter().any(|x| x == c) {
                changes.push(c.into());
            }
        }
        out.write_all(&h)?;
        let padded = size.next_multiple_of(2);
        if io::copy(&mut r.take(padded), out)? < size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "ar archive ends inside a member",
            ));
        }
    }
}

/// Normalises, in place, every file under `dir` that is an archive of one of `formats` (a
/// descriptor's `normalize:` list); other files are left alone. Returns the outcomes of the
/// files that changed, sorted by path. Used by the build before it hashes `build/out`.
pub fn normalize_tree(
    dir: &Path,
    formats: &[Format],
    clamp: Clamp,
    gzip_level: u32,
) -> Result<Vec<Outcome>, NormalizeError> {
    let opts = Options { clamp, check: false, gzip_level, formats: formats.to_vec() };
    let mut files = Vec::new();
    collect(dir, &mut files).map_err(|source| NormalizeError { path: dir.into(), source })?;
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let o = normalize_file(&f, &opts)?;
        if o.format.is_some() && !o.changes.is_empty() {
            out.push(o);
        }
    }
    Ok(out)
}

/// The formats a descriptor's `normalize:` list may name.
pub const FORMAT_NAMES: [&str; 4] = crate::core::descriptor::NORMALIZE_FORMATS;

/// What a build does before it hashes `build/out` when its descriptor says `normalize: [...]`:
/// every archive of those formats normalised in place, timestamps capped at the build's
/// reference time (`YYYY-MM-DD HH:MM:SS`, UTC). Returns the files that changed.
pub fn build_outputs(
    out: &Path,
    names: &[String],
    reference: &str,
) -> Result<Vec<Outcome>, NormalizeError> {
    let bad = |msg: String| NormalizeError {
        path: out.into(),
        source: io::Error::new(io::ErrorKind::InvalidInput, msg),
    };
    let formats = names
        .iter()
        .map(|n| {
            Format::parse(n).ok_or_else(|| bad(format!("'{n}' is not a format normalize handles")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let time = crate::core::archive::parse_time(reference)
        .ok_or_else(|| bad(format!("reference time '{reference}' is not a time")))?;
    normalize_tree(out, &formats, Clamp { time, overwrite: false }, 6)
}

/// The build's step for a descriptor's `normalize:` list: [`build_outputs`] on `build/out`,
/// telling `info` what it does and each file it changed.
pub fn build_step(
    out: &Path,
    names: &[String],
    reference: &str,
    info: &mut dyn FnMut(&str),
) -> Result<(), NormalizeError> {
    info(&format!("Normalising build/out ({})", names.join(", ")));
    for o in build_outputs(out, names, reference)? {
        let rel = o.path.strip_prefix(out).unwrap_or(&o.path).display().to_string();
        info(&format!("  {rel}: {}", o.changes.join(", ")));
    }
    Ok(())
}

/// The result file's text, recording under `normalized:` the formats whose outputs were
/// normalised before hashing (the descriptor's list: the same for every builder, whatever
/// each one's archives held before). Without any, Gitian's bytes exactly.
///
/// Why one more key is safe: gsign loads the result as an ordered map and appends `release`,
/// `name`, `type` and `optionals` after whatever keys it holds, so `sign` (which does the same)
/// carries `normalized` into the signed assert, where it attests how the hashed outputs were
/// made; gverify reads only `out_manifest`, `release` and `name`, and every reader of these
/// files here looks keys up by name. The value is a list of plain words, written as Psych
/// writes a list (the way `optionals` is).
pub fn result_text(result: &crate::core::assertion::BuildResult, names: &[String]) -> String {
    let mut doc = result.to_document();
    if !names.is_empty() {
        doc.set("normalized", crate::core::assertion::Node::Seq(names.to_vec()));
    }
    doc.render()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let ft = e.file_type()?;
        if ft.is_dir() {
            collect(&e.path(), out)?;
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_records_the_formats() {
        let r = crate::core::assertion::BuildResult {
            out_manifest: "h  a.tar.gz\n".into(),
            ..Default::default()
        };
        assert_eq!(result_text(&r, &[]), r.render());
        let text = result_text(&r, &["tar".into(), "gzip".into()]);
        assert!(
            text.starts_with(&r.render()) && text.ends_with("- normalized:\n  - tar\n  - gzip\n"),
            "{text}"
        );
        // read back, and signed as gsign signs it: the key stays, before gsign's four
        use crate::core::assertion::{Document, Node, to_assert};
        let doc = Document::parse(&text).unwrap();
        assert_eq!(doc.get("normalized"), Some(&Node::Seq(vec!["tar".into(), "gzip".into()])));
        let keys: Vec<String> =
            to_assert(&doc, "v1", "x", None).entries.into_iter().map(|e| e.0).collect();
        assert_eq!(keys[5..], ["normalized", "release", "name", "type", "optionals"]);
        assert_eq!(Format::ALL.map(Format::name), FORMAT_NAMES);
    }

    #[test]
    fn build_outputs_refuses_unknown_formats_and_times() {
        let t = tempfile::tempdir().unwrap();
        let e = build_outputs(t.path(), &["rar".into()], "2020-01-01 00:00:00")
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("'rar' is not a format normalize handles"), "{e}");
        assert!(build_outputs(t.path(), &["tar".into()], "soon").is_err());
        assert!(
            build_outputs(t.path(), &["tar".into()], "2020-01-01 00:00:00").unwrap().is_empty()
        );
    }

    #[test]
    fn tree_normalises_only_the_chosen_formats() {
        let t = tempfile::tempdir().unwrap();
        let sub = t.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        // a gzip of "hi\n" with a stored name and a late mtime, and a text file
        let mut gz = vec![0x1f, 0x8b, 8, 8, 0xff, 0xff, 0xff, 0x7f, 0, 3];
        gz.extend_from_slice(b"a\0");
        gz.extend_from_slice(&[0xcb, 0xc8, 0xe4, 2, 0, 0x7a, 0x7a, 0x6f, 0xed, 3, 0, 0, 0]);
        std::fs::write(sub.join("a.gz"), &gz).unwrap();
        std::fs::write(t.path().join("notes.txt"), "text\n").unwrap();
        let clamp = Clamp { time: 1000, overwrite: false };
        assert!(normalize_tree(t.path(), &[Format::Zip], clamp, 6).unwrap().is_empty());
        let done = normalize_tree(t.path(), &[Format::Gzip], clamp, 6).unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].changes, ["gzip name", "gzip mtime"]);
        let after = std::fs::read(sub.join("a.gz")).unwrap();
        assert_eq!(&after[..10], &[0x1f, 0x8b, 8, 0, 0xe8, 3, 0, 0, 0, 3]);
        assert_eq!(&after[10..], &gz[12..]);
        assert!(normalize_tree(t.path(), &[Format::Gzip], clamp, 6).unwrap().is_empty());
    }
}
