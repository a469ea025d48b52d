/* arp.c — the Address Resolution Protocol (RFC 826) for LAN interfaces,
 * with RFC 5227 probes and announcements.
 *
 * Each LAN interface that has used ARP has a struct arp_iface (kept in the
 * host's "arp" attachment, by interface index): its cache, the next hops
 * being resolved with the packets waiting for them, and the probes in
 * progress.  Cache entries expire lazily: an entry older than the sim's
 * timeout is ignored and replaced when next needed, so idle caches cost no
 * events.
 *
 * Invariants: a next hop has a waiting list only while its request timer
 * is pending, and never a live cache entry at the same time (a reply
 * flushes the list as it fills the entry); every waiting packet is either
 * sent or dropped ("no-arp", "host-down") exactly once; a probe reports
 * exactly once unless its host crashes.
 */
#include <stdio.h>

#include "lan_priv.h"
#include "netsim/arp.h"
#include "netsim/event.h"

#define ARP_SIM_KEY  "arp"
#define ARP_HOST_KEY "arp"
#define ARP_BODY_LEN 28

#define ARP_HTYPE_ETHER 1
#define ARP_OP_REQUEST  1
#define ARP_OP_REPLY    2

static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t zero_mac[6];

struct arp_cfg {                  /* sim attachment */
    ns_time_t timeout;            /* cache entry lifetime */
};

struct arp_entry {
    uint8_t   mac[6];
    ns_time_t expires;            /* ignored from this time on */
    /* The interface id of mac (ns__mac_to_if, a scan of every interface
     * of the sim), remembered for the packets sent with the entry while
     * net->mac_gen stays at gid_gen. */
    bool      gid_known;
    uint16_t  gid;
    uint32_t  gid_gen;
};

struct arp_iface;

struct arp_wait {                 /* one next hop being resolved */
    struct arp_iface *ai;
    uint32_t          ip;
    unsigned          sent;       /* requests sent so far */
    GQueue            pkts;       /* ns_pkt*, owned, in arrival order */
    ns_event_id       timer;      /* next resend, or the give-up */
};

struct arp_probe {                /* RFC 5227 probe in progress */
    struct arp_iface *ai;
    uint32_t          addr;
    ns_arp_probe_fn   done;
    void             *ud;
    ns_event_id       timer;      /* the end of the wait */
};

struct arp_iface {
    ns_iface   *ifc;
    GHashTable *cache;            /* IPv4 (host order) -> struct arp_entry*,
                                   * owned; looked up, never iterated */
    GPtrArray  *waits;            /* struct arp_wait*, creation order */
    GPtrArray  *probes;           /* struct arp_probe*, creation order */
};

struct arp_host {                 /* host attachment */
    ns_host   *host;
    GPtrArray *ifaces;            /* struct arp_iface* by interface index, or NULL */
};

/* ---- state ---- */

static struct arp_cfg *arp_cfg(ns_sim *sim)
{
    struct arp_cfg *c = ns_sim_attached(sim, ARP_SIM_KEY);
    if (!c) {
        c = g_new(struct arp_cfg, 1);
        c->timeout = NS_ARP_DEFAULT_TIMEOUT;
        ns_sim_attach(sim, ARP_SIM_KEY, c, g_free);
    }
    return c;
}

void ns_arp_set_timeout(ns_sim *sim, ns_time_t timeout)
{
    g_return_if_fail(timeout > 0);
    arp_cfg(sim)->timeout = timeout;
}

ns_time_t ns_arp_timeout(ns_sim *sim)
{
    return arp_cfg(sim)->timeout;
}

static void wait_free(ns_sim *sim, struct arp_wait *w, bool drop, enum ns_drop_cause cause)
{
    ns_host *h = w->ai->ifc->host;
    ns_pkt *p;
    ns_event_cancel(sim, w->timer);
    while ((p = g_queue_pop_head(&w->pkts))) {
        if (drop)
            ns__net_drop(sim, h, h->name, p, cause);
        else
            ns_pkt_free(sim, p);
    }
    g_free(w);
}

