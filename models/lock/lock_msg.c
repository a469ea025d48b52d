/* lock_msg.c — the lock protocol's bytes: encoding, decoding and the
 * sequence-diagram labels ("ACQ R1 #2 wait", "GRANT R1 tok=7").
 *
 * Invariant: decode(encode(m)) == m for every valid message; anything
 * shorter than the header, with another magic or version, an unknown type
 * or a name running past the datagram is not a lock message.  Only a WFG
 * datagram (a server's wait-for edges for a deadlock detector) has bytes
 * after the name: exactly its `flags` entries, nothing more or less. */
#include <string.h>

#include "lock_priv.h"

#define NS_X_STR(name, str) str,
static const char *const msg_names[] = { LOCK_MSG_TYPES(NS_X_STR) };
#undef NS_X_STR

const char *ns__lock_msg_name(unsigned type)
{
    return type < LM_NTYPES ? msg_names[type] : "?";
}

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24); b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);  b[3] = (uint8_t)v;
}

static void put64(uint8_t *b, uint64_t v)
{
    put32(b, (uint32_t)(v >> 32));
    put32(b + 4, (uint32_t)v);
}

static inline uint32_t get32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline uint64_t get64(const uint8_t *b)
{
    return (uint64_t)get32(b) << 32 | get32(b + 4);
}

size_t ns__lock_encode(const struct lock_msg *m, uint8_t out[LOCK_MSG_MAX])
{
    size_t nl = strnlen(m->name, NS_LOCK_NAME_MAX);
    out[0] = LOCK_MAGIC;
    out[1] = 1;
    out[2] = m->type;
    out[3] = m->flags;
    put32(out + 4, m->client);
    put32(out + 8, m->attempt);
    put64(out + 12, m->token);
    put64(out + 20, m->aux);
    out[28] = (uint8_t)nl;
    /* the whole name buffer but its NUL, a fixed size the compiler copies
     * in a few moves; only the name's nl bytes are part of the message */
    memcpy(out + LOCK_HDR, m->name, NS_LOCK_NAME_MAX);
    return LOCK_HDR + nl;
}

/* The first n bytes of p's payload in one piece.  Every datagram a lock
 * node sends has its bytes in one real span, read in place: each of the
 * millions of messages of a contended run is decoded once, and the copy
 * was a large part of that.  Any other layout (length-only bytes, or
 * several spans) is copied into scratch, length-only bytes as zeros,
 * which reads the same bytes. */
static const uint8_t *payload_head(const ns_pkt *p, uint32_t n, uint8_t *scratch)
{
    const struct ns_payload *pl = p->payload;
    if (pl && pl->nspans > 0 && pl->spans[0].buf && pl->spans[0].len >= n)
        return pl->spans[0].buf->data + pl->spans[0].off;
    ns_pkt_copy_payload(p, 0, n, scratch);
    return scratch;
}

/* The header and name of any lock message; *body is the byte offset of a
 * WFG datagram's entries (the only type with bytes after the name). */
static bool decode_head(const ns_pkt *p, struct lock_msg *m, uint32_t *body)
{
    uint8_t scratch[LOCK_MSG_MAX];
    uint32_t len = p->payload_len;
    if (len < LOCK_HDR || len > LOCK_WFG_MSG_MAX || !p->payload)
        return false;
    const uint8_t *b = payload_head(p, len < LOCK_MSG_MAX ? len : LOCK_MSG_MAX, scratch);
    if (b[0] != LOCK_MAGIC || b[1] != 1 || b[2] >= LM_NTYPES || b[28] > NS_LOCK_NAME_MAX)
        return false;
    uint32_t end = LOCK_HDR + (uint32_t)b[28];
    uint32_t entries = b[2] == LM_WFG ? b[3] : 0;
    if (entries > LOCK_WFG_MAX || end + entries * LOCK_WFG_ENTRY != len)
        return false;
    memset(m, 0, sizeof *m);
    m->type = b[2];
    m->flags = b[3];
    m->client = get32(b + 4);
    m->attempt = get32(b + 8);
    m->token = get64(b + 12);
    m->aux = get64(b + 20);
    memcpy(m->name, b + LOCK_HDR, b[28]);
    *body = end;
    return true;
}

bool ns__lock_decode(const ns_pkt *p, struct lock_msg *m)
{
    uint32_t body;
    return decode_head(p, m, &body);
}

