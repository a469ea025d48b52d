/* lua_net.c — the network layer from Lua: netsim.Host, netsim.Link,
 * netsim.Lan, netsim.Udp, and the Sim methods that build topologies and
 * choose what users see (pcap, diagrams).
 *
 * Invariants: the C objects belong to the sim; a handle is userdata tied
 * to its Sim (uservalue 1), and one handle exists per object at a time
 * (a weak cache), so handles compare equal and serve as table keys.
 * Callbacks (on_receive, ping replies) hold registry references released
 * when their socket closes or their ping ends.
 */
#include <stdio.h>
#include <string.h>

#include "net_priv.h"
#include "netsim/arp.h"
#include "netsim/diagram.h"
#include "netsim/icmp.h"
#include "netsim/luabind.h"
#include "netsim/pcap.h"
#include "netsim/traffic.h"
#include "netsim/udp.h"

#define T_HOST "netsim.Host"
#define T_LINK "netsim.Link"
#define T_LAN  "netsim.Lan"
#define T_UDP  "netsim.Udp"

struct lhandle {                 /* Host, Link, Lan */
    void *obj;
};

struct ludp {                    /* Udp */
    ns_udp *sock;                /* NULL once closed */
    ns_sim *sim;
    int     on_receive;          /* registry ref or LUA_NOREF */
    int     self;                /* ref keeping this userdata alive while
                                    the C socket points at it */
};

static const char CACHE_KEY = 'c';

/* Pushes the one handle of obj, creating it (tied to the Sim at sim_idx)
 * when none is alive. */
static void push_handle(lua_State *L, int sim_idx, void *obj, const char *tname)
{
    sim_idx = lua_absindex(L, sim_idx);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &CACHE_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_newtable(L);
        lua_pushliteral(L, "v");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &CACHE_KEY);
    }
    if (lua_rawgetp(L, -1, obj) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    struct lhandle *h = ns_lua_new_handle(L, sim_idx, sizeof *h, tname);
    h->obj = obj;
    lua_pushvalue(L, -1);
    lua_rawsetp(L, -3, obj);
    lua_remove(L, -2);
}

ns_host *ns_lua_check_host(lua_State *L, int idx)
{
    return ((struct lhandle *)ns_lua_check_handle(L, idx, T_HOST))->obj;
}

#define check_host ns_lua_check_host

static ns_link *check_link(lua_State *L, int idx)
{
    return ((struct lhandle *)ns_lua_check_handle(L, idx, T_LINK))->obj;
}

static ns_lan *check_lan(lua_State *L, int idx)
{
    return ((struct lhandle *)ns_lua_check_handle(L, idx, T_LAN))->obj;
}

static int raise_err(lua_State *L, GError *err)
{
    return ns_lua_raise_gerror(L, err);
}

/* A destination: a Host (its first address) or an address string. */
uint32_t ns_lua_check_addr(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TSTRING) {
        uint32_t a;
        if (!ns_addr_parse(lua_tostring(L, idx), &a, NULL))
            luaL_argerror(L, idx, lua_pushfstring(L, "malformed IPv4 address '%s'",
                                                  lua_tostring(L, idx)));
        return a;
    }
    if (!luaL_testudata(L, idx, T_HOST))
        luaL_typeerror(L, idx, "netsim.Host or address");
    ns_host *h = check_host(L, idx);
    uint32_t a = ns_host_addr(h);
    if (!a)
        luaL_argerror(L, idx, lua_pushfstring(L, "host '%s' has no address", ns_host_name(h)));
    return a;
}

#define check_dst ns_lua_check_addr

static void push_addr(lua_State *L, uint32_t a)
{
    char buf[NS_ADDR_STRLEN];
    lua_pushstring(L, ns_addr_format(a, buf));
}

/* Runs fn(sim, arg) at `at` (absolute, now when nil) on behalf of Lua. */
static void at_or_now(lua_State *L, ns_sim *sim, int idx, ns_event_fn fn, void *arg)
{
    ns_time_t at = lua_isnoneornil(L, idx) ? ns_sim_now(sim) : ns_lua_check_time(L, idx);
    GError *err = NULL;
    if (at == ns_sim_now(sim) && !ns_sim_is_running(sim) && lua_isnoneornil(L, idx)) {
        fn(sim, arg);
        return;
    }
    ns_event_at(sim, at, fn, arg, 0, &err);
    if (err)
        raise_err(L, err);
}

/* ==== Sim methods ==================================================== */

static const char *const host_options[] = { "router", "cores", NULL };

static int new_host(lua_State *L, bool router)
{
    ns_sim *sim = ns_lua_check_sim(L, 1);
    const char *name = luaL_checkstring(L, 2);
    if (!lua_isnoneornil(L, 3))
        ns_lua_check_options(L, 3, router ? "router" : "host", host_options);
    GError *err = NULL;
    ns_host *h = ns_host_new(sim, name, &err);
    if (!h)
        return raise_err(L, err);
    if (ns_lua_opt_bool(L, 3, 3, "router", router))
        ns_host_set_forwarding(h, true);
    lua_Integer cores = ns_lua_opt_integer(L, 3, 3, "cores", 1);
    if (cores < 1 || cores > 1024)
        return ns_lua_opt_error(L, 3, "cores", "must be in [1, 1024]");
    ns_host_set_cores(h, (unsigned)cores);
    push_handle(L, 1, h, T_HOST);
    return 1;
}

/* sim:host(name, { router = false, cores = 1 }) */
static int sim_host(lua_State *L) { return new_host(L, false); }
/* sim:router(name, opts): a host that forwards. */
static int sim_router(lua_State *L) { return new_host(L, true); }

/* sim:host_named(name) -> Host, or nil, "no host 'x'" */
static int sim_host_named(lua_State *L)
{
    ns_sim *sim = ns_lua_check_sim(L, 1);
    const char *name = luaL_checkstring(L, 2);
    ns_host *h = ns_host_find(sim, name);
    if (!h) {
        lua_pushnil(L);
        lua_pushfstring(L, "no host '%s'", name);
        return 2;
    }
    push_handle(L, 1, h, T_HOST);
    return 1;
}

