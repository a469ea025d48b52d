/* tls.c — TLS endpoints on TCP connections: the API, the record layer,
 * and the glue to TCP and the CPU model (what the sim owns and the
 * buffers records pass through: tls_mem.c).
 *
 * Invariants: records are parsed in arrival order, and parsing stops while
 * the CPU works on the previous step (t->busy), so crypto costs delay
 * everything after them as on a real host; a flight leaves in one
 * ns_tcp_send (flush), and application data written from the established
 * callback joins the flight that completes the handshake, so Nagle never
 * holds it back.
 */
#include <string.h>

#include "tls_priv.h"
#include "netsim/trace.h"

#define NS_X_NAME(name, code, str) case code: return str;
const char *ns_tls_alert_name(int alert)
{
    switch (alert) {
    NS_TLS_ALERTS(NS_X_NAME)
    default: return "unknown_alert";
    }
}
#undef NS_X_NAME

#define NS_X_NAME(name, str) str,
static const char *const cipher_names[] = { NS_TLS_CIPHERS(NS_X_NAME) };
#undef NS_X_NAME
#define NS_X_NAME(name, str, id, len) str,
static const char *const group_names[] = { NS_TLS_GROUPS(NS_X_NAME) };
#undef NS_X_NAME

const char *ns_tls_cipher_name(enum ns_tls_cipher c) { return cipher_names[c]; }
const char *ns_tls_group_name(enum ns_tls_group g) { return group_names[g]; }

bool ns_tls_cipher_parse(const char *s, enum ns_tls_cipher *out)
{
    for (int i = 0; i < NS_TLS_NCIPHERS; i++)
        if (strcmp(s, cipher_names[i]) == 0)
            return *out = i, true;
    return false;
}

unsigned ns__tls_cipher_order(const struct ns_tls_opts *o, enum ns_tls_cipher out[NS_TLS_NCIPHERS])
{
    if (o->n_ciphers) {
        for (unsigned i = 0; i < o->n_ciphers; i++)
            out[i] = o->ciphers[i];
        return o->n_ciphers;
    }
    unsigned n = 0;
    out[n++] = o->cipher;
    for (int c = 0; c < NS_TLS_NCIPHERS; c++)
        if (c != (int)o->cipher)
            out[n++] = c;
    return n;
}

bool ns_tls_group_parse(const char *s, enum ns_tls_group *out)
{
    for (int i = 0; i < NS_TLS_NGROUPS; i++)
        if (strcmp(s, group_names[i]) == 0)
            return *out = i, true;
    return false;
}

const char *ns_tls_version_name(enum ns_tls_version v)
{
    return v == NS_TLS_13 ? "1.3" : v == NS_TLS_12 ? "1.2" : "none";
}

bool ns_tls_version_parse(const char *s, enum ns_tls_version *out)
{
    if (strcmp(s, "1.2") == 0)
        return *out = NS_TLS_12, true;
    if (strcmp(s, "1.3") == 0)
        return *out = NS_TLS_13, true;
    return false;
}

void ns_tls_opts_defaults(struct ns_tls_opts *o)
{
    memset(o, 0, sizeof *o);
    o->min_version = NS_TLS_12;
    o->max_version = NS_TLS_13;
    o->cipher = NS_TLS_AES128_GCM;
    o->group = NS_TLS_X25519;
    o->sni = "server.example";
    o->alpn = "h2";
    o->chain_len = 2;
    o->cert_size = 1200;
    o->record_size = 16384;
    o->tickets = true;
    o->accept_early_data = true;
    o->middlebox_compat = true;
    o->handshake_timeout = 10 * NS_SEC;
    o->costs.ecdhe = 60 * NS_USEC;
    o->costs.sign = 40 * NS_USEC;
    o->costs.verify = 80 * NS_USEC;
    o->costs.aead_ns_per_byte = 0.5;
    o->costs.record = 200;
}

