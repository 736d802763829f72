//! The CPU-time clock of one thread, readable from another thread (the watchdog).
//!
//! std has no thread CPU clock, so on Linux this asks the C library (through the `libc` crate)
//! for the thread's POSIX CPU-time clock id (`pthread_getcpuclockid`) and reads it with
//! `clock_gettime`. Elsewhere it is unavailable and the engine falls back to elapsed time. This
//! file must not do anything but read clocks.

use std::time::Duration;

/// The CPU-time clock of the thread that created it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ThreadCpuClock {
    #[cfg(target_os = "linux")]
    clock_id: libc::clockid_t,
}

impl ThreadCpuClock {
    /// The clock of the calling thread, if the platform has one.
    #[cfg(target_os = "linux")]
    pub fn of_current_thread() -> Option<ThreadCpuClock> {
        let mut clock_id: libc::clockid_t = 0;
        // SAFETY: `pthread_self` has no preconditions, and `pthread_getcpuclockid` writes one
        // `clockid_t` through a pointer to a live local.
        let status = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock_id) };
        (status == 0).then_some(ThreadCpuClock { clock_id })
    }

    /// The clock of the calling thread, if the platform has one.
    #[cfg(not(target_os = "linux"))]
    pub fn of_current_thread() -> Option<ThreadCpuClock> {
        None
    }

    /// CPU time the thread has used so far; `None` once the thread is gone.
    #[cfg(target_os = "linux")]
    pub fn used(&self) -> Option<Duration> {
        let mut time = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `clock_gettime` writes one `timespec` through a pointer to a live local; an
        // id of a finished thread makes it fail with EINVAL instead of reading anything.
        let status = unsafe { libc::clock_gettime(self.clock_id, &mut time) };
        if status != 0 {
            return None;
        }
        let seconds = u64::try_from(time.tv_sec).ok()?;
        let nanos = u32::try_from(time.tv_nsec).ok()?;
        Some(Duration::new(seconds, nanos))
    }

    /// CPU time the thread has used so far; `None` once the thread is gone.
    #[cfg(not(target_os = "linux"))]
    pub fn used(&self) -> Option<Duration> {
        None
    }
}
