/* tcp.c — the TCP model's API: options, listeners, connections, ports,
 * the send buffer and delivery to the application.
 *
 * Invariants: a TCB is in its host's table (found by local port, remote
 * address and port) from creation until it reaches CLOSED; every TCB of a
 * sim stays allocated until the sim is freed (handles held by Lua or a
 * model never dangle); the application hears exactly one of "closed" or
 * "error" per connection.
 */
#include <stdio.h>

#include "tcp_priv.h"

#define TCP_SIM_KEY  "tcp"
#define TCP_HOST_KEY "tcp"

static const struct ns_proto_ops tcp_proto = {
    .name       = "tcp",
    .proto      = NS_IPPROTO_TCP,
    .input      = ns__tcp_input,
    .describe   = ns__tcp_describe,
    .icmp_error = ns__tcp_icmp_error,
};

void ns_tcp_opts_defaults(struct ns_tcp_opts *o)
{
    *o = (struct ns_tcp_opts){
        .mss = 1460,
        .sndbuf = 4u << 20,
        .rcvbuf = 4u << 20,
        .window_scale = true,
        .timestamps = true,
        .sack = true,
        .nodelay = false,
        .delayed_ack = true,
        .ecn = false,
        .delack_timeout = 40 * NS_MSEC,
        .initial_rto = NS_SEC,
        .min_rto = 200 * NS_MSEC,
        .max_rto = 60 * NS_SEC,
        .syn_retries = 6,
        .retries = 15,
        .msl = 30 * NS_SEC,
        .fin_timeout = 60 * NS_SEC,
        .init_cwnd = 10,
        .cc = "newreno",
    };
}

bool ns_tcp_opts_check(const struct ns_tcp_opts *o, ns_sim *sim, GError **error)
{
#define BAD(...) do { g_set_error(error, NS_ERROR, NS_ERROR_INVALID, __VA_ARGS__); return false; } while (0)
    if (o->mss < 88 || o->mss > 65495)
        BAD("TCP option mss %u is outside [88, 65495]", o->mss);
    if (o->sndbuf < o->mss || o->sndbuf > (1u << 30))
        BAD("TCP option sndbuf %u is outside [mss, 1 GiB]", o->sndbuf);
    if (o->rcvbuf < o->mss || o->rcvbuf > (1u << 30))
        BAD("TCP option rcvbuf %u is outside [mss, 1 GiB]", o->rcvbuf);
    if (!o->window_scale && o->rcvbuf > 65535)
        BAD("TCP option rcvbuf %u needs window_scale (the largest unscaled window is 65535)",
            o->rcvbuf);
    if (o->init_cwnd < 1 || o->init_cwnd > 1000)
        BAD("TCP option init_cwnd %u is outside [1, 1000] segments", o->init_cwnd);
    if (o->min_rto <= 0 || o->max_rto < o->min_rto || o->initial_rto <= 0)
        BAD("TCP options min_rto, initial_rto and max_rto must be > 0 and min_rto <= max_rto");
    if (o->delack_timeout <= 0 || o->delack_timeout > 500 * NS_MSEC)
        BAD("TCP option delack_timeout must be in (0, 500 ms] (RFC 1122 4.2.3.2)");
    if (o->msl < 0)
        BAD("TCP option msl must not be negative");
    if (o->fin_timeout <= 0)
        BAD("TCP option fin_timeout must be > 0");
    if (o->syn_retries > 30 || o->retries > 30)
        BAD("TCP options syn_retries and retries must be at most 30");
#undef BAD
    return ns_cc_find(sim, o->cc ? o->cc : "newreno", error) != NULL;
}

/* ---- registries ---- */

/* What a connection hears before ns_tcp_set_callbacks: nothing. */
static const struct ns_tcp_callbacks no_callbacks;
static void tcb_free(gpointer p);

