/* luabind.h — what Lua binding files share (sim/lua/, models/<p>/lua_<p>.c,
 * sim/main.c).  The engine and the models never include this header.
 *
 * Conventions (STYLE.md §7-8): every userdata type has a metatable named
 * "netsim.<Type>"; argument errors read like Lua's own ("bad argument #2 to
 * 'after' (time expected, got table)"); options tables reject unknown keys;
 * a GError is converted at the binding edge (message pushed, GError freed,
 * then raised).
 */
#ifndef NETSIM_LUABIND_H
#define NETSIM_LUABIND_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <lua.h>
#include <lauxlib.h>

#include "netsim/sim.h"
#include "netsim/units.h"

/* ---- the run: what the command line decided (NULL fields = not given) ---- */

struct ns_lua_define {
    char *name;
    char *value;               /* the text after '=' */
    bool  used;                /* matched a declared parameter */
};

typedef struct ns_lua_run {
    const char   *scenario;          /* script path as given */
    bool          has_seed;          /* --seed given: overrides netsim.new */
    uint64_t      seed;
    const char   *out_dir;           /* --out, or NULL: "." / netsim.new{out} */
    ns_time_t     until;             /* --until, NS_TIME_MAX if none */
    uint64_t      max_events;        /* --max-events, 0 if none */
    bool          quiet;             /* --quiet */
    bool          progress;          /* stderr is a terminal and not quiet */
    volatile int *interrupt;         /* set by the SIGINT handler */
    GPtrArray    *defines;           /* struct ns_lua_define*, in -D order */
    /* Filled while the scenario runs. */
    bool          usage_error;       /* the failure was the user's command line */
    bool          interrupted;
    bool          params_declared;
    char         *params_json;       /* effective parameters, for run.json */
    char         *results_json;      /* netsim.result{...}, for run.json */
    GPtrArray    *sims;              /* struct ns_lua_sim*, creation order */
    bool          stopped_by_until;
    bool          stopped_by_max;
} ns_lua_run;

/* Installs `run` (owned by the caller, outliving L) in L's registry: the
 * module reads the command line from it.  Without it (stock lua5.4 and
 * require "netsim"), everything comes from netsim.new{...}. */
void        ns_lua_run_install(lua_State *L, ns_lua_run *run);
ns_lua_run *ns_lua_run_get(lua_State *L);

/* After the scenario: commits (ok) or aborts every sim's outputs, writes
 * run.json beside them, frees the sims.  Returns false with `error` set if
 * committing failed. */
bool ns_lua_run_finish(lua_State *L, bool ok, GError **error);
/* "outputs in DIR/: a.tsv b.tsv run.json\n" per sim that wrote files;
 * free with g_free. */
char *ns_lua_run_summary(const ns_lua_run *run);
/* Frees the run's sims; call before lua_close(L). */
void ns_lua_run_close(lua_State *L);

/* ---- the command line, shared by `netsim` and `netsim sweep` ---- */
/* Whether arg is option `name`, alone or as "name=VALUE". */
bool        ns_cli_is_option(const char *arg, const char *name);
/* The value of option `name` at argv[*i], given as "name VALUE" (advances
 * *i) or "name=VALUE"; NULL when the value is missing. */
const char *ns_cli_option_value(int argc, char **argv, int *i, const char *name);
/* The shell command that replays one run: netsim --seed SEED -D NAME=VALUE...
 * [--until T] [--max-events N] [--out DIR] SCENARIO, words quoted only
 * where needed.  defines: char* "NAME=VALUE"; until NS_TIME_MAX and
 * max_events 0 mean not given; out_dir may be NULL.  Free with g_free. */
char       *ns_cli_replay_command(uint64_t seed, const GPtrArray *defines, ns_time_t until,
                                  uint64_t max_events, const char *out_dir,
                                  const char *scenario);

/* Replaces math.random/math.randomseed with a netsim stream and makes
 * os.time/os.clock/os.date raise, so nothing in a scenario depends on the
 * wall clock or on Lua's time-seeded generator. */
void ns_lua_sandbox(lua_State *L, uint64_t seed);

/* Counts instructions: a callback running more than `limit` instructions
 * (0 = no limit) raises an error; also turns a raised interrupt flag into an
 * "interrupted" error inside long-running Lua code. */
void ns_lua_watchdog_install(lua_State *L);

/* `netsim sweep ...` / `netsim explore ...` (argv[0] is "sweep" or
 * "explore"); returns the exit status.  sim/lua/lua_sweep.c.  `cluster`
 * (NULL for one process) spreads the runs over its ranks: every rank
 * calls this with the same arguments, rank 0 writes the results. */
struct ns_cluster;
int ns_lua_sweep_main(int argc, char **argv, volatile int *interrupt,
                      struct ns_cluster *cluster);

/* The module opener: require "netsim". */
int luaopen_netsim(lua_State *L);

/* ---- network handles, for model bindings above the network layer
 * (models/net/lua_net.c implements them) ---- */
struct ns_host;
/* The host of a netsim.Host argument (raises Lua's usual type error). */
struct ns_host *ns_lua_check_host(lua_State *L, int idx);
/* A destination: a netsim.Host (its first address) or an address string;
 * raises "malformed IPv4 address '...'" or "host 'x' has no address". */
uint32_t        ns_lua_check_addr(lua_State *L, int idx);

/* Model bindings, called by the front door after the core types exist
 * (each adds its types and its Sim methods). */
