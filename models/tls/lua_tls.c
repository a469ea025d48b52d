/* lua_tls.c — TLS from Lua: host:tls_listen, host:tls_connect,
 * netsim.TlsConn and netsim.TlsListener.
 *
 * Invariants: a connection's Lua callbacks are registry references owned
 * by its record, released when the sim is freed; records outlive their
 * ns_tls (both live until the sim is freed), so callbacks never reach
 * freed memory.
 */
#include <string.h>

#include "netsim/luabind.h"
#include "netsim/tls.h"

#define T_CONN     "netsim.TlsConn"
#define T_LISTENER "netsim.TlsListener"
#define T_HOST     "netsim.Host"

enum { CB_ESTABLISHED, CB_DATA, CB_CLOSE, CB_ERROR, CB_ALERT, CB_FINISHED, NCB };
static const char *const cb_names[NCB] = {
    "on_established", "on_data", "on_close", "on_error", "on_alert", "on_finished"
};

struct lconn {
    ns_sim *sim;
    ns_tls *t;
    int     self;
    int     cb[NCB];
};

struct llistener {
    ns_sim          *sim;
    ns_tls_listener *l;
    int              self;
    int              on_accept;
    int              conn_cb[NCB];
};

struct lists {
    GPtrArray *conns, *listeners;
};

static void lconn_free(gpointer p)
{
    struct lconn *lc = p;
    ns_lua_unref(lc->sim, lc->self);
    for (int i = 0; i < NCB; i++)
        ns_lua_unref(lc->sim, lc->cb[i]);
    g_free(lc);
}

static void llistener_free(gpointer p)
{
    struct llistener *ll = p;
    ns_lua_unref(ll->sim, ll->self);
    ns_lua_unref(ll->sim, ll->on_accept);
    for (int i = 0; i < NCB; i++)
        ns_lua_unref(ll->sim, ll->conn_cb[i]);
    g_free(ll);
}

static void lists_free(gpointer p)
{
    struct lists *ls = p;
    g_ptr_array_free(ls->conns, TRUE);
    g_ptr_array_free(ls->listeners, TRUE);
    g_free(ls);
}

static struct lists *lists(ns_sim *sim)
{
    struct lists *ls = ns_sim_attached(sim, "lua.tls");
    if (!ls) {
        ls = g_new0(struct lists, 1);
        ls->conns = g_ptr_array_new_with_free_func(lconn_free);
        ls->listeners = g_ptr_array_new_with_free_func(llistener_free);
        ns_sim_attach(sim, "lua.tls", ls, lists_free);
    }
    return ls;
}

static struct lconn *check_conn(lua_State *L, int idx)
{
    return *(struct lconn **)ns_lua_check_handle(L, idx, T_CONN);
}

static void push_conn(lua_State *L, struct lconn *lc)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, lc->self);
}

/* ---- C callbacks into Lua ---- */

static lua_State *begin(struct lconn *lc, int which)
{
    lua_State *T = ns_lua_call_begin(lc->sim, lc->cb[which]);
    if (T)
        push_conn(T, lc);
    return T;
}

static void on_established(ns_tls *t, void *ud)
{
    struct lconn *lc = ud;
    lua_State *T = begin(lc, CB_ESTABLISHED);
    if (T)
        ns_lua_call_end(lc->sim, T, 1);
}

static void on_data(ns_tls *t, const uint8_t *b, uint32_t len, void *ud)
{
    struct lconn *lc = ud;
    lua_State *T = begin(lc, CB_DATA);
    if (T) {
        lua_pushlstring(T, (const char *)b, len);
        ns_lua_call_end(lc->sim, T, 2);
    }
}

static void on_eof(ns_tls *t, void *ud)
{
    struct lconn *lc = ud;
    lua_State *T = begin(lc, CB_CLOSE);
    if (T)
        ns_lua_call_end(lc->sim, T, 1);
}

static void on_closed(ns_tls *t, void *ud)
{
    struct lconn *lc = ud;
    lua_State *T = begin(lc, CB_FINISHED);
    if (T)
        ns_lua_call_end(lc->sim, T, 1);
}

static void on_error(ns_tls *t, const char *reason, void *ud)
{
    struct lconn *lc = ud;
    lua_State *T = begin(lc, CB_ERROR);
    if (T) {
        lua_pushstring(T, reason);
        ns_lua_call_end(lc->sim, T, 2);
    }
}

