/* dhcp_server.c — the RFC 2131 server: pools (range, exclusions,
 * reservations by MAC), a lease table that two servers may share (a
 * failover pair), offers held for a while, NAKs, expiry, an optional ICMP
 * echo check before offering, persistence across a crash on or off.
 *
 * Invariants: an address has at most one live lease record (offered,
 * bound or declined, not past its expiry) in a database, so servers that
 * share a database never lease one address twice; expiry is applied
 * lazily, when a record is next looked at: the "expired" trace row is
 * written at that time and names the true expiry time in its expired_at
 * field (cheaper than an event per lease). */
#include <stdio.h>
#include <string.h>

#include "dhcp_priv.h"
#include "netsim/event.h"
#include "netsim/icmp.h"

#define SERVER_KEY "dhcp.server"

struct pool {
    struct ns_dhcp_pool_cfg cfg;
    uint32_t mask;
    struct ns__dhcp_range *range; /* its summary in the server's db */
};

/* An address being checked with an ICMP echo before it is offered. */
struct check {
    ns_dhcp_server    *srv;
    struct ns_dhcp_msg req;
    ns_iface          *ifc;
    uint32_t           addr;
    bool               in_use;
    ns_event_id        ev;        /* check_done */
};

struct ns_dhcp_server {
    ns_host    *host;
    ns_sim     *sim;
    ns_udp     *sock;
    struct ns_dhcp_server_opts opts;
    ns_dhcp_db *db;
    GArray     *pools;            /* struct pool */
    GHashTable *excluded;         /* addr set */
    GHashTable *reserved;         /* mac (as uint64 key) -> addr */
    GPtrArray  *checks;           /* struct check*, owned */
    uint16_t    ping_seq;
    struct ns_dhcp_server_stats stats;
};


static void trace_lease(ns_dhcp_server *s, const char *event, uint32_t addr, const uint8_t *mac)
{
    if (!ns_trace_on(s->sim, "dhcp.server", ns_host_name(s->host)))
        return;
    char a[NS_ADDR_STRLEN];
    if (mac)
        ns_trace_event(s->sim, "dhcp.server", ns_host_name(s->host),
                       "event=%s addr=%s mac=%02x:%02x:%02x:%02x:%02x:%02x", event,
                       ns_addr_format(addr, a), mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    else
        ns_trace_event(s->sim, "dhcp.server", ns_host_name(s->host), "event=%s addr=%s",
                       event, ns_addr_format(addr, a));
}

/* Written when the record is next looked at, later than the expiry it
 * reports (expired_at, seconds). */
static void trace_expired(ns_dhcp_server *s, const struct ns__dhcp_lease *l)
{
    const uint8_t *m = l->who.mac;
    char a[NS_ADDR_STRLEN];
    DHCP_TRACE(s->sim, "dhcp.server", ns_host_name(s->host),
               "event=expired addr=%s mac=%02x:%02x:%02x:%02x:%02x:%02x expired_at=%.9f",
               ns_addr_format(l->addr, a), m[0], m[1], m[2], m[3], m[4], m[5],
               ns_time_to_sec(l->expires));
}

/* The live record of addr, or NULL (an expired one is dropped here). */
static struct ns__dhcp_lease *lease_get(ns_dhcp_server *s, uint32_t addr)
{
    struct ns__dhcp_lease *l = ns__dhcp_db_find(s->db, addr);
    if (l && l->expires <= ns_sim_now(s->sim)) {
        if (l->st == NS__DHCP_BOUND)
            trace_expired(s, l);
        ns__dhcp_db_remove(s->db, addr);
        l = NULL;
    }
    return l;
}

/* Records addr for the client of m (NULL: for nobody, e.g. an address
 * that answered the ping check). */
static struct ns__dhcp_lease *lease_put(ns_dhcp_server *s, uint32_t addr,
                                        const struct ns_dhcp_msg *m,
                                        enum ns__dhcp_lease_state st, ns_time_t duration)
{
    struct ns__dhcp_who who = { 0 };
    if (m)
        ns__dhcp_who_of(m, &who);
    struct ns__dhcp_lease *l = ns__dhcp_db_put(s->db, addr, &who, st,
                                               ns_sim_now(s->sim) + duration);
    l->owner = s;
    return l;
}

/* Whether l is the record of the client that sent m. */
static bool is_for(const struct ns__dhcp_lease *l, const struct ns_dhcp_msg *m)
{
    struct ns__dhcp_who who;
    ns__dhcp_who_of(m, &who);
    return ns__dhcp_who_same(&l->who, &who);
}

static const struct pool *pool_for(ns_dhcp_server *s, uint32_t addr)
{
    for (guint i = 0; i < s->pools->len; i++) {
        const struct pool *p = &g_array_index(s->pools, struct pool, i);
        if ((addr & p->mask) == p->cfg.subnet)
            return p;
    }
    return NULL;
}

static bool in_range(const struct pool *p, uint32_t addr)
{
    return addr >= p->cfg.first && addr <= p->cfg.last;
}

static bool reserved_for_other(ns_dhcp_server *s, uint32_t addr, const uint8_t mac[6])
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, s->reserved);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (GPOINTER_TO_UINT(v) == addr && *(uint64_t *)k != ns__dhcp_mac_key(mac))
            return true;
    return false;
}

