/* tls_fsm.c — the client and server handshake state machines, as data.
 *
 * One row per arc of RFC 8446 A.1/A.2 (TLS 1.3) and of the RFC 5246 7.3
 * message flow (TLS 1.2 full and abbreviated): (state, event) -> (next
 * state, action).  ns__tls_step is the only place that assigns t->state,
 * and it traces every transition as tls.state with its cause.  Actions
 * append records to t->out and add CPU work to t->cost; tls.c sends the
 * flight once the work is done.
 *
 * A 1.2 NewSessionTicket (RFC 5077) is a loop on the WAIT_CCS states;
 * the classifier admits exactly one, and only after a ServerHello that
 * promised it, and a ChangeCipherSpec before a promised ticket is
 * unexpected (tls.c).
 *
 * Three inputs are taken in every state (a wildcard column rather than a
 * row per state): a received alert, the handshake timeout and a TCP
 * failure all lead to CLOSED.  Any other empty cell is an unexpected
 * message: a fatal unexpected_message alert.
 */
#include "tls_priv.h"
#include "netsim/trace.h"

typedef void (*tls_action)(ns_tls *t, const uint8_t *msg, size_t len);

struct tls_arc {
    enum tls_state next;
    tls_action     act;
};

#define NS_X_NAME(name, str) [name] = str,
static const char *const state_names[] = { TLS_STATES(NS_X_NAME) };
static const char *const event_names[] = { TLS_EVENTS(NS_X_NAME) };
#undef NS_X_NAME

const char *ns__tls_state_name(enum tls_state s)
{
    return (size_t)s < NSTATES ? state_names[s] : "?";
}

const char *ns__tls_event_name(enum tls_event e)
{
    return (size_t)e < NEVENTS ? event_names[e] : "?";
}

/* ---- client actions ---- */

/* The first flight: ClientHello, and 0-RTT data when resuming a 1.3
 * session that allows it (RFC 8446 4.2.10), in the same TCP write. */
static void c_hello(ns_tls *t, const uint8_t *m, size_t n)
{
    const ns_tls *r = t->o.resume;
    if (t->o.max_version == NS_TLS_13)
        t->cost += t->o.costs.ecdhe;                  /* key share */
    if (t->o.early_len > 0 && r && r->has_session && r->session_version == NS_TLS_13 &&
        r->max_early > 0 && t->o.max_version == NS_TLS_13)
        t->early_status = 1;
    else if (t->o.early_len > 0)
        t->early_status = 0;                          /* not allowed: sent after */
    ns__tls_send_client_hello(t);
    if (t->early_status == 1) {
        ns__tls_send_compat_ccs(t);                   /* RFC 8446 D.4: before early data */
        t->tx_enc = true;
        ns__tls_write_app(t, t->early, t->o.early_len);
    }
}

/* HelloRetryRequest: a second ClientHello with the group asked for; 0-RTT
 * is off after an HRR (RFC 8446 4.2.10), so early data is resent later. */
static void c_retry(ns_tls *t, const uint8_t *m, size_t n)
{
    t->hrr++;
    if (t->early_status == 1)
        t->early_status = 0;
    t->tx_enc = false;
    t->cost += t->o.costs.ecdhe;
    ns__tls_send_compat_ccs(t);                       /* before the second flight */
    ns__tls_send_client_hello(t);
}

static void c_server_hello13(ns_tls *t, const uint8_t *m, size_t n)
{
    t->cost += t->o.costs.ecdhe;                      /* shared secret */
    t->rx_enc = true;
    t->tx_enc = true;                                 /* alerts too (RFC 8446 6) */
}

static void cert_requested(ns_tls *t, const uint8_t *m, size_t n)
{
    t->cert_requested = true;
}

static void verify_chain(ns_tls *t, const uint8_t *m, size_t n)
{
    t->cost += t->o.costs.verify * (ns_time_t)t->peer_certs;
}

static void verify_one(ns_tls *t, const uint8_t *m, size_t n)
{
    t->cost += t->o.costs.verify;
}

/* The client's certificate when asked: its chain (or, having none, an
 * empty Certificate: RFC 8446 4.4.2.4, RFC 5246 7.4.6). */