/* sim:hosts() -> { Host, ... } in creation order */
static int sim_hosts(lua_State *L)
{
    ns_sim *sim = ns_lua_check_sim(L, 1);
    lua_newtable(L);
    for (size_t i = 0; i < ns_host_count(sim); i++) {
        push_handle(L, 1, ns_host_nth(sim, i), T_HOST);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static const char *const queue_options[] = {
    "kind", "limit", "bytes", "ecn", "min_th", "max_th", "max_p", "wq", "gentle",
    "target", "interval", NULL
};

/* queue = "red" or { kind = "red", limit = 100, ecn = true, ... } */
static const char *read_queue(lua_State *L, int tbl, int arg, struct ns_queue_cfg *qc)
{
    const char *kind = "droptail";
    if (lua_getfield(L, tbl, "queue") == LUA_TNIL) {
        lua_pop(L, 1);
    } else if (lua_type(L, -1) == LUA_TSTRING) {
        kind = lua_tostring(L, -1);
        lua_pop(L, 1);
    } else if (lua_type(L, -1) == LUA_TTABLE) {
        int q = lua_gettop(L);
        ns_lua_check_options(L, q, "queue", queue_options);
        kind = ns_lua_opt_string(L, q, arg, "kind", "droptail");
        lua_Integer lim = ns_lua_opt_integer(L, q, arg, "limit", qc->limit_pkts);
        if (lim < 0 || lim > UINT32_MAX)
            ns_lua_opt_error(L, arg, "limit", "must be in [0, 2^32)");
        qc->limit_pkts = (uint32_t)lim;
        qc->limit_bytes = (uint64_t)ns_lua_opt_size(L, q, arg, "bytes", (double)qc->limit_bytes);
        qc->ecn = ns_lua_opt_bool(L, q, arg, "ecn", qc->ecn);
        qc->red_min_th = ns_lua_opt_number(L, q, arg, "min_th", qc->red_min_th);
        qc->red_max_th = ns_lua_opt_number(L, q, arg, "max_th", qc->red_max_th);
        qc->red_max_p = ns_lua_opt_number(L, q, arg, "max_p", qc->red_max_p);
        qc->red_wq = ns_lua_opt_number(L, q, arg, "wq", qc->red_wq);
        qc->red_gentle = ns_lua_opt_bool(L, q, arg, "gentle", qc->red_gentle);
        qc->codel_target = ns_lua_opt_time(L, q, arg, "target", qc->codel_target);
        qc->codel_interval = ns_lua_opt_time(L, q, arg, "interval", qc->codel_interval);
        lua_pop(L, 1);      /* kind stays anchored: the options table holds it */
    } else {
        ns_lua_opt_error(L, arg, "queue", lua_pushfstring(L, "string or table expected, got %s",
                                                            luaL_typename(L, -1)));
    }
    return kind;
}

static const char *const link_options[] = {
    "rate", "delay", "jitter", "reorder", "overhead", "queue", "loss", "addrs", NULL
};

/* sim:link(a, b, { rate = "10Mbps", delay = "20ms", loss = 0.01, queue = ... }) */
static int sim_link(lua_State *L)
{
    ns_sim *sim = ns_lua_check_sim(L, 1);
    ns_host *a = check_host(L, 2);
    ns_host *b = check_host(L, 3);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    if (!lua_isnoneornil(L, 4)) {
        ns_lua_check_options(L, 4, "link", link_options);
        o.rate_bps = ns_lua_opt_rate(L, 4, 4, "rate", o.rate_bps);
        o.delay = ns_lua_opt_time(L, 4, 4, "delay", o.delay);
        o.jitter = ns_lua_opt_time(L, 4, 4, "jitter", o.jitter);
        o.jitter_reorders = ns_lua_opt_bool(L, 4, 4, "reorder", false);
        o.overhead = (uint32_t)ns_lua_opt_size(L, 4, 4, "overhead", 0);
        o.loss = ns_lua_opt_number(L, 4, 4, "loss", 0);
        o.queue = read_queue(L, 4, 4, &o.qcfg);
        if (lua_getfield(L, 4, "addrs") != LUA_TNIL) {
            int t = lua_gettop(L);
            if (!lua_istable(L, t) || luaL_len(L, t) != 2)
                return ns_lua_opt_error(L, 4, "addrs", "expected { \"a.b.c.d/len\", \"a.b.c.d/len\" }");
            int pa = 0, pb = 0;
            lua_geti(L, t, 1);
            lua_geti(L, t, 2);
            const char *sa = lua_tostring(L, -2), *sb = lua_tostring(L, -1);
            if (!sa || !sb || !ns_addr_parse(sa, &o.a_addr, &pa) || !ns_addr_parse(sb, &o.b_addr, &pb))
                return ns_lua_opt_error(L, 4, "addrs", "malformed address (expected a.b.c.d/len)");
            if (pa != pb)
                return ns_lua_opt_error(L, 4, "addrs", "both ends need the same prefix length");
            o.prefix = pa == 32 ? 24 : pa;
        }
    }
    GError *err = NULL;
    ns_link *l = ns_link_new(sim, a, b, &o, &err);
    if (!l)
        return raise_err(L, err);
    push_handle(L, 1, l, T_LINK);
    return 1;
}

static const char *const lan_options[] = {
    "rate", "delay", "queue", "subnet", "arp", "hosts", NULL
};

/* sim:lan(name, { rate, delay, queue, subnet = "10.1.0.0/24", arp = true,
 *                 hosts = { a, b, ... } }) */
static int sim_lan(lua_State *L)
{
    ns_sim *sim = ns_lua_check_sim(L, 1);
    const char *name = luaL_checkstring(L, 2);
    struct ns_lan_opts o;
    ns_lan_opts_defaults(&o);
    if (!lua_isnoneornil(L, 3)) {
        ns_lua_check_options(L, 3, "lan", lan_options);
        o.rate_bps = ns_lua_opt_rate(L, 3, 3, "rate", o.rate_bps);
        o.delay = ns_lua_opt_time(L, 3, 3, "delay", o.delay);
        o.queue = read_queue(L, 3, 3, &o.qcfg);
        o.arp = ns_lua_opt_bool(L, 3, 3, "arp", o.arp);
        const char *subnet = ns_lua_opt_string(L, 3, 3, "subnet", NULL);
        if (subnet && !ns_addr_parse(subnet, &o.subnet, &o.prefix))
            return ns_lua_opt_error(L, 3, "subnet", "malformed subnet (expected a.b.c.d/len)");
    }
    GError *err = NULL;
    ns_lan *lan = ns_lan_new(sim, name, &o, &err);
    if (!lan)
        return raise_err(L, err);
    if (!lua_isnoneornil(L, 3) && lua_getfield(L, 3, "hosts") != LUA_TNIL) {
        int t = lua_gettop(L);
        for (lua_Integer i = 1; i <= luaL_len(L, t); i++) {
            lua_geti(L, t, i);
            if (!ns_lan_attach(lan, check_host(L, -1), 0, &err))
                return raise_err(L, err);
            lua_pop(L, 1);
        }
    }
    push_handle(L, 1, lan, T_LAN);
    return 1;
}

/* sim:route(host, "10.0.5.0/24", via): via is a Host or an address on a
 * subnet `host` is connected to.  Makes host's routes static. */
static int sim_route(lua_State *L)
{
    ns_lua_check_sim(L, 1);
    ns_host *h = check_host(L, 2);
    const char *dst = luaL_checkstring(L, 3);
    uint32_t net, gw;
    int prefix;
    if (!ns_addr_parse(dst, &net, &prefix))
        return luaL_argerror(L, 3, lua_pushfstring(L, "malformed subnet '%s'", dst));
    if (luaL_testudata(L, 4, T_HOST)) {
        ns_host *via = check_host(L, 4);
        gw = 0;
        for (size_t i = 0; i < ns_host_n_ifaces(via) && !gw; i++) {
            ns_iface *vi = ns_host_iface(via, i);
            for (size_t j = 0; j < ns_host_n_ifaces(h); j++) {
                ns_iface *hi = ns_host_iface(h, j);
                uint32_t m = hi->prefix ? ~((1u << (32 - hi->prefix)) - 1) : 0;
                if (vi->addr && hi->addr && (vi->addr & m) == (hi->addr & m))
                    gw = vi->addr;
            }
        }
        if (!gw)
            return luaL_argerror(L, 4, lua_pushfstring(L, "host '%s' shares no subnet with '%s'",
                                                       ns_host_name(via), ns_host_name(h)));
    } else {
        gw = check_dst(L, 4);
    }
    ns_iface *out = NULL;
    for (size_t j = 0; j < ns_host_n_ifaces(h) && !out; j++) {
        ns_iface *hi = ns_host_iface(h, j);
        uint32_t m = hi->prefix ? ~((1u << (32 - hi->prefix)) - 1) : 0;
        if (hi->addr && (gw & m) == (hi->addr & m))
            out = hi;
    }
    if (!out)
        return luaL_argerror(L, 4, "the gateway is not on a subnet of the host");
    GError *err = NULL;
    if (!ns_route_add(h, net, prefix, gw, out, &err))
        return raise_err(L, err);
    return 0;
}

static const char *const pcap_options[] = { "host", "iface", "file", NULL };

/* sim:pcap{ host = h, iface = 0 | "eth0", file = "h.pcap" }: captures an
 * interface (or all of h's) into a pcap file under the output folder. */
static int sim_pcap(lua_State *L)
{
    ns_sim *sim = ns_lua_check_sim(L, 1);
    ns_lua_check_options(L, 2, "pcap", pcap_options);
    lua_getfield(L, 2, "host");
    if (lua_isnil(L, -1))
        return ns_lua_opt_error(L, 2, "host", "a host is required");
    ns_host *h = check_host(L, -1);
    const char *file = ns_lua_opt_string(L, 2, 2, "file", NULL);
    lua_getfield(L, 2, "iface");
    int want = -1;
    if (lua_type(L, -1) == LUA_TNUMBER) {
        want = (int)lua_tointeger(L, -1);
    } else if (lua_type(L, -1) == LUA_TSTRING) {
        for (size_t i = 0; i < ns_host_n_ifaces(h); i++)
            if (strcmp(ns_iface_name(ns_host_iface(h, i)), lua_tostring(L, -1)) == 0)
                want = (int)i;
        if (want < 0)
            return ns_lua_opt_error(L, 2, "iface", lua_pushfstring(L, "host '%s' has no interface '%s'",
                                                                     ns_host_name(h), lua_tostring(L, -1)));
    }
    if (want >= (int)ns_host_n_ifaces(h))
        return ns_lua_opt_error(L, 2, "iface", lua_pushfstring(L, "host '%s' has no interface %d",
                                                                 ns_host_name(h), want));
    char *name = file ? g_strdup(file)
               : want >= 0 ? g_strdup_printf("%s-%s.pcap", ns_host_name(h),
                                             ns_iface_name(ns_host_iface(h, (size_t)want)))
                           : g_strdup_printf("%s.pcap", ns_host_name(h));
    GError *err = NULL;
    ns_pcap *pc = ns_pcap_open(sim, name, &err);
    g_free(name);
    if (!pc)
        return raise_err(L, err);
    for (size_t i = 0; i < ns_host_n_ifaces(h); i++)
        if (want < 0 || (size_t)want == i)
            ns_iface_capture(ns_host_iface(h, i), pc);
    return 0;
}

static const char *const diagram_options[] = { "hosts", "file", NULL };

/* sim:diagram{ hosts = { a, b }, file = "handshake" } writes
 * handshake.txt and handshake.mmd: the packets between those hosts. */
static int sim_diagram(lua_State *L)
{
    ns_sim *sim = ns_lua_check_sim(L, 1);
    ns_lua_check_options(L, 2, "diagram", diagram_options);
    const char *file = ns_lua_opt_string(L, 2, 2, "file", "diagram");
    char *base = g_strdup(file);
    if (g_str_has_suffix(base, ".txt") || g_str_has_suffix(base, ".mmd"))
        base[strlen(base) - 4] = '\0';
    lua_pushstring(L, base);
    g_free(base);
    base = (char *)lua_tostring(L, -1);
    if (lua_getfield(L, 2, "hosts") != LUA_TTABLE)
        return ns_lua_opt_error(L, 2, "hosts", "a list of hosts is required");
    int t = lua_gettop(L);
    lua_Integer n = luaL_len(L, t);
    const char **names = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *names, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, t, i);
        names[i - 1] = ns_host_name(check_host(L, -1));
        lua_pop(L, 1);
    }
    names[n] = NULL;
    GError *err = NULL;
    struct ns_net *net = ns__net_get(sim);
    if (net->diagram)
        return luaL_error(L, "a simulation has one diagram");
    ns_diagram *d = ns_diagram_open(sim, base, names, &err);
    if (!d)
        return raise_err(L, err);
    net->diagram = d;
    return 0;
}