static bool usable(ns_dhcp_server *s, const struct pool *p, uint32_t addr,
                   const struct ns_dhcp_msg *m)
{
    if (!in_range(p, addr) || g_hash_table_contains(s->excluded, GUINT_TO_POINTER(addr)))
        return false;
    struct ns__dhcp_lease *l = lease_get(s, addr);
    if (l && !is_for(l, m))
        return false;
    if (l && l->st == NS__DHCP_DECLINED)
        return false;
    return g_hash_table_size(s->reserved) == 0 || !reserved_for_other(s, addr, m->chaddr);
}

/* The client's binding or offer in p (the lowest), or 0.  Looks at every
 * record up to it, dropping expired ones; a sweep of the whole pool also
 * refreshes the pool's summary (dhcp_lease.c). */
static uint32_t find_binding(ns_dhcp_server *s, const struct pool *p,
                             const struct ns__dhcp_who *who)
{
    struct ns__dhcp_range *r = p->range;
    ns_time_t min_expiry = NS_TIME_MAX;
    uint32_t next = p->cfg.last + 1;
    for (uint32_t a = p->cfg.first; a <= p->cfg.last && a != 0; a++) {
        struct ns__dhcp_lease *l = lease_get(s, a);
        if (l && l->st != NS__DHCP_DECLINED && ns__dhcp_who_same(&l->who, who))
            return a;
        if (l && l->expires < min_expiry)
            min_expiry = l->expires;
        if (!l && next > a)
            next = a;
    }
    r->min_expiry = min_expiry;
    r->next = next;
    return 0;
}

/* RFC 2131 4.3.1: the client's reservation, its current binding or offer,
 * the address it asks for, else the lowest free one.  The summary lets
 * the binding search be skipped for a client the database does not know
 * while nothing in the pool has expired (the search would find nothing
 * and drop nothing), and the free search start at `next`: below it every
 * address has a live record, which cannot be this client's usable one. */
static uint32_t choose(ns_dhcp_server *s, const struct pool *p, const struct ns_dhcp_msg *m)
{
    uint64_t key = ns__dhcp_mac_key(m->chaddr);
    gpointer res = g_hash_table_lookup(s->reserved, &key);
    if (res && in_range(p, GPOINTER_TO_UINT(res)))
        return GPOINTER_TO_UINT(res);
    struct ns__dhcp_range *r = p->range;
    struct ns__dhcp_who who;
    ns__dhcp_who_of(m, &who);
    if (ns_sim_now(s->sim) >= r->min_expiry || ns__dhcp_db_knows_client(s->db, &who)) {
        uint32_t a = find_binding(s, p, &who);
        if (a)
            return a;
    }
    if (m->requested && usable(s, p, m->requested, m))
        return m->requested;
    for (uint32_t a = r->next; a <= p->cfg.last && a != 0; a++) {
        if (usable(s, p, a, m))
            return a;
        if (a == r->next && ns__dhcp_db_find(s->db, a))
            r->next = a + 1;      /* usable() dropped it if it had expired */
    }
    return 0;
}

