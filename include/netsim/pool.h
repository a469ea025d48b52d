/* pool.h — fixed-size object pools with free lists, owned by a sim.
 *
 * Objects come from slabs that grow and are only returned when the pool is
 * destroyed; freed objects go on a free list, so steady-state allocation
 * never calls malloc.  A new slab is handed out by bumping a pointer, not
 * threaded onto the free list, so its pages become resident only as they
 * are used (memory per object measures the object, not the slab).  The pool counts live objects and the peak, so tests
 * can assert every object came back (as lwIP's memp stats do).
 */
#ifndef NETSIM_POOL_H
#define NETSIM_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "netsim/sim.h"

struct ns_pool {
    size_t   obj_size;       /* bytes per object, >= sizeof(void *) */
    size_t   per_slab;       /* objects per slab */
    void    *free_list;      /* first free object; its first word links */
    char    *bump;           /* next never-used object of the last slab */
    char    *bump_end;       /* end of the last slab */
    void   **slabs;          /* owned */
    size_t   nslabs;
    uint64_t live;           /* allocated and not freed */
    uint64_t peak;
};

void  ns_pool_init(struct ns_pool *p, size_t obj_size, size_t per_slab);
void  ns_pool_destroy(struct ns_pool *p);
void *ns_pool_alloc(struct ns_pool *p);          /* uninitialised */
void  ns_pool_free(struct ns_pool *p, void *obj);

/* The sim's packet pool (objects of the size the caller set up first). */
struct ns_pool *ns_sim_pkt_pool(ns_sim *sim);
/* The sim's pool of small payload blocks (pkt.c sets it up; see
 * ns_pkt_set_bytes_in).  Destroyed with the sim, after its attachments. */
struct ns_pool *ns_sim_payload_pool(ns_sim *sim);
/* A per-sim counter for unique ids (packets): starts at 1. */
uint64_t ns_sim_next_uid(ns_sim *sim);

#endif
