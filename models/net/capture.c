/* capture.c — what the network layer shows: pcap captures per interface,
 * sequence-diagram arrows between chosen hosts, and the counters summary
 * (counters.tsv) at the end of a run.
 *
 * Frames are written as a wire would carry them: the Ethernet header, the IP and transport headers with their
 * checksums computed here (models leave transport checksums zero), the
 * payload (length-only bytes as zeros) and padding to the 60-byte minimum.
 */
#include <stdio.h>

#include "net_priv.h"
#include "netsim/diagram.h"
#include "netsim/output.h"
#include "netsim/pcap.h"

/* ---- checksums over a packet ---- */

/* Adds bytes that sit at payload offset `pos` (parity decides which half
 * of a 16-bit word each byte lands in). */
static uint64_t sum_at(const uint8_t *b, uint32_t len, uint32_t pos, uint64_t s)
{
    for (uint32_t i = 0; i < len; i++)
        s += ((pos + i) & 1) ? b[i] : (uint32_t)b[i] << 8;
    return s;
}

static uint64_t payload_sum(const ns_pkt *p, uint32_t start_parity)
{
    uint64_t s = 0;
    if (!p->payload)
        return 0;                   /* length-only bytes are zeros */
    uint32_t pos = start_parity;
    for (uint32_t i = 0; i < p->payload->nspans; i++) {
        const struct ns_span *sp = &p->payload->spans[i];
        if (sp->buf)
            s = sum_at(sp->buf->data + sp->off, sp->len, pos, s);
        pos += sp->len;
    }
    return s;
}