static uint32_t server_id(ns_dhcp_server *s, ns_iface *ifc)
{
    return ifc && ns_iface_addr(ifc) ? ns_iface_addr(ifc) : ns_host_addr(s->host);
}

/* RFC 2131 4.1: to the relay, to the client's address, or broadcast. */
static void reply(ns_dhcp_server *s, ns_iface *ifc, const struct ns_dhcp_msg *req,
                  struct ns_dhcp_msg *m)
{
    m->op = NS_DHCP_BOOTREPLY;
    m->xid = req->xid;
    m->flags = req->flags;
    m->giaddr = req->giaddr;
    memcpy(m->chaddr, req->chaddr, 6);
    /* RFC 6842 (updating RFC 2131 table 3): echo the client identifier */
    m->client_id_len = req->client_id_len;
    memcpy(m->client_id, req->client_id, req->client_id_len);
    m->server_id = server_id(s, ifc);
    if (m->type != NS_DHCP_NAK)
        m->ciaddr = req->ciaddr;
    if (req->giaddr) {
        ns__dhcp_send(s->sock, NULL, req->giaddr, NS_DHCP_SERVER_PORT, m);
    } else if (req->ciaddr && m->type != NS_DHCP_NAK) {
        ns__dhcp_send(s->sock, NULL, req->ciaddr, NS_DHCP_CLIENT_PORT, m);
    } else if (ifc && ns__dhcp_reply_unicast(m)) {
        uint8_t buf[NS_DHCP_MSG_MAX];
        size_t len = ns_dhcp_encode(m, buf);
        ns__dhcp_send_raw_unicast(s->sock, ifc, buf, len, m->yiaddr, m->chaddr);
    } else {
        ns__dhcp_send(s->sock, ifc, NS_IP_BROADCAST, NS_DHCP_CLIENT_PORT, m);
    }
}

static void fill_lease_options(ns_dhcp_server *s, const struct pool *p, struct ns_dhcp_msg *m)
{
    m->lease_s = s->opts.lease_s;
    m->t1_s = s->opts.t1_s;
    m->t2_s = s->opts.t2_s;
    m->mask = p->mask;
    m->router = p->cfg.router;
    m->dns = p->cfg.dns;
}

static void offer(ns_dhcp_server *s, ns_iface *ifc, const struct pool *p,
                  const struct ns_dhcp_msg *req, uint32_t addr)
{
    lease_put(s, addr, req, NS__DHCP_OFFERED, s->opts.offer_hold);
    struct ns_dhcp_msg m = { .type = NS_DHCP_OFFER, .yiaddr = addr };
    fill_lease_options(s, p, &m);
    s->stats.offers++;
    trace_lease(s, "offer", addr, req->chaddr);
    reply(s, ifc, req, &m);
}

static void nak(ns_dhcp_server *s, ns_iface *ifc, const struct ns_dhcp_msg *req, const char *why)
{
    struct ns_dhcp_msg m = { .type = NS_DHCP_NAK };
    s->stats.naks++;
    DHCP_TRACE(s->sim, "dhcp.server", ns_host_name(s->host), "event=nak addr=%u.%u.%u.%u why=%s",
               (req->requested ? req->requested : req->ciaddr) >> 24,
               (req->requested ? req->requested : req->ciaddr) >> 16 & 255,
               (req->requested ? req->requested : req->ciaddr) >> 8 & 255,
               (req->requested ? req->requested : req->ciaddr) & 255, why);
    reply(s, ifc, req, &m);
}

