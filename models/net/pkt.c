/* pkt.c — packets from the sim's pool, shared payloads, checksums and
 * address text.
 *
 * Invariant: a payload's ref counts the packets (and payload holders)
 * pointing at it, a buffer's ref the spans pointing at it; the last unref
 * frees.  ns_pkt_live() counts packets not yet freed. */
#include <stdio.h>

#include "netsim/pkt.h"
#include "netsim/pool.h"

G_STATIC_ASSERT(sizeof(ns_pkt) == 120);

static struct ns_pool *pkt_pool(ns_sim *sim)
{
    struct ns_pool *pool = ns_sim_pkt_pool(sim);
    /* Slabs of just under 1 MiB: malloc's own header must not push a slab
     * onto one more page (with 64 KiB slabs that cost 8 bytes a packet). */
    if (G_UNLIKELY(pool->obj_size == 0))
        ns_pool_init(pool, sizeof(ns_pkt), ((1u << 20) - 64) / sizeof(ns_pkt));
    return pool;
}

ns_pkt *ns_pkt_new(ns_sim *sim)
{
    ns_pkt *p = ns_pool_alloc(pkt_pool(sim));
    memset(p, 0, sizeof *p);
    p->uid = (uint32_t)ns_sim_next_uid(sim);
    return p;
}

void ns_pkt_free(ns_sim *sim, ns_pkt *p)
{
    if (!p)
        return;
    if (p->payload)
        ns_payload_unref(p->payload);
    ns_pool_free(pkt_pool(sim), p);
}

ns_pkt *ns_pkt_clone(ns_sim *sim, const ns_pkt *p)
{
    ns_pkt *c = ns_pool_alloc(pkt_pool(sim));
    memcpy(c, p, sizeof *c);
    c->next = NULL;                 /* same uid: a copy of the same packet */
    if (c->payload)
        ns_payload_ref(c->payload);
    return c;
}

uint64_t ns_pkt_live(const ns_sim *sim)
{
    return ns_sim_pkt_pool((ns_sim *)sim)->live;
}

/* A payload made by ns_pkt_set_bytes lives in one allocation with its
 * only buffer: [ns_payload, one span][ns_buf, bytes].  Two allocations
 * and two frees per datagram were the largest cost of sending one after
 * the event queue (locks_contention).  The buffer is marked EMBEDDED in
 * the top bit of its ref (counts never get near 2^30) and the block is
 * freed when the last of the two dies: the buffer's count reaches zero
 * only once its payload, which holds a reference, is gone. */
#define BUF_EMBEDDED  0x80000000u
#define BUF_REFS(b)   ((b)->ref & ~(BUF_EMBEDDED | BUF_POOLED))
#define EMBED_HEAD    (sizeof(struct ns_payload) + sizeof(struct ns_span))

/* ns_pkt_set_bytes_in takes the block of a small payload from the sim's
 * payload pool: malloc and free per datagram were, after the event
 * queue, the largest cost of a UDP datagram left (locks_contention).
 * Such a block starts with the pool it came from, so that the last
 * unref, which has no sim, can give it back; its buffer is marked
 * POOLED, next to EMBEDDED.  Blocks are of one size; larger payloads
 * are malloc'd as by ns_pkt_set_bytes. */
#define BUF_POOLED    0x40000000u
#define POOL_HEAD     sizeof(struct ns_pool *)
#define POOLED_BLOCK  128u
#define POOLED_MAX    (POOLED_BLOCK - POOL_HEAD - EMBED_HEAD - sizeof(struct ns_buf))

static struct ns_pool *payload_pool(ns_sim *sim)
{
    struct ns_pool *pool = ns_sim_payload_pool(sim);
    if (G_UNLIKELY(pool->obj_size == 0))   /* slabs as the packets' (above) */
        ns_pool_init(pool, POOLED_BLOCK, ((1u << 20) - 64) / POOLED_BLOCK);
    return pool;
}

/* Frees the block of the embedded buffer b, whose payload is gone. */
static void embedded_block_free(struct ns_buf *b)
{
    char *block = (char *)b - EMBED_HEAD;
    if (b->ref & BUF_POOLED) {
        struct ns_pool *pool;
        memcpy(&pool, block - POOL_HEAD, sizeof pool);
        ns_pool_free(pool, block - POOL_HEAD);
    } else {
        g_free(block);
    }
}

static bool is_embedded_in(const struct ns_payload *pl, const struct ns_buf *b)
{
    return b && (b->ref & BUF_EMBEDDED) && (const char *)b == (const char *)pl + EMBED_HEAD;
}

struct ns_buf *ns_buf_new(const void *bytes, uint32_t len)
{
    struct ns_buf *b = g_malloc(sizeof *b + len);
    b->ref = 1;
    b->len = len;
    if (bytes)
        memcpy(b->data, bytes, len);
    else
        memset(b->data, 0, len);
    return b;
}

/* Inline for ns_payload_unref, which drops a buffer with every packet
 * freed (an exported function is a real call under -fPIC). */
static inline void buf_unref(struct ns_buf *b)
{
    if (!b)
        return;
    b->ref--;
    if (BUF_REFS(b) != 0)
        return;
    if (b->ref & BUF_EMBEDDED)
        embedded_block_free(b);             /* its payload is already gone */
    else
        g_free(b);
}

void ns_buf_unref(struct ns_buf *b)
{
    buf_unref(b);
}

