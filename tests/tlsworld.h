/* tlsworld.h — what the TLS suites share (test_tls.c, test_tls_resume.c):
 * a "world" of two hosts, a (client) and b (server), on a 1 Gbit/s link
 * with 25 ms each way, R = 50 ms; callbacks that record what each side
 * received, when it was established and which alerts it saw; and helpers
 * to listen, connect, run and check round trips.
 *
 * "k round trips" is asserted to within the serialisation on the critical
 * path (struct path): at least kR plus the time to serialise the TLS bytes
 * every flight before the event carried (flights alternate, so each one's
 * bytes are on the path), at most kR plus the time to serialise every
 * frame the link had started by then, both directions, headers included,
 * plus the CPU work configured on the path.  At 1 Gbit/s that is a window
 * of a few tens of microseconds, where one round trip more or less is
 * 50 ms.  Helpers are static inline: each suite uses a different subset. */
#ifndef NETSIM_TLSWORLD_H
#define NETSIM_TLSWORLD_H

#include <string.h>

#include <lua.h>

#include "netsim/link.h"
#include "netsim/output.h"
#include "netsim/pcap.h"
#include "netsim/tls.h"
#include "netsim/trace.h"
#include "tests.h"

#define PORT 443
#define R    (50 * NS_MSEC)
#define RATE_BPS 1e9
/* Time to serialise n bytes on the world's link. */
#define SER(n) ((ns_time_t)((double)(n) * 8 * 1e9 / RATE_BPS))

struct side {
    ns_tls    *t;
    ns_link   *link;              /* the world's, for the snapshots below */
    uint64_t   wire_at_start;     /* link bytes (both ways) when the connection began */
    uint64_t   wire_at_est;       /* ... at on_est (the last flight not yet written) */
    uint64_t   wire_at_rx;        /* ... at the first on_data */
    uint64_t   tcp_at_est;        /* TCP payload bytes sent + received at on_est */
    GByteArray *rx;
    ns_time_t  est_at, first_rx_at;
    char       error[40];
    char       alerts[128];       /* "s:name r:name " */
    const char *send_on_est;      /* the client's request */
};

struct world {
    ns_sim    *sim;
    ns_host   *a, *b;
    ns_link   *l;
    ns_tls_listener *lis;
    struct side cli, srv;
    char      *dir;
};

static inline void side_init(struct side *s)
{
    memset(s, 0, sizeof *s);
    s->rx = g_byte_array_new();
    s->est_at = s->first_rx_at = -1;
}

/* Bytes of the frames the link has started, both directions. */
static inline uint64_t link_wire(ns_link *l)
{
    return l ? ns_link_stats(l, 0)->tx_bytes + ns_link_stats(l, 1)->tx_bytes : 0;
}

static inline void on_est(ns_tls *t, void *ud)
{
    struct side *s = ud;
    s->est_at = ns_sim_now(ns_host_sim(ns_tcp_host(ns_tls_tcp(t))));
    struct ns_tcp_info ti;
    ns_tcp_info(ns_tls_tcp(t), &ti);
    s->tcp_at_est = ti.bytes_sent + ti.bytes_received;
    s->wire_at_est = link_wire(s->link);
    if (s->send_on_est) {
        GError *err = NULL;
        CU_ASSERT_TRUE(ns_tls_send(t, s->send_on_est, (uint32_t)strlen(s->send_on_est), &err));
        g_clear_error(&err);
    }
}

static inline void on_data(ns_tls *t, const uint8_t *b, uint32_t len, void *ud)
{
    struct side *s = ud;
    if (s->first_rx_at < 0) {
        s->first_rx_at = ns_sim_now(ns_host_sim(ns_tcp_host(ns_tls_tcp(t))));
        s->wire_at_rx = link_wire(s->link);
    }
    g_byte_array_append(s->rx, b, len);
}

static inline void on_error(ns_tls *t, const char *reason, void *ud)
{
    struct side *s = ud;
    CU_ASSERT_EQUAL(s->error[0], 0);              /* once */
    g_strlcpy(s->error, reason, sizeof s->error);
}