static void tcp_sim_free(gpointer p)
{
    struct tcp_sim *ts = p;
    g_ptr_array_free(ts->all, TRUE);
    g_hash_table_destroy(ts->opts);
    g_hash_table_destroy(ts->names);
    if (ts->goodput_marks)
        g_array_free(ts->goodput_marks, TRUE);
    g_free(ts);
}

static void on_fault(ns_host *h, enum ns_host_fault f, void *ud);
static void on_addr_change(ns_iface *ifc, uint32_t old_addr, uint32_t new_addr, void *ud);

/* Options are compared field by field, never with memcmp: a caller's
 * struct may carry garbage in its padding.  cc is compared by pointer, as
 * interned copies hold the registered name. */
static gboolean opts_equal(gconstpointer pa, gconstpointer pb)
{
    const struct ns_tcp_opts *a = pa, *b = pb;
    return a->mss == b->mss && a->sndbuf == b->sndbuf && a->rcvbuf == b->rcvbuf &&
           a->window_scale == b->window_scale && a->timestamps == b->timestamps &&
           a->sack == b->sack && a->nodelay == b->nodelay && a->delayed_ack == b->delayed_ack &&
           a->ecn == b->ecn && a->delack_timeout == b->delack_timeout &&
           a->initial_rto == b->initial_rto && a->min_rto == b->min_rto &&
           a->max_rto == b->max_rto && a->syn_retries == b->syn_retries &&
           a->retries == b->retries && a->msl == b->msl && a->fin_timeout == b->fin_timeout &&
           a->init_cwnd == b->init_cwnd && a->cc == b->cc;
}

static guint opts_hash(gconstpointer p)
{
    const struct ns_tcp_opts *o = p;
    uint64_t h = o->mss;
    h = h * 31 + o->sndbuf;
    h = h * 31 + o->rcvbuf;
    h = h * 31 + (uint64_t)o->initial_rto;
    h = h * 31 + (uint64_t)o->min_rto;
    h = h * 31 + o->init_cwnd;
    h = h * 31 + (uintptr_t)o->cc;
    return (guint)((h * UINT64_C(0x9E3779B97F4A7C15)) >> 32);
}

/* The shared copy of o (with cc resolved to ccops): a hundred thousand
 * connections opened with the same options keep one copy, not 96 bytes
 * each.  Copies live as long as the sim, as TCBs do, so a sim never holds
 * more copies than it would have held TCB-embedded ones. */
static const struct ns_tcp_opts *opts_intern(struct tcp_sim *ts, const struct ns_tcp_opts *o,
                                             const struct ns_cc_ops *ccops)
{
    struct ns_tcp_opts key = *o;
    key.cc = ccops->name;
    struct ns_tcp_opts *found = g_hash_table_lookup(ts->opts, &key);
    if (!found) {
        found = g_new(struct ns_tcp_opts, 1);
        *found = key;
        g_hash_table_add(ts->opts, found);
    }
    return found;
}

struct tcp_sim *ns__tcp_sim(ns_sim *sim)
{
    struct tcp_sim *ts = ns_sim_attached(sim, TCP_SIM_KEY);
    if (!ts) {
        ts = g_new0(struct tcp_sim, 1);
        ts->sim = sim;
        ts->all = g_ptr_array_new_with_free_func(tcb_free);
        ts->opts = g_hash_table_new_full(opts_hash, opts_equal, g_free, NULL);
        ts->names = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
        ns_net_register_proto(sim, &tcp_proto, NULL);
        ns_net_on_fault(sim, on_fault, ts);
        ns_net_on_addr_change(sim, on_addr_change, ts);
        ns_sim_attach(sim, TCP_SIM_KEY, ts, tcp_sim_free);
    }
    return ts;
}

static void tcp_host_free(gpointer p)
{
    struct tcp_host *th = p;
    g_hash_table_destroy(th->conns);
    g_hash_table_destroy(th->listeners);
    g_slist_free_full(th->closed, g_free);
    g_free(th);
}

