/* sweep.h — parameter sweeps and seed exploration: the grid of parameter
 * points, seed ranges, shards, and the results table they produce.
 *
 * A sweep is the Cartesian product of each swept parameter's values, each
 * point run once per seed.  Runs are numbered point-major, seed-minor
 * (run = point * nseeds + seed index): results.tsv is sorted in that order,
 * shard i/N holds the runs with run % N == i - 1, so any split of the work
 * merges back into the same bytes.  Nothing here knows Lua: running a
 * scenario is sim/lua/lua_sweep.c's business.
 */
#ifndef NETSIM_SWEEP_H
#define NETSIM_SWEEP_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

/* One swept parameter: its name and its values as -D texts. */
struct ns_sweep_param {
    char      *name;
    char      *spec;               /* the first -D text, as given */
    GPtrArray *values;             /* char*, owned; at least one */
    bool       literal;            /* given by repeated -D: never split */
};

typedef struct ns_sweep_grid {
    GPtrArray *params;             /* struct ns_sweep_param*, in -D order */
} ns_sweep_grid;

ns_sweep_grid *ns_sweep_grid_new(void);
void           ns_sweep_grid_free(ns_sweep_grid *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ns_sweep_grid, ns_sweep_grid_free)

/* Expands one value spec into `out` (char*, caller frees): a comma list
 * "reno,cubic", a linear range "10ms:50ms:5" or a log range
 * "0.001:0.05:log8" (N points, both ends included, units kept when both
 * ends carry the same one).  Empty or reversed ranges are errors naming
 * the parameter. */
bool ns_sweep_expand(const char *name, const char *spec, GPtrArray *out, GError **error);

/* Adds "-D name=spec".  A name given again turns into a list of literal
 * values, one per -D (how values containing commas are given). */
bool ns_sweep_grid_add(ns_sweep_grid *g, const char *define, GError **error);

/* Number of points (1 for an empty grid). */
uint64_t ns_sweep_grid_points(const ns_sweep_grid *g);
/* Value of parameter `param` at point `point` (the first parameter varies
 * slowest). */
const char *ns_sweep_grid_value(const ns_sweep_grid *g, uint64_t point, guint param);

/* "1..10" or "7": first and last seed, last >= first. */
bool ns_sweep_parse_seeds(const char *text, uint64_t *first, uint64_t *last, GError **error);
/* "i/N" with 1 <= i <= N. */
bool ns_sweep_parse_shard(const char *text, unsigned *index, unsigned *count, GError **error);

/* ---- the results table ---- */

enum ns_sweep_status { NS_SWEEP_PENDING, NS_SWEEP_OK, NS_SWEEP_FAILED };

struct ns_sweep_row {
    uint64_t    point;
    uint64_t    seed;
    GPtrArray  *params;            /* char*, the point's values, owned */
    enum ns_sweep_status status;
    char       *error;             /* failed: one line, owned */
    uint64_t    events;
    GHashTable *results;           /* name -> value text, owned */
    double      wall_s;            /* timings.tsv only */
};

typedef struct ns_sweep_table {
    GPtrArray *param_names;        /* char*, owned */
    GPtrArray *rows;               /* struct ns_sweep_row*, owned */
} ns_sweep_table;

ns_sweep_table *ns_sweep_table_new(const GPtrArray *param_names);
void            ns_sweep_table_free(ns_sweep_table *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ns_sweep_table, ns_sweep_table_free)
/* A new pending row owned by the table. */
struct ns_sweep_row *ns_sweep_table_add(ns_sweep_table *t, uint64_t point, uint64_t seed);

/* Fills row->results from a flat JSON object ({"a": 1, "b": "x"}), as
 * netsim.result writes it. */
bool ns_sweep_row_set_results(struct ns_sweep_row *row, const char *json, GError **error);
/* Renames row's results named like a parameter of t or like point, seed,
 * status, events or error to NAME_result, so results.tsv's columns stay
 * unique. */
void ns_sweep_row_rename_clashes(const ns_sweep_table *t, struct ns_sweep_row *row);

/* Writes DIR/results.tsv, DIR/timings.tsv and DIR/summary.tsv from the
 * finished rows (pending ones are left out), sorted by point and seed,
 * each through a temporary file renamed into place. */
bool ns_sweep_table_write(ns_sweep_table *t, const char *dir, bool timings, GError **error);

/* Reads a results.tsv written by ns_sweep_table_write into `t` (whose
 * parameter names must match the file's); a (point, seed) already in `t`
 * is an error ("overlapping").  Rows come back finished. */
bool ns_sweep_table_read(ns_sweep_table *t, const char *path, GError **error);
/* Sets the wall times of t's rows from a timings.tsv written beside a
 * results.tsv; rows the file lacks keep theirs.  False on a missing or
 * malformed file. */
bool ns_sweep_table_read_timings(ns_sweep_table *t, const char *path, GError **error);
/* Parameter names of a results.tsv (char*, caller frees the array). */
GPtrArray *ns_sweep_read_param_names(const char *path, GError **error);

/* Two-sided 95% Student t critical value for `df` degrees of freedom. */
double ns_sweep_t95(unsigned df);

#endif