static void client_cert(ns_tls *t)
{
    if (!t->cert_requested)
        return;
    ns__tls_send_certificate(t, t->o.client_certs);
    t->client_sent_cert = t->o.client_certs > 0;
}

/* Server Finished in 1.3: [EndOfEarlyData], [Certificate,
 * CertificateVerify], Finished; the handshake is done on our side. */
static void c_finish13(ns_tls *t, const uint8_t *m, size_t n)
{
    ns__tls_send_compat_ccs(t);                       /* unless sent already */
    if (t->early_status == 1)
        ns__tls_send_empty(t, HS_END_OF_EARLY_DATA);
    t->tx_enc = true;
    client_cert(t);
    if (t->client_sent_cert) {
        t->cost += t->o.costs.sign;
        ns__tls_send_certificate_verify(t);
    }
    ns__tls_send_finished(t);
    if (t->early_status == 0)
        t->resend_early = true;
    ns__tls_established(t);
}

static void c_ticket(ns_tls *t, const uint8_t *m, size_t n)
{
    ns__tls_take_ticket(t, m, n);
}

static void c_server_hello12(ns_tls *t, const uint8_t *m, size_t n) { (void)t; }

/* ServerHelloDone: [Certificate], ClientKeyExchange, [CertificateVerify],
 * ChangeCipherSpec, Finished in one flight. */
static void c_flight12(ns_tls *t, const uint8_t *m, size_t n)
{
    t->cost += 2 * t->o.costs.ecdhe;                  /* key pair + secret */
    client_cert(t);
    ns__tls_send_client_key_exchange(t);
    if (t->client_sent_cert) {
        t->cost += t->o.costs.sign;
        ns__tls_send_certificate_verify(t);
    }
    ns__tls_send_ccs(t);
    t->tx_enc = true;
    ns__tls_send_finished(t);
}

static void ccs_in(ns_tls *t, const uint8_t *m, size_t n)
{
    t->rx_enc = true;
}

/* A 1.2 session can be resumed by its session id, unless this
 * connection got a ticket for it (RFC 5077 3.4: the ticket is used). */
static void keep_session12(ns_tls *t)
{
    if (t->nst_got || t->session_id_len != 32)
        return;
    t->has_session = true;
    t->session_version = NS_TLS_12;
    t->ticket_is_sid = true;
    t->ticket = 0;
    for (int i = 0; i < 8; i++)
        t->ticket = t->ticket << 8 | t->session_id[i];
}

static void c_done12(ns_tls *t, const uint8_t *m, size_t n)
{
    keep_session12(t);
    ns__tls_established(t);
}

/* Abbreviated 1.2: the server spoke first; our CCS and Finished follow. */
static void c_finish12r(ns_tls *t, const uint8_t *m, size_t n)
{
    ns__tls_send_ccs(t);
    t->tx_enc = true;
    ns__tls_send_finished(t);
    keep_session12(t);
    ns__tls_established(t);
}

/* ---- server actions ---- */

static void s_retry(ns_tls *t, const uint8_t *m, size_t n)
{
    t->hrr++;
    if (t->peer_early)
        t->skip_early = true;                         /* RFC 8446 4.2.10 */
    ns__tls_send_server_hello(t, true);
    ns__tls_send_compat_ccs(t);                       /* after the first message */
}

/* ServerHello, EncryptedExtensions, [CertificateRequest], [Certificate,
 * CertificateVerify], Finished: one flight. */
static void s_flight13(ns_tls *t, const uint8_t *m, size_t n)
{
    t->cost += 2 * t->o.costs.ecdhe;
    ns__tls_send_server_hello(t, false);
    ns__tls_send_compat_ccs(t);                       /* unless the HRR had it */
    t->tx_enc = true;
    t->rx_enc = true;
    if (t->peer_early && t->early_status != 1)
        t->skip_early = true;
    ns__tls_send_encrypted_extensions(t);
    if (!t->resumed) {
        if (t->o.require_client_cert) {
            t->cert_requested = true;
            ns__tls_send_certificate_request(t);
        }
        ns__tls_send_certificate(t, t->o.chain_len);
        t->cost += t->o.costs.sign;
        ns__tls_send_certificate_verify(t);
    }
    ns__tls_send_finished(t);
}

