/* lua_dhcp.c — DHCP from Lua: host:dhcp_client{...}, host:dhcp_server{...},
 * host:dhcp_relay{...}, host:on_bound(fn), sim:dhcp_trace{...}, and the
 * netsim.DhcpClient and netsim.DhcpServer handles.
 *
 * Invariants: the C objects belong to their hosts; a client's Lua
 * callbacks are registry references held by its record (sim-attached),
 * released when the sim is freed, so callbacks never outlive the sim. */
#include <stdlib.h>
#include <string.h>

#include "netsim/dhcp.h"
#include "netsim/event.h"
#include "netsim/lan.h"
#include "netsim/luabind.h"
#include "netsim/pkt.h"

#define T_HOST   "netsim.Host"
#define T_CLIENT "netsim.DhcpClient"
#define T_SERVER "netsim.DhcpServer"
#define LIST_KEY "lua.dhcp"

struct handle { void *obj; };

/* The Lua side of a client. */
struct lclient {
    ns_sim         *sim;
    ns_dhcp_client *c;
    GArray         *on_bound;     /* int refs */
    int             on_state;     /* ref or LUA_NOREF */
    uint32_t        prefer;       /* server address to prefer, 0: first */
    int             choose;       /* choose(offers) ref or LUA_NOREF */
};

static void lclient_free(gpointer p)
{
    struct lclient *lc = p;
    for (guint i = 0; i < lc->on_bound->len; i++)
        ns_lua_unref(lc->sim, g_array_index(lc->on_bound, int, i));
    g_array_free(lc->on_bound, TRUE);
    ns_lua_unref(lc->sim, lc->on_state);
    ns_lua_unref(lc->sim, lc->choose);
    g_free(lc);
}

static GHashTable *clients(ns_sim *sim)   /* ns_dhcp_client* -> lclient */
{
    GHashTable *t = ns_sim_attached(sim, LIST_KEY);
    if (!t) {
        t = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, lclient_free);
        ns_sim_attach(sim, LIST_KEY, t, (GDestroyNotify)g_hash_table_unref);
    }
    return t;
}

static ns_host *check_host(lua_State *L, int idx)
{
    return ((struct handle *)ns_lua_check_handle(L, idx, T_HOST))->obj;
}

static uint32_t check_addr(lua_State *L, int idx, int arg, const char *key)
{
    if (lua_type(L, idx) == LUA_TSTRING) {
        uint32_t a;
        if (!ns_addr_parse(lua_tostring(L, idx), &a, NULL))
            ns_lua_opt_error(L, arg, key, lua_pushfstring(L, "malformed IPv4 address '%s'",
                                                          lua_tostring(L, idx)));
        return a;
    }
    if (luaL_testudata(L, idx, T_HOST)) {
        ns_host *h = check_host(L, idx);
        if (ns_host_addr(h))
            return ns_host_addr(h);
        ns_lua_opt_error(L, arg, key, lua_pushfstring(L, "host '%s' has no address",
                                                      ns_host_name(h)));
    }
    ns_lua_opt_error(L, arg, key, "netsim.Host or address expected");
    return 0;
}

/* An optional address option; 0 when absent. */
static uint32_t opt_addr(lua_State *L, int tbl, int arg, const char *key)
{
    uint32_t a = 0;
    if (lua_getfield(L, tbl, key) != LUA_TNIL)
        a = check_addr(L, lua_gettop(L), arg, key);
    lua_pop(L, 1);
    return a;
}

static int opt_ref(lua_State *L, int tbl, const char *key)
{
    int ref = LUA_NOREF;
    int t = lua_getfield(L, tbl, key);
    if (t != LUA_TNIL && t != LUA_TFUNCTION)
        ns_lua_opt_error(L, tbl, key, lua_pushfstring(L, "a function expected, got %s",
                                                      lua_typename(L, t)));
    if (t != LUA_TNIL)
        ref = ns_lua_ref_function(L, lua_gettop(L));
    lua_pop(L, 1);
    return ref;
}

/* ==== client ========================================================== */

