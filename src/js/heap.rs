//! The heap budget of one runtime: how it is installed, and how a run learns that it was
//! reached.
//!
//! The budget is a hard cap on what the engine allocates for the runtime, native built-ins
//! included (`Array(1e8).fill(0)`, `split`, `JSON.parse`, spreads and typed arrays allocate
//! through the same accounting as script objects). Reaching it terminates the running script,
//! grants the engine a fixed [`UNWIND_HEADROOM`] to unwind (never more, however often the
//! limit is hit again), and marks the runtime for discarding. The engine clamps the budget to
//! [`Limits::HEAP_BYTES_MIN`](super::Limits::HEAP_BYTES_MIN)..=
//! [`Limits::HEAP_BYTES_MAX`](super::Limits::HEAP_BYTES_MAX) before it gets here, so no
//! budget can make the runtime fail to start (a runtime that cannot even load the prelude
//! aborts the process in the QuickJS facade).
//!
//! How, per engine:
//! - QuickJS (the facade over the `v8x` crate): the budget becomes QuickJS's malloc-level
//!   limit (`JS_SetMemoryLimit`). With no near-heap-limit callback registered, the facade's
//!   memory-limit handler terminates execution on the first allocation that would cross it and
//!   raises the limit once, by a fixed 16 MiB, for unwinding; later allocations past that fail
//!   with QuickJS's own out-of-memory error. A near-heap-limit callback would be worse here:
//!   the facade lets the heap grow an eighth past the limit before calling it, and re-arms
//!   itself at whatever the callback returns. The facade records the raised limit, which is how
//!   [`HeapLimit::reached`] learns the budget was hit.
//! - V8: the budget is the isolate's heap limit; the near-heap-limit callback terminates
//!   execution and grants [`UNWIND_HEADROOM`] the first time, and nothing afterwards.
//!
//! This file must not decide what happens to the run or the runtime; `worker.rs` does.

use deno_core::JsRuntime;
use deno_core::v8;

/// Memory the engine may use past the budget while it unwinds a script that reached it. The
/// QuickJS facade grants exactly this much (its `TERMINATION_HEADROOM`); the V8 callback
/// grants the same.
pub(crate) const UNWIND_HEADROOM: usize = 16 * 1024 * 1024;

/// The installed budget of one runtime.
pub(crate) struct HeapLimit {
    budget: usize,
    #[cfg(not(feature = "quickjs"))]
    reached: std::rc::Rc<std::cell::Cell<bool>>,
}

impl HeapLimit {
    /// The create parameters that give a new runtime `budget` bytes of heap.
    pub fn create_params(budget: usize) -> v8::CreateParams {
        v8::CreateParams::default().heap_limits(0, budget)
    }

    /// Arms the budget on a runtime created with [`HeapLimit::create_params`].
    #[cfg(feature = "quickjs")]
    pub fn install(_runtime: &mut JsRuntime, budget: usize) -> HeapLimit {
        // The facade enforces the limit from the create parameters and terminates on its own
        // (see the module documentation); registering a callback would weaken it.
        HeapLimit { budget }
    }

    /// Arms the budget on a runtime created with [`HeapLimit::create_params`].
    #[cfg(not(feature = "quickjs"))]
    pub fn install(runtime: &mut JsRuntime, budget: usize) -> HeapLimit {
        let reached = std::rc::Rc::new(std::cell::Cell::new(false));
        let flag = std::rc::Rc::clone(&reached);
        let isolate = runtime.v8_isolate().thread_safe_handle();
        runtime.add_near_heap_limit_callback(move |current, initial| {
            isolate.terminate_execution();
            if flag.replace(true) {
                current
            } else {
                initial.max(current).saturating_add(UNWIND_HEADROOM)
            }
        });
        HeapLimit { budget, reached }
    }

    /// The budget in bytes.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Whether the runtime reached its budget at any point so far. On QuickJS this walks the
    /// heap's accounting, so callers ask only when a run did not end cleanly.
    #[cfg(feature = "quickjs")]
    pub fn reached(&self, runtime: &mut JsRuntime) -> bool {
        runtime.v8_isolate().get_heap_statistics().heap_size_limit() > self.budget
    }

    /// Whether the runtime reached its budget at any point so far.
    #[cfg(not(feature = "quickjs"))]
    pub fn reached(&self, _runtime: &mut JsRuntime) -> bool {
        self.reached.get()
    }
}

/// Makes the C allocator give large freed blocks back to the system, once per process.
///
/// QuickJS allocates through the C library's `malloc`. glibc raises its mmap and trim
/// thresholds each time a large block is freed (up to 32 and 64 MiB), after which a thread
/// arena keeps the freed peak of a discarded runtime resident for good, and the peaks of
/// runtimes on different threads add up. Fixed thresholds switch that adaptation off: blocks
/// of [`MMAP_THRESHOLD`] or more are mapped and unmapped on their own, and an arena returns
/// free memory at its top past [`TRIM_THRESHOLD`].
pub(crate) fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static TUNED: std::sync::Once = std::sync::Once::new();
        TUNED.call_once(|| {
            // SAFETY: `mallopt` only changes allocator parameters; both values are valid for
            // these options, and a refused change leaves glibc's defaults in place.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
                libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
            }
        });
    }
}

/// Allocations from this size on get their own mapping (see [`tune_allocator`]).
const MMAP_THRESHOLD: i32 = 1 << 20;
/// Free memory an arena keeps at its top before it returns the rest (see [`tune_allocator`]).
const TRIM_THRESHOLD: i32 = 8 << 20;

/// Hands memory the allocator keeps after a runtime was torn down back to the system, before
/// it returns.
pub(crate) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` has no preconditions; it only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// [`release_freed_memory`] for a runtime whose thread ends because it was evicted, where
/// nobody waits for the memory: one thread trims for all that end at once. A trim walks
/// every arena of the process, so twenty runtimes evicted together trimming one after the
/// other cost more than the runs they served; the trimming thread instead trims again as
/// long as another thread freed memory meanwhile, so nothing freed is kept.
pub(crate) fn release_freed_memory_shared() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static PENDING: AtomicBool = AtomicBool::new(false);
    static TRIMMING: AtomicBool = AtomicBool::new(false);
    PENDING.store(true, Ordering::SeqCst);
    // Either this thread becomes the trimmer, or the trimmer (which clears `TRIMMING` before it
    // reads `PENDING` again) sees this thread's `PENDING` and trims once more.
    while PENDING.load(Ordering::SeqCst)
        && TRIMMING
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    {
        PENDING.store(false, Ordering::SeqCst);
        release_freed_memory();
        TRIMMING.store(false, Ordering::SeqCst);
    }
}
