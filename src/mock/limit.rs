//! Failure throttling (RFC 6749 §4.3.2, RFC 6819 §4.4.3.6): after
//! `max_failures` failures for one key (a username, a client id) within a
//! window, the endpoint answers 429 until the window has passed.

use super::config::FailureLimit;
use std::collections::HashMap;
use std::sync::Mutex;

/// Failure counts per key, each in its own fixed window.
#[derive(Debug)]
pub struct Limiter {
    limit: FailureLimit,
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

impl Limiter {
    pub fn new(limit: FailureLimit) -> Limiter {
        Limiter {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds until `key` may try again, when it is locked out now.
    pub fn locked(&self, key: &str, now_s: u64) -> Option<u64> {
        let map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let (start, count) = *map.get(key)?;
        let end = start + self.limit.window_s;
        (count >= self.limit.max_failures && now_s < end).then(|| end - now_s)
    }

    /// Counts one failure for `key`.
    pub fn fail(&self, key: &str, now_s: u64) {
        let mut map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(key.to_string()).or_insert((now_s, 0));
        if now_s >= entry.0 + self.limit.window_s {
            *entry = (now_s, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }

    /// Forgets windows that have passed.
    pub fn purge(&self, now_s: u64) {
        let window = self.limit.window_s;
        let mut map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (start, _)| now_s < *start + window);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.windows.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_locks_out_until_the_window_passes() {
        let l = Limiter::new(FailureLimit {
            max_failures: 3,
            window_s: 60,
        });
        for _ in 0..2 {
            l.fail("alice", 1000);
        }
        assert_eq!(l.locked("alice", 1000), None);
        l.fail("alice", 1010);
        assert_eq!(l.locked("alice", 1010), Some(50));
        assert_eq!(l.locked("bob", 1010), None, "keys are separate");
        assert_eq!(l.locked("alice", 1060), None);
        l.fail("alice", 1060);
        assert_eq!(l.locked("alice", 1060), None, "a new window starts at zero");
    }

    #[test]
    fn purge_forgets_finished_windows() {
        let l = Limiter::new(FailureLimit::default());
        l.fail("a", 0);
        l.fail("b", 50);
        l.purge(70);
        assert_eq!(l.len(), 1);
    }
}