static void ack(ns_dhcp_server *s, ns_iface *ifc, const struct pool *p,
                const struct ns_dhcp_msg *req, uint32_t addr)
{
    lease_put(s, addr, req, NS__DHCP_BOUND, (ns_time_t)s->opts.lease_s * NS_SEC);
    struct ns_dhcp_msg m = { .type = NS_DHCP_ACK, .yiaddr = addr };
    fill_lease_options(s, p, &m);
    s->stats.acks++;
    trace_lease(s, "ack", addr, req->chaddr);
    reply(s, ifc, req, &m);
}

static const struct pool *request_pool(ns_dhcp_server *s, ns_iface *ifc,
                                       const struct ns_dhcp_msg *m)
{
    if (m->giaddr)
        return pool_for(s, m->giaddr);
    if (!ifc)
        ifc = ns_host_iface(s->host, 0);
    return ifc && ns_iface_addr(ifc) ? pool_for(s, ns_iface_addr(ifc)) : NULL;
}

static void discover(ns_dhcp_server *s, ns_iface *ifc, const struct ns_dhcp_msg *m);

static void check_done(ns_sim *sim, void *arg)
{
    (void)sim;
    struct check *ck = arg;
    ns_dhcp_server *s = ck->srv;
    struct ns_dhcp_msg req = ck->req;
    ns_iface *ifc = ck->ifc;
    uint32_t addr = ck->addr;
    bool in_use = ck->in_use;
    g_ptr_array_remove(s->checks, ck);
    if (!ns_host_is_up(s->host))
        return;
    const struct pool *p = request_pool(s, ifc, &req);
    if (!p)
        return;
    if (in_use) {
        /* RFC 2131 4.3.1: an address that answers is not offered */
        s->stats.ping_in_use++;
        lease_put(s, addr, NULL, NS__DHCP_DECLINED,
                  (ns_time_t)s->opts.lease_s * NS_SEC);
        trace_lease(s, "in-use", addr, NULL);
        discover(s, ifc, &req);
        return;
    }
    offer(s, ifc, p, &req, addr);
}

static void pinged(ns_host *h, uint32_t from, uint16_t seq, ns_time_t rtt, void *ud)
{
    (void)h; (void)seq; (void)rtt;
    ns_dhcp_server *s = ud;
    for (guint i = 0; i < s->checks->len; i++) {
        struct check *ck = g_ptr_array_index(s->checks, i);
        if (ck->addr == from)
            ck->in_use = true;
    }
}

static void discover(ns_dhcp_server *s, ns_iface *ifc, const struct ns_dhcp_msg *m)
{
    const struct pool *p = request_pool(s, ifc, m);
    if (!p)
        return;
    uint32_t addr = choose(s, p, m);
    if (!addr) {
        s->stats.exhausted++;
        DHCP_TRACE(s->sim, "dhcp.server", ns_host_name(s->host),
                   "event=exhausted mac=%02x:%02x:%02x:%02x:%02x:%02x",
                   m->chaddr[0], m->chaddr[1], m->chaddr[2], m->chaddr[3], m->chaddr[4],
                   m->chaddr[5]);
        return;
    }
    struct ns__dhcp_lease *l = lease_get(s, addr);
    if (s->opts.ping_wait > 0 && !(l && l->st == NS__DHCP_BOUND)) {
        /* hold it while the echo check runs */
        lease_put(s, addr, m, NS__DHCP_OFFERED, s->opts.ping_wait + s->opts.offer_hold);
        struct check *ck = g_new0(struct check, 1);
        ck->srv = s;
        ck->req = *m;
        ck->ifc = ifc;
        ck->addr = addr;
        g_ptr_array_add(s->checks, ck);
        ns_icmp_ping(s->host, addr, ++s->ping_seq, 0, pinged, s);
        ck->ev = ns_event_after(s->sim, s->opts.ping_wait, check_done, ck);
        return;
    }
    offer(s, ifc, p, m, addr);
}

