//! A small pool of threads that run one job together and meet at barriers inside it.
//!
//! A whole forward pass is one job: every thread takes its share of each step (rows of a matrix,
//! heads of attention) and waits for the others at a [`Barrier`] before the next step. Waiting
//! spins briefly and then yields the core, so a busy machine slows the pool down instead of
//! stalling it (a pure spin barrier collapses when another process takes one of the cores).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Spins before a waiting thread starts yielding its core.
const SPINS: usize = 2_000;
/// Idle rounds (spins and yields) before a worker without work parks.
const IDLE_ROUNDS: usize = 20_000;

/// A barrier for the threads of one job.
pub struct Barrier {
    n: usize,
    count: AtomicUsize,
    generation: AtomicUsize,
}

impl Barrier {
    fn new(n: usize) -> Self {
        Barrier {
            n,
            count: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
        }
    }

    /// Wait until all threads of the job have arrived.
    pub fn wait(&self) {
        if self.n == 1 {
            return;
        }
        let gen = self.generation.load(Ordering::Acquire);
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            self.count.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            return;
        }
        let mut spins = 0;
        while self.generation.load(Ordering::Acquire) == gen {
            if spins < SPINS {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }
}

type Job = dyn Fn(usize, &Barrier) + Sync;

struct Shared {
    n: usize,
    epoch: AtomicUsize,
    job: UnsafeCell<Option<*const Job>>,
    pending: AtomicUsize,
    panicked: AtomicBool,
    shutdown: AtomicBool,
    barrier: Barrier,
}

// SAFETY: `job` is written only by the owner thread while no job runs (all workers are between
// jobs, `pending == 0`) and read by workers only after they see the new epoch.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

/// A fixed set of threads; the calling thread is thread 0.
pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

/// The job panicked on some thread.
#[derive(Debug)]
pub struct JobPanicked;

impl Pool {
    /// A pool of `n` threads (the caller plus `n - 1` workers).
    pub fn new(n: usize) -> Self {
        let n = n.max(1);
        let shared = Arc::new(Shared {
            n,
            epoch: AtomicUsize::new(0),
            job: UnsafeCell::new(None),
            pending: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            barrier: Barrier::new(n),
        });
        let workers = (1..n)
            .map(|tid| {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("mailroom-gen-{tid}"))
                    .spawn(move || worker(shared, tid))
                    .expect("spawning a generator thread")
            })
            .collect();
        Pool { shared, workers }
    }

    /// Threads in the pool.
    pub fn threads(&self) -> usize {
        self.shared.n
    }

    /// Run `job(thread, barrier)` on every thread and return when all have finished. Every
    /// thread must call `barrier.wait()` the same number of times.
    pub fn run(&mut self, job: &(dyn Fn(usize, &Barrier) + Sync)) -> Result<(), JobPanicked> {
        let s = &*self.shared;
        s.panicked.store(false, Ordering::Relaxed);
        if s.n > 1 {
            // SAFETY: no job is running (the previous `run` waited for `pending == 0`), so no
            // worker reads `job` now; the pointer stays valid until this function returns,
            // after every worker has finished with it. `&mut self` keeps runs from overlapping.
            unsafe {
                let ptr: *const Job =
                    std::mem::transmute::<&(dyn Fn(usize, &Barrier) + Sync), &'static Job>(job);
                *s.job.get() = Some(ptr);
            }
            s.pending.store(s.n - 1, Ordering::Release);
            s.epoch.fetch_add(1, Ordering::AcqRel);
            for w in &self.workers {
                w.thread().unpark();
            }
        }
        let mine = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(0, &s.barrier)));
        let mut spins = 0;
        while s.pending.load(Ordering::Acquire) != 0 {
            if spins < SPINS {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
        if mine.is_err() || s.panicked.load(Ordering::Relaxed) {
            return Err(JobPanicked);
        }
        Ok(())
    }
}

fn worker(s: Arc<Shared>, tid: usize) {
    let mut seen = 0;
    loop {
        let mut idle = 0;
        let epoch = loop {
            let e = s.epoch.load(Ordering::Acquire);
            if e != seen || s.shutdown.load(Ordering::Acquire) {
                break e;
            }
            idle += 1;
            if idle < SPINS {
                std::hint::spin_loop();
            } else if idle < IDLE_ROUNDS {
                std::thread::yield_now();
            } else {
                std::thread::park_timeout(std::time::Duration::from_millis(50));
            }
        };
        if s.shutdown.load(Ordering::Acquire) {
            return;
        }
        seen = epoch;
        // SAFETY: see `Pool::run`: the pointer is valid until `pending` reaches 0.
        let job = unsafe { (*s.job.get()).expect("a published job") };
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
            (*job)(tid, &s.barrier)
        }));
        if ok.is_err() {
            s.panicked.store(true, Ordering::Relaxed);
        }
        s.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Release);
        for w in self.workers.drain(..) {
            w.thread().unpark();
            let _ = w.join();
        }
    }
}

/// The share of `0..n` that thread `tid` of `threads` takes, in whole units of `align`.
pub fn share(n: usize, tid: usize, threads: usize, align: usize) -> std::ops::Range<usize> {
    let units = n.div_ceil(align);
    let start = (units * tid / threads * align).min(n);
    let end = (units * (tid + 1) / threads * align).min(n);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn every_thread_runs_and_barriers_order_steps() {
        let mut pool = Pool::new(3);
        let step1 = AtomicU64::new(0);
        let seen = AtomicU64::new(0);
        for _ in 0..200 {
            step1.store(0, Ordering::SeqCst);
            seen.store(0, Ordering::SeqCst);
            pool.run(&|tid, b| {
                step1.fetch_add(1 << (tid * 8), Ordering::SeqCst);
                b.wait();
                // After the barrier every thread sees all three contributions.
                if step1.load(Ordering::SeqCst) == 0x010101 {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
                b.wait();
            })
            .unwrap();
            assert_eq!(seen.load(Ordering::SeqCst), 3);
        }
    }

    #[test]
    fn a_panic_is_reported_and_the_pool_still_works() {
        let mut pool = Pool::new(2);
        assert!(pool
            .run(&|tid, _| assert!(tid == 0, "worker fails"))
            .is_err());
        assert!(pool.run(&|_, _| {}).is_ok());
    }

    #[test]
    fn shares_cover_the_range_in_aligned_pieces() {
        for n in [0, 1, 31, 32, 576, 1536, 49152] {
            for threads in 1..5 {
                let mut next = 0;
                for tid in 0..threads {
                    let r = share(n, tid, threads, 32);
                    assert_eq!(r.start, next);
                    assert!(r.start.is_multiple_of(32));
                    next = r.end;
                }
                assert_eq!(next, n);
            }
        }
    }
}
