/* icmp.c — ICMP (RFC 792): echo request/reply, destination unreachable,
 * time exceeded.
 *
 * Invariants: an error is never sent about an ICMP error, a broadcast, or
 * a packet from 0.0.0.0 (RFC 1122 3.2.2); an error quotes the offending
 * IP header and its first 8 payload bytes, as real bytes. */
#include <stdio.h>

#include "net_priv.h"
#include "netsim/icmp.h"

#define ICMP_KEY "icmp"
#define ICMP_HLEN 8

struct ping_wait {
    uint16_t   wire_seq;           /* the sequence number on the wire */
    uint16_t   seq;                /* the caller's, reported back */
    ns_time_t  sent;
    ns_ping_fn fn;
    void      *ud;
};

struct icmp_host {
    uint16_t ident;                /* echo identifier of this host */
    uint16_t next_seq;             /* wire sequence numbers: unique per
                                      request, so a late reply to a lost
                                      request's twin cannot be mistaken */
    GArray  *waits;                /* struct ping_wait, oldest first */
};

static void icmp_host_free(gpointer p)
{
    struct icmp_host *ih = p;
    g_array_free(ih->waits, TRUE);
    g_free(ih);
}

static struct icmp_host *icmp_host(ns_host *h)
{
    struct icmp_host *ih = ns_host_attached(h, ICMP_KEY);
    if (!ih) {
        ih = g_new0(struct icmp_host, 1);
        ih->ident = (uint16_t)(0x4e00 + h->id);
        ih->waits = g_array_new(FALSE, FALSE, sizeof(struct ping_wait));
        ns_host_attach(h, ICMP_KEY, ih, icmp_host_free);
    }
    return ih;
}

static ns_pkt *icmp_pkt(ns_host *h, uint8_t type, uint8_t code, uint32_t rest)
{
    ns_pkt *p = ns_pkt_new(h->sim);
    uint8_t *c = ns_pkt_l4(p);
    c[0] = type;
    c[1] = code;
    ns_put16(c + 2, 0);            /* computed where bytes leave (pcap) */
    ns_put32(c + 4, rest);
    p->l4_len = ICMP_HLEN;
    return p;
}

bool ns_icmp_ping(ns_host *h, uint32_t dst, uint16_t seq, uint32_t size,
                  ns_ping_fn fn, void *ud)
{
    struct icmp_host *ih = icmp_host(h);
    uint16_t wire = ++ih->next_seq;
    ns_pkt *p = icmp_pkt(h, NS_ICMP_ECHO_REQUEST, 0, (uint32_t)ih->ident << 16 | wire);
    p->payload_len = size;
    struct ping_wait w = { wire, seq, ns_sim_now(h->sim), fn, ud };
    g_array_append_val(ih->waits, w);
    return ns_ip_output(h, p, 0, dst, NS_IPPROTO_ICMP, 0);
}

void ns_icmp_error(ns_host *h, const ns_pkt *about, uint8_t type, uint8_t code)
{
    if (about->ethertype != NS_ETHERTYPE_IPV4 || (about->flags & NS_PKT_BROADCAST) ||
        ns_ip_src(about) == 0 || ns_ip_dst(about) == NS_IP_BROADCAST)
        return;
    if (ns_ip_proto(about) == NS_IPPROTO_ICMP) {
        uint8_t t = ns_pkt_cl4(about)[0];
        if (t != NS_ICMP_ECHO_REQUEST && t != NS_ICMP_ECHO_REPLY)
            return;                 /* never an error about an error */
    }
    /* Quote: IP header + the first 8 bytes after it (transport header,
     * then payload). */
    uint8_t quote[NS_IP_HLEN + 8];
    memcpy(quote, ns_pkt_cip(about), NS_IP_HLEN);
    ns_put16(quote + 10, 0);                 /* the header as the wire had it */
    ns_put16(quote + 10, ns_inet_fold(ns_inet_sum(quote, NS_IP_HLEN, 0)));
    uint32_t l4 = about->l4_len < 8 ? about->l4_len : 8;
    uint8_t hdr[NS_L4_MAX];
    memcpy(hdr, ns_pkt_cl4(about), about->l4_len);
    ns__fill_l4_checksum(about, hdr);       /* as the wire carried it */
    memcpy(quote + NS_IP_HLEN, hdr, l4);
    uint32_t more = 8 - l4;
    if (more > about->payload_len)
        more = about->payload_len;
    if (more)
        ns_pkt_copy_payload(about, 0, more, quote + NS_IP_HLEN + l4);
    ns_pkt *p = icmp_pkt(h, type, code, 0);
    ns_pkt_set_bytes(p, quote, NS_IP_HLEN + l4 + more);
    ns_ip_output(h, p, 0, ns_ip_src(about), NS_IPPROTO_ICMP, 0);
}

