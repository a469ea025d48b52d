/* host.c — hosts and interfaces: names, MAC and IPv4 addresses, model
 * attachments, crash/restart/pause, and the receive path of a frame.
 *
 * Invariants: host names are unique in a sim; a host's interface addresses
 * are distinct and their subnets do not overlap; a crashed host drops every
 * frame, a paused one holds them and handles them in arrival order when it
 * resumes. */
#include <stdio.h>

#include "net_priv.h"
#include "netsim/rng.h"

struct host_attachment {
    char           *key;
    void           *obj;
    GDestroyNotify  destroy;
};

void ns__cpu_crash(ns_host *h);

ns_host *ns_host_new(ns_sim *sim, const char *name, GError **error)
{
    struct ns_net *net = ns__net_get(sim);
    if (!name || !*name) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "a host needs a name");
        return NULL;
    }
    if (g_hash_table_lookup(net->host_by_name, name)) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS, "host '%s' already exists", name);
        return NULL;
    }
    ns_host *h = g_new0(ns_host, 1);
    h->net = net;
    h->sim = sim;
    h->name = g_strdup(name);
    h->id = net->hosts->len;
    h->ifaces = g_ptr_array_new();
    h->up = true;
    h->held = g_array_new(FALSE, FALSE, sizeof(struct held_pkt));
    h->routes = g_array_new(FALSE, FALSE, sizeof(struct route));
    h->attachments = g_ptr_array_new();
    h->cores = 1;
    h->cpu_queue = g_queue_new();
    g_ptr_array_add(net->hosts, h);
    g_hash_table_insert(net->host_by_name, h->name, h);
    net->routes_valid = false;
    return h;
}

void ns__host_free(ns_host *h);
void ns__host_free(ns_host *h)
{
    for (guint i = h->attachments->len; i-- > 0;) {
        struct host_attachment *a = g_ptr_array_index(h->attachments, i);
        if (a->destroy)
            a->destroy(a->obj);
        g_free(a->key);
        g_free(a);
    }
    g_ptr_array_free(h->attachments, TRUE);
    if (h->rngs)
        g_hash_table_destroy(h->rngs);
    for (guint i = 0; i < h->held->len; i++)
        ns_pkt_free(h->sim, g_array_index(h->held, struct held_pkt, i).p);
    g_array_free(h->held, TRUE);
    ns__cpu_crash(h);                       /* frees queued work items */
    g_queue_free(h->cpu_queue);
    for (guint i = 0; i < h->ifaces->len; i++)
        g_free(g_ptr_array_index(h->ifaces, i));
    g_ptr_array_free(h->ifaces, TRUE);
    g_array_free(h->routes, TRUE);
    g_free(h->rcache);
    g_free(h->reach);
    if (h->local)
        g_hash_table_destroy(h->local);
    g_free(h->name);
    g_free(h);
}

ns_host *ns_host_find(ns_sim *sim, const char *name)
{
    struct ns_net *net = ns__net_peek(sim);
    return net ? g_hash_table_lookup(net->host_by_name, name) : NULL;
}

size_t ns_host_count(ns_sim *sim)
{
    struct ns_net *net = ns__net_peek(sim);
    return net ? net->hosts->len : 0;
}

ns_host *ns_host_nth(ns_sim *sim, size_t i)
{
    struct ns_net *net = ns__net_peek(sim);
    return net && i < net->hosts->len ? g_ptr_array_index(net->hosts, i) : NULL;
}

const char *ns_host_name(const ns_host *h) { return h->name; }
ns_sim *ns_host_sim(const ns_host *h) { return h->sim; }
uint32_t ns_host_id(const ns_host *h) { return h->id; }
const struct ns_host_stats *ns_host_stats(const ns_host *h) { return &h->stats; }

void ns_host_set_forwarding(ns_host *h, bool on)
{
    h->forwarding = on;
    h->net->routes_valid = false;
}

bool ns_host_is_forwarding(const ns_host *h) { return h->forwarding; }
size_t ns_host_n_ifaces(const ns_host *h) { return h->ifaces->len; }

ns_iface *ns_host_iface(const ns_host *h, size_t i)
{
    return i < h->ifaces->len ? g_ptr_array_index(h->ifaces, i) : NULL;
}

uint32_t ns_host_addr(const ns_host *h)
{
    for (guint i = 0; i < h->ifaces->len; i++) {
        ns_iface *ifc = g_ptr_array_index(h->ifaces, i);
        if (ifc->addr)
            return ifc->addr;
    }
    return 0;
}

/* Hosts with many interfaces (routers) answer from a set rebuilt when an
 * address changes: a scan of 101 interfaces per forwarded packet was a
 * third of a 100-flow dumbbell's time. */
