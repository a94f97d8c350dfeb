//! When to try again, and what an answer means (the Standard Webhooks recommendations).

use std::time::Duration;

/// The waits before the 2nd, 3rd, ... attempt; the first is immediate. After the last, the
/// delivery has failed.
pub const RETRY_DELAYS: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(24 * 3600),
];

/// The wait after `attempts` failed attempts, or `None` when none is left.
pub fn retry_delay(attempts: u32) -> Option<Duration> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    RETRY_DELAYS.get(index).copied()
}

/// What an attempt's result means for the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Timeouts, connection errors, 429 and 5xx.
    Retry,
    /// `410 Gone`: the receiver asks never to be called again; the endpoint is disabled.
    Gone,
    /// Other answers (3xx: redirects are not followed; 4xx) and refused addresses.
    Failed,
}

pub fn judge_status(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        410 => Verdict::Gone,
        429 | 500..=599 => Verdict::Retry,
        _ => Verdict::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_attempts_over_the_specification_schedule() {
        let waits: Vec<u64> = (1..=10)
            .map_while(retry_delay)
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(
            waits,
            [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
        );
        assert_eq!(retry_delay(0), None);
        assert_eq!(retry_delay(10), None);
    }

    #[test]
    fn statuses() {
        assert_eq!(judge_status(200), Verdict::Delivered);
        assert_eq!(judge_status(204), Verdict::Delivered);
        assert_eq!(judge_status(410), Verdict::Gone);
        assert_eq!(judge_status(429), Verdict::Retry);
        assert_eq!(judge_status(503), Verdict::Retry);
        assert_eq!(judge_status(404), Verdict::Failed);
        assert_eq!(judge_status(301), Verdict::Failed);
    }
}
