/* dhcp_lease.c — the lease database: one record per address (offered,
 * bound or declined), shared by the servers of a failover pair, with two
 * summaries that spare a server scanning its whole pool on every
 * DISCOVER (a 241-address pool, 4,000 clients: it showed in profiles):
 *  - per client (chaddr), how many records name it: a client with none
 *    has no binding or offer to find again;
 *  - per address range (a pool), `next`: every address in [first, next)
 *    holds a record, so the lowest free one is at or after it; and
 *    `min_expiry`: no record in the range expires before it.
 *
 * Invariant: while now < min_expiry of a range, no record in it has
 * expired, so skipping those records skips no lazy expiry (lease_get in
 * dhcp_server.c drops an expired record, and traces it, when it looks at
 * it); at or after min_expiry the range must be swept again, and the
 * sweep recomputes both summaries.  Expiries only ever lower min_expiry
 * and removals only lower `next`, so the summaries err on the safe side.
 */
#include <string.h>

#include "dhcp_priv.h"

struct ns_dhcp_db {
    unsigned    ref;
    GHashTable *by_addr;          /* addr -> struct ns__dhcp_lease*, owned */
    GHashTable *clients;          /* chaddr key -> records naming it (uint) */
    GPtrArray  *ranges;           /* struct ns__dhcp_range*, owned */
};

uint64_t ns__dhcp_mac_key(const uint8_t mac[6])
{
    uint64_t k = 0;
    for (int i = 0; i < 6; i++)
        k = k << 8 | mac[i];
    return k;
}

static void count_client(ns_dhcp_db *db, const uint8_t mac[6], int delta)
{
    gpointer k = GSIZE_TO_POINTER((gsize)ns__dhcp_mac_key(mac));
    guint n = GPOINTER_TO_UINT(g_hash_table_lookup(db->clients, k)) + (guint)delta;
    if (n)
        g_hash_table_insert(db->clients, k, GUINT_TO_POINTER(n));
    else
        g_hash_table_remove(db->clients, k);
}

/* A record leaves the table (removed, replaced or cleared). */
static void lease_free(gpointer p)
{
    struct ns__dhcp_lease *l = p;
    ns_dhcp_db *db = l->db;
    count_client(db, l->mac, -1);
    for (guint i = 0; i < db->ranges->len; i++) {
        struct ns__dhcp_range *r = g_ptr_array_index(db->ranges, i);
        if (l->addr >= r->first && l->addr <= r->last && l->addr < r->next)
            r->next = l->addr;
    }
    g_free(l);
}

ns_dhcp_db *ns__dhcp_db_new(void)
{
    ns_dhcp_db *db = g_new0(ns_dhcp_db, 1);
    db->ref = 1;
    db->by_addr = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, lease_free);
    /* keys are 48-bit MACs: direct keys need 64-bit pointers */
    G_STATIC_ASSERT(sizeof(gpointer) >= 8);
    db->clients = g_hash_table_new(g_direct_hash, g_direct_equal);
    db->ranges = g_ptr_array_new_with_free_func(g_free);
    return db;
}

void ns__dhcp_db_ref(ns_dhcp_db *db)
{
    db->ref++;
}

unsigned ns__dhcp_db_refs(const ns_dhcp_db *db)
{
    return db->ref;
}

void ns__dhcp_db_unref(ns_dhcp_db *db)
{
    if (--db->ref == 0) {
        g_hash_table_destroy(db->by_addr);  /* before `ranges`: lease_free reads them */
        g_hash_table_destroy(db->clients);
        g_ptr_array_free(db->ranges, TRUE);
        g_free(db);
    }
}

struct ns__dhcp_lease *ns__dhcp_db_find(ns_dhcp_db *db, uint32_t addr)
{
    return g_hash_table_lookup(db->by_addr, GUINT_TO_POINTER(addr));
}

static void lower_min_expiry(ns_dhcp_db *db, uint32_t addr, ns_time_t expires)
{
    for (guint i = 0; i < db->ranges->len; i++) {
        struct ns__dhcp_range *r = g_ptr_array_index(db->ranges, i);
        if (addr >= r->first && addr <= r->last && expires < r->min_expiry)
            r->min_expiry = expires;
    }
}

struct ns__dhcp_lease *ns__dhcp_db_put(ns_dhcp_db *db, uint32_t addr, const uint8_t mac[6],
                                       enum ns__dhcp_lease_state st, ns_time_t expires)
{
    struct ns__dhcp_lease *l = ns__dhcp_db_find(db, addr);
    if (!l) {
        l = g_new0(struct ns__dhcp_lease, 1);
        l->db = db;
        l->addr = addr;
        memcpy(l->mac, mac, 6);
        count_client(db, mac, +1);
        g_hash_table_insert(db->by_addr, GUINT_TO_POINTER(addr), l);
    } else if (memcmp(l->mac, mac, 6) != 0) {
        count_client(db, l->mac, -1);
        memcpy(l->mac, mac, 6);
        count_client(db, mac, +1);
    }
    l->st = st;
    ns__dhcp_db_set_expiry(l, expires);
    return l;
}

void ns__dhcp_db_set_expiry(struct ns__dhcp_lease *l, ns_time_t expires)
{
    l->expires = expires;
    lower_min_expiry(l->db, l->addr, expires);
}

void ns__dhcp_db_remove(ns_dhcp_db *db, uint32_t addr)
{
    g_hash_table_remove(db->by_addr, GUINT_TO_POINTER(addr));
}

void ns__dhcp_db_clear(ns_dhcp_db *db)
{
    g_hash_table_remove_all(db->by_addr);
}

size_t ns__dhcp_db_size(const ns_dhcp_db *db)
{
    return g_hash_table_size(db->by_addr);
}

bool ns__dhcp_db_knows_client(const ns_dhcp_db *db, const uint8_t mac[6])
{
    gpointer k = GSIZE_TO_POINTER((gsize)ns__dhcp_mac_key(mac));
    return g_hash_table_contains(db->clients, k);
}

struct ns__dhcp_range *ns__dhcp_db_range(ns_dhcp_db *db, uint32_t first, uint32_t last)
{
    for (guint i = 0; i < db->ranges->len; i++) {
        struct ns__dhcp_range *r = g_ptr_array_index(db->ranges, i);
        if (r->first == first && r->last == last)
            return r;
    }
    struct ns__dhcp_range *r = g_new0(struct ns__dhcp_range, 1);
    r->first = first;
    r->last = last;
    r->next = first;
    r->min_expiry = 0;            /* records may predate it: sweep first */
    g_ptr_array_add(db->ranges, r);
    return r;
}