static void s_client_cert(ns_tls *t, const uint8_t *m, size_t n)
{
    t->client_sent_cert = true;
    verify_chain(t, m, n);
}

static void s_done13(ns_tls *t, const uint8_t *m, size_t n)
{
    ns__tls_established(t);
    if (t->o.tickets)
        ns__tls_send_new_session_ticket(t);
}

/* A session id the listener will recognise; none when a ticket is to be
 * issued instead (RFC 5077 3.4: the server SHOULD send an empty one). */
static void new_session_id(ns_tls *t)
{
    ns_tls_listener *l = ns__tls_listener_of(t);
    t->session_id_len = 0;
    if (!t->o.tickets || !l || t->nst_promised)
        return;
    uint64_t id = ++l->next_ticket;
    struct tls_ticket rec = { id, NS_TLS_12 };
    g_array_append_val(l->tickets, rec);
    for (int i = 0; i < 8; i++)
        t->session_id[i] = (uint8_t)(id >> (56 - 8 * i));
    for (int i = 8; i < 32; i++)
        t->session_id[i] = (uint8_t)ns_rng_u64(t->rng);
    t->session_id_len = 32;
}

/* ServerHello, Certificate, ServerKeyExchange, [CertificateRequest],
 * ServerHelloDone. */
static void s_flight12(ns_tls *t, const uint8_t *m, size_t n)
{
    t->cost += t->o.costs.ecdhe + t->o.costs.sign;
    new_session_id(t);
    ns__tls_send_server_hello12(t);
    ns__tls_send_certificate(t, t->o.chain_len);
    ns__tls_send_server_key_exchange(t);
    if (t->o.require_client_cert) {
        t->cert_requested = true;
        ns__tls_send_certificate_request(t);
    }
    ns__tls_send_empty(t, HS_SERVER_HELLO_DONE);
}

static void s_key_exchange(ns_tls *t, const uint8_t *m, size_t n)
{
    t->cost += t->o.costs.ecdhe;
}

/* [NewSessionTicket], ChangeCipherSpec, Finished (RFC 5077 3.1). */
static void s_finish12(ns_tls *t, const uint8_t *m, size_t n)
{
    if (t->nst_promised)
        ns__tls_send_new_session_ticket(t);
    ns__tls_send_ccs(t);
    t->tx_enc = true;
    ns__tls_send_finished(t);
    ns__tls_established(t);
}

/* Abbreviated: ServerHello (the session id echoed), [NewSessionTicket:
 * a ticket accepted is renewed, RFC 5077 3.1], CCS, Finished. */
static void s_flight12r(ns_tls *t, const uint8_t *m, size_t n)
{
    ns__tls_send_server_hello12(t);
    if (t->nst_promised)
        ns__tls_send_new_session_ticket(t);
    ns__tls_send_ccs(t);
    t->tx_enc = true;
    ns__tls_send_finished(t);
}

static void s_done12r(ns_tls *t, const uint8_t *m, size_t n)
{
    ns__tls_established(t);
}

/* ---- failures ---- */

static void alert_pending(ns_tls *t, const uint8_t *m, size_t n)
{
    ns__tls_send_alert(t, t->pending_alert ? t->pending_alert : NS_TLS_DECODE_ERROR);
}

/* RFC 8446 4.4.2.4: a server requiring a client certificate that gets an
 * empty one aborts with certificate_required. */
static void alert_cert_required(ns_tls *t, const uint8_t *m, size_t n)
{
    ns__tls_send_alert(t, NS_TLS_CERTIFICATE_REQUIRED);
}

/* RFC 5246 7.4.6: the same in 1.2 is a fatal handshake_failure. */
static void alert_handshake_failure(ns_tls *t, const uint8_t *m, size_t n)
{
    ns__tls_send_alert(t, NS_TLS_HANDSHAKE_FAILURE);
}

static void nothing(ns_tls *t, const uint8_t *m, size_t n) { }

/* ---- the tables ---- */

#define ARC(s, e, n, a) [s][e] = { n, a }