static ns_iface *lan_iface(ns_host *h)
{
    ns_sim *sim = ns_host_sim(h);
    for (size_t i = 0; i < ns_lan_count(sim); i++) {
        ns_lan *lan = ns_lan_nth(sim, i);
        for (size_t j = 0; j < ns_lan_n_ports(lan); j++) {
            ns_iface *ifc = ns_lan_port_iface(lan, j);
            if (ns_iface_host(ifc) == h)
                return ifc;
        }
    }
    return NULL;
}

static void push_addr(lua_State *L, uint32_t a)
{
    char buf[NS_ADDR_STRLEN];
    if (a)
        lua_pushstring(L, ns_addr_format(a, buf));
    else
        lua_pushnil(L);
}

static void state_changed(ns_dhcp_client *c, enum ns_dhcp_state from, enum ns_dhcp_state to,
                          void *ud)
{
    struct lclient *lc = ud;
    lua_State *T = ns_lua_call_begin(lc->sim, lc->on_state);
    if (T) {
        lua_pushstring(T, ns_dhcp_state_name(from));
        lua_pushstring(T, ns_dhcp_state_name(to));
        ns_lua_call_end(lc->sim, T, 2);
    }
    /* on_bound: on entering BOUND from anything but a renewal */
    if (to != NS_DHCP_BOUND || from == NS_DHCP_RENEWING || from == NS_DHCP_REBINDING)
        return;
    for (guint i = 0; i < lc->on_bound->len; i++) {
        T = ns_lua_call_begin(lc->sim, g_array_index(lc->on_bound, int, i));
        if (!T)
            return;
        push_addr(T, ns_dhcp_client_addr(c));
        ns_lua_call_end(lc->sim, T, 1);
    }
}

/* An OFFER as the Lua chooser sees it. */
static void push_offer(lua_State *L, const struct ns_dhcp_msg *m)
{
    lua_createtable(L, 0, 6);
    push_addr(L, m->server_id);
    lua_setfield(L, -2, "server");
    push_addr(L, m->yiaddr);
    lua_setfield(L, -2, "addr");
    lua_pushinteger(L, m->lease_s);
    lua_setfield(L, -2, "lease");
    push_addr(L, m->router);
    lua_setfield(L, -2, "router");
    push_addr(L, m->dns);
    lua_setfield(L, -2, "dns");
    push_addr(L, m->mask);
    lua_setfield(L, -2, "mask");
}

/* Runs choose(offers) (upvalue-free: the function is argument 1, the
 * offers argument 2) and checks its answer, so that a bad one is an error
 * naming where the function was written. */
static int call_choose(lua_State *L)
{
    lua_Integer n = (lua_Integer)luaL_len(L, 2);
    lua_Debug ar;
    lua_pushvalue(L, 1);
    lua_getinfo(L, ">S", &ar);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1))
        return 1;
    int isint = 0;
    lua_Integer i = lua_tointegerx(L, -1, &isint);
    if (!isint || i < 1 || i > n)
        return luaL_error(L, "%s:%d: dhcp_client choose returned %s, not an offer index "
                          "(1 to %d) or nil", ar.short_src, ar.linedefined,
                          luaL_tolstring(L, -1, NULL), (int)n);
    return 1;
}

/* The Lua policy's answer when the window closes: the index (0-based) of
 * the offer choose() picked, -1 for none. */
static int lua_choice(struct lclient *lc, const struct ns_dhcp_msg *offers, size_t n)
{
    lua_State *T = ns_lua_call_begin(lc->sim, lc->choose);
    if (!T)
        return -1;
    lua_pushcfunction(T, call_choose);
    lua_insert(T, -2);
    lua_createtable(T, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        push_offer(T, &offers[i]);
        lua_rawseti(T, -2, (lua_Integer)i + 1);
    }
    if (!ns_lua_call_results(lc->sim, T, 2, 1))
        return -1;
    int idx = lua_isnil(T, -1) ? -1 : (int)lua_tointeger(T, -1) - 1;
    lua_pop(T, 1);
    return idx;
}

/* prefer = server: its OFFER is taken as soon as it comes within the
 * selecting window; when the window closes without it, choose(offers)
 * decides if given, else the first OFFER that came.  choose alone: the
 * client waits for the window to close, then asks. */