#define LOCAL_SET_MIN_IFACES 5

static void rebuild_local(ns_host *h)
{
    if (!h->local)
        h->local = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_hash_table_remove_all(h->local);
    for (guint i = 0; i < h->ifaces->len; i++) {
        ns_iface *ifc = g_ptr_array_index(h->ifaces, i);
        if (!ifc->addr)
            continue;
        g_hash_table_add(h->local, GUINT_TO_POINTER(ifc->addr));
        if (ifc->prefix < 31)
            g_hash_table_add(h->local, GUINT_TO_POINTER(ns_iface_broadcast(ifc)));
    }
    h->local_dirty = false;
}

/* Out of line, so that the scan below, asked two to four times per
 * datagram, saves no registers for it. */
G_GNUC_NO_INLINE static bool local_set_has(ns_host *h, uint32_t addr)
{
    if (!h->local || h->local_dirty)
        rebuild_local(h);
    return g_hash_table_contains(h->local, GUINT_TO_POINTER(addr));
}

bool ns_host_has_addr(const ns_host *ch, uint32_t addr)
{
    if (addr == NS_IP_BROADCAST)
        return true;
    ns_host *h = (ns_host *)ch;
    if (h->ifaces->len >= LOCAL_SET_MIN_IFACES && addr != 0)
        return local_set_has(h, addr);
    if (addr == 0)
        return false;             /* no interface has it, no broadcast is it */
    for (guint i = 0; i < h->ifaces->len; i++) {
        ns_iface *ifc = g_ptr_array_index(h->ifaces, i);
        if (ifc->addr == addr || ifc->subnet_bcast == addr)
            return true;
    }
    return false;
}

/* The address -> owner index, rebuilt when an address, a host or an
 * interface was added or changed since it was built.  Hosts are visited in
 * creation order and the first claim on an address wins, so the answer is
 * the one a linear ns_host_has_addr() search gives; a search per new
 * connection over thousands of hosts is what it replaces. */
static void claim(GHashTable *owner, uint32_t addr, ns_host *h)
{
    if (!g_hash_table_contains(owner, GUINT_TO_POINTER(addr)))
        g_hash_table_insert(owner, GUINT_TO_POINTER(addr), h);
}

static GHashTable *owner_index(struct ns_net *net)
{
    if (net->owner && net->owner_gen == net->addr_gen &&
        net->owner_hosts == net->hosts->len && net->owner_ifaces == net->ifaces->len)
        return net->owner;
    if (!net->owner)
        net->owner = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_hash_table_remove_all(net->owner);
    for (guint i = 0; i < net->hosts->len; i++) {
        ns_host *h = g_ptr_array_index(net->hosts, i);
        for (guint k = 0; k < h->ifaces->len; k++) {
            ns_iface *ifc = g_ptr_array_index(h->ifaces, k);
            if (!ifc->addr)
                continue;
            claim(net->owner, ifc->addr, h);
            if (ifc->prefix < 31)
                claim(net->owner, ns_iface_broadcast(ifc), h);
        }
    }
    net->owner_gen = net->addr_gen;
    net->owner_hosts = net->hosts->len;
    net->owner_ifaces = net->ifaces->len;
    return net->owner;
}

ns_host *ns_host_owning(ns_sim *sim, uint32_t addr)
{
    struct ns_net *net = ns__net_peek(sim);
    if (!net || addr == 0 || addr == NS_IP_BROADCAST)
        return NULL;
    return g_hash_table_lookup(owner_index(net), GUINT_TO_POINTER(addr));
}

/* Remembered by host: TLS asks for its host's stream at every connection,
 * and the stream's name is a printf and a hash of it.  The sim owns the
 * streams for its whole life, so the cache only borrows them. */
struct ns_rng *ns_host_rng(ns_host *h, const char *what)
{
    if (!h->rngs)
        h->rngs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ns_rng *r = g_hash_table_lookup(h->rngs, what);
    if (!r) {
        char *name = g_strdup_printf("host.%s.%s", h->name, what);
        r = ns_sim_rng(h->sim, name);
        g_free(name);
        g_hash_table_insert(h->rngs, g_strdup(what), r);
    }
    return r;
}

void ns_host_attach(ns_host *h, const char *key, void *obj, GDestroyNotify destroy)
{
    g_return_if_fail(ns_host_attached(h, key) == NULL);
    struct host_attachment *a = g_new(struct host_attachment, 1);
    a->key = g_strdup(key);
    a->obj = obj;
    a->destroy = destroy;
    g_ptr_array_add(h->attachments, a);
}

