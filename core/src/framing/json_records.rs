//! A streaming splitter for JSON documents whose records sit in a top-level array — CloudTrail's
//! `{"Records":[ event, event, ... ]}` log files. (The JSON → vrl conversion the AWS parsers apply
//! to each element lives in `weir-transforms`.)
//!
//! [`RecordsSplitter`] is an incremental state machine: feed it byte chunks of any size, cut
//! anywhere (inside strings, escapes, numbers, keys), and it appends the raw bytes of each array
//! element to `out` as soon as the element is complete ([`RecordsSplitter::push`]; with their
//! stream offsets and in-band oversize reports: [`RecordsSplitter::push_elements`]). It never
//! holds the whole document: memory
//! is one element being assembled (bounded by [`SplitterConfig::max_record_size`]), the bracket
//! nesting stack of that element, and the few bytes of a document's opening (`{"Records":[`).
//!
//! # Accepted input
//!
//! A stream of zero or more documents separated by optional whitespace (newline-delimited files of
//! `{"Records":[...]}` objects work, as do documents that are simply concatenated). Each document is
//! * an object whose **first** key is the records key (`Records` by default) with an array value;
//!   keys after the array are scanned and ignored (their values are never buffered); or
//! * a bare top-level array `[ ... ]` when [`SplitterConfig::allow_bare_array`] is set (default);
//!   with [`SplitterConfig::bare_array_objects_only`], only if its first element is an object or
//!   an array (so text lines such as `[INFO] ...` are not taken for JSON).
//!
//! Each emitted element is the exact byte range of the element (no surrounding whitespace or
//! commas). Elements are split off one growing buffer, so consecutive elements may share an
//! allocation (freed when the last of them is dropped). The splitter checks bracket nesting and
//! string/escape boundaries, not full JSON validity: an element that is not valid JSON is emitted
//! anyway, and the record parser reports it.
//!
//! # Resuming inside a document
//!
//! A document cannot be entered in the middle (its opening decides how it is read), so a reader
//! that checkpoints inside a document records the document's first byte
//! ([`RecordsSplitter::document_offset`]) and how many of its elements it already handled
//! ([`RecordsSplitter::document_elements`]); to resume, it reads again from the document's first
//! byte with [`RecordsSplitter::skip_elements`] set to that count.
//!
//! # Errors and fallback
//!
//! * [`SplitError::NotRecordsDocument`]: a document does not have that shape (first byte not `{`
//!   or `[`, first key not the records key, records value not an array, or — with
//!   [`SplitterConfig::bare_array_objects_only`] — a bare array whose first element is not an
//!   object or array). The decision is taken within the document's first key (first element), so
//!   only a few bytes are held. The error carries
//!   `unconsumed`: every byte of that document seen so far, including the rest of the chunk just
//!   pushed, so the caller can hand `unconsumed` and all later chunks to line framing (for example
//!   CloudTrail digest files, newline-delimited events, or plain text logs). Elements of earlier
//!   documents were already appended to `out`. The splitter is then finished (see below).
//! * [`SplitError::RecordTooLarge`]: an element exceeded `max_record_size`. It is skipped (its
//!   bytes are scanned, not buffered); the rest of the chunk is still processed and **the splitter
//!   stays usable**: keep pushing. ([`RecordsSplitter::push_elements`] reports every such element
//!   in-band as [`Element::TooLarge`] instead.)
//! * [`SplitError::Syntax`]: a structural error (mismatched brackets, missing comma, ...).
//! * [`SplitError::Truncated`]: [`RecordsSplitter::finish`] was called inside a document.
//!
//! After `NotRecordsDocument`, `Syntax` or `Truncated`, every later call returns the same error
//! until [`RecordsSplitter::reset`] is called.

use bytes::{Bytes, BytesMut};

/// Default [`SplitterConfig::max_record_size`]: 16 MiB.
pub const DEFAULT_MAX_RECORD_SIZE: usize = 16 * 1024 * 1024;

/// The opening of a document (`{"Records":[` plus whitespace) may be this long even when the
/// maximum record size is smaller.
const MAX_PRELUDE: usize = 64 * 1024;

