/* lua_host.c — netsim.Host: names and addresses, faults (crash, restart,
 * pause) at a time, counters, and ping.
 *
 * Invariant: a ping's reply callback is a registry reference kept with
 * the ping until the sim is freed (replies may come late). */
#include <stdio.h>
#include <string.h>

#include "lua_net_priv.h"
#include "netsim/icmp.h"

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
    /* every argument is checked before the request is allocated: a bad
     * one raises a Lua error (a longjmp) that would leak it */
    ns_time_t dur = ns_lua_check_time(L, 3);
    struct pause_req *p = g_new(struct pause_req, 1);
    p->h = h;
    p->dur = dur;
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

static int host_tostring(lua_State *L)
{
    struct lhandle *hd = luaL_checkudata(L, 1, T_HOST);
    lua_pushfstring(L, "netsim.Host(%s)", ns_host_name(hd->obj));
    return 1;
}

static const luaL_Reg host_methods[] = {
    { "name", host_name }, { "addr", host_addr }, { "ifaces", host_ifaces },
    { "set_mac", host_set_mac }, { "ping", host_ping }, { "crash", host_crash },
    { "restart", host_restart }, { "pause", host_pause }, { "is_up", host_is_up },
    { "stats", host_stats }, { "__tostring", host_tostring }, { NULL, NULL }
};

void ns__lua_host_open(lua_State *L)
{
    ns_lua_new_type(L, T_HOST, host_methods);
}
