//! Rate limiting for warnings that a bad stream of events could otherwise repeat for every event.

use std::time::{Duration, Instant};

/// How often a throttled warning may be logged.
pub const WARN_INTERVAL: Duration = Duration::from_secs(10);

/// Lets a repeated log message through at most once per interval, counting what it held back.
#[derive(Debug)]
pub struct LogThrottle {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl Default for LogThrottle {
    fn default() -> Self {
        Self::new(WARN_INTERVAL)
    }
}

impl LogThrottle {
    /// A throttle letting one message through per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(n)` if a message may be logged now, `n` being how many were held back since the last
    /// one; `None` if this one must be held back.
    pub fn check(&mut self) -> Option<u64> {
        let now = Instant::now();
        match self.last {
            Some(last) if now.duration_since(last) < self.interval => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lets_one_through_per_interval() {
        let mut throttle = LogThrottle::new(Duration::from_secs(3600));
        assert_eq!(throttle.check(), Some(0));
        assert_eq!(throttle.check(), None);
        assert_eq!(throttle.check(), None);
        throttle.last = Some(Instant::now() - Duration::from_secs(7200));
        assert_eq!(throttle.check(), Some(2));
    }
}
