/* u32map.c — the 32-bit-key map of u32map.h.
 *
 * Invariant: every entry sits in the probe run that starts at its home
 * slot, unbroken by empty slots; deletion keeps it by moving later
 * entries of the run back into the hole whenever their home allows. */
#include <stdbool.h>
#include <glib.h>

#include "netsim/u32map.h"

static uint32_t home(const ns_u32map *m, uint32_t key)
{
    return (uint32_t)(((uint64_t)key * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (m->cap - 1);
}

/* The slot holding key, or the empty slot ending its run. */
static uint32_t find(const ns_u32map *m, uint32_t key)
{
    uint32_t i = home(m, key);
    while (m->slots[i].val && m->slots[i].key != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

void ns_u32map_free(ns_u32map *m)
{
    g_free(m->slots);
    *m = (ns_u32map)NS_U32MAP_INIT;
}

void *ns_u32map_get(const ns_u32map *m, uint32_t key)
{
    return m->cap ? m->slots[find(m, key)].val : NULL;
}

static void grow(ns_u32map *m)
{
    ns_u32map old = *m;
    m->cap = old.cap ? 2 * old.cap : 16;
    m->slots = g_new0(struct ns_u32map_slot, m->cap);
    m->n = 0;
    for (uint32_t i = 0; i < old.cap; i++)
        if (old.slots[i].val)
            ns_u32map_put(m, old.slots[i].key, old.slots[i].val);
    g_free(old.slots);
}

void ns_u32map_put(ns_u32map *m, uint32_t key, void *val)
{
    g_return_if_fail(val != NULL);
    if (2 * (m->n + 1) > m->cap)
        grow(m);
    uint32_t i = find(m, key);
    m->n += m->slots[i].val == NULL;
    m->slots[i].key = key;
    m->slots[i].val = val;
}

void *ns_u32map_take(ns_u32map *m, uint32_t key)
{
    if (m->cap == 0)
        return NULL;
    uint32_t mask = m->cap - 1, hole = find(m, key);
    void *val = m->slots[hole].val;
    if (!val)
        return NULL;
    m->slots[hole].val = NULL;
    m->n--;
    for (uint32_t j = (hole + 1) & mask; m->slots[j].val; j = (j + 1) & mask) {
        /* The entry at j may move back unless its home lies in (hole, j]:
         * then a lookup for it never passes the hole. */
        uint32_t h = home(m, m->slots[j].key);
        bool stays = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j);
        if (stays)
            continue;
        m->slots[hole].key = m->slots[j].key;
        m->slots[hole].val = m->slots[j].val;
        m->slots[j].val = NULL;
        hole = j;
    }
    return val;
}

void ns_u32map_reset(ns_u32map *m)
{
    for (uint32_t i = 0; i < m->cap; i++)
        m->slots[i].val = NULL;
    m->n = 0;
}

void ns_u32map_each(const ns_u32map *m, void (*fn)(uint32_t key, void *val, void *ud), void *ud)
{
    for (uint32_t i = 0; i < m->cap; i++)
        if (m->slots[i].val)
            fn(m->slots[i].key, m->slots[i].val, ud);
}