/* ==== Host ============================================================ */

static int host_name(lua_State *L)
{
    lua_pushstring(L, ns_host_name(check_host(L, 1)));
    return 1;
}

/* host:addr([i]) -> "10.0.1.1" of interface i (0-based), default the first
 * addressed one; nil when none. */
static int host_addr(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    uint32_t a;
    if (lua_isnoneornil(L, 2)) {
        a = ns_host_addr(h);
    } else {
        lua_Integer i = luaL_checkinteger(L, 2);
        luaL_argcheck(L, i >= 0 && (size_t)i < ns_host_n_ifaces(h), 2, "no such interface");
        a = ns_iface_addr(ns_host_iface(h, (size_t)i));
    }
    if (!a)
        lua_pushnil(L);
    else
        push_addr(L, a);
    return 1;
}

static int host_ifaces(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    lua_newtable(L);
    for (size_t i = 0; i < ns_host_n_ifaces(h); i++) {
        ns_iface *ifc = ns_host_iface(h, i);
        lua_newtable(L);
        lua_pushstring(L, ns_iface_name(ifc));
        lua_setfield(L, -2, "name");
        if (ns_iface_addr(ifc)) {
            char buf[48], a[NS_ADDR_STRLEN];
            g_snprintf(buf, sizeof buf, "%s/%d", ns_addr_format(ns_iface_addr(ifc), a),
                       ns_iface_prefix(ifc));
            lua_pushstring(L, buf);
            lua_setfield(L, -2, "addr");
        }
        const uint8_t *m = ns_iface_mac(ifc);
        char mac[18];                       /* lua_pushfstring has no %02x */
        g_snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
                   m[4], m[5]);
        lua_pushstring(L, mac);
        lua_setfield(L, -2, "mac");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* host:set_mac(i, "02:00:00:00:00:01"): the MAC of interface i (0-based). */
static int host_set_mac(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);
    luaL_argcheck(L, i >= 0 && (size_t)i < ns_host_n_ifaces(h), 2, "no such interface");
    const char *text = luaL_checkstring(L, 3);
    unsigned m[6];
    char tail;
    if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
               &tail) != 6)
        return luaL_argerror(L, 3, lua_pushfstring(L, "malformed MAC address '%s'", text));
    uint8_t mac[6];
    for (int k = 0; k < 6; k++)
        mac[k] = (uint8_t)m[k];
    ns_iface_set_mac(ns_host_iface(h, (size_t)i), mac);
    return 0;
}