static int choose_offer(ns_dhcp_client *c, const struct ns_dhcp_msg *offers, size_t n,
                        bool closing, void *ud)
{
    (void)c;
    struct lclient *lc = ud;
    for (size_t i = 0; lc->prefer && i < n; i++)
        if (offers[i].server_id == lc->prefer)
            return (int)i;
    if (!closing)
        return -1;
    if (lc->choose != LUA_NOREF)
        return lua_choice(lc, offers, n);
    return 0;
}

/* client_id = "mac": option 61 is type 1 (Ethernet) and the MAC, as many
 * clients send; any other string: type 0 and its bytes (RFC 2132 9.14). */
static void opt_client_id(lua_State *L, ns_iface *ifc, struct ns_dhcp_client_opts *o)
{
    size_t len = 0;
    const char *id = ns_lua_opt_string(L, 2, 2, "client_id", NULL);
    if (!id)
        return;
    len = strlen(id);
    if (strcmp(id, "mac") == 0) {
        o->client_id[0] = 1;
        memcpy(o->client_id + 1, ns_iface_mac(ifc), 6);
        o->client_id_len = 7;
        return;
    }
    if (len < 1 || len > NS_DHCP_CLIENT_ID_MAX - 1)
        ns_lua_opt_error(L, 2, "client_id",
                         lua_pushfstring(L, "'%s' is not 1 to %d bytes long", id,
                                         NS_DHCP_CLIENT_ID_MAX - 1));
    o->client_id[0] = 0;
    memcpy(o->client_id + 1, id, len);
    o->client_id_len = (uint8_t)(len + 1);
}

static const char *const client_options[] = {
    "start_delay", "probe", "fuzz", "request_tries", "reboot", "broadcast", "client_id",
    "prefer", "choose", "on_bound", "on_state", NULL
};

/* host:dhcp_client{ start_delay = "2s" | { "1s", "10s" }, probe = "1s",
 *   fuzz = 0, request_tries = 4, reboot = true, broadcast = false,
 *   client_id = "mac" | "any name", prefer = server,
 *   choose = function(offers) return i end,
 *   on_bound = function(addr) end, on_state = function(from, to) end } */
static int host_dhcp_client(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    struct ns_dhcp_client_opts o;
    ns_dhcp_client_opts_defaults(&o);
    bool has_opts = !lua_isnoneornil(L, 2);
    if (has_opts) {
        luaL_checktype(L, 2, LUA_TTABLE);
        ns_lua_check_options(L, 2, "dhcp_client", client_options);
        if (lua_getfield(L, 2, "start_delay") == LUA_TTABLE) {
            lua_rawgeti(L, -1, 1);
            lua_rawgeti(L, -2, 2);
            if (lua_isnil(L, -1) || lua_isnil(L, -2))
                ns_lua_opt_error(L, 2, "start_delay", "{ min, max } expected");
            o.start_min = ns_lua_check_time(L, -2);
            o.start_max = ns_lua_check_time(L, -1);
            lua_pop(L, 2);
        } else if (!lua_isnil(L, -1)) {
            o.start_min = o.start_max = ns_lua_opt_time(L, 2, 2, "start_delay", 0);
        }
        lua_pop(L, 1);
        o.probe_wait = ns_lua_opt_time(L, 2, 2, "probe", o.probe_wait);
        o.fuzz = ns_lua_opt_number(L, 2, 2, "fuzz", o.fuzz);
        lua_Integer tries = ns_lua_opt_integer(L, 2, 2, "request_tries", o.request_tries);
        if (tries < 1)
            ns_lua_opt_error(L, 2, "request_tries", "at least 1 expected");
        o.request_tries = (unsigned)tries;
        o.reboot = ns_lua_opt_bool(L, 2, 2, "reboot", o.reboot);
        o.broadcast = ns_lua_opt_bool(L, 2, 2, "broadcast", o.broadcast);
    }
    ns_iface *ifc = lan_iface(h);
    if (!ifc)
        return luaL_error(L, "host '%s' has no LAN interface for a DHCP client",
                          ns_host_name(h));
    if (has_opts)
        opt_client_id(L, ifc, &o);
    uint32_t prefer = has_opts ? opt_addr(L, 2, 2, "prefer") : 0;
    GError *err = NULL;
    ns_dhcp_client *c = ns_dhcp_client_new(ifc, &o, &err);
    if (!c)
        return ns_lua_raise_gerror(L, err);
    ns_sim *sim = ns_host_sim(h);
    struct lclient *lc = g_new0(struct lclient, 1);
    lc->sim = sim;
    lc->c = c;
    lc->on_bound = g_array_new(FALSE, FALSE, sizeof(int));
    lc->on_state = LUA_NOREF;
    lc->choose = LUA_NOREF;
    lc->prefer = prefer;
    /* the sim owns the record before opt_ref can raise (a callback that
     * is no function): a Lua error longjmps past any free */
    g_hash_table_insert(clients(sim), c, lc);
    if (has_opts) {
        lc->on_state = opt_ref(L, 2, "on_state");
        lc->choose = opt_ref(L, 2, "choose");
        int ref = opt_ref(L, 2, "on_bound");
        if (ref != LUA_NOREF)
            g_array_append_val(lc->on_bound, ref);
    }
    ns_dhcp_client_on_state(c, state_changed, lc);
    if (prefer || lc->choose != LUA_NOREF)
        ns_dhcp_client_on_choose(c, choose_offer, lc);
    ns_lua_push_handle_sim(L, 1);
    struct handle *hd = ns_lua_new_handle(L, lua_gettop(L), sizeof *hd, T_CLIENT);
    hd->obj = c;
    return 1;
}

