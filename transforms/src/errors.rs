//! The `error_type` label values of `weir_component_errors_total` that the transforms count under:
//! the one place they are spelled. Count with `metrics.error(ErrorType::ParseFailed.as_str(), n)`.

/// An `error_type` label value of a transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// `aws_parse`: a record did not parse as its format (the event goes to `<id>.errors`).
    ParseFailed,
    /// `remap`: the program failed on an event (a fallible call without `!`/`??` handling).
    ProgramFailed,
    /// `remap`: the program called `abort`.
    ProgramAborted,
    /// `filter`, `route`: a condition failed on an event (the event goes to `<id>.errors`).
    ConditionFailed,
}

impl ErrorType {
    /// Every value, for tests and documentation.
    pub const ALL: [ErrorType; 4] = [
        ErrorType::ParseFailed,
        ErrorType::ProgramFailed,
        ErrorType::ProgramAborted,
        ErrorType::ConditionFailed,
    ];

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorType::ParseFailed => "parse_failed",
            ErrorType::ProgramFailed => "program_failed",
            ErrorType::ProgramAborted => "program_aborted",
            ErrorType::ConditionFailed => "condition_failed",
        }
    }
}

impl std::fmt::Display for ErrorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