static void echo_reply(ns_host *h, ns_pkt *req)
{
    const uint8_t *c = ns_pkt_cl4(req);
    ns_pkt *p = icmp_pkt(h, NS_ICMP_ECHO_REPLY, 0, ns_get32(c + 4));
    p->payload_len = req->payload_len;
    if (req->payload)
        p->payload = ns_payload_ref(req->payload);
    uint32_t to = ns_ip_src(req);
    uint32_t from = ns_ip_dst(req);
    ns_ip_output(h, p, from == NS_IP_BROADCAST ? 0 : from, to, NS_IPPROTO_ICMP, 0);
}

static void got_reply(ns_host *h, ns_pkt *p)
{
    struct icmp_host *ih = icmp_host(h);
    const uint8_t *c = ns_pkt_cl4(p);
    if (ns_get16(c + 4) != ih->ident)
        return;
    uint16_t wire = ns_get16(c + 6);
    for (guint i = 0; i < ih->waits->len; i++) {
        struct ping_wait w = g_array_index(ih->waits, struct ping_wait, i);
        if (w.wire_seq != wire)
            continue;
        g_array_remove_index(ih->waits, i);
        if (w.fn)
            w.fn(h, ns_ip_src(p), w.seq, ns_sim_now(h->sim) - w.sent, w.ud);
        return;
    }
}

static void icmp_input(ns_host *h, ns_iface *in, ns_pkt *p)
{
    const uint8_t *c = ns_pkt_cl4(p);
    switch (c[0]) {
    case NS_ICMP_ECHO_REQUEST:
        echo_reply(h, p);
        break;
    case NS_ICMP_ECHO_REPLY:
        got_reply(h, p);
        break;
    case NS_ICMP_UNREACH:
    case NS_ICMP_TIME_EXCEEDED: {
        uint8_t quote[NS_IP_HLEN + 8];
        uint32_t n = p->payload_len < sizeof quote ? p->payload_len : sizeof quote;
        ns_pkt_copy_payload(p, 0, n, quote);
        if (ns_trace_on(h->sim, "icmp.error", h->name))
            ns_trace_event(h->sim, "icmp.error", h->name, "type=%u code=%u", c[0], c[1]);
        if (n >= NS_IP_HLEN) {
            const struct ns_proto_ops *ops = h->net->protos[quote[9]];
            if (ops && ops->icmp_error)
                ops->icmp_error(h, c[0], c[1], quote, n);
        }
        break;
    }
    default:
        break;
    }
    ns_pkt_free(h->sim, p);
}

static void icmp_describe(ns_host *sender, const ns_pkt *p, char *buf, size_t len)
{
    const uint8_t *c = ns_pkt_cl4(p);
    switch (c[0]) {
    case NS_ICMP_ECHO_REQUEST: snprintf(buf, len, "ping seq=%u", ns_get16(c + 6)); break;
    case NS_ICMP_ECHO_REPLY:   snprintf(buf, len, "pong seq=%u", ns_get16(c + 6)); break;
    case NS_ICMP_UNREACH:
        snprintf(buf, len, "ICMP %s unreachable",
                 c[1] == NS_ICMP_UNREACH_PORT ? "port" : c[1] == NS_ICMP_UNREACH_HOST ? "host"
                 : c[1] == 2 ? "protocol" : "net");
        break;
    case NS_ICMP_TIME_EXCEEDED: snprintf(buf, len, "ICMP time exceeded"); break;
    default: snprintf(buf, len, "ICMP type=%u", c[0]); break;
    }
}

const struct ns_proto_ops ns__icmp_proto = {
    .name     = "icmp",
    .proto    = NS_IPPROTO_ICMP,
    .input    = icmp_input,
    .describe = icmp_describe,
};
