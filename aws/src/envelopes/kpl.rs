//! De-aggregation of Kinesis Producer Library (KPL) aggregated records.
//!
//! Format (KPL `aggregation-format.md`): the 4 magic bytes `F3 89 9A C2`, a protobuf
//! `AggregatedRecord`, and the 16-byte MD5 of that protobuf message.
//!
//! ```text
//! message AggregatedRecord {
//!   repeated string partition_key_table     = 1;
//!   repeated string explicit_hash_key_table = 2;
//!   repeated Record records                 = 3;
//! }
//! message Record {
//!   required uint64 partition_key_index     = 1;
//!   optional uint64 explicit_hash_key_index = 2;
//!   required bytes  data                    = 3;
//!   repeated Tag    tags                    = 4;
//! }
//! ```
//!
//! The protobuf reader is hand-written (three messages, two wire types): the format is fixed and
//! a generated-code dependency would be larger than this file. It never panics: every length is
//! checked against what is left.

use bytes::Bytes;
use md5::{Digest, Md5};

/// The magic prefix of an aggregated record.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

/// One user record inside an aggregate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// Its position in the aggregate: the sub-sequence number.
    pub sub_sequence: u64,
    /// Its own partition key (from the aggregate's key table).
    pub partition_key: String,
    /// Its explicit hash key, if the producer set one.
    pub explicit_hash_key: Option<String>,
    /// The payload.
    pub data: Bytes,
}

/// An aggregate that cannot be read; the record should be dead-lettered, not retried.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KplError {
    /// The trailing MD5 does not match the protobuf message.
    #[error("KPL aggregate checksum mismatch (corrupted record)")]
    Checksum,
    /// The protobuf message is malformed.
    #[error("KPL aggregate malformed at byte {offset}: {reason}")]
    Malformed {
        /// Byte offset inside the protobuf message.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
}

/// Whether a Kinesis record is a KPL aggregate (magic prefix and room for a digest).
pub fn is_aggregated(record: &[u8]) -> bool {
    record.len() >= MAGIC.len() + DIGEST_LEN && record.starts_with(&MAGIC)
}

/// The user records of an aggregate, in order; `record` must satisfy [`is_aggregated`].
pub fn deaggregate(record: &Bytes) -> Result<Vec<UserRecord>, KplError> {
    if !is_aggregated(record) {
        return Err(KplError::Malformed {
            offset: 0,
            reason: "not an aggregated record",
        });
    }
    let message_end = record.len() - DIGEST_LEN;
    let message = record.slice(MAGIC.len()..message_end);
    let digest = Md5::digest(&message);
    if digest.as_slice() != &record[message_end..] {
        return Err(KplError::Checksum);
    }
    let mut partition_keys = Vec::new();
    let mut hash_keys = Vec::new();
    let mut raw_records = Vec::new();
    let mut reader = Reader::new(&message);
    while let Some((field, wire)) = reader.key()? {
        match (field, wire) {
            (1, WIRE_LEN) => partition_keys.push(reader.string()?),
            (2, WIRE_LEN) => hash_keys.push(reader.string()?),
            (3, WIRE_LEN) => {
                let (start, end) = reader.len_delimited()?;
                raw_records.push(message.slice(start..end));
            }
            _ => reader.skip(wire)?,
        }
    }
    raw_records
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            let mut reader = Reader::new(raw);
            let (mut pk_index, mut hk_index, mut data) = (None, None, None);
            while let Some((field, wire)) = reader.key()? {
                match (field, wire) {
                    (1, WIRE_VARINT) => pk_index = Some(reader.varint()?),
                    (2, WIRE_VARINT) => hk_index = Some(reader.varint()?),
                    (3, WIRE_LEN) => {
                        let (start, end) = reader.len_delimited()?;
                        data = Some(raw.slice(start..end));
                    }
                    _ => reader.skip(wire)?,
                }
            }
            let malformed = |reason| KplError::Malformed { offset: 0, reason };
            let pk_index =
                pk_index.ok_or_else(|| malformed("record without partition_key_index"))?;
            let partition_key = usize::try_from(pk_index)
                .ok()
                .and_then(|i| partition_keys.get(i))
                .cloned()
                .ok_or_else(|| malformed("partition_key_index out of range"))?;
            let explicit_hash_key = match hk_index {
                None => None,
                Some(i) => Some(
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| hash_keys.get(i))
                        .cloned()
                        .ok_or_else(|| malformed("explicit_hash_key_index out of range"))?,
                ),
            };
            Ok(UserRecord {
                sub_sequence: index as u64,
                partition_key,
                explicit_hash_key,
                data: data.ok_or_else(|| malformed("record without data"))?,
            })
        })
        .collect()
}

