//! Byte accounting between the raw archive and the decoders.
//!
//! Every compressed stream is read as `SourceReader -> decoder -> StreamGuard`.
//! [`SourceReader`] counts the compressed bytes the decoder consumed and remembers
//! whether the *source* (not the decoder) failed; [`StreamGuard`] counts what came
//! out, trips the ratio limit while decompressing, and enforces a moving window
//! that bounds what the tar parser may buffer on its own (long names, pax
//! headers). A trip is recorded in [`StreamState`] and surfaces as an `io::Error`
//! that the walker turns back into [`crate::ArchiveError::Limit`].

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Seek, SeekFrom};
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

impl<R: Seek> Seek for SourceReader<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner
            .seek(pos)
            .inspect_err(|_| self.state.source_failed.set(true))
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
}

impl<R> StreamGuard<R> {
    pub fn new(inner: R, state: Rc<StreamState>, ratio: Option<RatioRule>) -> Self {
        Self {
            inner,
            state,
            out: 0,
            ratio,
        }
    }
}

impl<R: Read> Read for StreamGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
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
