/* tls_msg.c — handshake messages: their encodings (RFC 8446 4, RFC 5246
 * 7.4).  Reading them is tls_parse.c.
 *
 * Invariant: every builder emits the real structure with its real size;
 * only bytes that are keys, signatures or MACs are filler from the host's
 * stream.
 */
#include <string.h>

#include "tls_priv.h"

/* ---- writing ---- */

/* A message being built.  Handshake messages are built a byte or two at a
 * time (a hello is some 250 appends), so appending must be a store, not a
 * library call: the bytes go to a buffer on the builder's stack and move
 * to the heap only if they outgrow it.  4 KB holds the default chain (two
 * certificates of 1,200 bytes): a heap block that size would be a large
 * allocation, for which glibc's malloc first consolidates its free lists. */
struct msg {
    uint8_t *data;
    size_t   len, cap;
    uint8_t  local[4096];
};

static struct msg *msg_init(struct msg *b, size_t hint)
{
    b->len = 0;
    b->cap = hint > sizeof b->local ? hint : sizeof b->local;
    b->data = hint > sizeof b->local ? g_malloc(hint) : b->local;
    return b;
}

static void msg_free(struct msg *b)
{
    if (b->data != b->local)
        g_free(b->data);
}

G_NO_INLINE static void msg_grow(struct msg *b, size_t need)
{
    size_t cap = b->cap * 2 > need ? b->cap * 2 : need;
    if (b->data == b->local) {
        b->data = memcpy(g_malloc(cap), b->local, b->len);
    } else {
        b->data = g_realloc(b->data, cap);
    }
    b->cap = cap;
}

static inline uint8_t *msg_room(struct msg *b, size_t n)
{
    if (G_UNLIKELY(b->len + n > b->cap))
        msg_grow(b, b->len + n);
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

static void put8(struct msg *b, unsigned v) { *msg_room(b, 1) = (uint8_t)v; }
static void put16(struct msg *b, unsigned v) { ns_put16(msg_room(b, 2), (uint16_t)v); }
static void put24(struct msg *b, unsigned v) { put8(b, v >> 16); put16(b, v); }
static void putn(struct msg *b, const uint8_t *p, size_t n)
{
    if (n)
        memcpy(msg_room(b, n), p, n);
}

/* Length prefixes written after their contents: open returns the offset. */
static size_t open_len(struct msg *b, int bytes)
{
    size_t at = b->len;
    for (int i = 0; i < bytes; i++)
        put8(b, 0);
    return at;
}

static void close_len(struct msg *b, size_t at, int bytes)
{
    size_t n = b->len - at - (size_t)bytes;
    for (int i = 0; i < bytes; i++)
        b->data[at + (size_t)i] = (uint8_t)(n >> (8 * (bytes - 1 - i)));
}

/* n bytes from the host's stream, one draw per 8 bytes, low byte first,
 * written in place: a hello or a ticket holds a few hundred such bytes
 * (key shares, signatures), and a call per draw to append them was a
 * good part of building one. */
static void put_random(ns_tls *t, struct msg *b, size_t n)
{
    uint8_t *p = msg_room(b, n);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t r = ns_rng_u64(t->rng);
        if (n - i >= 8) {
            for (size_t k = 0; k < 8; k++)
                p[i + k] = (uint8_t)(r >> (8 * k));
        } else {
            for (size_t k = 0; i + k < n; k++)
                p[i + k] = (uint8_t)(r >> (8 * k));
        }
    }
}

static void put_u64(struct msg *b, uint64_t v)
{
    uint8_t w[8];
    for (int i = 0; i < 8; i++)
        w[i] = (uint8_t)(v >> (8 * (7 - i)));
    putn(b, w, 8);
}

#define NS_X_ROW(name, str, id, len) { id, len },
static const struct { uint16_t id, len; } groups[] = { NS_TLS_GROUPS(NS_X_ROW) };
#undef NS_X_ROW

uint32_t ns__tls_group_id(enum ns_tls_group g) { return groups[g].id; }
uint32_t ns__tls_group_len(enum ns_tls_group g) { return groups[g].len; }

/* TLS 1.3 suites (RFC 8446 B.4) and the ECDHE-ECDSA suites of 1.2
 * (RFC 5289, RFC 7905). */
