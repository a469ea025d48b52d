/* time.h — simulated time: signed 64-bit integer nanoseconds.
 *
 * Invariant: simulated time only moves forward, and only the scheduler
 * (sim/sched.c) moves it.  Floating-point seconds are converted by rounding to
 * the nearest nanosecond, so 0.29 s is 290,000,000 ns, never 289,999,999.
 */
#ifndef NETSIM_TIME_H
#define NETSIM_TIME_H

#include <stdint.h>

typedef int64_t ns_time_t;                 /* nanoseconds of simulated time */

#define NS_TIME_MAX   INT64_MAX            /* "never" / no limit */
#define NS_NSEC       ((ns_time_t)1)
#define NS_USEC       ((ns_time_t)1000)
#define NS_MSEC       ((ns_time_t)1000000)
#define NS_SEC        ((ns_time_t)1000000000)

/* Seconds (a double) to nanoseconds, rounded to nearest; saturates at the
 * int64 range.  NaN gives 0: callers validate before converting. */
ns_time_t ns_time_from_sec(double sec);

/* Nanoseconds to seconds as a double (for Lua and for printing ratios). */
static inline double ns_time_to_sec(ns_time_t t) { return (double)t / 1e9; }

/* Writes t as exact decimal seconds with nine fractional digits
 * ("12.000000500", "-0.000000001") into buf; returns buf.  Integer
 * arithmetic only, so the text is identical on every machine. */
#define NS_TIME_STRLEN 32
char *ns_time_format(ns_time_t t, char buf[NS_TIME_STRLEN]);

#endif
