//! Timers as fine as the open model's schedule. At 50,000 iterations a
//! second one is due every 20 µs, and tokio's timers fire on whole
//! milliseconds (a deadline is rounded up to the next), so fifty
//! iterations would start at once, queue behind each other in the
//! generator and show as latency that the server never added.
//!
//! - [`Pacer`]: one timer with nanosecond deadlines (a timerfd on Linux,
//!   woken by the runtime's own epoll; elsewhere, or when no timerfd can
//!   be had, tokio's timer, up to a millisecond late);
//! - [`Ticker`]: the runtime's workers wait on one [`Pacer`], which wakes
//!   every worker due within a [`GRID`] step at once: one timer armed and
//!   one wake of the runtime a step, however many iterations fall in it
//!   (arming a timer per iteration costs a syscall, and in a VM an exit).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// One worker's timer.
pub(super) struct Pacer {
    #[cfg(target_os = "linux")]
    fd: Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>>,
}

/// Waits shorter than this are not waited: the worker starts at once.
const NOT_WORTH_A_WAIT: Duration = Duration::from_micros(5);

/// tokio's timer resolution.
#[cfg(test)]
const TICK: Duration = Duration::from_millis(1);

impl Pacer {
    /// A timer (tokio's, if the system's cannot be had).
    pub(super) fn new() -> Pacer {
        #[cfg(target_os = "linux")]
        {
            use rustix::time::{TimerfdClockId, TimerfdFlags, timerfd_create};
            let fd = timerfd_create(
                TimerfdClockId::Monotonic,
                TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
            )
            .ok()
            .and_then(|fd| {
                // SAFETY: an OwnedFd is a valid, open descriptor that stays
                // open, the same one, until the AsyncFd that owns it drops.
                unsafe {
                    tokio::io::unix::AsyncFd::register_with_interest(
                        fd,
                        tokio::io::Interest::READABLE,
                    )
                }
                .ok()
            });
            Pacer { fd }
        }
        #[cfg(not(target_os = "linux"))]
        Pacer {}
    }

    /// Returns at `deadline` (or a little after: the system's scheduling),
    /// or up to tokio's tick after it where no timerfd is to be had.
    pub(super) async fn sleep_until(&mut self, deadline: Instant) {
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.fd {
            return precise(fd, deadline).await;
        }
        tokio::time::sleep_until(deadline).await;
    }
}

/// The ticker's step: a worker wakes up to a step before its deadline
/// (and is measured from its deadline if it starts before it).
pub(super) const GRID: Duration = Duration::from_micros(250);

/// How early a worker may wake: a step, and what is not worth a wait.
const EARLY: Duration = GRID.saturating_add(NOT_WORTH_A_WAIT);

#[cfg(target_os = "linux")]
async fn precise(fd: &tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>, deadline: Instant) {
    use rustix::time::{Itimerspec, TimerfdTimerFlags, Timespec, timerfd_settime};
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left < NOT_WORTH_A_WAIT {
            return;
        }
        // Relative: std's Instant does not expose its clock. Arming resets
        // the expiry count, so the fd is readable only once this expires.
        let spec = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: Timespec {
                tv_sec: left.as_secs() as _,
                tv_nsec: left.subsec_nanos() as _,
            },
        };
        // Not armed, or not to be waited on: tokio's timer, late by up to
        // its tick (never a loop that does not wait).
        if timerfd_settime(fd, TimerfdTimerFlags::empty(), &spec).is_err() {
            return tokio::time::sleep_until(deadline).await;
        }
        match fd.readable().await {
            // Readiness is the runtime's cache and may be an earlier
            // expiry's: cleared, and the deadline checked again.
            Ok(mut ready) => ready.clear_ready(),
            Err(_) => return tokio::time::sleep_until(deadline).await,
        }
    }
}

/// The workers of one runtime waiting for their iterations, woken by one
/// timer. Deadlines come in (nearly) in order, as iterations are claimed.
pub(super) struct Ticker {
    state: Mutex<Waiting>,
    /// Told when a deadline comes in earlier than the one the timer is
    /// armed for (or than none).
    sooner: Notify,
}

#[derive(Default)]
struct Waiting {
    /// (deadline, arrival number, waker), earliest first.
    heap: BinaryHeap<Reverse<(Instant, u64, WakerBy)>>,
    arrivals: u64,
    /// What the timer is armed for; `None` while it waits for a deadline.
    armed: Option<Instant>,
}

/// A waker in the heap (ordered by the deadline and arrival before it).
struct WakerBy(Waker);

