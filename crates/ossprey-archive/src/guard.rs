//! Byte accounting between the raw archive and the decoders.
//!
//! Every compressed stream is read as `SourceReader -> decoder -> StreamGuard`
//! (for tar streams with a small `BufReader` of decompressed bytes before the
//! guard, which large reads bypass).
//! [`SourceReader`] counts the compressed bytes the decoder consumed and remembers
//! whether the *source* (not the decoder) failed; [`StreamGuard`] counts what came
//! out, trips the ratio limit while decompressing, and enforces a moving window
//! that bounds what the tar parser may buffer on its own (long names, pax
//! headers). A trip is recorded in [`StreamState`] and surfaces as an `io::Error`
//! that the walker turns back into [`crate::ArchiveError::Limit`].

use std::cell::{Cell, RefCell};
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::rc::Rc;

use crate::LimitKind;

/// Shared between the reader wrappers of one stream and the walker.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    /// Compressed bytes read from the source so far.
    pub source_bytes: Cell<u64>,
    /// The source itself (file, memory) returned an error.
    pub source_failed: Cell<bool>,
    /// A limit tripped inside a reader: which, and a sentence about it.
    pub trip: RefCell<Option<(LimitKind, String)>>,
    /// Decompressed offset past which reads fail (the tar metadata window).
    pub window_end: Cell<u64>,
    /// Decompressed bytes produced by the stream's guard so far.
    pub produced: Cell<u64>,
}

impl StreamState {
    pub fn new() -> Rc<Self> {
        Rc::new(Self {
            window_end: Cell::new(u64::MAX),
            ..Self::default()
        })
    }

    pub fn trip(&self, kind: LimitKind, detail: String) -> io::Error {
        *self.trip.borrow_mut() = Some((kind, detail.clone()));
        io::Error::other(detail)
    }

    pub fn take_trip(&self) -> Option<(LimitKind, String)> {
        self.trip.borrow_mut().take()
    }
}

/// Counts the bytes read from the raw archive.
#[derive(Debug)]
pub(crate) struct SourceReader<R> {
    inner: R,
    state: Rc<StreamState>,
}

impl<R> SourceReader<R> {
    pub fn new(inner: R, state: Rc<StreamState>) -> Self {
        Self { inner, state }
    }
}

impl<R: Read> Read for SourceReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                let s = &self.state.source_bytes;
                s.set(s.get().saturating_add(n as u64));
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.state.source_failed.set(true);
                }
                Err(e)
            }
        }
    }
}

/// Buffered sources count what the decoder *consumed*, not what was buffered
/// ahead, so the ratio is exact and no second buffer sits between the source
/// and a `bufread` decoder.
impl<R: BufRead> BufRead for SourceReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self.inner.fill_buf() {
            Ok(buf) => Ok(buf),
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.state.source_failed.set(true);
                }
                Err(e)
            }
        }
    }

    fn consume(&mut self, amt: usize) {
        let s = &self.state.source_bytes;
        s.set(s.get().saturating_add(amt as u64));
        self.inner.consume(amt);
    }
}

impl<R: Seek> Seek for SourceReader<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner
            .seek(pos)
            .inspect_err(|_| self.state.source_failed.set(true))
    }
}

/// Fills `buf` from `reader` until it is full or the reader is at EOF;
/// returns how much was read.
pub(crate) fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => filled = filled.saturating_add(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The guard's stream without the peeked bytes (for [`StreamGuard::peek`]).
struct Inner<'a, R>(&'a mut StreamGuard<R>);

impl<R: Read> Read for Inner<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read_inner(buf)
    }
}

/// Ratio rule for one compressed stream.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RatioRule {
    pub max_ratio: u64,
    pub floor: u64,
    /// `source_bytes` when this stream started (zip entries share one source).
    pub source_base: u64,
}