bool ns_tls_opts_check(const struct ns_tls_opts *o, bool server, GError **error)
{
    if (o->min_version != NS_TLS_12 && o->min_version != NS_TLS_13)
        goto bad_version;
    if (o->max_version != NS_TLS_12 && o->max_version != NS_TLS_13)
        goto bad_version;
    if (o->min_version > o->max_version) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "tls: min_version %s is above max_version %s",
                    ns_tls_version_name(o->min_version), ns_tls_version_name(o->max_version));
        return false;
    }
    if ((unsigned)o->cipher >= NS_TLS_NCIPHERS || (unsigned)o->group >= NS_TLS_NGROUPS) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "tls: unknown cipher or group");
        return false;
    }
    if (o->n_ciphers > NS_TLS_NCIPHERS) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "tls: %u cipher suites, at most %d",
                    o->n_ciphers, NS_TLS_NCIPHERS);
        return false;
    }
    for (unsigned i = 0; i < o->n_ciphers; i++) {
        if (o->ciphers[i] >= NS_TLS_NCIPHERS) {
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "tls: unknown cipher suite #%u", i + 1);
            return false;
        }
        for (unsigned j = 0; j < i; j++)
            if (o->ciphers[j] == o->ciphers[i]) {
                g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                            "tls: cipher suite '%s' is listed twice",
                            ns_tls_cipher_name(o->ciphers[i]));
                return false;
            }
    }
    if (o->hrr_cookie > NS_TLS_MAX_COOKIE) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "tls: hrr_cookie %u is above %d bytes",
                    o->hrr_cookie, NS_TLS_MAX_COOKIE);
        return false;
    }
    if (server && o->chain_len == 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "tls: a server needs a chain of at least one certificate");
        return false;
    }
    if (o->chain_len > 64 || o->client_certs > 64) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "tls: chain of %u certificates is more than 64",
                    o->chain_len > 64 ? o->chain_len : o->client_certs);
        return false;
    }
    uint32_t min = ns__tls_cert_min_size();
    if (o->cert_size < min || o->cert_size > 60000) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "tls: cert_size %u is outside [%u, 60000]",
                    o->cert_size, min);
        return false;
    }
    if (o->record_size < 1 || o->record_size > 16384) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "tls: record_size %u is outside [1, 16384]",
                    o->record_size);
        return false;
    }
    if (o->costs.ecdhe < 0 || o->costs.sign < 0 || o->costs.verify < 0 || o->costs.record < 0 ||
        !(o->costs.aead_ns_per_byte >= 0)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "tls: crypto costs must be >= 0");
        return false;
    }
    if (!server && o->early_len > 0) {
        const ns_tls *r = o->resume;
        if (!r || !r->has_session || r->session_version != NS_TLS_13 || o->max_version != NS_TLS_13) {
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                        "tls: early_data needs a resumable TLS 1.3 session (option 'resume')");
            return false;
        }
    }
    return true;
bad_version:
    g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "tls: unknown TLS version (1.2 or 1.3)");
    return false;
}

ns_tls_listener *ns__tls_listener_of(ns_tls *t) { return t->listener; }

/* ---- the record layer ---- */

static void label_add(ns_tls *t, const char *what)
{
    if (t->label->len)
        g_string_append_c(t->label, '+');
    g_string_append(t->label, what);
}

/* A record's plaintext given in two pieces, so that a handshake header
 * needs no copy of its message to sit in front of it: head[0, nhead)
 * then body (NULL: zeros); `from` skips that many bytes of the whole. */
struct plain {
    const uint8_t *head;
    size_t         nhead;
    const uint8_t *body;
};

static void plain_copy(const struct plain *pl, size_t from, uint8_t *dst, size_t n)
{
    if (from < pl->nhead) {
        size_t k = pl->nhead - from < n ? pl->nhead - from : n;
        memcpy(dst, pl->head + from, k);
        dst += k;
        n -= k;
        from = pl->nhead;
    }
    if (n == 0)
        return;
    if (pl->body)
        memcpy(dst, pl->body + (from - pl->nhead), n);
    else
        memset(dst, 0, n);
}

/* CPU time to protect or to open one application-data record of `len`
 * plaintext bytes.  Handshake records are not charged: a few hundred
 * bytes, their cost is the ECDHE and signature work counted apart, and
 * charging them would give a NewSessionTicket a CPU pass of its own. */