static void on_alert(ns_tls *t, const char *name, bool sent, void *ud)
{
    struct lconn *lc = ud;
    lua_State *T = begin(lc, CB_ALERT);
    if (T) {
        lua_pushstring(T, name);
        lua_pushboolean(T, sent);
        ns_lua_call_end(lc->sim, T, 3);
    }
}

static const struct ns_tls_callbacks callbacks = {
    on_established, on_data, on_eof, on_closed, on_error, on_alert,
};

/* A record and handle for t; the handle is left on the stack. */
static struct lconn *new_lconn(lua_State *L, int sim_idx, ns_tls *t)
{
    ns_sim *sim = ns_lua_check_sim(L, sim_idx);
    struct lconn *lc = g_new0(struct lconn, 1);
    lc->sim = sim;
    lc->t = t;
    for (int i = 0; i < NCB; i++)
        lc->cb[i] = LUA_NOREF;
    g_ptr_array_add(lists(sim)->conns, lc);
    struct lconn **u = ns_lua_new_handle(L, sim_idx, sizeof *u, T_CONN);
    *u = lc;
    lua_pushvalue(L, -1);
    lc->self = luaL_ref(L, LUA_REGISTRYINDEX);
    ns_tls_set_callbacks(t, &callbacks, lc);
    return lc;
}

/* ---- options ---- */

static const char *const options[] = {
    "version", "min_version", "cipher", "ciphers", "group", "sni", "alpn", "chain_len", "cert_size",
    "client_certs", "require_client_cert", "cert_status", "record_size", "resume",
    "tickets", "early_data", "accept_early_data", "hrr_cookie", "middlebox_compat",
    "handshake_timeout", "ecdhe_cost",
    "sign_cost", "verify_cost", "aead_ns_per_byte", "record_cost", "nodelay", "init_cwnd", "mss",
    "on_established", "on_data", "on_close", "on_error", "on_alert", "on_finished",
    "on_accept", NULL
};

static enum ns_tls_version opt_version(lua_State *L, int tbl, int arg, const char *key,
                                       enum ns_tls_version def)
{
    const char *s = ns_lua_opt_string(L, tbl, arg, key, NULL);
    enum ns_tls_version v = def;
    if (s && !ns_tls_version_parse(s, &v))
        ns_lua_opt_error(L, arg, key, lua_pushfstring(L, "unknown TLS version '%s' (1.2 or 1.3)", s));
    return v;
}

/* ciphers = { "chacha20", "aes128gcm" }: the suites in preference order. */
static void opt_ciphers(lua_State *L, int tbl, int arg, struct ns_tls_opts *o)
{
    tbl = lua_absindex(L, tbl);
    int type = lua_getfield(L, tbl, "ciphers");
    if (type == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (type != LUA_TTABLE)
        ns_lua_opt_error(L, arg, "ciphers", "a list of cipher suite names expected");
    if (lua_getfield(L, tbl, "cipher") != LUA_TNIL)
        ns_lua_opt_error(L, arg, "ciphers", "give 'cipher' or 'ciphers', not both");
    lua_pop(L, 1);
    lua_Integer n = luaL_len(L, -1);
    if (n < 1 || n > NS_TLS_NCIPHERS)
        ns_lua_opt_error(L, arg, "ciphers", lua_pushfstring(L, "a list of 1 to %d suites expected",
                                                            NS_TLS_NCIPHERS));
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, -1, i);
        const char *name = lua_tostring(L, -1);
        enum ns_tls_cipher c;
        if (!name || !ns_tls_cipher_parse(name, &c))
            ns_lua_opt_error(L, arg, "ciphers", lua_pushfstring(L,
                             "unknown cipher suite '%s' (aes128gcm, aes256gcm, chacha20)",
                             name ? name : luaL_typename(L, -1)));
        for (lua_Integer j = 0; j < i - 1; j++)
            if (o->ciphers[j] == c)
                ns_lua_opt_error(L, arg, "ciphers", lua_pushfstring(L,
                                 "cipher suite '%s' is listed twice", name));
        o->ciphers[i - 1] = (uint8_t)c;
        lua_pop(L, 1);
    }
    o->n_ciphers = (uint8_t)n;
    lua_pop(L, 1);
}

