/* diagram.h — message sequence charts of a run, for people to read.
 *
 * A diagram has a fixed list of participants (columns, usually hosts) and
 * records messages between them, their fate (delivered, lost, or still in
 * flight when the run ended) and notes (state changes such as
 * "ESTABLISHED").  At commit (output.h) it is rendered twice:
 *   <name>.txt  a plain-text chart, time running down, one arrow per message
 *               drawn at its send time, send and arrival times on the left;
 *   <name>.mmd  the same as a Mermaid `sequenceDiagram`.
 * The engine knows no protocol: the network layer decides what is a message
 * and writes its label ("SYN seq=0").
 *
 * Messages come in two layers: packets (what the network layer feeds) and
 * application messages (a TLS flight, carried by many TCP segments).  A
 * chart that has application messages shows them without the packets
 * underneath unless asked (ns_diagram_show_packets): "ServerHello+...
 * (2,950 B)" is the story; its segments are detail.  Summary lines (one per
 * TLS connection: "TLS 1.3 full: first app byte at 2.00 RTT after SYN")
 * close both charts.
 *
 * Invariant: the files depend only on what was recorded: rows are ordered
 * by (time, recording order), and nothing else (pointers, hash order, the
 * wall clock) reaches them, so equal runs give byte-identical charts.
 *
 * Everything is kept in memory until the commit: a diagram is meant for
 * the first few hundred messages of a run, not for a bulk transfer.
 */
#ifndef NETSIM_DIAGRAM_H
#define NETSIM_DIAGRAM_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/sim.h"
#include "netsim/time.h"

typedef struct ns_diagram ns_diagram;

/* Opens the diagram `name`: its two output files are opened now, so a bad
 * name or folder fails here rather than at the end of the run, and written
 * at commit.  participants: NULL-terminated, at least one, distinct and
 * non-empty; copied.  The sim owns the diagram.  Opening a name twice is
 * an error (NS_ERROR_EXISTS). */
ns_diagram *ns_diagram_open(ns_sim *sim, const char *name,
                            const char *const *participants, GError **error);
/* The diagram opened under `name`, or NULL. */
ns_diagram *ns_diagram_find(ns_sim *sim, const char *name);

/* Whether `who` is one of the participants. */
bool        ns_diagram_has(const ns_diagram *d, const char *who);

/* Records a message sent at t from `from` to `to` (label may be NULL) and
 * returns its id for ns_diagram_recv / ns_diagram_drop.  Returns 0, and
 * records nothing, when from or to is not a participant (callers feed every
 * packet and the diagram keeps the ones between its columns) or once the
 * diagram was rendered by the commit. */
uint64_t    ns_diagram_send(ns_diagram *d, ns_time_t t, const char *from,
                            const char *to, const char *label);
/* The message arrived at t (t >= its send time).  Id 0 is ignored, as is
 * everything after the commit; an unknown id or a message already
 * delivered or lost is a programming error. */
void        ns_diagram_recv(ns_diagram *d, uint64_t id, ns_time_t t);
/* The message was lost at t, because of `cause` ("queue full"; may be
 * NULL).  Same rules for ids as ns_diagram_recv. */
void        ns_diagram_drop(ns_diagram *d, uint64_t id, ns_time_t t,
                            const char *cause);
/* A remark at t in who's column (a state change: "ESTABLISHED").  Ignored
 * when who is not a participant. */
void        ns_diagram_note(ns_diagram *d, ns_time_t t, const char *who,
                            const char *text);

/* Which layer a message belongs to. */
enum ns_diagram_layer {
    NS_DIAGRAM_PACKET,                  /* what ns_diagram_send records */
    NS_DIAGRAM_APP,                     /* an application-layer message */
};

/* Whether a chart shows its packets. */
enum ns_diagram_packets {
    NS_DIAGRAM_PACKETS_AUTO,            /* default: only if it has no app messages */
    NS_DIAGRAM_PACKETS_SHOW,            /* always: app messages over the packets */
    NS_DIAGRAM_PACKETS_HIDE,            /* never */
};
void        ns_diagram_show_packets(ns_diagram *d, enum ns_diagram_packets show);

/* ns_diagram_send for a message of the given layer. */
uint64_t    ns_diagram_send_layer(ns_diagram *d, enum ns_diagram_layer layer,
                                  ns_time_t t, const char *from, const char *to,
                                  const char *label);

/* Application messages carried by a byte stream (TCP): a message is the
 * stream's bytes up to `end`, and it arrives when the receiver has them
 * all, which only the receiver knows.  Sender and receiver name the stream
 * with the same key (any string, one per direction: "tls a:49152>b:443"),
 * and positions count bytes from the stream's start. */
void        ns_diagram_stream_send(ns_diagram *d, ns_time_t t, const char *key,
                                   uint64_t end, const char *from, const char *to,
                                   const char *label);
/* The receiver of stream `key` has its bytes up to `upto` at t: every
 * message of it ending there or before arrives.  Unknown keys are ignored. */
void        ns_diagram_stream_recv(ns_diagram *d, ns_time_t t, const char *key,
                                   uint64_t upto);

/* A line for the end of both charts, in recording order ("TLS 1.3 full:
 * first app byte at 2.00 RTT after SYN"). */
void        ns_diagram_summary(ns_diagram *d, const char *text);

#endif
