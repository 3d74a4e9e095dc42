//! Stage timings, as `tracing` events: `--log-level debug` prints each
//! stage's duration on stderr (the subscriber is installed by the binary),
//! and without it the events cost one disabled-level check.

use std::time::Instant;

/// Records how long stage `name` took since `since`, as a debug event
/// (`timing: parse 512.3 ms`). Takes no time when debug logs are off.
pub fn stage(name: &str, since: Instant) {
    tracing::debug!(
        target: "sluice::timing",
        "timing: {name:<16} {:>8.1} ms",
        since.elapsed().as_secs_f64() * 1000.0
    );
}
