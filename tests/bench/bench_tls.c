/* bench_tls.c — tls_handshakes: the TLS model's speed and its memory per
 * connection (issue 10, "Performance").
 *
 * Speed: 10,000 clients each make a TLS 1.3 full handshake, send a 1 KB
 * request, read a 10 KB response and close, against one server with 8
 * cores and the default crypto costs, through a 1 Gbit/s, 10 ms link;
 * arrivals are Poisson at 2,000/s (about 5 s of simulated time, the
 * server's CPU far from saturated).  Target: under 1 s of wall time.
 *
 * Memory: RSS of a child holding n open, idle TLS connections, against
 * one holding n idle TCP connections on the same topology, at two n; the
 * difference of slopes is what TLS adds per connection (both endpoints).
 * Target: under 4 KiB.
 *
 * The clients are 100 hosts behind a router, so that no host holds more
 * than a hundred connections to one server (the TCP model's connection
 * key hashes badly for many connections between one pair of hosts: see
 * bench_tcp.c, tcp_idle).
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "netsim/event.h"
#include "netsim/link.h"
#include "netsim/rng.h"
#include "netsim/tls.h"

#define PORT     443
#define CLIENTS  100
#define REQUEST  1000
#define RESPONSE 10000

struct world {
    ns_sim    *sim;
    ns_host   *srv, *cli[CLIENTS];
    ns_rng    *arrivals;
    uint64_t   n, started, done, failed;
    double     mean_gap_s;
    bool       idle;              /* memory run: no request, no close */
};

struct conn {                     /* one endpoint's application state */
    struct world *w;
    uint32_t      got;
};

static ns_host *host(ns_sim *sim, const char *fmt, unsigned i, bool router)
{
    char name[32];
    g_snprintf(name, sizeof name, fmt, i);
    ns_host *h = ns_host_new(sim, name, NULL);
    ns_host_set_forwarding(h, router);
    return h;
}

static void add_link(ns_sim *sim, ns_host *a, ns_host *b, double rate_bps, ns_time_t delay)
{
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = rate_bps;
    o.delay = delay;
    ns_link_new(sim, a, b, &o, NULL);
}

static void world_init(struct world *w, uint64_t n)
{
    memset(w, 0, sizeof *w);
    w->sim = ns_sim_new(1);
    w->n = n;
    w->srv = host(w->sim, "server", 0, false);
    ns_host_set_cores(w->srv, 8);
    ns_host *r = host(w->sim, "r", 0, true);
    add_link(w->sim, r, w->srv, 1e9, 10 * NS_MSEC);
    for (unsigned i = 0; i < CLIENTS; i++) {
        w->cli[i] = host(w->sim, "c%u", i, false);
        add_link(w->sim, w->cli[i], r, 10e9, 100 * NS_USEC);
    }
    w->arrivals = ns_sim_rng(w->sim, "arrivals");
}

/* ---- the client ---- */

static void c_established(ns_tls *t, void *ud)
{
    struct conn *c = ud;
    if (c->w->idle) {
        c->w->done++;
        return;
    }
    ns_tls_send(t, NULL, REQUEST, NULL);
}

static void c_data(ns_tls *t, const uint8_t *b, uint32_t len, void *ud)
{
    struct conn *c = ud;
    c->got += len;
    if (c->got == RESPONSE) {
        c->w->done++;
        ns_tls_close(t);
    }
}

static void c_error(ns_tls *t, const char *reason, void *ud)
{
    struct conn *c = ud;
    c->w->failed++;
}

static const struct ns_tls_callbacks client_cb = {
    c_established, c_data, NULL, NULL, c_error, NULL,
};

/* ---- the server ---- */

static void s_data(ns_tls *t, const uint8_t *b, uint32_t len, void *ud)
{
    struct conn *c = ud;
    c->got += len;
    if (c->got == REQUEST)
        ns_tls_send(t, NULL, RESPONSE, NULL);
}

static void s_eof(ns_tls *t, void *ud)
{
    ns_tls_close(t);
}

static const struct ns_tls_callbacks server_cb = {
    NULL, s_data, s_eof, NULL, c_error, NULL,
};

/* Application state lives in a slab the world frees; the sim owns the
 * TLS objects. */
static GPtrArray *apps;

static struct conn *app_new(struct world *w)
{
    struct conn *c = g_new0(struct conn, 1);
    c->w = w;
    g_ptr_array_add(apps, c);
    return c;
}

static void on_accept(ns_tls_listener *l, ns_tls *t, void *ud)
{
    ns_tls_set_callbacks(t, &server_cb, app_new(ud));
}

static void arrive(ns_sim *sim, void *arg)
{
    struct world *w = arg;
    ns_host *h = w->cli[w->started % CLIENTS];
    ns_tls *t = ns_tls_connect(h, ns_host_addr(w->srv), PORT, NULL, NULL, NULL);
    if (t)
        ns_tls_set_callbacks(t, &client_cb, app_new(w));
    else
        w->failed++;
    if (++w->started < w->n) {
        double gap = ns_rng_exp(w->arrivals, w->mean_gap_s);
        ns_event_after(sim, (ns_time_t)(gap * 1e9), arrive, w);
    }
}

