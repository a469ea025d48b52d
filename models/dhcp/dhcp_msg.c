/* dhcp_msg.c — DHCP messages as bytes: the BOOTP fixed header (RFC 2131
 * section 2, figure 1), the magic cookie and the options of RFC 2132 that
 * netsim uses.
 *
 * Invariant: ns_dhcp_encode then ns_dhcp_decode gives back every field of
 * struct ns_dhcp_msg; encoded messages are at least 300 bytes (the BOOTP
 * minimum, RFC 1542 2.1) so every decoder accepts them. */
#include <stdio.h>
#include <string.h>

#include "netsim/dhcp.h"
#include "netsim/pkt.h"

#define HDR_LEN     236           /* op .. file */
#define OFF_COOKIE  236
#define OFF_OPTIONS 240
#define COOKIE      0x63825363u   /* 99.130.83.99 */

enum {                            /* RFC 2132 option codes */
    OPT_PAD = 0, OPT_MASK = 1, OPT_ROUTER = 3, OPT_DNS = 6,
    OPT_REQUESTED = 50, OPT_LEASE = 51, OPT_TYPE = 53, OPT_SERVER_ID = 54,
    OPT_PARAMS = 55, OPT_T1 = 58, OPT_T2 = 59, OPT_CLIENT_ID = 61, OPT_END = 255,
};

#define NS_X_NAME(name, num, str) [num] = str,
static const char *const type_names[] = { NS_DHCP_MSG_TYPES(NS_X_NAME) };
#undef NS_X_NAME

const char *ns_dhcp_msg_type_name(int type)
{
    if (type < 1 || type >= (int)G_N_ELEMENTS(type_names))
        return "?";
    return type_names[type];
}

static uint8_t *opt32(uint8_t *o, uint8_t code, uint32_t v)
{
    o[0] = code;
    o[1] = 4;
    ns_put32(o + 2, v);
    return o + 6;
}

size_t ns_dhcp_encode(const struct ns_dhcp_msg *m, uint8_t *buf)
{
    memset(buf, 0, NS_DHCP_MSG_MAX);
    buf[0] = m->op;
    buf[1] = 1;                   /* htype: Ethernet */
    buf[2] = 6;                   /* hlen */
    buf[3] = m->hops;
    ns_put32(buf + 4, m->xid);
    ns_put16(buf + 8, m->secs);
    ns_put16(buf + 10, m->flags);
    ns_put32(buf + 12, m->ciaddr);
    ns_put32(buf + 16, m->yiaddr);
    ns_put32(buf + 20, m->siaddr);
    ns_put32(buf + 24, m->giaddr);
    memcpy(buf + 28, m->chaddr, 6);
    ns_put32(buf + OFF_COOKIE, COOKIE);
    uint8_t *o = buf + OFF_OPTIONS;
    *o++ = OPT_TYPE;
    *o++ = 1;
    *o++ = m->type;
    if (m->server_id)
        o = opt32(o, OPT_SERVER_ID, m->server_id);
    if (m->requested)
        o = opt32(o, OPT_REQUESTED, m->requested);
    if (m->lease_s)
        o = opt32(o, OPT_LEASE, m->lease_s);
    if (m->t1_s)
        o = opt32(o, OPT_T1, m->t1_s);
    if (m->t2_s)
        o = opt32(o, OPT_T2, m->t2_s);
    if (m->mask)
        o = opt32(o, OPT_MASK, m->mask);
    if (m->router)
        o = opt32(o, OPT_ROUTER, m->router);
    if (m->dns)
        o = opt32(o, OPT_DNS, m->dns);
    if (m->client_id_len >= 2 && m->client_id_len <= NS_DHCP_CLIENT_ID_MAX) {
        *o++ = OPT_CLIENT_ID;
        *o++ = m->client_id_len;
        memcpy(o, m->client_id, m->client_id_len);
        o += m->client_id_len;
    }
    if (m->op == NS_DHCP_BOOTREQUEST &&
        (m->type == NS_DHCP_DISCOVER || m->type == NS_DHCP_REQUEST)) {
        /* RFC 2132 9.8: what the client wants back */
        *o++ = OPT_PARAMS;
        *o++ = 3;
        *o++ = OPT_MASK;
        *o++ = OPT_ROUTER;
        *o++ = OPT_DNS;
    }
    *o++ = OPT_END;
    size_t len = (size_t)(o - buf);
    return len < NS_DHCP_MSG_MIN ? NS_DHCP_MSG_MIN : len;
}