static ns_time_t record_cost(const ns_tls *t, size_t len)
{
    return t->o.costs.record + (ns_time_t)(t->o.costs.aead_ns_per_byte * (double)len);
}

/* One record of at most 2^14 plaintext bytes (RFC 8446 5.1), protected
 * once keys are in use (tls_record.c): plaintext, inner type and tag are
 * laid out in t->out and the keystream is XORed over them there. */
static void write_one(ns_tls *t, uint8_t type, const struct plain *pl, size_t from, size_t len)
{
    uint8_t hdr[5] = { 0, 0x03, 0x03, 0, 0 };
    if (type != CT_APP)
        t->st.handshake_bytes += 5 + len +
            (t->tx_enc && type != CT_CCS ? ns__tls_overhead(t->version ? t->version : NS_TLS_13, t->cipher) : 0);
    uint8_t first = 0;
    if (type == CT_HANDSHAKE && len > 0)
        plain_copy(pl, from, &first, 1);
    if (first == HS_CLIENT_HELLO && t->hrr == 0)
        hdr[2] = 0x01;                                /* legacy record version */
    if (!t->tx_enc || type == CT_CCS) {
        hdr[0] = type;
        ns_put16(hdr + 3, (uint16_t)len);
        uint8_t *p = ns__tls_buf_put(t, &t->out, 5 + len);
        memcpy(p, hdr, 5);
        plain_copy(pl, from, p + 5, len);
        t->st.records_out++;
        return;
    }
    bool v13 = t->version == NS_TLS_13 || t->version == 0;
    uint32_t over = ns__tls_overhead(v13 ? NS_TLS_13 : NS_TLS_12, t->cipher);
    size_t total = len + over;
    if (type == CT_APP)
        t->cost += record_cost(t, len);             /* encryption, before it leaves */
    hdr[0] = v13 ? CT_APP : type;
    ns_put16(hdr + 3, (uint16_t)total);
    uint8_t *p = ns__tls_buf_put(t, &t->out, 5 + total);
    memcpy(p, hdr, 5);
    p += 5;
    size_t nonce = (!v13 && t->cipher != NS_TLS_CHACHA20) ? 8 : 0;
    for (size_t i = 0; i < nonce; i++)              /* explicit nonce: the sequence */
        p[i] = (uint8_t)(t->tx_seq >> (56 - 8 * i));
    uint8_t *c = p + nonce;
    if (pl->body) {
        plain_copy(pl, from, c, len);
        memset(c + len, 0, total - nonce - len);    /* the tag: keystream alone */
        if (v13)
            c[len] = type;                           /* inner content type */
        ns__tls_keystream_xor(t->key, t->server, t->tx_seq, c, total - nonce);
    } else {
        /* Zeros but for a message header and the inner type: the record is
         * the keystream with those few bytes XORed in, the same bytes as
         * zeroing it and XORing the keystream over it, one pass fewer. */
        ns__tls_keystream_fill(t->key, t->server, t->tx_seq, c, total - nonce);
        for (size_t i = from; i < pl->nhead && i < from + len; i++)
            c[i - from] ^= pl->head[i];
        if (v13)
            c[len] ^= type;
    }
    t->tx_seq++;
    t->st.records_out++;
}

/* The plaintext cut into records of at most 2^14 bytes; an empty one is
 * still one record. */
static void write_records(ns_tls *t, uint8_t type, const struct plain *pl, size_t len)
{
    size_t done = 0;
    do {
        size_t n = len - done > 16384 ? 16384 : len - done;
        write_one(t, type, pl, done, n);
        done += n;
    } while (done < len);
}

void ns__tls_write_record(ns_tls *t, uint8_t type, const uint8_t *body, size_t len)
{
    struct plain pl = { NULL, 0, body };
    write_records(t, type, &pl, len);
    if (type == CT_CCS)
        label_add(t, "ChangeCipherSpec");
}

