//! Decompression shared by the `file` and `aws_s3` sources: which codec a stream uses (magic bytes,
//! then its name), the streaming decoders (`async-compression`, gzip with several members, zstd
//! with several frames), and [`Capped`], the byte cap that stops a decompression bomb and the
//! stored-size cap of S3 objects.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
use prometheus::IntCounter;
use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};

use crate::errors::ErrorType;

/// The default `max_decompressed_bytes` of the sources that decompress (50 GiB): far above any
/// real log file or object, far below what a bomb would inflate to.
pub(crate) const DEFAULT_MAX_DECOMPRESSED_BYTES: u64 = 50 * 1024 * 1024 * 1024;

/// A compression the sources decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    /// gzip (RFC 1952), one member or several.
    Gzip,
    /// Zstandard, one frame or several.
    Zstd,
}

impl Codec {
    /// The codec whose magic bytes start `head` (gzip `1f 8b`, zstd `28 b5 2f fd`).
    pub(crate) fn sniff(head: &[u8]) -> Option<Codec> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Codec::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Codec::Zstd)
        } else {
            None
        }
    }

    /// The codec a file name or object key says (`.gz`, `.gzip`, `.zst`, `.zstd`, any case).
    pub(crate) fn from_name(name: &str) -> Option<Codec> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".gz") || lower.ends_with(".gzip") {
            Some(Codec::Gzip)
        } else if lower.ends_with(".zst") || lower.ends_with(".zstd") {
            Some(Codec::Zstd)
        } else {
            None
        }
    }

    /// A streaming decoder of `input`.
    pub(crate) fn decoder<R>(self, input: R) -> Box<dyn AsyncRead + Unpin + Send>
    where
        R: AsyncBufRead + Unpin + Send + 'static,
    {
        match self {
            Codec::Gzip => {
                let mut d = GzipDecoder::new(input);
                d.multiple_members(true);
                Box::new(d)
            }
            Codec::Zstd => {
                let mut d = ZstdDecoder::new(input);
                d.multiple_members(true);
                Box::new(d)
            }
        }
    }
}

/// Marks errors of the stream under the decoder (a connection, a disk), as opposed to the
/// errors of the data itself.
#[derive(Debug)]
pub(crate) struct Transport(pub(crate) io::Error);

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "reading the body: {}", self.0)
    }
}
impl std::error::Error for Transport {}

/// A byte cap was exceeded.
#[derive(Debug)]
pub(crate) struct CapExceeded {
    /// `ObjectTooLarge` (stored bytes) or `DecompressedTooLarge`.
    pub(crate) kind: ErrorType,
    /// The cap.
    pub(crate) limit: u64,
}

impl std::fmt::Display for CapExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            ErrorType::ObjectTooLarge => {
                write!(f, "object larger than max_object_bytes ({})", self.limit)
            }
            _ => write!(
                f,
                "decompresses to more than max_decompressed_bytes ({})",
                self.limit
            ),
        }
    }
}
impl std::error::Error for CapExceeded {}

/// Counts the bytes read through it and fails once more than `limit` were read. With
/// `transport`, errors of the inner reader are tagged as [`Transport`].
pub(crate) struct Capped<R> {
    inner: R,
    read: u64,
    limit: u64,
    kind: ErrorType,
    counters: Vec<IntCounter>,
    transport: bool,
}

impl<R> Capped<R> {
    /// Caps `inner` at `limit` bytes, reported as `kind`; `counters` count the bytes read.
    pub(crate) fn new(
        inner: R,
        limit: u64,
        kind: ErrorType,
        counters: Vec<IntCounter>,
        transport: bool,
    ) -> Self {
        Self {
            inner,
            read: 0,
            limit,
            kind,
            counters,
            transport,
        }
    }

    /// Bytes read through the cap so far.
    #[cfg(test)]
    pub(crate) fn bytes_read(&self) -> u64 {
        self.read
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Capped<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let n = (buf.filled().len() - before) as u64;
                if self.read + n > self.limit {
                    // Over the cap: hand out none of these bytes (a failed read reads nothing).
                    buf.set_filled(before);
                    self.read = self.limit + 1;
                    return Poll::Ready(Err(io::Error::other(CapExceeded {
                        kind: self.kind,
                        limit: self.limit,
                    })));
                }
                self.read += n;
                for counter in &self.counters {
                    counter.inc_by(n);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) if self.transport => {
                Poll::Ready(Err(io::Error::other(Transport(e))))
            }
            other => other,
        }
    }
}

/// What a read error of a decompressed stream means.
#[derive(Debug)]
pub(crate) enum StreamError {
    /// The stream under the decoder failed (a connection, a disk): may pass on retry.
    Transport(String),
    /// A cap was exceeded: `DecompressedTooLarge` or `ObjectTooLarge`.
    Cap(ErrorType, String),
    /// The data does not decompress (truncated, corrupt).
    Corrupt(String),
}

impl StreamError {
    /// Sorts a read error of a [`Capped`] decoder stack.
    pub(crate) fn of(error: io::Error) -> StreamError {
        if let Some(inner) = error.get_ref() {
            if let Some(cap) = inner.downcast_ref::<CapExceeded>() {
                return StreamError::Cap(cap.kind, cap.to_string());
            }
            if inner.downcast_ref::<Transport>().is_some() {
                return StreamError::Transport(error.to_string());
            }
        }
        StreamError::Corrupt(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_are_known_by_magic_bytes_and_by_name() {
        assert_eq!(Codec::sniff(&[0x1f, 0x8b, 8, 0]), Some(Codec::Gzip));
        assert_eq!(
            Codec::sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Some(Codec::Zstd)
        );
        assert_eq!(Codec::sniff(b"2 123456789012 eni-"), None);
        assert_eq!(Codec::from_name("a/b.log.GZ"), Some(Codec::Gzip));
        assert_eq!(Codec::from_name("x.json.zst"), Some(Codec::Zstd));
        assert_eq!(Codec::from_name("x.zstd"), Some(Codec::Zstd));
        assert_eq!(Codec::from_name("x.log"), None);
    }
}