static void arp_iface_free(gpointer data)
{
    struct arp_iface *ai = data;
    if (!ai)
        return;
    ns_sim *sim = ai->ifc->host->sim;
    /* The sim is going away: pending timers die with it. */
    for (guint i = 0; i < ai->waits->len; i++)
        wait_free(sim, g_ptr_array_index(ai->waits, i), false, 0);
    g_ptr_array_free(ai->waits, TRUE);
    g_ptr_array_free(ai->probes, TRUE);
    g_hash_table_destroy(ai->cache);
    g_free(ai);
}

static void arp_host_free(gpointer data)
{
    struct arp_host *ah = data;
    g_ptr_array_free(ah->ifaces, TRUE);
    g_free(ah);
}

static struct arp_iface *arp_iface_get(ns_iface *ifc)
{
    ns_host *h = ifc->host;
    struct arp_host *ah = h->arp;
    if (!ah) {
        ah = g_new0(struct arp_host, 1);
        ah->host = h;
        ah->ifaces = g_ptr_array_new_with_free_func(arp_iface_free);
        ns_host_attach(h, ARP_HOST_KEY, ah, arp_host_free);
        h->arp = ah;
    }
    if (ah->ifaces->len <= ifc->index)
        g_ptr_array_set_size(ah->ifaces, (guint)ifc->index + 1);
    struct arp_iface *ai = g_ptr_array_index(ah->ifaces, ifc->index);
    if (!ai) {
        ai = g_new0(struct arp_iface, 1);
        ai->ifc = ifc;
        ai->cache = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
        ai->waits = g_ptr_array_new();
        ai->probes = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_index(ah->ifaces, ifc->index) = ai;
    }
    return ai;
}

static struct arp_iface *arp_iface_peek(const ns_iface *ifc)
{
    const struct arp_host *ah = ifc->host->arp;
    if (!ah || ah->ifaces->len <= ifc->index)
        return NULL;
    return g_ptr_array_index(ah->ifaces, ifc->index);
}

/* The live entry for ip, or NULL (an expired one is removed). */
static struct arp_entry *cache_get(struct arp_iface *ai, uint32_t ip)
{
    struct arp_entry *e = g_hash_table_lookup(ai->cache, GUINT_TO_POINTER(ip));
    if (e && e->expires <= ns_sim_now(ai->ifc->host->sim)) {
        g_hash_table_remove(ai->cache, GUINT_TO_POINTER(ip));
        return NULL;
    }
    return e;
}

static void cache_put(struct arp_iface *ai, uint32_t ip, const uint8_t mac[6])
{
    ns_sim *sim = ai->ifc->host->sim;
    struct arp_entry *e = g_hash_table_lookup(ai->cache, GUINT_TO_POINTER(ip));
    if (!e) {
        e = g_new(struct arp_entry, 1);
        g_hash_table_insert(ai->cache, GUINT_TO_POINTER(ip), e);
    }
    memcpy(e->mac, mac, 6);
    e->gid_known = false;
    e->expires = ns_sim_now(sim) + arp_cfg(sim)->timeout;
}

static struct arp_wait *wait_find(struct arp_iface *ai, uint32_t ip, guint *index)
{
    for (guint i = 0; i < ai->waits->len; i++) {
        struct arp_wait *w = g_ptr_array_index(ai->waits, i);
        if (w->ip == ip) {
            if (index)
                *index = i;
            return w;
        }
    }
    return NULL;
}

/* ---- frames ---- */

static char *mac_format(const uint8_t mac[6], char buf[18])
{
    snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
             mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    return buf;
}

/* Sends an ARP body (RFC 826 "Packet format") out of ifc. */
static void arp_send(ns_iface *ifc, uint16_t op, uint32_t spa, const uint8_t tha[6],
                     uint32_t tpa, const uint8_t eth_dst[6])
{
    ns_pkt *p = ns_pkt_new(ifc->host->sim);
    uint8_t *b = p->l3;
    p->ethertype = NS_ETHERTYPE_ARP;
    ns_put16(b, ARP_HTYPE_ETHER);
    ns_put16(b + 2, NS_ETHERTYPE_IPV4);
    b[4] = 6;
    b[5] = 4;
    ns_put16(b + 6, op);
    memcpy(b + 8, ifc->mac, 6);
    ns_put32(b + 14, spa);
    memcpy(b + 18, tha, 6);
    ns_put32(b + 24, tpa);
    p->eth_dst_if = ns__mac_to_if(ifc->host->net, eth_dst);
    ns__lan_send(ifc, p);
}

