//! Exponential backoff with jitter, bounded by a total duration.

use std::time::{Duration, Instant};

use rand::Rng as _;

/// The retry schedule of one batch.
pub(super) struct Backoff {
    next: Duration,
    max: Duration,
    deadline: Instant,
}

impl Backoff {
    /// A schedule starting at `initial`, doubling up to `max`, giving up `max_duration` from now.
    pub(super) fn new(initial: Duration, max: Duration, max_duration: Duration) -> Self {
        Self {
            next: initial,
            max: max.max(initial),
            deadline: Instant::now() + max_duration,
        }
    }

    /// How long to wait before the next attempt; `None` once the deadline has passed (or would be
    /// passed by waiting).
    pub(super) fn next_delay(&mut self) -> Option<Duration> {
        let now = Instant::now();
        if now >= self.deadline {
            return None;
        }
        let cap = self.next;
        self.next = (self.next * 2).min(self.max);
        // "Equal" jitter: anywhere in [cap/2, cap], so concurrent retries spread out but still back off.
        let low = cap / 2;
        let jitter = rand::thread_rng().gen_range(0..=cap.saturating_sub(low).as_millis() as u64);
        let delay = low + Duration::from_millis(jitter);
        let left = self.deadline - now;
        Some(delay.min(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_and_stops_at_the_deadline() {
        let mut b = Backoff::new(
            Duration::from_millis(100),
            Duration::from_millis(400),
            Duration::from_secs(3600),
        );
        let delays: Vec<_> = (0..6).map(|_| b.next_delay().unwrap()).collect();
        assert!(delays[0] >= Duration::from_millis(50) && delays[0] <= Duration::from_millis(100));
        assert!(delays[1] >= Duration::from_millis(100) && delays[1] <= Duration::from_millis(200));
        for d in &delays[2..] {
            assert!(
                *d >= Duration::from_millis(200) && *d <= Duration::from_millis(400),
                "{d:?}"
            );
        }
        let mut done = Backoff::new(
            Duration::from_millis(100),
            Duration::from_secs(1),
            Duration::ZERO,
        );
        assert_eq!(done.next_delay(), None);
    }
}
