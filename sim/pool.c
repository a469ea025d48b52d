/* pool.c — fixed-size object pools (see pool.h).
 *
 * Invariant: every object handed out is either live or on the free list,
 * and belongs to exactly one slab; live counts the former. */
#include <glib.h>

#include "sim_priv.h"
#include "netsim/pool.h"

void ns_pool_init(struct ns_pool *p, size_t obj_size, size_t per_slab)
{
    *p = (struct ns_pool){ 0 };
    p->obj_size = obj_size < sizeof(void *) ? sizeof(void *) : obj_size;
    p->per_slab = per_slab ? per_slab : 256;
}

void ns_pool_destroy(struct ns_pool *p)
{
    for (size_t i = 0; i < p->nslabs; i++)
        g_free(p->slabs[i]);
    g_free(p->slabs);
    *p = (struct ns_pool){ 0 };
}

static void grow(struct ns_pool *p)
{
    char *slab = g_malloc(p->obj_size * p->per_slab);
    p->slabs = g_renew(void *, p->slabs, p->nslabs + 1);
    p->slabs[p->nslabs++] = slab;
    p->bump = slab;
    p->bump_end = slab + p->obj_size * p->per_slab;
}

void *ns_pool_alloc(struct ns_pool *p)
{
    void *obj = p->free_list;
    if (obj) {
        p->free_list = *(void **)obj;
    } else {
        if (G_UNLIKELY(p->bump == p->bump_end))
            grow(p);
        obj = p->bump;
        p->bump += p->obj_size;
    }
    if (++p->live > p->peak)
        p->peak = p->live;
    return obj;
}

void ns_pool_free(struct ns_pool *p, void *obj)
{
    g_assert(p->live > 0);
    *(void **)obj = p->free_list;
    p->free_list = obj;
    p->live--;
}

struct ns_pool *ns_sim_pkt_pool(ns_sim *sim)
{
    return &sim->pkt_pool;
}

struct ns_pool *ns_sim_payload_pool(ns_sim *sim)
{
    return &sim->payload_pool;
}

uint64_t ns_sim_next_uid(ns_sim *sim)
{
    return ++sim->next_uid;
}
