/* lan_fdb.c — a LAN switch's filtering database: MAC -> port (struct fdb
 * in lan_priv.h), open addressing with linear probing.
 *
 * Invariant: at most half the slots are used, so a probe always meets an
 * empty slot; entries are only added or repointed, never deleted.
 */
#include "lan_priv.h"

static uint32_t fdb_slot(const struct fdb *t, uint64_t key)
{
    return (uint32_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (t->cap - 1);
}

struct lan_port *ns__lan_fdb_get(const struct fdb *t, uint64_t mac)
{
    if (t->cap == 0)
        return NULL;
    uint64_t key = mac + 1;
    for (uint32_t i = fdb_slot(t, key);; i = (i + 1) & (t->cap - 1)) {
        if (t->keys[i] == key)
            return t->ports[i];
        if (t->keys[i] == 0)
            return NULL;
    }
}

static void fdb_insert(struct fdb *t, uint64_t key, struct lan_port *port)
{
    uint32_t i = fdb_slot(t, key);
    while (t->keys[i] != 0 && t->keys[i] != key)
        i = (i + 1) & (t->cap - 1);
    t->n += t->keys[i] == 0;
    t->keys[i] = key;
    t->ports[i] = port;
}

void ns__lan_fdb_put(struct fdb *t, uint64_t mac, struct lan_port *port)
{
    if (2 * (t->n + 1) > t->cap) {
        struct fdb old = *t;
        t->cap = old.cap ? old.cap * 2 : 64;
        t->keys = g_new0(uint64_t, t->cap);
        t->ports = g_new0(struct lan_port *, t->cap);
        t->n = 0;
        for (uint32_t i = 0; i < old.cap; i++)
            if (old.keys[i])
                fdb_insert(t, old.keys[i], old.ports[i]);
        g_free(old.keys);
        g_free(old.ports);
    }
    fdb_insert(t, mac + 1, port);
}

void ns__lan_fdb_clear(struct fdb *t)
{
    g_free(t->keys);
    g_free(t->ports);
    *t = (struct fdb){ 0 };
}
