//! Failed AWS calls in one readable line: what kind of failure (access denied, a resource that
//! does not exist, credentials, throttling, timeouts, an unreachable endpoint, a wrong region),
//! the action and the resource, and AWS's own code and message — instead of the SDK's debug
//! dump. The kind is also the `error_type` a source counts the failure under.

pub use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
pub use aws_smithy_runtime_api::client::result::SdkError;
pub use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What kind of failure an AWS call had.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AwsErrorKind {
    /// The credentials lack a permission (IAM policy, bucket or key policy, KMS).
    AccessDenied,
    /// The queue, bucket, key, stream or table does not exist.
    NotFound,
    /// No credentials were found, or they are expired or wrong.
    Credentials,
    /// AWS throttled the call.
    Throttled,
    /// The call timed out.
    Timeout,
    /// The endpoint could not be reached (connection refused, DNS, TLS).
    Unreachable,
    /// The resource lives in another region than the client's.
    WrongRegion,
    /// Anything else.
    Other,
}

impl AwsErrorKind {
    /// Every kind, for tests and documentation.
    pub const ALL: [AwsErrorKind; 8] = [
        AwsErrorKind::AccessDenied,
        AwsErrorKind::NotFound,
        AwsErrorKind::Credentials,
        AwsErrorKind::Throttled,
        AwsErrorKind::Timeout,
        AwsErrorKind::Unreachable,
        AwsErrorKind::WrongRegion,
        AwsErrorKind::Other,
    ];

    /// The `error_type` label a failure of this kind is counted under.
    pub const fn as_str(self) -> &'static str {
        match self {
            AwsErrorKind::AccessDenied => "aws_access_denied",
            AwsErrorKind::NotFound => "aws_not_found",
            AwsErrorKind::Credentials => "aws_credentials",
            AwsErrorKind::Throttled => "aws_throttled",
            AwsErrorKind::Timeout => "aws_timeout",
            AwsErrorKind::Unreachable => "aws_unreachable",
            AwsErrorKind::WrongRegion => "aws_wrong_region",
            AwsErrorKind::Other => "aws_error",
        }
    }

    /// What it means, for the line.
    const fn summary(self) -> &'static str {
        match self {
            AwsErrorKind::AccessDenied => "access denied: the credentials lack the permission",
            AwsErrorKind::NotFound => {
                "it does not exist (check its name, the account and the region)"
            }
            AwsErrorKind::Credentials => "no valid AWS credentials (missing, expired or wrong)",
            AwsErrorKind::Throttled => "throttled by AWS",
            AwsErrorKind::Timeout => "timed out",
            AwsErrorKind::Unreachable => "the endpoint cannot be reached",
            AwsErrorKind::WrongRegion => "it is in another region than the configured one",
            AwsErrorKind::Other => "failed",
        }
    }

    /// The kind of an error code AWS answered with (`None`: the code does not tell).
    fn of_code(code: &str) -> Option<AwsErrorKind> {
        let kind = match code {
            "AccessDenied"
            | "AccessDeniedException"
            | "AuthorizationError"
            | "UnauthorizedOperation"
            | "KMS.AccessDeniedException"
            | "AllAccessDisabled" => AwsErrorKind::AccessDenied,
            "NoSuchBucket"
            | "NoSuchKey"
            | "NoSuchVersion"
            | "NotFound"
            | "ResourceNotFoundException"
            | "QueueDoesNotExist"
            | "AWS.SimpleQueueService.NonExistentQueue" => AwsErrorKind::NotFound,
            "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "IncompleteSignature"
            | "InvalidSecurity"
            | "MissingAuthenticationToken"
            | "TokenRefreshRequired" => AwsErrorKind::Credentials,
            "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestThrottled"
            | "RequestThrottledException"
            | "RequestLimitExceeded"
            | "SlowDown"
            | "ProvisionedThroughputExceededException"
            | "LimitExceededException"
            | "TooManyRequestsException"
            | "KMSThrottlingException" => AwsErrorKind::Throttled,
            "PermanentRedirect"
            | "AuthorizationHeaderMalformed"
            | "IllegalLocationConstraintException"
            | "InvalidRegion" => AwsErrorKind::WrongRegion,
            "RequestTimeout" | "RequestTimeoutException" => AwsErrorKind::Timeout,
            _ => return None,
        };
        Some(kind)
    }

    /// The kind an HTTP status says, when the code does not.
    fn of_status(status: u16) -> AwsErrorKind {
        match status {
            301 | 307 => AwsErrorKind::WrongRegion,
            401 => AwsErrorKind::Credentials,
            403 => AwsErrorKind::AccessDenied,
            404 => AwsErrorKind::NotFound,
            408 => AwsErrorKind::Timeout,
            429 | 503 => AwsErrorKind::Throttled,
            _ => AwsErrorKind::Other,
        }
    }
}

/// A failed AWS call, sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    /// What kind of failure.
    pub kind: AwsErrorKind,
    /// AWS's error code, when it answered.
    pub code: Option<String>,
    /// AWS's message, or the SDK's description of the failure, on one line.
    pub detail: String,
}

/// Longest detail kept in a line.
const MAX_DETAIL: usize = 300;