static void send_request(struct arp_wait *w)
{
    ns_iface *ifc = w->ai->ifc;
    ns_sim *sim = ifc->host->sim;
    w->sent++;
    if (ns_trace_on(sim, "arp", ifc->host->name)) {
        char a[NS_ADDR_STRLEN], b[NS_ADDR_STRLEN];
        ns_trace_event(sim, "arp", ifc->host->name, "op=request who-has=%s tell=%s try=%u",
                       ns_addr_format(w->ip, a), ns_addr_format(ifc->addr, b), w->sent);
    }
    arp_send(ifc, ARP_OP_REQUEST, ifc->addr, zero_mac, w->ip, bcast_mac);
}

/* A request went unanswered for NS_ARP_RETRY_INTERVAL: resend it, or after
 * NS_ARP_RETRIES resends give up on the next hop (RFC 1122 2.3.2.1 asks
 * for a bounded rate of requests per destination). */
static void wait_timeout(ns_sim *sim, void *arg)
{
    struct arp_wait *w = arg;
    struct arp_iface *ai = w->ai;
    w->timer = NS_EVENT_NONE;
    if (w->sent < 1 + NS_ARP_RETRIES) {
        send_request(w);
        w->timer = ns_event_after(sim, NS_ARP_RETRY_INTERVAL, wait_timeout, w);
        return;
    }
    if (ns_trace_on(sim, "arp", ai->ifc->host->name)) {
        char a[NS_ADDR_STRLEN];
        ns_trace_event(sim, "arp", ai->ifc->host->name, "op=fail who-has=%s dropped=%u",
                       ns_addr_format(w->ip, a), g_queue_get_length(&w->pkts));
    }
    g_ptr_array_remove(ai->waits, w);
    wait_free(sim, w, true, NS_DROP_NO_ARP);
}

/* The mapping for ip is known: send what waited for it, in order. */
static void wait_flush(struct arp_iface *ai, uint32_t ip, const uint8_t mac[6])
{
    guint i;
    struct arp_wait *w = wait_find(ai, ip, &i);
    if (!w)
        return;
    g_ptr_array_remove_index(ai->waits, i);
    ns_event_cancel(ai->ifc->host->sim, w->timer);
    ns_pkt *p;
    while ((p = g_queue_pop_head(&w->pkts))) {
        p->eth_dst_if = ns__mac_to_if(ai->ifc->host->net, mac);
        ns__lan_send(ai->ifc, p);
    }
    g_free(w);
}

void ns__arp_output(ns_iface *ifc, ns_pkt *p, uint32_t next_hop)
{
    ns_host *h = ifc->host;
    struct arp_iface *ai = arp_iface_get(ifc);
    struct arp_entry *e = cache_get(ai, next_hop);
    if (e) {
        if (!e->gid_known || e->gid_gen != h->net->mac_gen) {
            e->gid = ns__mac_to_if(h->net, e->mac);
            e->gid_gen = h->net->mac_gen;
            e->gid_known = true;
        }
        p->eth_dst_if = e->gid;
        ns__lan_send(ifc, p);
        return;
    }
    struct arp_wait *w = wait_find(ai, next_hop, NULL);
    if (w) {
        /* RFC 1122 2.3.2.2 asks to keep at least one packet; we keep a
         * few so a burst survives resolution. */
        if (g_queue_get_length(&w->pkts) >= NS_ARP_MAX_WAITING)
            ns__net_drop(h->sim, h, h->name, p, NS_DROP_NO_ARP);
        else
            g_queue_push_tail(&w->pkts, p);
        return;
    }
    w = g_new0(struct arp_wait, 1);
    w->ai = ai;
    w->ip = next_hop;
    g_queue_init(&w->pkts);
    g_queue_push_tail(&w->pkts, p);
    g_ptr_array_add(ai->waits, w);
    send_request(w);
    w->timer = ns_event_after(h->sim, NS_ARP_RETRY_INTERVAL, wait_timeout, w);
}