static bool is_mine(ns_dhcp_server *s, uint32_t addr)
{
    return addr != NS_IP_BROADCAST && ns_host_has_addr(s->host, addr);
}

static void request(ns_dhcp_server *s, ns_iface *ifc, const struct ns_dhcp_msg *m)
{
    const struct pool *p = request_pool(s, ifc, m);
    if (m->server_id) {                            /* SELECTING */
        if (!is_mine(s, m->server_id)) {
            /* the client chose another server: free our offer */
            for (uint32_t a = p ? p->cfg.first : 1; p && a <= p->cfg.last && a != 0; a++) {
                struct ns__dhcp_lease *l = lease_get(s, a);
                if (l && l->st == NS__DHCP_OFFERED && l->owner == s &&
                    is_for(l, m)) {
                    trace_lease(s, "offer-freed", a, m->chaddr);
                    s->stats.offers_freed++;
                    ns__dhcp_db_remove(s->db, a);
                }
            }
            return;
        }
        struct ns__dhcp_lease *l = m->requested ? lease_get(s, m->requested) : NULL;
        if (p && l && l->st != NS__DHCP_DECLINED && is_for(l, m))
            ack(s, ifc, p, m, m->requested);
        else
            nak(s, ifc, m, "no-offer");
        return;
    }
    if (m->ciaddr == 0 && m->requested) {          /* INIT-REBOOT */
        if (!p || (m->requested & p->mask) != p->cfg.subnet) {
            nak(s, ifc, m, "wrong-subnet");
            return;
        }
        struct ns__dhcp_lease *l = lease_get(s, m->requested);
        if (!l)
            return;               /* RFC 2131 4.3.2: no record, stay silent */
        if (l->st == NS__DHCP_BOUND && is_for(l, m))
            ack(s, ifc, p, m, m->requested);
        else
            nak(s, ifc, m, "not-yours");
        return;
    }
    if (m->ciaddr) {                               /* RENEWING / REBINDING */
        const struct pool *cp = pool_for(s, m->ciaddr);
        struct ns__dhcp_lease *l = lease_get(s, m->ciaddr);
        if (cp && l && l->st == NS__DHCP_BOUND && is_for(l, m))
            ack(s, ifc, cp, m, m->ciaddr);
        else if (cp && in_range(cp, m->ciaddr))
            nak(s, ifc, m, "unknown-lease");
    }
}

static void on_receive(ns_udp *sock, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    (void)src; (void)sport;
    ns_dhcp_server *s = ud;
    struct ns_dhcp_msg m;
    if (!ns__dhcp_recv(p, &m) || m.op != NS_DHCP_BOOTREQUEST)
        return;
    ns_iface *ifc = ns_udp_rx_iface(sock);
    struct ns__dhcp_lease *l;
    switch (m.type) {
    case NS_DHCP_DISCOVER:
        s->stats.discovers++;
        discover(s, ifc, &m);
        break;
    case NS_DHCP_REQUEST:
        s->stats.requests++;
        request(s, ifc, &m);
        break;
    case NS_DHCP_DECLINE:
        s->stats.declines++;
        l = lease_get(s, m.requested);
        if (l && is_for(l, &m)) {
            /* RFC 2131 4.3.3: mark the address as not available */
            l->st = NS__DHCP_DECLINED;
            ns__dhcp_db_set_expiry(l, ns_sim_now(s->sim) + (ns_time_t)s->opts.lease_s * NS_SEC);
            trace_lease(s, "declined", m.requested, m.chaddr);
        }
        break;
    case NS_DHCP_RELEASE:
        s->stats.releases++;
        l = lease_get(s, m.ciaddr);
        if (l && l->st == NS__DHCP_BOUND && is_for(l, &m)) {
            trace_lease(s, "released", m.ciaddr, m.chaddr);
            ns__dhcp_db_remove(s->db, m.ciaddr);
        }
        break;
    case NS_DHCP_INFORM: {
        s->stats.informs++;
        const struct pool *pl = pool_for(s, m.ciaddr);
        if (!pl || !m.ciaddr)
            break;
        struct ns_dhcp_msg r = { .type = NS_DHCP_ACK };
        r.mask = pl->mask;
        r.router = pl->cfg.router;
        r.dns = pl->cfg.dns;
        s->stats.acks++;
        reply(s, ifc, &m, &r);
        break;
    }
    default:
        break;
    }
}

