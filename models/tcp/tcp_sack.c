/* tcp_sack.c — selective acknowledgments: the blocks a receiver reports
 * (RFC 2018) and the sender's scoreboard with the loss-recovery rules of
 * RFC 6675 (IsLost, NextSeg, SetPipe).
 *
 * Invariants: the scoreboard holds disjoint blocks sorted by sequence,
 * all within [snd_una, snd_max); the receiver's list starts with the block
 * holding the most recently received segment (RFC 2018 section 4).
 */
#include "tcp_priv.h"

static GArray *board(ns_tcp *c)
{
    if (!c->scoreboard)
        c->scoreboard = g_array_new(FALSE, FALSE, sizeof(struct tcp_block));
    return c->scoreboard;
}

#define BLK(a, i) g_array_index((a), struct tcp_block, (i))

static void insert(GArray *a, uint32_t s, uint32_t e)
{
    guint i = 0;
    while (i < a->len && SEQ_LT(BLK(a, i).end, s))
        i++;
    /* Merge every block overlapping or touching [s, e). */
    while (i < a->len && SEQ_LEQ(BLK(a, i).start, e)) {
        if (SEQ_LT(BLK(a, i).start, s))
            s = BLK(a, i).start;
        if (SEQ_GT(BLK(a, i).end, e))
            e = BLK(a, i).end;
        g_array_remove_index(a, i);
    }
    struct tcp_block b = { s, e };
    g_array_insert_val(a, i, b);
}

void ns__sack_update(ns_tcp *c, const struct tcp_block *b, int n)
{
    GArray *a = board(c);
    for (int i = 0; i < n; i++) {
        uint32_t s = b[i].start, e = b[i].end;
        if (!SEQ_LT(s, e) || SEQ_LEQ(e, c->snd_una) || SEQ_GT(e, c->snd_max))
            continue;                        /* stale or bogus (RFC 2883 D-SACK too) */
        if (SEQ_LT(s, c->snd_una))
            s = c->snd_una;
        insert(a, s, e);
    }
}

void ns__sack_trim(ns_tcp *c)
{
    GArray *a = c->scoreboard;
    if (!a)
        return;
    while (a->len > 0 && SEQ_LEQ(BLK(a, 0).end, c->snd_una))
        g_array_remove_index(a, 0);
    if (a->len > 0 && SEQ_LT(BLK(a, 0).start, c->snd_una))
        BLK(a, 0).start = c->snd_una;
    if (SEQ_LT(c->rexmit_nxt, c->snd_una))
        c->rexmit_nxt = c->snd_una;
}

bool ns__sack_is_sacked(const ns_tcp *c, uint32_t seq)
{
    const GArray *a = c->scoreboard;
    for (guint i = 0; a && i < a->len; i++)
        if (SEQ_GEQ(seq, BLK(a, i).start) && SEQ_LT(seq, BLK(a, i).end))
            return true;
    return false;
}

uint32_t ns__sack_bytes_above(const ns_tcp *c, uint32_t seq)
{
    const GArray *a = c->scoreboard;
    uint32_t n = 0;
    for (guint i = 0; a && i < a->len; i++) {
        if (SEQ_LEQ(BLK(a, i).end, seq))
            continue;
        uint32_t s = SEQ_GT(BLK(a, i).start, seq) ? BLK(a, i).start : seq + 1;
        n += BLK(a, i).end - s;
    }
    return n;
}

/* The lowest sequence number that is NOT lost: every unSACKed byte below
 * it has more than (DupThresh - 1) * SMSS bytes SACKed above it (RFC 6675
 * IsLost, by bytes). */
static uint32_t lost_limit(const ns_tcp *c)
{
    const GArray *a = c->scoreboard;
    uint32_t need = (DUPTHRESH - 1) * c->cc.mss;
    uint32_t acc = 0;
    for (guint i = a ? a->len : 0; i-- > 0;) {
        uint32_t len = BLK(a, i).end - BLK(a, i).start;
        if (acc + len > need)
            return BLK(a, i).end - (need - acc);   /* inside this block */
        acc += len;
    }
    return c->snd_una;                               /* nothing is lost */
}