static void do_crash(ns_sim *sim, void *arg) { ns_host_crash(arg); }
static void do_restart(ns_sim *sim, void *arg) { ns_host_restart(arg); }

/* host:crash([at]), host:restart([at]) */
static int host_crash(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    at_or_now(L, ns_host_sim(h), 2, do_crash, h);
    return 0;
}

static int host_restart(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    at_or_now(L, ns_host_sim(h), 2, do_restart, h);
    return 0;
}

struct pause_req {
    ns_host  *h;
    ns_time_t dur;
};

static void do_pause(ns_sim *sim, void *arg)
{
    struct pause_req *p = arg;
    ns_host_pause(p->h, p->dur);
    g_free(p);
}

/* host:pause(at, duration): nothing is processed for `duration`. */
static int host_pause(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    ns_time_t at = ns_lua_check_time(L, 2);
    struct pause_req *p = g_new(struct pause_req, 1);
    p->h = h;
    p->dur = ns_lua_check_time(L, 3);
    GError *err = NULL;
    if (!ns_event_at(ns_host_sim(h), at, do_pause, p, 0, &err).slot) {
        g_free(p);
        return raise_err(L, err);
    }
    return 0;
}

static int host_is_up(lua_State *L)
{
    lua_pushboolean(L, ns_host_is_up(check_host(L, 1)));
    return 1;
}

static void push_drops(lua_State *L, const uint64_t *drops)
{
    lua_newtable(L);
    for (int c = 0; c < NS_DROP_NCAUSES; c++) {
        lua_pushinteger(L, (lua_Integer)drops[c]);
        lua_setfield(L, -2, ns_drop_cause_name(c));
    }
}

/* host:stats() -> { tx_pkts, rx_pkts, fwd_pkts, drops = { cause = n } } */
static int host_stats(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    lua_newtable(L);
    lua_pushinteger(L, (lua_Integer)h->stats.tx_pkts);
    lua_setfield(L, -2, "tx_pkts");
    lua_pushinteger(L, (lua_Integer)h->stats.rx_pkts);
    lua_setfield(L, -2, "rx_pkts");
    lua_pushinteger(L, (lua_Integer)h->stats.fwd_pkts);
    lua_setfield(L, -2, "fwd_pkts");
    push_drops(L, h->stats.drops);
    lua_setfield(L, -2, "drops");
    return 1;
}

/* ---- ping ---- */