static const char *hs_name(uint8_t type)
{
    switch (type) {
    case HS_CLIENT_HELLO: return "ClientHello";
    case HS_SERVER_HELLO: return "ServerHello";
    case HS_NEW_SESSION_TICKET: return "NewSessionTicket";
    case HS_END_OF_EARLY_DATA: return "EndOfEarlyData";
    case HS_ENCRYPTED_EXTENSIONS: return "EncryptedExtensions";
    case HS_CERTIFICATE: return "Certificate";
    case HS_SERVER_KEY_EXCHANGE: return "ServerKeyExchange";
    case HS_CERTIFICATE_REQUEST: return "CertificateRequest";
    case HS_SERVER_HELLO_DONE: return "ServerHelloDone";
    case HS_CERTIFICATE_VERIFY: return "CertificateVerify";
    case HS_CLIENT_KEY_EXCHANGE: return "ClientKeyExchange";
    case HS_FINISHED: return "Finished";
    default: return "?";
    }
}

void ns__tls_write_handshake(ns_tls *t, uint8_t type, const uint8_t *body, size_t len)
{
    uint8_t hdr[4] = { type, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
    struct plain pl = { hdr, 4, body };
    write_records(t, CT_HANDSHAKE, &pl, len + 4);
    if (type == HS_SERVER_HELLO && len >= 34 && t->hrr > 0 && t->state == ST_S_WAIT_CH2)
        label_add(t, "HelloRetryRequest");
    else if (type == HS_CERTIFICATE && len > 400) {
        char buf[48];
        g_snprintf(buf, sizeof buf, "Certificate(%.1fKB)", (double)(len + 4) / 1000.0);
        label_add(t, buf);
    } else {
        label_add(t, hs_name(type));
    }
}

void ns__tls_write_app(ns_tls *t, const uint8_t *bytes, uint32_t len)
{
    struct plain pl = { NULL, 0, bytes };
    uint32_t done = 0;
    while (done < len) {
        uint32_t n = len - done > t->o.record_size ? t->o.record_size : len - done;
        write_one(t, CT_APP, &pl, done, n);
        done += n;
    }
    t->st.app_bytes_out += len;
    if (t->early_status == 1 && !ns_tls_is_established(t))
        label_add(t, "EarlyData");
    else
        label_add(t, "ApplicationData");
    if (t->st.first_app_tx_at < 0)
        t->st.first_app_tx_at = -2;                   /* set when written */
}

static void report_error(ns_tls *t, const char *reason)
{
    if (t->fail_reason[0])
        return;
    g_strlcpy(t->fail_reason, reason, sizeof t->fail_reason);
    ns__tls_diagram_failed(t, reason);
    if (t->timer.slot)
        ns_event_cancel(t->sim, t->timer);
    if (t->cb.error)
        t->cb.error(t, reason, t->ud);
}

void ns__tls_send_alert(ns_tls *t, int alert)
{
    uint8_t a[2] = { alert == NS_TLS_CLOSE_NOTIFY ? 1 : 2, (uint8_t)alert };
    ns__tls_write_record(t, CT_ALERT, a, 2);
    label_add(t, ns_tls_alert_name(alert));
    TLS_TRACE(t, "tls.alert", "conn=%s alert=%s dir=sent",
              ns__tls_name(t), ns_tls_alert_name(alert));
    if (t->cb.alert)
        t->cb.alert(t, ns_tls_alert_name(alert), true, t->ud);
    if (alert != NS_TLS_CLOSE_NOTIFY) {
        t->close_after = true;
        report_error(t, ns_tls_alert_name(alert));
    }
}

static const char *mode_name(const ns_tls *t)
{
    if (t->early_status == 1)
        return "0-RTT";
    if (t->resumed)
        return "resumed";
    if (t->hrr)
        return "HRR";
    return "full";
}

void ns__tls_established(ns_tls *t)
{
    t->st.established_at = ns_sim_now(t->sim);
    if (t->timer.slot)
        ns_event_cancel(t->sim, t->timer);
    t->notify_established = true;
    TLS_TRACE(t, "tls.handshake",
              "conn=%s version=%s mode=%s hrr=%u bytes_out=%" G_GUINT64_FORMAT,
              ns__tls_name(t), ns_tls_version_name(t->version), mode_name(t), t->hrr, t->st.handshake_bytes);
    if (ns_net_diagram(t->host)) {                 /* a printf only for a diagram */
        char note[40];
        g_snprintf(note, sizeof note, "TLS %s %s", ns_tls_version_name(t->version),
                   t->resumed ? "resumed" : "established");
        ns__tls_note(t, note);
    }
}

void ns__tls_note(ns_tls *t, const char *label)
{
    ns_net_diagram_note(t->host, label);
}

static void process(ns_tls *t);

/* Writes the flight: established callback first (its data joins the
 * flight), then one ns_tcp_send. */
static void write_out(ns_tls *t)
{
    if (t->notify_established) {
        t->notify_established = false;
        t->holding = true;
        if (t->resend_early) {                         /* 0-RTT rejected: resend */
            t->resend_early = false;
            ns__tls_write_app(t, t->early, t->o.early_len);
        }
        if (t->cb.established)
            t->cb.established(t, t->ud);
        t->holding = false;
    }
    if (t->out.len == 0)
        return;
    ns_time_t now = ns_sim_now(t->sim);
    if (t->st.first_app_tx_at == -2) {
        t->st.first_app_tx_at = now;
        ns_time_t rtt = t->st.tcp_established_at - t->st.started_at;
        if (!t->server && rtt > 0) {
            TLS_TRACE(t, "tls.first_byte",
                      "conn=%s version=%s mode=%s rtts=%.2f",
                      ns__tls_name(t), ns_tls_version_name(t->version), mode_name(t),
                      (double)(now - t->st.started_at) / (double)rtt);
            ns__tls_diagram_first_byte(t, mode_name(t));
        }
    }
    t->st.flights++;
    guint bytes = (guint)t->out.len;
    t->wire_out += bytes;
    ns__tls_diagram_flight(t, t->label->str, bytes);
    TLS_TRACE(t, "tls.flight", "conn=%s bytes=%u msgs=%s",
              ns__tls_name(t), bytes, t->label->str);
    GError *err = NULL;
    if (!ns_tcp_send(t->tcp, t->out.data, bytes, &err)) {
        TLS_TRACE(t, "tls.error", "conn=%s error=%s", ns__tls_name(t),
                  err->message);
        g_clear_error(&err);
    }
    t->out.len = 0;
    g_string_truncate(t->label, 0);
    if (t->close_after) {
        t->close_after = false;
        ns_tcp_close(t->tcp);
    }
    ns__tls_trim(t);
}

static void cpu_done(ns_sim *sim, void *arg)
{
    ns_tls *t = arg;
    t->busy = false;
    write_out(t);
    process(t);
}

/* Hands the CPU `work` plus the decryption owed; t waits for it. */
static void submit(ns_tls *t, ns_time_t work)
{
    work += t->rx_cost;
    t->rx_cost = 0;
    t->busy = true;
    ns_cpu_submit(t->host, work, cpu_done, t);
}

/* Sends what the last step built, after its CPU work.  Decryption owed
 * (rx_cost) joins the first CPU pass that comes: the step's own work, the
 * flight about to leave (a response follows the decryption of what it
 * answers), or the end of the read (process), so a flight read from TCP
 * in one piece costs one pass, as on a real host, not one per record. */
static void flush(ns_tls *t)
{
    if (t->busy)
        return;
    bool sending = t->out.len > 0 || t->notify_established;
    if (t->cost > 0 || (sending && t->rx_cost > 0)) {
        ns_time_t work = t->cost;
        t->cost = 0;
        submit(t, work);
        return;
    }
    write_out(t);
}

static void deliver(ns_tls *t, const uint8_t *b, size_t n)
{
    if (n == 0)
        return;
    if (t->st.first_app_rx_at < 0)
        t->st.first_app_rx_at = ns_sim_now(t->sim);
    t->st.app_bytes_in += n;
    if (t->cb.data)
        t->cb.data(t, b, (uint32_t)n, t->ud);
}

/* One record's plaintext. */
static void record_in(ns_tls *t, uint8_t type, uint8_t *body, size_t len)
{
    t->st.records_in++;
    if (t->rx_enc && type != CT_CCS) {
        bool v13 = t->version == NS_TLS_13;
        uint32_t over = ns__tls_overhead(v13 ? NS_TLS_13 : NS_TLS_12, t->cipher);
        size_t nonce = (!v13 && t->cipher != NS_TLS_CHACHA20) ? 8 : 0;
        if (len < over || (v13 && type != CT_APP)) {
            t->pending_alert = NS_TLS_DECODE_ERROR;
            ns__tls_step(t, EV_BAD_MSG, NULL, 0);
            return;
        }
        uint8_t *c = body + nonce;
        ns__tls_keystream_xor(t->key, !t->server, t->rx_seq++, c, len - nonce);
        body = c;
        len -= over;
        if (v13)
            type = c[len];
        if (type == CT_APP)
            t->rx_cost += record_cost(t, len);         /* decryption */
    }
    switch (type) {
    case CT_HANDSHAKE:
        t->skip_early = false;
        memcpy(ns__tls_buf_put(t, &t->hs, len), body, len);
        break;
    case CT_CCS:
        if (t->version == NS_TLS_13)
            break;                                     /* compatibility CCS */
        if (t->nst_promised && !t->server && !t->nst_got) {
            t->pending_alert = NS_TLS_UNEXPECTED_MESSAGE;   /* RFC 5077 3.3 */
            ns__tls_step(t, EV_BAD_MSG, NULL, 0);
        } else {
            ns__tls_step(t, EV_CCS, NULL, 0);
        }
        break;
    case CT_ALERT:
        if (len >= 2) {
            uint8_t code = body[1];               /* body may not outlive a callback */
            const char *name = ns_tls_alert_name(code);
            TLS_TRACE(t, "tls.alert",
                      "conn=%s alert=%s dir=received", ns__tls_name(t), name);
            if (t->cb.alert)
                t->cb.alert(t, name, false, t->ud);
            if (code == NS_TLS_CLOSE_NOTIFY) {
                if (t->cb.eof)
                    t->cb.eof(t, t->ud);
            } else {
                report_error(t, name);
                ns__tls_step(t, EV_ALERT, NULL, 0);
            }
        }
        break;
    case CT_APP:
        if (t->skip_early)
            break;                                     /* rejected 0-RTT */
        if (t->state == ST_CONNECTED || t->state == ST_S_WAIT_EOED)
            deliver(t, body, len);
        else
            ns__tls_step(t, EV_BAD_MSG, NULL, 0);
        break;
    default:
        ns__tls_step(t, EV_BAD_MSG, NULL, 0);
    }
}

/* Parses what has arrived until the CPU is needed or nothing is left.
 * Records and messages are used where they lie in rx and hs (records are
 * decrypted in place): while t->parsing nothing appends to rx, nothing
 * but record_in appends to hs, and ns__tls_trim() takes neither away. */
static void process(ns_tls *t)
{
    bool outer = !t->parsing;
    t->parsing = true;
    while (!t->busy && t->state != ST_CLOSED) {
        size_t have = ns__tls_buf_pending(&t->hs);
        if (have >= 4) {
            uint8_t *msg = t->hs.data + t->hs.off;
            size_t n = 4 + ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3]);
            if (have >= n) {
                ns__tls_buf_take(&t->hs, n);
                enum tls_event ev = ns__tls_classify(t, msg, n);
                ns__tls_step(t, ev, msg, n);
                flush(t);
                continue;
            }
        }
        have = ns__tls_buf_pending(&t->rx);
        if (have < 5)
            break;
        uint8_t *rec = t->rx.data + t->rx.off;
        size_t len = ns_get16(rec + 3);
        if (have < 5 + len)
            break;
        ns__tls_buf_take(&t->rx, 5 + len);
        record_in(t, rec[0], rec + 5, len);
        flush(t);
    }
    if (outer) {
        t->parsing = false;
        ns__tls_trim(t);
        if (!t->busy && t->rx_cost > 0 && t->state != ST_CLOSED)
            submit(t, 0);                              /* what this read decrypted */
    }
}

