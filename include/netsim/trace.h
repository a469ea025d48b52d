/* trace.h — the trace sink every model writes to.
 *
 * Two shapes, both TSV with a header row (readable by gnuplot, pandas, awk):
 *  - the event log, events.tsv: columns time, kind, node, details, where
 *    details is "key=value key=value ..." (every state transition with its
 *    cause, every packet event a model chooses to log);
 *  - tables: one file per kind (cwnd.tsv, ...) with fixed named columns,
 *    the first always "time", that plot scripts read by column name.
 *
 * Time is written as exact decimal seconds with nine digits.  Doubles are
 * written by ns_trace_format_double, whatever the process locale, so
 * output bytes depend only on the simulated values.
 *
 * Tracing off costs one predictable branch: models test ns_trace_on() before
 * formatting anything.  Files are written through ns_output (output.h): under
 * a temporary name until the run is committed.
 */
#ifndef NETSIM_TRACE_H
#define NETSIM_TRACE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/sim.h"

/* --- configuration (usually from Lua's sim:trace{...}) --- */

/* Turns the event log on, writing `file` (relative to the output folder;
 * NULL = "events.tsv").  Off until called. */
bool ns_trace_enable(ns_sim *sim, const char *file, GError **error);
void ns_trace_disable(ns_sim *sim);
/* Restricts the log to these kinds / nodes (NULL-terminated arrays, copied;
 * NULL = all).  A kind matches exactly or as a dotted prefix: "tcp" selects
 * "tcp.state" and "tcp.seg".  */
void ns_trace_set_kinds(ns_sim *sim, const char *const *kinds);
void ns_trace_set_nodes(ns_sim *sim, const char *const *nodes);
/* Only events with from <= time < to are logged. */
void ns_trace_set_window(ns_sim *sim, ns_time_t from, ns_time_t to);

/* --- the event log --- */

/* Whether an event of this kind at this node would be logged now.  Cheap
 * when tracing is off. */
bool ns_trace_on(const ns_sim *sim, const char *kind, const char *node);

/* Logs one row at the current time: details is printf-formatted.  Does
 * nothing when ns_trace_on() is false.  node may be NULL (written "-"; a
 * node filter never selects it).  Tabs, newlines and backslashes in any
 * cell are escaped as \t \n \\ so a row stays one line. */
void ns_trace_event(ns_sim *sim, const char *kind, const char *node,
                    const char *fmt, ...) G_GNUC_PRINTF(4, 5);
void ns_trace_eventv(ns_sim *sim, const char *kind, const char *node,
                     const char *fmt, va_list ap);

/* --- tables --- */

typedef struct ns_table ns_table;

/* Opens (or returns the already opened) table `name`, written to
 * "<name>.tsv".  columns: NULL-terminated names after "time", which is
 * implicit and first.  Reopening with different columns is an error. */
ns_table *ns_table_open(ns_sim *sim, const char *name,
                        const char *const *columns, GError **error);
ns_table *ns_table_find(ns_sim *sim, const char *name);
size_t    ns_table_ncolumns(const ns_table *t);     /* excluding time */

/* A row: begin (writes the current time), one cell per column in order,
 * end.  Mismatched counts are programming errors (g_return_if_fail). */
void ns_table_begin(ns_table *t);
void ns_table_i64(ns_table *t, int64_t v);
void ns_table_u64(ns_table *t, uint64_t v);
void ns_table_f64(ns_table *t, double v);
void ns_table_str(ns_table *t, const char *s);   /* tabs/newlines escaped */
void ns_table_time(ns_table *t, ns_time_t v);    /* as decimal seconds */
void ns_table_end(ns_table *t);

/* A double as text, identical on every machine and in every locale: the
 * shortest of %.15g, %.16g, %.17g (C locale) that reads back exactly;
 * "nan", "inf", "-inf" spelt out. */
#define NS_DOUBLE_STRLEN 40
char *ns_trace_format_double(double v, char buf[NS_DOUBLE_STRLEN]);

/* Engine-internal: frees the trace state (ns_sim_free calls it). */
void ns__trace_free(ns_sim *sim);

#endif
