/* u32map.h — a map from 32-bit keys (addresses, ports) to non-NULL
 * pointers, embedded in its owner: open addressing with linear probing
 * and backward-shift deletion (no tombstones), at most half full.
 *
 * Made for per-packet lookups: GLib's table calls its hash and equality
 * through pointers, and with g_direct_hash the addresses of one subnet,
 * which differ only in their low bits, formed long probe runs (a DHCP
 * server's record lookups cost ~550 instructions each at campus scale).
 * Here a key is spread by a Fibonacci multiply and compared inline.
 *
 * Any key, 0 included, may be stored; a slot is empty when its value is
 * NULL.  Iteration order is the slot order: unspecified, so a caller whose
 * results depend on order must not iterate. */
#ifndef NETSIM_U32MAP_H
#define NETSIM_U32MAP_H

#include <stddef.h>
#include <stdint.h>

/* Key and value side by side: a lookup in a map just fetched touches one
 * cache line, not one in a key array and one in a value array. */
struct ns_u32map_slot {
    uint32_t  key;
    void     *val;                    /* NULL: empty slot */
};

typedef struct ns_u32map {
    struct ns_u32map_slot *slots;
    uint32_t   cap;                   /* slots, a power of two, or 0 */
    uint32_t   n;                     /* entries */
} ns_u32map;

#define NS_U32MAP_INIT { NULL, 0, 0 }

/* Frees the storage (not the values); the map is empty and usable. */
void   ns_u32map_free(ns_u32map *m);
/* The value under key, or NULL. */
void  *ns_u32map_get(const ns_u32map *m, uint32_t key);
/* Stores val (not NULL) under key, replacing any value there. */
void   ns_u32map_put(ns_u32map *m, uint32_t key, void *val);
/* Removes key and returns its value; NULL when absent. */
void  *ns_u32map_take(ns_u32map *m, uint32_t key);
/* Removes every entry, keeping the storage. */
void   ns_u32map_reset(ns_u32map *m);
static inline size_t ns_u32map_size(const ns_u32map *m) { return m->n; }
/* Calls fn for each entry in slot order; fn must not change the map. */
void   ns_u32map_each(const ns_u32map *m, void (*fn)(uint32_t key, void *val, void *ud),
                      void *ud);

#endif
