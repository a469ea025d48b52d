/* lua_tcp.c — TCP from Lua: host:tcp_listen, host:tcp_connect,
 * host:tcp_bulk, host:tcp_request, netsim.TcpConn and netsim.TcpListener,
 * and sim:tcp_trace for the per-flow tables.
 *
 * Invariants: a connection's Lua callbacks are registry references owned
 * by its handle record, released when the sim is freed; a handle record
 * outlives its TCB (both live until the sim is freed), so callbacks never
 * reach freed memory.
 */
#include <string.h>

#include "tcp_priv.h"
#include "netsim/luabind.h"

#define T_CONN     "netsim.TcpConn"
#define T_LISTENER "netsim.TcpListener"
#define T_HOST     "netsim.Host"

enum { CB_ESTABLISHED, CB_DATA, CB_SENT, CB_CLOSE, CB_ERROR, CB_FINISHED, NCB };
static const char *const cb_names[NCB] = {
    "on_established", "on_data", "on_sent", "on_close", "on_error", "on_finished"
};

/* The Lua side of a connection; owned by the sim (lua.tcp list). */
struct lconn {
    ns_sim *sim;
    ns_tcp *c;
    int     self;                 /* ref to the handle userdata */
    int     cb[NCB];              /* function refs or LUA_NOREF */
    /* applications */
    uint64_t bulk_left;           /* bytes still to write (UINT64_MAX: forever) */
    bool     bulk_close;          /* close when bulk_left reaches 0 */
    uint64_t await_bytes;         /* request/response: bytes awaited */
    int      on_response;         /* ref */
    bool     requester;           /* client of tcp_request */
    ns_time_t request_sent;       /* when the request went out: at ESTABLISHED */
    uint64_t respond;             /* server of tcp_request: reply size */
};

struct llistener {
    ns_sim          *sim;
    ns_tcp_listener *l;
    int              on_accept;
    int              self;
    int              conn_cb[NCB];    /* applied to accepted connections */
    uint64_t         respond;         /* server side of tcp_request: reply size */
    uint64_t         request_size;
};

struct ludata_list {
    GPtrArray *conns;             /* struct lconn*, owned */
    GPtrArray *listeners;         /* struct llistener*, owned */
};

static void lconn_free(gpointer p)
{
    struct lconn *lc = p;
    ns_lua_unref(lc->sim, lc->self);
    for (int i = 0; i < NCB; i++)
        ns_lua_unref(lc->sim, lc->cb[i]);
    ns_lua_unref(lc->sim, lc->on_response);
    g_free(lc);
}

static void llistener_free(gpointer p)
{
    struct llistener *ll = p;
    ns_lua_unref(ll->sim, ll->on_accept);
    ns_lua_unref(ll->sim, ll->self);
    for (int i = 0; i < NCB; i++)
        ns_lua_unref(ll->sim, ll->conn_cb[i]);
    g_free(ll);
}

static void lists_free(gpointer p)
{
    struct ludata_list *ls = p;
    g_ptr_array_free(ls->conns, TRUE);
    g_ptr_array_free(ls->listeners, TRUE);
    g_free(ls);
}

static struct ludata_list *lists(ns_sim *sim)
{
    struct ludata_list *ls = ns_sim_attached(sim, "lua.tcp");
    if (!ls) {
        ls = g_new0(struct ludata_list, 1);
        ls->conns = g_ptr_array_new_with_free_func(lconn_free);
        ls->listeners = g_ptr_array_new_with_free_func(llistener_free);
        ns_sim_attach(sim, "lua.tcp", ls, lists_free);
    }
    return ls;
}

struct conn_ud {                  /* netsim.TcpConn userdata */
    struct lconn *lc;
};

static struct lconn *check_conn(lua_State *L, int idx)
{
    return ((struct conn_ud *)ns_lua_check_handle(L, idx, T_CONN))->lc;
}

/* Pushes the handle of lc (its userdata is kept alive by lc->self). */
static void push_conn(lua_State *L, struct lconn *lc)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, lc->self);
}

/* ---- C callbacks into Lua ---- */

static void call0(struct lconn *lc, int which, int extra_pushed_fn(lua_State *, void *), void *arg)
{
    lua_State *T = ns_lua_call_begin(lc->sim, lc->cb[which]);
    if (!T)
        return;
    push_conn(T, lc);
    int n = extra_pushed_fn ? extra_pushed_fn(T, arg) : 0;
    ns_lua_call_end(lc->sim, T, 1 + n);
}