/* ---- TCP callbacks ---- */

static void tcp_established(ns_tcp *c, void *ud)
{
    ns_tls *t = ud;
    t->st.tcp_established_at = ns_sim_now(t->sim);
    if (!t->server) {
        ns__tls_step(t, EV_START, NULL, 0);
        flush(t);
    }
}

static void tcp_data(ns_tcp *c, const uint8_t *bytes, uint32_t len, void *ud)
{
    ns_tls *t = ud;
    if (!bytes)
        return;                                        /* TLS writes real bytes only */
    memcpy(ns__tls_buf_put(t, &t->rx, len), bytes, len);
    t->wire_in += len;
    ns__tls_diagram_arrived(t);
    process(t);
}

static void tcp_eof(ns_tcp *c, void *ud)
{
    ns_tls *t = ud;
    if (t->state != ST_CONNECTED && t->state != ST_CLOSED) {
        report_error(t, "connection closed");
        ns__tls_step(t, EV_TCP_FAIL, NULL, 0);
        ns_tcp_close(t->tcp);
        return;
    }
    if (t->cb.eof)
        t->cb.eof(t, t->ud);
}

static void tcp_closed(ns_tcp *c, void *ud)
{
    ns_tls *t = ud;
    if (t->cb.closed)
        t->cb.closed(t, t->ud);
}

