/* tls_diagram.c — how TLS draws itself in the sim's sequence diagrams.
 *
 * Each flight is one arrow, in every open diagram that has both ends,
 * labelled with its messages and size
 * ("ServerHello+EncryptedExtensions+Certificate(2.4KB)+... (2950 B)"), drawn from the moment it is written to TCP to the moment the peer's TLS
 * holds all of it: the flight's last byte is a position in the TCP byte
 * stream, which both ends count (wire_out, wire_in), so the diagram can
 * match the two without the ends knowing each other.  A client connection
 * has summary lines: how many round trips its first application byte
 * waited, and the error that ended it, if one did.
 *
 * Invariant: nothing here runs, and nothing is allocated, unless a diagram
 * is open with this host as a column; then all of it is deterministic
 * (host names, ports, simulated times).
 */
#include "tls_priv.h"

/* The host owning the peer's address, or NULL (an address no host has). */
static const char *peer_name(const ns_tls *t)
{
    uint32_t addr = ns_tcp_remote_addr(t->tcp);
    for (size_t i = 0; i < ns_host_count(t->sim); i++) {
        ns_host *h = ns_host_nth(t->sim, i);
        if (ns_host_has_addr(h, addr))
            return ns_host_name(h);
    }
    return NULL;
}

/* One key per direction, the same at both ends: sender first. */
static void stream_key(const ns_tls *t, const char *peer, bool outgoing, char *buf, size_t len)
{
    const char *me = ns_host_name(t->host);
    unsigned lport = ns_tcp_local_port(t->tcp), rport = ns_tcp_remote_port(t->tcp);
    if (outgoing)
        g_snprintf(buf, len, "tls %s:%u>%s:%u", me, lport, peer, rport);
    else
        g_snprintf(buf, len, "tls %s:%u>%s:%u", peer, rport, me, lport);
}

void ns__tls_diagram_flight(ns_tls *t, const char *msgs, uint32_t bytes)
{
    const char *peer = ns_net_diagram(t->host) ? peer_name(t) : NULL;
    if (!peer)
        return;
    char key[160], label[320];
    stream_key(t, peer, true, key, sizeof key);
    /* In every diagram with this host; those without the peer ignore it. */
    g_snprintf(label, sizeof label, "%s (%u B)", msgs, bytes);
    for (ns_diagram *d = ns_net_diagram(t->host); d; d = ns_net_diagram_next(t->host, d))
        ns_diagram_stream_send(d, ns_sim_now(t->sim), key, t->wire_out,
                               ns_host_name(t->host), peer, label);
}

void ns__tls_diagram_arrived(ns_tls *t)
{
    const char *peer = ns_net_diagram(t->host) ? peer_name(t) : NULL;
    if (!peer)
        return;
    char key[160];
    stream_key(t, peer, false, key, sizeof key);
    for (ns_diagram *d = ns_net_diagram(t->host); d; d = ns_net_diagram_next(t->host, d))
        ns_diagram_stream_recv(d, ns_sim_now(t->sim), key, t->wire_in);
}

/* "TLS 1.3 full: first app byte at 2.00 RTT after SYN (80.4 ms, a:49152>b:443)":
 * the RTT is the TCP handshake's (SYN sent to SYN-ACK received). */
void ns__tls_diagram_first_byte(ns_tls *t, const char *mode)
{
    ns_time_t rtt = t->st.tcp_established_at - t->st.started_at;
    if (!ns_net_diagram(t->host) || t->server || rtt <= 0)
        return;
    ns_time_t after = t->st.first_app_tx_at - t->st.started_at;
    char line[256];
    g_snprintf(line, sizeof line,
               "TLS %s %s: first app byte at %.2f RTT after SYN (%.1f ms, %s)",
               ns_tls_version_name(t->version), mode, (double)after / (double)rtt,
               (double)after / (double)NS_MSEC, ns__tls_name(t));
    for (ns_diagram *d = ns_net_diagram(t->host); d; d = ns_net_diagram_next(t->host, d))
        ns_diagram_summary(d, line);
}

void ns__tls_diagram_failed(ns_tls *t, const char *reason)
{
    if (!ns_net_diagram(t->host) || t->server)
        return;
    char line[256];
    /* In 1.3 the client's request can leave before the server rejects
     * the handshake (a missing client certificate): both lines then. */
    g_snprintf(line, sizeof line, "TLS %s: %sfailed with %s (%s)",
               ns_tls_version_name(t->version),
               t->st.first_app_tx_at >= 0 ? "" : "no app byte: the handshake ", reason, ns__tls_name(t));
    for (ns_diagram *d = ns_net_diagram(t->host); d; d = ns_net_diagram_next(t->host, d))
        ns_diagram_summary(d, line);
}
