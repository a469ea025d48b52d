/* tcpworld.h — the fixture the TCP suites share (test_tcp.c,
 * test_tcp_data.c): a world of two hosts on one link, the applications
 * on its connections, and the watches that see its segments.
 *
 * Two hosts, a (client) and b (server), on one link.  A "watch" sits on
 * each direction of the link as a scripted loss model that drops only
 * what a test asks for and records every TCP segment as it leaves the
 * sender's wire (the end of its serialisation), so times, flags and
 * retransmissions are observed from outside the model.
 *
 * Frames (timestamps, SACK and window scale on): a SYN or SYN-ACK carries
 * 20 option bytes, a 74-byte frame; a segment with timestamps is 66 bytes
 * plus payload; a RST is 54 bytes, padded to the 60-byte minimum.  At
 * 3 Mbit/s a SYN takes ceil(592e9 / 3e6) = 197,334 ns, so rounding shows.
 * Each test runs its sim until no event is left and checks that every
 * packet was freed.
 *
 * The functions are defined in tcpworld.c and report through CUnit
 * assertions, so they are called from inside a test only. */
#ifndef NETSIM_TESTS_TCPWORLD_H
#define NETSIM_TESTS_TCPWORLD_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/link.h"
#include "netsim/tcp.h"
#include "tests.h"

#define PORT 80

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10
#define F_ECE 0x40
#define F_CWR 0x80

#define SYN_FRAME 74            /* 14 + 20 + 20 + 20 options */
#define TS_FRAME  66            /* 14 + 20 + 20 + 12 (NOP NOP TS) */
#define RST_FRAME 60            /* 54, padded */

/* ceil(frame bits * 1e9 / rate): serialisation of a frame of `bytes`. */
ns_time_t frame_time(uint32_t bytes, uint64_t rate);

/* Asserts got equals want, printing both when not. */
void check_str(const char *got, const char *want);
/* Asserts err carries exactly `want`, then clears it. */
void check_error(GError **err, const char *want);

/* ---- the watch: records segments on one link direction, drops some ---- */

struct seen {
    ns_time_t at;               /* end of serialisation */
    uint8_t   flags;
    uint32_t  seq, ack, len;
    uint16_t  win;
    uint8_t   ecn;
    int       wscale;           /* -1: no option */
    uint32_t  mss;              /* 0: no option */
    bool      ts;
    uint32_t  tsval;
    int       nsack;
    bool      dropped;
};

struct watch {
    ns_sim  *sim;
    GArray  *segs;              /* struct seen, in order */
    /* The drop rule: packets with (flags & mask) == want and at least
     * min_len payload bytes are counted; those whose 1-based count is in
     * nth[] are dropped, as are all of them when `all`. */
    uint8_t  mask, want;
    uint32_t min_len;
    uint32_t nth[8];
    int      nnth;
    bool     all;
    uint32_t count;
};

/* The i-th (0-based) segment the watch saw. */
struct seen *seg_at(struct watch *w, guint i);
/* Segments with (flags & mask) == want, and their count. */
int count_segs(struct watch *w, uint8_t mask, uint8_t want, uint32_t min_len);
/* The k-th (0-based) such segment, or NULL. */
struct seen *nth_seg(struct watch *w, uint8_t mask, uint8_t want, uint32_t min_len, int k);

/* ---- applications ---- */

struct world;

struct app {
    struct world *w;
    ns_tcp       *c;
    ns_time_t     established_at, eof_at, closed_at, error_at;
    char          error[32];
    GByteArray   *rx;           /* bytes received; length-only as 0 */
    GByteArray   *rx_real;      /* 1 per byte that came as a real byte */
    uint64_t      acked;
    int           ndata;        /* data callbacks */
    /* behaviour */
    bool          close_on_eof; /* close when the peer has closed */
    uint32_t      reply;        /* length-only bytes to send on eof, first */
    uint64_t      send_on_est;  /* length-only bytes to send when established */
    bool          close_on_est; /* close after send_on_est */
};

/* ---- the world ---- */

struct world {
    ns_sim          *sim;
    ns_host         *a, *b;
    ns_link         *l;
    struct watch     wa, wb;    /* a->b, b->a */
    GPtrArray       *apps;      /* struct app*, owned */
    struct app      *srv_tmpl;  /* copied into every accepted app */
    struct app      *srv;       /* the last accepted connection */
    ns_tcp_listener *lis;
    uint64_t         rate;
    ns_time_t        delay;
    char            *dir;
};

/* a and b on one link made with `lo`, a watch on each direction. */
void world_init_opts(struct world *w, uint64_t seed, const struct ns_link_opts *lo);
/* The same with default link options but rate and delay, and Bernoulli
 * loss `loss` in each direction after the watches. */
void world_init(struct world *w, uint64_t seed, double rate, ns_time_t delay, double loss);
/* Outputs (and the event log) go to a fresh folder `name`. */
void world_out(struct world *w, const char *name);
/* The contents of output `name`, or "(missing)"; free with g_free. */
char *world_file(struct world *w, const char *name);
void world_commit(struct world *w);
/* b listens on PORT; each accepted connection gets a struct app, a copy
 * of the server template when there is one, and becomes w->srv. */
ns_tcp_listener *world_listen(struct world *w, const struct ns_tcp_opts *o);
struct app *world_connect(struct world *w, ns_host *from, ns_host *to, uint16_t port,
                          const struct ns_tcp_opts *o);
/* Runs until no event is left and checks that every packet was freed. */
void world_run(struct world *w);
void world_run_until(struct world *w, ns_time_t until);
/* Runs until c is ESTABLISHED (RFC 9293 3.10.4: a CLOSE in SYN-SENT
 * deletes the TCB with its queued data, so writers wait for it). */
void wait_established(struct world *w, struct app *c);
void world_free(struct world *w);

/* The behaviour every connection b accepts starts with: zeroed when
 * first asked for, its times reset to -1 on every call. */
struct app *server_template(struct world *w);

/* The default TCP options. */
struct ns_tcp_opts default_opts(void);
/* The counters and estimates of a's connection. */
struct ns_tcp_info app_info(const struct app *a);

/* Calls fn(app) at time `at`. */
void call_at(struct world *w, ns_time_t at, void (*fn)(struct app *), struct app *a);

/* Actions for call_at. */
void do_close(struct app *a);
void do_shutdown(struct app *a);
void do_abort(struct app *a);
void do_send100(struct app *a);         /* 100 length-only bytes */

/* The tcp.state lines of the event log for node `node`, as
 * "FROM>TO@seconds;..." (or just "TO;..." when !times). */
char *states_of(struct world *w, const char *node, bool times);

#endif