static void read_opts(lua_State *L, int tbl, int arg, const char *fname,
                      struct ns_tls_opts *o, struct ns_tcp_opts *to)
{
    ns_tls_opts_defaults(o);
    ns_tcp_opts_defaults(to);
    to->nodelay = true;
    if (lua_isnoneornil(L, tbl))
        return;
    ns_lua_check_options(L, tbl, fname, options);
    o->max_version = opt_version(L, tbl, arg, "version", o->max_version);
    o->min_version = opt_version(L, tbl, arg, "min_version", o->min_version);
    const char *s = ns_lua_opt_string(L, tbl, arg, "cipher", NULL);
    if (s && !ns_tls_cipher_parse(s, &o->cipher))
        ns_lua_opt_error(L, arg, "cipher", lua_pushfstring(L,
                         "unknown cipher suite '%s' (aes128gcm, aes256gcm, chacha20)", s));
    opt_ciphers(L, tbl, arg, o);
    s = ns_lua_opt_string(L, tbl, arg, "group", NULL);
    if (s && !ns_tls_group_parse(s, &o->group))
        ns_lua_opt_error(L, arg, "group", lua_pushfstring(L,
                         "unknown group '%s' (x25519, secp256r1, secp384r1)", s));
    o->sni = ns_lua_opt_string(L, tbl, arg, "sni", o->sni);
    o->alpn = ns_lua_opt_string(L, tbl, arg, "alpn", o->alpn);
    lua_Integer n = ns_lua_opt_integer(L, tbl, arg, "chain_len", o->chain_len);
    if (n < 0 || n > 64)
        ns_lua_opt_error(L, arg, "chain_len", "must be in [0, 64]");
    o->chain_len = (unsigned)n;
    double size = ns_lua_opt_size(L, tbl, arg, "cert_size", o->cert_size);
    o->cert_size = (uint32_t)(size > 1e9 ? 1e9 : size);
    n = ns_lua_opt_integer(L, tbl, arg, "client_certs", 0);
    if (n < 0 || n > 64)
        ns_lua_opt_error(L, arg, "client_certs", "must be in [0, 64]");
    o->client_certs = (unsigned)n;
    o->require_client_cert = ns_lua_opt_bool(L, tbl, arg, "require_client_cert", false);
    s = ns_lua_opt_string(L, tbl, arg, "cert_status", "ok");
    if (strcmp(s, "ok") == 0)
        o->cert_status = NS_TLS_CERT_OK;
    else if (strcmp(s, "unknown_ca") == 0)
        o->cert_status = NS_TLS_CERT_UNKNOWN_CA;
    else if (strcmp(s, "expired") == 0)
        o->cert_status = NS_TLS_CERT_EXPIRED;
    else
        ns_lua_opt_error(L, arg, "cert_status", "expected 'ok', 'unknown_ca' or 'expired'");
    o->record_size = (uint32_t)ns_lua_opt_size(L, tbl, arg, "record_size", o->record_size);
    if (lua_getfield(L, tbl, "resume") != LUA_TNIL) {
        struct lconn *prev = *(struct lconn **)ns_lua_check_handle(L, lua_gettop(L), T_CONN);
        o->resume = prev->t;
    }
    lua_pop(L, 1);
    o->tickets = ns_lua_opt_bool(L, tbl, arg, "tickets", o->tickets);
    if (lua_getfield(L, tbl, "early_data") != LUA_TNIL) {
        size_t len;
        if (lua_type(L, -1) == LUA_TSTRING) {
            o->early_data = (const uint8_t *)lua_tolstring(L, -1, &len);  /* held by the table */
            o->early_len = (uint32_t)len;
        } else {
            o->early_len = (uint32_t)ns_lua_opt_size(L, tbl, arg, "early_data", 0);
        }
    }
    lua_pop(L, 1);
    o->accept_early_data = ns_lua_opt_bool(L, tbl, arg, "accept_early_data", o->accept_early_data);
    double cookie = ns_lua_opt_size(L, tbl, arg, "hrr_cookie", 0);
    if (cookie < 0 || cookie > NS_TLS_MAX_COOKIE)
        ns_lua_opt_error(L, arg, "hrr_cookie", lua_pushfstring(L, "must be in [0, %d] bytes",
                                                                NS_TLS_MAX_COOKIE));
    o->hrr_cookie = (uint16_t)cookie;
    o->middlebox_compat = ns_lua_opt_bool(L, tbl, arg, "middlebox_compat", o->middlebox_compat);
    o->handshake_timeout = ns_lua_opt_time(L, tbl, arg, "handshake_timeout", o->handshake_timeout);
    o->costs.ecdhe = ns_lua_opt_time(L, tbl, arg, "ecdhe_cost", o->costs.ecdhe);
    o->costs.sign = ns_lua_opt_time(L, tbl, arg, "sign_cost", o->costs.sign);
    o->costs.verify = ns_lua_opt_time(L, tbl, arg, "verify_cost", o->costs.verify);
    o->costs.aead_ns_per_byte = ns_lua_opt_number(L, tbl, arg, "aead_ns_per_byte",
                                                  o->costs.aead_ns_per_byte);
    o->costs.record = ns_lua_opt_time(L, tbl, arg, "record_cost", o->costs.record);
    to->nodelay = ns_lua_opt_bool(L, tbl, arg, "nodelay", true);
    to->init_cwnd = (uint32_t)ns_lua_opt_integer(L, tbl, arg, "init_cwnd", to->init_cwnd);
    to->mss = (uint32_t)ns_lua_opt_size(L, tbl, arg, "mss", to->mss);
}

