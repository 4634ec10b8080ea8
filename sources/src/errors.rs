//! The `error_type` label values of `weir_component_errors_total` that the sources count under
//! (and set as `error.error_type` on their `errors` events): the one place they are spelled.
//! Count with `metrics.error(ErrorType::LineTooLong.as_str(), n)`. Failed AWS calls are counted
//! under the kind of failure instead ([`weir_aws::client::errors::AwsErrorKind`]: `aws_access_denied`,
//! `aws_not_found`, ...), the action being in the log line.

/// An `error_type` label value of a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// `aws_firehose`: a request without a configured access key (401).
    Unauthorized,
    /// `aws_firehose`: a request during shutdown (503: Firehose retries).
    ShuttingDown,
    /// `aws_firehose`: a request other than `POST` (405).
    MethodNotAllowed,
    /// `aws_firehose`: a body that is no Firehose request (not JSON, a wrong encoding; 400).
    MalformedRequest,
    /// `aws_firehose`: a request body over `max_body_bytes` (413).
    BodyTooLarge,
    /// `aws_firehose`: a request body could not be read.
    BodyReadFailed,
    /// `file`: the checkpoint file could not be written.
    CheckpointWriteFailed,
    /// `aws_s3`, `file`: an object or file inflating past `max_decompressed_bytes`.
    DecompressedTooLarge,
    /// `aws_s3`, `file`: an object or file does not decompress (truncated, corrupt).
    DecompressionFailed,
    /// an event was not delivered (a sink failed or was torn down); it is read again.
    DeliveryFailed,
    /// a sink rejected events for good.
    DeliveryRejected,
    /// `aws_kinesis`: `GetShardIterator` failed.
    GetShardIteratorFailed,
    /// a `{"Records":[...]}` document that is not valid JSON.
    InvalidDocument,
    /// `aws_s3`: a queue message that is no S3 notification.
    InvalidMessage,
    /// `aws_firehose`, `aws_kinesis`: a record that cannot be decoded (envelope, KPL).
    InvalidRecord,
    /// invalid UTF-8 in a line, sent to `errors` (`invalid_utf8 = "error"`).
    InvalidUtf8,
    /// invalid UTF-8 in a line, replaced with U+FFFD (`invalid_utf8 = "replace"`).
    InvalidUtf8Replaced,
    /// `aws_kinesis`: a lease table call failed.
    LeaseTableFailed,
    /// a line longer than `max_line_bytes` (sent to `errors`, never cut silently).
    LineTooLong,
    /// `aws_s3`: an announced object does not exist (any more).
    ObjectNotFound,
    /// `aws_s3`: reading an object failed (retried).
    ObjectReadFailed,
    /// `aws_s3`: an object larger than `max_object_bytes`.
    ObjectTooLarge,
    /// `file`: a matched file could not be opened.
    OpenFailed,
    /// `file`, `stdin`: reading failed.
    ReadFailed,
    /// a JSON record larger than the splitter's cap.
    RecordTooLarge,
    /// `aws_s3`: a sink rejected events for good and `on_rejected = "skip"` deleted the message.
    RejectedDeleted,
    /// `file`, `aws_kinesis`: a sink rejected events for good and `on_rejected = "skip"` moved on.
    RejectedSkipped,
    /// `aws_firehose`: a TLS handshake failed.
    TlsHandshake,
    /// a `{"Records":[...]}` document cut short.
    TruncatedDocument,
}

impl ErrorType {
    /// Every value, for tests and documentation.
    pub const ALL: [ErrorType; 29] = [
        ErrorType::Unauthorized,
        ErrorType::ShuttingDown,
        ErrorType::MethodNotAllowed,
        ErrorType::MalformedRequest,
        ErrorType::BodyTooLarge,
        ErrorType::BodyReadFailed,
        ErrorType::CheckpointWriteFailed,
        ErrorType::DecompressedTooLarge,
        ErrorType::DecompressionFailed,
        ErrorType::DeliveryFailed,
        ErrorType::DeliveryRejected,
        ErrorType::GetShardIteratorFailed,
        ErrorType::InvalidDocument,
        ErrorType::InvalidMessage,
        ErrorType::InvalidRecord,
        ErrorType::InvalidUtf8,
        ErrorType::InvalidUtf8Replaced,
        ErrorType::LeaseTableFailed,
        ErrorType::LineTooLong,
        ErrorType::ObjectNotFound,
        ErrorType::ObjectReadFailed,
        ErrorType::ObjectTooLarge,
        ErrorType::OpenFailed,
        ErrorType::ReadFailed,
        ErrorType::RecordTooLarge,
        ErrorType::RejectedDeleted,
        ErrorType::RejectedSkipped,
        ErrorType::TlsHandshake,
        ErrorType::TruncatedDocument,
    ];

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorType::Unauthorized => "unauthorized",
            ErrorType::ShuttingDown => "shutting_down",
            ErrorType::MethodNotAllowed => "method_not_allowed",
            ErrorType::MalformedRequest => "malformed_request",
            ErrorType::BodyTooLarge => "body_too_large",
            ErrorType::BodyReadFailed => "body_read_failed",
            ErrorType::CheckpointWriteFailed => "checkpoint_write_failed",
            ErrorType::DecompressedTooLarge => "decompressed_too_large",
            ErrorType::DecompressionFailed => "decompression_failed",
            ErrorType::DeliveryFailed => "delivery_failed",
            ErrorType::DeliveryRejected => "delivery_rejected",
            ErrorType::GetShardIteratorFailed => "get_shard_iterator_failed",
            ErrorType::InvalidDocument => "invalid_document",
            ErrorType::InvalidMessage => "invalid_message",
            ErrorType::InvalidRecord => "invalid_record",
            ErrorType::InvalidUtf8 => "invalid_utf8",
            ErrorType::InvalidUtf8Replaced => "invalid_utf8_replaced",
            ErrorType::LeaseTableFailed => "lease_table_failed",
            ErrorType::LineTooLong => "line_too_long",
            ErrorType::ObjectNotFound => "object_not_found",
            ErrorType::ObjectReadFailed => "object_read_failed",
            ErrorType::ObjectTooLarge => "object_too_large",
            ErrorType::OpenFailed => "open_failed",
            ErrorType::ReadFailed => "read_failed",
            ErrorType::RecordTooLarge => "record_too_large",
            ErrorType::RejectedDeleted => "rejected_deleted",
            ErrorType::RejectedSkipped => "rejected_skipped",
            ErrorType::TlsHandshake => "tls_handshake",
            ErrorType::TruncatedDocument => "truncated_document",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_unique_snake_case() {
        let mut seen: std::collections::BTreeSet<&str> =
            weir_aws::client::errors::AwsErrorKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect();
        for e in ErrorType::ALL {
            let s = e.as_str();
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()),
                "{s}"
            );
            assert!(seen.insert(s), "{s} twice");
        }
    }
}
