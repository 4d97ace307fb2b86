//! The recursive comparison of two byte sources. Two archives are read at once, each by its
//! own thread that walks the members, hashes them and sends them over a small channel; this
//! thread pairs members by path as they arrive and descends only into pairs whose hashes
//! differ. Small members travel with their bytes; a large one is streamed again from its
//! archive when (and only when) it must be looked inside.

use std::cell::Cell;
use std::collections::HashMap;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use super::{DiffOptions, deep};
use crate::archive::scan::{self, Digest};
use crate::archive::{self, Layer, Stream};
use crate::core::archive::{Kind, detect, gzip};
use crate::core::diff::{self, Change, Content, Meta, Node, Presence, elf, text};

/// Where a blob's bytes can be read (again).
#[derive(Debug, Clone)]
pub enum Source {
    /// A file.
    File(PathBuf),
    /// Bytes in memory.
    Bytes(Arc<Vec<u8>>),
    /// The `occurrence`-th member named `path` of the archive in `parent`.
    Member {
        /// The archive.
        parent: Arc<Source>,
        /// Member path.
        path: String,
        /// 1 for the first member of that name.
        occurrence: usize,
    },
}

struct Shared(Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Source {
    /// A fresh stream of its bytes.
    pub fn open(&self) -> io::Result<Stream> {
        match self {
            Source::File(p) => {
                let f = std::fs::File::open(p)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
                Ok(Box::new(io::BufReader::with_capacity(1 << 18, f)))
            }
            Source::Bytes(b) => Ok(Box::new(io::Cursor::new(Shared(Arc::clone(b))))),
            Source::Member { parent, path, occurrence } => {
                member_stream(Arc::clone(parent), path.clone(), *occurrence)
            }
        }
    }
}

/// Streams one member out of its archive, read anew by a helper thread.
fn member_stream(parent: Arc<Source>, path: String, occurrence: usize) -> io::Result<Stream> {
    let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(4);
    std::thread::spawn(move || {
        let run = || -> io::Result<bool> {
            let opened = archive::open(parent.open()?, 8)?;
            let mut seen = 0;
            let mut found = false;
            let single = single_name(&path);
            scan::walk(opened.kind, opened.stream, &single, &mut |meta, r| {
                if meta.path != path && opened.kind.is_archive() {
                    return Ok(true);
                }
                seen += 1;
                if seen < occurrence {
                    return Ok(true);
                }
                found = true;
                let mut buf = vec![0u8; 1 << 18];
                loop {
                    let n = r.read(&mut buf)?;
                    if n == 0 || tx.send(Ok(buf[..n].to_vec())).is_err() {
                        return Ok(false);
                    }
                }
            })?;
            Ok(found)
        };
        match run() {
            Ok(true) => {}
            Ok(false) => drop(tx.send(Err(io::Error::new(
                io::ErrorKind::NotFound,
                "member not found on second reading",
            )))),
            Err(e) => drop(tx.send(Err(e))),
        }
    });
    Ok(Box::new(ChannelReader { rx, buf: Vec::new(), at: 0 }))
}

struct ChannelReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    at: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.buf.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => (self.buf, self.at) = (chunk, 0),
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The name the one member of a compressed non-archive gets: the outer name without its
/// compression suffix.
pub fn single_name(outer: &str) -> String {
    let base = outer.rsplit('/').next().unwrap_or(outer);
    for ext in [".gz", ".tgz", ".xz", ".bz2", ".zst", ".zstd"] {
        if let Some(stem) = base.strip_suffix(ext) {
            return if ext == ".tgz" { format!("{stem}.tar") } else { stem.to_string() };
        }
    }
    format!("{base} (decompressed)")
}

/// One side of a pair: where it is, and what its first reading found.
#[derive(Debug, Clone)]
pub struct Blob {
    /// Where the bytes are.
    pub source: Source,
    /// Hash, size, first bytes, maybe the bytes.
    pub digest: Digest,
}

impl Blob {
    fn reader_source(&self) -> Source {
        self.digest
            .content
            .as_ref()
            .map_or_else(|| self.source.clone(), |c| Source::Bytes(Arc::clone(c)))
    }

    fn bytes(&self, limit: u64) -> io::Result<Option<Arc<Vec<u8>>>> {
        if let Some(c) = &self.digest.content {
            return Ok(Some(Arc::clone(c)));
        }
        let mut buf = Vec::new();
        self.source.open()?.take(limit + 1).read_to_end(&mut buf)?;
        Ok((buf.len() as u64 <= limit).then(|| Arc::new(buf)))
    }
}

fn content(d: &Digest) -> Content {
    Content { size: d.size, blake3: crate::core::manifest::hex(&d.hash) }
}

/// The walk's state: options and the count of entries compared.
pub struct Ctx<'a> {
    /// Options.
    pub opts: &'a DiffOptions,
    /// Entries compared so far.
    pub compared: Cell<u64>,
}

