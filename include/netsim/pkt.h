/* pkt.h — packets: real header bytes plus a payload of spans.
 *
 * A packet carries the bytes a wire would: the Ethernet destination and
 * type, the IPv4 header and the transport header in network byte order, so
 * pcap files are written by copying and Wireshark reads exactly what the
 * models built.  The payload is a list of spans: real bytes where they
 * matter (DHCP options, TLS records) and length-only spans elsewhere, so
 * bulk transfer copies nothing.  Length-only bytes read as zeros (in
 * checksums and in pcap alike).
 *
 * Ownership: a packet has exactly one owner at a time (a queue, an event in
 * flight, the host handling it); the owner either hands it on or frees it
 * with ns_pkt_free.  Payloads and buffers are reference-counted and shared
 * between copies (a retransmission, a broadcast to several ports).
 *
 * IP and transport checksums are left zero in the packet (nothing in the
 * model corrupts bytes) and computed where bytes leave the model: pcap
 * captures and the quotes inside ICMP errors.
 */
#ifndef NETSIM_PKT_H
#define NETSIM_PKT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "netsim/sim.h"

#define NS_ETH_HLEN     14          /* dst 6, src 6, type 2 */
#define NS_IP_HLEN      20          /* IPv4 without options */
#define NS_L4_MAX       60          /* largest transport header (TCP) */
#define NS_L3_MAX       (NS_IP_HLEN + NS_L4_MAX)

#define NS_IF_BROADCAST 0xffffu     /* eth_dst_if of a broadcast frame */
#define NS_IF_MAX       0xfffeu     /* interfaces a sim can have */

#define NS_ETHERTYPE_IPV4 0x0800
#define NS_ETHERTYPE_ARP  0x0806

#define NS_IPPROTO_ICMP 1
#define NS_IPPROTO_TCP  6
#define NS_IPPROTO_UDP  17

/* ECN codepoints in the low two bits of the IPv4 TOS byte (RFC 3168). */
#define NS_ECN_NOT_ECT 0
#define NS_ECN_ECT1    1
#define NS_ECN_ECT0    2
#define NS_ECN_CE      3

/* Real bytes, shared.  len bytes follow. */
struct ns_buf {
    uint32_t ref;
    uint32_t len;
    uint8_t  data[];
};

/* A piece of payload: bytes [off, off+len) of buf, or len length-only
 * bytes when buf is NULL. */
struct ns_span {
    struct ns_buf *buf;             /* NULL: length-only */
    uint32_t       off;
    uint32_t       len;
};

/* An immutable list of spans, shared between copies of a packet. */
struct ns_payload {
    uint32_t       ref;
    uint32_t       nspans;
    uint32_t       len;             /* sum of span lengths */
    struct ns_span spans[];
};

/* 120 bytes: the cost of a queued packet beyond its real payload bytes. */
typedef struct ns_pkt {
    struct ns_pkt     *next;        /* the current owner's queue link */
    struct ns_payload *payload;     /* NULL: payload_len length-only bytes */
    ns_time_t          stamp;       /* owner's use (enqueue time for AQM) */
    uint32_t           uid;         /* per packet, creation order, modulo
                                       2^32 (traces, diagrams); copies share it */
    uint32_t           payload_len;
    uint16_t           ethertype;   /* host order */
    uint8_t            l4_len;      /* transport header bytes after IP */
    uint8_t            flags;       /* NS_PKT_* */
    uint16_t           eth_dst_if;  /* Ethernet destination and source, as
                                       interface ids (NS_IF_BROADCAST: ff:..);
                                       MACs are looked up where frames are
                                       shown, which saves 8 bytes a packet */
    uint16_t           eth_src_if;
    uint8_t            l3[NS_L3_MAX]; /* IPv4 header + transport header,
                                         or an ARP body; network order */
} ns_pkt;

enum ns_pkt_flags {
    NS_PKT_BROADCAST = 1 << 0,      /* sent to a broadcast address */
};

/* ---- life cycle (pool owned by the sim) ---- */
ns_pkt *ns_pkt_new(ns_sim *sim);                    /* zeroed, new uid */
void    ns_pkt_free(ns_sim *sim, ns_pkt *p);        /* drops payload ref */
/* A copy (a broadcast to several ports): same uid, shared payload. */
ns_pkt *ns_pkt_clone(ns_sim *sim, const ns_pkt *p);
/* Packets allocated and not yet freed (tests assert zero at the end). */
uint64_t ns_pkt_live(const ns_sim *sim);

