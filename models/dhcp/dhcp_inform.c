/* dhcp_inform.c — DHCPINFORM (RFC 2131 3.4, 4.4.3): a host whose address
 * was configured by hand asks for the other parameters (mask, router,
 * DNS).  The INFORM carries the address in ciaddr; a server answers with
 * an ACK unicast to ciaddr, with no yiaddr and no lease time (it leases
 * nothing).  Unanswered, the INFORM is resent with the DISCOVER backoff
 * (4, 8, ... 64 s, +-1 s, RFC 2131 4.1), up to `tries` sends in all.
 *
 * Invariant: at most one exchange (xid) is open; replies for another xid,
 * chaddr or type are ignored. */
#include <math.h>
#include <string.h>

#include "dhcp_priv.h"
#include "netsim/event.h"
#include "netsim/rng.h"

#define INFORM_KEY "dhcp.inform"

struct ns_dhcp_inform {
    ns_host    *host;
    ns_iface   *ifc;
    ns_sim     *sim;
    ns_udp     *sock;
    ns_rng     *rng;              /* the host's "dhcp" stream */
    struct ns_dhcp_inform_opts opts;
    uint32_t    xid;
    unsigned    sent;             /* INFORMs sent so far */
    ns_event_id timer;            /* next send */
    bool        answered;
    struct ns_dhcp_inform_info info;
};

void ns_dhcp_inform_opts_defaults(struct ns_dhcp_inform_opts *o)
{
    memset(o, 0, sizeof *o);
    o->tries = 4;
}

static void send_inform(ns_sim *sim, void *arg);

/* RFC 2131 4.1: 4 s before the first retransmission, doubling up to
 * 64 s, each randomized by a uniform number in [-1, +1] s. */
static void arm_retransmit(ns_dhcp_inform *q)
{
    unsigned n = q->sent - 1 < 4 ? q->sent - 1 : 4;
    ns_time_t base = (ns_time_t)(4 << n) * NS_SEC;
    ns_time_t jitter = (ns_time_t)llround(ns_rng_uniform_range(q->rng, -1.0, 1.0) * 1e9);
    q->timer = ns_event_after(q->sim, base + jitter, send_inform, q);
}

static void send_inform(ns_sim *sim, void *arg)
{
    (void)sim;
    ns_dhcp_inform *q = arg;
    q->timer = NS_EVENT_NONE;
    if (q->answered || !ns_host_is_up(q->host) || ns_iface_addr(q->ifc) == 0)
        return;
    struct ns_dhcp_msg m = { .op = NS_DHCP_BOOTREQUEST, .type = NS_DHCP_INFORM };
    m.xid = q->xid;
    m.ciaddr = ns_iface_addr(q->ifc);
    memcpy(m.chaddr, ns_iface_mac(q->ifc), 6);
    q->sent++;
    ns__dhcp_send(q->sock, q->ifc, q->opts.server ? q->opts.server : NS_IP_BROADCAST,
                  NS_DHCP_SERVER_PORT, &m);
    if (q->sent < q->opts.tries)
        arm_retransmit(q);
}

static void on_receive(ns_udp *s, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    (void)s; (void)src; (void)sport;
    ns_dhcp_inform *q = ud;
    struct ns_dhcp_msg m;
    if (q->answered || !ns__dhcp_recv(p, &m) || m.op != NS_DHCP_BOOTREPLY ||
        m.xid != q->xid || m.type != NS_DHCP_ACK ||
        memcmp(m.chaddr, ns_iface_mac(q->ifc), 6) != 0)
        return;
    q->answered = true;
    ns_event_cancel(q->sim, q->timer);
    q->timer = NS_EVENT_NONE;
    q->info = (struct ns_dhcp_inform_info){
        .server = m.server_id, .mask = m.mask, .router = m.router, .dns = m.dns,
        .lease_s = m.lease_s, .yiaddr = m.yiaddr, .at = ns_sim_now(q->sim),
    };
    char a[NS_ADDR_STRLEN];
    DHCP_TRACE(q->sim, "dhcp.inform", ns_host_name(q->host), "server=%s",
               ns_addr_format(m.server_id, a));
}

ns_dhcp_inform *ns_dhcp_inform_new(ns_iface *ifc, const struct ns_dhcp_inform_opts *o,
                                   GError **error)
{
    ns_host *h = ns_iface_host(ifc);
    struct ns_dhcp_inform_opts def;
    if (!o) {
        ns_dhcp_inform_opts_defaults(&def);
        o = &def;
    }
    if (ns_iface_addr(ifc) == 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "host '%s': DHCPINFORM needs an address on %s (configure it by hand)",
                    ns_host_name(h), ns_iface_name(ifc));
        return NULL;
    }
    if (o->tries == 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "host '%s': DHCPINFORM tries must be at least 1", ns_host_name(h));
        return NULL;
    }
    if (ns_dhcp_inform_of(h)) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    "host '%s' already sent a DHCPINFORM", ns_host_name(h));
        return NULL;
    }
    /* UDP 68 is the client port: a host running a DHCP client cannot
     * also inform (it has its parameters from the lease). */
    ns_udp *sock = ns_udp_bind(h, NS_DHCP_CLIENT_PORT, error);
    if (!sock)
        return NULL;
    ns__dhcp_sim(ns_host_sim(h));
    ns_dhcp_inform *q = g_new0(ns_dhcp_inform, 1);
    q->host = h;
    q->ifc = ifc;
    q->sim = ns_host_sim(h);
    q->sock = sock;
    q->rng = ns_host_rng(h, "dhcp");
    q->opts = *o;
    q->xid = (uint32_t)ns_rng_u64(q->rng);
    ns_host_attach(h, INFORM_KEY, q, g_free);
    ns_udp_on_receive(sock, on_receive, q);
    q->timer = ns_event_after(q->sim, 0, send_inform, q);
    return q;
}

ns_dhcp_inform *ns_dhcp_inform_of(const ns_host *h) { return ns_host_attached(h, INFORM_KEY); }
unsigned ns_dhcp_inform_sent(const ns_dhcp_inform *q) { return q->sent; }

bool ns_dhcp_inform_result(const ns_dhcp_inform *q, struct ns_dhcp_inform_info *out)
{
    if (!q->answered)
        return false;
    *out = q->info;
    return true;
}