static void world_start(struct world *w)
{
    ns_tls_listen(w->srv, PORT, NULL, NULL, on_accept, w, NULL);
    ns_event_after(w->sim, 0, arrive, w);
}

static void world_free(struct world *w)
{
    ns_sim_free(w->sim);
}

/* ---- memory: idle connections in a child ---- */

static void count_accept(ns_tcp_listener *l, ns_tcp *c, void *ud)
{
    (*(uint64_t *)ud)++;
}

struct idle_arg {
    uint64_t n;
    bool     tls;
};

static void hold_idle_and_measure(void *arg, void *out)
{
    uint64_t n = ((const struct idle_arg *)arg)->n;
    bool tls = ((const struct idle_arg *)arg)->tls;
    apps = g_ptr_array_new_with_free_func(g_free);
    struct world w;
    world_init(&w, n);
    w.idle = true;
    uint64_t ok = 0;
    if (tls) {
        w.mean_gap_s = 10e-6;
        world_start(&w);
        ns_sim_run(w.sim, NS_TIME_MAX, 0);
        ok = w.done;
    } else {
        uint64_t accepted = 0;
        ns_tcp_listen(w.srv, PORT, NULL, count_accept, &accepted, NULL);
        for (uint64_t i = 0; i < n; i++) {
            ns_tcp_connect(w.cli[i % CLIENTS], ns_host_addr(w.srv), PORT, NULL, NULL);
            ns_sim_run(w.sim, ns_sim_now(w.sim) + 10 * NS_USEC, 0);
        }
        ns_sim_run(w.sim, NS_TIME_MAX, 0);
        ok = accepted;
    }
    *(long *)out = ok == n && w.failed == 0 ? bench_rss_kb() : -1;
}

/* RSS (kB) of a child holding n idle connections, TLS or bare TCP; -1
 * if any failed.  Arrivals one every 10 us keep queues short. */
static long idle_rss(uint64_t n, bool tls)
{
    struct idle_arg a = { n, tls };
    long rss = -1;
    return bench_in_child(hold_idle_and_measure, &a, &rss, sizeof rss) ? rss : -1;
}

static bool bench_tls_handshakes_run(const struct bench_opts *opts)
{
    /* speed */
    apps = g_ptr_array_new_with_free_func(g_free);
    struct world w;
    world_init(&w, 10000);
    w.mean_gap_s = 1.0 / 2000;
    world_start(&w);
    double t0 = bench_now();
    ns_sim_run(w.sim, NS_TIME_MAX, 0);
    double wall = bench_now() - t0;
    uint64_t events = ns_sim_events_run(w.sim);
    double sim_s = ns_time_to_sec(ns_sim_now(w.sim));
    uint64_t done = w.done, failed = w.failed;
    world_free(&w);
    g_ptr_array_free(apps, TRUE);
    long peak = bench_peak_rss_kb();

    /* memory */
    const uint64_t small = 2000, big = 10000;
    long tls_s = idle_rss(small, true), tls_b = idle_rss(big, true);
    long tcp_s = idle_rss(small, false), tcp_b = idle_rss(big, false);
    bool mem_ok = tls_s > 0 && tls_b > 0 && tcp_s > 0 && tcp_b > 0;
    double per_tls = (double)(tls_b - tls_s) * 1024.0 / (double)(big - small);
    double per_tcp = (double)(tcp_b - tcp_s) * 1024.0 / (double)(big - small);
    double extra = per_tls - per_tcp;

    bench_json *j = bench_json_begin("tls_handshakes");
    bench_json_int(j, "clients", 10000);
    bench_json_int(j, "completed", (int64_t)done);
    bench_json_int(j, "failed", (int64_t)failed);
    bench_json_num(j, "sim_s", sim_s);
    bench_json_num(j, "wall_s", wall);
    bench_json_int(j, "events", (int64_t)events);
    bench_json_num(j, "handshakes_per_wall_s", (double)done / wall);
    bench_json_int(j, "peak_rss_kb", peak);
    bench_json_num(j, "bytes_per_tls_conn", per_tls);
    bench_json_num(j, "bytes_per_tcp_conn", per_tcp);
    bench_json_num(j, "tls_extra_bytes_per_conn", extra);
    bench_json_bool(j, "target_met", done == 10000 && wall < 1.0 && mem_ok && extra < 4096);
    bench_json_end(j);
    return done == 10000 && failed == 0 && mem_ok;
}

const struct bench bench_tls_handshakes = {
    "tls_handshakes", "10,000 TLS 1.3 handshakes + 1 KB/10 KB exchanges; memory per connection",
    bench_tls_handshakes_run
};
