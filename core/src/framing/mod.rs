//! Byte-stream framing shared by sources and transforms: cutting a stream of bytes into the units
//! that become events.
//!
//! * [`lines`] — newline framing with a maximum line length and exact byte offsets.
//! * [`json_records`] — a streaming splitter for `{"Records":[...]}` documents (CloudTrail log
//!   files) and bare top-level arrays, one array element at a time with bounded memory.

pub mod json_records;
pub mod lines;

pub use json_records::{RecordsSplitter, SplitError, SplitterConfig};
pub use lines::{Frame, LineFramer};
