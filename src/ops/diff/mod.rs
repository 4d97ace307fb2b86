//! `git gitian diff`: what differs between two files, two directories (two `build/out`), two
//! result files (their manifests, then the outputs where they are at hand), or two build
//! folders (a directory holding `result/*-res.yml` and `build/out`: a Gitian work directory,
//! or a build `git gitian check` keeps in `var/check/<build-name>/`), compared as their results.
//!
//! Hash first: two files (or two members) are looked inside only when their BLAKE3 differs;
//! archives are read as streams by [`tree`], never extracted to disk. The result is a
//! [`Report`] that `cli::diff` renders and `git gitian check` can show.

pub mod deep;
pub mod tree;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::archive::scan;
use crate::core::assertion::{Document, Node as YamlNode};
use crate::core::diff::{Change, Node, Presence, Report, text};
use crate::core::manifest::Manifest;
use tree::{Blob, Ctx, Source};

/// How far and how deep to look.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// Archives inside archives followed at most this deep.
    pub max_depth: usize,
    /// Members up to this size travel in memory with their hash (larger ones are read again
    /// from their archive when they must be looked inside).
    pub keep: u64,
    /// Largest leaf (ELF, text, binary) compared in memory.
    pub leaf_limit: u64,
    /// Memory for members waiting for their pair when the two sides' orders differ.
    pub pending_budget: u64,
    /// Lines of unified diff shown per text file.
    pub max_text_lines: usize,
    /// Run diffoscope on each differing leaf.
    pub deep: bool,
    /// diffoscope's time per leaf.
    pub deep_timeout: Duration,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            max_depth: 32,
            keep: 32 << 20,
            leaf_limit: 1 << 30,
            pending_budget: 512 << 20,
            max_text_lines: 200,
            deep: false,
            deep_timeout: Duration::from_secs(60),
        }
    }
}

/// Could not compare.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// A path could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// One is a directory, the other not.
    #[error("{a} and {b} are not both files or both directories")]
    Mismatch {
        /// A.
        a: PathBuf,
        /// B.
        b: PathBuf,
    },
    /// A result file is not one.
    #[error("result file {path}: {message}")]
    Result {
        /// The file.
        path: PathBuf,
        /// What is wrong (with its line).
        message: String,
    },
}

fn read_err(path: &Path) -> impl FnOnce(io::Error) -> DiffError + '_ {
    move |source| DiffError::Read { path: path.to_path_buf(), source }
}

/// Compares `a` and `b`: two files, two directories, or two `*-res.yml` result files.
pub fn diff_paths(a: &Path, b: &Path, opts: &DiffOptions) -> Result<Report, DiffError> {
    let ma = std::fs::metadata(a).map_err(read_err(a))?;
    let mb = std::fs::metadata(b).map_err(read_err(b))?;
    let ctx = Ctx { opts, compared: Cell::new(0) };
    let differences = if ma.is_dir() && mb.is_dir() {
        match (results_of(a), results_of(b), kept_out(a), kept_out(b)) {
            (Some(ra), Some(rb), _, _) => compare_builds(&ctx, &ra, &rb)?,
            (_, _, Some(oa), Some(ob)) => compare_dirs(&ctx, &oa, &ob)?,
            _ => compare_dirs(&ctx, a, b)?,
        }
    } else if ma.is_file() && mb.is_file() {
        let name = file_name(a);
        if name.ends_with("-res.yml") && file_name(b).ends_with("-res.yml") {
            compare_results(&ctx, a, b)?
        } else {
            compare_files(&ctx, vec![name], a, b)?.into_iter().collect()
        }
    } else {
        return Err(DiffError::Mismatch { a: a.into(), b: b.into() });
    };
    Ok(Report {
        a: a.display().to_string(),
        b: b.display().to_string(),
        compared: ctx.compared.get(),
        differences,
    })
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn digest_file(path: &Path, keep: u64) -> Result<scan::Digest, DiffError> {
    let mut f =
        io::BufReader::with_capacity(1 << 18, std::fs::File::open(path).map_err(read_err(path))?);
    let size = std::fs::metadata(path).map_err(read_err(path))?.len();
    scan::digest(&mut f, size, keep).map_err(read_err(path))
}

/// Compares two files (hash first, both read at once); None when they are the same.
pub fn compare_files(
    ctx: &Ctx<'_>,
    path: Vec<String>,
    a: &Path,
    b: &Path,
) -> Result<Option<Node>, DiffError> {
    ctx.compared.set(ctx.compared.get() + 1);
    let keep = ctx.opts.keep;
    let (da, db) = std::thread::scope(|s| {
        let other = s.spawn(|| digest_file(b, keep));
        let mine = digest_file(a, keep);
        (
            mine,
            other
                .join()
                .unwrap_or_else(|_| Err(read_err(b)(io::Error::other("reader thread panicked")))),
        )
    });
    let (da, db) = (da?, db?);
    if da.hash == db.hash {
        return Ok(None);
    }
    let ba = Blob { source: Source::File(a.into()), digest: da };
    let bb = Blob { source: Source::File(b.into()), digest: db };
    Ok(Some(tree::compare_blobs(ctx, path, &ba, &bb, 0)))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    File(u32),
    Dir,
    Link(String),
    Other,
}

fn list(root: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) -> Result<(), DiffError> {
    use std::os::unix::fs::PermissionsExt;
    for e in std::fs::read_dir(dir).map_err(read_err(dir))? {
        let e = e.map_err(read_err(dir))?;
        let p = e.path();
        let m = std::fs::symlink_metadata(&p).map_err(read_err(&p))?;
        let rel = p.strip_prefix(root).unwrap_or(&p).to_string_lossy().into_owned();
        let entry = if m.is_dir() {
            list(root, &p, out)?;
            Entry::Dir
        } else if m.file_type().is_symlink() {
            Entry::Link(std::fs::read_link(&p).map_err(read_err(&p))?.display().to_string())
        } else if m.is_file() {
            Entry::File(m.permissions().mode() & 0o7777)
        } else {
            Entry::Other
        };
        out.insert(rel, entry);
    }
    Ok(())
}

fn kind(e: &Entry) -> &'static str {
    match e {
        Entry::File(_) => "file",
        Entry::Dir => "directory",
        Entry::Link(_) => "symlink",
        Entry::Other => "other",
    }
}