/* conns is a set of TCBs whose first field is their 64-bit key, so a
 * lookup passes a pointer to a key and finds the TCB, and GLib keeps no
 * values array (key == value).
 *
 * GLib's g_int64_hash keeps only the low 32 bits: here the remote address,
 * so every connection to one peer would share a bucket (100,000
 * connections between two hosts took minutes).  Mix all 64 bits. */
G_STATIC_ASSERT(offsetof(struct ns_tcp, key) == 0);

static guint key_hash(gconstpointer k)
{
    return (guint)((*(const uint64_t *)k * UINT64_C(0x9E3779B97F4A7C15)) >> 32);
}

struct tcp_host *ns__tcp_host(ns_host *h)
{
    struct tcp_host *th = ns_host_attached(h, TCP_HOST_KEY);
    if (!th) {
        struct tcp_sim *ts = ns__tcp_sim(ns_host_sim(h));
        th = g_new0(struct tcp_host, 1);
        th->ts = ts;
        th->host = h;
        th->conns = g_hash_table_new(key_hash, g_int64_equal);
        th->listeners = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
        th->next_port = EPHEMERAL_FIRST;
        th->isn = ns_host_rng(h, "tcp.isn");
        ns_host_attach(h, TCP_HOST_KEY, th, tcp_host_free);
    }
    return th;
}

uint64_t ns__tcp_key(uint16_t lport, uint32_t raddr, uint16_t rport)
{
    return (uint64_t)lport << 48 | (uint64_t)rport << 32 | raddr;
}

ns_tcp *ns__tcp_new(struct tcp_host *th, const struct ns_tcp_opts *o,
                    uint32_t laddr, uint32_t raddr, uint16_t lport, uint16_t rport)
{
    ns_sim *sim = ns_host_sim(th->host);
    struct tcp_sim *ts = ns__tcp_sim(sim);
    ns_tcp *c = g_new0(ns_tcp, 1);
    c->sim = sim;
    c->th = th;
    c->key = ns__tcp_key(lport, raddr, rport);
    c->laddr = laddr;
    c->state = NS_TCP_CLOSED;
    c->ccops = ns_cc_find(sim, o->cc ? o->cc : "newreno", NULL);
    g_assert(c->ccops);                    /* checked by ns_tcp_opts_check */
    c->o = opts_intern(ts, o, c->ccops);
    c->rto = o->initial_rto;
    c->st.established_at = -1;
    struct tcp_timer none = { NS_EVENT_NONE, NS_TIME_MAX, NS_TIME_MAX };
    c->t_rto = c->t_delack = none;
    /* Congestion control state: IW per RFC 6928, ssthresh "infinite". */
    c->cc.mss = o->mss - (o->timestamps ? TCP_TS_OPTLEN : 0);
    c->cc.cwnd = o->init_cwnd * c->cc.mss;
    c->cc.ssthresh = UINT32_MAX;
    c->cb = &no_callbacks;
    if (c->ccops->priv_size > sizeof c->ccpriv.words)
        c->ccpriv.heap = g_malloc0(c->ccops->priv_size);
    if (c->ccops->init)
        c->ccops->init(&c->cc, ns__tcp_ccpriv(c));
    g_hash_table_add(th->conns, c);
    c->in_table = true;
    g_ptr_array_add(ts->all, c);
    return c;
}

static void tcb_free(gpointer p)
{
    ns_tcp *c = p;
    ns__tcp_timers_stop(c);
    struct tcp_chunk *ch;
    while (c->chunks && (ch = g_queue_pop_head(c->chunks))) {
        ns_buf_unref(ch->buf);
        g_free(ch);
    }
    if (c->chunks)
        g_queue_free(c->chunks);
    if (c->rx) {
        for (guint i = 0; i < c->rx->q->len; i++)
            ns_payload_unref(g_array_index(c->rx->q, struct tcp_ooo, i).pl);
        g_array_free(c->rx->q, TRUE);
        g_free(c->rx);
    }
    g_free(c->rd);
    g_free(c->ps);
    g_free(c->t_2msl);
    g_free(c->st.loss);
    if (c->scoreboard)
        g_array_free(c->scoreboard, TRUE);
    if (c->ccops->priv_size > sizeof c->ccpriv.words)
        g_free(c->ccpriv.heap);
    g_free(c);
}

