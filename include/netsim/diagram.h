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

#endif
