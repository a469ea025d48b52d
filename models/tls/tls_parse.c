/* tls_parse.c — reading handshake messages: the classifier that turns a
 * received message into a state machine event, and what the hellos and
 * tickets carry (versions, suites, key shares, PSKs, cookies).
 *
 * Guards that need message contents (which version, whether a PSK was
 * accepted, whether a certificate list is empty) are decided here, never
 * around ns__tls_step (STYLE.md 5).
 */
#include <string.h>

#include "tls_priv.h"

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
    bool is_hrr = !r->bad && memcmp(rnd.p, ns__tls_hrr_random, 32) == 0;
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
    if (tick_ext && !(t->o.tickets && ns__tls_offers12(t))) {
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
    if (same && ns__tls_resuming(t, NS_TLS_12)) {
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