const WIRE_VARINT: u8 = 0;
const WIRE_I64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_I32: u8 = 5;

/// A bounds-checked protobuf wire reader.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    fn error(&self, reason: &'static str) -> KplError {
        KplError::Malformed {
            offset: self.pos,
            reason,
        }
    }

    /// The next field key, or `None` at the end.
    fn key(&mut self) -> Result<Option<(u64, u8)>, KplError> {
        if self.pos >= self.data.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        Ok(Some((key >> 3, (key & 7) as u8)))
    }

    fn varint(&mut self) -> Result<u64, KplError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.data.get(self.pos) else {
                return Err(self.error("truncated varint"));
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error("varint too long"))
    }

    /// The byte range of a length-delimited field's contents.
    fn len_delimited(&mut self) -> Result<(usize, usize), KplError> {
        let len = usize::try_from(self.varint()?).map_err(|_| self.error("length too large"))?;
        let start = self.pos;
        let end = start
            .checked_add(len)
            .filter(|end| *end <= self.data.len())
            .ok_or_else(|| self.error("length past the end"))?;
        self.pos = end;
        Ok((start, end))
    }

    fn string(&mut self) -> Result<String, KplError> {
        let (start, end) = self.len_delimited()?;
        String::from_utf8(self.data[start..end].to_vec())
            .map_err(|_| self.error("key is not UTF-8"))
    }

    fn skip(&mut self, wire: u8) -> Result<(), KplError> {
        let width = match wire {
            WIRE_VARINT => return self.varint().map(drop),
            WIRE_LEN => return self.len_delimited().map(drop),
            WIRE_I64 => 8,
            WIRE_I32 => 4,
            _ => return Err(self.error("unsupported wire type")),
        };
        if self.pos + width > self.data.len() {
            return Err(self.error("fixed-width field past the end"));
        }
        self.pos += width;
        Ok(())
    }
}

/// Builds an aggregate the way the KPL does (for tests and benchmarks).
pub fn aggregate(records: &[(&str, &[u8])]) -> Bytes {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn field(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
        varint(out, (number << 3) | u64::from(WIRE_LEN));
        varint(out, bytes.len() as u64);
        out.extend_from_slice(bytes);
    }
    let mut keys: Vec<&str> = Vec::new();
    let mut message = Vec::new();
    let mut bodies = Vec::new();
    for (key, data) in records {
        let index = match keys.iter().position(|k| k == key) {
            Some(i) => i,
            None => {
                keys.push(key);
                keys.len() - 1
            }
        };
        let mut body = Vec::new();
        varint(&mut body, 1 << 3);
        varint(&mut body, index as u64);
        field(&mut body, 3, data);
        bodies.push(body);
    }
    for key in &keys {
        field(&mut message, 1, key.as_bytes());
    }
    for body in &bodies {
        field(&mut message, 3, body);
    }
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&message);
    out.extend_from_slice(&Md5::digest(&message));
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_records_with_shared_and_distinct_keys() {
        let aggregate = aggregate(&[("a", b"one"), ("b", b"two"), ("a", b"")]);
        assert!(is_aggregated(&aggregate));
        let records = deaggregate(&aggregate).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[1].partition_key, "b");
        assert_eq!(records[1].data, Bytes::from_static(b"two"));
        assert_eq!(records[2].sub_sequence, 2);
        assert_eq!(records[2].partition_key, "a");
        assert!(records[2].data.is_empty());
    }

    #[test]
    fn corruption_is_an_error_never_a_panic() {
        let good = aggregate(&[("k", b"payload")]).to_vec();
        let mut flipped = good.clone();
        flipped[8] ^= 0xff;
        assert_eq!(deaggregate(&Bytes::from(flipped)), Err(KplError::Checksum));
        assert!(!is_aggregated(b"plain record"));
        // Every truncation and every single-byte change either parses or errors.
        for cut in 0..good.len() {
            let _ = deaggregate(&Bytes::from(good[..cut].to_vec()));
        }
        // A well-formed digest over a malformed message: a clear error.
        let mut message = vec![0x1a, 0x7f, 0x00];
        let mut record = MAGIC.to_vec();
        record.append(&mut message.clone());
        record.extend_from_slice(&Md5::digest(&message));
        message.clear();
        assert!(matches!(
            deaggregate(&Bytes::from(record)),
            Err(KplError::Malformed { .. })
        ));
    }
}
