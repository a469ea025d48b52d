/* lock_msg.c — the lock protocol's bytes: encoding, decoding and the
 * sequence-diagram labels ("ACQ R1 #2 wait", "GRANT R1 tok=7").
 *
 * Invariant: decode(encode(m)) == m for every valid message; anything
 * shorter than the header, with another magic or version, an unknown type
 * or a name running past the datagram is not a lock message. */
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

static uint32_t get32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t get64(const uint8_t *b)
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
    memcpy(out + LOCK_HDR, m->name, nl);
    return LOCK_HDR + nl;
}

bool ns__lock_decode(const ns_pkt *p, struct lock_msg *m)
{
    uint8_t b[LOCK_MSG_MAX];
    uint32_t len = p->payload_len;
    if (len < LOCK_HDR || len > LOCK_MSG_MAX || !p->payload)
        return false;
    ns_pkt_copy_payload(p, 0, len, b);
    if (b[0] != LOCK_MAGIC || b[1] != 1 || b[2] >= LM_NTYPES || b[28] > NS_LOCK_NAME_MAX
        || LOCK_HDR + (uint32_t)b[28] != len)
        return false;
    memset(m, 0, sizeof *m);
    m->type = b[2];
    m->flags = b[3];
    m->client = get32(b + 4);
    m->attempt = get32(b + 8);
    m->token = get64(b + 12);
    m->aux = get64(b + 20);
    memcpy(m->name, b + LOCK_HDR, b[28]);
    return true;
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
        g_strlcpy(buf, "LOCK (undecodable)", len);
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
    default:
        g_snprintf(buf, len, "%s %s", name, m.name);
        break;
    }
}