bool ns_dhcp_decode(const uint8_t *buf, size_t len, struct ns_dhcp_msg *m, GError **error)
{
    memset(m, 0, sizeof *m);
    if (len < OFF_OPTIONS) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "DHCP message of %zu bytes is shorter than %d", len, OFF_OPTIONS);
        return false;
    }
    if (ns_get32(buf + OFF_COOKIE) != COOKIE) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "DHCP message has magic cookie 0x%08x, not 0x%08x",
                    ns_get32(buf + OFF_COOKIE), COOKIE);
        return false;
    }
    m->op = buf[0];
    m->hops = buf[3];
    m->xid = ns_get32(buf + 4);
    m->secs = ns_get16(buf + 8);
    m->flags = ns_get16(buf + 10);
    m->ciaddr = ns_get32(buf + 12);
    m->yiaddr = ns_get32(buf + 16);
    m->siaddr = ns_get32(buf + 20);
    m->giaddr = ns_get32(buf + 24);
    memcpy(m->chaddr, buf + 28, 6);
    size_t i = OFF_OPTIONS;
    while (i < len) {
        uint8_t code = buf[i];
        if (code == OPT_END)
            break;
        if (code == OPT_PAD) {
            i++;
            continue;
        }
        if (i + 2 > len || i + 2 + buf[i + 1] > len) {
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                        "DHCP option %u at offset %zu runs past the end (%zu bytes)",
                        code, i, len);
            return false;
        }
        uint8_t olen = buf[i + 1];
        const uint8_t *v = buf + i + 2;
        uint32_t v32 = olen >= 4 ? ns_get32(v) : 0;
        switch (code) {
        case OPT_TYPE:      m->type = olen >= 1 ? v[0] : 0; break;
        case OPT_SERVER_ID: m->server_id = v32; break;
        case OPT_REQUESTED: m->requested = v32; break;
        case OPT_LEASE:     m->lease_s = v32; break;
        case OPT_T1:        m->t1_s = v32; break;
        case OPT_T2:        m->t2_s = v32; break;
        case OPT_MASK:      m->mask = v32; break;
        case OPT_ROUTER:    m->router = v32; break;
        case OPT_DNS:       m->dns = v32; break;
        case OPT_CLIENT_ID:
            /* RFC 2132 9.14: at least 2 bytes; longer ones than netsim
             * keeps are ignored rather than cut (two would then match) */
            if (olen >= 2 && olen <= NS_DHCP_CLIENT_ID_MAX) {
                m->client_id_len = olen;
                memcpy(m->client_id, v, olen);
            }
            break;
        default:            break;          /* unknown options are skipped */
        }
        i += 2u + olen;
    }
    if (m->type < NS_DHCP_DISCOVER || m->type > NS_DHCP_INFORM) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "DHCP message without a valid message type (option 53 = %u)", m->type);
        return false;
    }
    return true;
}

void ns_dhcp_describe(const struct ns_dhcp_msg *m, char *buf, size_t len)
{
    char a[NS_ADDR_STRLEN];
    const char *name = ns_dhcp_msg_type_name(m->type);
    switch (m->type) {
    case NS_DHCP_OFFER:
    case NS_DHCP_ACK:
        snprintf(buf, len, "%s %s lease=%us", name, ns_addr_format(m->yiaddr, a), m->lease_s);
        break;
    case NS_DHCP_REQUEST:
        snprintf(buf, len, "REQUEST %s xid=0x%08x",
                 ns_addr_format(m->requested ? m->requested : m->ciaddr, a), m->xid);
        break;
    case NS_DHCP_DECLINE:
    case NS_DHCP_RELEASE:
        snprintf(buf, len, "%s %s", name,
                 ns_addr_format(m->requested ? m->requested : m->ciaddr, a));
        break;
    default:
        snprintf(buf, len, "%s xid=0x%08x", name, m->xid);
        break;
    }
}
