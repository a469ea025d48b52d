/* sweep.c — the sweep grid, seed ranges, shards and the results table.
 *
 * Invariant: every file written here depends only on the finished rows,
 * never on the order they finished in: rows are sorted by (point, seed)
 * and result columns by name before anything is written, so -j, shards and
 * --resume all give the same bytes (timings.tsv excepted: wall times).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

#include "netsim/sim.h"
#include "netsim/sweep.h"
#include "netsim/trace.h"
#include "netsim/units.h"

/* ---- grid ---- */

static void param_free(gpointer p)
{
    struct ns_sweep_param *sp = p;
    g_free(sp->name);
    g_free(sp->spec);
    g_ptr_array_free(sp->values, TRUE);
    g_free(sp);
}

ns_sweep_grid *ns_sweep_grid_new(void)
{
    ns_sweep_grid *g = g_new0(ns_sweep_grid, 1);
    g->params = g_ptr_array_new_with_free_func(param_free);
    return g;
}

void ns_sweep_grid_free(ns_sweep_grid *g)
{
    if (!g)
        return;
    g_ptr_array_free(g->params, TRUE);
    g_free(g);
}

/* A number as a -D value: whole numbers without exponent or point. */
static char *format_value(double v, const char *unit)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    if (v == floor(v) && fabs(v) < 1e15)
        g_snprintf(buf, sizeof buf, "%.0f", v);
    else
        g_ascii_formatd(buf, sizeof buf, "%.6g", v);
    return g_strconcat(buf, unit, NULL);
}

/* Splits "10ms" into 10 and "ms"; false if the number part is malformed. */
static bool split_unit(const char *text, double *num, char **unit)
{
    const char *end = text + strlen(text);
    const char *u = end;
    while (u > text && !g_ascii_isdigit(u[-1]) && u[-1] != '.')
        u--;
    char *numtext = g_strndup(text, (gsize)(u - text));
    char *stop = NULL;
    *num = g_ascii_strtod(numtext, &stop);
    bool ok = *numtext && stop && *stop == '\0';
    g_free(numtext);
    *unit = g_strdup(u);
    return ok;
}

/* The value of range end `text` in SI units, and of which kind. */
static bool range_end(const char *name, const char *text, double *si,
                      enum ns_unit_kind *kind, GError **error)
{
    GError *err = NULL;
    if (!ns_units_parse(text, kind, si, &err)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "-D %s: range end '%s': %s",
                    name, text, err->message);
        g_error_free(err);
        return false;
    }
    return true;
}

static bool expand_range(const char *name, const char *spec, char **parts,
                         GPtrArray *out, GError **error)
{
    const char *count = parts[2];
    bool logscale = g_str_has_prefix(count, "log");
    if (logscale)
        count += 3;
    guint64 n;
    if (!g_ascii_string_to_unsigned(count, 10, 0, 1000000, &n, NULL)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "-D %s=%s: '%s' is not a point count (N or logN)", name, spec, parts[2]);
        return false;
    }
    double a, b;
    enum ns_unit_kind ka, kb;
    if (!range_end(name, parts[0], &a, &ka, error) || !range_end(name, parts[1], &b, &kb, error))
        return false;
    if (ka != kb) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "-D %s=%s: the ends are of different kinds (%s, %s)", name, spec,
                    ns_unit_kind_name(ka), ns_unit_kind_name(kb));
        return false;
    }
    if (n == 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "-D %s=%s: empty range (0 points)",
                    name, spec);
        return false;
    }
    if (a > b) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "-D %s=%s: reversed range (%s is above %s)", name, spec, parts[0], parts[1]);
        return false;
    }
    if (n == 1 && a != b) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "-D %s=%s: a range with both ends needs at least 2 points", name, spec);
        return false;
    }
    if (logscale && a <= 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "-D %s=%s: a log range needs ends above 0", name, spec);
        return false;
    }
    /* Keep the unit the user wrote when both ends share it. */
    double na, nb;
    char *ua = NULL, *ub = NULL;
    const char *unit = "";
    if (split_unit(parts[0], &na, &ua) && split_unit(parts[1], &nb, &ub) &&
        strcmp(ua, ub) == 0 && (na > 0) == (a > 0)) {
        unit = ua;
        a = na;
        b = nb;
    }
    for (guint64 i = 0; i < n; i++) {
        if (i == 0 || i + 1 == n) {           /* both ends exactly as given */
            g_ptr_array_add(out, g_strdup(i == 0 ? parts[0] : parts[1]));
            continue;
        }
        double f = (double)i / (double)(n - 1);
        double v = logscale ? a * pow(b / a, f) : a + (b - a) * f;
        g_ptr_array_add(out, format_value(v, unit));
    }
    g_free(ua);
    g_free(ub);
    return true;
}