static uint16_t fold64(uint64_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Writes the transport checksum into hdr (a copy of the l4 header). */
void ns__fill_l4_checksum(const ns_pkt *p, uint8_t *hdr)
{
    uint8_t proto = ns_ip_proto(p);
    int off = proto == NS_IPPROTO_UDP ? 6 : proto == NS_IPPROTO_TCP ? 16
            : proto == NS_IPPROTO_ICMP ? 2 : -1;
    if (off < 0 || p->l4_len < off + 2)
        return;
    uint32_t l4len = p->l4_len + p->payload_len;
    uint64_t s = 0;
    if (proto != NS_IPPROTO_ICMP) {            /* RFC 768/793 pseudo-header */
        const uint8_t *ip = ns_pkt_cip(p);
        s = sum_at(ip + 12, 8, 0, s);
        s += proto;
        s += l4len & 0xffff;
        s += l4len >> 16;
    }
    ns_put16(hdr + off, 0);
    s = sum_at(hdr, p->l4_len, 0, s);
    s += payload_sum(p, p->l4_len & 1);
    uint16_t c = fold64(s);
    if (proto == NS_IPPROTO_UDP && c == 0)
        c = 0xffff;                 /* RFC 768: 0 means "no checksum" */
    ns_put16(hdr + off, c);
}

/* ---- pcap ---- */

void ns__capture(ns_iface *ifc, const ns_pkt *p)
{
    if (!ifc->pcap)
        return;
    uint8_t eth[NS_ETH_HLEN];
    memcpy(eth, ns__if_mac(ifc->host->net, p->eth_dst_if), 6);
    memcpy(eth + 6, ns__if_mac(ifc->host->net, p->eth_src_if), 6);
    ns_put16(eth + 12, p->ethertype);
    uint8_t l3[NS_L3_MAX];
    uint32_t l3len;
    if (p->ethertype == NS_ETHERTYPE_IPV4) {
        l3len = NS_IP_HLEN + p->l4_len;
        memcpy(l3, p->l3, l3len);
        ns_put16(l3 + 10, 0);
        ns_put16(l3 + 10, ns_inet_fold(ns_inet_sum(l3, NS_IP_HLEN, 0)));
        ns__fill_l4_checksum(p, l3 + NS_IP_HLEN);
    } else {
        l3len = 28;                 /* ARP body */
        memcpy(l3, p->l3, l3len);
    }
    struct ns_pcap_chunk chunks[3 + 64];
    size_t n = 0;
    chunks[n++] = (struct ns_pcap_chunk){ eth, sizeof eth };
    chunks[n++] = (struct ns_pcap_chunk){ l3, l3len };
    uint32_t total = NS_ETH_HLEN + l3len;
    if (p->ethertype == NS_ETHERTYPE_IPV4 && p->payload_len) {
        if (!p->payload || p->payload->nspans > 60) {
            if (p->payload) {       /* many spans: flatten */
                uint8_t *flat = g_malloc(p->payload_len);
                ns_pkt_copy_payload(p, 0, p->payload_len, flat);
                chunks[n++] = (struct ns_pcap_chunk){ flat, p->payload_len };
                static const uint8_t zeros[60];
                uint32_t pad = total + p->payload_len < 60 ? 60 - total - p->payload_len : 0;
                if (pad)
                    chunks[n++] = (struct ns_pcap_chunk){ zeros, pad };
                ns_pcap_write(ifc->pcap, ns_sim_now(ifc->host->sim), chunks, n);
                g_free(flat);
                return;
            }
            chunks[n++] = (struct ns_pcap_chunk){ NULL, p->payload_len };
        } else {
            for (uint32_t i = 0; i < p->payload->nspans; i++) {
                const struct ns_span *sp = &p->payload->spans[i];
                chunks[n++] = (struct ns_pcap_chunk){ sp->buf ? sp->buf->data + sp->off : NULL,
                                                      sp->len };
            }
        }
        total += p->payload_len;
    }
    if (total < 60)
        chunks[n++] = (struct ns_pcap_chunk){ NULL, 60 - total };
    ns_pcap_write(ifc->pcap, ns_sim_now(ifc->host->sim), chunks, n);
}

/* ---- sequence diagrams ---- */

struct pending_msg {
    ns_time_t sent;
    char     *from;
    char     *label;
    uint32_t  dst;
};

static void pending_free(gpointer p)
{
    struct pending_msg *m = p;
    g_free(m->from);
    g_free(m->label);
    g_free(m);
}

static void describe(struct ns_net *net, ns_host *h, const ns_pkt *p, char *buf, size_t len)
{
    const struct ns_proto_ops *ops = net->protos[ns_ip_proto(p)];
    if (ops && ops->describe)
        ops->describe(h, p, buf, len);
    else
        snprintf(buf, len, "IP proto=%u len=%u", ns_ip_proto(p), ns_ip_len(p));
}

/* The i-th open diagram (i < n_diagrams). */
static guint n_diagrams(const struct ns_net *net)
{
    return net->diagrams ? net->diagrams->len : 0;
}

static ns_diagram *diagram_at(const struct ns_net *net, guint i)
{
    return g_ptr_array_index(net->diagrams, i);
}

/* Whether some open diagram has h as a column. */
static bool drawn(const struct ns_net *net, const ns_host *h)
{
    for (guint i = 0; i < n_diagrams(net); i++)
        if (ns_diagram_has(diagram_at(net, i), h->name))
            return true;
    return false;
}

void ns__diagram_sent(ns_host *h, const ns_pkt *p)
{
    struct ns_net *net = h->net;
    if (!drawn(net, h))
        return;
    if (!net->diagram_msgs)
        net->diagram_msgs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                                  pending_free);
    char label[96];
    describe(net, h, p, label, sizeof label);
    struct pending_msg *m = g_new(struct pending_msg, 1);
    m->sent = ns_sim_now(h->sim);
    m->from = g_strdup(h->name);
    m->label = g_strdup(label);
    m->dst = ns_ip_dst(p);
    gint64 *key = g_new(gint64, 1);
    *key = (gint64)p->uid;
    g_hash_table_replace(net->diagram_msgs, key, m);
}

/* Arrows are recorded when their fate is known (delivery to a participant
 * or a drop), with the original send time: a broadcast then gives one
 * arrow per receiver.  Every diagram with both ends as columns draws it
 * (ns_diagram_send ignores the others). */
void ns__diagram_delivered(ns_host *h, const ns_pkt *p)
{
    struct ns_net *net = h->net;
    if (!net->diagram_msgs)
        return;
    gint64 key = (gint64)p->uid;
    struct pending_msg *m = g_hash_table_lookup(net->diagram_msgs, &key);
    if (!m || strcmp(m->from, h->name) == 0)
        return;
    for (guint i = 0; i < n_diagrams(net); i++) {
        ns_diagram *d = diagram_at(net, i);
        uint64_t id = ns_diagram_send(d, m->sent, m->from, h->name, m->label);
        if (id)
            ns_diagram_recv(d, id, ns_sim_now(h->sim));
    }
    if (!(p->flags & NS_PKT_BROADCAST))
        g_hash_table_remove(net->diagram_msgs, &key);
}

