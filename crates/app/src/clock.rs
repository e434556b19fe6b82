//! The real clock, for a running system. Everything that decides takes a `Clock`; tests hand it a
//! `ManualClock` instead. Must not be read by core, which is handed the time.

use ombud_core::Clock;

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// Microsecond precision, the store's, so a time returned in a response equals the stored one.
    fn now(&self) -> jiff::Timestamp {
        let now = jiff::Timestamp::now();
        jiff::Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
    }
}
