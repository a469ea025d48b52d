/* lua_lock.c — the locking model from Lua: sim:lock_cluster{...},
 * host:lock_client{...}, and the netsim.LockCluster / netsim.LockClient
 * handles (stats, the oracle's report, the wait-for graph as files).
 *
 * Invariants: the C objects belong to the sim (its clusters are its "lock"
 * attachment); handles only point at them and keep the Sim userdata
 * alive, so a handle never outlives what it points to.  A sim may hold
 * several clusters: each has a name (default "locks"), and a named one
 * puts its name in whatever it builds or writes (its LAN, its hosts, its
 * default file names), so the default cluster's names stay as they were. */
#include <string.h>

#include "netsim/event.h"
#include "netsim/lan.h"
#include "netsim/lock.h"
#include "netsim/luabind.h"
#include "netsim/output.h"

#define T_HOST    "netsim.Host"
#define T_CLUSTER "netsim.LockCluster"
#define T_CLIENT  "netsim.LockClient"

struct handle { void *obj; };

/* The cluster's LAN, when sim:lock_cluster built one (clients join it). */
struct lcluster {
    ns_lock_cluster *cl;
    ns_lan          *lan;            /* NULL: the script built the network */
};

static ns_host *check_host(lua_State *L, int idx)
{
    return ((struct handle *)ns_lua_check_handle(L, idx, T_HOST))->obj;
}

static struct lcluster *check_lcluster(lua_State *L, int idx)
{
    return ns_lua_check_handle(L, idx, T_CLUSTER);
}

static ns_lock_client *check_client(lua_State *L, int idx)
{
    return ((struct handle *)ns_lua_check_handle(L, idx, T_CLIENT))->obj;
}

/* Pushes the netsim.Host of h through sim:host_named, so the Host
 * handle is the same object the network binding hands out. */
static void push_host(lua_State *L, int handle_idx, ns_host *h)
{
    ns_lua_push_handle_sim(L, handle_idx);
    lua_getfield(L, -1, "host_named");
    lua_insert(L, -2);
    lua_pushstring(L, ns_host_name(h));
    lua_call(L, 2, 1);
}

/* ==== sim:lock_cluster{...} ============================================ */

static const char *const cluster_options[] = {
    "servers", "storage", "quorum", "ttl", "fencing", "storage_fencing", "persist",
    "registers", "service", "delay", "rate", "loss", "name", NULL
};

static bool is_default_cluster(const char *name)
{
    return strcmp(name, NS_LOCK_DEFAULT_CLUSTER) == 0;
}

/* What a cluster calls the hosts it builds: `base` for the default
 * cluster, else NAME_base (split_ls1, split_storage). */
static const char *cluster_named(lua_State *L, const char *cluster, const char *base)
{
    if (is_default_cluster(cluster))
        return lua_pushstring(L, base);
    return lua_pushfstring(L, "%s_%s", cluster, base);
}

/* The option `name`: checked before anything is built, so a clash leaves
 * nothing behind (the LAN and hosts a built cluster would make included). */
static const char *opt_cluster_name(lua_State *L, ns_sim *sim, unsigned n, bool builds)
{
    const char *name = ns_lua_opt_string(L, 2, 2, "name", NS_LOCK_DEFAULT_CLUSTER);
    if (!*name)
        ns_lua_opt_error(L, 2, "name", "an empty name");
    if (ns_lock_cluster_find(sim, name))
        ns_lua_opt_error(L, 2, "name", lua_pushfstring(L, "the simulation has a lock cluster "
                                                          "'%s' already (give each cluster "
                                                          "its own name)", name));
    if (!builds)
        return name;
    if (ns_lan_find(sim, name))
        ns_lua_opt_error(L, 2, "name", lua_pushfstring(L, "a LAN '%s' exists already", name));
    for (unsigned i = 0; i <= n; i++) {
        const char *h = cluster_named(L, name, i < n ? lua_pushfstring(L, "ls%d", (int)i + 1)
                                                     : "storage");
        if (ns_host_find(sim, h))
            ns_lua_opt_error(L, 2, "name", lua_pushfstring(L, "host '%s' exists already: the "
                                                              "cluster would build it", h));
        lua_pop(L, i < n ? 2 : 1);
    }
    return name;
}

static unsigned opt_quorum(lua_State *L, unsigned n)
{
    unsigned q = 0;
    int t = lua_getfield(L, 2, "quorum");
    if (t == LUA_TSTRING) {
        const char *s = lua_tostring(L, -1);
        if (strcmp(s, "majority") == 0)
            q = n / 2 + 1;
        else if (strcmp(s, "all") == 0)
            q = n;
        else
            ns_lua_opt_error(L, 2, "quorum", lua_pushfstring(L, "'majority', 'all' or a number "
                                                               "expected, got '%s'", s));
    } else if (t != LUA_TNIL) {
        lua_Integer v = ns_lua_opt_integer(L, 2, 2, "quorum", 0);
        if (v < 1 || (lua_Integer)n < v)
            ns_lua_opt_error(L, 2, "quorum", lua_pushfstring(L, "%I is outside [1, %d]: the "
                                                               "cluster has %d servers",
                                                               v, (int)n, (int)n));
        q = (unsigned)v;
    }
    lua_pop(L, 1);
    return q;
}