impl AwsError {
    /// Sorts an SDK error.
    pub fn of<E>(error: &SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let text = one_line(&causes(error));
        let code = error.code().map(str::to_string);
        let kind = match error {
            SdkError::TimeoutError(_) => AwsErrorKind::Timeout,
            SdkError::DispatchFailure(failure) if failure.is_timeout() => AwsErrorKind::Timeout,
            _ if mentions_credentials(&text) => AwsErrorKind::Credentials,
            SdkError::DispatchFailure(failure) if failure.is_io() => AwsErrorKind::Unreachable,
            SdkError::ServiceError(_) | SdkError::ResponseError(_) => code
                .as_deref()
                .and_then(AwsErrorKind::of_code)
                .or_else(|| {
                    error
                        .raw_response()
                        .map(|r| AwsErrorKind::of_status(r.status().as_u16()))
                })
                .unwrap_or(AwsErrorKind::Other),
            SdkError::DispatchFailure(_) => AwsErrorKind::Unreachable,
            _ => AwsErrorKind::Other,
        };
        let detail = match (error.message(), &code) {
            (Some(message), _) => one_line(message),
            (None, Some(code)) => code.clone(),
            (None, None) => text,
        };
        AwsError { kind, code, detail }
    }

    /// The line to log: the action, the resource, what the failure means and AWS's words, e.g.
    /// `ReceiveMessage on queue https://…/weir: access denied: the credentials lack the
    /// permission (AccessDenied: User … is not authorized to perform sqs:ReceiveMessage)`.
    pub fn line(&self, action: &str, resource: &str) -> String {
        let detail = match &self.code {
            Some(code) if !self.detail.starts_with(code.as_str()) => {
                format!("{code}: {}", self.detail)
            }
            _ => self.detail.clone(),
        };
        format!("{action} on {resource}: {} ({detail})", self.kind.summary())
    }

    /// Whether trying again later can help (throttling, timeouts, outages); the others need the
    /// user to change something (a permission, a name, credentials, the region).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            AwsErrorKind::Throttled
                | AwsErrorKind::Timeout
                | AwsErrorKind::Unreachable
                | AwsErrorKind::Other
        )
    }
}

/// An error and its causes, `: `-separated, without the Debug dump the SDK's
/// `DisplayErrorContext` appends.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let words = cause.to_string();
        if !text.ends_with(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        source = cause.source();
    }
    text
}

/// The SDK's description of failures to find credentials (the identity resolver's errors).
fn mentions_credentials(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("no credentials")
        || lower.contains("credentials provider")
        || lower.contains("failed to load credentials")
        || lower.contains("identity resolver")
        || lower.contains("could not load credentials")
}

/// `text` on one line, whitespace runs collapsed, at most [`MAX_DETAIL`] bytes.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_DETAIL));
    for word in text.split_whitespace() {
        if out.len() + word.len() + 1 > MAX_DETAIL {
            out.push('…');
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::operation::receive_message::ReceiveMessageError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(
        code: &str,
        message: &str,
        status: u16,
    ) -> SdkError<ReceiveMessageError, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let response = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(""));
        SdkError::service_error(ReceiveMessageError::generic(meta), response)
    }

    #[test]
    fn service_errors_are_sorted_by_code_then_status() {
        let cases = [
            ("AccessDenied", 403, AwsErrorKind::AccessDenied),
            (
                "AWS.SimpleQueueService.NonExistentQueue",
                400,
                AwsErrorKind::NotFound,
            ),
            ("ResourceNotFoundException", 400, AwsErrorKind::NotFound),
            ("ExpiredTokenException", 400, AwsErrorKind::Credentials),
            (
                "ProvisionedThroughputExceededException",
                400,
                AwsErrorKind::Throttled,
            ),
            ("PermanentRedirect", 301, AwsErrorKind::WrongRegion),
            ("SomethingNew", 403, AwsErrorKind::AccessDenied),
            ("SomethingNew", 503, AwsErrorKind::Throttled),
            ("SomethingNew", 400, AwsErrorKind::Other),
        ];
        for (code, status, kind) in cases {
            let error = AwsError::of(&service_error(code, "the words", status));
            assert_eq!(error.kind, kind, "{code} {status}");
            assert_eq!(error.code.as_deref(), Some(code));
        }
    }

    #[test]
    fn the_line_names_action_resource_meaning_and_aws_words() {
        let error = AwsError::of(&service_error(
            "AccessDenied",
            "User: arn:aws:iam::1:user/x is not\n  authorized to perform: sqs:ReceiveMessage",
            403,
        ));
        assert_eq!(
            error.line("ReceiveMessage", "queue https://sqs/q"),
            "ReceiveMessage on queue https://sqs/q: access denied: the credentials lack the \
             permission (AccessDenied: User: arn:aws:iam::1:user/x is not authorized to perform: \
             sqs:ReceiveMessage)"
        );
        assert!(!error.is_transient());
    }

    #[test]
    fn failures_without_an_answer_are_sorted_by_what_failed() {
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error: SdkError<ReceiveMessageError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(refused)));
        let sorted = AwsError::of(&error);
        assert_eq!(sorted.kind, AwsErrorKind::Unreachable);
        assert!(sorted.detail.ends_with("refused"), "{}", sorted.detail);
        assert!(
            !sorted.detail.contains("DispatchFailure {"),
            "{}",
            sorted.detail
        );
        let error: SdkError<ReceiveMessageError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::timeout("slow".into()));
        assert_eq!(AwsError::of(&error).kind, AwsErrorKind::Timeout);
        let error: SdkError<ReceiveMessageError, HttpResponse> = SdkError::dispatch_failure(
            ConnectorError::other("no credentials found in chain".into(), None),
        );
        assert_eq!(AwsError::of(&error).kind, AwsErrorKind::Credentials);
    }

    #[test]
    fn labels_are_unique_and_prefixed() {
        let mut seen = std::collections::BTreeSet::new();
        for kind in AwsErrorKind::ALL {
            assert!(kind.as_str().starts_with("aws_"));
            assert!(seen.insert(kind.as_str()));
        }
    }

    #[test]
    fn details_are_one_bounded_line() {
        let long = "word ".repeat(200);
        let line = one_line(&long);
        assert!(line.len() <= MAX_DETAIL + '…'.len_utf8());
        assert!(!line.contains('\n'));
    }
}