size_t ns__lock_encode_wfg(const struct lock_msg *m, const struct lock_wfg_entry *e,
                           uint8_t out[LOCK_WFG_MSG_MAX])
{
    g_return_val_if_fail(m->type == LM_WFG && m->flags <= LOCK_WFG_MAX, 0);
    size_t len = ns__lock_encode(m, out);
    for (unsigned i = 0; i < m->flags; i++, len += LOCK_WFG_ENTRY) {
        uint8_t *b = out + len;
        put32(b, e[i].client);
        put32(b + 4, e[i].attempt);
        put64(b + 8, (uint64_t)e[i].ts);
        put32(b + 16, e[i].addr);
        b[20] = (uint8_t)(e[i].port >> 8);
        b[21] = (uint8_t)e[i].port;
        b[22] = (uint8_t)(e[i].held >> 8);
        b[23] = (uint8_t)e[i].held;
    }
    return len;
}

bool ns__lock_decode_wfg(const ns_pkt *p, struct lock_msg *m,
                         struct lock_wfg_entry e[LOCK_WFG_MAX])
{
    uint32_t body;
    if (!decode_head(p, m, &body) || m->type != LM_WFG)
        return false;
    uint8_t b[LOCK_WFG_MAX * LOCK_WFG_ENTRY];
    ns_pkt_copy_payload(p, body, (uint32_t)m->flags * LOCK_WFG_ENTRY, b);
    for (unsigned i = 0; i < m->flags; i++) {
        const uint8_t *x = b + i * LOCK_WFG_ENTRY;
        e[i] = (struct lock_wfg_entry){
            .client = get32(x), .attempt = get32(x + 4), .ts = (ns_time_t)get64(x + 8),
            .addr = get32(x + 16), .port = (uint16_t)(x[20] << 8 | x[21]),
            .held = (uint16_t)(x[22] << 8 | x[23]),
        };
    }
    return true;
}

bool ns__lock_send_wfg(ns_udp *s, uint32_t dst, uint16_t port, const struct lock_msg *m,
                       const struct lock_wfg_entry *e)
{
    uint8_t b[LOCK_WFG_MSG_MAX];
    size_t len = ns__lock_encode_wfg(m, e, b);
    return ns_udp_send(s, dst, port, b, (uint32_t)len);
}

bool ns__lock_send(ns_udp *s, uint32_t dst, uint16_t port, const struct lock_msg *m)
{
    uint8_t b[LOCK_MSG_MAX];
    size_t len = ns__lock_encode(m, b);
    return ns_udp_send(s, dst, port, b, (uint32_t)len);
}

void ns__lock_describe(ns_host *sender, const ns_pkt *p, char *buf, size_t len)
{
    (void)sender;
    struct lock_msg m;
    if (!ns__lock_decode(p, &m)) {
        /* Labels go by port, per sim: an ephemeral port of a lock client
         * may be another host's port for something else, so a datagram
         * that is not a lock message keeps UDP's own label. */
        const uint8_t *u = ns_pkt_cl4(p);
        g_snprintf(buf, len, "UDP %u>%u len=%u", (unsigned)ns_get16(u),
                   (unsigned)ns_get16(u + 2), p->payload_len);
        return;
    }
    const char *name = ns__lock_msg_name(m.type);
    switch (m.type) {
    case LM_ACQUIRE:
        g_snprintf(buf, len, "%s %s #%u%s", name, m.name, m.attempt,
                   m.flags & LF_WAIT ? " wait" : "");
        break;
    case LM_GRANT:
        g_snprintf(buf, len, "%s %s reg=%" G_GUINT64_FORMAT " n=%" G_GUINT64_FORMAT,
                   name, m.name, m.token, m.aux);
        break;
    case LM_COMMIT:
        g_snprintf(buf, len, "%s %s token=%" G_GUINT64_FORMAT, name, m.name, m.token);
        break;
    case LM_WRITE:
        g_snprintf(buf, len, "%s %s %s token=%" G_GUINT64_FORMAT, name, m.name,
                   m.flags & LF_BEGIN ? "begin" : "end", m.token);
        break;
    case LM_WFG_QUERY:
        g_snprintf(buf, len, "%s #%u", name, m.attempt);
        break;
    case LM_WFG:                 /* the holder, then the waiters */
        g_snprintf(buf, len, "%s %s waiters=%u", name, m.name, m.flags ? m.flags - 1u : 0u);
        break;
    case LM_WFG_END:
        g_snprintf(buf, len, "%s #%u n=%" G_GUINT64_FORMAT, name, m.attempt, m.token);
        break;
    default:
        g_snprintf(buf, len, "%s %s", name, m.name);
        break;
    }
}

void ns__lock_label_port(ns_sim *sim, const ns_udp *sock)
{
    ns_udp_set_describer(sim, ns_udp_port(sock), ns__lock_describe);
}