static void read_callbacks(lua_State *L, int tbl, int *refs)
{
    if (lua_isnoneornil(L, tbl))
        return;
    for (int i = 0; i < NCB; i++) {
        if (lua_getfield(L, tbl, cb_names[i]) != LUA_TNIL)
            refs[i] = ns_lua_ref_function(L, lua_gettop(L));
        lua_pop(L, 1);
    }
}

static uint16_t check_port(lua_State *L, int idx)
{
    lua_Integer p = luaL_checkinteger(L, idx);
    luaL_argcheck(L, p >= 1 && p <= 65535, idx, "port must be in [1, 65535]");
    return (uint16_t)p;
}

/* ---- listeners ---- */

static void on_accept(ns_tls_listener *l, ns_tls *t, void *ud)
{
    struct llistener *ll = ud;
    lua_State *T = ns_lua_thread(ll->sim);
    if (!T)
        return;
    lua_rawgeti(T, LUA_REGISTRYINDEX, ll->self);
    ns_lua_push_handle_sim(T, -1);
    struct lconn *lc = new_lconn(T, lua_gettop(T), t);
    lua_pop(T, 3);
    for (int i = 0; i < NCB; i++) {
        if (ll->conn_cb[i] != LUA_NOREF) {
            lua_rawgeti(T, LUA_REGISTRYINDEX, ll->conn_cb[i]);
            lc->cb[i] = luaL_ref(T, LUA_REGISTRYINDEX);
        }
    }
    if (ll->on_accept != LUA_NOREF) {
        lua_State *T2 = ns_lua_call_begin(ll->sim, ll->on_accept);
        if (T2) {
            push_conn(T2, lc);
            ns_lua_call_end(ll->sim, T2, 1);
        }
    }
}

/* host:tls_listen(port, { on_accept = fn(conn), on_data = ..., <tls opts> }) */
static int host_tls_listen(lua_State *L)
{
    ns_host *h = ns_lua_check_host(L, 1);
    uint16_t port = check_port(L, 2);
    struct ns_tls_opts o;
    struct ns_tcp_opts to;
    read_opts(L, 3, 3, "tls_listen", &o, &to);
    ns_lua_push_handle_sim(L, 1);
    int sim_idx = lua_gettop(L);
    ns_sim *sim = ns_lua_check_sim(L, sim_idx);
    struct llistener *ll = g_new0(struct llistener, 1);
    ll->sim = sim;
    ll->on_accept = LUA_NOREF;
    for (int i = 0; i < NCB; i++)
        ll->conn_cb[i] = LUA_NOREF;
    GError *err = NULL;
    ll->l = ns_tls_listen(h, port, &to, &o, on_accept, ll, &err);
    if (!ll->l) {
        g_free(ll);
        return ns_lua_raise_gerror(L, err);
    }
    g_ptr_array_add(lists(sim)->listeners, ll);
    if (!lua_isnoneornil(L, 3)) {
        if (lua_getfield(L, 3, "on_accept") != LUA_TNIL)
            ll->on_accept = ns_lua_ref_function(L, lua_gettop(L));
        lua_pop(L, 1);
        read_callbacks(L, 3, ll->conn_cb);
    }
    struct llistener **u = ns_lua_new_handle(L, sim_idx, sizeof *u, T_LISTENER);
    *u = ll;
    lua_pushvalue(L, -1);
    ll->self = luaL_ref(L, LUA_REGISTRYINDEX);
    return 1;
}