bool ns_sweep_expand(const char *name, const char *spec, GPtrArray *out, GError **error)
{
    if (!*spec) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "-D %s=: empty value list", name);
        return false;
    }
    char **parts = g_strsplit(spec, ":", -1);
    bool ok = true;
    if (g_strv_length(parts) == 3 && !strchr(spec, ',')) {
        ok = expand_range(name, spec, parts, out, error);
    } else {
        g_strfreev(parts);
        parts = g_strsplit(spec, ",", -1);
        for (char **p = parts; *p && ok; p++) {
            if (!**p) {
                g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                            "-D %s=%s: empty value in the list", name, spec);
                ok = false;
            } else {
                g_ptr_array_add(out, g_strdup(*p));
            }
        }
    }
    g_strfreev(parts);
    return ok;
}

bool ns_sweep_grid_add(ns_sweep_grid *g, const char *define, GError **error)
{
    const char *eq = strchr(define, '=');
    if (!eq || eq == define) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "-D %s: expected NAME=VALUES", define);
        return false;
    }
    for (const char *p = define; p < eq; p++) {
        if (!g_ascii_isalnum(*p) && *p != '_') {
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "-D %s: '%.*s' is not a parameter name",
                        define, (int)(eq - define), define);
            return false;
        }
    }
    g_autofree char *name = g_strndup(define, (gsize)(eq - define));
    const char *spec = eq + 1;
    for (guint i = 0; i < g->params->len; i++) {
        struct ns_sweep_param *sp = g_ptr_array_index(g->params, i);
        if (strcmp(sp->name, name) != 0)
            continue;
        /* Given again: every -D of this name is one literal value. */
        if (!sp->literal) {
            g_ptr_array_set_size(sp->values, 0);
            g_ptr_array_add(sp->values, g_strdup(sp->spec));
            sp->literal = true;
        }
        g_ptr_array_add(sp->values, g_strdup(spec));
        return true;
    }
    struct ns_sweep_param *sp = g_new0(struct ns_sweep_param, 1);
    sp->name = g_strdup(name);
    sp->spec = g_strdup(spec);
    sp->values = g_ptr_array_new_with_free_func(g_free);
    if (!ns_sweep_expand(name, spec, sp->values, error)) {
        param_free(sp);
        return false;
    }
    g_ptr_array_add(g->params, sp);
    return true;
}

uint64_t ns_sweep_grid_points(const ns_sweep_grid *g)
{
    uint64_t n = 1;
    for (guint i = 0; i < g->params->len; i++)
        n *= ((struct ns_sweep_param *)g_ptr_array_index(g->params, i))->values->len;
    return n;
}

const char *ns_sweep_grid_value(const ns_sweep_grid *g, uint64_t point, guint param)
{
    g_return_val_if_fail(param < g->params->len, NULL);
    for (guint i = g->params->len; i-- > param + 1;)
        point /= ((struct ns_sweep_param *)g_ptr_array_index(g->params, i))->values->len;
    const struct ns_sweep_param *sp = g_ptr_array_index(g->params, param);
    return g_ptr_array_index(sp->values, point % sp->values->len);
}

