/* cc.c — the per-sim registry of congestion-control algorithms, and the
 * exact integer cube root CUBIC is built on.
 *
 * Invariant: a sim's registry lists each name once, in registration order,
 * and always starts with the built-ins reno, newreno, cubic: they are added
 * the first time anything touches the registry (register, find or names),
 * so a script's own algorithm can never shadow one of them.  Lookup is a
 * linear scan by name, as in Linux's tcp_cong.c: there are a handful of
 * algorithms and a connection looks its one up once.
 *
 * The registry stores the ops tables by pointer and never copies them: a
 * table must outlive the sim (the built-ins are static const).
 */
#include <string.h>

#include "netsim/cc.h"

#define CC_REGISTRY "tcp.cc"

struct cc_registry {
    GPtrArray *ops;                     /* const struct ns_cc_ops*, borrowed, registration order */
    GPtrArray *names;                   /* const char* borrowed from ops[i]->name, then NULL */
};

static void registry_free(void *p)
{
    struct cc_registry *r = p;
    g_ptr_array_free(r->ops, TRUE);
    g_ptr_array_free(r->names, TRUE);
    g_free(r);
}

static const struct ns_cc_ops *lookup(const struct cc_registry *r, const char *name)
{
    for (guint i = 0; i < r->ops->len; i++) {
        const struct ns_cc_ops *ops = g_ptr_array_index(r->ops, i);
        if (strcmp(ops->name, name) == 0)
            return ops;
    }
    return NULL;
}

/* Appends without checks: callers validated the table. */
static void add(struct cc_registry *r, const struct ns_cc_ops *ops)
{
    g_ptr_array_add(r->ops, (void *)ops);
    g_ptr_array_index(r->names, r->names->len - 1) = (void *)ops->name;
    g_ptr_array_add(r->names, NULL);
}

/* The sim's registry, created with the built-ins on first use. */
static struct cc_registry *registry_get(ns_sim *sim)
{
    struct cc_registry *r = ns_sim_attached(sim, CC_REGISTRY);
    if (!r) {
        r = g_new0(struct cc_registry, 1);
        r->ops = g_ptr_array_new();
        r->names = g_ptr_array_new();
        g_ptr_array_add(r->names, NULL);
        add(r, &ns_cc_reno);
        add(r, &ns_cc_newreno);
        add(r, &ns_cc_cubic);
        ns_sim_attach(sim, CC_REGISTRY, r, registry_free);
    }
    return r;
}

bool ns_cc_register(ns_sim *sim, const struct ns_cc_ops *ops, GError **error)
{
    g_return_val_if_fail(sim != NULL && ops != NULL, false);
    struct cc_registry *r = registry_get(sim);

    if (!ops->name || !*ops->name) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "a congestion control needs a name");
        return false;
    }
    const char *missing = !ops->on_ack ? "on_ack" : !ops->ssthresh ? "ssthresh" : NULL;
    if (missing) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "congestion control '%s': required hook '%s' is missing",
                    ops->name, missing);
        return false;
    }
    if (lookup(r, ops->name)) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    "congestion control '%s' is already registered", ops->name);
        return false;
    }
    add(r, ops);
    return true;
}

const struct ns_cc_ops *ns_cc_find(ns_sim *sim, const char *name, GError **error)
{
    g_return_val_if_fail(sim != NULL && name != NULL, NULL);
    struct cc_registry *r = registry_get(sim);
    const struct ns_cc_ops *ops = lookup(r, name);
    if (!ops) {
        char *known = g_strjoinv(", ", (char **)r->names->pdata);
        g_set_error(error, NS_ERROR, NS_ERROR_NOT_FOUND,
                    "unknown congestion control '%s' (known: %s)", name, known);
        g_free(known);
    }
    return ops;
}

const char *const *ns_cc_names(ns_sim *sim)
{
    g_return_val_if_fail(sim != NULL, NULL);
    return (const char *const *)registry_get(sim)->names->pdata;
}

/* Digit-by-digit cube root in base 8: each step brings down the next three
 * bits of x and decides the next bit of the root, keeping the invariant
 * rem = (x's leading bits) - root^3 >= 0.  Moving from root r to 2r+1
 * costs (2r+1)^3 - (2r)^3 = 3*(2r)*(2r+1) + 1, compared against the
 * remainder shifted right (never the cost shifted left, which could
 * overflow).  21 + 1 steps cover 64 bits; integer only, so the result is
 * the same on every machine. */
uint64_t ns_cc_cbrt(uint64_t x)
{
    uint64_t root = 0;
    for (int shift = 63; shift >= 0; shift -= 3) {
        root <<= 1;
        uint64_t cost = 3 * root * (root + 1) + 1;   /* root < 2^22: no overflow */
        if ((x >> shift) >= cost) {
            x -= cost << shift;                     /* cost << shift <= x */
            root++;
        }
    }
    return root;
}