static int listener_on_accept(lua_State *L)
{
    struct llistener *ll = *(struct llistener **)ns_lua_check_handle(L, 1, T_LISTENER);
    ns_lua_replace_callback(L, 2, ll->sim, &ll->on_accept);
    return 0;
}

/* l:set_accept_early_data(bool) */
static int listener_set_early(lua_State *L)
{
    struct llistener *ll = *(struct llistener **)ns_lua_check_handle(L, 1, T_LISTENER);
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    ns_tls_listener_set_accept_early_data(ll->l, lua_toboolean(L, 2));
    return 0;
}

/* host:tls_connect(dst, port, { on_established = fn(conn), ..., <tls opts> }) */
static int host_tls_connect(lua_State *L)
{
    ns_host *h = ns_lua_check_host(L, 1);
    uint32_t dst = ns_lua_check_addr(L, 2);
    uint16_t port = check_port(L, 3);
    struct ns_tls_opts o;
    struct ns_tcp_opts to;
    read_opts(L, 4, 4, "tls_connect", &o, &to);
    ns_lua_push_handle_sim(L, 1);
    int sim_idx = lua_gettop(L);
    GError *err = NULL;
    ns_tls *t = ns_tls_connect(h, dst, port, &to, &o, &err);
    if (!t)
        return ns_lua_raise_gerror(L, err);
    struct lconn *lc = new_lconn(L, sim_idx, t);
    read_callbacks(L, 4, lc->cb);
    return 1;
}

static int set_cb(lua_State *L, int which)
{
    struct lconn *lc = check_conn(L, 1);
    ns_lua_replace_callback(L, 2, lc->sim, &lc->cb[which]);
    return 0;
}

static int conn_on_established(lua_State *L) { return set_cb(L, CB_ESTABLISHED); }
static int conn_on_data(lua_State *L) { return set_cb(L, CB_DATA); }
static int conn_on_close(lua_State *L) { return set_cb(L, CB_CLOSE); }
static int conn_on_error(lua_State *L) { return set_cb(L, CB_ERROR); }
static int conn_on_alert(lua_State *L) { return set_cb(L, CB_ALERT); }
static int conn_on_finished(lua_State *L) { return set_cb(L, CB_FINISHED); }

/* conn:send(n_or_string) */
static int conn_send(lua_State *L)
{
    struct lconn *lc = check_conn(L, 1);
    uint32_t len;
    const char *data = ns_lua_check_payload(L, 2, &len);
    GError *err = NULL;
    if (!ns_tls_send(lc->t, data, len, &err)) {
        g_prefix_error(&err, "conn:send: ");
        return ns_lua_raise_gerror(L, err);
    }
    return 0;
}

static int conn_close(lua_State *L) { ns_tls_close(check_conn(L, 1)->t); return 0; }

static int conn_state(lua_State *L)
{
    lua_pushstring(L, ns_tls_state_name_of(check_conn(L, 1)->t));
    return 1;
}

static int conn_name(lua_State *L)
{
    lua_pushstring(L, ns_tcp_name(ns_tls_tcp(check_conn(L, 1)->t)));
    return 1;
}

static void set_time(lua_State *L, const char *k, ns_time_t v)
{
    if (v < 0)
        lua_pushboolean(L, false);
    else
        lua_pushnumber(L, ns_time_to_sec(v));
    lua_setfield(L, -2, k);
}

