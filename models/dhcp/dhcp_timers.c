/* dhcp_timers.c — the timers of a sim's DHCP clients (lease timers,
 * start and retransmission): one queue, ordered by (due, seq), with one
 * engine event at its earliest entry.
 *
 * Why not an engine event each: a lease timer is due up to a lease away
 * (dhcp_campus: T1 at 30 min) and a renewal's retransmission timer, set
 * ~11 min ahead, is cancelled by the ACK; 4,000 clients kept thousands of
 * such entries, live or cancelled, in the engine's event heap, under the
 * frame events that make up almost all of a run (16 per renewal, each
 * due microseconds ahead).  Each of those paid for the depth they added
 * on its push and pop.  Here a timer costs a few steps of a heap
 * when armed, stopped or due, and stopping one removes it.
 *
 * Order: seq counts armings, so timers due at one instant fire in the
 * order they were armed, as their events did.  They fire from one engine
 * event, one after another: an event scheduled by a timer's callback for
 * that same instant runs after the last of them, as it did (their events
 * were older) -- except a client timer armed for that instant, which
 * fires from the same event, after them, instead of from an event of its
 * own (a restart right after expiry).  Two differences, both confined to exact ties: an
 * unrelated event due at the same nanosecond as a timer may now run
 * before or after it according to when the queue's event was scheduled,
 * not the timer; and ns_sim_stop from a timer's callback takes effect
 * after the others due with it.
 *
 * Invariants: t->idx is t's position in heap, or -1 when t is not queued;
 * outside fire(), `ev` is pending exactly while the queue is not empty,
 * at the due time of its first entry (at which nothing is overdue). */
#include "dhcp_priv.h"
#include "netsim/event.h"

/* A heap entry carries its timer's key, so that comparisons read only
 * the heap array: the timers sit in their clients, scattered, and a
 * heap of pointers to them missed the cache at every comparison. */
struct slot {
    ns_time_t              due;
    uint64_t               seq;
    struct ns__dhcp_timer *t;
};

static bool before(const struct slot *a, const struct slot *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static struct slot *at(const struct ns__dhcp_timers *q, guint i)
{
    return &g_array_index(q->heap, struct slot, i);
}

static void place(struct ns__dhcp_timers *q, guint i, const struct slot *e)
{
    *at(q, i) = *e;
    e->t->idx = (int)i;
}

/* Four children per node (4i+1 .. 4i+4): half the levels of a binary
 * heap, and every level moved writes a timer's index into its client,
 * a likely cache miss. */
#define PARENT(i) (((i) - 1) / 4)

static void sift_up(struct ns__dhcp_timers *q, guint i)
{
    struct slot e = *at(q, i);
    while (i > 0 && before(&e, at(q, PARENT(i)))) {
        place(q, i, at(q, PARENT(i)));
        i = PARENT(i);
    }
    place(q, i, &e);
}

static void sift_down(struct ns__dhcp_timers *q, guint i)
{
    struct slot e = *at(q, i);
    guint n = q->heap->len;
    for (;;) {
        guint first = 4 * i + 1, c = first;
        if (first >= n)
            break;
        for (guint k = first + 1; k < first + 4 && k < n; k++)
            if (before(at(q, k), at(q, c)))
                c = k;
        if (!before(at(q, c), &e))
            break;
        place(q, i, at(q, c));
        i = c;
    }
    place(q, i, &e);
}

static void unqueue(struct ns__dhcp_timers *q, struct ns__dhcp_timer *t)
{
    guint i = (guint)t->idx, last = q->heap->len - 1;
    t->idx = -1;
    if (i != last) {
        struct slot moved = *at(q, last);
        g_array_set_size(q->heap, last);
        place(q, i, &moved);
        if (i > 0 && before(&moved, at(q, PARENT(i))))
            sift_up(q, i);
        else
            sift_down(q, i);
    } else {
        g_array_set_size(q->heap, last);
    }
}

static void fire(ns_sim *sim, void *arg);

/* Re-establishes the invariant on `ev` after the queue changed. */
static void sync_event(struct ns__dhcp_timers *q)
{
    if (q->firing)
        return;
    struct slot *first = q->heap->len ? at(q, 0) : NULL;
    if (q->ev.slot && first && q->ev_at == first->due)
        return;
    ns_event_cancel(q->sim, q->ev);
    q->ev = NS_EVENT_NONE;
    if (!first)
        return;
    q->ev_at = first->due;
    q->ev = ns_event_after(q->sim, first->due - ns_sim_now(q->sim), fire, q);
}

static void fire(ns_sim *sim, void *arg)
{
    struct ns__dhcp_timers *q = arg;
    ns_time_t now = ns_sim_now(sim);
    q->ev = NS_EVENT_NONE;
    q->firing = true;
    while (q->heap->len && at(q, 0)->due <= now) {
        struct ns__dhcp_timer *t = at(q, 0)->t;
        unqueue(q, t);
        t->fn(t->arg);
    }
    q->firing = false;
    sync_event(q);
}

void ns__dhcp_timers_init(struct ns__dhcp_timers *q, ns_sim *sim)
{
    *q = (struct ns__dhcp_timers){ .sim = sim,
                                   .heap = g_array_new(FALSE, FALSE, sizeof(struct slot)) };
}

void ns__dhcp_timers_clear(struct ns__dhcp_timers *q)
{
    if (q->heap)
        g_array_free(q->heap, TRUE);
    q->heap = NULL;
}

void ns__dhcp_timer_init(struct ns__dhcp_timer *t, void (*fn)(void *arg), void *arg)
{
    *t = (struct ns__dhcp_timer){ .idx = -1, .fn = fn, .arg = arg };
}

void ns__dhcp_timer_set(struct ns__dhcp_timers *q, struct ns__dhcp_timer *t, ns_time_t due)
{
    ns_time_t now = ns_sim_now(q->sim);
    if (t->idx >= 0)
        unqueue(q, t);
    t->due = due > now ? due : now;
    t->seq = q->next_seq++;
    struct slot e = { t->due, t->seq, t };
    g_array_append_val(q->heap, e);
    t->idx = (int)q->heap->len - 1;
    sift_up(q, (guint)t->idx);
    sync_event(q);
}

void ns__dhcp_timer_stop(struct ns__dhcp_timers *q, struct ns__dhcp_timer *t)
{
    if (t->idx < 0)
        return;
    unqueue(q, t);
    sync_event(q);
}

bool ns__dhcp_timer_is_set(const struct ns__dhcp_timer *t)
{
    return t->idx >= 0;
}
