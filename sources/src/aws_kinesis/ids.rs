//! Deterministic event ids: the same record (or log event of a record) gets the same id on every
//! delivery, so sinks can deduplicate.

use crate::ids::IdInput;

/// The id of a record, or of one part of it: 32 hex digits of the 128-bit XXH3 hash of stream,
/// shard id, sequence number, sub-sequence number (KPL; 0 otherwise) and part (the CloudWatch
/// log event id; empty for a whole record), each length-prefixed so no two inputs collide.
pub fn record_id(
    stream: &str,
    shard_id: &str,
    sequence: &str,
    sub_sequence: u64,
    part: &str,
) -> String {
    IdInput::with_capacity(stream.len() + shard_id.len() + sequence.len() + part.len() + 40)
        .text(stream)
        .text(shard_id)
        .text(sequence)
        .number(sub_sequence)
        .text(part)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinguish_every_part() {
        let id = record_id("s", "shardId-000000000000", "4959", 0, "");
        assert_eq!(id.len(), 32);
        assert_eq!(id, record_id("s", "shardId-000000000000", "4959", 0, ""));
        for other in [
            record_id("s", "shardId-000000000001", "4959", 0, ""),
            record_id("s", "shardId-000000000000", "4960", 0, ""),
            record_id("s", "shardId-000000000000", "4959", 1, ""),
            record_id("s", "shardId-000000000000", "4959", 0, "1"),
            record_id("t", "shardId-000000000000", "4959", 0, ""),
        ] {
            assert_ne!(id, other);
        }
    }
}