/* conn:info() -> { version = "1.3", cipher = "aes128gcm", resumed, early_data ("accepted",
 *   "rejected" or false), hello_retries, started_at, tcp_established_at,
 *   established_at, first_byte_at (false when not yet), rtt (the TCP
 *   handshake's), rtts (first byte after the SYN, in RTTs),
 *   handshake_bytes, records_out, records_in, app_bytes_out, app_bytes_in,
 *   tickets (NewSessionTickets received) } */
static int conn_info(lua_State *L)
{
    struct lconn *lc = check_conn(L, 1);
    struct ns_tls_info i;
    ns_tls_info(lc->t, &i);
    lua_newtable(L);
    enum ns_tls_version v = ns_tls_version(lc->t);
    if (v)
        lua_pushstring(L, v == NS_TLS_13 ? "1.3" : "1.2");
    else
        lua_pushboolean(L, false);
    lua_setfield(L, -2, "version");
    if (v)
        lua_pushstring(L, ns_tls_cipher_name(ns_tls_cipher(lc->t)));
    else
        lua_pushboolean(L, false);
    lua_setfield(L, -2, "cipher");
    lua_pushboolean(L, ns_tls_resumed(lc->t));
    lua_setfield(L, -2, "resumed");
    int e = ns_tls_early_data_status(lc->t);
    if (e < 0)
        lua_pushboolean(L, false);
    else
        lua_pushstring(L, e ? "accepted" : "rejected");
    lua_setfield(L, -2, "early_data");
    lua_pushinteger(L, i.hello_retries);
    lua_setfield(L, -2, "hello_retries");
    set_time(L, "started_at", i.started_at);
    set_time(L, "tcp_established_at", i.tcp_established_at);
    set_time(L, "established_at", i.established_at);
    set_time(L, "first_byte_at", i.first_app_tx_at);
    ns_time_t rtt = i.tcp_established_at - i.started_at;
    set_time(L, "rtt", i.tcp_established_at < 0 ? -1 : rtt);
    if (i.first_app_tx_at >= 0 && rtt > 0)
        lua_pushnumber(L, (double)(i.first_app_tx_at - i.started_at) / (double)rtt);
    else
        lua_pushboolean(L, false);
    lua_setfield(L, -2, "rtts");
    lua_pushinteger(L, (lua_Integer)i.handshake_bytes);
    lua_setfield(L, -2, "handshake_bytes");
    lua_pushinteger(L, (lua_Integer)i.records_out);
    lua_setfield(L, -2, "records_out");
    lua_pushinteger(L, (lua_Integer)i.records_in);
    lua_setfield(L, -2, "records_in");
    lua_pushinteger(L, (lua_Integer)i.app_bytes_out);
    lua_setfield(L, -2, "app_bytes_out");
    lua_pushinteger(L, (lua_Integer)i.app_bytes_in);
    lua_setfield(L, -2, "app_bytes_in");
    lua_pushinteger(L, (lua_Integer)i.tickets_in);
    lua_setfield(L, -2, "tickets");
    return 1;
}

static int conn_tostring(lua_State *L)
{
    struct lconn *lc = *(struct lconn **)luaL_checkudata(L, 1, T_CONN);
    lua_pushfstring(L, "netsim.TlsConn(%s)", ns_tcp_name(ns_tls_tcp(lc->t)));
    return 1;
}

static const luaL_Reg conn_methods[] = {
    { "on_established", conn_on_established }, { "on_data", conn_on_data },
    { "on_close", conn_on_close }, { "on_error", conn_on_error },
    { "on_alert", conn_on_alert }, { "on_finished", conn_on_finished },
    { "send", conn_send }, { "close", conn_close }, { "state", conn_state },
    { "name", conn_name }, { "info", conn_info }, { "__tostring", conn_tostring },
    { NULL, NULL }
};

static const luaL_Reg listener_methods[] = {
    { "on_accept", listener_on_accept }, { "set_accept_early_data", listener_set_early },
    { NULL, NULL }
};

static const luaL_Reg host_methods[] = {
    { "tls_listen", host_tls_listen }, { "tls_connect", host_tls_connect }, { NULL, NULL }
};


void ns_lua_open_tls(lua_State *L)
{
    ns_lua_new_type(L, T_CONN, conn_methods);
    ns_lua_new_type(L, T_LISTENER, listener_methods);
    luaL_getmetatable(L, T_HOST);
    luaL_setfuncs(L, host_methods, 0);
    lua_pop(L, 1);
}