bool ns_sweep_parse_seeds(const char *text, uint64_t *first, uint64_t *last, GError **error)
{
    const char *dots = strstr(text, "..");
    guint64 a, b;
    bool ok;
    if (dots) {
        g_autofree char *lo = g_strndup(text, (gsize)(dots - text));
        ok = g_ascii_string_to_unsigned(lo, 10, 0, G_MAXUINT64, &a, NULL) &&
             g_ascii_string_to_unsigned(dots + 2, 10, 0, G_MAXUINT64, &b, NULL);
    } else {
        ok = g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT64, &a, NULL);
        b = a;
    }
    if (!ok) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "--seeds %s: expected FIRST..LAST or N (integers from 0)", text);
        return false;
    }
    if (b < a) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "--seeds %s: reversed range (%" G_GUINT64_FORMAT " is above %" G_GUINT64_FORMAT ")",
                    text, a, b);
        return false;
    }
    if (b - a >= G_MAXUINT32) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "--seeds %s: too many seeds", text);
        return false;
    }
    *first = a;
    *last = b;
    return true;
}

bool ns_sweep_parse_shard(const char *text, unsigned *index, unsigned *count, GError **error)
{
    const char *slash = strchr(text, '/');
    guint64 i = 0, n = 0;
    bool ok = false;
    if (slash) {
        g_autofree char *lo = g_strndup(text, (gsize)(slash - text));
        ok = g_ascii_string_to_unsigned(lo, 10, 1, G_MAXUINT32, &i, NULL) &&
             g_ascii_string_to_unsigned(slash + 1, 10, 1, G_MAXUINT32, &n, NULL) && i <= n;
    }
    if (!ok) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "--shard %s: expected I/N with 1 <= I <= N", text);
        return false;
    }
    *index = (unsigned)i;
    *count = (unsigned)n;
    return true;
}

/* ---- rows ---- */

static void row_free(gpointer p)
{
    struct ns_sweep_row *r = p;
    if (r->params)
        g_ptr_array_free(r->params, TRUE);
    g_free(r->error);
    g_hash_table_destroy(r->results);
    g_free(r);
}

ns_sweep_table *ns_sweep_table_new(const GPtrArray *param_names)
{
    ns_sweep_table *t = g_new0(ns_sweep_table, 1);
    t->param_names = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; param_names && i < param_names->len; i++)
        g_ptr_array_add(t->param_names, g_strdup(g_ptr_array_index(param_names, i)));
    t->rows = g_ptr_array_new_with_free_func(row_free);
    return t;
}

void ns_sweep_table_free(ns_sweep_table *t)
{
    if (!t)
        return;
    g_ptr_array_free(t->param_names, TRUE);
    g_ptr_array_free(t->rows, TRUE);
    g_free(t);
}

struct ns_sweep_row *ns_sweep_table_add(ns_sweep_table *t, uint64_t point, uint64_t seed)
{
    struct ns_sweep_row *r = g_new0(struct ns_sweep_row, 1);
    r->point = point;
    r->seed = seed;
    r->params = g_ptr_array_new_with_free_func(g_free);
    r->results = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_ptr_array_add(t->rows, r);
    return r;
}