static ns_dhcp_client *check_client(lua_State *L, int idx)
{
    return ((struct handle *)ns_lua_check_handle(L, idx, T_CLIENT))->obj;
}

static struct lclient *lclient_of(lua_State *L, ns_dhcp_client *c)
{
    struct lclient *lc = g_hash_table_lookup(clients(ns_host_sim(ns_dhcp_client_host(c))), c);
    if (!lc)
        luaL_error(L, "DHCP client of '%s' has no Lua side", ns_host_name(ns_dhcp_client_host(c)));
    return lc;
}

/* host:on_bound(fn): fn(addr) each time the host's DHCP client becomes
 * BOUND with a new lease (not on renewals). */
static int host_on_bound(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    ns_dhcp_client *c = ns_dhcp_client_of(h);
    if (!c)
        return luaL_error(L, "host '%s' runs no DHCP client (call host:dhcp_client first)",
                          ns_host_name(h));
    struct lclient *lc = lclient_of(L, c);
    int ref = ns_lua_ref_function(L, 2);
    g_array_append_val(lc->on_bound, ref);
    return 0;
}

static int client_on_bound(lua_State *L)
{
    struct lclient *lc = lclient_of(L, check_client(L, 1));
    int ref = ns_lua_ref_function(L, 2);
    g_array_append_val(lc->on_bound, ref);
    return 0;
}

static int client_on_state(lua_State *L)
{
    struct lclient *lc = lclient_of(L, check_client(L, 1));
    ns_lua_replace_callback(L, 2, lc->sim, &lc->on_state);
    return 0;
}

static int client_state(lua_State *L)
{
    lua_pushstring(L, ns_dhcp_state_name(ns_dhcp_client_state(check_client(L, 1))));
    return 1;
}

static int client_addr(lua_State *L)
{
    push_addr(L, ns_dhcp_client_addr(check_client(L, 1)));
    return 1;
}

static void do_release(ns_sim *sim, void *arg)
{
    (void)sim;
    ns_dhcp_client_release(arg);
}

/* client:release([at]) */
static int client_release(lua_State *L)
{
    ns_dhcp_client *c = check_client(L, 1);
    ns_sim *sim = ns_host_sim(ns_dhcp_client_host(c));
    if (lua_isnoneornil(L, 2)) {
        ns_dhcp_client_release(c);
        return 0;
    }
    GError *err = NULL;
    ns_event_at(sim, ns_lua_check_time(L, 2), do_release, c, 0, &err);
    if (err)
        return ns_lua_raise_gerror(L, err);
    return 0;
}

static void set_time(lua_State *L, const char *k, ns_time_t t)
{
    lua_pushnumber(L, ns_time_to_sec(t));
    lua_setfield(L, -2, k);
}

/* client:lease() -> { addr, server, router, dns, lease, requested, t1,
 * t2, expires } (times in seconds) or nil */