/* RFC 5227 2.1.1: a probe for addr is answered "in use" by any ARP whose
 * sender IP is addr, or by another host's probe for the same addr. */
static void check_probes(struct arp_iface *ai, const uint8_t sha[6], uint32_t spa, uint32_t tpa)
{
    GPtrArray *hit = NULL;
    for (guint i = 0; i < ai->probes->len;) {
        struct arp_probe *pr = g_ptr_array_index(ai->probes, i);
        bool conflict = (spa != 0 && spa == pr->addr) ||
                        (spa == 0 && tpa == pr->addr && memcmp(sha, ai->ifc->mac, 6) != 0);
        if (!conflict) {
            i++;
            continue;
        }
        if (!hit)
            hit = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_add(hit, g_ptr_array_steal_index(ai->probes, i));
    }
    /* Callbacks last: they may start new probes. */
    for (guint i = 0; hit && i < hit->len; i++) {
        struct arp_probe *pr = g_ptr_array_index(hit, i);
        ns_sim *sim = ai->ifc->host->sim;
        ns_event_cancel(sim, pr->timer);
        if (ns_trace_on(sim, "arp", ai->ifc->host->name)) {
            char a[NS_ADDR_STRLEN], m[18];
            ns_trace_event(sim, "arp", ai->ifc->host->name, "op=conflict addr=%s mac=%s",
                           ns_addr_format(pr->addr, a), mac_format(sha, m));
        }
        pr->done(ai->ifc, pr->addr, true, pr->ud);
    }
    if (hit)
        g_ptr_array_free(hit, TRUE);
}

/* RFC 826 "Packet Reception", with RFC 5227's probe watch in front. */
static void arp_input(ns_iface *in, ns_pkt *p)
{
    ns_host *h = in->host;
    ns_sim *sim = h->sim;
    const uint8_t *b = p->l3;
    if (!ns__lan_is_port(in) || ns_get16(b) != ARP_HTYPE_ETHER ||
        ns_get16(b + 2) != NS_ETHERTYPE_IPV4 || b[4] != 6 || b[5] != 4) {
        ns_pkt_free(sim, p);
        return;
    }
    uint16_t op = ns_get16(b + 6);
    const uint8_t *sha = b + 8;
    uint32_t spa = ns_get32(b + 14);
    uint32_t tpa = ns_get32(b + 24);
    struct arp_iface *ai = arp_iface_get(in);

    check_probes(ai, sha, spa, tpa);

    /* A probe's sender IP 0.0.0.0 is no mapping (RFC 5227 2.1.1). */
    bool merged = false;
    if (spa != 0 && cache_get(ai, spa)) {
        cache_put(ai, spa, sha);
        merged = true;
    }
    if (in->addr != 0 && tpa == in->addr) {
        if (!merged && spa != 0) {
            cache_put(ai, spa, sha);
            merged = true;
        }
        if (op == ARP_OP_REQUEST) {
            if (ns_trace_on(sim, "arp", h->name)) {
                char a[NS_ADDR_STRLEN], m[18];
                ns_trace_event(sim, "arp", h->name, "op=reply addr=%s is-at=%s",
                               ns_addr_format(in->addr, a), mac_format(in->mac, m));
            }
            /* Unicast back to the asker, even a prober (RFC 5227 2.1.1). */
            uint8_t tha[6];
            memcpy(tha, sha, 6);
            arp_send(in, ARP_OP_REPLY, in->addr, tha, spa, tha);
        }
    }
    uint8_t mac[6];
    memcpy(mac, sha, 6);
    ns_pkt_free(sim, p);
    if (merged)
        wait_flush(ai, spa, mac);
}

/* ---- crash ---- */