static void bulk_fill(struct lconn *lc);

static void on_established(ns_tcp *c, void *ud)
{
    struct lconn *lc = ud;
    /* The request is written now, behind the handshake: the response
     * time excludes connection set-up. */
    if (lc->requester)
        lc->request_sent = ns_sim_now(lc->sim);
    bulk_fill(lc);
    call0(lc, CB_ESTABLISHED, NULL, NULL);
}

struct data_arg { const uint8_t *b; uint32_t len; };

static int push_data(lua_State *T, void *p)
{
    struct data_arg *d = p;
    if (d->b)
        lua_pushlstring(T, (const char *)d->b, d->len);
    else
        lua_pushinteger(T, d->len);
    return 1;
}

static void on_data(ns_tcp *c, const uint8_t *b, uint32_t len, void *ud)
{
    struct lconn *lc = ud;
    if (lc->await_bytes) {
        uint64_t take = len < lc->await_bytes ? len : lc->await_bytes;
        lc->await_bytes -= take;
        if (lc->await_bytes == 0 && lc->respond) {
            lc->bulk_left = lc->respond;          /* the request is in: answer */
            bulk_fill(lc);
        }
        if (lc->await_bytes == 0 && lc->on_response != LUA_NOREF) {
            lua_State *T = ns_lua_call_begin(lc->sim, lc->on_response);
            if (T) {
                push_conn(T, lc);
                lua_pushnumber(T, ns_time_to_sec(ns_sim_now(lc->sim) - lc->request_sent));
                ns_lua_call_end(lc->sim, T, 2);
            }
        }
    }
    struct data_arg d = { b, len };
    call0(lc, CB_DATA, push_data, &d);
}

static int push_u64(lua_State *T, void *p)
{
    lua_pushinteger(T, (lua_Integer)*(uint64_t *)p);
    return 1;
}

static void on_sent(ns_tcp *c, uint64_t acked, void *ud)
{
    struct lconn *lc = ud;
    bulk_fill(lc);
    call0(lc, CB_SENT, push_u64, &acked);
}

static void on_eof(ns_tcp *c, void *ud)
{
    call0(ud, CB_CLOSE, NULL, NULL);
}

static void on_closed(ns_tcp *c, void *ud)
{
    call0(ud, CB_FINISHED, NULL, NULL);
}

static int push_str(lua_State *T, void *p)
{
    lua_pushstring(T, p);
    return 1;
}

static void on_error(ns_tcp *c, const char *reason, void *ud)
{
    call0(ud, CB_ERROR, push_str, (void *)reason);
}

static const struct ns_tcp_callbacks callbacks = {
    on_established, on_data, on_sent, on_eof, on_closed, on_error
};

/* Keeps the send buffer topped up for a bulk sender. */
static void bulk_fill(struct lconn *lc)
{
    ns_tcp *c = lc->c;
    if (lc->bulk_left == 0)
        return;
    enum ns_tcp_state s = ns_tcp_state(c);
    if (s != NS_TCP_ESTABLISHED && s != NS_TCP_CLOSE_WAIT)
        return;
    uint32_t space = ns_tcp_send_space(c);
    uint64_t n = lc->bulk_left < space ? lc->bulk_left : space;
    if (n > 0 && ns_tcp_send(c, NULL, (uint32_t)n, NULL) && lc->bulk_left != UINT64_MAX)
        lc->bulk_left -= n;
    if (lc->bulk_left == 0 && lc->bulk_close)
        ns_tcp_close(c);
}

static struct lconn *new_lconn(lua_State *L, int sim_idx, ns_tcp *c)
{
    struct lconn *lc = g_new0(struct lconn, 1);
    lc->sim = ns_host_sim(ns_tcp_host(c));
    lc->c = c;
    lc->on_response = LUA_NOREF;
    for (int i = 0; i < NCB; i++)
        lc->cb[i] = LUA_NOREF;
    struct conn_ud *u = ns_lua_new_handle(L, sim_idx, sizeof *u, T_CONN);
    u->lc = lc;
    lua_pushvalue(L, -1);
    lc->self = luaL_ref(L, LUA_REGISTRYINDEX);
    g_ptr_array_add(lists(lc->sim)->conns, lc);
    ns_tcp_set_callbacks(c, &callbacks, lc);
    return lc;
}

/* ---- options ---- */