static int client_lease(lua_State *L)
{
    struct ns_dhcp_lease_info li;
    if (!ns_dhcp_client_lease(check_client(L, 1), &li)) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 9);
    push_addr(L, li.addr);
    lua_setfield(L, -2, "addr");
    push_addr(L, li.server);
    lua_setfield(L, -2, "server");
    push_addr(L, li.router);
    lua_setfield(L, -2, "router");
    push_addr(L, li.dns);
    lua_setfield(L, -2, "dns");
    lua_pushinteger(L, li.lease_s);
    lua_setfield(L, -2, "lease");
    set_time(L, "requested", li.requested_at);
    set_time(L, "t1", li.t1_at);
    set_time(L, "t2", li.t2_at);
    set_time(L, "expires", li.expires_at);
    return 1;
}

#define SET_INT(L, st, f) (lua_pushinteger(L, (lua_Integer)(st)->f), lua_setfield(L, -2, #f))

static int client_stats(lua_State *L)
{
    const struct ns_dhcp_client_stats *st = ns_dhcp_client_stats(check_client(L, 1));
    lua_createtable(L, 0, 9);
    SET_INT(L, st, discovers); SET_INT(L, st, requests); SET_INT(L, st, declines);
    SET_INT(L, st, releases); SET_INT(L, st, offers); SET_INT(L, st, acks);
    SET_INT(L, st, naks); SET_INT(L, st, bound); SET_INT(L, st, expired);
    return 1;
}

static int client_tostring(lua_State *L)
{
    ns_dhcp_client *c = check_client(L, 1);
    lua_pushfstring(L, "netsim.DhcpClient(%s)", ns_host_name(ns_dhcp_client_host(c)));
    return 1;
}

/* ==== server ========================================================== */

static void parse_range(lua_State *L, int arg, const char *key, const char *text,
                        struct ns_dhcp_pool_cfg *pc)
{
    const char *dash = strchr(text, '-');
    char *first = dash ? g_strndup(text, (size_t)(dash - text)) : NULL;
    bool ok = dash && ns_addr_parse(first, &pc->first, NULL) &&
              ns_addr_parse(dash + 1, &pc->last, NULL);
    g_free(first);
    if (!ok)
        ns_lua_opt_error(L, arg, key, lua_pushfstring(L, "malformed range '%s' "
                         "(expected \"10.0.0.100-10.0.0.150\")", text));
}

static const char *const pool_options[] = { "range", "subnet", "router", "dns", NULL };

/* One pool table { range = "a-b", subnet = "10.0.1.0/24", router, dns }
 * at index t.  With s NULL it only checks the table (raising Lua errors);
 * else it adds the pool, false with err when the server refuses it. */