uint16_t ns__tls_cipher_id(enum ns_tls_cipher c, enum ns_tls_version v)
{
    static const uint16_t v13[] = { 0x1301, 0x1302, 0x1303 };
    static const uint16_t v12[] = { 0xc02b, 0xc02c, 0xcca9 };
    return v == NS_TLS_13 ? v13[c] : v12[c];
}

static const uint16_t sig_algs[] = {
    0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
};

static void ext_sig_algs(struct msg *b)
{
    put16(b, 13);
    put16(b, 2 + 2 * G_N_ELEMENTS(sig_algs));
    put16(b, 2 * G_N_ELEMENTS(sig_algs));
    for (size_t i = 0; i < G_N_ELEMENTS(sig_algs); i++)
        put16(b, sig_algs[i]);
}

static void ext_alpn(struct msg *b, const char *alpn)
{
    size_t n = strlen(alpn);
    put16(b, 16);
    put16(b, (unsigned)(n + 3));
    put16(b, (unsigned)(n + 1));
    put8(b, (unsigned)n);
    putn(b, (const uint8_t *)alpn, n);
}


void ns__tls_send_client_hello(ns_tls *t)
{
    struct msg m_b, *b = msg_init(&m_b, 512);        /* a typical hello: no regrowth */
    put16(b, 0x0303);                                   /* legacy_version */
    if (t->hrr == 0) {
        for (int i = 0; i < 32; i++)
            t->client_random[i] = (uint8_t)ns_rng_u64(t->rng);
        t->key = 0;
        for (int i = 0; i < 8; i++)
            t->key = t->key << 8 | t->client_random[i];
    }
    putn(b, t->client_random, 32);
    /* session id: the 1.2 session being resumed, else 32 bytes (1.3
     * middlebox compatibility, RFC 8446 D.4; with a 1.2 ticket, so that
     * the server's echo says it accepted it, RFC 5077 3.4) or none */
    if (t->hrr == 0) {
        if (ns__tls_resuming(t, NS_TLS_12) && t->o.resume->ticket_is_sid) {
            struct msg m_s, *s = msg_init(&m_s, 0);
            put_u64(s, t->o.resume->ticket);
            put_random(t, s, 24);
            memcpy(t->session_id, s->data, 32);
            msg_free(s);
            t->session_id_len = 32;
        } else if (ns__tls_offers13(t) || ns__tls_resuming(t, NS_TLS_12)) {
            struct msg m_s, *s = msg_init(&m_s, 0);
            put_random(t, s, 32);
            memcpy(t->session_id, s->data, 32);
            msg_free(s);
            t->session_id_len = 32;
        }
    }
    put8(b, t->session_id_len);
    putn(b, t->session_id, t->session_id_len);
    size_t cs = open_len(b, 2);
    enum ns_tls_cipher order[NS_TLS_NCIPHERS];
    unsigned nsuites = ns__tls_cipher_order(&t->o, order);
    if (ns__tls_offers13(t))
        for (unsigned i = 0; i < nsuites; i++)
            put16(b, ns__tls_cipher_id(order[i], NS_TLS_13));
    if (ns__tls_offers12(t)) {
        for (unsigned i = 0; i < nsuites; i++)
            put16(b, ns__tls_cipher_id(order[i], NS_TLS_12));
        put16(b, 0xc02f);                               /* ECDHE-RSA-AES128-GCM */
        put16(b, 0xc030);
    }
    close_len(b, cs, 2);
    put8(b, 1);                                         /* compression: null */
    put8(b, 0);
    size_t exts = open_len(b, 2);
    if (t->sni && *t->sni) {                            /* server_name (RFC 6066) */
        size_t n = strlen(t->sni);
        put16(b, 0);
        put16(b, (unsigned)(n + 5));
        put16(b, (unsigned)(n + 3));
        put8(b, 0);
        put16(b, (unsigned)n);
        putn(b, (const uint8_t *)t->sni, n);
    }
    put16(b, 23); put16(b, 0);                          /* extended_master_secret */
    put16(b, 0xff01); put16(b, 1); put8(b, 0);          /* renegotiation_info */
    put16(b, 10);                                       /* supported_groups */
    put16(b, 2 + 2 * NS_TLS_NGROUPS);
    put16(b, 2 * NS_TLS_NGROUPS);
    for (int g = 0; g < NS_TLS_NGROUPS; g++)
        put16(b, ns__tls_group_id(g));
    put16(b, 11); put16(b, 2); put8(b, 1); put8(b, 0);  /* ec_point_formats */
    if (ns__tls_offers12(t) && t->o.tickets) {                  /* session_ticket (RFC 5077) */
        put16(b, 35);
        if (ns__tls_resuming(t, NS_TLS_12) && !t->o.resume->ticket_is_sid) {
            put16(b, 128);
            put_u64(b, t->o.resume->ticket);
            put_random(t, b, 120);
        } else {
            put16(b, 0);
        }
    }
    if (t->alpn && *t->alpn)
        ext_alpn(b, t->alpn);
    ext_sig_algs(b);
    if (ns__tls_offers13(t)) {
        put16(b, 51);                                   /* key_share */
        uint32_t kl = ns__tls_group_len(t->group);
        put16(b, 2 + 4 + kl);
        put16(b, 4 + kl);
        put16(b, ns__tls_group_id(t->group));
        put16(b, kl);
        put_random(t, b, kl);
        put16(b, 43);                                   /* supported_versions */
        put16(b, ns__tls_offers12(t) ? 5 : 3);
        put8(b, ns__tls_offers12(t) ? 4 : 2);
        put16(b, 0x0304);
        if (ns__tls_offers12(t))
            put16(b, 0x0303);
        if (t->cookie) {                                /* cookie (RFC 8446 4.2.2) */
            put16(b, 44);
            put16(b, 2u + t->cookie_len);
            put16(b, t->cookie_len);
            putn(b, t->cookie, t->cookie_len);
        }
        put16(b, 45); put16(b, 2); put8(b, 1); put8(b, 1);   /* psk_dhe_ke */
        if (ns__tls_resuming(t, NS_TLS_13)) {
            if (t->early_status == 1 && t->hrr == 0) {
                put16(b, 42);                           /* early_data */
                put16(b, 0);
            }
            /* pre_shared_key, last (RFC 8446 4.2.11): one identity, a
             * 32-byte binder (SHA-256) */
            put16(b, 41);
            put16(b, 2 + 2 + 128 + 4 + 2 + 33);
            put16(b, 2 + 128 + 4);
            put16(b, 128);
            put_u64(b, t->o.resume->ticket);
            put_random(t, b, 120);
            put_random(t, b, 4);                        /* obfuscated_ticket_age */
            put16(b, 33);
            put8(b, 32);
            put_random(t, b, 32);
        }
    }
    close_len(b, exts, 2);
    ns__tls_write_handshake(t, HS_CLIENT_HELLO, b->data, b->len);
    msg_free(b);
}

