//! The `error_type` label values of `weir_component_errors_total` that the sinks count under: the
//! one place they are spelled. Count with `metrics.error(ErrorType::WriteFailed.as_str(), n)`;
//! the per-plugin error enums ([`crate::encoding::EncodeError`],
//! [`crate::file::path::PathViolation`]) map onto these.

/// An `error_type` label value of a sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// `text` encoding of an event without a string `message` field.
    MissingMessage,
    /// `file`: the `path` template could not be rendered for an event.
    TemplateRenderFailed,
    /// `file`: a rendered path names a directory, not a file.
    InvalidPath,
    /// `file`: a rendered path leaves the template's root directory.
    PathOutsideRoot,
    /// `file`, `console`: writing to the destination failed.
    WriteFailed,
    /// `file`: flushing or closing a file failed.
    CloseFailed,
    /// `file`: `fsync` failed; the events since the last one end `Errored` (the source keeps them).
    SyncFailed,
    /// `file`: a full file (`max_file_bytes`) could not be renamed aside.
    RotateFailed,
    /// `kafka`, `elasticsearch`: the destination refused events for good (dead-lettered).
    Rejected,
    /// `elasticsearch`: the startup `GET /` check failed.
    HealthCheckFailed,
    /// `elasticsearch`: a bulk request failed as a whole (it is retried).
    RequestFailed,
    /// `elasticsearch`: documents given up after `retry.max_duration_secs`.
    RetriesExhausted,
    /// `kafka`, `elasticsearch`: rejected events could not be written to the sink's dead-letter
    /// files (they end `Errored`: the source keeps them).
    DeadLetterWriteFailed,
    /// `kafka`, `elasticsearch`: the dead-letter files reached `dead_letter.max_bytes`; rejected
    /// events were discarded.
    DeadLetterFull,
}

impl ErrorType {
    /// Every value, for tests and documentation.
    pub const ALL: [ErrorType; 14] = [
        ErrorType::MissingMessage,
        ErrorType::TemplateRenderFailed,
        ErrorType::InvalidPath,
        ErrorType::PathOutsideRoot,
        ErrorType::WriteFailed,
        ErrorType::CloseFailed,
        ErrorType::SyncFailed,
        ErrorType::RotateFailed,
        ErrorType::Rejected,
        ErrorType::HealthCheckFailed,
        ErrorType::RequestFailed,
        ErrorType::RetriesExhausted,
        ErrorType::DeadLetterWriteFailed,
        ErrorType::DeadLetterFull,
    ];

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorType::MissingMessage => "missing_message",
            ErrorType::TemplateRenderFailed => "template_render_failed",
            ErrorType::InvalidPath => "invalid_path",
            ErrorType::PathOutsideRoot => "path_outside_root",
            ErrorType::WriteFailed => "write_failed",
            ErrorType::CloseFailed => "close_failed",
            ErrorType::SyncFailed => "sync_failed",
            ErrorType::RotateFailed => "rotate_failed",
            ErrorType::Rejected => "rejected",
            ErrorType::HealthCheckFailed => "health_check_failed",
            ErrorType::RequestFailed => "request_failed",
            ErrorType::RetriesExhausted => "retries_exhausted",
            ErrorType::DeadLetterWriteFailed => "dead_letter_write_failed",
            ErrorType::DeadLetterFull => "dead_letter_full",
        }
    }
}

impl std::fmt::Display for ErrorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_distinct_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for error in ErrorType::ALL {
            let label = error.as_str();
            assert!(seen.insert(label), "{label} twice");
            assert!(
                label.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{label}"
            );
        }
    }
}
