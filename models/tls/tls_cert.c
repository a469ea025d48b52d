/* tls_cert.c — X.509 certificates in DER, built to an exact size.
 *
 * Invariant: ns__tls_make_cert(size, ...) returns a well-formed DER
 * certificate (RFC 5280 4.1: TBSCertificate, signatureAlgorithm,
 * signatureValue) of exactly `size` bytes, so a pcap of TLS 1.2 shows
 * certificates Wireshark decodes.  The size is reached through a
 * Netscape comment extension whose IA5String is padding; every DER length
 * around it is re-encoded, which is why the padding is found by search
 * (a length crossing 127 or 255 grows its encoding by a byte).  Key and
 * signature bytes are fixed filler: nothing verifies them.
 */
#include <string.h>

#include "tls_priv.h"

static void der_len(GByteArray *b, size_t n)
{
    uint8_t h[5];
    if (n < 0x80) {
        h[0] = (uint8_t)n;
        g_byte_array_append(b, h, 1);
    } else if (n < 0x100) {
        h[0] = 0x81, h[1] = (uint8_t)n;
        g_byte_array_append(b, h, 2);
    } else if (n < 0x10000) {
        h[0] = 0x82, h[1] = (uint8_t)(n >> 8), h[2] = (uint8_t)n;
        g_byte_array_append(b, h, 3);
    } else {
        h[0] = 0x83, h[1] = (uint8_t)(n >> 16), h[2] = (uint8_t)(n >> 8), h[3] = (uint8_t)n;
        g_byte_array_append(b, h, 4);
    }
}

/* Appends tag, length and content to b. */
static void tlv(GByteArray *b, uint8_t tag, const uint8_t *content, size_t n)
{
    g_byte_array_append(b, &tag, 1);
    der_len(b, n);
    if (n)
        g_byte_array_append(b, content, (guint)n);
}

/* Wraps the content of `inner` (freed) as one TLV appended to b. */
static void wrap(GByteArray *b, uint8_t tag, GByteArray *inner)
{
    tlv(b, tag, inner->data, inner->len);
    g_byte_array_free(inner, TRUE);
}

static const uint8_t OID_ECDSA_SHA256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
static const uint8_t OID_EC_PUBKEY[]    = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t OID_P256[]         = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t OID_CN[]           = { 0x55, 0x04, 0x03 };
static const uint8_t OID_NS_COMMENT[]   = { 0x60, 0x86, 0x48, 0x01, 0x86, 0xf8, 0x42, 0x01, 0x0d };

static void alg_id(GByteArray *b)
{
    GByteArray *s = g_byte_array_new();
    tlv(s, 0x06, OID_ECDSA_SHA256, sizeof OID_ECDSA_SHA256);
    wrap(b, 0x30, s);
}

static void name(GByteArray *b, const char *cn)
{
    GByteArray *atv = g_byte_array_new();
    tlv(atv, 0x06, OID_CN, sizeof OID_CN);
    tlv(atv, 0x0c, (const uint8_t *)cn, strlen(cn));
    GByteArray *set = g_byte_array_new();
    wrap(set, 0x30, atv);
    GByteArray *rdn = g_byte_array_new();
    wrap(rdn, 0x31, set);
    wrap(b, 0x30, rdn);
}

