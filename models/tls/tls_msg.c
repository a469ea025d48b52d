/* tls_msg.c — handshake messages: their encodings (RFC 8446 4, RFC 5246
 * 7.4) and the classifier that turns a received message into a state
 * machine event.
 *
 * Invariant: every builder emits the real structure with its real size;
 * only bytes that are keys, signatures or MACs are filler from the host's
 * stream.  Guards that need message contents (which version, whether a
 * PSK was accepted, whether a certificate list is empty) are decided here,
 * never around ns__tls_step (STYLE.md 5).
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

static bool offers13(const ns_tls *t) { return t->o.max_version == NS_TLS_13; }
static bool offers12(const ns_tls *t) { return t->o.min_version == NS_TLS_12; }

static bool resuming(const ns_tls *t, enum ns_tls_version v)
{
    return t->o.resume && t->o.resume->has_session && t->o.resume->session_version == v;
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
        if (resuming(t, NS_TLS_12) && t->o.resume->ticket_is_sid) {
            struct msg m_s, *s = msg_init(&m_s, 0);
            put_u64(s, t->o.resume->ticket);
            put_random(t, s, 24);
            memcpy(t->session_id, s->data, 32);
            msg_free(s);
            t->session_id_len = 32;
        } else if (offers13(t) || resuming(t, NS_TLS_12)) {
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
    if (offers13(t))
        for (unsigned i = 0; i < nsuites; i++)
            put16(b, ns__tls_cipher_id(order[i], NS_TLS_13));
    if (offers12(t)) {
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
    if (offers12(t) && t->o.tickets) {                  /* session_ticket (RFC 5077) */
        put16(b, 35);
        if (resuming(t, NS_TLS_12) && !t->o.resume->ticket_is_sid) {
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
    if (offers13(t)) {
        put16(b, 51);                                   /* key_share */
        uint32_t kl = ns__tls_group_len(t->group);
        put16(b, 2 + 4 + kl);
        put16(b, 4 + kl);
        put16(b, ns__tls_group_id(t->group));
        put16(b, kl);
        put_random(t, b, kl);
        put16(b, 43);                                   /* supported_versions */
        put16(b, offers12(t) ? 5 : 3);
        put8(b, offers12(t) ? 4 : 2);
        put16(b, 0x0304);
        if (offers12(t))
            put16(b, 0x0303);
        if (t->cookie) {                                /* cookie (RFC 8446 4.2.2) */
            put16(b, 44);
            put16(b, 2u + t->cookie_len);
            put16(b, t->cookie_len);
            putn(b, t->cookie, t->cookie_len);
        }
        put16(b, 45); put16(b, 2); put8(b, 1); put8(b, 1);   /* psk_dhe_ke */
        if (resuming(t, NS_TLS_13)) {
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
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

void ns__tls_send_server_hello(ns_tls *t, bool hrr)
{
    struct msg m_b, *b = msg_init(&m_b, 0);
    put16(b, 0x0303);
    if (hrr)
        putn(b, hrr_random, 32);
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

/* ---- reading ---- */

struct rd { const uint8_t *p; size_t n; bool bad; };

static unsigned get8(struct rd *r)
{
    if (r->n < 1) { r->bad = true; return 0; }
    r->n--;
    return *r->p++;
}
static unsigned get16(struct rd *r) { unsigned a = get8(r); return a << 8 | get8(r); }
static unsigned get24(struct rd *r) { unsigned a = get8(r); return a << 16 | get16(r); }

static struct rd sub(struct rd *r, size_t n)
{
    struct rd s = { r->p, n, false };
    if (r->n < n) {
        r->bad = true;
        s.n = 0;
        return s;
    }
    r->p += n;
    r->n -= n;
    return s;
}

static uint64_t get_u64(struct rd *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | get8(r);
    return v;
}

static bool ticket_known(ns_tls *t, uint64_t id, enum ns_tls_version v)
{
    ns_tls_listener *l = ns__tls_listener_of(t);
    if (!l || !t->o.tickets)
        return false;
    for (guint i = 0; i < l->tickets->len; i++) {
        const struct tls_ticket *rec = &g_array_index(l->tickets, struct tls_ticket, i);
        if (rec->id == id && rec->version == v)
            return true;
    }
    return false;
}

/* The first of t's suites (its preference order) in `offered`. */
static bool pick_cipher(const ns_tls *t, unsigned offered, enum ns_tls_cipher *out)
{
    enum ns_tls_cipher order[NS_TLS_NCIPHERS];
    unsigned n = ns__tls_cipher_order(&t->o, order);
    for (unsigned i = 0; i < n; i++)
        if (offered & (1u << order[i]))
            return *out = order[i], true;
    return false;
}

/* Whether t (a client) offered suite c. */
static bool offered_cipher(const ns_tls *t, enum ns_tls_cipher c)
{
    enum ns_tls_cipher order[NS_TLS_NCIPHERS];
    unsigned n = ns__tls_cipher_order(&t->o, order);
    for (unsigned i = 0; i < n; i++)
        if (order[i] == c)
            return true;
    return false;
}

static enum tls_event classify_client_hello(ns_tls *t, struct rd *r)
{
    unsigned legacy = get16(r);
    struct rd rnd = sub(r, 32);
    if (!r->bad)
        memcpy(t->client_random, rnd.p, 32);
    t->key = 0;
    for (int i = 0; i < 8; i++)
        t->key = t->key << 8 | t->client_random[i];
    unsigned sidl = get8(r);
    struct rd sid = sub(r, sidl);
    if (sidl > 32)
        r->bad = true;
    if (!r->bad) {
        memcpy(t->session_id, sid.p, sidl);
        t->session_id_len = (uint8_t)sidl;
    }
    struct rd cs = sub(r, get16(r));
    unsigned offered13 = 0, offered12 = 0;              /* bit c: suite c offered */
    while (cs.n >= 2 && !cs.bad) {
        unsigned s = get16(&cs);
        for (int c = 0; c < NS_TLS_NCIPHERS; c++) {
            if (s == ns__tls_cipher_id(c, NS_TLS_13))
                offered13 |= 1u << c;
            if (s == ns__tls_cipher_id(c, NS_TLS_12))
                offered12 |= 1u << c;
        }
    }
    /* The server's preference decides among the suites offered (as
     * servers are configured to; RFC 8446 4.1.1 leaves it to the server). */
    enum ns_tls_cipher pick13 = 0, pick12 = 0;
    bool suite13 = pick_cipher(t, offered13, &pick13);
    bool suite12 = pick_cipher(t, offered12, &pick12);
    sub(r, get8(r));                                    /* compression */
    bool has13 = false, has12 = legacy >= 0x0303, sv = false, early = false;
    bool share = false, psk = false, tick12 = false, tick_ext = false;
    uint64_t psk_id = 0, tick_id = 0;
    struct rd ex = sub(r, get16(r));
    while (ex.n >= 4 && !ex.bad) {
        unsigned type = get16(&ex);
        struct rd e = sub(&ex, get16(&ex));
        switch (type) {
        case 43: {
            sv = true;
            has12 = false;
            struct rd l = sub(&e, get8(&e));
            while (l.n >= 2) {
                unsigned v = get16(&l);
                has13 |= v == 0x0304;
                has12 |= v == 0x0303;
            }
            break;
        }
        case 51: {
            struct rd l = sub(&e, get16(&e));
            while (l.n >= 4 && !l.bad) {
                unsigned g = get16(&l);
                sub(&l, get16(&l));
                share |= g == ns__tls_group_id(t->o.group);
            }
            break;
        }
        case 41: {
            struct rd ids = sub(&e, get16(&e));
            struct rd id = sub(&ids, get16(&ids));
            if (id.n >= 8) {
                psk = true;
                psk_id = get_u64(&id);
            }
            break;
        }
        case 42:
            early = true;
            break;
        case 35:
            tick_ext = true;
            if (e.n >= 8) {
                tick12 = true;
                tick_id = get_u64(&e);
            }
            break;
        default:
            break;
        }
        r->bad |= e.bad;
    }
    if (r->bad || ex.bad || cs.bad)
        return EV_BAD_MSG;
    (void)sv;
    t->peer_early = early;
    t->peer_ticket_ext = tick_ext;
    if (has13 && suite13 && t->o.max_version == NS_TLS_13) {
        t->version = NS_TLS_13;
        t->cipher = pick13;
        t->group = t->o.group;
        if (!share) {
            if (t->state == ST_S_WAIT_CH)
                return EV_CH13_HRR;
            t->pending_alert = NS_TLS_HANDSHAKE_FAILURE;
            return EV_BAD_MSG;
        }
        if (psk && ticket_known(t, psk_id, NS_TLS_13)) {
            t->resumed = true;
            t->offered_ticket = psk_id;
            if (early && t->o.accept_early_data && t->state == ST_S_WAIT_CH) {
                t->early_status = 1;
                return EV_CH13_EARLY;
            }
            return EV_CH13_PSK;
        }
        return t->o.require_client_cert ? EV_CH13_MTLS : EV_CH13;
    }
    if (has12 && suite12 && t->o.min_version == NS_TLS_12) {
        t->version = NS_TLS_12;
        t->cipher = pick12;
        t->group = t->o.group;
        struct rd sr = { t->session_id, t->session_id_len, false };
        bool sid_ok = sidl == 32 && ticket_known(t, get_u64(&sr), NS_TLS_12);
        /* RFC 5077 3.2: a server issuing a ticket says so with an empty
         * extension in ServerHello; it renews one it accepted, too */
        t->nst_promised = tick_ext && t->o.tickets;
        if (sid_ok || (tick12 && ticket_known(t, tick_id, NS_TLS_12))) {
            t->resumed = true;
            return EV_CH12_RESUME;
        }
        return t->o.require_client_cert ? EV_CH12_MTLS : EV_CH12;
    }
    t->pending_alert = (has13 || has12) && !(suite13 || suite12)
        ? NS_TLS_HANDSHAKE_FAILURE : NS_TLS_PROTOCOL_VERSION;
    return EV_CH_NOVERSION;
}

/* The HelloRetryRequest's cookie, kept to echo in the second ClientHello. */
static void take_cookie(ns_tls *t, struct rd *e)
{
    unsigned n = get16(e);
    struct rd c = sub(e, n);
    if (e->bad || n == 0)
        return;
    t->cookie = g_memdup2(c.p, n);
    t->cookie_len = (uint16_t)n;
}

/* A client takes the server's suite only if it offered it (RFC 8446
 * 4.1.3, RFC 5246 7.4.1.3): else illegal_parameter. */
static bool suite_offered(ns_tls *t, unsigned suite, enum ns_tls_version v)
{
    for (int c = 0; c < NS_TLS_NCIPHERS; c++)
        if (ns__tls_cipher_id(c, v) == suite && offered_cipher(t, c)) {
            t->cipher = c;
            return true;
        }
    t->pending_alert = NS_TLS_ILLEGAL_PARAMETER;
    return false;
}

static enum tls_event classify_server_hello(ns_tls *t, struct rd *r)
{
    get16(r);
    struct rd rnd = sub(r, 32);
    bool is_hrr = !r->bad && memcmp(rnd.p, hrr_random, 32) == 0;
    unsigned sidl = get8(r);
    struct rd sid = sub(r, sidl);
    unsigned suite = get16(r);
    get8(r);
    unsigned version = 0x0303, group = 0;
    bool psk = false, tick_ext = false;
    struct rd ex = sub(r, r->n >= 2 ? get16(r) : 0);
    while (ex.n >= 4 && !ex.bad) {
        unsigned type = get16(&ex);
        struct rd e = sub(&ex, get16(&ex));
        if (type == 43)
            version = get16(&e);
        else if (type == 51)
            group = get16(&e);
        else if (type == 41)
            psk = true;
        else if (type == 35)
            tick_ext = true;
        else if (type == 44 && is_hrr && !t->cookie)
            take_cookie(t, &e);
    }
    if (r->bad || ex.bad)
        return EV_BAD_MSG;
    if (version == 0x0304) {
        if (t->o.max_version != NS_TLS_13 || suite >> 8 != 0x13) {
            t->pending_alert = NS_TLS_PROTOCOL_VERSION;
            return EV_SH_BAD;
        }
        t->version = NS_TLS_13;
        if (!suite_offered(t, suite, NS_TLS_13))
            return EV_SH_BAD;
        for (int g = 0; g < NS_TLS_NGROUPS; g++)
            if (ns__tls_group_id(g) == group)
                t->group = g;
        if (is_hrr)
            return EV_HRR;
        t->resumed = psk;
        return EV_SH13;
    }
    if (version != 0x0303 || t->o.min_version != NS_TLS_12) {
        t->pending_alert = NS_TLS_PROTOCOL_VERSION;
        return EV_SH_BAD;
    }
    t->version = NS_TLS_12;
    if (!suite_offered(t, suite, NS_TLS_12))
        return EV_SH_BAD;
    if (tick_ext && !(t->o.tickets && offers12(t))) {
        t->pending_alert = NS_TLS_UNEXPECTED_MESSAGE;  /* RFC 5077 3.2: unsolicited */
        return EV_SH_BAD;
    }
    t->nst_promised = tick_ext;
    bool same = sidl > 0 && sidl == t->session_id_len &&
                memcmp(sid.p, t->session_id, sidl) == 0;
    if (sidl == 32) {
        memcpy(t->session_id, sid.p, 32);
        t->session_id_len = 32;
    }
    /* RFC 5246 7.4.1.3 / RFC 5077 3.4: an echoed session id (or, with a
     * ticket offered, the server's id echoed) means an abbreviated
     * handshake */
    if (same && resuming(t, NS_TLS_12)) {
        t->resumed = true;
        return EV_SH12_RESUMED;
    }
    return EV_SH12;
}

enum tls_event ns__tls_classify(ns_tls *t, const uint8_t *msg, size_t len)
{
    struct rd r = { msg + 4, len - 4, false };
    switch (msg[0]) {
    case HS_CLIENT_HELLO:
        return t->server ? classify_client_hello(t, &r) : EV_BAD_MSG;
    case HS_SERVER_HELLO:
        return t->server ? EV_BAD_MSG : classify_server_hello(t, &r);
    case HS_ENCRYPTED_EXTENSIONS: {
        struct rd ex = sub(&r, get16(&r));
        bool early = false;
        while (ex.n >= 4 && !ex.bad) {
            unsigned type = get16(&ex);
            sub(&ex, get16(&ex));
            early |= type == 42;
        }
        if (t->early_status >= 0)
            t->early_status = early ? 1 : 0;
        return r.bad ? EV_BAD_MSG : EV_EE;
    }
    case HS_CERTIFICATE: {
        if (t->version == NS_TLS_13)
            sub(&r, get8(&r));
        unsigned n = get24(&r);
        if (r.bad)
            return EV_BAD_MSG;
        if (n == 0)
            return EV_CERT_EMPTY;
        t->peer_certs = 0;
        struct rd l = sub(&r, n);
        while (l.n >= 3 && !l.bad) {
            sub(&l, get24(&l));
            if (t->version == NS_TLS_13)
                sub(&l, get16(&l));
            t->peer_certs++;
        }
        if (!t->server && t->o.cert_status != NS_TLS_CERT_OK) {
            t->pending_alert = t->o.cert_status == NS_TLS_CERT_EXPIRED
                ? NS_TLS_CERTIFICATE_EXPIRED : NS_TLS_UNKNOWN_CA;
            return EV_CERT_BAD;
        }
        return EV_CERT;
    }
    case HS_CERTIFICATE_REQUEST: return EV_CR;
    case HS_CERTIFICATE_VERIFY: return EV_CV;
    case HS_SERVER_KEY_EXCHANGE: return EV_SKE;
    case HS_SERVER_HELLO_DONE: return EV_SHD;
    case HS_CLIENT_KEY_EXCHANGE: return EV_CKE;
    case HS_FINISHED: return EV_FIN;
    case HS_NEW_SESSION_TICKET:
        if (t->server)
            return EV_BAD_MSG;
        if (t->version == NS_TLS_12) {
            /* RFC 5077 3.3: exactly one, and only when promised */
            if (!t->nst_promised || t->nst_got) {
                t->pending_alert = NS_TLS_UNEXPECTED_MESSAGE;
                return EV_BAD_MSG;
            }
            t->nst_got = true;
        }
        return EV_NST;
    case HS_END_OF_EARLY_DATA: return EV_EOED;
    default: return EV_BAD_MSG;
    }
}

/* Keeps the session a NewSessionTicket offers, for a later connection. */
void ns__tls_take_ticket(ns_tls *t, const uint8_t *msg, size_t len)
{
    struct rd r = { msg + 4, len - 4, false };
    get16(&r); get16(&r);                               /* lifetime */
    if (t->version == NS_TLS_13) {
        get16(&r); get16(&r);
        sub(&r, get8(&r));
    }
    struct rd tk = sub(&r, get16(&r));
    uint64_t id = get_u64(&tk);
    uint32_t max_early = 0;
    if (t->version == NS_TLS_13) {
        struct rd ex = sub(&r, get16(&r));
        while (ex.n >= 4 && !ex.bad) {
            unsigned type = get16(&ex);
            struct rd e = sub(&ex, get16(&ex));
            if (type == 42)
                max_early = (uint32_t)get16(&e) << 16 | get16(&e);
        }
    }
    if (r.bad || tk.bad)
        return;
    t->st.tickets_in++;
    t->has_session = true;
    t->session_version = t->version;
    t->ticket = id;
    t->ticket_is_sid = false;
    t->max_early = max_early;
}
