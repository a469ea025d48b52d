/* dhcp_lease.c — the lease database: one record per address (offered,
 * bound or declined), shared by the servers of a failover pair, with two
 * summaries that spare a server scanning its whole pool on every
 * DISCOVER (a 241-address pool, 4,000 clients: it showed in profiles):
 *  - per client (a hash of its identifier or chaddr), how many records
 *    name it: a client with none has no binding or offer to find again;
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
 *
 * Records are found by address in a u32map (GLib's table cost ~550
 * instructions per lookup here); freeing them is order-independent, so
 * its unspecified order is never seen.
 */
#include <string.h>

#include "dhcp_priv.h"
#include "netsim/u32map.h"

struct ns_dhcp_db {
    unsigned    ref;
    ns_u32map   by_addr;          /* addr -> struct ns__dhcp_lease*, owned */
    GHashTable *clients;          /* who_hash -> records with that hash (uint) */
    GPtrArray  *ranges;           /* struct ns__dhcp_range*, owned */
};

uint64_t ns__dhcp_mac_key(const uint8_t mac[6])
{
    uint64_t k = 0;
    for (int i = 0; i < 6; i++)
        k = k << 8 | mac[i];
    return k;
}

void ns__dhcp_who_of(const struct ns_dhcp_msg *m, struct ns__dhcp_who *w)
{
    memset(w, 0, sizeof *w);
    memcpy(w->mac, m->chaddr, 6);
    w->cid_len = m->client_id_len;
    memcpy(w->cid, m->client_id, m->client_id_len);
}

/* RFC 2131 4.2: the client identifier if given, else chaddr; a client
 * known by an identifier is never the one known by chaddr alone. */
bool ns__dhcp_who_same(const struct ns__dhcp_who *a, const struct ns__dhcp_who *b)
{
    if (a->cid_len != b->cid_len)
        return false;
    if (a->cid_len)
        return memcmp(a->cid, b->cid, a->cid_len) == 0;
    return memcmp(a->mac, b->mac, 6) == 0;
}

/* FNV-1a over what identifies the client. */
static gsize who_hash(const struct ns__dhcp_who *w)
{
    const uint8_t *b = w->cid_len ? w->cid : w->mac;
    size_t n = w->cid_len ? w->cid_len : 6;
    uint64_t h = 14695981039346656037u ^ w->cid_len;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211u;
    return (gsize)h;
}

static void count_client(ns_dhcp_db *db, const struct ns__dhcp_who *who, int delta)
{
    gpointer k = GSIZE_TO_POINTER(who_hash(who));
    guint n = GPOINTER_TO_UINT(g_hash_table_lookup(db->clients, k)) + (guint)delta;
    if (n)
        g_hash_table_insert(db->clients, k, GUINT_TO_POINTER(n));
    else
        g_hash_table_remove(db->clients, k);
}

/* A record leaves the table (removed, replaced or cleared). */
static void lease_free(struct ns__dhcp_lease *l)
{
    ns_dhcp_db *db = l->db;
    count_client(db, &l->who, -1);
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
        ns__dhcp_db_clear(db);            /* before `ranges`: lease_free reads them */
        ns_u32map_free(&db->by_addr);
        g_hash_table_destroy(db->clients);
        g_ptr_array_free(db->ranges, TRUE);
        g_free(db);
    }
}

struct ns__dhcp_lease *ns__dhcp_db_find(ns_dhcp_db *db, uint32_t addr)
{
    return ns_u32map_get(&db->by_addr, addr);
}

static void lower_min_expiry(ns_dhcp_db *db, uint32_t addr, ns_time_t expires)
{
    for (guint i = 0; i < db->ranges->len; i++) {
        struct ns__dhcp_range *r = g_ptr_array_index(db->ranges, i);
        if (addr >= r->first && addr <= r->last && expires < r->min_expiry)
            r->min_expiry = expires;
    }
}

struct ns__dhcp_lease *ns__dhcp_db_put(ns_dhcp_db *db, uint32_t addr,
                                       const struct ns__dhcp_who *who,
                                       enum ns__dhcp_lease_state st, ns_time_t expires)
{
    struct ns__dhcp_lease *l = ns__dhcp_db_find(db, addr);
    if (!l) {
        l = g_new0(struct ns__dhcp_lease, 1);
        l->db = db;
        l->addr = addr;
        l->who = *who;
        count_client(db, who, +1);
        ns_u32map_put(&db->by_addr, addr, l);
    } else if (!ns__dhcp_who_same(&l->who, who)) {
        count_client(db, &l->who, -1);
        count_client(db, who, +1);
    }
    l->who = *who;                /* the same client may come with a new chaddr */
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
    struct ns__dhcp_lease *l = ns_u32map_take(&db->by_addr, addr);
    if (l)
        lease_free(l);
}

static void free_record(uint32_t addr, void *l, void *ud)
{
    (void)addr; (void)ud;
    lease_free(l);
}

void ns__dhcp_db_clear(ns_dhcp_db *db)
{
    ns_u32map_each(&db->by_addr, free_record, NULL);
    ns_u32map_reset(&db->by_addr);
}

size_t ns__dhcp_db_size(const ns_dhcp_db *db)
{
    return ns_u32map_size(&db->by_addr);
}

bool ns__dhcp_db_knows_client(const ns_dhcp_db *db, const struct ns__dhcp_who *who)
{
    return g_hash_table_contains(db->clients, GSIZE_TO_POINTER(who_hash(who)));
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