static void arp_fault(ns_host *h, enum ns_host_fault f, void *ud)
{
    struct arp_host *ah = h->arp;
    if (f != NS_HOST_CRASH || !ah)
        return;
    for (guint i = 0; i < ah->ifaces->len; i++) {
        struct arp_iface *ai = g_ptr_array_index(ah->ifaces, i);
        if (!ai)
            continue;
        g_hash_table_remove_all(ai->cache);
        for (guint j = 0; j < ai->waits->len; j++)
            wait_free(h->sim, g_ptr_array_index(ai->waits, j), true, NS_DROP_HOST_DOWN);
        g_ptr_array_set_size(ai->waits, 0);
        for (guint j = 0; j < ai->probes->len; j++)
            ns_event_cancel(h->sim, ((struct arp_probe *)g_ptr_array_index(ai->probes, j))->timer);
        g_ptr_array_set_size(ai->probes, 0);
    }
}

void ns__arp_enable(struct ns_net *net)
{
    if (net->arp_input)
        return;
    net->arp_input = arp_input;
    ns_net_on_fault(net->sim, arp_fault, NULL);
}

/* ---- public ---- */

bool ns_arp_lookup(ns_iface *ifc, uint32_t addr, uint8_t mac[6])
{
    struct arp_iface *ai = arp_iface_peek(ifc);
    struct arp_entry *e = ai ? cache_get(ai, addr) : NULL;
    if (e && mac)
        memcpy(mac, e->mac, 6);
    return e != NULL;
}

void ns_arp_flush(ns_iface *ifc)
{
    struct arp_iface *ai = arp_iface_peek(ifc);
    if (ai)
        g_hash_table_remove_all(ai->cache);
}

static void probe_timeout(ns_sim *sim, void *arg)
{
    struct arp_probe *pr = arg;
    struct arp_iface *ai = pr->ai;
    guint i;
    if (g_ptr_array_find(ai->probes, pr, &i))
        g_ptr_array_steal_index(ai->probes, i);
    if (ns_trace_on(sim, "arp", ai->ifc->host->name)) {
        char a[NS_ADDR_STRLEN];
        ns_trace_event(sim, "arp", ai->ifc->host->name, "op=probe-free addr=%s",
                       ns_addr_format(pr->addr, a));
    }
    pr->done(ai->ifc, pr->addr, false, pr->ud);
    g_free(pr);
}

void ns_arp_probe(ns_iface *ifc, uint32_t addr, ns_time_t wait,
                  ns_arp_probe_fn done, void *ud)
{
    g_return_if_fail(ifc && done && wait >= 0);
    g_return_if_fail(ns__lan_is_port(ifc));
    ns_sim *sim = ifc->host->sim;
    if (!ifc->host->up)
        return;
    ns__arp_enable(ifc->host->net);     /* the answers must reach us */
    struct arp_iface *ai = arp_iface_get(ifc);
    struct arp_probe *pr = g_new0(struct arp_probe, 1);
    pr->ai = ai;
    pr->addr = addr;
    pr->done = done;
    pr->ud = ud;
    pr->timer = ns_event_after(sim, wait, probe_timeout, pr);
    g_ptr_array_add(ai->probes, pr);
    if (ns_trace_on(sim, "arp", ifc->host->name)) {
        char a[NS_ADDR_STRLEN];
        ns_trace_event(sim, "arp", ifc->host->name, "op=probe who-has=%s",
                       ns_addr_format(addr, a));
    }
    arp_send(ifc, ARP_OP_REQUEST, 0, zero_mac, addr, bcast_mac);
}

void ns_arp_announce(ns_iface *ifc)
{
    g_return_if_fail(ifc && ns__lan_is_port(ifc));
    ns_sim *sim = ifc->host->sim;
    if (!ifc->host->up || !ifc->addr)
        return;
    if (ns_trace_on(sim, "arp", ifc->host->name)) {
        char a[NS_ADDR_STRLEN], m[18];
        ns_trace_event(sim, "arp", ifc->host->name, "op=announce addr=%s mac=%s",
                       ns_addr_format(ifc->addr, a), mac_format(ifc->mac, m));
    }
    arp_send(ifc, ARP_OP_REQUEST, ifc->addr, zero_mac, ifc->addr, bcast_mac);
}
