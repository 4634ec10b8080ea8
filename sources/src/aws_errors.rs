//! How the AWS sources report failed AWS calls: [`AwsError`]'s one line (action, resource, what
//! it means, AWS's words), logged at most once per [`REPORT_INTERVAL`] for each kind and action
//! with the number held back, and counted under the kind's `error_type`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weir_aws::client::errors::{
    AwsError, AwsErrorKind, HttpResponse, ProvideErrorMetadata, SdkError,
};
use weir_core::metrics::ComponentMetrics;
use weir_core::throttle::LogThrottle;

/// How often one kind of failure of one action is logged.
pub(crate) const REPORT_INTERVAL: Duration = Duration::from_secs(30);

/// The failed-call reporter of one source; shared by its tasks.
pub(crate) struct AwsErrorLog {
    id: Arc<str>,
    metrics: ComponentMetrics,
    throttles: Mutex<HashMap<(AwsErrorKind, &'static str), LogThrottle>>,
}

impl AwsErrorLog {
    /// The reporter of source `id`.
    pub(crate) fn new(id: Arc<str>, metrics: ComponentMetrics) -> Self {
        Self {
            id,
            metrics,
            throttles: Mutex::new(HashMap::new()),
        }
    }

    /// Sorts, counts and (rate-limited) logs a failed call of `action` on `resource`; `then`
    /// says what the source does about it. Returns the sorted error.
    pub(crate) fn report<E>(
        &self,
        action: &'static str,
        resource: &str,
        error: &SdkError<E, HttpResponse>,
        then: &str,
    ) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let error = AwsError::of(error);
        self.report_sorted(action, resource, &error, then);
        error
    }

    /// [`report`](Self::report) for an error already sorted.
    pub(crate) fn report_sorted(
        &self,
        action: &'static str,
        resource: &str,
        error: &AwsError,
        then: &str,
    ) {
        let error_type = error.kind.as_str();
        self.metrics.error(error_type, 1);
        let suppressed = match self.throttles.lock() {
            Ok(mut throttles) => throttles
                .entry((error.kind, action))
                .or_insert_with(|| LogThrottle::new(REPORT_INTERVAL))
                .check(),
            Err(_) => Some(0),
        };
        if let Some(suppressed) = suppressed {
            tracing::warn!(
                source = %self.id,
                error_type,
                suppressed,
                "{}; {then}",
                error.line(action, resource)
            );
        }
    }
}