/* SHA-256 of "HelloRetryRequest": the ServerHello random that marks an
 * HRR (RFC 8446 4.1.3). */
const uint8_t ns__tls_hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

void ns__tls_send_server_hello(ns_tls *t, bool hrr)
{
    struct msg m_b, *b = msg_init(&m_b, 0);
    put16(b, 0x0303);
    if (hrr)
        putn(b, ns__tls_hrr_random, 32);
    else
        put_random(t, b, 32);
    put8(b, t->session_id_len);
    putn(b, t->session_id, t->session_id_len);
    put16(b, ns__tls_cipher_id(t->cipher, NS_TLS_13));
    put8(b, 0);
    size_t exts = open_len(b, 2);
    put16(b, 43); put16(b, 2); put16(b, 0x0304);      /* supported_versions */
    put16(b, 51);                                      /* key_share */
    if (hrr) {
        put16(b, 2);
        put16(b, ns__tls_group_id(t->group));
        if (t->o.hrr_cookie) {                         /* cookie (RFC 8446 4.2.2) */
            put16(b, 44);
            put16(b, 2u + t->o.hrr_cookie);
            put16(b, t->o.hrr_cookie);
            put_random(t, b, t->o.hrr_cookie);
        }
    } else {
        uint32_t kl = ns__tls_group_len(t->group);
        put16(b, 4 + kl);
        put16(b, ns__tls_group_id(t->group));
        put16(b, kl);
        put_random(t, b, kl);
    }
    if (!hrr && t->resumed) {
        put16(b, 41); put16(b, 2); put16(b, 0);        /* pre_shared_key: identity 0 */
    }
    close_len(b, exts, 2);
    ns__tls_write_handshake(t, HS_SERVER_HELLO, b->data, b->len);
    msg_free(b);
}