fn compare_dirs(ctx: &Ctx<'_>, a: &Path, b: &Path) -> Result<Vec<Node>, DiffError> {
    let (mut la, mut lb) = (BTreeMap::new(), BTreeMap::new());
    list(a, a, &mut la)?;
    list(b, b, &mut lb)?;
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&String> = la.keys().chain(lb.keys()).collect();
    for name in names {
        let node = |presence, changes| Node {
            path: vec![name.clone()],
            presence,
            changes,
            ..Node::default()
        };
        match (la.get(name), lb.get(name)) {
            (Some(_), None) => out.push(node(Presence::OnlyInA, Vec::new())),
            (None, Some(_)) => out.push(node(Presence::OnlyInB, Vec::new())),
            (Some(Entry::File(x)), Some(Entry::File(y))) => {
                let mode = (x != y).then(|| Change::Attribute {
                    name: "mode".into(),
                    a: format!("{x:o}"),
                    b: format!("{y:o}"),
                });
                match compare_files(ctx, vec![name.clone()], &a.join(name), &b.join(name))? {
                    Some(mut n) => {
                        n.changes.splice(0..0, mode);
                        out.push(n);
                    }
                    None if mode.is_some() => {
                        out.push(node(Presence::Both, mode.into_iter().collect()))
                    }
                    None => {}
                }
            }
            (Some(x), Some(y)) => {
                ctx.compared.set(ctx.compared.get() + 1);
                if kind(x) != kind(y) {
                    let c = Change::Attribute {
                        name: "type".into(),
                        a: kind(x).into(),
                        b: kind(y).into(),
                    };
                    out.push(node(Presence::Both, vec![c]));
                } else if let (Entry::Link(p), Entry::Link(q)) = (x, y)
                    && p != q
                {
                    let c = Change::Attribute {
                        name: "link target".into(),
                        a: p.clone(),
                        b: q.clone(),
                    };
                    out.push(node(Presence::Both, vec![c]));
                }
            }
            (None, None) => {}
        }
    }
    Ok(out)
}

/// The result files of a build folder (a directory holding `build/out` and
/// `result/*-res.yml`) by file name; None when `dir` is not one.
fn results_of(dir: &Path) -> Option<BTreeMap<String, PathBuf>> {
    if !dir.join("build/out").is_dir() {
        return None;
    }
    let mut found = BTreeMap::new();
    for e in std::fs::read_dir(dir.join("result")).ok()?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with("-res.yml") && e.path().is_file() {
            found.insert(name, e.path());
        }
    }
    (!found.is_empty()).then_some(found)
}

/// The outputs of a build `git gitian check` keeps without a result file: `<dir>/out` when
/// `dir` holds `out/` and the `manifest` of it (and its log and variations, not compared).
fn kept_out(dir: &Path) -> Option<PathBuf> {
    let out = dir.join("out");
    (out.is_dir() && dir.join("manifest").is_file()).then_some(out)
}

