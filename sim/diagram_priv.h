/* diagram_priv.h — what the files of the sequence charts share (diagram.c
 * records and renders text, diagram_mermaid.c renders Mermaid); never
 * included from another folder. */
#ifndef NETSIM_DIAGRAM_PRIV_H
#define NETSIM_DIAGRAM_PRIV_H

#include "netsim/diagram.h"
#include "netsim/output.h"

enum entry_kind { ENTRY_MSG, ENTRY_NOTE };
enum msg_fate { FATE_IN_FLIGHT, FATE_DELIVERED, FATE_LOST };

/* One recorded message or note.  Its message id is its index + 1. */
struct entry {
    enum entry_kind kind;
    enum msg_fate   fate;               /* messages only */
    enum ns_diagram_layer layer;        /* messages only */
    ns_time_t       t;                  /* send time, or the note's time */
    ns_time_t       end;                /* arrival or loss time (if not in flight) */
    guint           from;               /* participant index; a note's column */
    guint           to;                 /* messages only */
    uint64_t        seq;                /* recording order: the tie-breaker */
    char           *text;               /* label or note, cleaned, owned */
    char           *cause;              /* loss cause, cleaned, owned, or NULL */
};

struct ns_diagram {
    char       *name;                   /* owned */
    GPtrArray  *names;                  /* participants as given, owned, in column order */
    GHashTable *index;                  /* name (borrowed from names) -> column + 1 */
    GArray     *entries;                /* struct entry, recording order */
    GHashTable *streams;                /* key (owned) -> GArray of struct stream_msg,
                                           sent but not yet arrived, send order; or NULL */
    GPtrArray  *summary;                /* lines, cleaned, owned, recording order */
    enum ns_diagram_packets show;       /* whether packets are drawn */
    bool        has_app;                /* an application message was recorded */
    ns_output  *txt;                    /* "<name>.txt", owned by the outputs */
    ns_output  *mmd;                    /* "<name>.mmd", idem */
    bool        rendered;               /* the commit happened: recording is over */
};

/* Text that keeps a chart on its grid: valid UTF-8, control characters
 * turned into spaces.  Newly allocated. */
char *ns__diagram_clean(const char *s);
/* Fractional digits (3, 6 or 9) that keep the rows' distinct instants
 * distinct; rows: struct entry *, the entries drawn. */
int   ns__diagram_time_digits(const GPtrArray *rows);
/* Seconds with `digits` fractional digits, rounded half up.  Newly allocated. */
char *ns__diagram_fmt_time(ns_time_t t, int digits);
/* The remark for a message with no end (in flight, or not all read). */
const char *ns__diagram_unfinished(const struct entry *e);
/* The Mermaid chart of `rows` (sorted, the entries drawn) into out. */
void  ns__diagram_mermaid(const ns_diagram *d, const GPtrArray *rows, GString *out);

#endif
