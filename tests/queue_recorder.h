/* queue_recorder.h — a queue discipline for tests (test_lan_port.c,
 * test_link.c) that behaves as an unbounded FIFO and logs every enqueue
 * and dequeue made on one watched queue, with its time: what a
 * discipline sees of a link direction or a LAN port direction.
 *
 * Register it on a sim before creating the link or LAN with queue
 * "recorder"; the watched queue is named by its stream (cfg->stream, e.g.
 * "a-b.0" or "lan.lan0.a.up").  The log is per test file and reset by
 * qrec_watch.  Helpers are static inline. */
#ifndef NETSIM_QUEUE_RECORDER_H
#define NETSIM_QUEUE_RECORDER_H

#include <string.h>

#include "netsim/queue.h"
#include "tests.h"

struct qrec {
    char name[32];                      /* the queue's stream */
};

static struct {
    char      watch[32];                /* stream of the queue to log */
    char      op[16];                   /* 'E', 'D' (a packet), 'd' (empty) */
    ns_time_t at[16];
    int       n;
} qlog;

static inline void qrec_note(const void *priv, char op, ns_time_t now)
{
    if (strcmp(((const struct qrec *)priv)->name, qlog.watch) != 0)
        return;
    if (qlog.n < (int)G_N_ELEMENTS(qlog.at)) {
        qlog.op[qlog.n] = op;
        qlog.at[qlog.n] = now;
    }
    qlog.n++;
}

static inline bool qrec_init(void *priv, const struct ns_queue_cfg *cfg, GError **error)
{
    (void)error;
    struct qrec *r = priv;
    g_strlcpy(r->name, cfg->stream ? cfg->stream : "", sizeof r->name);
    return true;
}

static inline void qrec_enqueue(ns_queue *q, void *priv, ns_pkt *p, ns_time_t now)
{
    qrec_note(priv, 'E', now);
    ns_queue_fifo_push(q, p);
}

static inline ns_pkt *qrec_dequeue(ns_queue *q, void *priv, ns_time_t now)
{
    ns_pkt *p = ns_queue_fifo_pop(q);
    qrec_note(priv, p ? 'D' : 'd', now);
    return p;
}

static const struct ns_queue_ops qrec_ops = {
    .name = "recorder",
    .priv_size = sizeof(struct qrec),
    .init = qrec_init,
    .enqueue = qrec_enqueue,
    .dequeue = qrec_dequeue,
};

/* Registers "recorder" on sim and starts a fresh log of queue `stream`. */
static inline void qrec_watch(ns_sim *sim, const char *stream)
{
    memset(&qlog, 0, sizeof qlog);
    g_strlcpy(qlog.watch, stream, sizeof qlog.watch);
    CU_ASSERT_TRUE(ns_queue_register(sim, &qrec_ops, NULL));
}

/* The log is exactly the calls `ops` ("EDd...") at times `at`. */
static inline void qrec_expect(const char *ops, const ns_time_t *at)
{
    CU_ASSERT_EQUAL_FATAL(qlog.n, (int)strlen(ops));
    for (int i = 0; i < qlog.n; i++) {
        CU_ASSERT_EQUAL(qlog.op[i], ops[i]);
        CU_ASSERT_EQUAL(qlog.at[i], at[i]);
    }
}

#endif
