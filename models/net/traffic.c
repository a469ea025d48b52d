/* traffic.c — UDP traffic generators: CBR, Poisson, on/off.
 *
 * Invariant: a generator has at most one pending event; stopping it
 * cancels that event, and the sim frees every generator at teardown. */
#include <math.h>

#include "net_priv.h"
#include "netsim/rng.h"
#include "netsim/traffic.h"

#define TRAFFIC_KEY "net.traffic"

struct ns_traffic {
    ns_sim                *sim;
    ns_udp                *sock;
    struct ns_traffic_opts o;
    ns_rng                *rng;
    ns_event_id            ev;
    uint64_t               sent;
    ns_time_t              anchor;        /* CBR: when packet 0 was due */
    uint64_t               n;             /* CBR: packets since the anchor */
    bool                   on;            /* on/off: in an on period */
    ns_time_t              period_end;    /* on/off: end of this period */
    bool                   stopped;
};

static void traffic_list_free(gpointer p)
{
    g_ptr_array_free(p, TRUE);
}

static void tick(ns_sim *sim, void *arg);

static void schedule_at(ns_traffic *t, ns_time_t at)
{
    ns_time_t now = ns_sim_now(t->sim);
    if (at >= t->o.stop) {
        t->ev = NS_EVENT_NONE;
        return;
    }
    t->ev = ns_event_after(t->sim, at - now, tick, t);
}

/* When the next packet is due.  Constant-rate packets are placed from an
 * anchor (n/rate after it, rounded once) rather than by adding a rounded
 * gap each time, so spacing never drifts: 3 packets/s for 1000 s send
 * exactly 3000. */
static ns_time_t next_at(ns_traffic *t, ns_time_t now)
{
    if (t->o.kind == NS_TRAFFIC_POISSON)
        return now + ns_time_from_sec(ns_rng_exp(t->rng, 1.0 / t->o.pkts_per_s));
    return t->anchor + (ns_time_t)llround((double)t->n * 1e9 / t->o.pkts_per_s);
}

static void tick(ns_sim *sim, void *arg)
{
    ns_traffic *t = arg;
    ns_time_t now = ns_sim_now(sim);
    t->ev = NS_EVENT_NONE;
    if (t->o.kind == NS_TRAFFIC_ONOFF) {
        /* Periods follow each other from `start`, on first, each beginning
         * where the last ended (ticks fall on period ends, and a period
         * may round to nothing). */
        while (now >= t->period_end) {
            ns_time_t begin = t->period_end;
            t->on = !t->on;
            ns_time_t mean = t->on ? t->o.mean_on : t->o.mean_off;
            t->period_end = begin + ns_time_from_sec(ns_rng_exp(t->rng, ns_time_to_sec(mean)));
            if (t->on) {
                t->anchor = begin;
                t->n = 0;
            }
        }
        if (!t->on) {
            schedule_at(t, t->period_end);
            return;
        }
    }
    ns_udp_send(t->sock, t->o.dst, t->o.dport, NULL, t->o.size);
    t->sent++;
    t->n++;
    if (t->o.count && t->sent >= t->o.count)
        return;
    ns_time_t at = next_at(t, now);
    if (t->o.kind == NS_TRAFFIC_ONOFF && at >= t->period_end)
        at = t->period_end;                 /* the off period starts */
    schedule_at(t, at);
}

ns_traffic *ns_traffic_start(ns_udp *s, const struct ns_traffic_opts *o, GError **error)
{
    ns_host *h = ns_udp_host(s);
    ns_sim *sim = ns_host_sim(h);
    if (!(o->pkts_per_s > 0) || !isfinite(o->pkts_per_s)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "traffic from '%s': packet rate %g/s must be > 0", ns_host_name(h),
                    o->pkts_per_s);
        return NULL;
    }
    if (o->size > 65507) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "traffic from '%s': size %u is over the UDP maximum 65507", ns_host_name(h),
                    o->size);
        return NULL;
    }
    if (o->kind == NS_TRAFFIC_ONOFF && (o->mean_on <= 0 || o->mean_off <= 0)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "traffic from '%s': on and off periods must be > 0", ns_host_name(h));
        return NULL;
    }
    if (o->start < ns_sim_now(sim)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "traffic from '%s': start is before now", ns_host_name(h));
        return NULL;
    }
    GPtrArray *all = ns_sim_attached(sim, TRAFFIC_KEY);
    if (!all) {
        all = g_ptr_array_new_with_free_func(g_free);
        ns_sim_attach(sim, TRAFFIC_KEY, all, traffic_list_free);
    }
    ns_traffic *t = g_new0(ns_traffic, 1);
    t->sim = sim;
    t->sock = s;
    t->o = *o;
    if (t->o.stop == 0)
        t->o.stop = NS_TIME_MAX;
    char *name = g_strdup_printf("traffic.%s.%u.%u", ns_host_name(h), ns_udp_port(s), all->len);
    t->rng = ns_sim_rng(sim, name);
    g_free(name);
    g_ptr_array_add(all, t);
    t->on = false;
    t->anchor = o->start;
    t->period_end = o->start;     /* on/off: the first tick starts a period */
    schedule_at(t, o->start);
    return t;
}

void ns_traffic_stop(ns_traffic *t)
{
    ns_event_cancel(t->sim, t->ev);
    t->ev = NS_EVENT_NONE;
    t->stopped = true;
}

uint64_t ns_traffic_sent(const ns_traffic *t) { return t->sent; }

void ns__traffic_socket_closed(ns_udp *s)
{
    GPtrArray *all = ns_sim_attached(ns_host_sim(ns_udp_host(s)), TRAFFIC_KEY);
    for (guint i = 0; all && i < all->len; i++) {
        ns_traffic *t = g_ptr_array_index(all, i);
        if (t->sock == s)
            ns_traffic_stop(t);
    }
}