/* One TSV cell: tabs and line breaks would break the table. */
static char *cell(const char *s)
{
    char *c = g_strdup(s ? s : "");
    for (char *p = c; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r')
            *p = ' ';
    return c;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

/* A JSON string at p (after the quote); returns the end or NULL. */
static const char *json_string(const char *p, GString *s)
{
    for (; *p && *p != '"'; p++) {
        if (*p != '\\') {
            g_string_append_c(s, *p);
            continue;
        }
        p++;
        if (*p == 'u' && g_ascii_isxdigit(p[1]) && g_ascii_isxdigit(p[2]) &&
            g_ascii_isxdigit(p[3]) && g_ascii_isxdigit(p[4])) {
            unsigned c = (unsigned)strtoul((char[]){ p[1], p[2], p[3], p[4], 0 }, NULL, 16);
            g_string_append_unichar(s, c);
            p += 4;
        } else if (*p) {
            g_string_append_c(s, *p == 'n' ? '\n' : *p == 't' ? '\t' : *p);
        } else {
            return NULL;
        }
    }
    return *p == '"' ? p + 1 : NULL;
}

bool ns_sweep_row_set_results(struct ns_sweep_row *row, const char *json, GError **error)
{
    const char *p = skip_ws(json);
    if (*p++ != '{')
        goto bad;
    p = skip_ws(p);
    while (*p && *p != '}') {
        GString *key = g_string_new(NULL), *val = g_string_new(NULL);
        bool ok = *p == '"' && (p = json_string(p + 1, key)) != NULL;
        if (ok) {
            p = skip_ws(p);
            ok = *p++ == ':';
            p = skip_ws(p);
        }
        if (ok && *p == '"') {
            ok = (p = json_string(p + 1, val)) != NULL;
        } else if (ok) {
            const char *start = p;
            while (*p && *p != ',' && *p != '}' && *p != ' ')
                p++;
            g_string_append_len(val, start, p - start);
            ok = p > start;
        }
        if (ok) {
            g_hash_table_replace(row->results, g_string_free(key, FALSE), cell(val->str));
            g_string_free(val, TRUE);
        } else {
            g_string_free(key, TRUE);
            g_string_free(val, TRUE);
            goto bad;
        }
        p = skip_ws(p);
        if (*p == ',')
            p = skip_ws(p + 1);
    }
    if (*p == '}')
        return true;
bad:
    g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "malformed results object: %s", json);
    return false;
}

/* results.tsv has one column per parameter, per fixed field and per
 * result, each name once: a result named like one of the others (often a
 * parameter echoed back, as `strategy = p.strategy`) is renamed
 * NAME_result rather than failing the run or duplicating a column. */
static void rename_result(struct ns_sweep_row *row, const char *name)
{
    gpointer key, val;
    if (!g_hash_table_steal_extended(row->results, name, &key, &val))
        return;
    g_hash_table_replace(row->results, g_strconcat(name, "_result", NULL), val);
    g_free(key);
}

void ns_sweep_row_rename_clashes(const ns_sweep_table *t, struct ns_sweep_row *row)
{
    static const char *const fixed[] = { "point", "seed", "status", "events", "error" };
    for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
        rename_result(row, fixed[i]);
    for (guint j = 0; j < t->param_names->len; j++)
        rename_result(row, g_ptr_array_index(t->param_names, j));
}

/* ---- writing ---- */

static int cmp_rows(gconstpointer a, gconstpointer b)
{
    const struct ns_sweep_row *x = *(struct ns_sweep_row *const *)a;
    const struct ns_sweep_row *y = *(struct ns_sweep_row *const *)b;
    if (x->point != y->point)
        return x->point < y->point ? -1 : 1;
    return x->seed < y->seed ? -1 : x->seed > y->seed;
}

static int cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Result names over every finished row, sorted. */
static GPtrArray *result_names(const ns_sweep_table *t)
{
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    GPtrArray *names = g_ptr_array_new();
    for (guint i = 0; i < t->rows->len; i++) {
        const struct ns_sweep_row *r = g_ptr_array_index(t->rows, i);
        GHashTableIter it;
        gpointer k;
        g_hash_table_iter_init(&it, r->results);
        while (g_hash_table_iter_next(&it, &k, NULL))
            if (g_hash_table_add(seen, k))
                g_ptr_array_add(names, k);
    }
    g_ptr_array_sort(names, cmp_str);
    g_hash_table_destroy(seen);
    return names;
}

static bool write_atomic(const char *dir, const char *name, const GString *text,
                         GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *part = g_strconcat(path, ".part", NULL);
    if (!g_file_set_contents(part, text->str, (gssize)text->len, error))
        return false;
    if (g_rename(part, path) != 0) {
        int e = errno;
        g_set_error(error, NS_ERROR, NS_ERROR_IO, "cannot rename '%s' to '%s': %s",
                    part, path, g_strerror(e));
        g_unlink(part);
        return false;
    }
    return true;
}

static void row_head(GString *s, const struct ns_sweep_row *r)
{
    g_string_append_printf(s, "%" G_GUINT64_FORMAT, r->point);
    for (guint j = 0; j < r->params->len; j++) {
        g_autofree char *c = cell(g_ptr_array_index(r->params, j));
        g_string_append_printf(s, "\t%s", c);
    }
}

static void header_head(GString *s, const ns_sweep_table *t)
{
    g_string_append(s, "point");
    for (guint j = 0; j < t->param_names->len; j++)
        g_string_append_printf(s, "\t%s", (const char *)g_ptr_array_index(t->param_names, j));
}

double ns_sweep_t95(unsigned df)
{
    static const double t[] = {
        0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    };
    if (df < G_N_ELEMENTS(t))
        return t[df];
    if (df <= 40)  return 2.021;
    if (df <= 60)  return 2.000;
    if (df <= 120) return 1.980;
    return 1.960;
}

static void append_double(GString *s, double v)
{
    char buf[NS_DOUBLE_STRLEN];
    g_string_append_c(s, '\t');
    g_string_append(s, isfinite(v) ? ns_trace_format_double(v, buf) : "nan");
}

/* summary.tsv: per point, over its successful runs, each numeric result's
 * mean, sample standard deviation and 95% confidence half-width. */
static void summarize(const ns_sweep_table *t, const GPtrArray *names, GString *s)
{
    /* A result is numeric if every ok row that has it parses as a number. */
    GPtrArray *numeric = g_ptr_array_new();
    for (guint k = 0; k < names->len; k++) {
        const char *name = g_ptr_array_index(names, k);
        bool num = true;
        for (guint i = 0; i < t->rows->len && num; i++) {
            const struct ns_sweep_row *r = g_ptr_array_index(t->rows, i);
            const char *v = g_hash_table_lookup(r->results, name);
            char *end = NULL;
            if (r->status == NS_SWEEP_OK && v) {
                g_ascii_strtod(v, &end);
                num = *v && end && *end == '\0';
            }
        }
        if (num)
            g_ptr_array_add(numeric, (gpointer)name);
    }
    header_head(s, t);
    g_string_append(s, "\truns\tfailed");
    for (guint k = 0; k < numeric->len; k++) {
        const char *n = g_ptr_array_index(numeric, k);
        g_string_append_printf(s, "\t%s_mean\t%s_sd\t%s_ci95", n, n, n);
    }
    g_string_append_c(s, '\n');
    for (guint i = 0; i < t->rows->len;) {
        guint j = i;
        const struct ns_sweep_row *first = g_ptr_array_index(t->rows, i);
        unsigned failed = 0;
        while (j < t->rows->len &&
               ((struct ns_sweep_row *)g_ptr_array_index(t->rows, j))->point == first->point) {
            failed += ((struct ns_sweep_row *)g_ptr_array_index(t->rows, j))->status != NS_SWEEP_OK;
            j++;
        }
        row_head(s, first);
        g_string_append_printf(s, "\t%u\t%u", j - i, failed);
        for (guint k = 0; k < numeric->len; k++) {
            double sum = 0, sq = 0;
            unsigned n = 0;
            for (guint m = i; m < j; m++) {
                const struct ns_sweep_row *r = g_ptr_array_index(t->rows, m);
                const char *v = g_hash_table_lookup(r->results, g_ptr_array_index(numeric, k));
                if (r->status == NS_SWEEP_OK && v) {
                    double x = g_ascii_strtod(v, NULL);
                    sum += x;
                    n++;
                }
            }
            double mean = n ? sum / n : NAN;
            for (guint m = i; m < j; m++) {
                const struct ns_sweep_row *r = g_ptr_array_index(t->rows, m);
                const char *v = g_hash_table_lookup(r->results, g_ptr_array_index(numeric, k));
                if (r->status == NS_SWEEP_OK && v) {
                    double d = g_ascii_strtod(v, NULL) - mean;
                    sq += d * d;
                }
            }
            double sd = n > 1 ? sqrt(sq / (n - 1)) : NAN;
            append_double(s, mean);
            append_double(s, sd);
            append_double(s, n > 1 ? ns_sweep_t95(n - 1) * sd / sqrt(n) : NAN);
        }
        g_string_append_c(s, '\n');
        i = j;
    }
    g_ptr_array_free(numeric, TRUE);
}

bool ns_sweep_table_write(ns_sweep_table *t, const char *dir, bool timings, GError **error)
{
    /* Pending rows (interrupted, skipped) are dropped for good. */
    for (guint i = t->rows->len; i-- > 0;)
        if (((struct ns_sweep_row *)g_ptr_array_index(t->rows, i))->status == NS_SWEEP_PENDING)
            g_ptr_array_remove_index(t->rows, i);
    g_ptr_array_sort(t->rows, cmp_rows);
    GPtrArray *names = result_names(t);
    GString *res = g_string_new(NULL), *tim = g_string_new(NULL), *sum = g_string_new(NULL);
    header_head(res, t);
    g_string_append(res, "\tseed\tstatus\tevents");
    for (guint k = 0; k < names->len; k++)
        g_string_append_printf(res, "\t%s", (const char *)g_ptr_array_index(names, k));
    g_string_append(res, "\terror\n");
    header_head(tim, t);
    g_string_append(tim, "\tseed\twall_s\n");
    for (guint i = 0; i < t->rows->len; i++) {
        const struct ns_sweep_row *r = g_ptr_array_index(t->rows, i);
        row_head(res, r);
        g_string_append_printf(res, "\t%" G_GUINT64_FORMAT "\t%s\t%" G_GUINT64_FORMAT, r->seed,
                               r->status == NS_SWEEP_OK ? "ok" : "failed", r->events);
        for (guint k = 0; k < names->len; k++) {
            const char *v = g_hash_table_lookup(r->results, g_ptr_array_index(names, k));
            g_string_append_printf(res, "\t%s", v ? v : "");
        }
        g_autofree char *e = cell(r->error);
        g_string_append_printf(res, "\t%s\n", e);
        row_head(tim, r);
        g_string_append_printf(tim, "\t%" G_GUINT64_FORMAT "\t%.6f\n", r->seed, r->wall_s);
    }
    summarize(t, names, sum);
    bool ok = write_atomic(dir, "results.tsv", res, error) &&
              write_atomic(dir, "summary.tsv", sum, error) &&
              (!timings || write_atomic(dir, "timings.tsv", tim, error));
    g_ptr_array_free(names, TRUE);
    g_string_free(res, TRUE);
    g_string_free(tim, TRUE);
    g_string_free(sum, TRUE);
    return ok;
}

/* ---- reading (resume, merge) ---- */

static char **read_lines(const char *path, GError **error)
{
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, error))
        return NULL;
    char **lines = g_strsplit(text, "\n", -1);
    g_free(text);
    return lines;
}

