/* bench.h — the benchmark harness shared by the files in tests/bench/.
 *
 * A benchmark is a name plus a run function; the driver (main.c) runs every
 * registered one, or those named on the command line.  Each writes its
 * results as JSON Lines on stdout — one complete object per line, numbers in
 * the C locale whatever the process locale — so a script can collect them
 * with `jq` or pandas; anything meant for a human goes to stderr.
 *
 * Benchmarks use the public API only (include/netsim/), as a model would:
 * what is measured is what a model gets.
 */
#ifndef NETSIM_BENCH_H
#define NETSIM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

/* Knobs from the command line; 0 / NULL means "the benchmark's default". */
struct bench_opts {
    uint64_t    events;          /* events per measurement */
    unsigned    reps;            /* repetitions; the best wall time counts */
    const char *sizes;           /* comma-separated problem sizes */
};

struct bench {
    const char *name;
    const char *what;            /* one line for --list */
    /* Prints its JSON lines; returns false if the benchmark itself failed
     * (a wrong result, not a missed target). */
    bool      (*run)(const struct bench_opts *opts);
};

extern const struct bench bench_hold;
extern const struct bench bench_udp_chain;
extern const struct bench bench_queue_mem;
extern const struct bench bench_tcp_single;
extern const struct bench bench_tcp_dumbbell;
extern const struct bench bench_tcp_idle;
extern const struct bench bench_sweep_scaling;
extern const struct bench bench_tls_handshakes;
extern const struct bench bench_locks_contention;
extern const struct bench bench_locks_unsaturated;
extern const struct bench bench_dhcp_campus;

/* --- measuring --- */

/* Monotonic wall clock in seconds. */
double bench_now(void);

/* Resident set of this process in kB, current (VmRSS) and peak (VmHWM), from
 * /proc/self/status; -1 where unavailable. */
long bench_rss_kb(void);
long bench_peak_rss_kb(void);

/* Runs fn(arg, out) in a forked child, so that a memory measurement starts
 * from a fresh heap and leaves none behind, and copies the child's `out`
 * (size bytes) back into the caller's.  False, with out untouched, if the
 * child could not run, exited non-zero or died. */
bool bench_in_child(void (*fn)(void *arg, void *out), void *arg, void *out, size_t size);

/* Parses opts->sizes into a GArray of guint64 (owned by the caller), or
 * returns the `n` defaults when sizes is NULL.  NULL on a malformed list. */
GArray *bench_sizes(const struct bench_opts *opts, const uint64_t *defaults,
                    size_t n);

/* --- JSON Lines --- */

/* One output object under construction. */
typedef struct bench_json bench_json;

bench_json *bench_json_begin(const char *bench);     /* {"bench":"..." */
void bench_json_int(bench_json *j, const char *key, int64_t v);
void bench_json_num(bench_json *j, const char *key, double v);  /* NaN: null */
void bench_json_bool(bench_json *j, const char *key, bool v);
void bench_json_str(bench_json *j, const char *key, const char *v);
/* Closes the object, prints it as one line, flushes, frees j. */
void bench_json_end(bench_json *j);

#endif
