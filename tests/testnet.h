/* testnet.h — what the network-layer suites share (test_link.c,
 * test_route.c, test_host.c, test_traffic.c, test_net.c): a "world" (a
 * sim, what its sockets received, what it must free) and helpers to build
 * topologies and send datagrams at times.
 *
 * Rates are chosen so that serialisation times are not whole numbers of
 * nanoseconds and every rounding shows: a UDP datagram of 100 payload
 * bytes is a 142-byte frame (14 + 20 + 8 + 100), 1136 bits, which takes
 * 378,666.67 ns at 3 Mbit/s, so a link must charge 378,667.  Each test
 * runs its sim until no event is left and checks that every packet was
 * freed before freeing the sim.  Helpers are static inline: each suite
 * uses a different subset. */
#ifndef NETSIM_TESTNET_H
#define NETSIM_TESTNET_H

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "netsim/event.h"
#include "netsim/icmp.h"
#include "netsim/ipv4.h"
#include "netsim/link.h"
#include "netsim/output.h"
#include "netsim/pcap.h"
#include "netsim/rng.h"
#include "netsim/trace.h"
#include "netsim/traffic.h"
#include "netsim/udp.h"
#include "tests.h"

#define PAYLOAD 100
#define PORT    9
#define PROBE   253                     /* a test protocol number */

/* Bits a link charges for a UDP datagram of `payload` bytes. */
static inline uint64_t udp_bits(uint32_t payload)
{
    uint32_t frame = 14 + 20 + 8 + payload;
    return (uint64_t)(frame < 60 ? 60 : frame) * 8;
}

/* ceil(bits * 1e9 / rate): the serialisation time of `bits`. */
static inline ns_time_t ser(uint64_t bits, uint64_t rate)
{
    return (ns_time_t)((bits * 1000000000ull + rate - 1) / rate);
}

static inline void check_str(const char *got, const char *want)
{
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", got, want);
}

/* Asserts err carries exactly `want`, then clears it. */
static inline void check_error(GError **err, const char *want)
{
    CU_ASSERT_PTR_NOT_NULL(*err);
    if (*err)
        check_str((*err)->message, want);
    g_clear_error(err);
}

static inline uint32_t ip(const char *text)
{
    uint32_t a = 0;
    CU_ASSERT_TRUE(ns_addr_parse(text, &a, NULL));
    return a;
}

/* ---- a world: a sim, what its sockets received, what it must free ---- */

struct rec {                    /* one datagram received */
    ns_time_t at;
    uint32_t  src;
    uint32_t  dst;
    uint16_t  port;             /* the receiving socket's */
    uint32_t  len;
    uint8_t   ttl;
    uint32_t  tag;              /* first 4 payload bytes, or ~0 if none */
};

struct world {
    ns_sim    *sim;
    GArray    *rx;              /* struct rec, arrival order */
    GPtrArray *owned;           /* event arguments, freed at the end */
    char      *dir;             /* output folder, or NULL */
};

static inline void world_init(struct world *w, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    w->sim = ns_sim_new(seed);
    w->rx = g_array_new(FALSE, FALSE, sizeof(struct rec));
    w->owned = g_ptr_array_new_with_free_func(g_free);
}

/* Outputs (and the event log) go to a fresh folder named `name`. */
static inline void world_out(struct world *w, const char *name)
{
    GError *err = NULL;
    w->dir = g_build_filename(ns_test_tmpdir(), "net", name, NULL);
    CU_ASSERT_TRUE(ns_output_set_dir(w->sim, w->dir, &err));
    CU_ASSERT_TRUE(ns_trace_enable(w->sim, NULL, &err));
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
}

static inline void *own(struct world *w, size_t size)
{
    void *p = g_malloc0(size);
    g_ptr_array_add(w->owned, p);
    return p;
}