static void tcp_error(ns_tcp *c, const char *reason, void *ud)
{
    ns_tls *t = ud;
    report_error(t, reason);
    ns__tls_step(t, EV_TCP_FAIL, NULL, 0);
}

static const struct ns_tcp_callbacks tcp_cb = {
    tcp_established, tcp_data, NULL, tcp_eof, tcp_closed, tcp_error,
};

static void on_timeout(ns_sim *sim, void *arg)
{
    ns_tls *t = arg;
    t->timer = NS_EVENT_NONE;
    if (t->state == ST_CONNECTED || t->state == ST_CLOSED)
        return;
    report_error(t, "handshake timeout");
    ns__tls_step(t, EV_TIMEOUT, NULL, 0);
    ns_tcp_abort(t->tcp);
}

static ns_tls *tls_new(ns_host *h, ns_tcp *c, const struct ns_tls_opts *o, bool server)
{
    ns_sim *sim = ns_host_sim(h);
    ns_tls *t = g_new0(ns_tls, 1);
    t->sim = sim;
    t->host = h;
    t->tcp = c;
    t->server = server;
    t->o = *o;
    t->sni = g_strdup(o->sni);
    t->alpn = g_strdup(o->alpn);
    t->o.sni = t->sni;
    t->o.alpn = t->alpn;
    if (o->early_len) {
        t->early = g_malloc0(o->early_len);
        if (o->early_data)
            memcpy(t->early, o->early_data, o->early_len);
    }
    t->o.early_data = t->early;
    t->rng = ns_host_rng(h, "tls");
    t->state = server ? ST_S_WAIT_CH : ST_START;
    t->early_status = -1;
    t->label = g_string_new(NULL);
    t->st.started_at = ns_sim_now(sim);
    t->st.tcp_established_at = t->st.established_at = -1;
    t->st.first_app_tx_at = t->st.first_app_rx_at = -1;
    ns__tls_adopt(t);
    ns_tcp_set_callbacks(c, &tcp_cb, t);
    if (o->handshake_timeout > 0)
        t->timer = ns_event_after(sim, o->handshake_timeout, on_timeout, t);
    return t;
}

