/* lua_udp.c — netsim.Udp: host:udp(port), sending, receiving, and the
 * traffic generators.
 *
 * Invariant: while a socket is open and has a receive callback, its
 * userdata is held by a registry reference, because the C socket points
 * at it; closing the socket releases both references. */
#include <stdio.h>
#include <string.h>

#include "lua_net_priv.h"
#include "netsim/traffic.h"
#include "netsim/udp.h"

struct ludp {                    /* Udp */
    ns_udp *sock;                /* NULL once closed */
    ns_sim *sim;
    int     on_receive;          /* registry ref or LUA_NOREF */
    int     self;                /* ref keeping this userdata alive while
                                    the C socket points at it */
};

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
    ns_lua_replace_callback(L, 2, u->sim, &u->on_receive);
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


static const luaL_Reg udp_methods[] = {
    { "on_receive", udp_on_receive }, { "send", udp_send }, { "cbr", udp_cbr },
    { "poisson", udp_poisson }, { "onoff", udp_onoff }, { "port", udp_port },
    { "close", udp_close }, { "__tostring", udp_tostring }, { NULL, NULL }
};

void ns__lua_udp_open(lua_State *L)
{
    ns_lua_new_type(L, T_UDP, udp_methods);
    luaL_getmetatable(L, T_HOST);
    lua_pushcfunction(L, host_udp);
    lua_setfield(L, -2, "udp");
    lua_pop(L, 1);
}