void ns_lua_open_net(lua_State *L);        /* models/net/lua_net.c */
void ns_lua_open_tcp(lua_State *L);        /* models/tcp/lua_tcp.c */
void ns_lua_open_dhcp(lua_State *L);       /* models/dhcp/lua_dhcp.c */
void ns_lua_open_tls(lua_State *L);        /* models/tls/lua_tls.c */
void ns_lua_open_lock(lua_State *L);       /* models/lock/lua_lock.c */

/* ---- argument helpers ---- */

struct ns_lua_sim;                               /* sim/lua/lua_sim.c */
ns_sim *ns_lua_check_sim(lua_State *L, int idx); /* raises if closed */
struct ns_lua_sim *ns_lua_check_lsim(lua_State *L, int idx);

/* A time: a number of seconds or a string with a unit; never negative. */
ns_time_t ns_lua_check_time(lua_State *L, int arg);
/* A rate in bit/s or a size in bytes: number or string with unit, >= 0. */
double    ns_lua_check_rate(lua_State *L, int arg);
double    ns_lua_check_size(lua_State *L, int arg);
/* What conn:send takes: a string (real bytes, returned with their length)
 * or a size (length-only data: NULL, *len set); raises past 4 GiB - 1. */
const char *ns_lua_check_payload(lua_State *L, int arg, uint32_t *len);
/* Any quantity of a given kind (number or string). */
double    ns_lua_check_quantity(lua_State *L, int arg, enum ns_unit_kind kind);

/* Checks that the table at `idx` has only string keys from `allowed`
 * (NULL-terminated); otherwise raises "unknown option 'dealy' to 'link'
 * (did you mean 'delay'?)".  Deterministic whatever pairs() order is. */
void ns_lua_check_options(lua_State *L, int idx, const char *fname,
                          const char *const *allowed);

/* Raises err's message as a Lua error with the caller's position
 * ("script:line: message"); frees err.  Never returns. */
int ns_lua_raise_gerror(lua_State *L, GError *err);

/* ---- options tables: read one key of the table at index `tbl`, which
 * is argument `arg` of the calling function; nil keeps `def`.  Errors read
 * "bad argument #3 to 'link' (option 'rate': rate expected, got table)". */
ns_time_t   ns_lua_opt_time(lua_State *L, int tbl, int arg, const char *key, ns_time_t def);
double      ns_lua_opt_rate(lua_State *L, int tbl, int arg, const char *key, double def);
double      ns_lua_opt_size(lua_State *L, int tbl, int arg, const char *key, double def);
double      ns_lua_opt_number(lua_State *L, int tbl, int arg, const char *key, double def);
lua_Integer ns_lua_opt_integer(lua_State *L, int tbl, int arg, const char *key, lua_Integer def);
bool        ns_lua_opt_bool(lua_State *L, int tbl, int arg, const char *key, bool def);
/* The string stays valid while the table holds it. */
const char *ns_lua_opt_string(lua_State *L, int tbl, int arg, const char *key, const char *def);
/* Raises "bad argument #arg to 'f' (option 'key': msg)". */
int         ns_lua_opt_error(lua_State *L, int arg, const char *key, const char *msg);

/* ---- handles: userdata of model objects (netsim.Host, netsim.Link...)
 * whose uservalue 1 is the Sim userdata, so the sim outlives them. ---- */
/* Pushes a new zeroed userdata of `size` bytes with metatable `tname`,
 * tied to the Sim at stack index sim_idx; returns its memory. */
void   *ns_lua_new_handle(lua_State *L, int sim_idx, size_t size, const char *tname);
/* Checks the handle at idx is a `tname` and its sim is open (raises
 * "attempt to use a closed simulation" otherwise); returns its memory. */
void   *ns_lua_check_handle(lua_State *L, int idx, const char *tname);
/* Pushes the Sim userdata a handle is tied to. */
void    ns_lua_push_handle_sim(lua_State *L, int idx);

/* ---- callbacks from model code into Lua ---- */
/* A registry reference to the function at idx (type-checked as arg). */
int     ns_lua_ref_function(lua_State *L, int idx);
/* Releases a reference taken with ns_lua_ref_function. */
void    ns_lua_unref(ns_sim *sim, int ref);
/* conn:on_data(fn) and kin: the function at idx replaces the callback
 * whose reference is in *slot (the old one is released). */
void    ns_lua_replace_callback(lua_State *L, int idx, ns_sim *sim, int *slot);
/* Starts a call of the function `ref` from C model code running inside
 * sim:run: pushes the function on the Lua thread running the sim and
 * returns that thread for the caller to push arguments on; NULL when the
 * sim has no Lua side or a callback already failed (then do nothing). */
lua_State *ns_lua_call_begin(ns_sim *sim, int ref);
/* The Lua thread running the sim's callbacks now, to push values on
 * (NULL when the sim has no Lua side or a callback already failed). */
lua_State *ns_lua_thread(ns_sim *sim);
/* Calls it with the nargs pushed; an error stops the run and is raised by
 * sim:run with the callback's position. */
void    ns_lua_call_end(ns_sim *sim, lua_State *T, int nargs);
/* As ns_lua_call_end, for a callback whose answer the model needs: true
 * with nresults values left on T (the caller pops them), false with
 * nothing left when the call failed (the run stops, as above). */
bool    ns_lua_call_results(ns_sim *sim, lua_State *T, int nargs, int nresults);

/* Creates the metatable `tname` with these methods, itself as __index. */
void ns_lua_new_type(lua_State *L, const char *tname, const luaL_Reg *methods);

/* Closest of `candidates` to `word` by edit distance, or NULL if none is
 * close (used for "did you mean"). */
const char *ns_lua_suggest(const char *word, const char *const *candidates, size_t n);

#endif
