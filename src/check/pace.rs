//! The pace of a run against the server's: how many scenarios run at once,
//! how a request cut short by the transport is tried again, and what the
//! run says when answers come close to the timeout.
//!
//! A timeout, a reset or a refused connection is never evidence about the
//! property a check judges. A request cut short is tried once more, alone:
//! every other request of the run waits (the gate below), so that a busy
//! server gets a quiet moment. When answers grow slow (a quarter of the
//! request timeout), the run goes on one scenario at a time. When the
//! slowest answer comes within half of the timeout, the run says which
//! setting to change.

use crate::verdict::ErrorClass;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard, Semaphore};

pub struct Pace {
    timeout: Duration,
    jobs: usize,
    /// Scenarios running at once: `jobs` permits, down to one when slow.
    scenarios: Semaphore,
    slowed: AtomicBool,
    /// Every request holds it shared; a retry alone holds it exclusively.
    quiet: RwLock<()>,
    /// Permits still to take out of use as scenarios end (slowing down).
    to_forget: AtomicU64,
    slowest_ms: AtomicU64,
    retries: AtomicU64,
    /// Retries in a row that got no answer either: past a few, the server
    /// has stopped answering and nothing more is retried (the run ends on
    /// time, its checks errored with the cause).
    unanswered_retries: AtomicU64,
}

/// Retries in a row without an answer after which the server counts as
/// not answering: no more retries.
const GIVE_UP_AFTER: u64 = 3;

/// A running scenario's place; given back when it ends, unless the run
/// slowed down meanwhile.
pub struct ScenarioPlace<'a> {
    permit: Option<tokio::sync::SemaphorePermit<'a>>,
    pace: &'a Pace,
}

impl Drop for ScenarioPlace<'_> {
    fn drop(&mut self) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let forget = self
            .pace
            .to_forget
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok();
        if forget {
            permit.forget();
        }
    }
}

impl Pace {
    pub fn new(jobs: usize, timeout: Duration) -> Pace {
        let jobs = jobs.max(1);
        Pace {
            timeout,
            jobs,
            scenarios: Semaphore::new(jobs),
            slowed: AtomicBool::new(false),
            quiet: RwLock::new(()),
            to_forget: AtomicU64::new(0),
            slowest_ms: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            unanswered_retries: AtomicU64::new(0),
        }
    }

    /// A place for one scenario to run.
    pub async fn scenario(&self) -> ScenarioPlace<'_> {
        ScenarioPlace {
            permit: Some(
                self.scenarios
                    .acquire()
                    .await
                    .expect("the semaphore is never closed"),
            ),
            pace: self,
        }
    }

    /// Held while a request is on its way.
    pub async fn request(&self) -> RwLockReadGuard<'_, ()> {
        self.quiet.read().await
    }

    /// Held while a request is tried again alone.
    pub async fn alone(&self) -> RwLockWriteGuard<'_, ()> {
        self.quiet.write().await
    }

    /// Whether a request cut short may be tried again: not once the server
    /// has stopped answering retries.
    pub fn may_retry(&self) -> bool {
        self.unanswered_retries.load(Ordering::Acquire) < GIVE_UP_AFTER
    }

    /// How a retry ended.
    pub fn retried(&self, answered: bool) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        if answered {
            self.unanswered_retries.store(0, Ordering::Release);
        } else {
            self.unanswered_retries.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// An answer came after `took`: slow ones make the run go one
    /// scenario at a time.
    pub fn answered(&self, took: Duration) {
        let ms = took.as_millis() as u64;
        self.slowest_ms.fetch_max(ms, Ordering::Relaxed);
        if took * 4 >= self.timeout && !self.slowed.swap(true, Ordering::AcqRel) {
            // Down to one place: the free ones now, the others as the
            // scenarios holding them end.
            let forget = self.jobs - 1;
            let now = self.scenarios.forget_permits(forget);
            self.to_forget
                .fetch_add((forget - now) as u64, Ordering::AcqRel);
        }
    }

    /// The run slowed down to one scenario at a time.
    pub fn slowed(&self) -> bool {
        self.slowed.load(Ordering::Acquire)
    }

    /// What to tell the user about the pace, if anything: the slowest
    /// answer against the timeout, the requests tried again alone.
    pub fn advice(&self) -> Option<String> {
        let slowest = Duration::from_millis(self.slowest_ms.load(Ordering::Relaxed));
        let retries = self.retries.load(Ordering::Relaxed);
        let near = slowest * 2 >= self.timeout;
        if !near && retries == 0 && !self.slowed() {
            return None;
        }
        let mut parts = vec![format!(
            "the slowest answer took {:.1} s of timing.request_timeout_s ({} s)",
            slowest.as_secs_f64(),
            self.timeout.as_secs_f64()
        )];
        if self.slowed() && self.jobs > 1 {
            parts.push(format!(
                "the run went on one scenario at a time (from -j {})",
                self.jobs
            ));
        }
        if retries > 0 {
            parts.push(format!(
                "{retries} request{} cut short by the transport {} tried again alone",
                if retries == 1 { "" } else { "s" },
                if retries == 1 { "was" } else { "were" }
            ));
        }
        Some(format!(
            "{}: a slow server; raise timing.request_timeout_s in the target (or lower -j) so that no check waits on the edge of it",
            parts.join("; ")
        ))
    }
}

/// Transport failures worth one more try: the request may never have
/// reached the server, or its answer never came back.
pub fn retriable(class: ErrorClass) -> bool {
    matches!(
        class,
        ErrorClass::Timeout | ErrorClass::ConnectionReset | ErrorClass::Connect
    )
}