static GByteArray *build(unsigned index, bool client, size_t pad, const char *extra)
{
    char subject[64], issuer[64];
    if (client)
        g_snprintf(subject, sizeof subject, "client%s", extra);
    else if (index == 0)
        g_snprintf(subject, sizeof subject, "server.example%s", extra);
    else
        g_snprintf(subject, sizeof subject, "Intermediate CA %u%s", index, extra);
    g_snprintf(issuer, sizeof issuer, "Intermediate CA %u", index + 1);

    GByteArray *tbs = g_byte_array_new();
    static const uint8_t v3[] = { 0xa0, 0x03, 0x02, 0x01, 0x02 };
    g_byte_array_append(tbs, v3, sizeof v3);
    uint8_t serial[8] = { 0x1e, 0x57, 0x00, 0x00, 0x00, 0x00, (uint8_t)client, (uint8_t)index };
    tlv(tbs, 0x02, serial, sizeof serial);
    alg_id(tbs);
    name(tbs, issuer);
    GByteArray *val = g_byte_array_new();
    tlv(val, 0x17, (const uint8_t *)"250101000000Z", 13);
    tlv(val, 0x17, (const uint8_t *)"350101000000Z", 13);
    wrap(tbs, 0x30, val);
    name(tbs, subject);
    GByteArray *spki = g_byte_array_new(), *alg = g_byte_array_new();
    tlv(alg, 0x06, OID_EC_PUBKEY, sizeof OID_EC_PUBKEY);
    tlv(alg, 0x06, OID_P256, sizeof OID_P256);
    wrap(spki, 0x30, alg);
    uint8_t point[66];
    point[0] = 0x00;                               /* no unused bits */
    point[1] = 0x04;                               /* uncompressed */
    for (int i = 2; i < 66; i++)
        point[i] = (uint8_t)(0x11 * (i % 15) + index);
    tlv(spki, 0x03, point, sizeof point);
    wrap(tbs, 0x30, spki);
    /* extensions [3] { SEQUENCE { Extension { nsComment, OCTET STRING { IA5String } } } } */
    GByteArray *ia5 = g_byte_array_new();
    uint8_t *p = g_malloc(pad ? pad : 1);
    memset(p, 'x', pad);
    tlv(ia5, 0x16, p, pad);
    g_free(p);
    GByteArray *ext = g_byte_array_new();
    tlv(ext, 0x06, OID_NS_COMMENT, sizeof OID_NS_COMMENT);
    wrap(ext, 0x04, ia5);
    GByteArray *exts = g_byte_array_new();
    wrap(exts, 0x30, ext);
    GByteArray *seq = g_byte_array_new();
    wrap(seq, 0x30, exts);
    wrap(tbs, 0xa3, seq);

    GByteArray *cert = g_byte_array_new();
    wrap(cert, 0x30, tbs);
    alg_id(cert);
    GByteArray *sig = g_byte_array_new(), *rs = g_byte_array_new();
    uint8_t num[32];
    for (int i = 0; i < 32; i++)
        num[i] = (uint8_t)(0x35 + i);              /* positive: top bit clear */
    tlv(rs, 0x02, num, sizeof num);
    tlv(rs, 0x02, num, sizeof num);
    uint8_t zero = 0;
    g_byte_array_append(sig, &zero, 1);            /* no unused bits */
    wrap(sig, 0x30, rs);
    wrap(cert, 0x03, sig);
    GByteArray *out = g_byte_array_new();
    wrap(out, 0x30, cert);
    return out;
}

/* A constant, computed once: every ns_tls_opts_check asks for it. */
uint32_t ns__tls_cert_min_size(void)
{
    static gsize min;
    if (g_once_init_enter(&min)) {
        /* the largest of the minimal certificates (longest names) plus the
         * slack the search may need at a length boundary */
        GByteArray *b = build(99, false, 0, "");
        gsize n = b->len + 8;
        g_byte_array_free(b, TRUE);
        g_once_init_leave(&min, n);
    }
    return (uint32_t)min;
}

GByteArray *ns__tls_make_cert(uint32_t size, unsigned index, bool client)
{
    static const char *const extras[] = { "", ".", "..", "..." };
    for (size_t e = 0; e < G_N_ELEMENTS(extras); e++) {
        GByteArray *b = build(index, client, 0, extras[e]);
        if (b->len > size) {
            g_byte_array_free(b, TRUE);
            break;
        }
        size_t pad = size - b->len;
        g_byte_array_free(b, TRUE);
        for (int tries = 0; tries < 6; tries++) {
            b = build(index, client, pad, extras[e]);
            if (b->len == size)
                return b;
            size_t got = b->len;
            g_byte_array_free(b, TRUE);
            if (got > size && pad > 0)
                pad -= got - size < pad ? got - size : pad;
            else if (got < size)
                pad += size - got;
            else
                break;
        }
    }
    /* unreachable for size >= ns__tls_cert_min_size(); keep well-formed */
    return build(index, client, 0, "");
}