/// Configuration of a [`RecordsSplitter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitterConfig {
    /// The key of the records array in a top-level object (`Records` for CloudTrail).
    pub records_key: String,
    /// Also accept documents that are a bare top-level array.
    pub allow_bare_array: bool,
    /// Accept a bare top-level array only if its first element is an object or an array (or it is
    /// empty); otherwise it is a [`SplitError::NotRecordsDocument`]. For input that may be text
    /// (log lines such as `[INFO] started` or `[Mon Jan 01 ...] [error] ...`). Default false.
    pub bare_array_objects_only: bool,
    /// The largest element emitted; larger ones are skipped with [`SplitError::RecordTooLarge`].
    pub max_record_size: usize,
}

impl Default for SplitterConfig {
    fn default() -> Self {
        Self {
            records_key: "Records".to_owned(),
            allow_bare_array: true,
            bare_array_objects_only: false,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
        }
    }
}

/// Why [`RecordsSplitter`] could not split the input. Offsets count bytes from the start of the
/// stream (all chunks pushed since creation or the last [`RecordsSplitter::reset`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// The document starting at `offset` is not a records document; fall back to other framing.
    #[error("not a records document at byte {offset}: {reason}")]
    NotRecordsDocument {
        /// Stream offset of the document's first byte.
        offset: u64,
        /// What did not match.
        reason: &'static str,
        /// Every byte of that document seen so far, up to the end of the last chunk pushed.
        unconsumed: Bytes,
    },
    /// The element starting at `offset` is larger than `limit` bytes; it was skipped.
    #[error("record at byte {offset} is larger than {limit} bytes; skipped")]
    RecordTooLarge {
        /// Stream offset of the element's first byte.
        offset: u64,
        /// The configured maximum record size.
        limit: usize,
    },
    /// The input is not well-formed JSON at `offset`.
    #[error("invalid JSON at byte {offset}: {message}")]
    Syntax {
        /// Stream offset of the offending byte.
        offset: u64,
        /// What is wrong.
        message: &'static str,
    },
    /// The input ended inside a document.
    #[error("input ends inside a document at byte {offset}")]
    Truncated {
        /// Stream offset of the end of input.
        offset: u64,
    },
}

/// One array element, as handed out by [`RecordsSplitter::push_elements`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Element {
    /// A complete element.
    Record {
        /// Stream offset of the element's first byte.
        offset: u64,
        /// The element's exact bytes.
        bytes: Bytes,
    },
    /// An element larger than [`SplitterConfig::max_record_size`]; its bytes were skipped.
    TooLarge {
        /// Stream offset of the element's first byte.
        offset: u64,
        /// The configured maximum record size.
        limit: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between documents: skipping whitespace.
    BetweenDocs,
    /// After a top-level `{`: expecting the first key.
    ObjStart,
    /// Inside the first key, comparing it with the records key.
    FirstKey,
    /// After the first key: expecting `:`.
    AfterFirstKey,
    /// After `:`: expecting `[`.
    BeforeArray,
    /// After `[`: expecting an element or `]`.
    ArrayStart,
    /// After `,` in the array: expecting an element.
    ArrayNext,
    /// Inside an element.
    Element,
    /// After an element: expecting `,` or `]`.
    AfterElement,
    /// After the records array of an object: expecting `,` or `}`.
    AfterArray,
    /// After `,` in the top-level object: expecting a key.
    ObjKeyStart,
    /// Inside a later key (skipped).
    ObjKey,
    /// After a later key: expecting `:`.
    ObjAfterKey,
    /// Expecting a later value.
    ObjValueStart,
    /// Inside a later value (skipped, not buffered).
    ObjValue,
    /// After a later value: expecting `,` or `}`.
    ObjAfterValue,
}

impl State {
    /// States in which the document's opening bytes are kept for a `NotRecordsDocument` fallback.
    fn in_prelude(self) -> bool {
        matches!(
            self,
            Self::ObjStart | Self::FirstKey | Self::AfterFirstKey | Self::BeforeArray
        )
    }
}