/// Counts decompressed bytes and enforces the ratio and the window.
#[derive(Debug)]
pub(crate) struct StreamGuard<R> {
    inner: R,
    state: Rc<StreamState>,
    out: u64,
    ratio: Option<RatioRule>,
    /// Bytes read ahead by [`Self::peek`] and not yet handed out.
    ahead: Vec<u8>,
    ahead_pos: usize,
}

impl<R> StreamGuard<R> {
    pub fn new(inner: R, state: Rc<StreamState>, ratio: Option<RatioRule>) -> Self {
        Self {
            inner,
            state,
            out: 0,
            ratio,
            ahead: Vec::new(),
            ahead_pos: 0,
        }
    }

    /// Offset of the next byte [`Read::read`] hands out.
    fn position(&self) -> u64 {
        let pending = self.ahead.len().saturating_sub(self.ahead_pos);
        self.out.saturating_sub(pending as u64)
    }
}

impl<R: Read> StreamGuard<R> {
    /// The first `n` bytes of the stream (fewer at EOF), read through the
    /// guard and handed out again by the following reads. Only at the start.
    pub fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        let mut ahead = vec![0u8; n];
        let filled = read_full(&mut Inner(self), &mut ahead)?;
        ahead.truncate(filled);
        self.ahead = ahead;
        self.ahead_pos = 0;
        Ok(&self.ahead)
    }
}

impl<R: Read> Read for StreamGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(pending) = self.ahead.get(self.ahead_pos..)
            && !pending.is_empty()
        {
            let n = pending.len().min(buf.len());
            if let (Some(dst), Some(src)) = (buf.get_mut(..n), pending.get(..n)) {
                dst.copy_from_slice(src);
            }
            self.ahead_pos = self.ahead_pos.saturating_add(n);
            if self.ahead_pos >= self.ahead.len() {
                self.ahead = Vec::new();
                self.ahead_pos = 0;
            }
            return Ok(n);
        }
        self.read_inner(buf)
    }
}

impl<R: Read> StreamGuard<R> {
    fn read_inner(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let room = self.state.window_end.get().saturating_sub(self.out);
        if room == 0 {
            return Err(self.state.trip(
                LimitKind::TotalBytes,
                format!(
                    "tar extension headers (long name / pax) larger than {} bytes",
                    crate::tar_reader::META_WINDOW
                ),
            ));
        }
        let want = usize::try_from(room).unwrap_or(usize::MAX).min(buf.len());
        let Some(slice) = buf.get_mut(..want) else {
            return Ok(0);
        };
        let n = self.inner.read(slice)?;
        self.out = self.out.saturating_add(n as u64);
        self.state.produced.set(self.out);
        if let Some(rule) = self.ratio
            && self.out > rule.floor
        {
            let consumed = self
                .state
                .source_bytes
                .get()
                .saturating_sub(rule.source_base)
                .max(1);
            if self.out > consumed.saturating_mul(rule.max_ratio) {
                return Err(self.state.trip(
                    LimitKind::Ratio,
                    format!(
                        "{} bytes decompressed from {} compressed bytes, ratio above max_ratio = {}",
                        self.out, consumed, rule.max_ratio
                    ),
                ));
            }
        }
        Ok(n)
    }
}

/// Forward-only "seek" for the tar parser, which skips entry padding with
/// `SeekFrom::Current` when its reader can seek (instead of zeroing a 32 KiB
/// buffer per entry). The bytes are read and discarded through [`Read::read`],
/// so the window and the ratio still apply; the position returned is the
/// decompressed offset, which is what the tar parser counts too.
impl<R: Read> Seek for StreamGuard<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let SeekFrom::Current(delta) = pos else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "stream can only skip forward",
            ));
        };
        let Ok(mut left) = u64::try_from(delta) else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "stream can only skip forward",
            ));
        };
        let mut scratch = [0u8; 512];
        while left > 0 {
            let want = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(scratch.len());
            let Some(slice) = scratch.get_mut(..want) else {
                break;
            };
            match self.read(slice) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "unexpected EOF during skip",
                    ));
                }
                Ok(n) => left = left.saturating_sub(n as u64),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.position())
    }
}