void ns__tcp_unhash(ns_tcp *c)
{
    if (!c->in_table)
        return;
    g_hash_table_remove(c->th->conns, &c->key);
    c->in_table = false;
}

void ns__tcp_report_error(ns_tcp *c, const char *reason)
{
    if (c->done)
        return;
    c->done = true;
    TCP_TRACE(c, "tcp.error", "conn=%s reason=%s", ns_tcp_name(c), reason);
    if (c->cb->error)
        c->cb->error(c, reason, c->ud);
}

void ns__tcp_report_closed(ns_tcp *c)
{
    if (c->done)
        return;
    c->done = true;
    if (c->cb->closed)
        c->cb->closed(c, c->ud);
}

static void on_fault(ns_host *h, enum ns_host_fault f, void *ud)
{
    struct tcp_sim *ts = ud;
    if (f != NS_HOST_CRASH)
        return;
    /* Creation order, so the traces are deterministic. */
    for (guint i = 0; i < ts->all->len; i++) {
        ns_tcp *c = g_ptr_array_index(ts->all, i);
        if (c->th->host == h && c->state != NS_TCP_CLOSED)
            ns__tcp_step(c, EV_HOST_CRASH);
    }
}

/* An interface gave up an address (a DHCP lease expired, or the address
 * changed): every connection bound to it ends, in creation order. */
static void on_addr_change(ns_iface *ifc, uint32_t old_addr, uint32_t new_addr, void *ud)
{
    struct tcp_sim *ts = ud;
    if (old_addr == 0 || old_addr == new_addr)
        return;
    ns_host *h = ns_iface_host(ifc);
    for (guint i = 0; i < ts->all->len; i++) {
        ns_tcp *c = g_ptr_array_index(ts->all, i);
        if (c->th->host == h && c->laddr == old_addr && c->state != NS_TCP_CLOSED)
            ns__tcp_step(c, EV_ADDR_LOST);
    }
}

/* ---- listeners and connections ---- */

ns_tcp_listener *ns_tcp_listen(ns_host *h, uint16_t port, const struct ns_tcp_opts *o,
                               ns_tcp_accept_fn accept, void *ud, GError **error)
{
    struct ns_tcp_opts def;
    if (!o) {
        ns_tcp_opts_defaults(&def);
        o = &def;
    }
    if (!ns_tcp_opts_check(o, ns_host_sim(h), error))
        return NULL;
    struct tcp_host *th = ns__tcp_host(h);
    if (port == 0 || g_hash_table_contains(th->listeners, GUINT_TO_POINTER(port))) {
        g_set_error(error, NS_ERROR, port ? NS_ERROR_EXISTS : NS_ERROR_INVALID,
                    port ? "host '%s': TCP port %u is already listening"
                         : "host '%s': cannot listen on TCP port %u", ns_host_name(h), port);
        return NULL;
    }
    ns_tcp_listener *l = g_new0(ns_tcp_listener, 1);
    l->host = h;
    l->th = th;
    l->port = port;
    l->o = *o;
    l->o.cc = ns_cc_find(ns_host_sim(h), o->cc ? o->cc : "newreno", NULL)->name;
    l->accept = accept;
    l->ud = ud;
    g_hash_table_insert(th->listeners, GUINT_TO_POINTER(port), l);
    return l;
}