void ns__tls_send_server_hello12(ns_tls *t)
{
    struct msg m_b, *b = msg_init(&m_b, 0);
    put16(b, 0x0303);
    put_random(t, b, 32);
    put8(b, t->session_id_len);
    putn(b, t->session_id, t->session_id_len);
    put16(b, ns__tls_cipher_id(t->cipher, NS_TLS_12));
    put8(b, 0);
    size_t exts = open_len(b, 2);
    put16(b, 0xff01); put16(b, 1); put8(b, 0);
    put16(b, 23); put16(b, 0);
    put16(b, 11); put16(b, 2); put8(b, 1); put8(b, 0);
    if (t->nst_promised) {                             /* RFC 5077 3.2: empty */
        put16(b, 35); put16(b, 0);
    }
    if (t->alpn && *t->alpn)
        ext_alpn(b, t->alpn);
    close_len(b, exts, 2);
    ns__tls_write_handshake(t, HS_SERVER_HELLO, b->data, b->len);
    msg_free(b);
}

void ns__tls_send_encrypted_extensions(ns_tls *t)
{
    struct msg m_b, *b = msg_init(&m_b, 0);
    size_t exts = open_len(b, 2);
    if (t->alpn && *t->alpn)
        ext_alpn(b, t->alpn);
    if (t->early_status == 1) {
        put16(b, 42);
        put16(b, 0);
    }
    close_len(b, exts, 2);
    ns__tls_write_handshake(t, HS_ENCRYPTED_EXTENSIONS, b->data, b->len);
    msg_free(b);
}

/* n certificates of cert_size bytes (the client's: n is 0 or 1). */
void ns__tls_send_certificate(ns_tls *t, unsigned n)
{
    /* sized for the whole chain: no reallocation while appending */
    struct msg m_b, *b = msg_init(&m_b, 8 + n * (t->o.cert_size + 5));
    if (t->version == NS_TLS_13)
        put8(b, 0);                                     /* request context */
    size_t list = open_len(b, 3);
    for (unsigned i = 0; i < n; i++) {
        const GByteArray *c = ns__tls_cert(t, i, !t->server);
        put24(b, c->len);
        putn(b, c->data, c->len);
        if (t->version == NS_TLS_13)
            put16(b, 0);                                /* extensions */
    }
    close_len(b, list, 3);
    ns__tls_write_handshake(t, HS_CERTIFICATE, b->data, b->len);
    msg_free(b);
}

void ns__tls_send_certificate_request(ns_tls *t)
{
    struct msg m_b, *b = msg_init(&m_b, 0);
    if (t->version == NS_TLS_13) {
        put8(b, 0);                                     /* context */
        size_t exts = open_len(b, 2);
        ext_sig_algs(b);
        close_len(b, exts, 2);
    } else {
        put8(b, 2); put8(b, 1); put8(b, 64);            /* rsa_sign, ecdsa_sign */
        put16(b, 2 * G_N_ELEMENTS(sig_algs));
        for (size_t i = 0; i < G_N_ELEMENTS(sig_algs); i++)
            put16(b, sig_algs[i]);
        put16(b, 0);                                    /* any CA */
    }
    ns__tls_write_handshake(t, HS_CERTIFICATE_REQUEST, b->data, b->len);
    msg_free(b);
}

/* An ECDSA P-256 signature in DER: SEQUENCE of two 32-byte INTEGERs. */
static void put_ecdsa_sig(ns_tls *t, struct msg *b)
{
    put16(b, 0x0403);
    put16(b, 70);
    put8(b, 0x30); put8(b, 68);
    for (int k = 0; k < 2; k++) {
        put8(b, 0x02); put8(b, 32);
        put8(b, 0x3f);
        put_random(t, b, 31);
    }
}

