/* tlsworld.h — what the TLS suites share (test_tls.c, test_tls_resume.c):
 * a "world" of two hosts, a (client) and b (server), on a 1 Gbit/s link
 * with 25 ms each way, R = 50 ms; callbacks that record what each side
 * received, when it was established and which alerts it saw; and helpers
 * to listen, connect, run and check round trips.
 *
 * A handshake's serialisation at 1 Gbit/s is a few tens of microseconds,
 * so "k round trips" is asserted as kR <= t < kR + 1 ms: one round trip
 * more or less fails by 49 ms.  Helpers are static inline: each suite
 * uses a different subset. */
#ifndef NETSIM_TLSWORLD_H
#define NETSIM_TLSWORLD_H

#include <string.h>

#include "netsim/link.h"
#include "netsim/output.h"
#include "netsim/pcap.h"
#include "netsim/tls.h"
#include "netsim/trace.h"
#include "tests.h"

#define PORT 443
#define R    (50 * NS_MSEC)
#define SLACK NS_MSEC

struct side {
    ns_tls    *t;
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

static inline void on_est(ns_tls *t, void *ud)
{
    struct side *s = ud;
    s->est_at = ns_sim_now(ns_host_sim(ns_tcp_host(ns_tls_tcp(t))));
    if (s->send_on_est) {
        GError *err = NULL;
        CU_ASSERT_TRUE(ns_tls_send(t, s->send_on_est, (uint32_t)strlen(s->send_on_est), &err));
        g_clear_error(&err);
    }
}

static inline void on_data(ns_tls *t, const uint8_t *b, uint32_t len, void *ud)
{
    struct side *s = ud;
    if (s->first_rx_at < 0)
        s->first_rx_at = ns_sim_now(ns_host_sim(ns_tcp_host(ns_tls_tcp(t))));
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

static inline void on_accept(ns_tls_listener *l, ns_tls *t, void *ud)
{
    struct world *w = ud;
    side_init(&w->srv);
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
    lo.rate_bps = 1e9;
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

/* t lies within [k R, k R + SLACK) after `from`. */
static inline void check_rtts(ns_time_t t, ns_time_t from, int k)
{
    ns_time_t d = t - from;
    CU_ASSERT_TRUE(t >= 0);
    CU_ASSERT_TRUE(d >= k * R && d < k * R + SLACK);
    if (!(d >= k * R && d < k * R + SLACK))
        fprintf(stderr, "\n  %.6f s is not %d RTT\n", (double)d / 1e9, k);
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

#endif
