//! The mock's clock. Every expiry decision reads it. In virtual mode it is
//! real time plus an offset that the clock-control endpoint advances, so a
//! scenario's `wait: 90000s` takes no time at all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, real or virtual.
#[derive(Debug, Default)]
pub struct Clock {
    virtual_mode: bool,
    offset_ms: AtomicU64,
}

impl Clock {
    pub fn real() -> Clock {
        Clock::default()
    }

    pub fn virtual_clock() -> Clock {
        Clock {
            virtual_mode: true,
            offset_ms: AtomicU64::new(0),
        }
    }

    pub fn is_virtual(&self) -> bool {
        self.virtual_mode
    }

    /// Now, in milliseconds since the epoch.
    pub fn now_ms(&self) -> u64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        real.saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Now, in whole seconds since the epoch.
    pub fn now_s(&self) -> u64 {
        self.now_ms() / 1000
    }

    /// Real time in seconds, whatever the offset: for what the client's
    /// clock stamped (client assertions' `iat`/`exp`), which a virtual
    /// server clock must not expire.
    pub fn wall_s(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// Moves a virtual clock forward; a real clock does not move (returns
    /// `false`).
    pub fn advance(&self, seconds: u64) -> bool {
        if !self.virtual_mode {
            return false;
        }
        self.offset_ms
            .fetch_add(seconds.saturating_mul(1000), Ordering::Relaxed);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_virtual_clock_jumps_forward_by_the_advance() {
        let c = Clock::virtual_clock();
        let before = c.now_s();
        assert!(c.advance(90_000));
        let after = c.now_s();
        // Real time may tick a second or so between the reads, never more.
        assert!(
            (90_000..90_002).contains(&(after - before)),
            "{before} {after}"
        );
    }

    #[test]
    fn a_real_clock_ignores_advances() {
        let c = Clock::real();
        let before = c.now_s();
        assert!(!c.advance(90_000));
        assert!(c.now_s() < before + 2);
        assert!(!c.is_virtual());
    }
}