void ns__dhcp_server_fault(ns_dhcp_server *s, enum ns_host_fault f)
{
    if (f != NS_HOST_CRASH)
        return;
    for (guint i = 0; i < s->checks->len; i++)
        ns_event_cancel(s->sim, ((struct check *)g_ptr_array_index(s->checks, i))->ev);
    g_ptr_array_set_size(s->checks, 0);
    /* a shared database lives on in the partner */
    if (!s->opts.persist && ns__dhcp_db_refs(s->db) == 1) {
        DHCP_TRACE(s->sim, "dhcp.server", ns_host_name(s->host), "event=forgotten leases=%zu",
                   ns__dhcp_db_size(s->db));
        ns__dhcp_db_clear(s->db);
    }
}

/* ---- API ---- */

void ns_dhcp_server_opts_defaults(struct ns_dhcp_server_opts *o)
{
    memset(o, 0, sizeof *o);
    o->lease_s = 3600;
    o->offer_hold = 60 * NS_SEC;
    o->persist = true;
}

static void server_free(gpointer p)
{
    ns_dhcp_server *s = p;
    /* hosts die only with the sim, after the per-sim list (attached
     * later, freed first): nothing to unregister */
    ns__dhcp_db_unref(s->db);
    g_array_free(s->pools, TRUE);
    g_hash_table_destroy(s->excluded);
    g_hash_table_destroy(s->reserved);
    g_ptr_array_free(s->checks, TRUE);
    g_free(s);
}

ns_dhcp_server *ns_dhcp_server_new(ns_host *h, const struct ns_dhcp_server_opts *o,
                                   GError **error)
{
    ns_sim *sim = ns_host_sim(h);
    struct ns_dhcp_server_opts def;
    if (!o) {
        ns_dhcp_server_opts_defaults(&def);
        o = &def;
    }
    const char *name = ns_host_name(h);
    if (o->lease_s == 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "DHCP server '%s': lease time 0 s is not positive", name);
        return NULL;
    }
    uint32_t t1 = o->t1_s ? o->t1_s : o->lease_s / 2;
    uint32_t t2 = o->t2_s ? o->t2_s : (uint32_t)((uint64_t)o->lease_s * 7 / 8);
    if ((o->t1_s || o->t2_s) && t1 >= t2) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "DHCP server '%s': T1 %u s is not before T2 %u s", name, t1, t2);
        return NULL;
    }
    if (t2 >= o->lease_s) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "DHCP server '%s': T2 %u s is not before the lease end %u s",
                    name, t2, o->lease_s);
        return NULL;
    }
    if (ns_dhcp_server_of(h)) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS, "host '%s' already runs a DHCP server", name);
        return NULL;
    }
    uint32_t addr = ns_host_addr(h);
    if (addr == 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "DHCP server '%s' has no address", name);
        return NULL;
    }
    struct ns__dhcp_sim *ds = ns__dhcp_sim(sim);
    for (guint i = 0; i < ds->servers->len; i++) {
        ns_dhcp_server *o2 = g_ptr_array_index(ds->servers, i);
        if (ns_host_addr(o2->host) == addr) {
            char a[NS_ADDR_STRLEN];
            g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                        "DHCP servers '%s' and '%s' have the same address %s",
                        ns_host_name(o2->host), name, ns_addr_format(addr, a));
            return NULL;
        }
    }
    ns_udp *sock = ns_udp_bind(h, NS_DHCP_SERVER_PORT, error);
    if (!sock)
        return NULL;
    ns_dhcp_server *s = g_new0(ns_dhcp_server, 1);
    s->host = h;
    s->sim = sim;
    s->sock = sock;
    s->opts = *o;
    if (o->db) {
        s->db = o->db;
        ns__dhcp_db_ref(s->db);
    } else {
        s->db = ns__dhcp_db_new();
    }
    s->opts.db = NULL;
    s->pools = g_array_new(FALSE, FALSE, sizeof(struct pool));
    s->excluded = g_hash_table_new(g_direct_hash, g_direct_equal);
    s->reserved = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    s->checks = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(ds->servers, s);
    ns_host_attach(h, SERVER_KEY, s, server_free);
    ns_udp_on_receive(sock, on_receive, s);
    return s;
}