static const struct tls_arc client_fsm[NSTATES][NEVENTS] = {
    ARC(ST_START,          EV_START,        ST_C_WAIT_SH,      c_hello),
    ARC(ST_C_WAIT_SH,      EV_HRR,          ST_C_WAIT_SH2,     c_retry),
    ARC(ST_C_WAIT_SH,      EV_SH13,         ST_C_WAIT_EE,      c_server_hello13),
    ARC(ST_C_WAIT_SH2,     EV_SH13,         ST_C_WAIT_EE,      c_server_hello13),
    ARC(ST_C_WAIT_SH,      EV_SH12,         ST_C12_WAIT_CERT,  c_server_hello12),
    ARC(ST_C_WAIT_SH,      EV_SH12_RESUMED, ST_C12R_WAIT_CCS,  c_server_hello12),
    ARC(ST_C_WAIT_SH,      EV_SH_BAD,       ST_CLOSED,         alert_pending),
    ARC(ST_C_WAIT_SH2,     EV_SH_BAD,       ST_CLOSED,         alert_pending),
    ARC(ST_C_WAIT_EE,      EV_EE,           ST_C_WAIT_CERT_CR, nothing),
    ARC(ST_C_WAIT_CERT_CR, EV_CR,           ST_C_WAIT_CERT,    cert_requested),
    ARC(ST_C_WAIT_CERT_CR, EV_CERT,         ST_C_WAIT_CV,      verify_chain),
    ARC(ST_C_WAIT_CERT_CR, EV_CERT_BAD,     ST_CLOSED,         alert_pending),
    ARC(ST_C_WAIT_CERT_CR, EV_FIN,          ST_CONNECTED,      c_finish13),  /* PSK */
    ARC(ST_C_WAIT_CERT,    EV_CERT,         ST_C_WAIT_CV,      verify_chain),
    ARC(ST_C_WAIT_CERT,    EV_CERT_BAD,     ST_CLOSED,         alert_pending),
    ARC(ST_C_WAIT_CV,      EV_CV,           ST_C_WAIT_FIN,     verify_one),
    ARC(ST_C_WAIT_FIN,     EV_FIN,          ST_CONNECTED,      c_finish13),
    ARC(ST_CONNECTED,      EV_NST,          ST_CONNECTED,      c_ticket),
    ARC(ST_C12_WAIT_CERT,  EV_CERT,         ST_C12_WAIT_SKE,   verify_chain),
    ARC(ST_C12_WAIT_CERT,  EV_CERT_BAD,     ST_CLOSED,         alert_pending),
    ARC(ST_C12_WAIT_SKE,   EV_SKE,          ST_C12_WAIT_SHD,   verify_one),
    ARC(ST_C12_WAIT_SHD,   EV_CR,           ST_C12_WAIT_SHD,   cert_requested),
    ARC(ST_C12_WAIT_SHD,   EV_SHD,          ST_C12_WAIT_CCS,   c_flight12),
    ARC(ST_C12_WAIT_CCS,   EV_NST,          ST_C12_WAIT_CCS,   c_ticket),    /* RFC 5077 */
    ARC(ST_C12_WAIT_CCS,   EV_CCS,          ST_C12_WAIT_FIN,   ccs_in),
    ARC(ST_C12_WAIT_FIN,   EV_FIN,          ST_CONNECTED,      c_done12),
    ARC(ST_C12R_WAIT_CCS,  EV_NST,          ST_C12R_WAIT_CCS,  c_ticket),
    ARC(ST_C12R_WAIT_CCS,  EV_CCS,          ST_C12R_WAIT_FIN,  ccs_in),
    ARC(ST_C12R_WAIT_FIN,  EV_FIN,          ST_CONNECTED,      c_finish12r),
};