/* ---- payload ---- */
/* A payload of `len` length-only bytes is simply payload == NULL. */
struct ns_buf     *ns_buf_new(const void *bytes, uint32_t len);  /* ref 1 */
void               ns_buf_unref(struct ns_buf *b);
struct ns_payload *ns_payload_new(const struct ns_span *spans, uint32_t n); /* refs bufs */
struct ns_payload *ns_payload_ref(struct ns_payload *pl);
void               ns_payload_unref(struct ns_payload *pl);
/* Sets p's payload to real bytes (copied), replacing what it had. */
void ns_pkt_set_bytes(ns_pkt *p, const void *bytes, uint32_t len);
/* The same, taking a small payload's block from sim's pool instead of
 * malloc (one per datagram on the UDP send path).  The payload, and any
 * span of its buffer, must then not outlive sim. */
void ns_pkt_set_bytes_in(ns_sim *sim, ns_pkt *p, const void *bytes, uint32_t len);
/* Copies payload bytes [off, off+len) into out; length-only bytes as 0. */
void ns_pkt_copy_payload(const ns_pkt *p, uint32_t off, uint32_t len, uint8_t *out);

/* ---- header access ---- */
static inline uint8_t *ns_pkt_ip(ns_pkt *p) { return p->l3; }
static inline uint8_t *ns_pkt_l4(ns_pkt *p) { return p->l3 + NS_IP_HLEN; }
static inline const uint8_t *ns_pkt_cip(const ns_pkt *p) { return p->l3; }
static inline const uint8_t *ns_pkt_cl4(const ns_pkt *p) { return p->l3 + NS_IP_HLEN; }

static inline uint16_t ns_get16(const uint8_t *b) { return (uint16_t)(b[0] << 8 | b[1]); }
static inline uint32_t ns_get32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline void ns_put16(uint8_t *b, uint16_t v) { b[0] = (uint8_t)(v >> 8); b[1] = (uint8_t)v; }
static inline void ns_put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24); b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);  b[3] = (uint8_t)v;
}

/* IPv4 fields of a packet whose ethertype is IPv4. */
static inline uint32_t ns_ip_src(const ns_pkt *p) { return ns_get32(p->l3 + 12); }
static inline uint32_t ns_ip_dst(const ns_pkt *p) { return ns_get32(p->l3 + 16); }
static inline uint8_t  ns_ip_proto(const ns_pkt *p) { return p->l3[9]; }
static inline uint8_t  ns_ip_ttl(const ns_pkt *p) { return p->l3[8]; }
static inline uint8_t  ns_ip_ecn(const ns_pkt *p) { return p->l3[1] & 3; }
void ns_ip_set_ecn(ns_pkt *p, uint8_t ecn);
/* Bytes of the IP packet: header + transport header + payload. */
static inline uint32_t ns_ip_len(const ns_pkt *p)
{
    return NS_IP_HLEN + p->l4_len + p->payload_len;
}
/* Bytes of the Ethernet frame without preamble/FCS: what links charge by
 * default (ARP frames are padded to the 60-byte minimum).  Inline: queues
 * and transmitters ask it four to five times per frame and hop. */
static inline uint32_t ns_pkt_frame_len(const ns_pkt *p)
{
    uint32_t l3 = p->ethertype == NS_ETHERTYPE_ARP ? 28 : ns_ip_len(p);
    uint32_t len = NS_ETH_HLEN + l3;
    return len < 60 ? 60 : len;     /* Ethernet minimum frame, FCS excluded */
}

/* The Internet checksum (RFC 1071) of `len` bytes, folded, not inverted;
 * chain partial sums through `sum`. */
uint32_t ns_inet_sum(const uint8_t *b, size_t len, uint32_t sum);
uint16_t ns_inet_fold(uint32_t sum);                 /* ~folded sum */

/* "a.b.c.d" of a host-order address into buf (16 bytes). */
#define NS_ADDR_STRLEN 16
char *ns_addr_format(uint32_t addr, char buf[NS_ADDR_STRLEN]);
/* Parses "a.b.c.d" (and "a.b.c.d/len" when prefix is not NULL; without a
 * "/len" *prefix is 32). */
bool  ns_addr_parse(const char *text, uint32_t *addr, int *prefix);

#endif
