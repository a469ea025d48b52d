/* tls_mem.c — what the TLS model owns per sim: every connection and
 * listener, the certificate cache, and the spare buffers that connections
 * borrow while bytes are pending.
 *
 * Invariants: every ns_tls and listener belongs to the sim and is freed
 * with it, never before; a connection holds buffer memory only while bytes
 * are pending in it (an idle or closed one holds none), and at most
 * TLS_SPARES_MAX empty buffers wait among the sim's spares for the next
 * connection to need one; a certificate is built once per sim for each
 * (size, index, client) and shared by every connection.
 */
#include <string.h>

#include "tls_priv.h"

/* ---- ownership: every ns_tls and listener belongs to the sim ---- */

struct tls_spare {                /* a buffer no connection holds */
    uint8_t *data;                /* owned by tls_all.spares */
    size_t   cap;                 /* bytes allocated */
};

/* At most this many spare buffers are kept (a few MB at most): enough for
 * every connection that is mid-record or mid-flight in a busy run. */
#define TLS_SPARES_MAX 256

struct tls_all {
    GPtrArray  *conns;            /* ns_tls*, owned */
    GPtrArray  *listeners;        /* ns_tls_listener*, owned */
    GHashTable *certs;            /* packed (size, index, client) -> GByteArray*, owned */
    GArray     *spares;           /* struct tls_spare, last freed on top */
};

static void buf_release(struct tls_buf *b)
{
    g_free(b->data);
    memset(b, 0, sizeof *b);
}

static void tls_free(gpointer p)
{
    ns_tls *t = p;
    buf_release(&t->rx);
    buf_release(&t->hs);
    buf_release(&t->out);
    g_string_free(t->label, TRUE);
    g_free(t->sni);
    g_free(t->alpn);
    g_free(t->early);
    g_free(t->cookie);
    g_free(t);
}

void ns__tls_listener_free(ns_tls_listener *l)
{
    g_array_free(l->tickets, TRUE);
    g_free(l->sni);
    g_free(l->alpn);
    g_free(l);
}

static void listener_free(gpointer p)
{
    ns__tls_listener_free(p);
}

static void all_free(gpointer p)
{
    struct tls_all *a = p;
    g_ptr_array_free(a->conns, TRUE);
    g_ptr_array_free(a->listeners, TRUE);
    g_hash_table_destroy(a->certs);
    for (guint i = 0; i < a->spares->len; i++)
        g_free(g_array_index(a->spares, struct tls_spare, i).data);
    g_array_free(a->spares, TRUE);
    g_free(a);
}

static void cert_free(gpointer p) { g_byte_array_free(p, TRUE); }

static struct tls_all *all(ns_sim *sim)
{
    struct tls_all *a = ns_sim_attached(sim, "tls");
    if (!a) {
        a = g_new0(struct tls_all, 1);
        a->conns = g_ptr_array_new_with_free_func(tls_free);
        a->listeners = g_ptr_array_new_with_free_func(listener_free);
        a->certs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, cert_free);
        a->spares = g_array_new(FALSE, FALSE, sizeof(struct tls_spare));
        ns_sim_attach(sim, "tls", a, all_free);
    }
    return a;
}

void ns__tls_adopt(ns_tls *t)
{
    t->all = all(t->sim);
    g_ptr_array_add(t->all->conns, t);
}

void ns__tls_adopt_listener(ns_tls_listener *l)
{
    g_ptr_array_add(all(l->sim)->listeners, l);
}

/* A certificate depends on nothing but (size, index, client), and building
 * one to an exact size takes several DER encodings (tls_cert.c), so each
 * is built once per sim and shared by every connection. */
const GByteArray *ns__tls_cert(ns_tls *t, unsigned index, bool client)
{
    struct tls_all *a = all(t->sim);
    gint64 key = (gint64)t->o.cert_size << 16 | (gint64)index << 1 | client;
    GByteArray *c = g_hash_table_lookup(a->certs, &key);
    if (!c) {
        c = ns__tls_make_cert(t->o.cert_size, index, client);
        g_hash_table_insert(a->certs, g_memdup2(&key, sizeof key), c);
    }
    return c;
}

/* ---- buffers ---- */

/* Room for n more bytes at the end of b, counted as written; returns
 * where they go.  An empty buffer takes the sim's last spare; pending
 * bytes move to the front only when the buffer would otherwise grow, so
 * in steady state appending neither allocates nor copies anything but the
 * new bytes.  Pointers into b are invalid afterwards. */
uint8_t *ns__tls_buf_put(ns_tls *t, struct tls_buf *b, size_t n)
{
    GArray *spares = t->all->spares;
    if (!b->data && spares->len > 0) {
        struct tls_spare sp = g_array_index(spares, struct tls_spare, spares->len - 1);
        g_array_set_size(spares, spares->len - 1);
        b->data = sp.data;
        b->cap = sp.cap;
    }
    if (b->len + n > b->cap && b->off > 0) {
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 512;
        while (cap < b->len + n)
            cap *= 2;
        b->data = g_realloc(b->data, cap);
        b->cap = cap;
    }
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

/* An empty buffer goes back to the sim's spares (or is freed when there
 * are enough), so a connection holds memory only while bytes are pending:
 * an idle or closed one holds none, and the next one to need a buffer
 * reuses this one instead of allocating. */
static void buf_return(ns_tls *t, struct tls_buf *b)
{
    if (!b->data || b->len > b->off)
        return;
    GArray *spares = t->all->spares;
    if (spares->len < TLS_SPARES_MAX) {
        struct tls_spare sp = { b->data, b->cap };
        g_array_append_val(spares, sp);
    } else {
        g_free(b->data);
    }
    memset(b, 0, sizeof *b);
}

/* Returns what is empty; rx and hs not while process() holds pointers
 * into them. */
void ns__tls_trim(ns_tls *t)
{
    buf_return(t, &t->out);
    if (t->parsing)
        return;
    buf_return(t, &t->rx);
    buf_return(t, &t->hs);
}
