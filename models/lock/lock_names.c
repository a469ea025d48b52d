/* lock_names.c — an index from resource name to record, for the lock
 * servers' tables and the storage's: every message a server or the
 * storage handles looks its resource up by the name it carries.
 *
 * Open addressing with linear probing over a power-of-two array, hashed
 * with FNV-1a (Fowler, Noll, Vo); each slot keeps the name's hash, so a
 * probe compares strings only when the hashes agree.  Invariants: at
 * most half the slots are used, so an empty slot is always found and ends
 * a search; the records own their names, the index only points at them,
 * and loses entries only all at once (ns__lock_names_clear). */
#include <string.h>

#include "lock_priv.h"

#define NAMES_MIN_CAP 16

static uint32_t name_hash(const char *name)
{
    uint32_t h = 2166136261u;               /* FNV-1a offset basis and prime */
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = (h ^ *c) * 16777619u;
    return h;
}

/* The slot holding name, or the empty slot where it would go. */
static struct lock_name_slot *find(const struct lock_names *t, const char *name, uint32_t h)
{
    guint mask = t->cap - 1;
    for (guint i = h & mask;; i = (i + 1) & mask) {
        struct lock_name_slot *s = &t->slot[i];
        if (!s->name || (s->hash == h && strcmp(s->name, name) == 0))
            return s;
    }
}

void *ns__lock_names_get(const struct lock_names *t, const char *name)
{
    if (t->len == 0)
        return NULL;
    return find(t, name, name_hash(name))->rec;
}

static void grow(struct lock_names *t)
{
    struct lock_names old = *t;
    t->cap = old.cap ? 2 * old.cap : NAMES_MIN_CAP;
    t->slot = g_new0(struct lock_name_slot, t->cap);
    for (guint i = 0; i < old.cap; i++)
        if (old.slot[i].name)
            *find(t, old.slot[i].name, old.slot[i].hash) = old.slot[i];
    g_free(old.slot);
}

void ns__lock_names_add(struct lock_names *t, const char *name, void *rec)
{
    g_return_if_fail(rec != NULL);          /* NULL means "not filed" */
    if (2 * (t->len + 1) > t->cap)
        grow(t);
    uint32_t h = name_hash(name);
    struct lock_name_slot *s = find(t, name, h);
    g_return_if_fail(s->name == NULL);      /* each name once */
    *s = (struct lock_name_slot){ name, rec, h };
    t->len++;
}

void ns__lock_names_clear(struct lock_names *t)
{
    if (t->cap)
        memset(t->slot, 0, t->cap * sizeof *t->slot);
    t->len = 0;
}

void ns__lock_names_free(struct lock_names *t)
{
    g_free(t->slot);
    *t = (struct lock_names){ 0 };
}