struct lping {
    ns_sim   *sim;
    ns_host  *h;
    uint32_t  dst;
    uint32_t  size;
    ns_time_t interval;
    uint16_t  count, sent, received;
    int       on_reply;           /* ref or LUA_NOREF */
};

static void ping_free(gpointer p)
{
    struct lping *pg = p;
    ns_lua_unref(pg->sim, pg->on_reply);
    g_free(pg);
}

static void ping_reply(ns_host *h, uint32_t from, uint16_t seq, ns_time_t rtt, void *ud)
{
    struct lping *pg = ud;
    pg->received++;
    if (ns_trace_on(pg->sim, "ping.reply", ns_host_name(h))) {
        char a[NS_ADDR_STRLEN], t[NS_TIME_STRLEN];
        ns_trace_event(pg->sim, "ping.reply", ns_host_name(h), "from=%s seq=%u rtt=%s",
                       ns_addr_format(from, a), seq, ns_time_format(rtt, t));
    }
    lua_State *T = ns_lua_call_begin(pg->sim, pg->on_reply);
    if (!T)
        return;
    lua_pushinteger(T, seq);
    lua_pushnumber(T, ns_time_to_sec(rtt));
    ns_lua_call_end(pg->sim, T, 2);
}

static void ping_send(ns_sim *sim, void *arg)
{
    struct lping *pg = arg;
    if (!ns_host_is_up(pg->h))
        return;
    pg->sent++;
    ns_icmp_ping(pg->h, pg->dst, pg->sent, pg->size, ping_reply, pg);
    if (pg->sent < pg->count)
        ns_event_after(sim, pg->interval, ping_send, pg);
}

static const char *const ping_options[] = { "count", "interval", "size", "at", "on_reply", NULL };

/* host:ping(dst, { count = 1, interval = "1s", size = 56, at = now,
 *                  on_reply = function(seq, rtt_seconds) end }) */
static int host_ping(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    ns_sim *sim = ns_host_sim(h);
    uint32_t dst = check_dst(L, 2);
    if (!lua_isnoneornil(L, 3))
        ns_lua_check_options(L, 3, "ping", ping_options);
    lua_Integer count = ns_lua_opt_integer(L, 3, 3, "count", 1);
    if (count < 1 || count > 65535)
        return ns_lua_opt_error(L, 3, "count", "must be in [1, 65535]");
    struct lping *pg = g_new0(struct lping, 1);
    pg->sim = sim;
    pg->h = h;
    pg->dst = dst;
    pg->count = (uint16_t)count;
    pg->interval = ns_lua_opt_time(L, 3, 3, "interval", NS_SEC);
    pg->size = (uint32_t)ns_lua_opt_size(L, 3, 3, "size", 56);
    pg->on_reply = LUA_NOREF;
    ns_time_t at = ns_lua_opt_time(L, 3, 3, "at", ns_sim_now(sim));
    if (!lua_isnoneornil(L, 3) && lua_getfield(L, 3, "on_reply") != LUA_TNIL)
        pg->on_reply = ns_lua_ref_function(L, lua_gettop(L));
    /* The ping lives as long as the sim: replies may come late. */
    GPtrArray *pings = ns_sim_attached(sim, "lua.pings");
    if (!pings) {
        pings = g_ptr_array_new_with_free_func(ping_free);
        ns_sim_attach(sim, "lua.pings", pings, (GDestroyNotify)g_ptr_array_unref);
    }
    g_ptr_array_add(pings, pg);
    GError *err = NULL;
    if (!ns_event_at(sim, at, ping_send, pg, 0, &err).slot)
        return raise_err(L, err);
    return 0;
}

/* host:udp([port]) -> netsim.Udp bound to port (0/nil: ephemeral) */
static int host_udp(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    lua_Integer port = luaL_optinteger(L, 2, 0);
    luaL_argcheck(L, port >= 0 && port <= 65535, 2, "port must be in [0, 65535]");
    GError *err = NULL;
    ns_udp *s = ns_udp_bind(h, (uint16_t)port, &err);
    if (!s)
        return raise_err(L, err);
    ns_lua_push_handle_sim(L, 1);
    struct ludp *u = ns_lua_new_handle(L, -1, sizeof *u, T_UDP);
    u->sock = s;
    u->sim = ns_host_sim(h);
    u->on_receive = LUA_NOREF;
    u->self = LUA_NOREF;
    return 1;
}

static int host_tostring(lua_State *L)
{
    struct lhandle *hd = luaL_checkudata(L, 1, T_HOST);
    lua_pushfstring(L, "netsim.Host(%s)", ns_host_name(hd->obj));
    return 1;
}

/* ==== Link ============================================================ */

struct link_change {
    ns_link  *l;
    int       kind;              /* 0 down, 1 up */
};

static void do_link_state(ns_sim *sim, void *arg)
{
    struct link_change *c = arg;
    ns_link_set_up(c->l, c->kind == 1);
    g_free(c);
}

static int link_state(lua_State *L, int kind)
{
    ns_link *l = check_link(L, 1);
    struct link_change *c = g_new(struct link_change, 1);
    c->l = l;
    c->kind = kind;
    ns_lua_push_handle_sim(L, 1);
    ns_sim *sim = ns_lua_check_sim(L, -1);
    lua_pop(L, 1);
    if (lua_isnoneornil(L, 2)) {
        do_link_state(sim, c);
        return 0;
    }
    GError *err = NULL;
    if (!ns_event_at(sim, ns_lua_check_time(L, 2), do_link_state, c, 0, &err).slot) {
        g_free(c);
        return raise_err(L, err);
    }
    return 0;
}

/* link:down([at]) / link:up([at]) */
static int link_down(lua_State *L) { return link_state(L, 0); }
static int link_up(lua_State *L) { return link_state(L, 1); }