static bool add_pool_table(lua_State *L, ns_dhcp_server *s, int t, int arg, GError **err)
{
    ns_lua_check_options(L, t, "dhcp_server pool", pool_options);
    struct ns_dhcp_pool_cfg pc = { 0 };
    const char *range = ns_lua_opt_string(L, t, arg, "range", NULL);
    if (!range)
        ns_lua_opt_error(L, arg, "pools", "each pool needs a range");
    parse_range(L, arg, "range", range, &pc);
    const char *subnet = ns_lua_opt_string(L, t, arg, "subnet", NULL);
    if (subnet && !ns_addr_parse(subnet, &pc.subnet, &pc.prefix))
        ns_lua_opt_error(L, arg, "subnet", lua_pushfstring(L, "malformed subnet '%s'", subnet));
    pc.router = opt_addr(L, t, arg, "router");
    pc.dns = opt_addr(L, t, arg, "dns");
    return !s || ns_dhcp_server_add_pool(s, &pc, err);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The pools, exclusions and reservations of the options table at index
 * 2, in that order.  With s NULL, only checks them (raising Lua errors:
 * nothing is allocated that an error would leak); else applies them and
 * returns false with err at the first the server refuses.  After a
 * checking pass, the applying pass raises no Lua error. */
static bool configure_server(lua_State *L, ns_dhcp_server *s, GError **err)
{
    bool ok = true;
    const char *range = ns_lua_opt_string(L, 2, 2, "pool", NULL);
    if (range) {
        struct ns_dhcp_pool_cfg pc = { 0 };
        parse_range(L, 2, "pool", range, &pc);
        pc.router = opt_addr(L, 2, 2, "router");
        pc.dns = opt_addr(L, 2, 2, "dns");
        ok = !s || ns_dhcp_server_add_pool(s, &pc, err);
    }
    if (lua_getfield(L, 2, "pools") != LUA_TNIL) {
        luaL_checktype(L, -1, LUA_TTABLE);
        int pools = lua_gettop(L);
        for (lua_Integer i = 1; ok && lua_rawgeti(L, pools, i) == LUA_TTABLE; i++) {
            ok = add_pool_table(L, s, lua_gettop(L), 2, err);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "exclude") != LUA_TNIL) {
        luaL_checktype(L, -1, LUA_TTABLE);
        int ex = lua_gettop(L);
        for (lua_Integer i = 1; ok && lua_rawgeti(L, ex, i) != LUA_TNIL; i++) {
            uint32_t a = check_addr(L, lua_gettop(L), 2, "exclude");
            ok = !s || ns_dhcp_server_exclude(s, a, err);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "reserve") != LUA_TNIL) {
        luaL_checktype(L, -1, LUA_TTABLE);
        int rs = lua_gettop(L);
        size_t n = 0;
        lua_pushnil(L);
        while (lua_next(L, rs)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                ns_lua_opt_error(L, 2, "reserve", "MAC address strings expected as keys");
            check_addr(L, lua_gettop(L), 2, "reserve");
            lua_pop(L, 1);
            n++;
        }
        if (s && ok && n) {
            /* sorted keys: the reservations do not depend on pairs() order;
             * the array is a userdata, so check_addr's Lua error cannot
             * leak it */
            const char **keys = lua_newuserdatauv(L, n * sizeof *keys, 0);
            size_t k = 0;
            lua_pushnil(L);
            while (lua_next(L, rs)) {
                lua_pop(L, 1);
                keys[k++] = lua_tostring(L, -1);
            }
            qsort(keys, n, sizeof *keys, cmp_str);
            for (size_t i = 0; i < n && ok; i++) {
                lua_getfield(L, rs, keys[i]);
                uint32_t a = check_addr(L, lua_gettop(L), 2, "reserve");
                lua_pop(L, 1);
                ok = ns_dhcp_server_reserve(s, keys[i], a, err);
            }
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    return ok;
}

/* DHCP carries times in whole seconds: a positive time under 1 s would
 * become 0 (for t1/t2: not sent) without a word.  The message quotes the
 * value as the script wrote it. */
static void check_whole_second(lua_State *L, ns_host *h, const char *key, ns_time_t t)
{
    if (t <= 0 || t >= NS_SEC)
        return;
    lua_getfield(L, 2, key);
    const char *q = lua_type(L, -1) == LUA_TSTRING ? "'" : "";
    luaL_error(L, "DHCP server '%s': %s %s%s%s is under 1 s (DHCP counts whole seconds)",
               ns_host_name(h), strcmp(key, "lease") == 0 ? "lease time" : key, q,
               luaL_tolstring(L, -1, NULL), q);
}

static const char *const server_options[] = {
    "pool", "pools", "router", "dns", "lease", "t1", "t2", "offer_hold", "ping_check",
    "persist", "share", "exclude", "reserve", NULL
};

/* host:dhcp_server{ pool = "10.0.0.100-10.0.0.150", router, dns,
 *   lease = "1h", t1, t2, offer_hold = "60s", ping_check = "500ms",
 *   persist = true, share = other_server, exclude = { addr, ... },
 *   reserve = { ["02:00:00:00:00:01"] = "10.0.0.120" },
 *   pools = { { range = ..., subnet = "10.0.1.0/24", router, dns }, ... } } */
static int host_dhcp_server(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    ns_lua_check_options(L, 2, "dhcp_server", server_options);
    struct ns_dhcp_server_opts o;
    ns_dhcp_server_opts_defaults(&o);
    if (lua_getfield(L, 2, "lease") != LUA_TNIL && lua_type(L, -1) == LUA_TNUMBER &&
        lua_tonumber(L, -1) <= 0)
        return luaL_error(L, "DHCP server '%s': lease time %s s is not positive",
                          ns_host_name(h), lua_tostring(L, -1));
    lua_pop(L, 1);
    ns_time_t lease = ns_lua_opt_time(L, 2, 2, "lease", (ns_time_t)o.lease_s * NS_SEC);
    ns_time_t t1 = ns_lua_opt_time(L, 2, 2, "t1", 0);
    ns_time_t t2 = ns_lua_opt_time(L, 2, 2, "t2", 0);
    check_whole_second(L, h, "lease", lease);
    check_whole_second(L, h, "t1", t1);
    check_whole_second(L, h, "t2", t2);
    o.lease_s = (uint32_t)(lease / NS_SEC);
    o.t1_s = (uint32_t)(t1 / NS_SEC);
    o.t2_s = (uint32_t)(t2 / NS_SEC);
    o.offer_hold = ns_lua_opt_time(L, 2, 2, "offer_hold", o.offer_hold);
    o.ping_wait = ns_lua_opt_time(L, 2, 2, "ping_check", 0);
    o.persist = ns_lua_opt_bool(L, 2, 2, "persist", o.persist);
    if (lua_getfield(L, 2, "share") != LUA_TNIL) {
        struct handle *sh = ns_lua_check_handle(L, lua_gettop(L), T_SERVER);
        o.db = ns_dhcp_server_db(sh->obj);
    }
    lua_pop(L, 1);
    /* A first pass raises every error the script's table can cause,
     * before anything exists; the second configures the new server and
     * can fail only where the server refuses a value, and then the server
     * is taken down again, leaving the host as it was. */
    configure_server(L, NULL, NULL);
    GError *err = NULL;
    ns_dhcp_server *s = ns_dhcp_server_new(h, &o, &err);
    if (!s)
        return ns_lua_raise_gerror(L, err);
    if (!configure_server(L, s, &err)) {
        ns_dhcp_server_free(s);
        return ns_lua_raise_gerror(L, err);
    }
    ns_lua_push_handle_sim(L, 1);
    struct handle *hd = ns_lua_new_handle(L, lua_gettop(L), sizeof *hd, T_SERVER);
    hd->obj = s;
    return 1;
}

static ns_dhcp_server *check_server(lua_State *L, int idx)
{
    return ((struct handle *)ns_lua_check_handle(L, idx, T_SERVER))->obj;
}

static int server_active(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)ns_dhcp_server_active(check_server(L, 1)));
    return 1;
}

static int server_stats(lua_State *L)
{
    const struct ns_dhcp_server_stats *st = ns_dhcp_server_stats(check_server(L, 1));
    lua_createtable(L, 0, 11);
    SET_INT(L, st, discovers); SET_INT(L, st, requests); SET_INT(L, st, declines);
    SET_INT(L, st, releases); SET_INT(L, st, informs); SET_INT(L, st, offers);
    SET_INT(L, st, acks); SET_INT(L, st, naks); SET_INT(L, st, exhausted);
    SET_INT(L, st, offers_freed); SET_INT(L, st, ping_in_use);
    return 1;
}

/* server:holder("10.0.0.100") -> "02:..:.." MAC of the client holding it, or nil */
static int server_holder(lua_State *L)
{
    ns_dhcp_server *s = check_server(L, 1);
    uint32_t a;
    if (!ns_addr_parse(luaL_checkstring(L, 2), &a, NULL))
        return luaL_argerror(L, 2, "malformed IPv4 address");
    uint8_t m[6];
    if (!ns_dhcp_server_holder(s, a, m)) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushfstring(L, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return 1;
}

static int server_tostring(lua_State *L)
{
    lua_pushfstring(L, "netsim.DhcpServer(%s)", ns_host_name(ns_dhcp_server_host(check_server(L, 1))));
    return 1;
}

/* ==== relay =========================================================== */

static const char *const relay_options[] = { "server", NULL };

/* host:dhcp_relay{ server = Host | "10.0.0.1" } */
static int host_dhcp_relay(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    ns_lua_check_options(L, 2, "dhcp_relay", relay_options);
    uint32_t server = opt_addr(L, 2, 2, "server");
    if (!server)
        return ns_lua_opt_error(L, 2, "server", "a server is required");
    GError *err = NULL;
    if (!ns_dhcp_relay_new(h, server, &err))
        return ns_lua_raise_gerror(L, err);
    return 0;
}

/* ==== INFORM ========================================================== */

static const char *const inform_options[] = { "server", "tries", NULL };

/* host:dhcp_inform{ server = Host | "10.0.0.1", tries = 4 }: a DHCPINFORM
 * from the host's first interface with an address (set by hand). */
static int host_dhcp_inform(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    struct ns_dhcp_inform_opts o;
    ns_dhcp_inform_opts_defaults(&o);
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        ns_lua_check_options(L, 2, "dhcp_inform", inform_options);
        o.server = opt_addr(L, 2, 2, "server");
        lua_Integer tries = ns_lua_opt_integer(L, 2, 2, "tries", o.tries);
        if (tries < 1)
            ns_lua_opt_error(L, 2, "tries", "at least 1 expected");
        o.tries = (unsigned)tries;
    }
    ns_iface *ifc = NULL;
    for (size_t i = 0; i < ns_host_n_ifaces(h) && !ifc; i++)
        if (ns_iface_addr(ns_host_iface(h, i)))
            ifc = ns_host_iface(h, i);
    if (!ifc)
        return luaL_error(L, "host '%s' has no address for a DHCPINFORM (set one by hand)",
                          ns_host_name(h));
    GError *err = NULL;
    if (!ns_dhcp_inform_new(ifc, &o, &err))
        return ns_lua_raise_gerror(L, err);
    return 0;
}

/* host:dhcp_informed() -> { server, mask, router, dns, at } once the ACK
 * came, else nil (also when the host never sent an INFORM). */
static int host_dhcp_informed(lua_State *L)
{
    ns_dhcp_inform *q = ns_dhcp_inform_of(check_host(L, 1));
    struct ns_dhcp_inform_info info;
    if (!q || !ns_dhcp_inform_result(q, &info)) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 5);
    push_addr(L, info.server);
    lua_setfield(L, -2, "server");
    push_addr(L, info.mask);
    lua_setfield(L, -2, "mask");
    push_addr(L, info.router);
    lua_setfield(L, -2, "router");
    push_addr(L, info.dns);
    lua_setfield(L, -2, "dns");
    lua_pushnumber(L, ns_time_to_sec(info.at));
    lua_setfield(L, -2, "at");
    return 1;
}