static const char *const tcp_options[] = {
    "mss", "sndbuf", "rcvbuf", "window_scale", "timestamps", "sack", "nodelay",
    "delayed_ack", "ecn", "delack_timeout", "initial_rto", "min_rto", "max_rto",
    "syn_retries", "retries", "msl", "fin_timeout", "init_cwnd", "cc",
    /* handled by the callers */
    "on_established", "on_data", "on_sent", "on_close", "on_error", "on_finished",
    "on_accept", "bytes", "close", "request", "response", "on_response", "read_rate", NULL
};

static void read_opts(lua_State *L, int tbl, int arg, const char *fname, struct ns_tcp_opts *o)
{
    ns_tcp_opts_defaults(o);
    if (lua_isnoneornil(L, tbl))
        return;
    ns_lua_check_options(L, tbl, fname, tcp_options);
    o->mss = (uint32_t)ns_lua_opt_size(L, tbl, arg, "mss", o->mss);
    o->sndbuf = (uint32_t)ns_lua_opt_size(L, tbl, arg, "sndbuf", o->sndbuf);
    o->rcvbuf = (uint32_t)ns_lua_opt_size(L, tbl, arg, "rcvbuf", o->rcvbuf);
    o->window_scale = ns_lua_opt_bool(L, tbl, arg, "window_scale", o->window_scale);
    o->timestamps = ns_lua_opt_bool(L, tbl, arg, "timestamps", o->timestamps);
    o->sack = ns_lua_opt_bool(L, tbl, arg, "sack", o->sack);
    o->nodelay = ns_lua_opt_bool(L, tbl, arg, "nodelay", o->nodelay);
    o->delayed_ack = ns_lua_opt_bool(L, tbl, arg, "delayed_ack", o->delayed_ack);
    o->ecn = ns_lua_opt_bool(L, tbl, arg, "ecn", o->ecn);
    o->delack_timeout = ns_lua_opt_time(L, tbl, arg, "delack_timeout", o->delack_timeout);
    o->initial_rto = ns_lua_opt_time(L, tbl, arg, "initial_rto", o->initial_rto);
    o->min_rto = ns_lua_opt_time(L, tbl, arg, "min_rto", o->min_rto);
    o->max_rto = ns_lua_opt_time(L, tbl, arg, "max_rto", o->max_rto);
    o->syn_retries = (unsigned)ns_lua_opt_integer(L, tbl, arg, "syn_retries", o->syn_retries);
    o->retries = (unsigned)ns_lua_opt_integer(L, tbl, arg, "retries", o->retries);
    o->msl = ns_lua_opt_time(L, tbl, arg, "msl", o->msl);
    o->fin_timeout = ns_lua_opt_time(L, tbl, arg, "fin_timeout", o->fin_timeout);
    o->init_cwnd = (uint32_t)ns_lua_opt_integer(L, tbl, arg, "init_cwnd", o->init_cwnd);
    o->cc = ns_lua_opt_string(L, tbl, arg, "cc", o->cc);
}

static void check_opts(lua_State *L, ns_sim *sim, const struct ns_tcp_opts *o)
{
    GError *err = NULL;
    if (!ns_tcp_opts_check(o, sim, &err))
        ns_lua_raise_gerror(L, err);
}

/* Takes on_* functions from the options table into refs[]. */
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

#define check_host ns_lua_check_host
#define check_dst  ns_lua_check_addr

static uint16_t check_port(lua_State *L, int idx)
{
    lua_Integer p = luaL_checkinteger(L, idx);
    luaL_argcheck(L, p >= 1 && p <= 65535, idx, "port must be in [1, 65535]");
    return (uint16_t)p;
}

/* ---- listeners ---- */

static void on_accept(ns_tcp_listener *l, ns_tcp *c, void *ud)
{
    struct llistener *ll = ud;
    lua_State *T = ns_lua_thread(ll->sim);
    if (!T)
        return;
    lua_rawgeti(T, LUA_REGISTRYINDEX, ll->self);
    ns_lua_push_handle_sim(T, -1);
    struct lconn *lc = new_lconn(T, -1, c);
    lua_pop(T, 3);
    for (int i = 0; i < NCB; i++) {
        if (ll->conn_cb[i] != LUA_NOREF) {
            lua_rawgeti(T, LUA_REGISTRYINDEX, ll->conn_cb[i]);
            lc->cb[i] = luaL_ref(T, LUA_REGISTRYINDEX);
        }
    }
    if (ll->respond) {
        lc->await_bytes = ll->request_size;    /* server side of tcp_request */
        lc->respond = ll->respond;
    }
    if (ll->on_accept != LUA_NOREF) {
        lua_State *T2 = ns_lua_call_begin(ll->sim, ll->on_accept);
        if (T2) {
            push_conn(T2, lc);
            ns_lua_call_end(ll->sim, T2, 1);
        }
    }
    /* on_established follows: the TCB calls it after accepting. */
}