/* Index of the "seed" column: the parameters sit between "point" and it. */
static int seed_column(char **head)
{
    for (int i = 1; head[i]; i++)
        if (strcmp(head[i], "seed") == 0)
            return i;
    return -1;
}

GPtrArray *ns_sweep_read_param_names(const char *path, GError **error)
{
    char **lines = read_lines(path, error);
    if (!lines)
        return NULL;
    char **head = g_strsplit(lines[0], "\t", -1);
    int sc = seed_column(head);
    GPtrArray *names = NULL;
    if (strcmp(head[0], "point") != 0 || sc < 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "%s: not a sweep results.tsv", path);
    } else {
        names = g_ptr_array_new_with_free_func(g_free);
        for (int i = 1; i < sc; i++)
            g_ptr_array_add(names, g_strdup(head[i]));
    }
    g_strfreev(head);
    g_strfreev(lines);
    return names;
}

bool ns_sweep_table_read(ns_sweep_table *t, const char *path, GError **error)
{
    char **lines = read_lines(path, error);
    if (!lines)
        return false;
    bool ok = true;
    char **head = g_strsplit(lines[0], "\t", -1);
    guint ncols = g_strv_length(head);
    int sc = seed_column(head);
    if (strcmp(head[0], "point") != 0 || sc < 0 || (guint)sc != t->param_names->len + 1 ||
        ncols < (guint)sc + 4 || strcmp(head[ncols - 1], "error") != 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "%s: not a results.tsv of this sweep", path);
        ok = false;
    }
    for (int i = 1; ok && i < sc; i++) {
        if (strcmp(head[i], g_ptr_array_index(t->param_names, i - 1)) != 0) {
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                        "%s: swept parameters differ ('%s' where this sweep has '%s')",
                        path, head[i], (const char *)g_ptr_array_index(t->param_names, i - 1));
            ok = false;
        }
    }
    GHashTable *have = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; ok && i < t->rows->len; i++) {
        const struct ns_sweep_row *r = g_ptr_array_index(t->rows, i);
        g_hash_table_add(have, g_strdup_printf("%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                                               r->point, r->seed));
    }
    for (guint l = 1; ok && lines[l]; l++) {
        if (!*lines[l])
            continue;
        char **f = g_strsplit(lines[l], "\t", -1);
        guint64 point, seed, events;
        if (g_strv_length(f) != ncols ||
            !g_ascii_string_to_unsigned(f[0], 10, 0, G_MAXUINT64, &point, NULL) ||
            !g_ascii_string_to_unsigned(f[sc], 10, 0, G_MAXUINT64, &seed, NULL) ||
            !g_ascii_string_to_unsigned(f[sc + 2], 10, 0, G_MAXUINT64, &events, NULL)) {
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "%s:%u: malformed row", path, l + 1);
            ok = false;
        } else {
            char *key = g_strdup_printf("%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, point, seed);
            if (!g_hash_table_add(have, key)) {
                g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                            "%s:%u: point %" G_GUINT64_FORMAT " seed %" G_GUINT64_FORMAT
                            " is already there (overlapping shards?)", path, l + 1, point, seed);
                ok = false;
            } else {
                struct ns_sweep_row *r = ns_sweep_table_add(t, point, seed);
                for (int i = 1; i < sc; i++)
                    g_ptr_array_add(r->params, g_strdup(f[i]));
                r->status = strcmp(f[sc + 1], "ok") == 0 ? NS_SWEEP_OK : NS_SWEEP_FAILED;
                r->events = events;
                for (guint k = (guint)sc + 3; k + 1 < ncols; k++)
                    if (*f[k])
                        g_hash_table_replace(r->results, g_strdup(head[k]), g_strdup(f[k]));
                r->error = *f[ncols - 1] ? g_strdup(f[ncols - 1]) : NULL;
            }
        }
        g_strfreev(f);
    }
    g_hash_table_destroy(have);
    g_strfreev(head);
    g_strfreev(lines);
    return ok;
}