void ns_tcp_listener_close(ns_tcp_listener *l)
{
    if (!l || l->closed)
        return;
    l->closed = true;
    /* Kept until the host goes: a child still in SYN-RECEIVED holds a
     * pointer to its listener and reads l->closed when it completes. */
    g_hash_table_steal(l->th->listeners, GUINT_TO_POINTER(l->port));
    l->th->closed = g_slist_prepend(l->th->closed, l);
}

static uint16_t ephemeral_port(struct tcp_host *th, uint32_t raddr, uint16_t rport)
{
    for (int tries = 0; tries < 16384; tries++) {
        uint16_t p = th->next_port;
        th->next_port = p == 65535 ? EPHEMERAL_FIRST : p + 1;
        uint64_t key = ns__tcp_key(p, raddr, rport);
        if (!g_hash_table_contains(th->conns, &key) &&
            !g_hash_table_contains(th->listeners, GUINT_TO_POINTER(p)))
            return p;
    }
    return 0;
}

ns_tcp *ns_tcp_connect(ns_host *h, uint32_t dst, uint16_t port,
                       const struct ns_tcp_opts *o, GError **error)
{
    struct ns_tcp_opts def;
    if (!o) {
        ns_tcp_opts_defaults(&def);
        o = &def;
    }
    if (!ns_tcp_opts_check(o, ns_host_sim(h), error))
        return NULL;
    if (port == 0 || dst == 0 || dst == NS_IP_BROADCAST) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "host '%s': cannot connect to port %u of that address", ns_host_name(h), port);
        return NULL;
    }
    struct tcp_host *th = ns__tcp_host(h);
    ns_iface *out;
    uint32_t next_hop;
    uint32_t laddr = ns_route_lookup(h, dst, &out, &next_hop) ? ns_iface_addr(out)
                                                              : ns_host_addr(h);
    uint16_t lport = ephemeral_port(th, dst, port);
    if (!lport) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS, "host '%s': no free ephemeral TCP port",
                    ns_host_name(h));
        return NULL;
    }
    ns_tcp *c = ns__tcp_new(th, o, laddr, dst, lport, port);
    ns__tcp_step(c, EV_CONNECT);
    return c;
}

void ns_tcp_set_callbacks(ns_tcp *c, const struct ns_tcp_callbacks *cb, void *ud)
{
    c->cb = cb ? cb : &no_callbacks;
    c->ud = ud;
}

/* ---- the send buffer ---- */

uint32_t ns_tcp_send_space(const ns_tcp *c)
{
    return c->buffered >= c->o->sndbuf ? 0 : c->o->sndbuf - c->buffered;
}

static bool can_send(const ns_tcp *c)
{
    switch (c->state) {
    case NS_TCP_SYN_SENT: case NS_TCP_SYN_RCVD: case NS_TCP_ESTABLISHED: case NS_TCP_CLOSE_WAIT:
        return !c->fin_queued;
    default:
        return false;
    }
}

bool ns_tcp_send(ns_tcp *c, const void *bytes, uint32_t len, GError **error)
{
    if (!can_send(c)) {
        g_set_error(error, NS_ERROR, NS_ERROR_STATE,
                    "connection %s cannot send: it is %s%s", ns_tcp_name(c),
                    ns_tcp_state_name(c->state), c->fin_queued ? " and shut down" : "");
        return false;
    }
    if (len > ns_tcp_send_space(c)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "connection %s: %u bytes do not fit the send buffer (%u free of %u)",
                    ns_tcp_name(c), len, ns_tcp_send_space(c), c->o->sndbuf);
        return false;
    }
    if (len == 0)
        return true;
    /* Length-only data next to length-only data merges into one chunk. */
    if (!c->chunks)
        c->chunks = g_queue_new();
    struct tcp_chunk *tail = g_queue_peek_tail(c->chunks);
    if (!bytes && tail && !tail->buf) {
        tail->len += len;
    } else {
        struct tcp_chunk *ch = g_new(struct tcp_chunk, 1);
        ch->buf = bytes ? ns_buf_new(bytes, len) : NULL;
        ch->off = 0;
        ch->len = len;
        g_queue_push_tail(c->chunks, ch);
    }
    c->buffered += len;
    if (c->state == NS_TCP_ESTABLISHED || c->state == NS_TCP_CLOSE_WAIT)
        ns__tcp_output(c);
    return true;
}