/* ==== tables ========================================================== */

static const char *const trace_options[] = { "every", NULL };

/* sim:dhcp_trace{ every = "10s" }: dhcp_timeline.tsv and dhcp_pool.tsv
 * (pool occupancy sampled every `every`). */
static int sim_dhcp_trace(lua_State *L)
{
    ns_sim *sim = ns_lua_check_sim(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        ns_lua_check_options(L, 2, "dhcp_trace", trace_options);
    }
    ns_time_t every = ns_lua_opt_time(L, 2, 2, "every", 10 * NS_SEC);
    if (every <= 0)
        return ns_lua_opt_error(L, 2, "every", "a positive time expected");
    GError *err = NULL;
    if (!ns_dhcp_trace_tables(sim, every, &err))
        return ns_lua_raise_gerror(L, err);
    return 0;
}

static const luaL_Reg client_methods[] = {
    { "state", client_state }, { "addr", client_addr }, { "release", client_release },
    { "lease", client_lease }, { "stats", client_stats }, { "on_bound", client_on_bound },
    { "on_state", client_on_state }, { "__tostring", client_tostring }, { NULL, NULL }
};

static const luaL_Reg server_methods[] = {
    { "active", server_active }, { "stats", server_stats }, { "holder", server_holder },
    { "__tostring", server_tostring }, { NULL, NULL }
};

static const luaL_Reg host_methods[] = {
    { "dhcp_client", host_dhcp_client }, { "dhcp_server", host_dhcp_server },
    { "dhcp_relay", host_dhcp_relay }, { "on_bound", host_on_bound },
    { "dhcp_inform", host_dhcp_inform }, { "dhcp_informed", host_dhcp_informed }, { NULL, NULL }
};

static const luaL_Reg sim_methods[] = { { "dhcp_trace", sim_dhcp_trace }, { NULL, NULL } };

void ns_lua_open_dhcp(lua_State *L)
{
    ns_lua_new_type(L, T_CLIENT, client_methods);
    ns_lua_new_type(L, T_SERVER, server_methods);
    luaL_getmetatable(L, T_HOST);
    luaL_setfuncs(L, host_methods, 0);
    lua_pop(L, 1);
    luaL_getmetatable(L, "netsim.Sim");
    luaL_setfuncs(L, sim_methods, 0);
    lua_pop(L, 1);
}
