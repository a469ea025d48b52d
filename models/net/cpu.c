/* cpu.c — a host's processors: N cores and a FIFO of work items with
 * durations.  Models charge processing time here (TLS crypto, lock-server
 * request handling); an item's callback runs when its work is done.
 *
 * Invariant: at most `cores` items run at once, started in submission
 * order; a crash drops queued and running items (their callbacks never run:
 * the owners hear the crash through the fault observers). */
#include "net_priv.h"

struct cpu_item {
    ns_host    *host;
    ns_time_t   work;
    ns_event_fn done;
    void       *arg;
    uint32_t    epoch;           /* host's cpu_epoch when submitted */
    ns_event_id ev;
    bool        running;
};

static void start_items(ns_host *h);

static void item_done(ns_sim *sim, void *p)
{
    struct cpu_item *it = p;
    ns_host *h = it->host;
    g_queue_remove(h->cpu_queue, it);
    h->busy_cores--;
    h->cpu_busy += it->work;
    ns_event_fn done = it->done;
    void *arg = it->arg;
    g_free(it);
    start_items(h);              /* the next item starts at once */
    done(sim, arg);
}

static void start_items(ns_host *h)
{
    for (GList *l = h->cpu_queue->head; l && h->busy_cores < h->cores; l = l->next) {
        struct cpu_item *it = l->data;
        if (it->running)
            continue;
        it->running = true;
        h->busy_cores++;
        it->ev = ns_event_after(h->sim, it->work, item_done, it);
    }
}

void ns_host_set_cores(ns_host *h, unsigned cores)
{
    g_return_if_fail(cores >= 1);
    h->cores = cores;
    start_items(h);
}

void ns_cpu_submit(ns_host *h, ns_time_t work, ns_event_fn done, void *arg)
{
    g_return_if_fail(work >= 0 && done != NULL);
    if (!h->up)
        return;
    struct cpu_item *it = g_new0(struct cpu_item, 1);
    it->host = h;
    it->work = work;
    it->done = done;
    it->arg = arg;
    it->epoch = h->cpu_epoch;
    g_queue_push_tail(h->cpu_queue, it);
    start_items(h);
}

ns_time_t ns_cpu_busy_time(const ns_host *h) { return h->cpu_busy; }

void ns__cpu_crash(ns_host *h);
void ns__cpu_crash(ns_host *h)
{
    struct cpu_item *it;
    while ((it = g_queue_pop_head(h->cpu_queue))) {
        if (it->running)
            ns_event_cancel(h->sim, it->ev);
        g_free(it);
    }
    h->busy_cores = 0;
    h->cpu_epoch++;
}