static int check_dir(lua_State *L, int idx, ns_link *l)
{
    if (lua_isnoneornil(L, idx))
        return -1;
    if (lua_type(L, idx) == LUA_TNUMBER)
        return (int)luaL_checkinteger(L, idx) & 1;
    const char *s = luaL_checkstring(L, idx);
    char *fwd = g_strdup_printf("%s>%s", ns_host_name(ns_link_host(l, 0)), ns_host_name(ns_link_host(l, 1)));
    char *rev = g_strdup_printf("%s>%s", ns_host_name(ns_link_host(l, 1)), ns_host_name(ns_link_host(l, 0)));
    int d = strcmp(s, fwd) == 0 ? 0 : strcmp(s, rev) == 0 ? 1 : -2;
    lua_pushfstring(L, "direction '%s' is neither '%s' nor '%s'", s, fwd, rev);
    g_free(fwd);
    g_free(rev);
    if (d == -2)
        luaL_argerror(L, idx, lua_tostring(L, -1));
    lua_pop(L, 1);
    return d;
}

/* link:set_rate(rate [, dir]), link:set_delay(t [, dir]),
 * link:set_loss(p [, dir]); dir: "a>b", "b>a" (default both) */
static int link_set_rate(lua_State *L)
{
    ns_link *l = check_link(L, 1);
    GError *err = NULL;
    if (!ns_link_set_rate(l, check_dir(L, 3, l), ns_lua_check_rate(L, 2), &err))
        return raise_err(L, err);
    return 0;
}

static int link_set_delay(lua_State *L)
{
    ns_link *l = check_link(L, 1);
    GError *err = NULL;
    if (!ns_link_set_delay(l, check_dir(L, 3, l), ns_lua_check_time(L, 2), &err))
        return raise_err(L, err);
    return 0;
}

static int link_set_loss(lua_State *L)
{
    ns_link *l = check_link(L, 1);
    GError *err = NULL;
    if (!ns_link_set_loss(l, check_dir(L, 3, l), luaL_checknumber(L, 2), &err))
        return raise_err(L, err);
    return 0;
}

/* Built-in packet matchers for scripted drops. */
static bool match_kind(const ns_pkt *p, void *ud)
{
    const char *k = ud;
    if (strcmp(k, "any") == 0)
        return true;
    if (p->ethertype == NS_ETHERTYPE_ARP)
        return strcmp(k, "arp") == 0;
    uint8_t proto = ns_ip_proto(p);
    if (strcmp(k, "udp") == 0)
        return proto == NS_IPPROTO_UDP;
    if (strcmp(k, "icmp") == 0)
        return proto == NS_IPPROTO_ICMP;
    if (proto != NS_IPPROTO_TCP)
        return false;
    uint8_t f = ns_pkt_cl4(p)[13];              /* TCP flags */
    bool syn = f & 0x02, ack = f & 0x10, fin = f & 0x01, rst = f & 0x04;
    if (strcmp(k, "tcp") == 0) return true;
    if (strcmp(k, "syn") == 0) return syn && !ack;
    if (strcmp(k, "synack") == 0) return syn && ack;
    if (strcmp(k, "fin") == 0) return fin;
    if (strcmp(k, "rst") == 0) return rst;
    if (strcmp(k, "data") == 0) return p->payload_len > 0;
    if (strcmp(k, "ack") == 0) return ack && !syn && !fin && p->payload_len == 0;
    return false;
}

static const char *const match_names[] = {
    "any", "arp", "udp", "icmp", "tcp", "syn", "synack", "fin", "rst", "data", "ack", NULL
};

static const char *const gilbert_options[] = { "p_gb", "p_bg", "good", "bad", "dir", NULL };

/* link:gilbert{ p_gb = 0.01, p_bg = 0.3, good = 0, bad = 1, dir = "a>b" }:
 * bursty loss (Gilbert-Elliott): the chain moves good->bad with p_gb and
 * bad->good with p_bg per packet, losing with `good` / `bad` in each. */
static int link_gilbert(lua_State *L)
{
    ns_link *l = check_link(L, 1);
    ns_lua_check_options(L, 2, "gilbert", gilbert_options);
    double p_gb = ns_lua_opt_number(L, 2, 2, "p_gb", -1);
    double p_bg = ns_lua_opt_number(L, 2, 2, "p_bg", -1);
    if (p_gb < 0 || p_bg < 0)
        return ns_lua_opt_error(L, 2, p_gb < 0 ? "p_gb" : "p_bg", "is required");
    double good = ns_lua_opt_number(L, 2, 2, "good", 0);
    double bad = ns_lua_opt_number(L, 2, 2, "bad", 1);
    lua_getfield(L, 2, "dir");
    int dir = check_dir(L, lua_gettop(L), l);
    for (int d = 0; d < 2; d++) {
        if (dir >= 0 && dir != d)
            continue;
        GError *err = NULL;
        ns_loss *loss = ns_loss_gilbert(p_gb, p_bg, good, bad, &err);
        if (!loss) {
            g_prefix_error(&err, "link '%s': ", ns_link_name(l));
            return raise_err(L, err);
        }
        ns_link_add_loss(l, d, loss);
    }
    return 0;
}

static const char *const drop_options[] = { "match", "nth", "count", "every", "dir", NULL };

/* link:drop{ match = "synack", nth = 1, count = 1, every = false,
 *            dir = "a>b" }: drops exactly the chosen packets. */
static int link_drop(lua_State *L)
{
    ns_link *l = check_link(L, 1);
    ns_lua_check_options(L, 2, "drop", drop_options);
    const char *match = ns_lua_opt_string(L, 2, 2, "match", "any");
    int mi = -1;
    for (int i = 0; match_names[i]; i++)
        if (strcmp(match, match_names[i]) == 0)
            mi = i;
    if (mi < 0)
        return ns_lua_opt_error(L, 2, "match", lua_pushfstring(L,
            "unknown packet kind '%s' (any, arp, udp, icmp, tcp, syn, synack, fin, rst, data, ack)",
            match));
    lua_Integer nth = ns_lua_opt_integer(L, 2, 2, "nth", 1);
    lua_Integer count = ns_lua_opt_integer(L, 2, 2, "count", 1);
    bool every = ns_lua_opt_bool(L, 2, 2, "every", false);
    if (nth < 1 || count < 1)
        return ns_lua_opt_error(L, 2, nth < 1 ? "nth" : "count", "must be >= 1");
    lua_getfield(L, 2, "dir");
    int dir = check_dir(L, lua_gettop(L), l);
    for (int d = 0; d < 2; d++)
        if (dir < 0 || dir == d)
            ns_link_add_loss(l, d, ns_loss_script(match_kind, (void *)match_names[mi], NULL,
                                                  (uint64_t)nth, (uint64_t)count, every));
    return 0;
}