/// Two build folders: each result file of one compared with the one of the same name in the
/// other (its outputs from the `build/out` beside it). With more than one result, a
/// difference's path starts with the result file's name.
fn compare_builds(
    ctx: &Ctx<'_>,
    a: &BTreeMap<String, PathBuf>,
    b: &BTreeMap<String, PathBuf>,
) -> Result<Vec<Node>, DiffError> {
    let several = a.len() > 1 || b.len() > 1;
    let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut out = Vec::new();
    for name in names {
        let at =
            |presence| Node { path: vec![format!("result/{name}")], presence, ..Node::default() };
        match (a.get(name), b.get(name)) {
            (Some(x), Some(y)) => {
                for mut node in compare_results(ctx, x, y)? {
                    if several {
                        node.path.insert(0, format!("result/{name}"));
                    }
                    out.push(node);
                }
            }
            (Some(_), None) => out.push(at(Presence::OnlyInA)),
            (None, _) => out.push(at(Presence::OnlyInB)),
        }
    }
    Ok(out)
}

fn read_result(path: &Path) -> Result<Document, DiffError> {
    let text = std::fs::read_to_string(path).map_err(read_err(path))?;
    Document::parse(&text)
        .map_err(|e| DiffError::Result { path: path.into(), message: e.to_string() })
}

/// Where the output a result names lives: `<dir>/../build/out/<path>` (gbuild's layout).
fn output_of(result: &Path, path: &str) -> PathBuf {
    let dir = result.parent().unwrap_or(Path::new("."));
    dir.join("..").join("build/out").join(path)
}

fn compare_results(ctx: &Ctx<'_>, a: &Path, b: &Path) -> Result<Vec<Node>, DiffError> {
    let (da, db) = (read_result(a)?, read_result(b)?);
    let manifest = |d: &Document| Manifest::parse(d.str("out_manifest").unwrap_or(""));
    let (ma, mb) = (manifest(&da), manifest(&db));
    let mut out = Vec::new();
    let mut names: Vec<&str> =
        ma.entries.iter().chain(&mb.entries).map(|e| e.path.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        ctx.compared.set(ctx.compared.get() + 1);
        let path = vec![name.to_string()];
        match (ma.get(name), mb.get(name)) {
            (Some(_), None) => {
                out.push(Node { path, presence: Presence::OnlyInA, ..Node::default() })
            }
            (None, Some(_)) => {
                out.push(Node { path, presence: Presence::OnlyInB, ..Node::default() })
            }
            (Some(x), Some(y)) if x != y => out.push(compare_outputs(ctx, path, (a, x), (b, y))?),
            _ => {}
        }
    }
    let inputs = |d: &Document| d.str("in_manifest").unwrap_or("").to_string();
    let (ia, ib) = (inputs(&da), inputs(&db));
    if ia != ib {
        let (unified, omitted_lines) =
            text::unified("in_manifest", &ia, &ib, ctx.opts.max_text_lines);
        out.push(Node {
            path: vec!["(in_manifest)".into()],
            changes: vec![Change::Text { unified, omitted_lines }],
            ..Node::default()
        });
    }
    // `normalized:` (ours): which archive formats the build normalised before hashing.
    let normalized = |d: &Document| match d.get("normalized") {
        Some(YamlNode::Seq(v)) => v.join(" "),
        Some(YamlNode::Str(s)) => s.clone(),
        _ => "-".into(),
    };
    let (na, nb) = (normalized(&da), normalized(&db));
    if na != nb {
        out.push(Node {
            path: vec!["(normalized)".into()],
            changes: vec![Change::Attribute { name: "normalized".into(), a: na, b: nb }],
            ..Node::default()
        });
    }
    Ok(out)
}

fn compare_outputs(
    ctx: &Ctx<'_>,
    path: Vec<String>,
    (ra, ha): (&Path, &str),
    (rb, hb): (&Path, &str),
) -> Result<Node, DiffError> {
    let sha = Change::Attribute { name: "sha256 (manifest)".into(), a: ha.into(), b: hb.into() };
    let (fa, fb) = (output_of(ra, &path[0]), output_of(rb, &path[0]));
    let at_hand = |f: &Path, h: &str| crate::ops::base::sha256_file(f).is_ok_and(|x| x == h);
    if !(at_hand(&fa, ha) && at_hand(&fb, hb)) {
        let text = "outputs not at hand: build/out next to each result is missing this file or holds another one".into();
        return Ok(Node { path, changes: vec![sha, Change::Note { text }], ..Node::default() });
    }
    ctx.compared.set(ctx.compared.get().saturating_sub(1));
    let mut node =
        compare_files(ctx, path.clone(), &fa, &fb)?.unwrap_or(Node { path, ..Node::default() });
    node.changes.insert(0, sha);
    Ok(node)
}