/* TCP options when the caller gives none: TCP's defaults with Nagle off,
 * as TLS servers and clients set TCP_NODELAY: RFC 896 Nagle would hold
 * the last partial segment of a multi-segment flight for an ACK (a
 * delayed one: up to a round trip more). */
static struct ns_tcp_opts *tcp_defaults(struct ns_tcp_opts *o)
{
    ns_tcp_opts_defaults(o);
    o->nodelay = true;
    return o;
}

static void tcp_accept(ns_tcp_listener *tl, ns_tcp *c, void *ud)
{
    ns_tls_listener *l = ud;
    ns_tls *t = tls_new(l->host, c, &l->o, true);
    t->listener = l;
    if (l->accept)
        l->accept(l, t, l->ud);
}

ns_tls_listener *ns_tls_listen(ns_host *h, uint16_t port, const struct ns_tcp_opts *tcp,
                               const struct ns_tls_opts *o, ns_tls_accept_fn accept,
                               void *ud, GError **error)
{
    struct ns_tls_opts def;
    if (!o) {
        ns_tls_opts_defaults(&def);
        o = &def;
    }
    if (!ns_tls_opts_check(o, true, error))
        return NULL;
    ns_tls_listener *l = g_new0(ns_tls_listener, 1);
    l->sim = ns_host_sim(h);
    l->host = h;
    l->o = *o;
    l->sni = g_strdup(o->sni);
    l->alpn = g_strdup(o->alpn);
    l->o.sni = l->sni;
    l->o.alpn = l->alpn;
    l->o.resume = NULL;
    l->o.early_data = NULL;
    l->o.early_len = 0;
    l->accept = accept;
    l->ud = ud;
    l->tickets = g_array_new(FALSE, FALSE, sizeof(struct tls_ticket));
    struct ns_tcp_opts tdef;
    l->tcp = ns_tcp_listen(h, port, tcp ? tcp : tcp_defaults(&tdef), tcp_accept, l, error);
    if (!l->tcp) {
        ns__tls_listener_free(l);
        return NULL;
    }
    ns__tls_adopt_listener(l);
    return l;
}

