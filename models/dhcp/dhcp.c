/* dhcp.c — what DHCP clients, servers and relays share: sending and
 * receiving messages over UDP, diagram labels, the per-sim fault
 * observer (registered once, so no object needs unregistering) and the
 * tables the plots read (dhcp_timeline.tsv, dhcp_pool.tsv).
 *
 * Invariant: table rows come in event order, clients and servers in
 * creation order, so the tables are byte-identical between identical
 * runs. */
#include <string.h>

#include "dhcp_priv.h"
#include "netsim/event.h"
#include "netsim/output.h"

#define SIM_KEY "dhcp"

uint32_t ns__dhcp_prefix_mask(int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int ns__dhcp_mask_prefix(uint32_t mask)
{
    int n = 0;
    while (n < 32 && (mask & (0x80000000u >> n)))
        n++;
    return n;
}

static void describe(ns_host *sender, const ns_pkt *p, char *buf, size_t len)
{
    struct ns_dhcp_msg m;
    if (ns__dhcp_recv(p, &m))
        ns_dhcp_describe(&m, buf, len);
    else
        g_strlcpy(buf, "BOOTP (undecodable)", len);
}

static void on_fault(ns_host *h, enum ns_host_fault f, void *ud)
{
    (void)ud;
    ns_dhcp_client *c = ns_dhcp_client_of(h);
    if (c)
        ns__dhcp_client_fault(c, f);
    ns_dhcp_server *s = ns_dhcp_server_of(h);
    if (s)
        ns__dhcp_server_fault(s, f);
}

static void sim_free(gpointer p)
{
    struct ns__dhcp_sim *ds = p;
    ns__dhcp_timers_clear(&ds->client_timers);
    g_ptr_array_free(ds->servers, TRUE);
    g_ptr_array_free(ds->clients, TRUE);
    if (ds->pool_last)
        g_array_free(ds->pool_last, TRUE);
    g_free(ds);
}

struct ns__dhcp_sim *ns__dhcp_sim(ns_sim *sim)
{
    struct ns__dhcp_sim *ds = ns_sim_attached(sim, SIM_KEY);
    if (!ds) {
        ds = g_new0(struct ns__dhcp_sim, 1);
        ns__dhcp_timers_init(&ds->client_timers, sim);
        ds->servers = g_ptr_array_new();
        ds->clients = g_ptr_array_new();
        ns_sim_attach(sim, SIM_KEY, ds, sim_free);
        ns_net_on_fault(sim, on_fault, NULL);
        ns_udp_set_describer(sim, NS_DHCP_SERVER_PORT, describe);
        ns_udp_set_describer(sim, NS_DHCP_CLIENT_PORT, describe);
    }
    return ds;
}

bool ns__dhcp_send(ns_udp *sock, ns_iface *ifc, uint32_t dst, uint16_t port,
                   const struct ns_dhcp_msg *m)
{
    uint8_t buf[NS_DHCP_MSG_MAX];
    size_t len = ns_dhcp_encode(m, buf);
    if (dst == 0xffffffffu && ifc)
        return ns_udp_send_iface(sock, ifc, dst, port, buf, (uint32_t)len);
    return ns_udp_send(sock, dst, port, buf, (uint32_t)len);
}

bool ns__dhcp_send_raw_unicast(ns_udp *sock, ns_iface *ifc, const uint8_t *buf, size_t len,
                               uint32_t yiaddr, const uint8_t chaddr[6])
{
    return ns_udp_send_iface_mac(sock, ifc, yiaddr, chaddr, NS_DHCP_CLIENT_PORT, buf,
                                 (uint32_t)len);
}

bool ns__dhcp_reply_unicast(const struct ns_dhcp_msg *reply)
{
    return reply->type != NS_DHCP_NAK && reply->yiaddr != 0 &&
           !(reply->flags & NS_DHCP_FLAG_BROADCAST);
}

bool ns__dhcp_recv(const ns_pkt *p, struct ns_dhcp_msg *m)
{
    uint8_t buf[NS_DHCP_MSG_MAX];
    uint32_t len = p->payload_len < sizeof buf ? p->payload_len : (uint32_t)sizeof buf;
    ns_pkt_copy_payload(p, 0, len, buf);
    return ns_dhcp_decode(buf, len, m, NULL);
}

/* ---- tables ---- */

void ns__dhcp_timeline_row(struct ns__dhcp_sim *ds, ns_dhcp_client *c,
                           enum ns_dhcp_state to, const char *cause)
{
    if (!ds->timeline)
        return;
    ns_table_begin(ds->timeline);
    ns_table_str(ds->timeline, ns_host_name(ns_dhcp_client_host(c)));
    ns_table_str(ds->timeline, ns_dhcp_state_name(to));
    ns_table_str(ds->timeline, cause);
    ns_table_end(ds->timeline);
}

/* One dhcp_pool.tsv row per server whose count changed (all of them when
 * `always`).  Counting applies lazy expiry, so a lease that ended between
 * two samples shows at the second: the table's resolution is `every`. */
static void pool_rows(struct ns__dhcp_sim *ds, bool always)
{
    for (guint i = 0; i < ds->servers->len; i++) {
        ns_dhcp_server *s = g_ptr_array_index(ds->servers, i);
        size_t n = ns_dhcp_server_active(s);
        if (i >= ds->pool_last->len) {
            size_t none = SIZE_MAX;
            g_array_append_val(ds->pool_last, none);
        }
        size_t *last = &g_array_index(ds->pool_last, size_t, i);
        if (!always && n == *last)
            continue;
        *last = n;
        ns_table_begin(ds->pool);
        ns_table_str(ds->pool, ns_host_name(ns_dhcp_server_host(s)));
        ns_table_u64(ds->pool, n);
        ns_table_end(ds->pool);
    }
}

static void pool_sample(ns_sim *sim, void *arg)
{
    struct ns__dhcp_sim *ds = arg;
    pool_rows(ds, false);
    ns_event_after_weak(sim, ds->pool_every, pool_sample, ds);
}

/* The state each client and server is left in, so that the last bars and
 * steps of the plots reach the end of the run. */
static bool tables_final(ns_sim *sim, void *ud, GError **error)
{
    (void)sim; (void)error;
    struct ns__dhcp_sim *ds = ud;
    for (guint i = 0; i < ds->clients->len; i++) {
        ns_dhcp_client *c = g_ptr_array_index(ds->clients, i);
        ns__dhcp_timeline_row(ds, c, ns_dhcp_client_state(c), "end");
    }
    pool_rows(ds, true);
    return true;
}

bool ns_dhcp_trace_tables(ns_sim *sim, ns_time_t every, GError **error)
{
    if (every <= 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "DHCP pool sampling interval %.9g s is not positive", ns_time_to_sec(every));
        return false;
    }
    struct ns__dhcp_sim *ds = ns__dhcp_sim(sim);
    static const char *const timeline_cols[] = { "client", "state", "cause", NULL };
    static const char *const pool_cols[] = { "server", "leased", NULL };
    bool first = ds->timeline == NULL;
    ds->timeline = ns_table_open(sim, "dhcp_timeline", timeline_cols, error);
    if (!ds->timeline)
        return false;
    ds->pool = ns_table_open(sim, "dhcp_pool", pool_cols, error);
    if (!ds->pool) {
        ds->timeline = NULL;
        return false;
    }
    ds->pool_every = every;
    if (first) {
        ds->pool_last = g_array_new(FALSE, FALSE, sizeof(size_t));
        pool_rows(ds, true);
        ns_event_after_weak(sim, every, pool_sample, ds);
        ns_output_on_commit(sim, tables_final, ds);
    }
    return true;
}