static void push_link_stats(lua_State *L, const struct ns_link_stats *st)
{
    lua_newtable(L);
    lua_pushinteger(L, (lua_Integer)st->tx_pkts);
    lua_setfield(L, -2, "tx_pkts");
    lua_pushinteger(L, (lua_Integer)st->tx_bytes);
    lua_setfield(L, -2, "tx_bytes");
    lua_pushinteger(L, (lua_Integer)st->rx_pkts);
    lua_setfield(L, -2, "rx_pkts");
    lua_pushinteger(L, (lua_Integer)st->rx_bytes);
    lua_setfield(L, -2, "rx_bytes");
    push_drops(L, st->drops);
    lua_setfield(L, -2, "drops");
}

/* link:stats([dir]) -> counters of a direction ("a>b"; default a>b) */
static int link_stats(lua_State *L)
{
    ns_link *l = check_link(L, 1);
    int d = check_dir(L, 2, l);
    push_link_stats(L, ns_link_stats(l, d < 0 ? 0 : d));
    return 1;
}

static int link_queue_len(lua_State *L)
{
    ns_link *l = check_link(L, 1);
    int d = check_dir(L, 2, l);
    lua_pushinteger(L, (lua_Integer)ns_queue_len_pkts(ns_link_queue(l, d < 0 ? 0 : d)));
    return 1;
}

static int link_name(lua_State *L)
{
    lua_pushstring(L, ns_link_name(check_link(L, 1)));
    return 1;
}

static int link_tostring(lua_State *L)
{
    struct lhandle *hd = luaL_checkudata(L, 1, T_LINK);
    lua_pushfstring(L, "netsim.Link(%s)", ns_link_name(hd->obj));
    return 1;
}

/* ==== Lan ============================================================= */

/* lan:attach(host [, "10.1.0.7" | false]) -> address string or nil;
 * false leaves the interface at 0.0.0.0 (for DHCP). */
static int lan_attach(lua_State *L)
{
    ns_lan *lan = check_lan(L, 1);
    ns_host *h = check_host(L, 2);
    uint32_t addr = 0;
    if (lua_type(L, 3) == LUA_TBOOLEAN && !lua_toboolean(L, 3))
        addr = NS_LAN_NO_ADDR;
    else if (!lua_isnoneornil(L, 3))
        addr = check_dst(L, 3);
    GError *err = NULL;
    ns_iface *ifc = ns_lan_attach(lan, h, addr, &err);
    if (!ifc)
        return raise_err(L, err);
    if (ns_iface_addr(ifc))
        push_addr(L, ns_iface_addr(ifc));
    else
        lua_pushnil(L);
    return 1;
}

static int lan_tostring(lua_State *L)
{
    struct lhandle *hd = luaL_checkudata(L, 1, T_LAN);
    lua_pushfstring(L, "netsim.Lan(%s)", ns_lan_name(hd->obj));
    return 1;
}

/* ==== Udp ============================================================= */

static struct ludp *check_udp(lua_State *L, int idx)
{
    struct ludp *u = ns_lua_check_handle(L, idx, T_UDP);
    if (!u->sock)
        luaL_error(L, "attempt to use a closed UDP socket");
    return u;
}

static void udp_received(ns_udp *s, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    struct ludp *u = ud;
    lua_State *T = ns_lua_call_begin(u->sim, u->on_receive);
    if (!T)
        return;
    if (p->payload) {
        luaL_Buffer b;
        char *mem = luaL_buffinitsize(T, &b, p->payload_len);
        ns_pkt_copy_payload(p, 0, p->payload_len, (uint8_t *)mem);
        luaL_pushresultsize(&b, p->payload_len);
    } else {
        lua_pushinteger(T, p->payload_len);
    }
    push_addr(T, src);
    lua_pushinteger(T, sport);
    ns_lua_call_end(u->sim, T, 3);
}

/* u:on_receive(function(data, from_addr, from_port) end): data is the
 * string sent, or its length for length-only payloads. */
static int udp_on_receive(lua_State *L)
{
    struct ludp *u = check_udp(L, 1);
    int ref = ns_lua_ref_function(L, 2);
    ns_lua_unref(u->sim, u->on_receive);
    u->on_receive = ref;
    if (u->self == LUA_NOREF) {
        lua_pushvalue(L, 1);
        u->self = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    ns_udp_on_receive(u->sock, udp_received, u);
    return 0;
}

/* u:send(dst, port, n_or_string) -> true, or false when unroutable */
static int udp_send(lua_State *L)
{
    struct ludp *u = check_udp(L, 1);
    uint32_t dst = lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "broadcast") == 0
                 ? NS_IP_BROADCAST : check_dst(L, 2);
    lua_Integer port = luaL_checkinteger(L, 3);
    luaL_argcheck(L, port >= 1 && port <= 65535, 3, "port must be in [1, 65535]");
    bool ok;
    if (lua_type(L, 4) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, 4, &len);
        luaL_argcheck(L, len <= 65507, 4, "datagram larger than 65507 bytes");
        ok = ns_udp_send(u->sock, dst, (uint16_t)port, s, (uint32_t)len);
    } else {
        double n = ns_lua_check_size(L, 4);
        luaL_argcheck(L, n <= 65507, 4, "datagram larger than 65507 bytes");
        ok = ns_udp_send(u->sock, dst, (uint16_t)port, NULL, (uint32_t)n);
    }
    lua_pushboolean(L, ok);
    return 1;
}

static const char *const traffic_options[] = {
    "to", "port", "size", "rate", "pps", "start", "stop", "count", "on", "off", NULL
};