bool ns__sack_next_hole(ns_tcp *c, uint32_t *seq, uint32_t *len)
{
    const GArray *a = c->scoreboard;
    if (!a || a->len == 0)
        return false;
    uint32_t limit = lost_limit(c);
    uint32_t s = SEQ_GT(c->rexmit_nxt, c->snd_una) ? c->rexmit_nxt : c->snd_una;
    for (guint i = 0; i < a->len; i++) {
        const struct tcp_block *b = &BLK(a, i);
        if (SEQ_LEQ(b->end, s))
            continue;
        if (SEQ_LT(s, b->start)) {                   /* a hole [s, b->start) */
            if (!SEQ_LT(s, limit))
                return false;                        /* not lost yet */
            uint32_t n = b->start - s;
            *seq = s;
            *len = n < c->cc.mss ? n : c->cc.mss;
            return true;
        }
        s = b->end;
    }
    return false;
}

uint32_t ns__sack_pipe(const ns_tcp *c)
{
    const GArray *a = c->scoreboard;
    uint32_t limit = lost_limit(c);
    uint32_t pipe = 0;
    uint32_t s = c->snd_una;
    guint n = a ? a->len : 0;
    for (guint i = 0; i <= n; i++) {
        uint32_t e = i < n ? BLK(a, i).start : c->snd_max;
        if (SEQ_LT(s, e)) {
            /* Hole [s, e): bytes at or above the limit are still in flight;
             * lost bytes count again once retransmitted (RFC 6675 SetPipe). */
            uint32_t lost_end = SEQ_LT(limit, e) ? (SEQ_GT(limit, s) ? limit : s) : e;
            pipe += e - lost_end;
            uint32_t rx_end = SEQ_LT(c->rexmit_nxt, lost_end) ? c->rexmit_nxt : lost_end;
            if (SEQ_GT(rx_end, s))
                pipe += rx_end - s;
        }
        if (i < n)
            s = BLK(a, i).end;
    }
    return pipe;
}

/* Receiver: a segment [start, end) went into the reassembly queue; report
 * the contiguous out-of-order range holding it first (RFC 2018 4). */
void ns__rcv_sack_add(ns_tcp *c, uint32_t start, uint32_t end)
{
    if (!c->sack_ok)
        return;
    /* Grow [start, end) over the queued segments it touches: the queue is
     * sorted, so walk left and right from the new segment (linear; a full
     * rescan per segment was a third of a lossy transfer's time). */
    struct tcp_reasm *rx = c->rx;              /* ooo_insert made it */
    if (rx->q->len > 0) {
        const GArray *q = rx->q;
        guint i = 0;
        while (i < q->len && SEQ_LT(g_array_index(q, struct tcp_ooo, i).seq, start))
            i++;
        for (guint j = i; j-- > 0;) {
            const struct tcp_ooo *o = &g_array_index(q, struct tcp_ooo, j);
            if (SEQ_LT(o->seq + o->len, start))
                break;
            if (SEQ_LT(o->seq, start))
                start = o->seq;
        }
        for (guint j = i; j < q->len; j++) {
            const struct tcp_ooo *o = &g_array_index(q, struct tcp_ooo, j);
            if (SEQ_GT(o->seq, end))
                break;
            if (SEQ_GT(o->seq + o->len, end))
                end = o->seq + o->len;
        }
    }
    struct tcp_block keep[MAX_SACK];
    int k = 0;
    keep[k++] = (struct tcp_block){ start, end };
    for (int i = 0; i < rx->nrsack && k < MAX_SACK; i++) {
        const struct tcp_block *b = &rx->rsack[i];
        if (SEQ_LEQ(b->end, c->rcv_nxt))
            continue;
        if (SEQ_GEQ(b->start, start) && SEQ_LEQ(b->end, end))
            continue;                                /* inside the new one */
        keep[k++] = *b;
    }
    memcpy(rx->rsack, keep, (size_t)k * sizeof keep[0]);
    rx->nrsack = k;
}
