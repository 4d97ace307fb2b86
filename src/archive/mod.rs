//! Streaming readers: compression layers peeled off a byte stream, and the members of tar, ar
//! and zip archives read one after the other, each hashed (BLAKE3) as it passes and kept in
//! memory only when small. Nothing is ever written to disk.

pub mod scan;

use std::io::{self, Read};

use crate::core::archive::{Kind, detect, gzip};

/// A readable stream that can move to another thread.
pub type Stream = Box<dyn Read + Send>;

/// Bytes looked at to recognise a stream.
pub const HEAD: usize = 512;

/// Reads up to `n` bytes from the start of `r` and returns them with a reader that still
/// yields the whole stream.
pub fn peek(mut r: Stream, n: usize) -> io::Result<(Vec<u8>, Stream)> {
    let mut head = Vec::with_capacity(n);
    (&mut r).take(n as u64).read_to_end(&mut head)?;
    let again = io::Cursor::new(head.clone());
    Ok((head, Box::new(again.chain(r))))
}

/// One compression layer around a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// gzip, xz, bzip2 or zstd.
    pub kind: Kind,
    /// The gzip header, for gzip.
    pub gzip: Option<gzip::Header>,
}

/// A decompressing reader for one layer.
pub fn decoder(kind: Kind, r: Stream) -> io::Result<Stream> {
    Ok(match kind {
        Kind::Gzip => {
            Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::with_capacity(1 << 17, r)))
        }
        Kind::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(r)),
        Kind::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
        Kind::Zstd => Box::new(
            ruzstd::decoding::StreamingDecoder::new(io::BufReader::new(r))
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?,
        ),
        _ => r,
    })
}

/// A stream with its compression layers (outermost first) taken off: what is inside, its first
/// bytes, and a reader of all of it.
pub struct Opened {
    /// The layers taken off.
    pub layers: Vec<Layer>,
    /// What the innermost stream is.
    pub kind: Kind,
    /// Its first bytes.
    pub head: Vec<u8>,
    /// The innermost stream from its start.
    pub stream: Stream,
}

/// Takes off every compression layer of `r` (at most `max_layers`).
pub fn open(r: Stream, max_layers: usize) -> io::Result<Opened> {
    let (mut head, mut stream) = peek(r, 64 * 1024)?;
    let mut layers = Vec::new();
    loop {
        let kind = detect(&head[..head.len().min(HEAD)]);
        if !kind.is_compression() || layers.len() >= max_layers {
            head.truncate(HEAD);
            return Ok(Opened { layers, kind, head, stream });
        }
        let gz = (kind == Kind::Gzip).then(|| gzip::parse(&head).ok()).flatten();
        layers.push(Layer { kind, gzip: gz });
        (head, stream) = peek(decoder(kind, stream)?, HEAD)?;
    }
}

/// A reader that hashes what passes through it.
pub struct Hashing<R> {
    inner: R,
    hasher: blake3::Hasher,
    /// Bytes read so far.
    pub count: u64,
}

impl<R: Read> Hashing<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Self { inner, hasher: blake3::Hasher::new(), count: 0 }
    }

    /// Reads the rest of the stream and returns the hash of everything.
    pub fn finish(mut self) -> io::Result<[u8; 32]> {
        io::copy(&mut self, &mut io::sink())?;
        Ok(*self.hasher.finalize().as_bytes())
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// BLAKE3 of everything `r` yields, and its length.
pub fn hash_stream(mut r: impl Read) -> io::Result<([u8; 32], u64)> {
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 18];
    let mut n = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok((*h.finalize().as_bytes(), n)),
            Ok(k) => {
                h.update(&buf[..k]);
                n += k as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