fn is_container(k: Kind) -> bool {
    k.is_archive() || k.is_compression()
}

/// Compares two blobs whose hashes differ; the node says what differs and holds differing
/// members.
pub fn compare_blobs(ctx: &Ctx<'_>, path: Vec<String>, a: &Blob, b: &Blob, depth: usize) -> Node {
    let (ka, kb) = (detect(&a.digest.head), detect(&b.digest.head));
    let mut node = Node { path, format: ka.name().into(), ..Node::default() };
    node.changes.push(Change::Content { a: content(&a.digest), b: content(&b.digest) });
    if is_container(ka) && is_container(kb) {
        if depth >= ctx.opts.max_depth {
            let text = format!(
                "not looked inside: nested more than {} archives deep (--max-depth)",
                ctx.opts.max_depth
            );
            node.changes.push(Change::Note { text });
        } else {
            let name = node.path.last().cloned().unwrap_or_default();
            compare_containers(
                ctx,
                &mut node,
                (a.reader_source(), b.reader_source()),
                &name,
                depth + 1,
            );
        }
        return node;
    }
    if ka != kb {
        node.changes.push(Change::Attribute {
            name: "format".into(),
            a: ka.name().into(),
            b: kb.name().into(),
        });
    }
    let limit = ctx.opts.leaf_limit;
    let (ba, bb) = match (a.bytes(limit), b.bytes(limit)) {
        (Ok(Some(x)), Ok(Some(y))) => (x, y),
        (Err(e), _) | (_, Err(e)) => {
            node.changes.push(Change::Note { text: format!("cannot read it again: {e}") });
            return node;
        }
        _ => {
            node.changes.push(Change::Note {
                text: format!("not looked inside: larger than {} MiB", limit >> 20),
            });
            return node;
        }
    };
    node.changes.extend(leaf_changes(ctx, &node.display_path(), (ka, &ba), (kb, &bb)));
    node
}

fn leaf_changes(
    ctx: &Ctx<'_>,
    path: &str,
    (ka, a): (Kind, &[u8]),
    (kb, b): (Kind, &[u8]),
) -> Vec<Change> {
    let mut out = Vec::new();
    match (ka, kb) {
        (Kind::Elf, Kind::Elf) => match elf::section_changes(a, b) {
            Ok(sections) => out.push(Change::Sections { sections }),
            Err(e) => out.push(Change::Note { text: e }),
        },
        (Kind::Text, Kind::Text) => {
            let (ta, tb) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
            let (unified, omitted_lines) = text::unified(path, &ta, &tb, ctx.opts.max_text_lines);
            out.push(Change::Text { unified, omitted_lines });
        }
        _ => out.push(Change::Binary { first_difference: diff::first_difference(a, b) }),
    }
    if ctx.opts.deep {
        out.push(deep::run(path, a, b, ctx.opts.deep_timeout));
    }
    out
}

enum Event {
    Start(Vec<Layer>, Kind),
    Member(Box<Meta>, Digest),
    End(Option<[u8; 32]>),
    Failed(String),
}

fn produce(source: Source, single: String, keep: u64) -> Receiver<Event> {
    let (tx, rx) = sync_channel(8);
    std::thread::spawn(move || {
        let run = || -> io::Result<()> {
            let opened = archive::open(source.open()?, 8)?;
            let kind = opened.kind;
            let _ = tx.send(Event::Start(opened.layers, kind));
            let end = scan::walk(kind, opened.stream, &single, &mut |mut meta, r| {
                let d = scan::digest(r, meta.size, keep)?;
                if !kind.is_archive() {
                    meta.size = d.size;
                }
                Ok(tx.send(Event::Member(Box::new(meta), d)).is_ok())
            })?;
            let _ = tx.send(Event::End(end));
            Ok(())
        };
        if let Err(e) = run() {
            let _ = tx.send(Event::Failed(e.to_string()));
        }
    });
    rx
}

fn format_name(layers: &[Layer], kind: Kind) -> String {
    let mut s = kind.name().to_string();
    for l in layers.iter().rev() {
        let ext = match l.kind {
            Kind::Gzip => "gz",
            Kind::Bzip2 => "bz2",
            Kind::Zstd => "zst",
            k => k.name(),
        };
        s = if kind.is_archive() || s != kind.name() {
            format!("{s}.{ext}")
        } else {
            ext.to_string()
        };
    }
    s
}

