/* trace.c — the event log (events.tsv) and the named tables (<name>.tsv).
 *
 * Invariant: the bytes written depend only on simulated values, never on
 * the process locale, the machine or hash-table order: times go through
 * ns_time_format (integer arithmetic), doubles as the shortest
 * of %.15g/%.16g/%.17g that round-trips, in the C locale, and tables are kept in opening order.
 * Every cell is escaped so that a row is always one line of exactly the
 * header's number of tab-separated fields.
 *
 * Files belong to output.c; this file only writes into them.  Once they are
 * committed or aborted (ns_output_file() == NULL) further rows are dropped.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim_priv.h"
#include "netsim/output.h"
#include "netsim/trace.h"

#define TABLE_NO_ROW SIZE_MAX       /* ns_table.cell outside begin..end */

struct ns_table {
    ns_sim     *sim;                /* the owner: rows are stamped with its now */
    char       *name;               /* written to "<name>.tsv" */
    char      **columns;            /* NULL-terminated, after the implicit time */
    size_t      ncolumns;
    ns_output  *out;                /* owned by the sim's outputs */
    size_t      cell;               /* cells written in this row, or TABLE_NO_ROW */
};

struct ns_trace {
    bool        log_on;             /* the only field ns_trace_on reads when off */
    ns_output  *log;                /* events file once enabled, else NULL */
    char      **kinds;              /* NULL = all; else NULL-terminated, owned */
    char      **nodes;              /* NULL = all; else NULL-terminated, owned */
    ns_time_t   from;               /* window: from <= now < to */
    ns_time_t   to;
    GString    *scratch;            /* formatting buffer for details */
    GPtrArray  *tables;             /* ns_table*, owned, in opening order */
};

static struct ns_trace *trace_get(ns_sim *sim)
{
    if (!sim->trace) {
        struct ns_trace *tr = g_new0(struct ns_trace, 1);
        tr->from = INT64_MIN;
        tr->to = NS_TIME_MAX;
        tr->scratch = g_string_sized_new(128);
        tr->tables = g_ptr_array_new();
        sim->trace = tr;
    }
    return sim->trace;
}

static void table_free(ns_table *t)
{
    g_free(t->name);
    g_strfreev(t->columns);
    g_free(t);
}

void ns__trace_free(ns_sim *sim)
{
    struct ns_trace *tr = sim->trace;
    if (!tr)
        return;
    for (guint i = 0; i < tr->tables->len; i++)
        table_free(g_ptr_array_index(tr->tables, i));
    g_ptr_array_free(tr->tables, TRUE);
    g_string_free(tr->scratch, TRUE);
    g_strfreev(tr->kinds);
    g_strfreev(tr->nodes);
    g_free(tr);
    sim->trace = NULL;
}

/* --- cell formatting --- */

/* Writes s with tab, newline, carriage return and backslash escaped, so a
 * cell can never split a row or a line, and the escaping is reversible. */
static void put_escaped(FILE *fp, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *esc;
        switch (*s) {
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\\': esc = "\\\\"; break;
        default: continue;
        }
        fwrite(run, 1, (size_t)(s - run), fp);
        fputs(esc, fp);
        run = s + 1;
    }
    fwrite(run, 1, (size_t)(s - run), fp);
}

static void put_time(FILE *fp, ns_time_t t)
{
    char buf[NS_TIME_STRLEN];
    fputs(ns_time_format(t, buf), fp);
}

