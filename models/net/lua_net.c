/* lua_net.c — the network layer from Lua: the Sim methods that build
 * topologies (host, router, link, lan, route) and choose what users see
 * (pcap, diagram), netsim.Lan, and the handle helpers every network
 * binding file uses (lua_net_priv.h).
 *
 * Invariants: the C objects belong to the sim; a handle is userdata tied
 * to its Sim (uservalue 1), and one handle exists per object at a time
 * (a weak cache), so handles compare equal and serve as table keys.
 */
#include <stdio.h>
#include <string.h>

#include "lua_net_priv.h"
#include "netsim/diagram.h"
#include "netsim/pcap.h"

static const char CACHE_KEY = 'c';

/* Pushes the one handle of obj, creating it (tied to the Sim at sim_idx)
 * when none is alive. */
void ns__lua_net_push_handle(lua_State *L, int sim_idx, void *obj, const char *tname)
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

ns_link *ns__lua_check_link(lua_State *L, int idx)
{
    return ((struct lhandle *)ns_lua_check_handle(L, idx, T_LINK))->obj;
}

static ns_lan *check_lan(lua_State *L, int idx)
{
    return ((struct lhandle *)ns_lua_check_handle(L, idx, T_LAN))->obj;
}

int ns__lua_net_raise(lua_State *L, GError *err)
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

void ns__lua_push_addr(lua_State *L, uint32_t a)
{
    char buf[NS_ADDR_STRLEN];
    lua_pushstring(L, ns_addr_format(a, buf));
}

/* Runs fn(sim, arg) at `at` (absolute, now when nil) on behalf of Lua. */
void ns__lua_at_or_now(lua_State *L, ns_sim *sim, int idx, ns_event_fn fn, void *arg)
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

void ns__lua_push_drops(lua_State *L, const uint64_t *drops)
{
    lua_newtable(L);
    for (int c = 0; c < NS_DROP_NCAUSES; c++) {
        lua_pushinteger(L, (lua_Integer)drops[c]);
        lua_setfield(L, -2, ns_drop_cause_name(c));
    }
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
    "rate", "delay", "queue", "subnet", "arp", "hosts", "loss", NULL
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
        o.loss = ns_lua_opt_number(L, 3, 3, "loss", 0);
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

static const char *const diagram_options[] = { "hosts", "file", "packets", NULL };

/* sim:diagram{ hosts = { a, b }, file = "handshake" } writes
 * handshake.txt and handshake.mmd: the packets between those hosts, or the
 * application messages (TLS flights) they carry; packets = true draws
 * both, packets = false never the packets. */
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
    enum ns_diagram_packets show = NS_DIAGRAM_PACKETS_AUTO;
    if (lua_getfield(L, 2, "packets") != LUA_TNIL)
        show = ns_lua_opt_bool(L, 2, 2, "packets", false) ? NS_DIAGRAM_PACKETS_SHOW
                                                          : NS_DIAGRAM_PACKETS_HIDE;
    lua_pop(L, 1);
    ns_diagram *d = ns_net_open_diagram(sim, base, names, &err);
    if (!d)
        return raise_err(L, err);
    ns_diagram_show_packets(d, show);
    return 0;
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

/* ==== registration ==================================================== */

static const luaL_Reg sim_methods[] = {
    { "host", sim_host }, { "router", sim_router }, { "host_named", sim_host_named },
    { "hosts", sim_hosts }, { "link", sim_link }, { "lan", sim_lan }, { "route", sim_route },
    { "pcap", sim_pcap }, { "diagram", sim_diagram }, { NULL, NULL }
};

static const luaL_Reg lan_methods[] = {
    { "attach", lan_attach }, { "__tostring", lan_tostring }, { NULL, NULL }
};

/* Called by the front door (sim/lua/netsim.c) with nothing on the stack. */
void ns_lua_open_net(lua_State *L)
{
    ns__lua_host_open(L);
    ns__lua_link_open(L);
    ns__lua_udp_open(L);
    ns_lua_new_type(L, T_LAN, lan_methods);
    luaL_getmetatable(L, "netsim.Sim");
    luaL_setfuncs(L, sim_methods, 0);
    lua_pop(L, 1);
}
