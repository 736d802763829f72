//! A one-slot mailbox between two threads that polls briefly before it sleeps.
//!
//! A run crosses threads twice (the job to the runtime's thread, the reply back), and with a
//! channel each crossing costs a futex wake plus the sleeper's scheduling latency, which is
//! most of a warm call's overhead. The receiver here first polls an atomic flag (yielding its
//! core between polls) for a short, bounded time, and the sender only makes the wake-up system call when the receiver is really
//! asleep. This file must not know what the values are.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long a receiver polls before it sleeps. Long enough to cover a back-to-back hand-off,
/// short enough that an idle runtime thread stops burning CPU almost at once.
const SPIN: Duration = Duration::from_micros(30);

/// Why [`Receiver::recv_timeout`] returned without a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecvError {
    /// The timeout passed first.
    Timeout,
    /// The sender is gone and the slot is empty.
    Closed,
}

struct Inner<T> {
    value: Option<T>,
    /// The receiver is (about to be) waiting on the condition variable.
    sleeping: bool,
    closed: bool,
}

struct Shared<T> {
    /// Mirrors `value.is_some()` so the spinning receiver does not take the lock.
    full: AtomicBool,
    inner: Mutex<Inner<T>>,
    wake: Condvar,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // Nothing panics while holding this lock; recover the data if something ever did.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The sending half; dropping it closes the mailbox.
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half.
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// A new, empty mailbox.
pub(crate) fn mailbox<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        full: AtomicBool::new(false),
        inner: Mutex::new(Inner {
            value: None,
            sleeping: false,
            closed: false,
        }),
        wake: Condvar::new(),
    });
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared },
    )
}

impl<T> Sender<T> {
    /// Puts `value` in the slot, replacing an unread one (the protocol never sends twice
    /// without a reply in between), and wakes the receiver if it sleeps.
    pub fn send(&self, value: T) {
        let sleeping = {
            let mut inner = self.shared.lock();
            inner.value = Some(value);
            self.shared.full.store(true, Ordering::Release);
            inner.sleeping
        };
        if sleeping {
            self.shared.wake.notify_one();
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        inner.closed = true;
        drop(inner);
        self.shared.wake.notify_one();
    }
}

impl<T> Receiver<T> {
    /// Waits until a value arrives, the sender is dropped, or `timeout` passes.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvError> {
        let started = Instant::now();
        let spin = SPIN.min(timeout);
        let mut polls = 0_u32;
        while !self.shared.full.load(Ordering::Acquire) {
            polls = polls.wrapping_add(1);
            // Reading the clock costs more than a poll, so check it only now and then.
            if polls.is_multiple_of(16) && started.elapsed() >= spin {
                break;
            }
            // Yielding rather than busy-waiting lets the other side run when the machine has
            // no idle core (a pure spin doubled warm-call latency under load).
            std::thread::yield_now();
        }
        let mut inner = self.shared.lock();
        loop {
            if let Some(value) = inner.value.take() {
                self.shared.full.store(false, Ordering::Release);
                inner.sleeping = false;
                return Ok(value);
            }
            if inner.closed {
                return Err(RecvError::Closed);
            }
            let Some(left) = timeout.checked_sub(started.elapsed()) else {
                inner.sleeping = false;
                return Err(RecvError::Timeout);
            };
            if left.is_zero() {
                inner.sleeping = false;
                return Err(RecvError::Timeout);
            }
            inner.sleeping = true;
            inner = match self.shared.wake.wait_timeout(inner, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Waits until a value arrives or the sender is dropped.
    pub fn recv(&self) -> Result<T, RecvError> {
        loop {
            match self.recv_timeout(Duration::from_secs(3600)) {
                Err(RecvError::Timeout) => continue,
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cross_threads_and_closing_ends_the_wait() {
        let (jobs, job_inbox) = mailbox::<u32>();
        let (replies, reply_inbox) = mailbox::<u32>();
        let worker = std::thread::spawn(move || {
            while let Ok(job) = job_inbox.recv() {
                replies.send(job * 2);
            }
        });
        for i in 0..100 {
            jobs.send(i);
            assert_eq!(reply_inbox.recv_timeout(Duration::from_secs(10)), Ok(i * 2));
        }
        drop(jobs);
        assert!(worker.join().is_ok());
        assert_eq!(
            reply_inbox.recv_timeout(Duration::from_millis(1)),
            Err(RecvError::Closed)
        );
    }

    #[test]
    fn an_empty_mailbox_times_out() {
        let (_sender, inbox) = mailbox::<u32>();
        assert_eq!(
            inbox.recv_timeout(Duration::from_millis(2)),
            Err(RecvError::Timeout)
        );
    }
}