impl PartialEq for WakerBy {
    fn eq(&self, _: &WakerBy) -> bool {
        true
    }
}
impl Eq for WakerBy {}
impl PartialOrd for WakerBy {
    fn partial_cmp(&self, other: &WakerBy) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for WakerBy {
    fn cmp(&self, _: &WakerBy) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl Ticker {
    pub(super) fn new() -> Arc<Ticker> {
        Arc::new(Ticker {
            state: Mutex::new(Waiting::default()),
            sooner: Notify::new(),
        })
    }

    /// Resolves within a [`GRID`] step before `deadline` (at once if that
    /// is now), in the order of the deadlines. The ticker's [`Ticker::drive`] must be running.
    pub(super) fn until(self: &Arc<Ticker>, deadline: Instant) -> Until {
        Until {
            ticker: self.clone(),
            deadline,
        }
    }

    /// Wakes the waiting workers step by step, for as long as the runtime
    /// runs it (it is aborted with the run).
    pub(super) async fn drive(self: Arc<Ticker>) {
        let mut pacer = Pacer::new();
        loop {
            let next = {
                let mut w = self.lock();
                let next = w.heap.peek().map(|Reverse((d, _, _))| *d);
                w.armed = next;
                next
            };
            match next {
                None => self.sooner.notified().await,
                Some(d) => {
                    tokio::select! {
                        biased;
                        _ = self.sooner.notified() => continue,
                        _ = pacer.sleep_until(d.checked_sub(GRID).unwrap_or(d)) => {}
                    }
                }
            }
            self.wake_due(Instant::now());
        }
    }

    /// Wakes every worker due within a step of `now`.
    fn wake_due(&self, now: Instant) {
        let mut due = Vec::new();
        {
            let mut w = self.lock();
            while let Some(Reverse((d, _, _))) = w.heap.peek() {
                if *d > now + EARLY {
                    break;
                }
                if let Some(Reverse((_, _, WakerBy(waker)))) = w.heap.pop() {
                    due.push(waker);
                }
            }
        }
        due.into_iter().for_each(Waker::wake);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A worker's wait for its deadline ([`Ticker::until`]).
pub(super) struct Until {
    ticker: Arc<Ticker>,
    deadline: Instant,
}

impl Future for Until {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() + EARLY >= self.deadline {
            return Poll::Ready(());
        }
        // Woken (or polled again) before its time: in the heap once more,
        // with this poll's waker; a stale entry wakes it for nothing.
        let deadline = self.deadline;
        let sooner = {
            let mut w = self.ticker.lock();
            w.arrivals += 1;
            let n = w.arrivals;
            w.heap
                .push(Reverse((deadline, n, WakerBy(cx.waker().clone()))));
            w.armed.is_none_or(|a| deadline < a)
        };
        if sooner {
            self.ticker.sooner.notify_one();
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The timer neither returns before its deadline (by more than what
    /// is not worth a wait) nor rounds it up to tokio's millisecond.
    #[tokio::test(flavor = "current_thread")]
    async fn a_pacer_wakes_at_its_deadline_not_on_the_next_millisecond() {
        let mut pacer = Pacer::new();
        let mut late = Vec::new();
        for i in 0..50u64 {
            let deadline = Instant::now() + Duration::from_micros(150 + 7 * i);
            pacer.sleep_until(deadline).await;
            let now = Instant::now();
            if cfg!(target_os = "linux") {
                assert!(
                    now + NOT_WORTH_A_WAIT >= deadline,
                    "woke {:?} early",
                    deadline - now
                );
            }
            late.push(now.saturating_duration_since(deadline));
        }
        late.sort();
        if cfg!(target_os = "linux") {
            // tokio's timer would wake half a tick late on average.
            assert!(late[25] < TICK * 2 / 5, "median lateness {:?}", late[25]);
        }
    }

    /// Workers waiting on one ticker wake in the order of their deadlines,
    /// none more than a step early, and (on Linux) not a millisecond late.
    #[tokio::test(flavor = "current_thread")]
    async fn a_ticker_wakes_each_worker_at_its_deadline() {
        let ticker = Ticker::new();
        let driver = tokio::spawn(ticker.clone().drive());
        let start = Instant::now();
        let waits: Vec<_> = (0..40u64)
            .map(|i| {
                let ticker = ticker.clone();
                // Deadlines 100 µs apart, handed out in a shuffled order.
                let deadline = start + Duration::from_micros(2_000 + 100 * ((i * 17) % 40));
                tokio::spawn(async move {
                    ticker.until(deadline).await;
                    (deadline, Instant::now())
                })
            })
            .collect();
        let mut woke = Vec::new();
        for w in waits {
            woke.push(w.await.expect("a waiter"));
        }
        driver.abort();
        let mut late = Vec::new();
        for (deadline, at) in &woke {
            assert!(*at + EARLY >= *deadline, "woke {:?} early", *deadline - *at);
            late.push(at.saturating_duration_since(*deadline));
        }
        late.sort();
        if cfg!(target_os = "linux") {
            assert!(late[20] < TICK * 2 / 5, "median lateness {:?}", late[20]);
        }
    }
}
