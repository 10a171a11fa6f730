//! The wall clock: the only place that reads the time, as RFC 3339 in UTC to the second. Pure code
//! takes the time as an argument (apply's transactions stamp the record with the `now` they are
//! given), so that it is tested without a clock.

/// The current time as RFC 3339 in UTC, to the second: `2025-01-02T10:00:00Z`.
pub fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
