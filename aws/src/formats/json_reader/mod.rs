//! JSON support shared by the JSON parsers: the JSON → vrl conversion ([`parser`], [`value`]),
//! and — re-exported from [`weir_core::framing::json_records`], where it lives so sources can use
//! it too — the streaming [`RecordsSplitter`] that cuts `{"Records":[...]}` documents (CloudTrail
//! log files) into their elements.

pub use weir_core::framing::json_records::*;

pub mod parser;
pub mod value;

#[cfg(test)]
pub(crate) mod test_support;