void ns__tls_send_certificate_verify(ns_tls *t)
{
    struct msg m_b, *b = msg_init(&m_b, 0);
    put_ecdsa_sig(t, b);
    ns__tls_write_handshake(t, HS_CERTIFICATE_VERIFY, b->data, b->len);
    msg_free(b);
}

/* ECDHE parameters (RFC 8422 5.4): named curve, the point, a signature. */
void ns__tls_send_server_key_exchange(ns_tls *t)
{
    struct msg m_b, *b = msg_init(&m_b, 0);
    uint32_t kl = ns__tls_group_len(t->group);
    put8(b, 3);
    put16(b, ns__tls_group_id(t->group));
    put8(b, kl);
    if (t->group != NS_TLS_X25519) {
        put8(b, 4);
        put_random(t, b, kl - 1);
    } else {
        put_random(t, b, kl);
    }
    put_ecdsa_sig(t, b);
    ns__tls_write_handshake(t, HS_SERVER_KEY_EXCHANGE, b->data, b->len);
    msg_free(b);
}

void ns__tls_send_client_key_exchange(ns_tls *t)
{
    struct msg m_b, *b = msg_init(&m_b, 0);
    uint32_t kl = ns__tls_group_len(t->group);
    put8(b, kl);
    if (t->group != NS_TLS_X25519) {
        put8(b, 4);
        put_random(t, b, kl - 1);
    } else {
        put_random(t, b, kl);
    }
    ns__tls_write_handshake(t, HS_CLIENT_KEY_EXCHANGE, b->data, b->len);
    msg_free(b);
}

void ns__tls_send_empty(ns_tls *t, uint8_t type)
{
    ns__tls_write_handshake(t, type, NULL, 0);
}

/* verify_data: 12 bytes in 1.2 (RFC 5246 7.4.9), Hash.length in 1.3. */
void ns__tls_send_finished(ns_tls *t)
{
    struct msg m_b, *b = msg_init(&m_b, 0);
    size_t n = t->version == NS_TLS_12 ? 12 : (t->cipher == NS_TLS_AES256_GCM ? 48 : 32);
    put_random(t, b, n);
    ns__tls_write_handshake(t, HS_FINISHED, b->data, b->len);
    msg_free(b);
}

/* A ticket is 128 bytes whose first 8 are the listener's ticket number
 * (RFC 8446 4.6.1; in 1.2, RFC 5077 3.3: lifetime hint and ticket only). */
void ns__tls_send_new_session_ticket(ns_tls *t)
{
    ns_tls_listener *l = ns__tls_listener_of(t);
    uint64_t id = ++l->next_ticket;
    struct tls_ticket rec = { id, t->version };
    g_array_append_val(l->tickets, rec);
    struct msg m_b, *b = msg_init(&m_b, 0);
    put8(b, 0); put8(b, 0); put16(b, 7200);            /* lifetime: 2 h */
    if (t->version == NS_TLS_13) {
        put_random(t, b, 4);                            /* ticket_age_add */
        put8(b, 8);
        put_u64(b, id);                                 /* nonce */
    }
    put16(b, 128);
    put_u64(b, id);
    put_random(t, b, 120);
    if (t->version == NS_TLS_13) {
        size_t exts = open_len(b, 2);
        if (t->o.accept_early_data) {
            put16(b, 42); put16(b, 4);
            put8(b, 0); put8(b, 0); put16(b, 16384);   /* max_early_data_size */
        }
        close_len(b, exts, 2);
    }
    ns__tls_write_handshake(t, HS_NEW_SESSION_TICKET, b->data, b->len);
    msg_free(b);
}

void ns__tls_send_ccs(ns_tls *t)
{
    static const uint8_t one = 1;
    ns__tls_write_record(t, CT_CCS, &one, 1);
}

/* RFC 8446 D.4: a client in compatibility mode (it sent a non-empty
 * legacy_session_id, which ours always does with 1.3) sends the record
 * once; a server answers one only to such a client. */
void ns__tls_send_compat_ccs(ns_tls *t)
{
    if (!t->o.middlebox_compat || t->ccs13_sent || (t->server && t->session_id_len == 0))
        return;
    t->ccs13_sent = true;
    ns__tls_send_ccs(t);
}