void *ns_host_detach(ns_host *h, const char *key)
{
    for (guint i = 0; i < h->attachments->len; i++) {
        struct host_attachment *a = g_ptr_array_index(h->attachments, i);
        if (strcmp(a->key, key) == 0) {
            void *obj = a->obj;
            g_ptr_array_remove_index(h->attachments, i);
            g_free(a->key);
            g_free(a);
            return obj;
        }
    }
    return NULL;
}

void *ns_host_attached(const ns_host *h, const char *key)
{
    for (guint i = 0; i < h->attachments->len; i++) {
        struct host_attachment *a = g_ptr_array_index(h->attachments, i);
        if (strcmp(a->key, key) == 0)
            return a->obj;
    }
    return NULL;
}

/* ---- interfaces ---- */

/* A locally administered unicast MAC from a hash of (host name, index):
 * stable whatever else the topology holds. */
static void derive_mac(const char *host, size_t index, uint8_t mac[6])
{
    uint64_t h = 1469598103934665603ull;            /* FNV-1a 64 */
    for (const char *c = host; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211ull;
    h = (h ^ (uint8_t)index) * 1099511628211ull;
    mac[0] = 0x02;
    for (int i = 1; i < 6; i++)
        mac[i] = (uint8_t)(h >> (8 * (i - 1)));
}

ns_iface *ns__iface_new(ns_host *h, const struct ns_iface_ops *ops, void *medium)
{
    if (h->net->ifaces->len >= NS_IF_MAX)
        return NULL;
    ns_iface *ifc = g_new0(ns_iface, 1);
    ifc->gid = (uint16_t)h->net->ifaces->len;
    g_ptr_array_add(h->net->ifaces, ifc);
    h->net->mac_gen++;
    ifc->host = h;
    ifc->index = h->ifaces->len;
    g_snprintf(ifc->name, sizeof ifc->name, "eth%zu", ifc->index);
    derive_mac(h->name, ifc->index, ifc->mac);
    ifc->mac_key = ns__mac_key(ifc->mac);
    ifc->ops = ops;
    ifc->medium = medium;
    g_ptr_array_add(h->ifaces, ifc);
    h->net->routes_valid = false;
    return ifc;
}

ns_host *ns_iface_host(const ns_iface *ifc) { return ifc->host; }
const char *ns_iface_name(const ns_iface *ifc) { return ifc->name; }
size_t ns_iface_index(const ns_iface *ifc) { return ifc->index; }
uint32_t ns_iface_addr(const ns_iface *ifc) { return ifc->addr; }
int ns_iface_prefix(const ns_iface *ifc) { return ifc->prefix; }
const uint8_t *ns_iface_mac(const ns_iface *ifc) { return ifc->mac; }
void ns_iface_set_mac(ns_iface *ifc, const uint8_t mac[6])
{
    memcpy(ifc->mac, mac, 6);
    ifc->mac_key = ns__mac_key(mac);
    ifc->host->net->mac_gen++;
}
void ns_iface_set_accept_unconfigured(ns_iface *ifc, bool on) { ifc->accept_unconfigured = on; }
bool ns_iface_is_up(const ns_iface *ifc) { return ifc->ops->is_up(ifc); }
void ns_iface_capture(ns_iface *ifc, ns_pcap *pc) { ifc->pcap = pc; }

static uint32_t mask_of(int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

uint32_t ns_iface_broadcast(const ns_iface *ifc)
{
    return ifc->addr | ~mask_of(ifc->prefix);
}

/* Whether addr/prefix may go on h's interface `name` (`self` when it
 * exists): addresses on a host are distinct and their subnets disjoint. */
bool ns__host_check_addr(const ns_host *h, const ns_iface *self, const char *name,
                         uint32_t addr, int prefix, GError **error)
{
    char a[NS_ADDR_STRLEN], b[NS_ADDR_STRLEN];
    if (addr && (prefix < 1 || prefix > 32)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "host '%s': prefix /%d is outside [1, 32]",
                    h->name, prefix);
        return false;
    }
    for (guint i = 0; addr && i < h->ifaces->len; i++) {
        ns_iface *o = g_ptr_array_index(h->ifaces, i);
        if (o == self || !o->addr)
            continue;
        if (o->addr == addr) {
            g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                        "host '%s': address %s is already on %s", h->name,
                        ns_addr_format(addr, a), o->name);
            return false;
        }
        int p = prefix < o->prefix ? prefix : o->prefix;
        if ((addr & mask_of(p)) == (o->addr & mask_of(p))) {
            g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                        "host '%s': subnet %s/%d of %s overlaps %s/%d of %s", h->name,
                        ns_addr_format(addr & mask_of(prefix), a), prefix, name,
                        ns_addr_format(o->addr & mask_of(o->prefix), b), o->prefix, o->name);
            return false;
        }
    }
    return true;
}

