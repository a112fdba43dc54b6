//! Ctrl-C and SIGTERM, for `check` and `load`.
//!
//! The first signal asks the run to stop: no new request goes out, what is
//! in flight is finished or cancelled within [`GRACE`], every requested
//! report is written (marked interrupted), and the process exits with
//! [`exit_code`]: 130 for SIGINT, 143 for SIGTERM (128 + the signal's
//! number, as shells report it). A second signal exits at once, with the
//! same code.
//!
//! How: a thread of its own waits for both signals (tokio's handlers,
//! installed before [`install`] returns). goose, which `load` embeds,
//! installs a Ctrl-C handler of its own that would replace ours and exit 1
//! on a second Ctrl-C; a no-op handler registered through the same crate
//! first makes goose's registration fail harmlessly, and ours chains to it.
//!
//! May use: `exit`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// How long what is in flight may take to finish once a signal came.
pub const GRACE: Duration = Duration::from_secs(5);

pub const SIGINT: i32 = 2;
pub const SIGTERM: i32 = 15;

/// The first signal received (0: none yet).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// Wakes the runs waiting in [`wait`].
static WATCH: OnceLock<tokio::sync::watch::Sender<i32>> = OnceLock::new();
/// Called once, on the first signal (load stops its engine with it).
static HOOKS: std::sync::Mutex<Vec<Box<dyn Fn() + Send>>> = std::sync::Mutex::new(Vec::new());

/// The signal's name (`SIGINT`).
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// The exit code of a run stopped by `signal`: 128 + its number.
pub fn exit_code(signal: i32) -> i32 {
    match signal {
        SIGINT => crate::exit::INTERRUPTED,
        SIGTERM => crate::exit::TERMINATED,
        n => 128 + n,
    }
}

/// The first signal received so far.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    }
}

/// Resolves with the first signal, once one came (never without
/// [`install`]).
pub async fn wait() -> i32 {
    let Some(tx) = WATCH.get() else {
        return std::future::pending().await;
    };
    let mut rx = tx.subscribe();
    loop {
        let v = *rx.borrow_and_update();
        if v != 0 {
            return v;
        }
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Runs `hook` on the first signal (at once if one already came).
pub fn on_signal(hook: impl Fn() + Send + 'static) {
    let mut hooks = HOOKS.lock().unwrap_or_else(|p| p.into_inner());
    if received().is_some() {
        hook();
    }
    hooks.push(Box::new(hook));
}

/// Starts listening for SIGINT and SIGTERM (once per process; later calls
/// do nothing). When this returns, both are handled.
pub fn install() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let (tx, _) = tokio::sync::watch::channel(0);
        let _ = WATCH.set(tx);
        // Before tokio's handlers: theirs chain to this one, and goose's
        // later registration through the same crate fails harmlessly.
        let _ = ctrlc::set_handler(|| {});
        let (ready, listening) = std::sync::mpsc::channel::<bool>();
        let spawned = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || listen(ready));
        // Wait until the listener has its handlers, however long a busy
        // machine takes to start it: a signal in between would reach only
        // the no-op handler above and be lost. The thread always answers.
        if spawned.is_ok() {
            let _ = listening.recv();
        }
    });
}

fn listen(ready: std::sync::mpsc::Sender<bool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        let _ = ready.send(false);
        return;
    };
    rt.block_on(async move {
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            let _ = ready.send(false);
            return;
        };
        let _ = ready.send(true);
        loop {
            let sig = tokio::select! {
                _ = int.recv() => SIGINT,
                _ = term.recv() => SIGTERM,
            };
            deliver(sig);
        }
    });
}

/// What a signal does: the first stops the run, a second exits.
fn deliver(sig: i32) {
    match RECEIVED.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => {
            eprintln!(
                "\n{}: stopping; the reports are written ({} again exits at once)",
                name(sig),
                name(sig)
            );
            if let Some(tx) = WATCH.get() {
                let _ = tx.send(sig);
            }
            for hook in HOOKS.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                hook();
            }
        }
        Err(first) => {
            eprintln!("\n{} again: exiting now, reports unwritten", name(sig));
            std::process::exit(exit_code(first));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn exit_codes_are_128_plus_the_signal() {
        assert_eq!(super::exit_code(super::SIGINT), 130);
        assert_eq!(super::exit_code(super::SIGTERM), 143);
        assert_eq!(super::name(super::SIGTERM), "SIGTERM");
    }
}