void ns__diagram_dropped(struct ns_net *net, const ns_pkt *p, enum ns_drop_cause cause)
{
    if (!net->diagram_msgs || p->ethertype != NS_ETHERTYPE_IPV4)
        return;
    gint64 key = (gint64)p->uid;
    struct pending_msg *m = g_hash_table_lookup(net->diagram_msgs, &key);
    if (!m)
        return;
    const char *to = NULL;
    for (guint i = 0; i < net->hosts->len && !to; i++) {
        ns_host *x = g_ptr_array_index(net->hosts, i);
        if (ns_host_has_addr(x, m->dst) && m->dst != NS_IP_BROADCAST)
            to = x->name;
    }
    for (guint i = 0; to && i < n_diagrams(net); i++) {
        ns_diagram *d = diagram_at(net, i);
        uint64_t id = ns_diagram_send(d, m->sent, m->from, to, m->label);
        if (id)
            ns_diagram_drop(d, id, ns_sim_now(net->sim), ns_drop_cause_name(cause));
    }
    if (!(p->flags & NS_PKT_BROADCAST))
        g_hash_table_remove(net->diagram_msgs, &key);
}

void ns_net_diagram_note(ns_host *h, const char *text)
{
    for (guint i = 0; i < n_diagrams(h->net); i++)
        ns_diagram_note(diagram_at(h->net, i), ns_sim_now(h->sim), h->name, text);
}

ns_diagram *ns_net_open_diagram(ns_sim *sim, const char *name,
                                const char *const *hosts, GError **error)
{
    struct ns_net *net = ns__net_get(sim);
    ns_diagram *d = ns_diagram_open(sim, name, hosts, error);
    if (!d)
        return NULL;
    if (!net->diagrams)
        net->diagrams = g_ptr_array_new();
    g_ptr_array_add(net->diagrams, d);
    return d;
}

ns_diagram *ns_net_diagram_next(ns_host *h, const ns_diagram *after)
{
    guint i = 0;
    if (after)
        while (i < n_diagrams(h->net) && diagram_at(h->net, i++) != after)
            ;
    for (; i < n_diagrams(h->net); i++)
        if (ns_diagram_has(diagram_at(h->net, i), h->name))
            return diagram_at(h->net, i);
    return NULL;
}

ns_diagram *ns_net_diagram(ns_host *h)
{
    return ns_net_diagram_next(h, NULL);
}

/* ---- the counters summary ---- */

static void put_row(FILE *f, const char *kind, const char *name, uint64_t txp, uint64_t txb,
                    uint64_t rxp, uint64_t rxb, uint64_t fwd, const uint64_t *drops)
{
    fprintf(f, "%s\t%s\t%llu\t%llu\t%llu\t%llu\t%llu", kind, name, (unsigned long long)txp,
            (unsigned long long)txb, (unsigned long long)rxp, (unsigned long long)rxb,
            (unsigned long long)fwd);
    for (int c = 0; c < NS_DROP_NCAUSES; c++)
        fprintf(f, "\t%llu", (unsigned long long)drops[c]);
    fputc('\n', f);
}

static bool write_counters(ns_sim *sim, void *ud, GError **error)
{
    struct ns_net *net = ns__net_peek(sim);
    if (!net || net->hosts->len == 0)
        return true;
    ns_output *o = ns_output_open(sim, "counters.tsv", error);
    if (!o)
        return false;
    FILE *f = ns_output_file(o);
    fputs("kind\tname\ttx_pkts\ttx_bytes\trx_pkts\trx_bytes\tfwd_pkts", f);
    for (int c = 0; c < NS_DROP_NCAUSES; c++)
        fprintf(f, "\tdrop_%s", ns_drop_cause_name(c));
    fputc('\n', f);
    for (guint i = 0; i < net->links->len; i++) {
        ns_link *l = g_ptr_array_index(net->links, i);
        for (int d = 0; d < 2; d++) {
            const struct ns_link_stats *st = ns_link_stats(l, d);
            char *name = g_strdup_printf("%s>%s", ns_host_name(ns_link_host(l, d)),
                                         ns_host_name(ns_link_host(l, 1 - d)));
            put_row(f, "link", name, st->tx_pkts, st->tx_bytes, st->rx_pkts, st->rx_bytes, 0,
                    st->drops);
            g_free(name);
        }
    }
    for (guint i = 0; i < net->hosts->len; i++) {
        ns_host *h = g_ptr_array_index(net->hosts, i);
        put_row(f, "host", h->name, h->stats.tx_pkts, 0, h->stats.rx_pkts, 0,
                h->stats.fwd_pkts, h->stats.drops);
    }
    return true;
}

void ns__counters_register(struct ns_net *net);
void ns__counters_register(struct ns_net *net)
{
    ns_output_on_commit(net->sim, write_counters, NULL);
}