char *ns_trace_format_double(double v, char buf[NS_DOUBLE_STRLEN])
{
    if (isnan(v))
        return strcpy(buf, "nan");
    if (isinf(v))
        return strcpy(buf, v < 0 ? "-inf" : "inf");
    /* The shortest of %.15g, %.16g, %.17g that reads back as v: 0.8 stays
     * "0.8" rather than "0.80000000000000004", and nothing is lost. */
    static const char *const fmts[] = { "%.15g", "%.16g", "%.17g" };
    for (size_t i = 0; i < G_N_ELEMENTS(fmts); i++) {
        g_ascii_formatd(buf, NS_DOUBLE_STRLEN, fmts[i], v);
        if (g_ascii_strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* NaN and the infinities are spelt out because printf may write "-nan". */
static void put_double(FILE *fp, double v)
{
    char buf[NS_DOUBLE_STRLEN];
    fputs(ns_trace_format_double(v, buf), fp);
}

/* --- configuration --- */

bool ns_trace_enable(ns_sim *sim, const char *file, GError **error)
{
    g_return_val_if_fail(sim != NULL, false);
    struct ns_trace *tr = trace_get(sim);
    if (!file)
        file = "events.tsv";
    /* Re-enabling after a disable continues the same file. */
    if (!tr->log || strcmp(ns_output_name(tr->log), file) != 0) {
        ns_output *o = ns_output_open(sim, file, error);
        if (!o)
            return false;
        fputs("time\tkind\tnode\tdetails\n", ns_output_file(o));
        tr->log = o;
    }
    tr->log_on = true;
    return true;
}

void ns_trace_disable(ns_sim *sim)
{
    g_return_if_fail(sim != NULL);
    if (sim->trace)
        sim->trace->log_on = false;
}

static char **copy_names(const char *const *names)
{
    return names ? g_strdupv((char **)names) : NULL;
}

void ns_trace_set_kinds(ns_sim *sim, const char *const *kinds)
{
    g_return_if_fail(sim != NULL);
    struct ns_trace *tr = trace_get(sim);
    g_strfreev(tr->kinds);
    tr->kinds = copy_names(kinds);
}

void ns_trace_set_nodes(ns_sim *sim, const char *const *nodes)
{
    g_return_if_fail(sim != NULL);
    struct ns_trace *tr = trace_get(sim);
    g_strfreev(tr->nodes);
    tr->nodes = copy_names(nodes);
}

void ns_trace_set_window(ns_sim *sim, ns_time_t from, ns_time_t to)
{
    g_return_if_fail(sim != NULL);
    struct ns_trace *tr = trace_get(sim);
    tr->from = from;
    tr->to = to;
}

/* --- the event log --- */

/* "tcp" selects "tcp" and "tcp.state" but not "tcpx". */
static bool kind_selected(char *const *kinds, const char *kind)
{
    for (; *kinds; kinds++) {
        size_t n = strlen(*kinds);
        if (strncmp(kind, *kinds, n) == 0 && (kind[n] == '\0' || kind[n] == '.'))
            return true;
    }
    return false;
}

static bool node_selected(char *const *nodes, const char *node)
{
    if (!node)
        return false;
    for (; *nodes; nodes++)
        if (strcmp(*nodes, node) == 0)
            return true;
    return false;
}

bool ns_trace_on(const ns_sim *sim, const char *kind, const char *node)
{
    const struct ns_trace *tr = sim->trace;
    if (G_LIKELY(tr == NULL || !tr->log_on))
        return false;
    if (sim->now < tr->from || sim->now >= tr->to)
        return false;
    if (tr->kinds && !kind_selected(tr->kinds, kind))
        return false;
    if (tr->nodes && !node_selected(tr->nodes, node))
        return false;
    return true;
}

void ns_trace_event(ns_sim *sim, const char *kind, const char *node,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ns_trace_eventv(sim, kind, node, fmt, ap);
    va_end(ap);
}

void ns_trace_eventv(ns_sim *sim, const char *kind, const char *node,
                     const char *fmt, va_list ap)
{
    g_return_if_fail(sim != NULL && kind != NULL);
    if (!ns_trace_on(sim, kind, node))
        return;
    struct ns_trace *tr = sim->trace;
    FILE *fp = ns_output_file(tr->log);
    if (!fp)
        return;                     /* committed or aborted: the run is over */
    put_time(fp, sim->now);
    fputc('\t', fp);
    put_escaped(fp, kind);
    fputc('\t', fp);
    put_escaped(fp, node ? node : "-");
    fputc('\t', fp);
    if (fmt) {
        g_string_vprintf(tr->scratch, fmt, ap);
        put_escaped(fp, tr->scratch->str);
    }
    fputc('\n', fp);
}

/* --- tables --- */

static bool same_columns(char *const *a, const char *const *b)
{
    size_t i = 0;
    for (; a[i] && b[i]; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return a[i] == NULL && b[i] == NULL;
}

static char *columns_text(const char *const *columns)
{
    GString *s = g_string_new("time");
    for (; *columns; columns++)
        g_string_append_printf(s, ",%s", *columns);
    return g_string_free(s, FALSE);
}

/* A column name must stay one header cell and must not repeat "time". */
static bool column_is_valid(const char *c)
{
    return *c != '\0' && strcmp(c, "time") != 0 && strpbrk(c, "\t\n\r\\") == NULL;
}

ns_table *ns_table_open(ns_sim *sim, const char *name,
                        const char *const *columns, GError **error)
{
    g_return_val_if_fail(sim != NULL && name != NULL, NULL);
    static const char *const no_columns[] = { NULL };
    if (!columns)
        columns = no_columns;

    ns_table *t = ns_table_find(sim, name);
    if (t) {
        if (same_columns(t->columns, columns))
            return t;
        char *had = columns_text((const char *const *)t->columns);
        char *want = columns_text(columns);
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    "table '%s' is already open with columns %s, not %s",
                    name, had, want);
        g_free(had);
        g_free(want);
        return NULL;
    }
    for (const char *const *c = columns; *c; c++) {
        if (!column_is_valid(*c)) {
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                        "table '%s': invalid column name '%s'", name, *c);
            return NULL;
        }
    }

    char *file = g_strconcat(name, ".tsv", NULL);
    ns_output *o = ns_output_open(sim, file, error);
    g_free(file);
    if (!o)
        return NULL;

    t = g_new0(ns_table, 1);
    t->sim = sim;
    t->name = g_strdup(name);
    t->columns = g_strdupv((char **)columns);
    t->ncolumns = g_strv_length(t->columns);
    t->out = o;
    t->cell = TABLE_NO_ROW;
    /* The header goes out at once: a table opened is always written, even
     * when no row follows, so plot scripts find their columns. */
    FILE *fp = ns_output_file(o);
    fputs("time", fp);
    for (size_t i = 0; i < t->ncolumns; i++) {
        fputc('\t', fp);
        fputs(t->columns[i], fp);
    }
    fputc('\n', fp);
    g_ptr_array_add(trace_get(sim)->tables, t);
    return t;
}

/* Linear scan: a run has a handful of tables, and models keep the handle
 * rather than looking it up per row. */
ns_table *ns_table_find(ns_sim *sim, const char *name)
{
    g_return_val_if_fail(sim != NULL && name != NULL, NULL);
    if (!sim->trace)
        return NULL;
    GPtrArray *tables = sim->trace->tables;
    for (guint i = 0; i < tables->len; i++) {
        ns_table *t = g_ptr_array_index(tables, i);
        if (strcmp(t->name, name) == 0)
            return t;
    }
    return NULL;
}

size_t ns_table_ncolumns(const ns_table *t)
{
    g_return_val_if_fail(t != NULL, 0);
    return t->ncolumns;
}

void ns_table_begin(ns_table *t)
{
    g_return_if_fail(t != NULL);
    g_return_if_fail(t->cell == TABLE_NO_ROW);
    t->cell = 0;
    FILE *fp = ns_output_file(t->out);
    if (fp)
        put_time(fp, t->sim->now);
}

/* Counts one cell and returns the stream to write it to, after its tab;
 * NULL when the file is closed (the cell is still counted). */
static FILE *cell_start(ns_table *t)
{
    t->cell++;
    FILE *fp = ns_output_file(t->out);
    if (fp)
        fputc('\t', fp);
    return fp;
}

#define CELL_CHECK(t)                                                      \
    do {                                                                   \
        g_return_if_fail((t) != NULL);                                     \
        g_return_if_fail((t)->cell != TABLE_NO_ROW);                       \
        g_return_if_fail((t)->cell < (t)->ncolumns);                       \
    } while (0)

void ns_table_i64(ns_table *t, int64_t v)
{
    CELL_CHECK(t);
    FILE *fp = cell_start(t);
    if (fp)
        fprintf(fp, "%" PRId64, v);
}

void ns_table_u64(ns_table *t, uint64_t v)
{
    CELL_CHECK(t);
    FILE *fp = cell_start(t);
    if (fp)
        fprintf(fp, "%" PRIu64, v);
}

void ns_table_f64(ns_table *t, double v)
{
    CELL_CHECK(t);
    FILE *fp = cell_start(t);
    if (fp)
        put_double(fp, v);
}

void ns_table_str(ns_table *t, const char *s)
{
    CELL_CHECK(t);
    FILE *fp = cell_start(t);
    if (fp)
        put_escaped(fp, s ? s : "");
}

void ns_table_time(ns_table *t, ns_time_t v)
{
    CELL_CHECK(t);
    FILE *fp = cell_start(t);
    if (fp)
        put_time(fp, v);
}

void ns_table_end(ns_table *t)
{
    g_return_if_fail(t != NULL);
    g_return_if_fail(t->cell == t->ncolumns);
    t->cell = TABLE_NO_ROW;
    FILE *fp = ns_output_file(t->out);
    if (fp)
        fputc('\n', fp);
}
