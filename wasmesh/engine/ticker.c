/* A native thread that advances a wasmtime engine's epoch at a fixed interval.
 *
 * Python's own ticker thread needs the GIL to run, so under load a deadline could slip by
 * seconds; this one never touches the interpreter. `tick` is wasmtime's
 * `wasmtime_engine_increment_epoch`, passed in by address so this file links to nothing.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

typedef void (*tick_fn)(void *engine);

struct ticker {
    tick_fn tick;
    void *engine;
    struct timespec interval;
};

static void advance(struct timespec *at, const struct timespec *by) {
    at->tv_sec += by->tv_sec;
    at->tv_nsec += by->tv_nsec;
    if (at->tv_nsec >= 1000000000L) {
        at->tv_sec += 1;
        at->tv_nsec -= 1000000000L;
    }
}

static int before(const struct timespec *a, const struct timespec *b) {
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

/* One tick per interval of the monotonic clock: a thread woken late catches up, so epochs
 * count real time even when the machine is busy. */
static void *run(void *arg) {
    struct ticker *t = arg;
    struct timespec next, now;
    clock_gettime(CLOCK_MONOTONIC, &next);
    advance(&next, &t->interval);
    for (;;) {
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) != 0) {
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        int ticks = 0;
        do {
            t->tick(t->engine);
            advance(&next, &t->interval);
        } while (before(&next, &now) && ++ticks < 1000);
        if (before(&next, &now)) {
            next = now; /* over ten seconds behind (a suspended machine): start afresh */
            advance(&next, &t->interval);
        }
    }
    return NULL;
}

/* Starts the thread (it lives as long as the process); 0 on success, else an errno. */
int wasmesh_start_ticker(tick_fn tick, void *engine, long interval_ns) {
    struct ticker *t = malloc(sizeof *t);
    if (t == NULL) {
        return 12; /* ENOMEM */
    }
    t->tick = tick;
    t->engine = engine;
    t->interval.tv_sec = interval_ns / 1000000000L;
    t->interval.tv_nsec = interval_ns % 1000000000L;
    sigset_t all, previous;
    sigfillset(&all);
    /* Signals stay with the interpreter's threads. */
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t thread;
    int err = pthread_create(&thread, &attr, run, t);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (err != 0) {
        free(t);
    }
    return err;
}