ns_tls *ns_tls_connect(ns_host *h, uint32_t dst, uint16_t port,
                       const struct ns_tcp_opts *tcp, const struct ns_tls_opts *o,
                       GError **error)
{
    struct ns_tls_opts def;
    if (!o) {
        ns_tls_opts_defaults(&def);
        o = &def;
    }
    if (!ns_tls_opts_check(o, false, error))
        return NULL;
    struct ns_tcp_opts tdef;
    ns_tcp *c = ns_tcp_connect(h, dst, port, tcp ? tcp : tcp_defaults(&tdef), error);
    if (!c)
        return NULL;
    return tls_new(h, c, o, false);
}

void ns_tls_listener_set_accept_early_data(ns_tls_listener *l, bool on)
{
    l->o.accept_early_data = on;
}

void ns_tls_set_callbacks(ns_tls *t, const struct ns_tls_callbacks *cb, void *ud)
{
    if (cb)
        t->cb = *cb;
    else
        memset(&t->cb, 0, sizeof t->cb);
    t->ud = ud;
}

bool ns_tls_send(ns_tls *t, const void *bytes, uint32_t len, GError **error)
{
    if (t->state != ST_CONNECTED) {
        g_set_error(error, NS_ERROR, NS_ERROR_STATE,
                    "tls %s: cannot send in state %s: the handshake is not done "
                    "(data before it goes in the 'early_data' option)",
                    ns__tls_name(t), ns__tls_state_name(t->state));
        return false;
    }
    if (t->fail_reason[0] || t->close_after) {
        g_set_error(error, NS_ERROR, NS_ERROR_STATE, "tls %s: connection is closed", ns__tls_name(t));
        return false;
    }
    ns__tls_write_app(t, bytes, len);
    if (!t->holding)
        flush(t);
    return true;
}

void ns_tls_close(ns_tls *t)
{
    if (t->state == ST_CONNECTED && !t->fail_reason[0]) {
        ns__tls_send_alert(t, NS_TLS_CLOSE_NOTIFY);
        t->close_after = true;
        if (!t->holding)
            flush(t);
    } else if (t->state != ST_CLOSED) {
        ns_tcp_close(t->tcp);
    }
}

ns_tcp *ns_tls_tcp(const ns_tls *t) { return t->tcp; }
bool ns_tls_is_established(const ns_tls *t) { return t->state == ST_CONNECTED; }
enum ns_tls_version ns_tls_version(const ns_tls *t) { return t->version; }
enum ns_tls_cipher ns_tls_cipher(const ns_tls *t) { return t->cipher; }
bool ns_tls_resumed(const ns_tls *t) { return t->resumed; }
bool ns_tls_has_session(const ns_tls *t) { return t->has_session; }
int ns_tls_early_data_status(const ns_tls *t) { return t->early_status; }
const char *ns_tls_state_name_of(const ns_tls *t) { return ns__tls_state_name(t->state); }

void ns_tls_info(const ns_tls *t, struct ns_tls_info *out)
{
    *out = t->st;
    out->hello_retries = t->hrr;
    if (out->first_app_tx_at == -2)
        out->first_app_tx_at = -1;
}