/* u:cbr{ to = h, port = 9, size = 200, rate = "1Mbps" | pps = 100,
 *        start = 0, stop = "10s", count = n }, same for u:poisson and
 * u:onoff (with on = "1s", off = "1s": mean period lengths). */
static int start_traffic(lua_State *L, enum ns_traffic_kind kind, const char *fname)
{
    struct ludp *u = check_udp(L, 1);
    ns_lua_check_options(L, 2, fname, traffic_options);
    struct ns_traffic_opts o = { .kind = kind };
    lua_getfield(L, 2, "to");
    if (lua_isnil(L, -1))
        return ns_lua_opt_error(L, 2, "to", "a destination is required");
    o.dst = check_dst(L, lua_gettop(L));
    lua_Integer port = ns_lua_opt_integer(L, 2, 2, "port", 9);
    if (port < 1 || port > 65535)
        return ns_lua_opt_error(L, 2, "port", "must be in [1, 65535]");
    o.dport = (uint16_t)port;
    o.size = (uint32_t)ns_lua_opt_size(L, 2, 2, "size", 512);
    double rate = ns_lua_opt_rate(L, 2, 2, "rate", 0);
    double pps = ns_lua_opt_number(L, 2, 2, "pps", 0);
    if ((rate > 0) == (pps > 0))
        return ns_lua_opt_error(L, 2, "rate", "give either rate (bit/s) or pps (packets/s)");
    o.pkts_per_s = pps > 0 ? pps : rate / (8.0 * (o.size ? o.size : 1));
    o.start = ns_lua_opt_time(L, 2, 2, "start", ns_sim_now(u->sim));
    o.stop = ns_lua_opt_time(L, 2, 2, "stop", NS_TIME_MAX);
    o.count = (uint64_t)ns_lua_opt_integer(L, 2, 2, "count", 0);
    o.mean_on = ns_lua_opt_time(L, 2, 2, "on", NS_SEC);
    o.mean_off = ns_lua_opt_time(L, 2, 2, "off", NS_SEC);
    GError *err = NULL;
    if (!ns_traffic_start(u->sock, &o, &err))
        return raise_err(L, err);
    return 0;
}

static int udp_cbr(lua_State *L) { return start_traffic(L, NS_TRAFFIC_CBR, "cbr"); }
static int udp_poisson(lua_State *L) { return start_traffic(L, NS_TRAFFIC_POISSON, "poisson"); }
static int udp_onoff(lua_State *L) { return start_traffic(L, NS_TRAFFIC_ONOFF, "onoff"); }

static int udp_port(lua_State *L)
{
    lua_pushinteger(L, ns_udp_port(check_udp(L, 1)->sock));
    return 1;
}

static int udp_close(lua_State *L)
{
    struct ludp *u = ns_lua_check_handle(L, 1, T_UDP);
    if (u->sock) {
        ns_udp_close(u->sock);
        u->sock = NULL;
        ns_lua_unref(u->sim, u->on_receive);
        u->on_receive = LUA_NOREF;
        ns_lua_unref(u->sim, u->self);
        u->self = LUA_NOREF;
    }
    return 0;
}

static int udp_tostring(lua_State *L)
{
    struct ludp *u = luaL_checkudata(L, 1, T_UDP);
    if (u->sock)
        lua_pushfstring(L, "netsim.Udp(%s:%d)", ns_host_name(ns_udp_host(u->sock)),
                        (int)ns_udp_port(u->sock));
    else
        lua_pushliteral(L, "netsim.Udp(closed)");
    return 1;
}

/* ==== registration ==================================================== */

static const luaL_Reg sim_methods[] = {
    { "host", sim_host }, { "router", sim_router }, { "host_named", sim_host_named },
    { "hosts", sim_hosts }, { "link", sim_link }, { "lan", sim_lan }, { "route", sim_route },
    { "pcap", sim_pcap }, { "diagram", sim_diagram }, { NULL, NULL }
};

static const luaL_Reg host_methods[] = {
    { "name", host_name }, { "addr", host_addr }, { "ifaces", host_ifaces },
    { "set_mac", host_set_mac },
    { "udp", host_udp }, { "ping", host_ping }, { "crash", host_crash },
    { "restart", host_restart }, { "pause", host_pause }, { "is_up", host_is_up },
    { "stats", host_stats }, { "__tostring", host_tostring }, { NULL, NULL }
};

static const luaL_Reg link_methods[] = {
    { "name", link_name }, { "down", link_down }, { "up", link_up },
    { "set_rate", link_set_rate }, { "set_delay", link_set_delay },
    { "set_loss", link_set_loss }, { "drop", link_drop }, { "gilbert", link_gilbert },
    { "stats", link_stats },
    { "queue_len", link_queue_len }, { "__tostring", link_tostring }, { NULL, NULL }
};

static const luaL_Reg lan_methods[] = {
    { "attach", lan_attach }, { "__tostring", lan_tostring }, { NULL, NULL }
};

static const luaL_Reg udp_methods[] = {
    { "on_receive", udp_on_receive }, { "send", udp_send }, { "cbr", udp_cbr },
    { "poisson", udp_poisson }, { "onoff", udp_onoff }, { "port", udp_port },
    { "close", udp_close }, { "__tostring", udp_tostring }, { NULL, NULL }
};

static void new_type(lua_State *L, const char *tname, const luaL_Reg *methods)
{
    luaL_newmetatable(L, tname);
    luaL_setfuncs(L, methods, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

/* Called by the front door (sim/lua/netsim.c) with nothing on the stack. */
void ns_lua_open_net(lua_State *L);
void ns_lua_open_net(lua_State *L)
{
    new_type(L, T_HOST, host_methods);
    new_type(L, T_LINK, link_methods);
    new_type(L, T_LAN, lan_methods);
    new_type(L, T_UDP, udp_methods);
    luaL_getmetatable(L, "netsim.Sim");
    luaL_setfuncs(L, sim_methods, 0);
    lua_pop(L, 1);
}