static inline void on_alert(ns_tls *t, const char *name, bool sent, void *ud)
{
    struct side *s = ud;
    g_strlcat(s->alerts, sent ? "s:" : "r:", sizeof s->alerts);
    g_strlcat(s->alerts, name, sizeof s->alerts);
    g_strlcat(s->alerts, " ", sizeof s->alerts);
}

static const struct ns_tls_callbacks cbs = { on_est, on_data, NULL, NULL, on_error, on_alert };

/* s begins a connection on w's link now. */
static inline void side_start(struct world *w, struct side *s)
{
    s->link = w->l;
    s->wire_at_start = link_wire(w->l);
}

static inline void on_accept(ns_tls_listener *l, ns_tls *t, void *ud)
{
    struct world *w = ud;
    side_init(&w->srv);
    side_start(w, &w->srv);
    w->srv.t = t;
    ns_tls_set_callbacks(t, &cbs, &w->srv);
}

static inline void world_init(struct world *w, uint64_t seed, const char *out)
{
    memset(w, 0, sizeof *w);
    w->sim = ns_sim_new(seed);
    GError *err = NULL;
    w->a = ns_host_new(w->sim, "a", &err);
    w->b = ns_host_new(w->sim, "b", &err);
    struct ns_link_opts lo;
    ns_link_opts_defaults(&lo);
    lo.rate_bps = RATE_BPS;
    lo.delay = R / 2;
    w->l = ns_link_new(w->sim, w->a, w->b, &lo, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    side_init(&w->cli);
    side_init(&w->srv);
    if (out) {
        w->dir = g_build_filename(ns_test_tmpdir(), "tls", out, NULL);
        CU_ASSERT_TRUE(ns_output_set_dir(w->sim, w->dir, &err));
        CU_ASSERT_TRUE(ns_trace_enable(w->sim, NULL, &err));
        ns_pcap *pc = ns_pcap_open(w->sim, "a.pcap", &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
        ns_iface_capture(ns_host_iface(w->a, 0), pc);
        CU_ASSERT_PTR_NULL(err);
        g_clear_error(&err);
    }
}

static inline void zero_costs(struct ns_tls_opts *o)
{
    memset(&o->costs, 0, sizeof o->costs);
}

static inline void world_listen(struct world *w, const struct ns_tls_opts *so)
{
    GError *err = NULL;
    w->lis = ns_tls_listen(w->b, PORT, NULL, so, on_accept, w, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w->lis);
}

/* A client connection now, sending "GET /" when established. */
static inline ns_tls *world_connect(struct world *w, struct side *s, const struct ns_tls_opts *co)
{
    GError *err = NULL;
    side_init(s);
    side_start(w, s);
    s->send_on_est = "GET /";
    s->t = ns_tls_connect(w->a, ns_host_addr(w->b), PORT, NULL, co, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->t);
    ns_tls_set_callbacks(s->t, &cbs, s);
    return s->t;
}

/* The same with TCP options for the server (NULL: TLS's defaults). */
static inline void world_listen_tcp(struct world *w, const struct ns_tls_opts *so,
                                    const struct ns_tcp_opts *to)
{
    GError *err = NULL;
    w->lis = ns_tls_listen(w->b, PORT, to, so, on_accept, w, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w->lis);
}

static inline void world_run(struct world *w)
{
    ns_sim_run(w->sim, NS_TIME_MAX, 0);
}

static inline void side_free(struct side *s)
{
    g_byte_array_free(s->rx, TRUE);
    s->rx = NULL;
}

static inline void world_free(struct world *w)
{
    if (w->dir) {
        GError *err = NULL;
        CU_ASSERT_TRUE(ns_output_commit_all(w->sim, &err));
        g_clear_error(&err);
    }
    ns_sim_free(w->sim);
    side_free(&w->cli);
    side_free(&w->srv);
    g_free(w->dir);
}

/* What lies on the critical path besides k round trips: [min, max]
 * bytes to serialise, and CPU work. */
struct path {
    uint64_t  min_bytes;          /* TLS bytes that must have crossed */
    uint64_t  max_bytes;          /* every frame the link had started */
    ns_time_t cpu;                /* configured crypto work on the path */
};

/* To s's on_est, where a client that sends from on_established writes its
 * first application byte: every earlier flight, both ways, is on the path. */
static inline struct path path_to_est(const struct side *s)
{
    return (struct path){ s->tcp_at_est, s->wire_at_est - s->wire_at_start, 0 };
}

/* To the server's first received byte: the client's path to on_est and
 * (for the upper bound) every frame until the server's on_data. */
static inline struct path path_to_rx(const struct side *srv, const struct side *cli)
{
    return (struct path){ cli->tcp_at_est, srv->wire_at_rx - cli->wire_at_start, 0 };
}

/* For an event before the first flight (the SYN-ACK, 0-RTT data): no
 * lower bound beyond kR, and every frame of c's connection until now. */
static inline struct path path_to_now(const struct side *c)
{
    return (struct path){ 0, link_wire(c->link) - c->wire_at_start, 0 };
}

/* t lies within [kR + max(SER(min), cpu), kR + SER(max) + cpu] after
 * `from`: the CPU work on the path is sequential, but a host may work on
 * the first messages of a flight while the rest is still on the wire. */
static inline void check_rtts(ns_time_t t, ns_time_t from, int k, struct path p)
{
    ns_time_t d = t - from, hi = k * R + SER(p.max_bytes) + p.cpu;
    ns_time_t lo = k * R + MAX(SER(p.min_bytes), p.cpu);
    CU_ASSERT_TRUE(t >= 0);
    CU_ASSERT_TRUE(p.max_bytes > 0 && p.min_bytes <= p.max_bytes);
    CU_ASSERT_TRUE(d >= lo && d <= hi);
    if (!(d >= lo && d <= hi))
        fprintf(stderr, "\n  %.9f s is not %d RTT: outside [%.9f, %.9f] (serialising %"
                G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT " B, CPU %.6f s)\n",
                (double)d / 1e9, k, (double)lo / 1e9, (double)hi / 1e9, p.min_bytes,
                p.max_bytes, (double)p.cpu / 1e9);
}

static inline bool rx_is(struct side *s, const char *want)
{
    return s->rx->len == strlen(want) && memcmp(s->rx->data, want, s->rx->len) == 0;
}

static inline void opts(struct ns_tls_opts *o)
{
    ns_tls_opts_defaults(o);
    zero_costs(o);
}

/* tshark -V of a capture, or NULL when tshark is not installed. */
static inline char *tshark_V(const char *file)
{
    char *tshark = g_find_program_in_path("tshark");
    if (!tshark)
        return NULL;
    char *argv[] = { tshark, "-o", "tcp.check_checksum:TRUE", "-r", (char *)file, "-V", NULL };
    char *out = NULL;
    int status = -1;
    CU_ASSERT_TRUE(g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                                NULL, &status, NULL));
    g_free(tshark);
    return out;
}

/* ---- from Lua ---- */

/* Two hosts a and b on a 10 ms link, in a sim writing to OUT: the start
 * of the Lua chunks the TLS suites run. */
#define LAB "local s = netsim.new{ out = OUT }\n" \
            "local a, b = s:host 'a', s:host 'b'\n" \
            "s:link(a, b, { delay = '10ms' })\n"

/* Runs `code` as chunk "@t.lua" in a fresh state (outputs in a scratch
 * folder named after `prefix`); compares its first result, or
 * "error: MESSAGE", with want. */
static inline void tls_lua_expect(const char *prefix, const char *code, const char *want)
{
    static unsigned counter;                       /* test-only: scratch names */
    char name[48];
    g_snprintf(name, sizeof name, "%s-%u", prefix, ++counter);
    char *dir = g_build_filename(ns_test_tmpdir(), name, NULL);
    lua_State *L = ns_test_lua_state(NULL, 1, dir);
    char *got = ns_test_lua_chunk(L, code);
    lua_close(L);
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", got, want);
    g_free(got);
    g_free(dir);
}

#endif