static const struct tls_arc server_fsm[NSTATES][NEVENTS] = {
    ARC(ST_S_WAIT_CH,      EV_CH13,         ST_S_WAIT_FIN,     s_flight13),
    ARC(ST_S_WAIT_CH,      EV_CH13_MTLS,    ST_S_WAIT_CERT,    s_flight13),
    ARC(ST_S_WAIT_CH,      EV_CH13_PSK,     ST_S_WAIT_FIN,     s_flight13),
    ARC(ST_S_WAIT_CH,      EV_CH13_EARLY,   ST_S_WAIT_EOED,    s_flight13),
    ARC(ST_S_WAIT_CH,      EV_CH13_HRR,     ST_S_WAIT_CH2,     s_retry),
    ARC(ST_S_WAIT_CH2,     EV_CH13,         ST_S_WAIT_FIN,     s_flight13),
    ARC(ST_S_WAIT_CH2,     EV_CH13_MTLS,    ST_S_WAIT_CERT,    s_flight13),
    ARC(ST_S_WAIT_CH2,     EV_CH13_PSK,     ST_S_WAIT_FIN,     s_flight13),
    ARC(ST_S_WAIT_CH,      EV_CH12,         ST_S12_WAIT_CKE,   s_flight12),
    ARC(ST_S_WAIT_CH,      EV_CH12_MTLS,    ST_S12_WAIT_CERT,  s_flight12),
    ARC(ST_S_WAIT_CH,      EV_CH12_RESUME,  ST_S12R_WAIT_CCS,  s_flight12r),
    ARC(ST_S_WAIT_CH,      EV_CH_NOVERSION, ST_CLOSED,         alert_pending),
    ARC(ST_S_WAIT_CH2,     EV_CH_NOVERSION, ST_CLOSED,         alert_pending),
    ARC(ST_S_WAIT_EOED,    EV_EOED,         ST_S_WAIT_FIN,     nothing),
    ARC(ST_S_WAIT_CERT,    EV_CERT,         ST_S_WAIT_CV,      s_client_cert),
    ARC(ST_S_WAIT_CERT,    EV_CERT_EMPTY,   ST_CLOSED,         alert_cert_required),
    ARC(ST_S_WAIT_CV,      EV_CV,           ST_S_WAIT_FIN,     verify_one),
    ARC(ST_S_WAIT_FIN,     EV_FIN,          ST_CONNECTED,      s_done13),
    ARC(ST_S12_WAIT_CERT,  EV_CERT,         ST_S12_WAIT_CKE_CV, s_client_cert),
    ARC(ST_S12_WAIT_CERT,  EV_CERT_EMPTY,   ST_CLOSED,         alert_handshake_failure),
    ARC(ST_S12_WAIT_CKE,   EV_CKE,          ST_S12_WAIT_CCS,   s_key_exchange),
    ARC(ST_S12_WAIT_CKE_CV, EV_CKE,         ST_S12_WAIT_CV,    s_key_exchange),
    ARC(ST_S12_WAIT_CV,    EV_CV,           ST_S12_WAIT_CCS,   verify_one),
    ARC(ST_S12_WAIT_CCS,   EV_CCS,          ST_S12_WAIT_FIN,   ccs_in),
    ARC(ST_S12_WAIT_FIN,   EV_FIN,          ST_CONNECTED,      s_finish12),
    ARC(ST_S12R_WAIT_CCS,  EV_CCS,          ST_S12R_WAIT_FIN,  ccs_in),
    ARC(ST_S12R_WAIT_FIN,  EV_FIN,          ST_CONNECTED,      s_done12r),
};

static void unexpected(ns_tls *t, const uint8_t *m, size_t n)
{
    ns__tls_send_alert(t, t->pending_alert ? t->pending_alert : NS_TLS_UNEXPECTED_MESSAGE);
}

void ns__tls_step(ns_tls *t, enum tls_event ev, const uint8_t *msg, size_t len)
{
    const struct tls_arc *arc = &(t->server ? server_fsm : client_fsm)[t->state][ev];
    struct tls_arc wild = { ST_NONE, NULL };
    if (arc->next == ST_NONE) {
        if (t->state == ST_CLOSED)
            return;
        if (ev == EV_ALERT || ev == EV_TIMEOUT || ev == EV_TCP_FAIL)
            wild = (struct tls_arc){ ST_CLOSED, nothing };
        else if (ev == EV_BAD_MSG)
            wild = (struct tls_arc){ ST_CLOSED, alert_pending };
        else
            wild = (struct tls_arc){ ST_CLOSED, unexpected };
        arc = &wild;
    }
    if (ns_trace_on(t->sim, "tls.state", ns_host_name(t->host)))
        ns_trace_event(t->sim, "tls.state", ns_host_name(t->host), "conn=%s from=%s to=%s cause=%s",
                       ns__tls_name(t), ns__tls_state_name(t->state), ns__tls_state_name(arc->next),
                       ns__tls_event_name(ev));
    t->state = arc->next;
    if (arc->act)
        arc->act(t, msg, len);
}