/* Runs until no event is left; everything sent must have been freed. */
static inline void world_run(struct world *w)
{
    CU_ASSERT_EQUAL(ns_sim_run(w->sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(ns_pkt_live(w->sim), 0);
}

static inline void world_commit(struct world *w)
{
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_output_commit_all(w->sim, &err));
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
}

static inline char *world_file(struct world *w, const char *name)
{
    char *p = g_build_filename(w->dir, name, NULL);
    char *text = NULL;
    if (!g_file_get_contents(p, &text, NULL, NULL))
        text = g_strdup("(missing)");
    g_free(p);
    return text;
}

static inline void world_free(struct world *w)
{
    ns_sim_free(w->sim);
    g_array_free(w->rx, TRUE);
    g_ptr_array_free(w->owned, TRUE);
    g_free(w->dir);
}

static inline struct rec *rx_at(struct world *w, guint i)
{
    return &g_array_index(w->rx, struct rec, i);
}

static inline ns_host *host(struct world *w, const char *name, bool router)
{
    GError *err = NULL;
    ns_host *h = ns_host_new(w->sim, name, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    ns_host_set_forwarding(h, router);
    return h;
}

static inline ns_link *link_opts(struct world *w, ns_host *a, ns_host *b, const struct ns_link_opts *o)
{
    GError *err = NULL;
    ns_link *l = ns_link_new(w->sim, a, b, o, &err);
    if (err)
        fprintf(stderr, "\nlink: %s\n", err->message);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    return l;
}

static inline ns_link *link_rd(struct world *w, ns_host *a, ns_host *b, double rate, ns_time_t delay)
{
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = rate;
    o.delay = delay;
    return link_opts(w, a, b, &o);
}

/* A link with given addresses (/24). */
static inline ns_link *link_addrs(struct world *w, ns_host *a, ns_host *b, const char *aa,
                           const char *ba)
{
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 10e6;
    o.delay = NS_MSEC;
    o.a_addr = ip(aa);
    o.b_addr = ip(ba);
    return link_opts(w, a, b, &o);
}

static inline void on_rx(ns_udp *s, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    struct world *w = ud;
    struct rec r = {
        .at = ns_sim_now(w->sim), .src = src, .dst = ns_ip_dst(p), .port = ns_udp_port(s),
        .len = p->payload_len, .ttl = ns_ip_ttl(p), .tag = ~0u,
    };
    if (p->payload && p->payload_len >= 4) {
        uint8_t b[4];
        ns_pkt_copy_payload(p, 0, 4, b);
        r.tag = ns_get32(b);
    }
    g_array_append_val(w->rx, r);
}

static inline ns_udp *listen_on(struct world *w, ns_host *h, uint16_t port)
{
    GError *err = NULL;
    ns_udp *s = ns_udp_bind(h, port, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    ns_udp_on_receive(s, on_rx, w);
    return s;
}

struct tx {                     /* a datagram to send at a time */
    ns_udp   *s;
    uint32_t  dst;
    uint16_t  port;
    uint32_t  len;
    uint32_t  tag;
    bool      real;             /* real bytes: the tag, then 'x's */
    bool      sent;             /* what ns_udp_send returned */
};

static inline void do_tx(ns_sim *sim, void *arg)
{
    struct tx *t = arg;
    if (!t->real) {
        t->sent = ns_udp_send(t->s, t->dst, t->port, NULL, t->len);
        return;
    }
    uint8_t *b = g_malloc(t->len);
    memset(b, 'x', t->len);
    if (t->len >= 4)
        ns_put32(b, t->tag);
    t->sent = ns_udp_send(t->s, t->dst, t->port, b, t->len);
    g_free(b);
}

static inline struct tx *send_at(struct world *w, ns_time_t at, ns_udp *s, uint32_t dst,
                          uint16_t port, uint32_t len, uint32_t tag, bool real)
{
    struct tx *t = own(w, sizeof *t);
    *t = (struct tx){ s, dst, port, len, tag, real, false };
    CU_ASSERT_NOT_EQUAL(ns_event_at(w->sim, at, do_tx, t, 0, NULL).slot, 0);
    return t;
}

struct link_req {
    ns_link *l;
    bool     up;
};

static inline void do_link(ns_sim *sim, void *arg)
{
    struct link_req *r = arg;
    ns_link_set_up(r->l, r->up);
}

static inline void link_at(struct world *w, ns_time_t at, ns_link *l, bool up)
{
    struct link_req *r = own(w, sizeof *r);
    *r = (struct link_req){ l, up };
    ns_event_at(w->sim, at, do_link, r, 0, NULL);
}

/* ---- ping and traffic helpers (route, net and traffic suites) ---- */

struct pong {
    int       n;
    uint32_t  from;
    uint16_t  seq[4];
    ns_time_t rtt[4];
};

static inline void on_pong(ns_host *h, uint32_t from, uint16_t seq, ns_time_t rtt, void *ud)
{
    struct pong *pg = ud;
    if (pg->n < 4) {
        pg->seq[pg->n] = seq;
        pg->rtt[pg->n] = rtt;
    }
    pg->from = from;
    pg->n++;
}

struct ping_req {
    ns_host     *h;
    uint32_t     dst;
    uint16_t     seq;
    uint32_t     size;
    struct pong *pg;
};

static inline void do_ping(ns_sim *sim, void *arg)
{
    struct ping_req *r = arg;
    ns_icmp_ping(r->h, r->dst, r->seq, r->size, on_pong, r->pg);
}

static inline void ping_at(struct world *w, ns_time_t at, ns_host *h, uint32_t dst, uint16_t seq,
                    uint32_t size, struct pong *pg)
{
    struct ping_req *r = own(w, sizeof *r);
    *r = (struct ping_req){ h, dst, seq, size, pg };
    ns_event_at(w->sim, at, do_ping, r, 0, NULL);
}

static inline ns_traffic *traffic(ns_udp *s, const struct ns_traffic_opts *o)
{
    GError *err = NULL;
    ns_traffic *t = ns_traffic_start(s, o, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    return t;
}

/* a and b on a 1 Gbit/s link without delay: a 100-byte datagram arrives
 * 1136 ns after it is sent. */

#endif
