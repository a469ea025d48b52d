/* bench_udp_chain.c — the network layer's throughput: packet-hops per
 * second of wall time, and the memory a queued packet costs.
 *
 * udp_chain (issue 8): a chain of 10 routers joined by 1 Gbps links of
 * 1 ms, a sender before the first and a receiver after the last; 1,000 UDP
 * flows from one end to the other, each a Poisson stream of 100 packets/s
 * of 200-byte payloads, for 10 simulated seconds: about 1 M packets, 11 M
 * packet-hops.  Tracing and pcap off.  Target: 3 M packet-hops/s.
 *
 * queue_mem: the RSS difference between a link queue holding 1,000 and
 * 1,000,000 packets (length-only payloads), per packet; target <= 128 bytes
 * beyond the real payload bytes (none here).  Measured in forked children
 * so the two sizes do not share a heap.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "netsim/link.h"
#include "netsim/traffic.h"
#include "netsim/udp.h"

#define ROUTERS 10
#define FLOWS   1000

static uint64_t hops_of(ns_sim *sim)
{
    uint64_t n = 0;
    for (size_t i = 0; i < ns_link_count(sim); i++)
        for (int d = 0; d < 2; d++)
            n += ns_link_stats(ns_link_nth(sim, i), d)->tx_pkts;
    return n;
}

static bool run_chain(double *wall, uint64_t *hops, uint64_t *events, uint64_t *received)
{
    ns_sim *sim = ns_sim_new(1);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 1e9;
    o.delay = NS_MSEC;
    o.qcfg.limit_pkts = 1000;
    ns_host *src = ns_host_new(sim, "src", NULL);
    ns_host *dst = ns_host_new(sim, "dst", NULL);
    ns_host *prev = src;
    for (int i = 0; i < ROUTERS; i++) {
        char name[16];
        g_snprintf(name, sizeof name, "r%d", i + 1);
        ns_host *r = ns_host_new(sim, name, NULL);
        ns_host_set_forwarding(r, true);
        ns_link_new(sim, prev, r, &o, NULL);
        prev = r;
    }
    ns_link_new(sim, prev, dst, &o, NULL);
    ns_udp *sink = ns_udp_bind(dst, 9, NULL);
    uint64_t got = 0;
    (void)sink;
    for (int f = 0; f < FLOWS; f++) {
        ns_udp *s = ns_udp_bind(src, 0, NULL);
        struct ns_traffic_opts t = {
            .kind = NS_TRAFFIC_POISSON, .dst = ns_host_addr(dst), .dport = 9,
            .size = 200, .pkts_per_s = 100, .start = 0, .stop = 10 * NS_SEC,
        };
        if (!ns_traffic_start(s, &t, NULL))
            return false;
    }
    double t0 = bench_now();
    ns_sim_run(sim, 11 * NS_SEC, 0);
    *wall = bench_now() - t0;
    *hops = hops_of(sim);
    *events = ns_sim_events_run(sim);
    const struct ns_link_stats *last = ns_link_stats(ns_link_nth(sim, ns_link_count(sim) - 1), 0);
    got = last->rx_pkts;
    *received = got;
    ns_sim_free(sim);
    return true;
}

static bool bench_udp_chain_run(const struct bench_opts *opts)
{
    unsigned reps = opts->reps ? opts->reps : 1;
    double best = 1e30;
    uint64_t hops = 0, events = 0, received = 0;
    for (unsigned r = 0; r < reps; r++) {
        double w;
        if (!run_chain(&w, &hops, &events, &received))
            return false;
        if (w < best)
            best = w;
    }
    bench_json *j = bench_json_begin("udp_chain");
    bench_json_int(j, "routers", ROUTERS);
    bench_json_int(j, "flows", FLOWS);
    bench_json_int(j, "packet_hops", (int64_t)hops);
    bench_json_int(j, "events", (int64_t)events);
    bench_json_int(j, "delivered", (int64_t)received);
    bench_json_num(j, "wall_s", best);
    bench_json_num(j, "packet_hops_per_s", (double)hops / best);
    bench_json_int(j, "peak_rss_kb", bench_peak_rss_kb());
    bench_json_bool(j, "tracing", false);
    bench_json_bool(j, "target_met", (double)hops / best >= 3e6);
    bench_json_end(j);
    return hops > 10000000;
}

static void queue_and_measure(void *arg, void *out)
{
    uint64_t n = *(const uint64_t *)arg;
    ns_sim *sim = ns_sim_new(1);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 1;                       /* nothing leaves */
    o.qcfg.limit_pkts = 0;
    o.qcfg.limit_bytes = 0;
    ns_host *a = ns_host_new(sim, "a", NULL);
    ns_host *b = ns_host_new(sim, "b", NULL);
    ns_link_new(sim, a, b, &o, NULL);
    ns_udp *s = ns_udp_bind(a, 0, NULL);
    for (uint64_t i = 0; i < n; i++)
        ns_udp_send(s, ns_host_addr(b), 9, NULL, 0);
    *(long *)out = bench_rss_kb();
}

/* RSS after queueing n packets on a slow link, in a child process. */
static long queued_rss(uint64_t n)
{
    long rss = -1;
    return bench_in_child(queue_and_measure, &n, &rss, sizeof rss) ? rss : -1;
}

static bool bench_queue_mem_run(const struct bench_opts *opts)
{
    long small = queued_rss(1000), big = queued_rss(1000000);
    double per = (double)(big - small) * 1024.0 / 999000.0;
    bench_json *j = bench_json_begin("queue_mem");
    bench_json_int(j, "rss_kb_1000", small);
    bench_json_int(j, "rss_kb_1000000", big);
    bench_json_num(j, "bytes_per_queued_pkt", per);
    bench_json_bool(j, "target_met", per <= 128);
    bench_json_end(j);
    return small > 0 && big > 0;
}

const struct bench bench_udp_chain = {
    "udp_chain", "1,000 Poisson UDP flows through 10 routers for 10 s", bench_udp_chain_run
};
const struct bench bench_queue_mem = {
    "queue_mem", "memory per packet queued on a link", bench_queue_mem_run
};