void ns_dhcp_server_free(ns_dhcp_server *s)
{
    struct ns__dhcp_sim *ds = ns__dhcp_sim(s->sim);
    for (guint k = 0; k < s->checks->len; k++)
        ns_event_cancel(s->sim, ((struct check *)g_ptr_array_index(s->checks, k))->ev);
    guint i;
    if (g_ptr_array_find(ds->servers, s, &i)) {
        g_ptr_array_remove_index(ds->servers, i);
        /* dhcp_pool.tsv keeps one count per server, by position */
        if (ds->pool_last && i < ds->pool_last->len)
            g_array_remove_index(ds->pool_last, i);
    }
    ns_udp_close(s->sock);
    ns_host_detach(s->host, SERVER_KEY);
    server_free(s);
}

ns_dhcp_server *ns_dhcp_server_of(const ns_host *h) { return ns_host_attached(h, SERVER_KEY); }
ns_host *ns_dhcp_server_host(const ns_dhcp_server *s) { return s->host; }
ns_dhcp_db *ns_dhcp_server_db(ns_dhcp_server *s) { return s->db; }
void ns_dhcp_server_set_persist(ns_dhcp_server *s, bool persist) { s->opts.persist = persist; }
const struct ns_dhcp_server_stats *ns_dhcp_server_stats(const ns_dhcp_server *s) { return &s->stats; }

bool ns_dhcp_server_add_pool(ns_dhcp_server *s, const struct ns_dhcp_pool_cfg *cfg,
                             GError **error)
{
    char a[NS_ADDR_STRLEN], b[NS_ADDR_STRLEN], n[NS_ADDR_STRLEN];
    const char *name = ns_host_name(s->host);
    ns_addr_format(cfg->first, a);
    ns_addr_format(cfg->last, b);
    if (cfg->first > cfg->last) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "DHCP server '%s': pool %s-%s is reversed", name, a, b);
        return false;
    }
    struct pool p = { .cfg = *cfg };
    if (!p.cfg.subnet) {
        for (size_t i = 0; i < ns_host_n_ifaces(s->host); i++) {
            ns_iface *ifc = ns_host_iface(s->host, i);
            uint32_t m = ns__dhcp_prefix_mask(ns_iface_prefix(ifc));
            if (ns_iface_addr(ifc) && (ns_iface_addr(ifc) & m) == (cfg->first & m)) {
                p.cfg.subnet = ns_iface_addr(ifc) & m;
                p.cfg.prefix = ns_iface_prefix(ifc);
                break;
            }
        }
        if (!p.cfg.subnet) {
            ns_iface *ifc = ns_host_iface(s->host, 0);
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                        "DHCP server '%s': pool %s-%s is outside its subnet %s/%d", name, a, b,
                        ns_addr_format(ifc ? ns_iface_addr(ifc) & ns__dhcp_prefix_mask(ns_iface_prefix(ifc)) : 0, n),
                        ifc ? ns_iface_prefix(ifc) : 0);
            return false;
        }
    }
    p.mask = ns__dhcp_prefix_mask(p.cfg.prefix);
    uint32_t bcast = p.cfg.subnet | ~p.mask;
    if ((cfg->first & p.mask) != p.cfg.subnet || (cfg->last & p.mask) != p.cfg.subnet ||
        cfg->first == p.cfg.subnet || cfg->last == bcast) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "DHCP server '%s': pool %s-%s is outside its subnet %s/%d", name, a, b,
                    ns_addr_format(p.cfg.subnet, n), p.cfg.prefix);
        return false;
    }
    for (guint i = 0; i < s->pools->len; i++) {
        const struct pool *q = &g_array_index(s->pools, struct pool, i);
        if (q->cfg.subnet == p.cfg.subnet) {
            g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                        "DHCP server '%s': subnet %s/%d already has a pool", name,
                        ns_addr_format(p.cfg.subnet, n), p.cfg.prefix);
            return false;
        }
    }
    p.range = ns__dhcp_db_range(s->db, p.cfg.first, p.cfg.last);
    g_array_append_val(s->pools, p);
    return true;
}