type Key = (String, usize);

struct Side {
    rx: Receiver<Event>,
    source: Arc<Source>,
    pending: HashMap<Key, (usize, Box<Meta>, Digest)>,
    seen: HashMap<String, usize>,
    order: Vec<String>,
    end: Option<[u8; 32]>,
    done: bool,
}

/// Compares two containers (compressed streams and archives) member by member.
fn compare_containers(
    ctx: &Ctx<'_>,
    node: &mut Node,
    (sa, sb): (Source, Source),
    name: &str,
    depth: usize,
) {
    let keep = ctx.opts.keep;
    let single = single_name(name);
    let mk = |s: Source| Side {
        rx: produce(s.clone(), single.clone(), keep),
        source: Arc::new(s),
        pending: HashMap::new(),
        seen: HashMap::new(),
        order: Vec::new(),
        end: None,
        done: false,
    };
    let (mut a, mut b) = (mk(sa), mk(sb));
    let (la, ka) = match start(&a.rx) {
        Ok(x) => x,
        Err(e) => return node.changes.push(Change::Note { text: format!("cannot read A: {e}") }),
    };
    let (lb, kb) = match start(&b.rx) {
        Ok(x) => x,
        Err(e) => return node.changes.push(Change::Note { text: format!("cannot read B: {e}") }),
    };
    let (fa, fb) = (format_name(&la, ka), format_name(&lb, kb));
    node.format = fa.clone();
    if fa != fb {
        node.changes.push(Change::Attribute { name: "format".into(), a: fa, b: fb });
    }
    if ka != kb {
        return;
    }
    let mut pairing =
        Pairing { children: Vec::new(), budget: ctx.opts.pending_budget as i64, depth };
    while !(a.done && b.done) {
        for side in [0, 1] {
            let (me, other) = if side == 0 { (&mut a, &mut b) } else { (&mut b, &mut a) };
            if me.done {
                continue;
            }
            match me.rx.recv() {
                Ok(Event::Member(meta, d)) => pairing.member(ctx, node, side, (me, other), meta, d),
                Ok(Event::End(h)) => (me.end, me.done) = (h, true),
                Ok(Event::Failed(e)) => {
                    let who = if side == 0 { "A" } else { "B" };
                    node.changes
                        .push(Change::Note { text: format!("cannot read {who} to its end: {e}") });
                    me.done = true;
                }
                Ok(Event::Start(..)) | Err(_) => me.done = true,
            }
        }
    }
    finish(ctx, node, (&mut a, &mut b), (&la, &lb), pairing.children);
}

/// Members waiting for their pair, and the differing pairs found so far.
struct Pairing {
    children: Vec<((u8, usize), Node)>,
    /// Bytes of member content that may still wait in memory for a pair.
    budget: i64,
    depth: usize,
}

impl Pairing {
    /// One member from `side` (0: A): compared with its pair when the other side has sent it,
    /// else kept waiting (without its bytes once the budget is spent).
    fn member(
        &mut self,
        ctx: &Ctx<'_>,
        node: &Node,
        side: usize,
        (me, other): (&mut Side, &mut Side),
        meta: Box<Meta>,
        d: Digest,
    ) {
        let n = me.seen.entry(meta.path.clone()).or_default();
        *n += 1;
        let key = (meta.path.clone(), *n);
        me.order.push(meta.path.clone());
        let idx = me.order.len() - 1;
        let Some((oidx, ometa, od)) = other.pending.remove(&key) else {
            let mut d = d;
            let size = d.content.as_ref().map_or(0, |c| c.len() as i64);
            if self.budget < size {
                d.content = None;
            } else {
                self.budget -= size;
            }
            me.pending.insert(key, (idx, meta, d));
            return;
        };
        self.budget += od.content.as_ref().map_or(0, |c| c.len() as i64);
        let (x, y) = if side == 0 {
            ((idx, meta, d), (oidx, ometa, od))
        } else {
            ((oidx, ometa, od), (idx, meta, d))
        };
        let srcs = a_src(side, me, other);
        if let Some(child) = compare_pair(ctx, node, &srcs, key.1, x.1, x.2, y.1, y.2, self.depth) {
            self.children.push(((0, x.0), child));
        }
    }
}

fn a_src(side: usize, me: &Side, other: &Side) -> (Arc<Source>, Arc<Source>) {
    if side == 0 {
        (Arc::clone(&me.source), Arc::clone(&other.source))
    } else {
        (Arc::clone(&other.source), Arc::clone(&me.source))
    }
}

