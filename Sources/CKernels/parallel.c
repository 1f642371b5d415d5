// A small persistent thread pool for the heavy ops (see Parallel.swift).
//
// Why not Dispatch: a training step runs thousands of parallel ops, many of them tens of
// microseconds long (LoRA's rank-8 products, norms, softmax rows). concurrentPerform wakes its
// workers anew for each and hands indices to whichever thread comes first, so a thread rarely
// finds its part of the operands in its own cache. Here workers spin briefly between jobs, then
// sleep on a condition variable, and worker t starts with index t: the same rows of a product
// land on the same core call after call.
//
// A job never waits for a worker that has not started on it: on a shared machine a worker's
// core may be busy with another process for milliseconds. Whoever runs out of indices takes
// the first indices of threads that have not claimed them yet, and once every index is taken
// the caller closes the job: a worker that arrives later sits it out, and the caller waits
// only for the workers that joined.
#define _GNU_SOURCE
#include "ckernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

enum {
    MAX_WORKERS = 255,
    JOB_SERIAL = 256,          // > MAX_WORKERS + 1
    SPIN_NANOSECONDS = 200000, // an idle worker spins this long before it sleeps
};

/// `members`: the job's serial number, whether it is closed, and how many workers joined it.
#define MEMBERS_SERIAL_SHIFT 20
#define MEMBERS_CLOSED (1L << 19)
#define MEMBERS_COUNT ((1L << 19) - 1)

static inline void cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static long now_nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

/// The job being run: published by storing a new `job`, finished when the caller has closed it
/// and no worker is left inside. `job` is a serial number times JOB_SERIAL plus the job's
/// thread count, so a worker decides whether it takes part from the one value it woke on.
static struct {
    pthread_mutex_t busy;          // held by the caller for the whole job
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    atomic_long job;
    atomic_int sleepers;
    atomic_long members;           // serial << MEMBERS_SERIAL_SHIFT | MEMBERS_CLOSED | joined workers
    atomic_long next_index;        // indices past the first `threads` are claimed from here
    atomic_char taken[MAX_WORKERS + 1]; // the first index of each thread, once someone runs it
    long workers;                  // started so far
    long count, threads;
    void (*body)(void *, long);
    void *context;
    int level;                     // the caller's forced CPU level, for the workers
} pool = {
    .busy = PTHREAD_MUTEX_INITIALIZER,
    .sleep_lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
};

static void run_index_once(long index) {
    if (!atomic_exchange_explicit(&pool.taken[index], 1, memory_order_relaxed)) pool.body(pool.context, index);
}

/// Thread `slot` (0 = the caller) runs index `slot`, claims the rest one at a time, then takes
/// the first indices of threads that have not got to them.
static void run_share(long slot) {
    run_index_once(slot);
    for (;;) {
        const long index = atomic_fetch_add_explicit(&pool.next_index, 1, memory_order_relaxed);
        if (index >= pool.count) break;
        pool.body(pool.context, index);
    }
    for (long other = 0; other < pool.threads; other++) run_index_once(other);
}

/// Enters job `serial` unless the caller has closed it (or moved on).
static int join_job(long serial) {
    long members = atomic_load_explicit(&pool.members, memory_order_acquire);
    while (members >> MEMBERS_SERIAL_SHIFT == serial && !(members & MEMBERS_CLOSED))
        if (atomic_compare_exchange_weak_explicit(&pool.members, &members, members + 1,
                                                  memory_order_acq_rel, memory_order_acquire))
            return 1;
    return 0;
}

static long wait_for_job(long seen) {
    const long deadline = now_nanoseconds() + SPIN_NANOSECONDS;
    for (long spins = 0;; spins++) {
        const long job = atomic_load_explicit(&pool.job, memory_order_acquire);
        if (job != seen) return job;
        if ((spins & 63) == 63 && now_nanoseconds() > deadline) break;
        cpu_relax();
    }
    pthread_mutex_lock(&pool.sleep_lock);
    atomic_fetch_add(&pool.sleepers, 1);
    long job;
    while ((job = atomic_load(&pool.job)) == seen)
        pthread_cond_wait(&pool.wake, &pool.sleep_lock);
    atomic_fetch_sub(&pool.sleepers, 1);
    pthread_mutex_unlock(&pool.sleep_lock);
    return job;
}

/// What a new worker starts from: its slot (1 ... workers) and the job current when it was
/// created (it must not read `pool.job` itself: the job it was started for may be out by then).
typedef struct { long slot, seen; } worker_start;

static void *worker_main(void *argument) {
    const worker_start start = *(worker_start *)argument;
    free(argument);
    const long slot = start.slot;
    long seen = start.seen;
    for (;;) {
        seen = wait_for_job(seen);
        if (slot >= seen % JOB_SERIAL || !join_job(seen / JOB_SERIAL)) continue;
        const int own_level = peft_forced_cpu_level();
        peft_set_cpu_level(pool.level);
        run_share(slot);
        peft_set_cpu_level(own_level);
        atomic_fetch_sub_explicit(&pool.members, 1, memory_order_release);
    }
    return NULL;
}

/// Starts workers until `needed` exist; false when the system refuses a thread.
static int ensure_workers(long needed) {
    while (pool.workers < needed) {
        worker_start *start = malloc(sizeof *start);
        if (!start) return 0;
        *start = (worker_start){pool.workers + 1, atomic_load(&pool.job)};
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        const int failed = pthread_create(&thread, &attributes, worker_main, start);
        pthread_attr_destroy(&attributes);
        if (failed) {
            free(start);
            return 0;
        }
        pool.workers++;
    }
    return 1;
}

int peft_parallel_for(long count, long threads, void (*body)(void *, long), void *context) {
    if (threads > count) threads = count;
    if (threads > MAX_WORKERS + 1) threads = MAX_WORKERS + 1;
    if (threads < 2) {
        for (long index = 0; index < count; index++) body(context, index);
        return 1;
    }
    // One job at a time: a concurrent or nested caller gets 0 and uses its own threads.
    if (pthread_mutex_trylock(&pool.busy) != 0) return 0;
    if (!ensure_workers(threads - 1)) {
        pthread_mutex_unlock(&pool.busy);
        return 0;
    }
    pool.count = count;
    pool.threads = threads;
    pool.body = body;
    pool.context = context;
    pool.level = peft_forced_cpu_level();
    for (long slot = 0; slot < threads; slot++) atomic_store_explicit(&pool.taken[slot], 0, memory_order_relaxed);
    atomic_store_explicit(&pool.next_index, threads, memory_order_relaxed);
    const long serial = atomic_load_explicit(&pool.job, memory_order_relaxed) / JOB_SERIAL + 1;
    atomic_store_explicit(&pool.members, serial << MEMBERS_SERIAL_SHIFT, memory_order_release);
    atomic_store(&pool.job, serial * JOB_SERIAL + threads); // publishes the fields above
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.sleep_lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.sleep_lock);
    }
    run_share(0);
    // Every index is taken: close the job, then wait for the workers still running theirs.
    // Spin while they are likely busy; yield the core when they may need it.
    atomic_fetch_or_explicit(&pool.members, MEMBERS_CLOSED, memory_order_acq_rel);
    for (long spins = 0; atomic_load_explicit(&pool.members, memory_order_acquire) & MEMBERS_COUNT; spins++) {
        if (spins < 4096) cpu_relax();
        else sched_yield();
    }
    pthread_mutex_unlock(&pool.busy);
    return 1;
}