/* host:tcp_listen(port, { on_accept = fn(conn), on_data = ..., <tcp opts> })
 *   -> netsim.TcpListener */
static int host_tcp_listen(lua_State *L)
{
    ns_host *h = check_host(L, 1);
    uint16_t port = check_port(L, 2);
    struct ns_tcp_opts o;
    read_opts(L, 3, 3, "tcp_listen", &o);
    ns_lua_push_handle_sim(L, 1);
    int sim_idx = lua_gettop(L);
    ns_sim *sim = ns_lua_check_sim(L, sim_idx);
    check_opts(L, sim, &o);
    GError *err = NULL;
    struct llistener *ll = g_new0(struct llistener, 1);
    ll->sim = sim;
    ll->on_accept = LUA_NOREF;
    for (int i = 0; i < NCB; i++)
        ll->conn_cb[i] = LUA_NOREF;
    ns_tcp_listener *l = ns_tcp_listen(h, port, &o, on_accept, ll, &err);
    if (!l) {
        g_free(ll);
        return ns_lua_raise_gerror(L, err);
    }
    ll->l = l;
    g_ptr_array_add(lists(sim)->listeners, ll);
    if (!lua_isnoneornil(L, 3)) {
        if (lua_getfield(L, 3, "on_accept") != LUA_TNIL)
            ll->on_accept = ns_lua_ref_function(L, lua_gettop(L));
        lua_pop(L, 1);
        read_callbacks(L, 3, ll->conn_cb);
        lua_Integer resp = ns_lua_opt_integer(L, 3, 3, "response", 0);
        if (resp > 0) {
            ll->respond = (uint64_t)resp;
            ll->request_size = (uint64_t)ns_lua_opt_integer(L, 3, 3, "request", 1);
        }
    }
    struct llistener **ud = ns_lua_new_handle(L, sim_idx, sizeof *ud, T_LISTENER);
    *ud = ll;
    lua_pushvalue(L, -1);
    ll->self = luaL_ref(L, LUA_REGISTRYINDEX);
    return 1;
}

/* l:on_accept(fn(conn)) */
static int listener_on_accept(lua_State *L)
{
    struct llistener *ll = *(struct llistener **)ns_lua_check_handle(L, 1, T_LISTENER);
    ns_lua_replace_callback(L, 2, ll->sim, &ll->on_accept);
    return 0;
}

static int listener_close(lua_State *L)
{
    struct llistener *ll = *(struct llistener **)ns_lua_check_handle(L, 1, T_LISTENER);
    if (ll->l) {
        ns_tcp_listener_close(ll->l);
        ll->l = NULL;
    }
    return 0;
}

/* ---- connections ---- */

static struct lconn *connect_with(lua_State *L, const char *fname)
{
    ns_host *h = check_host(L, 1);
    uint32_t dst = check_dst(L, 2);
    uint16_t port = check_port(L, 3);
    struct ns_tcp_opts o;
    read_opts(L, 4, 4, fname, &o);
    ns_lua_push_handle_sim(L, 1);
    int sim_idx = lua_gettop(L);
    ns_sim *sim = ns_lua_check_sim(L, sim_idx);
    check_opts(L, sim, &o);
    GError *err = NULL;
    ns_tcp *c = ns_tcp_connect(h, dst, port, &o, &err);
    if (!c)
        ns_lua_raise_gerror(L, err);
    struct lconn *lc = new_lconn(L, sim_idx, c);
    read_callbacks(L, 4, lc->cb);
    double rate = ns_lua_opt_rate(L, 4, 4, "read_rate", 0) / 8.0;
    if (rate > 0)
        ns_tcp_set_read_rate(c, rate);
    return lc;
}

/* host:tcp_connect(dst, port, { on_established = fn(conn), ..., <tcp opts> })
 *   -> netsim.TcpConn */
static int host_tcp_connect(lua_State *L)
{
    connect_with(L, "tcp_connect");
    return 1;
}

/* host:tcp_bulk(dst, port, { bytes = n (nil: unlimited), close = true, ... })
 * a bulk sender: keeps the send buffer full of length-only data. */