/// Tracks strings, escapes and bracket nesting of one JSON value.
#[derive(Debug, Default)]
struct Scanner {
    /// Expected closing brackets.
    stack: Vec<u8>,
    in_string: bool,
    escape: bool,
    /// Inside a top-level scalar (number, `true`, ...).
    scalar: bool,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_scalar_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')
}

impl Scanner {
    fn reset(&mut self) {
        self.stack.clear();
        self.in_string = false;
        self.escape = false;
        self.scalar = false;
    }

    /// Scans `chunk` from `i`. Returns `(end, true)` when the value is complete (`end` exclusive;
    /// a scalar's terminating delimiter is not consumed), or `(chunk.len(), false)` if the value
    /// continues in the next chunk. `Err((index, message))` on a structural error.
    fn scan(&mut self, chunk: &[u8], mut i: usize) -> Result<(usize, bool), (usize, &'static str)> {
        let len = chunk.len();
        if self.escape {
            if i >= len {
                return Ok((len, false));
            }
            self.escape = false;
            i += 1;
        }
        while let Some(&b) = chunk.get(i) {
            if self.in_string {
                let rest = chunk.get(i..).unwrap_or_default();
                match memchr::memchr2(b'"', b'\\', rest) {
                    None => return Ok((len, false)),
                    Some(rel) => {
                        let p = i + rel;
                        if chunk.get(p) == Some(&b'\\') {
                            if p + 1 < len {
                                i = p + 2;
                            } else {
                                self.escape = true;
                                return Ok((len, false));
                            }
                        } else {
                            self.in_string = false;
                            i = p + 1;
                            if self.stack.is_empty() {
                                return Ok((i, true));
                            }
                        }
                    }
                }
                continue;
            }
            if self.scalar {
                if is_scalar_byte(b) {
                    i += 1;
                    continue;
                }
                return Ok((i, true));
            }
            match b {
                b'"' => {
                    self.in_string = true;
                    i += 1;
                }
                b'{' => {
                    self.stack.push(b'}');
                    i += 1;
                }
                b'[' => {
                    self.stack.push(b']');
                    i += 1;
                }
                b'}' | b']' => {
                    if self.stack.pop() != Some(b) {
                        return Err((i, "mismatched closing bracket"));
                    }
                    i += 1;
                    if self.stack.is_empty() {
                        return Ok((i, true));
                    }
                }
                _ if self.stack.is_empty() => {
                    if is_scalar_byte(b) {
                        self.scalar = true;
                        i += 1;
                    } else {
                        return Err((i, "unexpected character at the start of a value"));
                    }
                }
                _ => i += 1,
            }
        }
        Ok((len, false))
    }
}

/// The streaming records splitter; see the [module documentation](self).
#[derive(Debug)]
pub struct RecordsSplitter {
    config: SplitterConfig,
    state: State,
    scanner: Scanner,
    /// The element being assembled.
    cur: BytesMut,
    /// Skipping an element larger than the limit.
    discarding: bool,
    /// Elements still to pass over silently (see [`RecordsSplitter::skip_elements`]).
    skip: u64,
    /// Passing over the current element silently.
    skipping: bool,
    /// Elements of the current document completed so far (emitted, too large or skipped).
    doc_elements: u64,
    /// Stream offset of the first byte of the next chunk.
    offset: u64,
    /// Stream offset of the current document's first byte.
    doc_offset: u64,
    /// Stream offset of the current element's first byte.
    elem_offset: u64,
    /// The current document is a bare array.
    bare: bool,
    /// Bytes of the first key matched so far.
    key_matched: usize,
    /// Opening bytes of the current document, from earlier chunks, while in the prelude.
    prefix: Vec<u8>,
    failed: Option<SplitError>,
    documents: u64,
    records: u64,
}

impl Default for RecordsSplitter {
    fn default() -> Self {
        Self::new(SplitterConfig::default())
    }
}