static int sim_lock_cluster(lua_State *L)
{
    ns_sim *sim = ns_lua_check_sim(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    ns_lua_check_options(L, 2, "lock_cluster", cluster_options);
    GError *err = NULL;
    ns_host *srv[NS_LOCK_MAX_SERVERS];
    unsigned n = 0;
    ns_host *storage = NULL;
    ns_lan *lan = NULL;
    int t = lua_getfield(L, 2, "servers");
    if (t == LUA_TTABLE) {
        int list = lua_gettop(L);
        for (lua_Integer i = 1; lua_rawgeti(L, list, i) != LUA_TNIL; i++) {
            if (n == NS_LOCK_MAX_SERVERS)
                return ns_lua_opt_error(L, 2, "servers", "too many servers");
            if (!luaL_testudata(L, -1, T_HOST))
                return ns_lua_opt_error(L, 2, "servers", "a list of netsim.Host expected");
            srv[n++] = check_host(L, -1);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (lua_getfield(L, 2, "storage") == LUA_TNIL || !luaL_testudata(L, -1, T_HOST))
            return ns_lua_opt_error(L, 2, "storage", "a netsim.Host is required with a "
                                                     "list of servers");
        storage = check_host(L, -1);
        lua_pop(L, 1);
        static const char *const built_only[] = { "delay", "rate", "loss" };
        for (size_t k = 0; k < G_N_ELEMENTS(built_only); k++) {
            if (lua_getfield(L, 2, built_only[k]) != LUA_TNIL)
                return ns_lua_opt_error(L, 2, built_only[k],
                                        "only for a cluster that builds its own LAN (servers = n)");
            lua_pop(L, 1);
        }
    } else {
        lua_pop(L, 1);
        lua_Integer v = ns_lua_opt_integer(L, 2, 2, "servers", 5);
        if (v < 1 || v > NS_LOCK_MAX_SERVERS)
            return ns_lua_opt_error(L, 2, "servers", lua_pushfstring(L, "%I is outside [1, %d]",
                                                                     v, NS_LOCK_MAX_SERVERS));
        lua_getfield(L, 2, "storage");
        if (!lua_isnil(L, -1))
            return ns_lua_opt_error(L, 2, "storage", "only with a list of servers");
        lua_pop(L, 1);
        n = (unsigned)v;
    }
    /* the name string stays alive: the options table holds it */
    const char *cname = opt_cluster_name(L, sim, n, storage == NULL);
    /* every option is checked before the network is built, so a bad one
     * leaves nothing behind */
    struct ns_lock_cluster_opts o;
    ns_lock_cluster_opts_defaults(&o);
    o.name = cname;
    o.quorum = opt_quorum(L, n);
    o.ttl = ns_lua_opt_time(L, 2, 2, "ttl", 0);
    o.service = ns_lua_opt_time(L, 2, 2, "service", 0);
    o.storage_fencing = ns_lua_opt_bool(L, 2, 2, "storage_fencing", true);
    o.persist = ns_lua_opt_bool(L, 2, 2, "persist", false);
    /* "stable": token registers survive a crash that loses the table (the
     * sound default); "lost": the what-if that misorders tokens */
    const char *regs = ns_lua_opt_string(L, 2, 2, "registers", "stable");
    if (strcmp(regs, "lost") == 0)
        o.registers_lost = true;
    else if (strcmp(regs, "stable") != 0)
        return ns_lua_opt_error(L, 2, "registers",
                                lua_pushfstring(L, "'stable' or 'lost' expected, got '%s'", regs));
    if (o.registers_lost && o.persist)
        return ns_lua_opt_error(L, 2, "registers", "'lost' needs persist = false (a kept "
                                                   "table keeps its registers)");
    const char *f = ns_lua_opt_string(L, 2, 2, "fencing", "quorum");
    if (!ns_lock_fencing_parse(f, &o.fencing, &err)) {
        lua_pushstring(L, err->message);
        g_error_free(err);
        return ns_lua_opt_error(L, 2, "fencing", lua_tostring(L, -1));
    }
    if (!storage) {
        struct ns_lan_opts lo;
        ns_lan_opts_defaults(&lo);
        lo.delay = ns_lua_opt_time(L, 2, 2, "delay", NS_MSEC);
        lo.rate_bps = ns_lua_opt_rate(L, 2, 2, "rate", lo.rate_bps);
        lo.loss = ns_lua_opt_number(L, 2, 2, "loss", 0);
        lan = ns_lan_new(sim, cname, &lo, &err);
        if (!lan)
            return ns_lua_raise_gerror(L, err);
        for (unsigned i = 0; i <= n; i++) {
            const char *name = cluster_named(L, cname, i < n ? lua_pushfstring(L, "ls%d",
                                                                               (int)i + 1)
                                                             : "storage");
            ns_host *h = ns_host_new(sim, name, &err);
            lua_pop(L, i < n ? 2 : 1);
            if (!h || !ns_lan_attach(lan, h, 0, &err))
                return ns_lua_raise_gerror(L, err);
            if (i < n)
                srv[i] = h;
            else
                storage = h;
        }
    }
    ns_lock_cluster *cl = ns_lock_cluster_new(sim, srv, n, storage, &o, &err);
    if (!cl)
        return ns_lua_raise_gerror(L, err);
    struct lcluster *lc = ns_lua_new_handle(L, 1, sizeof *lc, T_CLUSTER);
    lc->cl = cl;
    lc->lan = lan;
    return 1;
}

/* ==== host:lock_client{...} ============================================ */

static const char *const client_options[] = {
    "cluster", "strategy", "resources", "start", "hold", "think", "transactions", "rto",
    "timeout", "backoff", "backoff_max", "first_server", "crash_after_grants", "victim",
    "collect_timeout", NULL
};

static bool has_iface_on(ns_lan *lan, ns_host *h)
{
    for (size_t j = 0; j < ns_lan_n_ports(lan); j++)
        if (ns_iface_host(ns_lan_port_iface(lan, j)) == h)
            return true;
    return false;
}

static int host_lock_client(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    ns_lua_check_options(L, 2, "lock_client", client_options);
    if (lua_getfield(L, 2, "cluster") == LUA_TNIL || !luaL_testudata(L, -1, T_CLUSTER))
        return ns_lua_opt_error(L, 2, "cluster", "a netsim.LockCluster is required");
    struct lcluster *lc = check_lcluster(L, lua_gettop(L));
    lua_pop(L, 1);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    const char *strategy = ns_lua_opt_string(L, 2, 2, "strategy", "wait");
    if (!ns_lock_strategy_exists(strategy)) {
        /* The list is built on the Lua stack: a C string would leak, since
         * ns_lua_opt_error longjmps past any cleanup. */
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (const char *const *s = ns_lock_strategy_names(); *s; s++) {
            if (s != ns_lock_strategy_names())
                luaL_addstring(&b, ", ");
            luaL_addstring(&b, *s);
        }
        luaL_pushresult(&b);
        return ns_lua_opt_error(L, 2, "strategy",
                                lua_pushfstring(L, "unknown strategy '%s' (known: %s)",
                                                strategy, lua_tostring(L, -1)));
    }
    o.strategy = strategy;
    const char *res[33];
    size_t nres = 0;
    if (lua_getfield(L, 2, "resources") == LUA_TSTRING) {
        res[nres++] = lua_tostring(L, -1);
    } else if (lua_istable(L, -1)) {
        int list = lua_gettop(L);
        for (lua_Integer i = 1; lua_rawgeti(L, list, i) != LUA_TNIL; i++) {
            if (lua_type(L, -1) != LUA_TSTRING || nres == 32)
                return ns_lua_opt_error(L, 2, "resources", "a list of up to 32 names expected");
            res[nres++] = lua_tostring(L, -1);
            lua_pop(L, 1);          /* the list keeps the string alive */
        }
        lua_pop(L, 1);
    } else {
        return ns_lua_opt_error(L, 2, "resources", "a name or a list of names is required");
    }
    res[nres] = NULL;
    o.resources = res;
    o.start = ns_lua_opt_time(L, 2, 2, "start", 0);
    o.hold = ns_lua_opt_time(L, 2, 2, "hold", o.hold);
    o.think = ns_lua_opt_time(L, 2, 2, "think", o.think);
    lua_Integer tx = ns_lua_opt_integer(L, 2, 2, "transactions", 1);
    if (tx < 1)
        return ns_lua_opt_error(L, 2, "transactions", "at least 1 expected");
    o.transactions = (unsigned)tx;
    o.rto = ns_lua_opt_time(L, 2, 2, "rto", o.rto);
    o.timeout = ns_lua_opt_time(L, 2, 2, "timeout", o.timeout);
    o.backoff = ns_lua_opt_time(L, 2, 2, "backoff", o.backoff);
    o.backoff_max = ns_lua_opt_time(L, 2, 2, "backoff_max", o.backoff_max);
    unsigned n = ns_lock_cluster_n_servers(lc->cl);
    lua_Integer first = ns_lua_opt_integer(L, 2, 2, "first_server", 1);
    if (first < 1 || first > (lua_Integer)n)
        return ns_lua_opt_error(L, 2, "first_server",
                                lua_pushfstring(L, "%I is outside [1, %d]", first, (int)n));
    o.first_server = (unsigned)(first - 1);
    lua_Integer k = ns_lua_opt_integer(L, 2, 2, "crash_after_grants", 0);
    if (k < 0)
        return ns_lua_opt_error(L, 2, "crash_after_grants", "0 (never) or more expected");
    o.crash_after_grants = (unsigned)k;
    /* Only a `detect` client runs a detector: these would be ignored. */
    static const char *const detect_only[] = { "victim", "collect_timeout", NULL };
    for (const char *const *key = detect_only; strcmp(strategy, "detect") != 0 && *key; key++) {
        if (lua_getfield(L, 2, *key) != LUA_TNIL)
            return ns_lua_opt_error(L, 2, *key,
                                    lua_pushfstring(L, "only the 'detect' strategy uses it, "
                                                    "not '%s' (a detector host takes its own: "
                                                    "cl:detector{...})", strategy));
        lua_pop(L, 1);
    }
    GError *err = NULL;
    const char *victim = ns_lua_opt_string(L, 2, 2, "victim", "youngest");
    if (!ns_lock_victim_parse(victim, &o.victim, &err)) {
        lua_pushstring(L, err->message);
        g_error_free(err);
        return ns_lua_opt_error(L, 2, "victim", lua_tostring(L, -1));
    }
    o.collect_timeout = ns_lua_opt_time(L, 2, 2, "collect_timeout", 20 * NS_MSEC);
    if (o.collect_timeout <= 0)
        return ns_lua_opt_error(L, 2, "collect_timeout", "must be > 0");
    if (lc->lan && ns_host_n_ifaces(h) == 0 && !has_iface_on(lc->lan, h)
        && !ns_lan_attach(lc->lan, h, 0, &err))
        return ns_lua_raise_gerror(L, err);
    ns_lock_client *c = ns_lock_client_new(lc->cl, h, &o, &err);
    lua_pop(L, 1);                  /* the resources list, kept until here */
    if (!c)
        return ns_lua_raise_gerror(L, err);
    ns_lua_push_handle_sim(L, 1);
    struct handle *hd = ns_lua_new_handle(L, lua_gettop(L), sizeof *hd, T_CLIENT);
    hd->obj = c;
    return 1;
}

/* ==== netsim.LockClient ================================================= */

/* client:release(): leaves the critical section now; an error naming the
 * call when the client holds no lock. */
static int client_release(lua_State *L)
{
    GError *err = NULL;
    if (!ns_lock_client_release(check_client(L, 1), &err)) {
        g_prefix_error(&err, "client:release: ");
        return ns_lua_raise_gerror(L, err);
    }
    return 0;
}

static int client_state(lua_State *L)
{
    lua_pushstring(L, ns_lock_state_name(ns_lock_client_state(check_client(L, 1))));
    return 1;
}

static int client_name(lua_State *L)
{
    lua_pushstring(L, ns_host_name(ns_lock_client_host(check_client(L, 1))));
    return 1;
}

static void push_stats(lua_State *L, const ns_lock_client *c)
{
    const struct ns_lock_client_stats *st = ns_lock_client_stats(c);
    lua_createtable(L, 0, 9);
    lua_pushinteger(L, (lua_Integer)st->acquisitions); lua_setfield(L, -2, "acquisitions");
    lua_pushinteger(L, (lua_Integer)st->attempts); lua_setfield(L, -2, "attempts");
    lua_pushinteger(L, (lua_Integer)st->retries); lua_setfield(L, -2, "retries");
    lua_pushinteger(L, (lua_Integer)st->grants); lua_setfield(L, -2, "grants");
    lua_pushinteger(L, (lua_Integer)st->fenced); lua_setfield(L, -2, "fenced");
    lua_pushinteger(L, (lua_Integer)st->last_token); lua_setfield(L, -2, "token");
    lua_pushnumber(L, ns_time_to_sec(ns_lock_client_longest_wait(c)));
    lua_setfield(L, -2, "longest_wait");
    lua_pushnumber(L, st->acquisitions ? ns_time_to_sec(st->total_wait) / (double)st->acquisitions
                                       : 0.0);
    lua_setfield(L, -2, "mean_wait");
    if (st->done_at >= 0) {             /* nil until the last transaction ends */
        lua_pushnumber(L, ns_time_to_sec(st->done_at));
        lua_setfield(L, -2, "done_at");
    }
}

static int client_stats(lua_State *L)
{
    ns_lock_client *c = check_client(L, 1);
    push_stats(L, c);
    lua_pushstring(L, ns_lock_state_name(ns_lock_client_state(c)));
    lua_setfield(L, -2, "state");
    return 1;
}

static int client_tostring(lua_State *L)
{
    ns_lock_client *c = check_client(L, 1);
    lua_pushfstring(L, "netsim.LockClient(%s)", ns_host_name(ns_lock_client_host(c)));
    return 1;
}

/* ==== netsim.LockCluster ================================================ */

static int cluster_servers(lua_State *L)
{
    ns_lock_cluster *cl = check_lcluster(L, 1)->cl;
    lua_createtable(L, (int)ns_lock_cluster_n_servers(cl), 0);
    for (unsigned i = 0; i < ns_lock_cluster_n_servers(cl); i++) {
        push_host(L, 1, ns_lock_cluster_server(cl, i));
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int cluster_storage(lua_State *L)
{
    push_host(L, 1, ns_lock_cluster_storage(check_lcluster(L, 1)->cl));
    return 1;
}

static int cluster_quorum(lua_State *L)
{
    lua_pushinteger(L, ns_lock_cluster_quorum(check_lcluster(L, 1)->cl));
    return 1;
}

/* cl:holder(i, "R1") -> client name or nil; cl:token(i, "R1") -> register */
static unsigned check_server_index(lua_State *L, ns_lock_cluster *cl)
{
    lua_Integer i = luaL_checkinteger(L, 2);
    if (i < 1 || i > (lua_Integer)ns_lock_cluster_n_servers(cl))
        luaL_argerror(L, 2, lua_pushfstring(L, "server %I is outside [1, %d]", i,
                                            (int)ns_lock_cluster_n_servers(cl)));
    return (unsigned)(i - 1);
}

static int cluster_holder(lua_State *L)
{
    ns_lock_cluster *cl = check_lcluster(L, 1)->cl;
    unsigned i = check_server_index(L, cl);
    const char *h = ns_lock_server_holder(cl, i, luaL_checkstring(L, 3));
    if (h)
        lua_pushstring(L, h);
    else
        lua_pushnil(L);
    return 1;
}

static int cluster_token(lua_State *L)
{
    ns_lock_cluster *cl = check_lcluster(L, 1)->cl;
    unsigned i = check_server_index(L, cl);
    lua_pushinteger(L, (lua_Integer)ns_lock_server_token(cl, i, luaL_checkstring(L, 3)));
    return 1;
}

static int cluster_violations(lua_State *L)
{
    ns_lock_cluster *cl = check_lcluster(L, 1)->cl;
    size_t n = ns_lock_n_violations(cl);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        char *s = ns_lock_violation_format(ns_lock_violation_nth(cl, i));
        lua_pushstring(L, s);
        g_free(s);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int cluster_waiting(lua_State *L)
{
    char *s = ns_lock_waiting_report(check_lcluster(L, 1)->cl);
    lua_pushstring(L, s);
    g_free(s);
    return 1;
}

/* The file name argument at 2, or the cluster's default for `base`:
 * base itself for the default cluster, else base_NAME (waitfor_split). */
static const char *file_name_arg(lua_State *L, ns_lock_cluster *cl, const char *base)
{
    if (!lua_isnoneornil(L, 2))
        return luaL_checkstring(L, 2);
    const char *name = ns_lock_cluster_name(cl);
    if (is_default_cluster(name))
        return lua_pushstring(L, base);
    return lua_pushfstring(L, "%s_%s", base, name);
}

/* cl:acquisitions_table("acquisitions"): one row per acquisition (client,
 * strategy, wait_s, retries) in acquisitions.tsv (the default name of a
 * cluster named split: acquisitions_split). */
static int cluster_acquisitions_table(lua_State *L)
{
    ns_lock_cluster *cl = check_lcluster(L, 1)->cl;
    const char *name = file_name_arg(L, cl, "acquisitions");
    GError *err = NULL;
    if (!ns_lock_cluster_log_acquisitions(cl, name, &err))
        return ns_lua_raise_gerror(L, err);
    return 0;
}

/* cl:holds_table("holds"): one row per change of a lock's holder on a
 * server (server, resource, holder, cause) in holds.tsv, for
 * plots/lock_gantt.gp (default name of a cluster named split: holds_split). */
static int cluster_holds_table(lua_State *L)
{
    ns_lock_cluster *cl = check_lcluster(L, 1)->cl;
    const char *name = file_name_arg(L, cl, "holds");
    GError *err = NULL;
    if (!ns_lock_cluster_log_holds(cl, name, &err))
        return ns_lua_raise_gerror(L, err);
    return 0;
}

/* cl:report() -> the oracle's summary, ready for netsim.result */
static int cluster_report(lua_State *L)
{
    ns_lock_cluster *cl = check_lcluster(L, 1)->cl;
    uint64_t acq = 0, retries = 0, fenced = 0, grants = 0;
    ns_time_t longest = 0;
    for (size_t i = 0; i < ns_lock_cluster_n_clients(cl); i++) {
        const struct ns_lock_client_stats *st =
            ns_lock_client_stats(ns_lock_cluster_client(cl, i));
        acq += st->acquisitions;
        retries += st->retries;
        fenced += st->fenced;
        grants += st->grants;
        ns_time_t w = ns_lock_client_longest_wait(ns_lock_cluster_client(cl, i));
        if (w > longest)
            longest = w;
    }
    lua_createtable(L, 0, 14);
    lua_pushinteger(L, (lua_Integer)acq); lua_setfield(L, -2, "acquisitions");
    lua_pushinteger(L, (lua_Integer)retries); lua_setfield(L, -2, "retries");
    lua_pushinteger(L, (lua_Integer)fenced); lua_setfield(L, -2, "fenced");
    lua_pushinteger(L, (lua_Integer)grants); lua_setfield(L, -2, "grants");
    lua_pushnumber(L, ns_time_to_sec(longest)); lua_setfield(L, -2, "longest_wait");
    lua_pushinteger(L, (lua_Integer)ns_lock_n_violations(cl)); lua_setfield(L, -2, "violations");
    lua_pushinteger(L, (lua_Integer)ns_lock_storage_rejected(cl));
    lua_setfield(L, -2, "rejected_writes");
    lua_pushinteger(L, (lua_Integer)ns_lock_n_deadlocks(cl)); lua_setfield(L, -2, "deadlocks");
    lua_pushinteger(L, (lua_Integer)ns_lock_n_waiting(cl)); lua_setfield(L, -2, "waiting");
    lua_pushinteger(L, (lua_Integer)ns_lock_n_blocked(cl)); lua_setfield(L, -2, "blocked");
    lua_pushinteger(L, (lua_Integer)ns_lock_n_victims(cl)); lua_setfield(L, -2, "victims");
    lua_pushinteger(L, (lua_Integer)ns_lock_n_phantoms(cl)); lua_setfield(L, -2, "phantoms");
    if (ns_lock_first_deadlock_at(cl) >= 0) {
        lua_pushnumber(L, ns_time_to_sec(ns_lock_first_deadlock_at(cl)));
        lua_setfield(L, -2, "first_deadlock");
    }
    if (ns_lock_n_violations(cl) > 0) {
        char *s = ns_lock_violation_format(ns_lock_violation_nth(cl, 0));
        lua_pushstring(L, s);
        g_free(s);
        lua_setfield(L, -2, "first_violation");
    }
    return 1;
}

/* cl:waitfor_files("waitfor"): NAME.txt, NAME.dot and NAME.mmd with the
 * wait-for graph at the moment the first deadlock formed (the text starts
 * "deadlock at T"), or, when none formed, as it is when the run's outputs
 * are committed (who still waits at the end, or "nobody waits").  NAME
 * defaults to waitfor (waitfor_split for a cluster named split). */
struct wf_files {
    ns_lock_cluster *cl;
    ns_output *txt, *dot, *mmd;
};

static bool wf_write(ns_output *o, char *s, GError **error)
{
    FILE *f = ns_output_file(o);
    bool ok = f && fputs(s, f) >= 0;
    g_free(s);
    if (!ok)
        g_set_error(error, NS_ERROR, NS_ERROR_IO, "cannot write %s", ns_output_name(o));
    return ok;
}

static bool wf_render(ns_sim *sim, void *ud, GError **error)
{
    (void)sim;
    struct wf_files *w = ud;
    if (ns_lock_first_deadlock_at(w->cl) >= 0) {
        char t[NS_TIME_STRLEN];
        char *graph = ns_lock_deadlock_report(w->cl);
        char *txt = g_strdup_printf("deadlock at %s\n%s",
                                    ns_time_format(ns_lock_first_deadlock_at(w->cl), t), graph);
        g_free(graph);
        return wf_write(w->txt, txt, error) && wf_write(w->dot, ns_lock_deadlock_dot(w->cl), error)
               && wf_write(w->mmd, ns_lock_deadlock_mermaid(w->cl), error);
    }
    char *txt = ns_lock_waiting_report(w->cl);
    if (!*txt) {
        g_free(txt);
        txt = g_strdup("nobody waits\n");
    }
    return wf_write(w->txt, txt, error) && wf_write(w->dot, ns_lock_waitfor_dot(w->cl), error)
           && wf_write(w->mmd, ns_lock_waitfor_mermaid(w->cl), error);
}

static int cluster_waitfor_files(lua_State *L)
{
    struct lcluster *lc = check_lcluster(L, 1);
    const char *name = file_name_arg(L, lc->cl, "waitfor");
    ns_lua_push_handle_sim(L, 1);
    ns_sim *s = ns_lua_check_sim(L, -1);
    lua_pop(L, 1);
    struct wf_files *w = g_new0(struct wf_files, 1);
    w->cl = lc->cl;
    GError *err = NULL;
    const char *ext[] = { "txt", "dot", "mmd" };
    ns_output **slot[] = { &w->txt, &w->dot, &w->mmd };
    for (int i = 0; i < 3; i++) {
        char *fn = g_strdup_printf("%s.%s", name, ext[i]);
        *slot[i] = ns_output_open(s, fn, &err);
        g_free(fn);
        if (!*slot[i]) {
            g_free(w);
            return ns_lua_raise_gerror(L, err);
        }
    }
    /* the record lives as long as the sim: attached under a unique key */
    char *key = g_strdup_printf("lua.lock.waitfor.%s", name);
    ns_sim_attach(s, key, w, g_free);
    g_free(key);
    ns_output_on_commit(s, wf_render, w);
    return 0;
}

/* cl:partition{ at = t, duration = d, hosts = { h, ... } }: from `at`
 * (default now) for `duration` (default: to the end of the run) the
 * given hosts' ports on the cluster's LAN are down, so each of them is
 * cut off from every other host (the given ones included) while the rest
 * of the cluster talks on.  Only for a cluster that built its LAN. */
static const char *const partition_options[] = { "at", "duration", "hosts", "side", NULL };

/* The events carry only the interface: its LAN (the cluster's, whichever
 * cluster it is) is the one that accepts it. */
static void port_set_up(ns_sim *sim, ns_iface *ifc, bool up)
{
    for (size_t i = 0; i < ns_lan_count(sim); i++)
        if (ns_lan_port_set_up(ns_lan_nth(sim, i), ifc, up))
            return;
}

static void port_set_side(ns_sim *sim, ns_iface *ifc, int side)
{
    for (size_t i = 0; i < ns_lan_count(sim); i++)
        if (ns_lan_port_set_side(ns_lan_nth(sim, i), ifc, side))
            return;
}

static void port_down(ns_sim *sim, void *arg)
{
    port_set_up(sim, arg, false);
}

static void port_up(ns_sim *sim, void *arg)
{
    port_set_up(sim, arg, true);
}

static void side_split(ns_sim *sim, void *arg)
{
    port_set_side(sim, arg, 1);
}

static void side_heal(ns_sim *sim, void *arg)
{
    port_set_side(sim, arg, 0);
}

/* h's interface on lan, or NULL. */
static ns_iface *port_of(ns_lan *lan, ns_host *h)
{
    for (size_t j = 0; j < ns_lan_n_ports(lan); j++)
        if (ns_iface_host(ns_lan_port_iface(lan, j)) == h)
            return ns_lan_port_iface(lan, j);
    return NULL;
}

static int cluster_partition(lua_State *L)
{
    struct lcluster *lc = check_lcluster(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    ns_lua_check_options(L, 2, "partition", partition_options);
    if (!lc->lan)
        return luaL_error(L, "partition: only for a cluster that builds its own LAN "
                             "(servers = n)");
    ns_sim *sim = ns_host_sim(ns_lock_cluster_server(lc->cl, 0));
    ns_time_t now = ns_sim_now(sim);
    ns_time_t at = ns_lua_opt_time(L, 2, 2, "at", now);
    ns_time_t duration = ns_lua_opt_time(L, 2, 2, "duration", -1);
    if (at < now)
        return ns_lua_opt_error(L, 2, "at", "in the past");
    if (lua_getfield(L, 2, "duration") != LUA_TNIL && duration <= 0)
        return ns_lua_opt_error(L, 2, "duration", "must be > 0");
    lua_pop(L, 1);
    /* hosts = {...}: each is cut off from everyone; side = {...}: they
     * form one side of a split and still talk to each other. */
    bool split = lua_getfield(L, 2, "side") != LUA_TNIL;
    lua_pop(L, 1);
    const char *key = split ? "side" : "hosts";
    if (split && lua_getfield(L, 2, "hosts") != LUA_TNIL)
        return ns_lua_opt_error(L, 2, "side", "give hosts (each cut off) or side (a split), "
                                              "not both");
    if (split)
        lua_pop(L, 1);
    if (lua_getfield(L, 2, key) != LUA_TTABLE)
        return ns_lua_opt_error(L, 2, key, "a list of netsim.Host is required");
    int list = lua_gettop(L);
    /* every host is checked before anything is scheduled */
    ns_iface *ports[256];
    size_t n = 0;
    for (lua_Integer i = 1; lua_rawgeti(L, list, i) != LUA_TNIL; i++) {
        if (!luaL_testudata(L, -1, T_HOST))
            return ns_lua_opt_error(L, 2, key, "a list of netsim.Host expected");
        ns_host *h = check_host(L, -1);
        ns_iface *ifc = port_of(lc->lan, h);
        if (!ifc)
            return ns_lua_opt_error(L, 2, key, lua_pushfstring(L, "host '%s' is not on "
                                                                     "the cluster's LAN",
                                                                     ns_host_name(h)));
        if (n == G_N_ELEMENTS(ports))
            return ns_lua_opt_error(L, 2, key, "too many hosts");
        ports[n++] = ifc;
        lua_pop(L, 1);
    }
    if (n == 0)
        return ns_lua_opt_error(L, 2, key, "a list of netsim.Host is required");
    /* The events' argument is the interface, owned by its host: nothing
     * to free however far the run gets. */
    for (size_t i = 0; i < n; i++) {
        ns_event_at(sim, at, split ? side_split : port_down, ports[i], 0, NULL);
        if (duration > 0)
            ns_event_at(sim, at + duration, split ? side_heal : port_up, ports[i], 0, NULL);
    }
    return 0;
}

/* cl:detector{ host = h, period = t, victim = name, collect_timeout = t }:
 * a deadlock detector on h, a round every period (h joins the cluster's
 * LAN if it has no interface yet, as a client's host does). */
static const char *const detector_options[] = {
    "host", "period", "victim", "collect_timeout", NULL
};

static int cluster_detector(lua_State *L)
{
    struct lcluster *lc = check_lcluster(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    ns_lua_check_options(L, 2, "detector", detector_options);
    if (lua_getfield(L, 2, "host") == LUA_TNIL || !luaL_testudata(L, -1, T_HOST))
        return ns_lua_opt_error(L, 2, "host", "a netsim.Host is required");
    ns_host *h = check_host(L, -1);
    lua_pop(L, 1);
    struct ns_lock_detector_opts o;
    ns_lock_detector_opts_defaults(&o);
    o.period = ns_lua_opt_time(L, 2, 2, "period", o.period);
    if (o.period <= 0)
        return ns_lua_opt_error(L, 2, "period", "must be > 0");
    o.collect_timeout = ns_lua_opt_time(L, 2, 2, "collect_timeout", o.collect_timeout);
    if (o.collect_timeout <= 0)
        return ns_lua_opt_error(L, 2, "collect_timeout", "must be > 0");
    GError *err = NULL;
    if (!ns_lock_victim_parse(ns_lua_opt_string(L, 2, 2, "victim", "youngest"), &o.victim,
                              &err)) {
        lua_pushstring(L, err->message);
        g_error_free(err);
        return ns_lua_opt_error(L, 2, "victim", lua_tostring(L, -1));
    }
    if (lc->lan && ns_host_n_ifaces(h) == 0 && !has_iface_on(lc->lan, h)
        && !ns_lan_attach(lc->lan, h, 0, &err))
        return ns_lua_raise_gerror(L, err);
    if (!ns_lock_detector_new(lc->cl, h, &o, &err))
        return ns_lua_raise_gerror(L, err);
    return 0;
}

static int cluster_name(lua_State *L)
{
    lua_pushstring(L, ns_lock_cluster_name(check_lcluster(L, 1)->cl));
    return 1;
}

static int cluster_tostring(lua_State *L)
{
    ns_lock_cluster *cl = check_lcluster(L, 1)->cl;
    lua_pushfstring(L, "netsim.LockCluster(%d servers, quorum %d)",
                    (int)ns_lock_cluster_n_servers(cl), (int)ns_lock_cluster_quorum(cl));
    return 1;
}

static void crash_host(ns_sim *sim, void *arg)
{
    (void)sim;
    ns_host_crash(arg);
}

/* cl:crash(name, [at]): crashes lock client `name`'s host at `at` (default
 * now); a name that is no client of the cluster is an error that lists
 * the clients. */
static int cluster_crash(lua_State *L)
{
    ns_lock_cluster *cl = check_lcluster(L, 1)->cl;
    const char *name = luaL_checkstring(L, 2);
    ns_host *h = NULL;
    size_t n = ns_lock_cluster_n_clients(cl);
    for (size_t i = 0; i < n && !h; i++) {
        ns_host *ch = ns_lock_client_host(ns_lock_cluster_client(cl, i));
        if (strcmp(ns_host_name(ch), name) == 0)
            h = ch;
    }
    if (!h) {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (size_t i = 0; i < n; i++) {
            if (i)
                luaL_addstring(&b, ", ");
            luaL_addstring(&b, ns_host_name(ns_lock_client_host(ns_lock_cluster_client(cl, i))));
        }
        luaL_pushresult(&b);
        return luaL_error(L, "cl:crash: no lock client '%s' (clients: %s)", name,
                          n ? lua_tostring(L, -1) : "none yet");
    }
    ns_sim *sim = ns_host_sim(h);
    ns_time_t at = lua_isnoneornil(L, 3) ? ns_sim_now(sim) : ns_lua_check_time(L, 3);
    if (at < ns_sim_now(sim))
        return luaL_argerror(L, 3, "time is before now");
    ns_event_at(sim, at, crash_host, h, 0, NULL);
    return 0;
}

static const luaL_Reg cluster_methods[] = {
    { "servers", cluster_servers }, { "storage", cluster_storage },
    { "quorum", cluster_quorum }, { "holder", cluster_holder }, { "token", cluster_token },
    { "violations", cluster_violations }, { "waiting", cluster_waiting },
    { "report", cluster_report }, { "waitfor_files", cluster_waitfor_files },
    { "acquisitions_table", cluster_acquisitions_table },
    { "holds_table", cluster_holds_table }, { "partition", cluster_partition },
    { "crash", cluster_crash }, { "detector", cluster_detector }, { "name", cluster_name },
    { "__tostring", cluster_tostring }, { NULL, NULL }
};

static const luaL_Reg client_methods[] = {
    { "state", client_state }, { "name", client_name }, { "stats", client_stats },
    { "release", client_release },
    { "__tostring", client_tostring }, { NULL, NULL }
};

static const luaL_Reg sim_methods[] = {
    { "lock_cluster", sim_lock_cluster }, { NULL, NULL }
};

static const luaL_Reg host_methods[] = {
    { "lock_client", host_lock_client }, { NULL, NULL }
};


void ns_lua_open_lock(lua_State *L)
{
    ns_lua_new_type(L, T_CLUSTER, cluster_methods);
    ns_lua_new_type(L, T_CLIENT, client_methods);
    luaL_getmetatable(L, T_HOST);
    luaL_setfuncs(L, host_methods, 0);
    lua_pop(L, 1);
    luaL_getmetatable(L, "netsim.Sim");
    luaL_setfuncs(L, sim_methods, 0);
    lua_pop(L, 1);
}