bool ns_sweep_table_read_timings(ns_sweep_table *t, const char *path, GError **error)
{
    char **lines = read_lines(path, error);
    if (!lines)
        return false;
    char **head = g_strsplit(lines[0], "\t", -1);
    int sc = seed_column(head);
    bool ok = strcmp(head[0], "point") == 0 && sc == (int)t->param_names->len + 1 &&
              head[sc + 1] && strcmp(head[sc + 1], "wall_s") == 0 && !head[sc + 2];
    if (!ok)
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "%s: not a timings.tsv of this sweep",
                    path);
    GHashTable *rows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; ok && i < t->rows->len; i++) {
        struct ns_sweep_row *r = g_ptr_array_index(t->rows, i);
        g_hash_table_insert(rows, g_strdup_printf("%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                                                  r->point, r->seed), r);
    }
    for (guint l = 1; ok && lines[l]; l++) {
        if (!*lines[l])
            continue;
        char **f = g_strsplit(lines[l], "\t", -1);
        char *end = NULL;
        double wall = g_strv_length(f) == (guint)sc + 2 ? g_ascii_strtod(f[sc + 1], &end) : 0;
        if (!end || *end || !*f[0]) {
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "%s:%u: malformed row", path, l + 1);
            ok = false;
        } else {
            g_autofree char *key = g_strdup_printf("%s/%s", f[0], f[sc]);
            struct ns_sweep_row *r = g_hash_table_lookup(rows, key);
            if (r)                       /* rows of other shards are not ours */
                r->wall_s = wall;
        }
        g_strfreev(f);
    }
    g_hash_table_destroy(rows);
    g_strfreev(head);
    g_strfreev(lines);
    return ok;
}