fn start(rx: &Receiver<Event>) -> Result<(Vec<Layer>, Kind), String> {
    match rx.recv() {
        Ok(Event::Start(l, k)) => Ok((l, k)),
        Ok(Event::Failed(e)) => Err(e),
        _ => Err("no data".into()),
    }
}

#[allow(clippy::too_many_arguments)]
fn compare_pair(
    ctx: &Ctx<'_>,
    parent: &Node,
    (pa, pb): &(Arc<Source>, Arc<Source>),
    occurrence: usize,
    ma: Box<Meta>,
    da: Digest,
    mb: Box<Meta>,
    db: Digest,
    depth: usize,
) -> Option<Node> {
    ctx.compared.set(ctx.compared.get() + 1);
    let mut changes = diff::meta_changes(&ma, &mb);
    let differs = da.hash != db.hash;
    if !differs && changes.is_empty() {
        return None;
    }
    let mut path = parent.path.clone();
    path.push(ma.path.clone());
    if differs && ma.kind == "file" && mb.kind == "file" {
        changes.retain(|c| !matches!(c, Change::Attribute { name, .. } if name == "size"));
        let member = |p: &Arc<Source>| Source::Member {
            parent: Arc::clone(p),
            path: ma.path.clone(),
            occurrence,
        };
        let a = Blob { source: member(pa), digest: da };
        let b = Blob { source: member(pb), digest: db };
        let mut node = compare_blobs(ctx, path, &a, &b, depth);
        changes.append(&mut node.changes);
        node.changes = changes;
        return Some(node);
    }
    if differs {
        changes.push(Change::Content { a: content(&da), b: content(&db) });
    }
    Some(Node {
        path,
        format: String::new(),
        presence: Presence::Both,
        changes,
        children: Vec::new(),
    })
}

fn finish(
    ctx: &Ctx<'_>,
    node: &mut Node,
    (a, b): (&mut Side, &mut Side),
    (la, lb): (&[Layer], &[Layer]),
    mut children: Vec<((u8, usize), Node)>,
) {
    for (side, presence) in [(&mut *a, Presence::OnlyInA), (&mut *b, Presence::OnlyInB)] {
        for ((path, _), (idx, meta, d)) in side.pending.drain() {
            ctx.compared.set(ctx.compared.get() + 1);
            let mut p = node.path.clone();
            p.push(path);
            let c = Change::Content { a: content(&d), b: content(&d) };
            let changes =
                if meta.kind == "file" { vec![only_content(c, presence)] } else { Vec::new() };
            let rank = if presence == Presence::OnlyInA { 0 } else { 1 };
            children.push((
                (rank, idx),
                Node { path: p, format: String::new(), presence, changes, children: Vec::new() },
            ));
        }
    }
    let oa: Vec<&str> = a.order.iter().map(String::as_str).collect();
    let ob: Vec<&str> = b.order.iter().map(String::as_str).collect();
    if let Some(c) = diff::order_change(&oa, &ob) {
        node.changes.push(c);
    }
    let same_contents = a.end.is_some() && a.end == b.end;
    for (x, y) in la.iter().zip(lb) {
        let fields: Vec<(String, String, String)> = match (&x.gzip, &y.gzip) {
            (Some(gx), Some(gy)) => gzip::differences(gx, gy)
                .into_iter()
                .map(|(f, p, q)| (f.to_string(), p, q))
                .collect(),
            _ => Vec::new(),
        };
        if !fields.is_empty() || (same_contents && x.kind == y.kind) {
            node.changes.push(Change::Compression {
                layer: x.kind.name().into(),
                same_contents,
                fields,
            });
            break;
        }
    }
    children.sort_by_key(|(k, _)| *k);
    node.children = children.into_iter().map(|(_, n)| n).collect();
    if node.children.is_empty() && node.changes.iter().all(|c| matches!(c, Change::Content { .. }))
    {
        let text = "every member is the same; the archive's own bytes differ (padding, header encoding or end blocks)";
        node.changes.push(Change::Note { text: text.into() });
    }
}

fn only_content(c: Change, presence: Presence) -> Change {
    match (c, presence) {
        (Change::Content { a, .. }, Presence::OnlyInA) => Change::Attribute {
            name: "content".into(),
            a: format!("{} bytes", a.size),
            b: "-".into(),
        },
        (Change::Content { b, .. }, _) => Change::Attribute {
            name: "content".into(),
            a: "-".into(),
            b: format!("{} bytes", b.size),
        },
        (c, _) => c,
    }
}