impl RecordsSplitter {
    /// A splitter with the given configuration.
    pub fn new(config: SplitterConfig) -> Self {
        Self {
            config,
            state: State::BetweenDocs,
            scanner: Scanner::default(),
            cur: BytesMut::new(),
            discarding: false,
            skip: 0,
            skipping: false,
            doc_elements: 0,
            offset: 0,
            doc_offset: 0,
            elem_offset: 0,
            bare: false,
            key_matched: 0,
            prefix: Vec::new(),
            failed: None,
            documents: 0,
            records: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SplitterConfig {
        &self.config
    }

    /// Number of documents completed so far.
    pub fn documents_completed(&self) -> u64 {
        self.documents
    }

    /// Number of elements emitted so far.
    pub fn records_emitted(&self) -> u64 {
        self.records
    }

    /// Total bytes pushed so far.
    pub fn bytes_consumed(&self) -> u64 {
        self.offset
    }

    /// True when the splitter is between documents (a stream may end here).
    pub fn is_between_documents(&self) -> bool {
        self.failed.is_none() && self.state == State::BetweenDocs
    }

    /// Stream offset of the first byte of the document being read; `None` between documents.
    pub fn document_offset(&self) -> Option<u64> {
        (self.state != State::BetweenDocs).then_some(self.doc_offset)
    }

    /// Elements of the document being read that are complete so far — emitted, reported as too
    /// large, or passed over by [`skip_elements`](Self::skip_elements); 0 between documents.
    pub fn document_elements(&self) -> u64 {
        if self.state == State::BetweenDocs {
            0
        } else {
            self.doc_elements
        }
    }

    /// Passes over the next `n` elements silently: they are scanned but neither emitted nor
    /// reported (not even when too large). Meant for resuming a document whose first `n` elements
    /// were already handled: call it before pushing the document's first byte. The count applies
    /// to one document: whatever is left of it is dropped when that document's array ends.
    pub fn skip_elements(&mut self, n: u64) {
        self.skip = n;
    }

    /// Forgets all state (including a failure) and starts a new stream at offset 0.
    pub fn reset(&mut self) {
        let config = std::mem::take(&mut self.config);
        *self = Self::new(config);
    }

    fn fail(&mut self, err: SplitError) -> SplitError {
        self.failed = Some(err.clone());
        err
    }

    fn syntax(&mut self, index: usize, message: &'static str) -> SplitError {
        let offset = self.offset + index as u64;
        self.fail(SplitError::Syntax { offset, message })
    }

    fn not_records(
        &mut self,
        chunk: &[u8],
        doc_start: Option<usize>,
        reason: &'static str,
    ) -> SplitError {
        let mut unconsumed = std::mem::take(&mut self.prefix);
        unconsumed.extend_from_slice(chunk.get(doc_start.unwrap_or(0)..).unwrap_or_default());
        let err = SplitError::NotRecordsDocument {
            offset: self.doc_offset,
            reason,
            unconsumed: Bytes::from(unconsumed),
        };
        self.fail(err)
    }

    /// Appends element bytes, switching to discard mode when the element gets too large.
    fn buffer(&mut self, bytes: &[u8]) {
        if self.discarding || self.skipping {
            return;
        }
        if self.cur.len().saturating_add(bytes.len()) > self.config.max_record_size {
            self.discarding = true;
            self.cur.clear();
            return;
        }
        if self.cur.capacity() - self.cur.len() < bytes.len() {
            self.cur.reserve(bytes.len().max(64 * 1024));
        }
        self.cur.extend_from_slice(bytes);
    }

    /// Feeds the next chunk of the stream; complete elements are appended to `out`.
    ///
    /// Elements larger than the limit are skipped and the first of them in this chunk is returned
    /// as [`SplitError::RecordTooLarge`] once the whole chunk was processed (the splitter stays
    /// usable); other errors end the stream (see the [module documentation](self)).
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Bytes>) -> Result<(), SplitError> {
        let mut too_large = None;
        self.push_with(chunk, |element| match element {
            Element::Record { bytes, .. } => out.push(bytes),
            Element::TooLarge { offset, limit } => {
                if too_large.is_none() {
                    too_large = Some(SplitError::RecordTooLarge { offset, limit });
                }
            }
        })?;
        too_large.map_or(Ok(()), Err)
    }

    /// Like [`push`](Self::push), but hands out each element with its stream offset, and reports
    /// every element larger than the limit in-band as [`Element::TooLarge`], in stream order.
    /// The only errors are those that end the stream ([`SplitError::NotRecordsDocument`],
    /// [`SplitError::Syntax`]); elements completed before the error are already in `out`.
    pub fn push_elements(
        &mut self,
        chunk: &[u8],
        out: &mut Vec<Element>,
    ) -> Result<(), SplitError> {
        self.push_with(chunk, |element| out.push(element))
    }

    fn push_with<F: FnMut(Element)>(
        &mut self,
        chunk: &[u8],
        mut emit: F,
    ) -> Result<(), SplitError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let len = chunk.len();
        let mut i = 0usize;
        // Where the current element / document starts in this chunk (None: in an earlier chunk).
        let mut elem_start: Option<usize> = None;
        let mut doc_start: Option<usize> = None;

        while i < len {
            let Some(&b) = chunk.get(i) else { break };
            match self.state {
                State::BetweenDocs => {
                    if is_ws(b) {
                        i += 1;
                        continue;
                    }
                    self.doc_offset = self.offset + i as u64;
                    self.doc_elements = 0;
                    self.prefix.clear();
                    doc_start = Some(i);
                    match b {
                        b'{' => self.state = State::ObjStart,
                        b'[' if self.config.allow_bare_array => {
                            self.bare = true;
                            self.state = State::ArrayStart;
                        }
                        b'[' => {
                            return Err(self.not_records(
                                chunk,
                                doc_start,
                                "bare arrays are not accepted",
                            ))
                        }
                        _ => {
                            return Err(self.not_records(
                                chunk,
                                doc_start,
                                "document does not start with `{` or `[`",
                            ))
                        }
                    }
                    i += 1;
                }
                State::ObjStart => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b'"' {
                        self.key_matched = 0;
                        self.state = State::FirstKey;
                        i += 1;
                    } else {
                        return Err(self.not_records(
                            chunk,
                            doc_start,
                            "object does not start with a key",
                        ));
                    }
                }
                State::FirstKey => {
                    let key = self.config.records_key.as_bytes();
                    if b == b'"' {
                        if self.key_matched == key.len() {
                            self.state = State::AfterFirstKey;
                            i += 1;
                        } else {
                            return Err(self.not_records(
                                chunk,
                                doc_start,
                                "first key is not the records key",
                            ));
                        }
                    } else if key.get(self.key_matched) == Some(&b) {
                        self.key_matched += 1;
                        i += 1;
                    } else {
                        return Err(self.not_records(
                            chunk,
                            doc_start,
                            "first key is not the records key",
                        ));
                    }
                }
                State::AfterFirstKey => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b':' {
                        self.state = State::BeforeArray;
                        i += 1;
                    } else {
                        return Err(self.syntax(i, "expected `:` after a key"));
                    }
                }
                State::BeforeArray => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b'[' {
                        self.bare = false;
                        self.prefix.clear();
                        doc_start = None;
                        self.state = State::ArrayStart;
                        i += 1;
                    } else {
                        return Err(self.not_records(
                            chunk,
                            doc_start,
                            "the records value is not an array",
                        ));
                    }
                }
                State::ArrayStart | State::ArrayNext => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b']' && self.state == State::ArrayStart {
                        i += 1;
                        self.close_array();
                        doc_start = None;
                    } else if b == b']' {
                        return Err(self.syntax(i, "trailing comma before `]`"));
                    } else {
                        if self.state == State::ArrayStart
                            && self.bare
                            && self.config.bare_array_objects_only
                            && b != b'{'
                            && b != b'['
                        {
                            return Err(self.not_records(
                                chunk,
                                doc_start,
                                "the first element of a bare array is not an object or array",
                            ));
                        }
                        if self.state == State::ArrayStart {
                            // The document is now known to be a records document.
                            self.prefix.clear();
                            doc_start = None;
                        }
                        self.scanner.reset();
                        self.cur.clear();
                        self.discarding = false;
                        self.skipping = self.skip > 0;
                        self.elem_offset = self.offset + i as u64;
                        elem_start = Some(i);
                        self.state = State::Element;
                    }
                }
                State::Element => {
                    let start = elem_start.unwrap_or(i);
                    let (end, done) = match self.scanner.scan(chunk, i) {
                        Ok(r) => r,
                        Err((at, message)) => return Err(self.syntax(at, message)),
                    };
                    self.buffer(chunk.get(start..end).unwrap_or_default());
                    i = end;
                    if done {
                        elem_start = None;
                        self.state = State::AfterElement;
                        self.doc_elements += 1;
                        if self.skipping {
                            self.skipping = false;
                            self.skip = self.skip.saturating_sub(1);
                        } else if self.discarding {
                            self.discarding = false;
                            emit(Element::TooLarge {
                                offset: self.elem_offset,
                                limit: self.config.max_record_size,
                            });
                        } else {
                            self.records += 1;
                            emit(Element::Record {
                                offset: self.elem_offset,
                                bytes: self.cur.split().freeze(),
                            });
                        }
                    }
                }
                State::AfterElement => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b',' {
                        self.state = State::ArrayNext;
                        i += 1;
                    } else if b == b']' {
                        i += 1;
                        self.close_array();
                    } else {
                        return Err(self.syntax(i, "expected `,` or `]` after an array element"));
                    }
                }
                State::AfterArray | State::ObjAfterValue => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b',' {
                        self.state = State::ObjKeyStart;
                        i += 1;
                    } else if b == b'}' {
                        self.state = State::BetweenDocs;
                        self.documents += 1;
                        i += 1;
                    } else {
                        return Err(self.syntax(i, "expected `,` or `}` in the top-level object"));
                    }
                }
                State::ObjKeyStart => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b'"' {
                        self.scanner.reset();
                        self.scanner.in_string = true;
                        self.state = State::ObjKey;
                        i += 1;
                    } else {
                        return Err(self.syntax(i, "expected a key in the top-level object"));
                    }
                }
                State::ObjKey | State::ObjValue => {
                    let (end, done) = match self.scanner.scan(chunk, i) {
                        Ok(r) => r,
                        Err((at, message)) => return Err(self.syntax(at, message)),
                    };
                    i = end;
                    if done {
                        self.state = if self.state == State::ObjKey {
                            State::ObjAfterKey
                        } else {
                            State::ObjAfterValue
                        };
                    }
                }
                State::ObjAfterKey => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b':' {
                        self.state = State::ObjValueStart;
                        i += 1;
                    } else {
                        return Err(self.syntax(i, "expected `:` after a key"));
                    }
                }
                State::ObjValueStart => {
                    if is_ws(b) {
                        i += 1;
                    } else {
                        self.scanner.reset();
                        self.state = State::ObjValue;
                    }
                }
            }
        }

        if self.in_prelude() {
            let start = doc_start.unwrap_or(0);
            let rest = chunk.get(start..).unwrap_or_default();
            if self.prefix.len().saturating_add(rest.len())
                > self.config.max_record_size.max(MAX_PRELUDE)
            {
                let offset = self.offset + len as u64;
                self.offset += len as u64;
                return Err(self.fail(SplitError::Syntax {
                    offset,
                    message: "document opening larger than the maximum record size",
                }));
            }
            self.prefix.extend_from_slice(rest);
        }
        self.offset += len as u64;
        Ok(())
    }

    /// The document's opening bytes are kept for a `NotRecordsDocument` fallback.
    fn in_prelude(&self) -> bool {
        self.state.in_prelude()
            || (self.state == State::ArrayStart && self.bare && self.config.bare_array_objects_only)
    }

    fn close_array(&mut self) {
        self.skip = 0;
        if self.bare {
            self.state = State::BetweenDocs;
            self.documents += 1;
        } else {
            self.state = State::AfterArray;
        }
    }

    /// Ends the stream: `Ok` if it ended between documents, else [`SplitError::Truncated`].
    /// Nothing is left to emit at this point: elements are emitted as soon as they complete.
    pub fn finish(&mut self) -> Result<(), SplitError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if self.state == State::BetweenDocs {
            Ok(())
        } else {
            let offset = self.offset;
            Err(self.fail(SplitError::Truncated { offset }))
        }
    }
}

#[cfg(test)]
mod tests;