void ns__tcp_sendbuf_trim(ns_tcp *c, uint32_t acked)
{
    acked = acked > c->buffered ? c->buffered : acked;
    c->buffered -= acked;
    while (acked > 0) {
        struct tcp_chunk *ch = g_queue_peek_head(c->chunks);
        if (ch->len > acked) {
            ch->off += acked;
            ch->len -= acked;
            return;
        }
        acked -= ch->len;
        g_queue_pop_head(c->chunks);
        ns_buf_unref(ch->buf);
        g_free(ch);
    }
    if (c->chunks && g_queue_is_empty(c->chunks)) {
        g_queue_free(c->chunks);        /* all acknowledged: an idle sender keeps nothing */
        c->chunks = NULL;
    }
}

void ns_tcp_shutdown(ns_tcp *c)
{
    if (c->fin_queued || c->state == NS_TCP_CLOSED)
        return;
    if (c->state == NS_TCP_SYN_SENT || c->state == NS_TCP_LISTEN) {
        ns__tcp_step(c, EV_CLOSE);
        return;
    }
    ns__tcp_step(c, EV_CLOSE);
}

void ns_tcp_close(ns_tcp *c)
{
    bool was_closed = c->app_closed;
    c->app_closed = true;
    if (c->state == NS_TCP_FIN_WAIT_2 && !was_closed)
        ns__tcp_fin_timer_start(c);     /* shutdown() earlier, close() now */
    ns_tcp_shutdown(c);
}

void ns_tcp_abort(ns_tcp *c)
{
    if (c->state != NS_TCP_CLOSED)
        ns__tcp_step(c, EV_ABORT);
}

/* ---- the receive side ---- */

uint32_t ns__tcp_rcv_window(const ns_tcp *c)
{
    uint32_t used = c->rd ? c->rd->unread : 0;
    return used >= c->o->rcvbuf ? 0 : c->o->rcvbuf - used;
}

/* Hands in-order bytes [off, off+len) of pl (NULL: length-only) to the
 * application, one callback per span. */
void ns__tcp_deliver(ns_tcp *c, const struct ns_payload *pl, uint32_t off, uint32_t len)
{
    bool slow = c->rd && c->rd->rate > 0;
    c->st.bytes_received += len;
    if (slow)
        c->rd->unread += len;
    if (c->app_closed || !c->cb->data || len == 0) {
        if (slow)
            ns__tcp_read_schedule(c);
        return;
    }
    if (!pl) {
        c->cb->data(c, NULL, len, c->ud);
    } else {
        uint32_t pos = 0;
        for (uint32_t i = 0; i < pl->nspans && len > 0; i++) {
            const struct ns_span *sp = &pl->spans[i];
            if (off >= pos + sp->len) {
                pos += sp->len;
                continue;
            }
            uint32_t in = off - pos;
            uint32_t n = sp->len - in < len ? sp->len - in : len;
            c->cb->data(c, sp->buf ? sp->buf->data + sp->off + in : NULL, n, c->ud);
            if (c->state == NS_TCP_CLOSED)
                return;                 /* the callback aborted */
            off += n;
            len -= n;
            pos += sp->len;
        }
        if (len > 0)
            c->cb->data(c, NULL, len, c->ud);
    }
    if (c->rd && c->rd->rate > 0)          /* the callback may have changed it */
        ns__tcp_read_schedule(c);
}