bool ns_dhcp_server_exclude(ns_dhcp_server *s, uint32_t addr, GError **error)
{
    const struct pool *p = pool_for(s, addr);
    if (!p || !in_range(p, addr)) {
        char a[NS_ADDR_STRLEN];
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "DHCP server '%s': excluded address %s is in none of its pools",
                    ns_host_name(s->host), ns_addr_format(addr, a));
        return false;
    }
    g_hash_table_add(s->excluded, GUINT_TO_POINTER(addr));
    return true;
}

static bool parse_mac(const char *text, uint8_t mac[6])
{
    if (!text || strlen(text) != 17)
        return false;
    for (int i = 0; i < 6; i++) {
        const char *t = text + 3 * i;
        if (!g_ascii_isxdigit(t[0]) || !g_ascii_isxdigit(t[1]) || (i < 5 && t[2] != ':'))
            return false;
        mac[i] = (uint8_t)(g_ascii_xdigit_value(t[0]) << 4 | g_ascii_xdigit_value(t[1]));
    }
    return true;
}

bool ns_dhcp_server_reserve(ns_dhcp_server *s, const char *mac, uint32_t addr, GError **error)
{
    uint8_t m[6];
    if (!parse_mac(mac, m)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "DHCP server '%s': reservation for malformed MAC '%s' "
                    "(expected aa:bb:cc:dd:ee:ff)", ns_host_name(s->host), mac ? mac : "(null)");
        return false;
    }
    const struct pool *p = pool_for(s, addr);
    if (!p) {
        char a[NS_ADDR_STRLEN];
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "DHCP server '%s': reserved address %s is in none of its subnets",
                    ns_host_name(s->host), ns_addr_format(addr, a));
        return false;
    }
    uint64_t *k = g_new(uint64_t, 1);
    *k = ns__dhcp_mac_key(m);
    g_hash_table_replace(s->reserved, k, GUINT_TO_POINTER(addr));
    return true;
}

size_t ns_dhcp_server_active(ns_dhcp_server *s)
{
    size_t n = 0;
    for (guint i = 0; i < s->pools->len; i++) {
        const struct pool *p = &g_array_index(s->pools, struct pool, i);
        for (uint32_t a = p->cfg.first; a <= p->cfg.last && a != 0; a++) {
            struct ns__dhcp_lease *l = lease_get(s, a);
            if (l && l->st == NS__DHCP_BOUND)
                n++;
        }
    }
    return n;
}

bool ns_dhcp_server_holder(ns_dhcp_server *s, uint32_t addr, uint8_t mac[6])
{
    struct ns__dhcp_lease *l = lease_get(s, addr);
    if (!l || l->st != NS__DHCP_BOUND)
        return false;
    memcpy(mac, l->who.mac, 6);
    return true;
}

