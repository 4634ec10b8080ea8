//! Deterministic event ids, shared by the sources whose records have a stable identity (an S3
//! object's line, a Kinesis record): the same record gets the same id on every delivery, so sinks
//! can deduplicate (the Elasticsearch sink uses it as `_id`).

/// The input of one id: parts appended in order, each text length-prefixed so that no two
/// different inputs share an encoding (moving bytes from one part to the next changes the id).
#[derive(Default)]
pub struct IdInput(Vec<u8>);

impl IdInput {
    /// An empty input with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self(Vec::with_capacity(capacity))
    }

    /// Appends a text part.
    pub fn text(mut self, part: &str) -> Self {
        self.0.extend_from_slice(&(part.len() as u64).to_le_bytes());
        self.0.extend_from_slice(part.as_bytes());
        self
    }

    /// Appends a number part.
    pub fn number(mut self, part: u64) -> Self {
        self.0.extend_from_slice(&part.to_le_bytes());
        self
    }

    /// The id: 32 hex digits of the 128-bit XXH3 hash of the input.
    pub fn finish(self) -> String {
        format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_delimited() {
        let id = |a: &str, b: &str| IdInput::default().text(a).text(b).finish();
        assert_eq!(id("ab", "c").len(), 32);
        assert_eq!(id("ab", "c"), id("ab", "c"));
        assert_ne!(id("ab", "c"), id("a", "bc"));
        assert_ne!(
            IdInput::default().number(1).finish(),
            IdInput::default().number(2).finish()
        );
    }
}