void ns_tcp_set_read_rate(ns_tcp *c, double bytes_per_s)
{
    if (!c->rd) {
        if (!(bytes_per_s > 0))
            return;                     /* reads at once already: nothing changes */
        c->rd = g_new0(struct tcp_reader, 1);
        c->rd->t = (struct tcp_timer){ NS_EVENT_NONE, NS_TIME_MAX, NS_TIME_MAX };
    }
    struct tcp_reader *rd = c->rd;
    ns__tcp_read_drain(c);              /* what the old rate read until now */
    rd->rate = bytes_per_s > 0 ? bytes_per_s : 0;
    rd->last = ns_sim_now(c->sim);
    ns__timer_stop(c, &rd->t);          /* the next drain follows the new rate */
    if (rd->rate == 0 && rd->unread) {
        rd->unread = 0;
        if (c->state >= NS_TCP_ESTABLISHED)
            ns__tcp_send_ack(c);        /* the window reopens */
    }
    ns__tcp_read_schedule(c);
    ns__tcp_reader_release(c);
}

/* ---- observing ---- */

enum ns_tcp_state ns_tcp_state(const ns_tcp *c) { return c->state; }
ns_host *ns_tcp_host(const ns_tcp *c) { return c->th->host; }
uint16_t ns_tcp_local_port(const ns_tcp *c) { return ns__tcp_lport(c); }
uint16_t ns_tcp_remote_port(const ns_tcp *c) { return ns__tcp_rport(c); }
uint32_t ns_tcp_remote_addr(const ns_tcp *c) { return ns__tcp_raddr(c); }
/* Built on first use: finding the peer's name scans the hosts, which a
 * hundred thousand connections that nobody traces should not pay for.
 * Kept in the sim's names table, not the TCB, for the same reason: a
 * traced run pays a hash lookup per line instead. */
const char *ns_tcp_name(const ns_tcp *c)
{
    char *name = g_hash_table_lookup(c->th->ts->names, c);
    if (!name) {
        char ra[NS_ADDR_STRLEN];
        ns_host *peer = ns_host_owning(c->sim, ns__tcp_raddr(c));
        name = g_strdup_printf("%s:%u>%s:%u", ns_host_name(c->th->host), ns__tcp_lport(c),
                                  peer ? ns_host_name(peer) : ns_addr_format(ns__tcp_raddr(c), ra),
                                  ns__tcp_rport(c));
        g_hash_table_insert(c->th->ts->names, (gpointer)c, name);   /* a key only */
    }
    return name;
}

void ns_tcp_info(const ns_tcp *c, struct ns_tcp_info *out)
{
    static const struct tcp_loss_stats none;
    const struct tcp_loss_stats *loss = c->st.loss ? c->st.loss : &none;
    *out = (struct ns_tcp_info){
        .bytes_sent = c->st.bytes_sent,
        .bytes_acked = c->st.bytes_acked,
        .bytes_received = c->st.bytes_received,
        .segs_out = c->st.segs_out,
        .segs_in = c->st.segs_in,
        .retransmits = loss->retransmits,
        .fast_retransmits = loss->recoveries,
        .timeouts = loss->timeouts,
        .recoveries = loss->recoveries,
        .ecn_reductions = loss->ecn_reductions,
        .established_at = c->st.established_at,
    };
    out->cwnd = c->cc.cwnd;
    out->ssthresh = c->cc.ssthresh;
    out->flight = ns__tcp_flight(c);
    out->rwnd = c->snd_wnd;
    out->srtt = c->cc.srtt;
    out->rttvar = c->rttvar;
    out->rto = c->rto;
    out->min_rtt = c->cc.min_rtt;
}

size_t ns_tcp_count(ns_sim *sim)
{
    struct tcp_sim *ts = ns_sim_attached(sim, TCP_SIM_KEY);
    return ts ? ts->all->len : 0;
}

ns_tcp *ns_tcp_nth(ns_sim *sim, size_t i)
{
    struct tcp_sim *ts = ns_sim_attached(sim, TCP_SIM_KEY);
    return ts && i < ts->all->len ? g_ptr_array_index(ts->all, i) : NULL;
}