struct ns_payload *ns_payload_new(const struct ns_span *spans, uint32_t n)
{
    struct ns_payload *pl = g_malloc(sizeof *pl + n * sizeof *spans);
    pl->ref = 1;
    pl->nspans = n;
    pl->len = 0;
    for (uint32_t i = 0; i < n; i++) {
        g_return_val_if_fail(!spans[i].buf || spans[i].off + spans[i].len <= spans[i].buf->len, pl);
        pl->spans[i] = spans[i];
        if (spans[i].buf)
            spans[i].buf->ref++;
        pl->len += spans[i].len;
    }
    return pl;
}

struct ns_payload *ns_payload_ref(struct ns_payload *pl)
{
    pl->ref++;
    return pl;
}

void ns_payload_unref(struct ns_payload *pl)
{
    if (!pl || --pl->ref > 0)
        return;
    if (pl->nspans == 1 && is_embedded_in(pl, pl->spans[0].buf)) {
        /* the block goes with the buffer's last reference, now or later */
        buf_unref(pl->spans[0].buf);
        return;
    }
    for (uint32_t i = 0; i < pl->nspans; i++)
        buf_unref(pl->spans[i].buf);
    g_free(pl);
}

/* Builds in block the payload [ns_payload, one span][ns_buf, bytes] and
 * gives it to p (whose old payload is already dropped). */
static void embed(ns_pkt *p, char *block, uint32_t flags, const void *bytes, uint32_t len)
{
    struct ns_payload *pl = (struct ns_payload *)block;
    struct ns_buf *b = (struct ns_buf *)(block + EMBED_HEAD);
    b->ref = BUF_EMBEDDED | flags | 1;  /* the span's reference */
    b->len = len;
    if (bytes)
        memcpy(b->data, bytes, len);
    else
        memset(b->data, 0, len);
    pl->ref = 1;
    pl->nspans = 1;
    pl->len = len;
    pl->spans[0] = (struct ns_span){ b, 0, len };
    p->payload = pl;
    p->payload_len = len;
}

void ns_pkt_set_bytes(ns_pkt *p, const void *bytes, uint32_t len)
{
    if (p->payload)
        ns_payload_unref(p->payload);
    embed(p, g_malloc(EMBED_HEAD + sizeof(struct ns_buf) + len), 0, bytes, len);
}

void ns_pkt_set_bytes_in(ns_sim *sim, ns_pkt *p, const void *bytes, uint32_t len)
{
    if (len > POOLED_MAX) {
        ns_pkt_set_bytes(p, bytes, len);
        return;
    }
    if (p->payload)
        ns_payload_unref(p->payload);
    struct ns_pool *pool = payload_pool(sim);
    char *start = ns_pool_alloc(pool);
    memcpy(start, &pool, sizeof pool);
    embed(p, start + POOL_HEAD, BUF_POOLED, bytes, len);
}

void ns_pkt_copy_payload(const ns_pkt *p, uint32_t off, uint32_t len, uint8_t *out)
{
    g_return_if_fail((uint64_t)off + len <= p->payload_len);
    if (!p->payload) {
        memset(out, 0, len);
        return;
    }
    /* One span of real bytes holding it all (every ns_pkt_set_bytes
     * payload): a decoder reads each datagram's header this way. */
    const struct ns_span *first = &p->payload->spans[0];
    if (p->payload->nspans == 1 && first->buf && off + len <= first->len) {
        memcpy(out, first->buf->data + first->off + off, len);
        return;
    }
    uint32_t pos = 0;               /* payload offset of the current span */
    for (uint32_t i = 0; i < p->payload->nspans && len > 0; i++) {
        const struct ns_span *sp = &p->payload->spans[i];
        if (off >= pos + sp->len) {
            pos += sp->len;
            continue;
        }
        uint32_t in = off - pos;
        uint32_t n = sp->len - in < len ? sp->len - in : len;
        if (sp->buf)
            memcpy(out, sp->buf->data + sp->off + in, n);
        else
            memset(out, 0, n);
        out += n;
        off += n;
        len -= n;
        pos += sp->len;
    }
    if (len > 0)                    /* payload_len beyond the spans: zeros */
        memset(out, 0, len);
}

uint32_t ns_inet_sum(const uint8_t *b, size_t len, uint32_t sum)
{
    uint64_t s = sum;
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        s += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (i < len)
        s += (uint32_t)b[i] << 8;
    while (s >> 32)
        s = (s & 0xffffffffu) + (s >> 32);
    return (uint32_t)s;
}

uint16_t ns_inet_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

void ns_ip_set_ecn(ns_pkt *p, uint8_t ecn)
{
    p->l3[1] = (uint8_t)((p->l3[1] & ~3u) | (ecn & 3u));
    /* the header checksum is computed where bytes leave the model */
}

char *ns_addr_format(uint32_t a, char buf[NS_ADDR_STRLEN])
{
    snprintf(buf, NS_ADDR_STRLEN, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
    return buf;
}

bool ns_addr_parse(const char *text, uint32_t *addr, int *prefix)
{
    unsigned v[4];
    int len = 32, n = 0;
    char tail = 0;
    if (prefix && strchr(text, '/')) {
        if (sscanf(text, "%3u.%3u.%3u.%3u/%2d%n", &v[0], &v[1], &v[2], &v[3], &len, &n) != 5 ||
            text[n] != '\0' || len < 0 || len > 32)
            return false;
    } else if (sscanf(text, "%3u.%3u.%3u.%3u%c", &v[0], &v[1], &v[2], &v[3], &tail) != 4) {
        return false;
    }
    for (int i = 0; i < 4; i++)
        if (v[i] > 255)
            return false;
    *addr = v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3];
    if (prefix)
        *prefix = len;
    return true;
}
