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

use scanner::Scanner;

mod scanner;

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

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Where [`RecordsSplitter::push_with`] is in the chunk being pushed.
struct Cursor {
    /// Index of the next byte to read.
    i: usize,
    /// Where the current element starts in this chunk (`None`: in an earlier chunk).
    elem_start: Option<usize>,
    /// Where the current document starts in this chunk while its opening is kept for a
    /// `NotRecordsDocument` fallback (`None`: in an earlier chunk, or no longer needed).
    doc_start: Option<usize>,
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

    /// The state machine: one step per byte or per scanned run, each state's handler below.
    fn push_with<F: FnMut(Element)>(
        &mut self,
        chunk: &[u8],
        mut emit: F,
    ) -> Result<(), SplitError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let mut cur = Cursor {
            i: 0,
            elem_start: None,
            doc_start: None,
        };
        while let Some(&b) = chunk.get(cur.i) {
            match self.state {
                State::BetweenDocs => self.start_document(chunk, b, &mut cur),
                State::ObjStart => self.object_start(chunk, b, &mut cur),
                State::FirstKey => self.first_key(chunk, b, &mut cur),
                State::AfterFirstKey => self.colon(b, &mut cur, State::BeforeArray),
                State::BeforeArray => self.before_array(chunk, b, &mut cur),
                State::ArrayStart | State::ArrayNext => self.array_slot(chunk, b, &mut cur),
                State::Element => self.element(chunk, &mut cur, &mut emit),
                State::AfterElement => self.after_element(b, &mut cur),
                State::AfterArray | State::ObjAfterValue => self.after_object_value(b, &mut cur),
                State::ObjKeyStart => self.object_key_start(b, &mut cur),
                State::ObjKey | State::ObjValue => self.skip_object_part(chunk, &mut cur),
                State::ObjAfterKey => self.colon(b, &mut cur, State::ObjValueStart),
                State::ObjValueStart => {
                    self.object_value_start(b, &mut cur);
                    Ok(())
                }
            }?;
        }
        self.end_chunk(chunk, cur.doc_start)
    }

    /// `BetweenDocs`: skips whitespace; the first other byte opens a document.
    #[inline]
    fn start_document(&mut self, chunk: &[u8], b: u8, cur: &mut Cursor) -> Result<(), SplitError> {
        if is_ws(b) {
            cur.i += 1;
            return Ok(());
        }
        self.doc_offset = self.offset + cur.i as u64;
        self.doc_elements = 0;
        self.prefix.clear();
        cur.doc_start = Some(cur.i);
        match b {
            b'{' => self.state = State::ObjStart,
            b'[' if self.config.allow_bare_array => {
                self.bare = true;
                self.state = State::ArrayStart;
            }
            b'[' => {
                return Err(self.not_records(chunk, cur.doc_start, "bare arrays are not accepted"))
            }
            _ => {
                return Err(self.not_records(
                    chunk,
                    cur.doc_start,
                    "document does not start with `{` or `[`",
                ))
            }
        }
        cur.i += 1;
        Ok(())
    }

    /// `ObjStart`: after the document's `{`, expects the first key's opening quote.
    #[inline]
    fn object_start(&mut self, chunk: &[u8], b: u8, cur: &mut Cursor) -> Result<(), SplitError> {
        if is_ws(b) {
            cur.i += 1;
        } else if b == b'"' {
            self.key_matched = 0;
            self.state = State::FirstKey;
            cur.i += 1;
        } else {
            return Err(self.not_records(chunk, cur.doc_start, "object does not start with a key"));
        }
        Ok(())
    }

    /// `FirstKey`: compares the first key with the records key, byte by byte (the key may be
    /// cut across chunks).
    #[inline]
    fn first_key(&mut self, chunk: &[u8], b: u8, cur: &mut Cursor) -> Result<(), SplitError> {
        let key = self.config.records_key.as_bytes();
        let matches = if b == b'"' {
            self.key_matched == key.len()
        } else {
            key.get(self.key_matched) == Some(&b)
        };
        if !matches {
            return Err(self.not_records(chunk, cur.doc_start, "first key is not the records key"));
        }
        if b == b'"' {
            self.state = State::AfterFirstKey;
        } else {
            self.key_matched += 1;
        }
        cur.i += 1;
        Ok(())
    }

    /// `AfterFirstKey`, `ObjAfterKey`: expects the `:` after a key, then goes to `next`.
    #[inline]
    fn colon(&mut self, b: u8, cur: &mut Cursor, next: State) -> Result<(), SplitError> {
        if is_ws(b) {
            cur.i += 1;
        } else if b == b':' {
            self.state = next;
            cur.i += 1;
        } else {
            return Err(self.syntax(cur.i, "expected `:` after a key"));
        }
        Ok(())
    }

    /// `BeforeArray`: expects the records array's `[`.
    #[inline]
    fn before_array(&mut self, chunk: &[u8], b: u8, cur: &mut Cursor) -> Result<(), SplitError> {
        if is_ws(b) {
            cur.i += 1;
        } else if b == b'[' {
            self.bare = false;
            self.prefix.clear();
            cur.doc_start = None;
            self.state = State::ArrayStart;
            cur.i += 1;
        } else {
            return Err(self.not_records(
                chunk,
                cur.doc_start,
                "the records value is not an array",
            ));
        }
        Ok(())
    }

    /// `ArrayStart`, `ArrayNext`: expects an element (or, at the start, the closing `]`).
    #[inline]
    fn array_slot(&mut self, chunk: &[u8], b: u8, cur: &mut Cursor) -> Result<(), SplitError> {
        let first = self.state == State::ArrayStart;
        if is_ws(b) {
            cur.i += 1;
        } else if b == b']' && first {
            cur.i += 1;
            self.close_array();
            cur.doc_start = None;
        } else if b == b']' {
            return Err(self.syntax(cur.i, "trailing comma before `]`"));
        } else {
            if first && self.bare && self.config.bare_array_objects_only && b != b'{' && b != b'[' {
                return Err(self.not_records(
                    chunk,
                    cur.doc_start,
                    "the first element of a bare array is not an object or array",
                ));
            }
            if first {
                // The document is now known to be a records document.
                self.prefix.clear();
                cur.doc_start = None;
            }
            self.start_element(cur);
        }
        Ok(())
    }

    /// Starts assembling an element at the current byte.
    #[inline]
    fn start_element(&mut self, cur: &mut Cursor) {
        self.scanner.reset();
        self.cur.clear();
        self.discarding = false;
        self.skipping = self.skip > 0;
        self.elem_offset = self.offset + cur.i as u64;
        cur.elem_start = Some(cur.i);
        self.state = State::Element;
    }

    /// `Element`: scans (and buffers) as much of the element as the chunk holds; hands it out
    /// when it is complete.
    #[inline]
    fn element<F: FnMut(Element)>(
        &mut self,
        chunk: &[u8],
        cur: &mut Cursor,
        emit: &mut F,
    ) -> Result<(), SplitError> {
        let start = cur.elem_start.unwrap_or(cur.i);
        let (end, done) = match self.scanner.scan(chunk, cur.i) {
            Ok(r) => r,
            Err((at, message)) => return Err(self.syntax(at, message)),
        };
        self.buffer(chunk.get(start..end).unwrap_or_default());
        cur.i = end;
        if done {
            cur.elem_start = None;
            self.complete_element(emit);
        }
        Ok(())
    }

    /// The current element is complete: passes over it (skipping), reports it (too large) or
    /// emits it.
    #[inline]
    fn complete_element<F: FnMut(Element)>(&mut self, emit: &mut F) {
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

    /// `AfterElement`: expects `,` or the array's `]`.
    #[inline]
    fn after_element(&mut self, b: u8, cur: &mut Cursor) -> Result<(), SplitError> {
        if is_ws(b) {
            cur.i += 1;
        } else if b == b',' {
            self.state = State::ArrayNext;
            cur.i += 1;
        } else if b == b']' {
            cur.i += 1;
            self.close_array();
        } else {
            return Err(self.syntax(cur.i, "expected `,` or `]` after an array element"));
        }
        Ok(())
    }

    /// `AfterArray`, `ObjAfterValue`: expects `,` (another member) or the document's `}`.
    #[inline]
    fn after_object_value(&mut self, b: u8, cur: &mut Cursor) -> Result<(), SplitError> {
        if is_ws(b) {
            cur.i += 1;
        } else if b == b',' {
            self.state = State::ObjKeyStart;
            cur.i += 1;
        } else if b == b'}' {
            self.state = State::BetweenDocs;
            self.documents += 1;
            cur.i += 1;
        } else {
            return Err(self.syntax(cur.i, "expected `,` or `}` in the top-level object"));
        }
        Ok(())
    }

    /// `ObjKeyStart`: expects the opening quote of a later key.
    #[inline]
    fn object_key_start(&mut self, b: u8, cur: &mut Cursor) -> Result<(), SplitError> {
        if is_ws(b) {
            cur.i += 1;
        } else if b == b'"' {
            self.scanner.reset_in_string();
            self.state = State::ObjKey;
            cur.i += 1;
        } else {
            return Err(self.syntax(cur.i, "expected a key in the top-level object"));
        }
        Ok(())
    }

    /// `ObjValueStart`: skips whitespace; the value starts at the first other byte.
    #[inline]
    fn object_value_start(&mut self, b: u8, cur: &mut Cursor) {
        if is_ws(b) {
            cur.i += 1;
        } else {
            self.scanner.reset();
            self.state = State::ObjValue;
        }
    }

    /// `ObjKey`, `ObjValue`: scans over a later key or value without buffering it.
    #[inline]
    fn skip_object_part(&mut self, chunk: &[u8], cur: &mut Cursor) -> Result<(), SplitError> {
        let (end, done) = match self.scanner.scan(chunk, cur.i) {
            Ok(r) => r,
            Err((at, message)) => return Err(self.syntax(at, message)),
        };
        cur.i = end;
        if done {
            self.state = if self.state == State::ObjKey {
                State::ObjAfterKey
            } else {
                State::ObjAfterValue
            };
        }
        Ok(())
    }

    /// After the whole chunk: keeps the document's opening bytes while it is undecided (bounded),
    /// and advances the stream offset.
    fn end_chunk(&mut self, chunk: &[u8], doc_start: Option<usize>) -> Result<(), SplitError> {
        let len = chunk.len() as u64;
        if self.in_prelude() {
            let rest = chunk.get(doc_start.unwrap_or(0)..).unwrap_or_default();
            if self.prefix.len().saturating_add(rest.len())
                > self.config.max_record_size.max(MAX_PRELUDE)
            {
                let offset = self.offset + len;
                self.offset += len;
                return Err(self.fail(SplitError::Syntax {
                    offset,
                    message: "document opening larger than the maximum record size",
                }));
            }
            self.prefix.extend_from_slice(rest);
        }
        self.offset += len;
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