static int host_tcp_bulk(lua_State *L)
{
    struct lconn *lc = connect_with(L, "tcp_bulk");
    double bytes = ns_lua_opt_size(L, 4, 4, "bytes", -1);
    lc->bulk_left = bytes < 0 ? UINT64_MAX : (uint64_t)bytes;
    lc->bulk_close = ns_lua_opt_bool(L, 4, 4, "close", true) && bytes >= 0;
    return 1;
}

/* host:tcp_request(dst, port, { request = n, response = m,
 *                               on_response = fn(conn, seconds) }):
 * sends n bytes, awaits m, reports the time. */
static int host_tcp_request(lua_State *L)
{
    struct lconn *lc = connect_with(L, "tcp_request");
    lc->bulk_left = (uint64_t)ns_lua_opt_size(L, 4, 4, "request", 1);
    lc->bulk_close = false;
    lc->await_bytes = (uint64_t)ns_lua_opt_size(L, 4, 4, "response", 1);
    lc->requester = true;
    if (!lua_isnoneornil(L, 4)) {
        if (lua_getfield(L, 4, "on_response") != LUA_TNIL)
            lc->on_response = ns_lua_ref_function(L, lua_gettop(L));
        lua_pop(L, 1);
    }
    push_conn(L, lc);
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
static int conn_on_sent(lua_State *L) { return set_cb(L, CB_SENT); }
static int conn_on_close(lua_State *L) { return set_cb(L, CB_CLOSE); }
static int conn_on_error(lua_State *L) { return set_cb(L, CB_ERROR); }
static int conn_on_finished(lua_State *L) { return set_cb(L, CB_FINISHED); }

/* conn:send(n_or_string) */
static int conn_send(lua_State *L)
{
    struct lconn *lc = check_conn(L, 1);
    uint32_t len;
    const char *data = ns_lua_check_payload(L, 2, &len);
    GError *err = NULL;
    if (!ns_tcp_send(lc->c, data, len, &err)) {
        g_prefix_error(&err, "conn:send: ");
        return ns_lua_raise_gerror(L, err);
    }
    return 0;
}

static int conn_shutdown(lua_State *L) { ns_tcp_shutdown(check_conn(L, 1)->c); return 0; }
static int conn_close(lua_State *L) { ns_tcp_close(check_conn(L, 1)->c); return 0; }
static int conn_abort(lua_State *L) { ns_tcp_abort(check_conn(L, 1)->c); return 0; }

static int conn_state(lua_State *L)
{
    lua_pushstring(L, ns_tcp_state_name(ns_tcp_state(check_conn(L, 1)->c)));
    return 1;
}

static int conn_name(lua_State *L)
{
    lua_pushstring(L, ns_tcp_name(check_conn(L, 1)->c));
    return 1;
}

/* conn:set_read_rate(rate): a slow reader, bit/s ("1Mbps"); 0: instant */
static int conn_set_read_rate(lua_State *L)
{
    struct lconn *lc = check_conn(L, 1);
    ns_tcp_set_read_rate(lc->c, ns_lua_check_rate(L, 2) / 8.0);
    return 0;
}

#define FIELD_INT(name, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, name))
#define FIELD_NUM(name, v) (lua_pushnumber(L, (v)), lua_setfield(L, -2, name))

/* conn:info() -> { cwnd, ssthresh, flight, rwnd, srtt, rttvar, rto,
 *   min_rtt, bytes_sent, bytes_acked, bytes_received, segs_out, segs_in,
 *   retransmits, fast_retransmits, timeouts, recoveries, ecn_reductions,
 *   established_at, state } (times in seconds) */
static int conn_info(lua_State *L)
{
    struct lconn *lc = check_conn(L, 1);
    struct ns_tcp_info i;
    ns_tcp_info(lc->c, &i);
    lua_newtable(L);
    FIELD_INT("cwnd", i.cwnd);
    FIELD_INT("ssthresh", i.ssthresh == UINT32_MAX ? 0 : i.ssthresh);
    FIELD_INT("flight", i.flight);
    FIELD_INT("rwnd", i.rwnd);
    FIELD_NUM("srtt", ns_time_to_sec(i.srtt));
    FIELD_NUM("rttvar", ns_time_to_sec(i.rttvar));
    FIELD_NUM("rto", ns_time_to_sec(i.rto));
    FIELD_NUM("min_rtt", ns_time_to_sec(i.min_rtt));
    FIELD_INT("bytes_sent", i.bytes_sent);
    FIELD_INT("bytes_acked", i.bytes_acked);
    FIELD_INT("bytes_received", i.bytes_received);
    FIELD_INT("segs_out", i.segs_out);
    FIELD_INT("segs_in", i.segs_in);
    FIELD_INT("retransmits", i.retransmits);
    FIELD_INT("fast_retransmits", i.fast_retransmits);
    FIELD_INT("timeouts", i.timeouts);
    FIELD_INT("recoveries", i.recoveries);
    FIELD_INT("ecn_reductions", i.ecn_reductions);
    FIELD_NUM("established_at", i.established_at < 0 ? -1 : ns_time_to_sec(i.established_at));
    lua_pushstring(L, ns_tcp_state_name(ns_tcp_state(lc->c)));
    lua_setfield(L, -2, "state");
    return 1;
}

static int conn_tostring(lua_State *L)
{
    struct conn_ud *u = luaL_checkudata(L, 1, T_CONN);
    lua_pushfstring(L, "netsim.TcpConn(%s)", ns_tcp_name(u->lc->c));
    return 1;
}

static const char *const trace_opts[] = { "every", "seq", NULL };

/* sim:tcp_trace{ every = "100ms", seq = false }: cwnd.tsv, goodput.tsv
 * (and seq.tsv) for every connection. */
static int sim_tcp_trace(lua_State *L)
{
    ns_sim *sim = ns_lua_check_sim(L, 1);
    if (!lua_isnoneornil(L, 2))
        ns_lua_check_options(L, 2, "tcp_trace", trace_opts);
    ns_time_t every = ns_lua_opt_time(L, 2, 2, "every", 100 * NS_MSEC);
    bool seq = ns_lua_opt_bool(L, 2, 2, "seq", false);
    GError *err = NULL;
    if (!ns_tcp_trace_tables(sim, every, seq, &err))
        return ns_lua_raise_gerror(L, err);
    return 0;
}

/* sim:goodput() -> { [flow name] = bit/s since established, ... } sorted
 * flows as a list of { flow, bps }; sim:fairness() -> Jain's index. */
static int sim_tcp_goodputs(lua_State *L)
{
    ns_sim *sim = ns_lua_check_sim(L, 1);
    lua_newtable(L);
    int k = 0;
    for (size_t i = 0; i < ns_tcp_count(sim); i++) {
        ns_tcp *c = ns_tcp_nth(sim, i);
        struct ns_tcp_info in;
        ns_tcp_info(c, &in);
        if (in.bytes_received == 0)
            continue;
        ns_time_t span = ns_sim_now(sim) - (in.established_at > 0 ? in.established_at : 0);
        lua_newtable(L);
        lua_pushstring(L, ns_tcp_name(c));
        lua_setfield(L, -2, "flow");
        lua_pushnumber(L, span > 0 ? (double)in.bytes_received * 8.0 / ns_time_to_sec(span) : 0);
        lua_setfield(L, -2, "bps");
        lua_rawseti(L, -2, ++k);
    }
    return 1;
}

static const luaL_Reg conn_methods[] = {
    { "on_established", conn_on_established }, { "on_data", conn_on_data },
    { "on_sent", conn_on_sent }, { "on_close", conn_on_close },
    { "on_error", conn_on_error }, { "on_finished", conn_on_finished },
    { "send", conn_send }, { "shutdown", conn_shutdown }, { "close", conn_close },
    { "abort", conn_abort }, { "state", conn_state }, { "name", conn_name },
    { "info", conn_info }, { "set_read_rate", conn_set_read_rate },
    { "__tostring", conn_tostring }, { NULL, NULL }
};

static const luaL_Reg listener_methods[] = {
    { "on_accept", listener_on_accept }, { "close", listener_close }, { NULL, NULL }
};

static const luaL_Reg host_methods[] = {
    { "tcp_listen", host_tcp_listen }, { "tcp_connect", host_tcp_connect },
    { "tcp_bulk", host_tcp_bulk }, { "tcp_request", host_tcp_request }, { NULL, NULL }
};

static const luaL_Reg sim_methods[] = {
    { "tcp_trace", sim_tcp_trace }, { "tcp_goodputs", sim_tcp_goodputs }, { NULL, NULL }
};

void ns_lua_open_tcp(lua_State *L)
{
    ns_lua_new_type(L, T_CONN, conn_methods);
    ns_lua_new_type(L, T_LISTENER, listener_methods);
    luaL_getmetatable(L, T_HOST);
    luaL_setfuncs(L, host_methods, 0);
    lua_pop(L, 1);
    luaL_getmetatable(L, "netsim.Sim");
    luaL_setfuncs(L, sim_methods, 0);
    lua_pop(L, 1);
}