bool ns_iface_set_addr(ns_iface *ifc, uint32_t addr, int prefix, GError **error)
{
    ns_host *h = ifc->host;
    char a[NS_ADDR_STRLEN], b[NS_ADDR_STRLEN];
    if (!ns__host_check_addr(h, ifc, ifc->name, addr, prefix, error))
        return false;
    uint32_t old = ifc->addr;
    int old_prefix = ifc->prefix;
    h->local_dirty = true;
    ifc->addr = addr;
    ifc->prefix = addr ? prefix : 0;
    ifc->subnet_bcast = addr && ifc->prefix < 31 ? ns_iface_broadcast(ifc) : 0;
    h->net->addr_gen++;
    ns__route_addr_changed(ifc, old, old_prefix);
    if (ns_trace_on(h->sim, "net.addr", h->name))
        ns_trace_event(h->sim, "net.addr", h->name, "iface=%s old=%s new=%s/%d", ifc->name,
                       ns_addr_format(old, a), ns_addr_format(addr, b), ifc->prefix);
    GArray *obs = h->net->addr_obs;
    for (guint i = 0; i < obs->len; i++) {
        struct observer *o = &g_array_index(obs, struct observer, i);
        ((ns_addr_fn)o->fn)(ifc, old, addr, o->ud);
    }
    return true;
}

/* ---- faults ---- */

bool ns_host_is_up(const ns_host *h) { return h->up; }
bool ns_host_is_paused(const ns_host *h) { return h->paused; }

void ns__host_tell_fault(ns_host *h, enum ns_host_fault f)
{
    if (ns_trace_on(h->sim, "host.fault", h->name))
        ns_trace_event(h->sim, "host.fault", h->name, "fault=%s", ns_host_fault_name(f));
    GArray *obs = h->net->fault_obs;
    for (guint i = 0; i < obs->len; i++) {
        struct observer *o = &g_array_index(obs, struct observer, i);
        ((ns_fault_fn)o->fn)(h, f, o->ud);
    }
}

static void release_held(ns_host *h)
{
    /* Handle in arrival order; input may hold again if paused anew. */
    GArray *held = h->held;
    h->held = g_array_new(FALSE, FALSE, sizeof(struct held_pkt));
    for (guint i = 0; i < held->len; i++) {
        struct held_pkt *hp = &g_array_index(held, struct held_pkt, i);
        ns__iface_input(hp->in, hp->p);
    }
    g_array_free(held, TRUE);
}

void ns_host_crash(ns_host *h)
{
    if (!h->up)
        return;
    h->up = false;
    if (h->paused) {
        h->paused = false;
        ns_event_cancel(h->sim, h->resume_ev);
    }
    for (guint i = 0; i < h->held->len; i++)
        ns__net_drop(h->sim, h, h->name, g_array_index(h->held, struct held_pkt, i).p,
                     NS_DROP_HOST_DOWN);
    g_array_set_size(h->held, 0);
    ns__cpu_crash(h);
    h->net->routes_valid = false;       /* routing goes around a dead router */
    ns__host_tell_fault(h, NS_HOST_CRASH);
}

void ns_host_restart(ns_host *h)
{
    if (h->up)
        return;
    h->up = true;
    h->net->routes_valid = false;
    ns__host_tell_fault(h, NS_HOST_RESTART);
}

static void resume(ns_sim *sim, void *arg)
{
    ns_host *h = arg;
    h->paused = false;
    h->resume_ev = NS_EVENT_NONE;
    ns__host_tell_fault(h, NS_HOST_RESUME);
    release_held(h);
}

void ns_host_pause(ns_host *h, ns_time_t duration)
{
    if (!h->up || h->paused)
        return;
    h->paused = true;
    h->resume_ev = ns_event_after(h->sim, duration, resume, h);
    ns__host_tell_fault(h, NS_HOST_PAUSE);
}

/* ---- the receive path ---- */

void ns__iface_input(ns_iface *ifc, ns_pkt *p)
{
    ns_host *h = ifc->host;
    if (!h->up) {
        ns__net_drop(h->sim, h, h->name, p, NS_DROP_HOST_DOWN);
        return;
    }
    if (h->paused) {
        struct held_pkt hp = { ifc, p };
        g_array_append_val(h->held, hp);
        return;
    }
    if (p->ethertype == NS_ETHERTYPE_IPV4) {
        ns__ip_input(h, ifc, p);
    } else if (p->ethertype == NS_ETHERTYPE_ARP && h->net->arp_input) {
        h->net->arp_input(ifc, p);
    } else {
        ns_pkt_free(h->sim, p);
    }
}
